import CairnCore
import Foundation
import Testing

@testable import CairnInventory

@Suite struct SSHConfigTests {
    static let config = """
        # Operator's config
        Host bastion
            HostName 203.0.113.5
            User jump
            Port 2222

        Host cp? !cp9
          hostname=%h.dc1.example.com
          USER  admin
          IdentityFile ~/.ssh/id_%r@%h
          IdentityFile "/keys/with space/%u_%p"
          StrictHostKeyChecking no

        Host worker-* db
          ProxyJump ops@bastion:2222
          UserKnownHostsFile ~/.ssh/known_hosts.cluster /ignored
          Port 2200

        Match host cp1 exec "true"
          User never-used

        Host *
          User fallback
          Port 2201
          IdentityAgent none
          ConnectTimeout 3
        """

    static func parsed(_ text: String = config, files: [String: String] = [:]) -> SSHConfigFile {
        SSHConfigFile.parse(
            text, path: "/home/op/.ssh/config", homeDirectory: Fixture.home, fileSystem: Fixture.fileSystem(files))
    }

    @Test func firstObtainedValueWinsAndPatternsMatch() {
        let config = Self.parsed()
        let cp1 = config.values(for: "cp1")
        #expect(cp1["hostname"]?.first == "%h.dc1.example.com")
        #expect(cp1["user"]?.first == "admin")
        #expect(cp1["user"]?.line == 9)
        #expect(cp1["port"]?.first == "2201")
        #expect(cp1["stricthostkeychecking"]?.first == "no")
        #expect(config.identityFiles(for: "cp1").map(\.first) == ["~/.ssh/id_%r@%h", "/keys/with space/%u_%p"])
        // Negation: cp9 matches `cp?` but is excluded.
        #expect(config.values(for: "cp9")["user"]?.first == "fallback")
        // `?` is one character.
        #expect(config.values(for: "cp10")["user"]?.first == "fallback")
        // Several patterns on one line; case-insensitive host match.
        #expect(config.values(for: "DB")["proxyjump"]?.first == "ops@bastion:2222")
        #expect(config.values(for: "worker-3")["port"]?.first == "2200")
        // The Match block is skipped, with a warning naming its line.
        #expect(config.warnings.count == 1)
        #expect(config.warnings.first?.line == 19)
        #expect(config.warnings.first?.message.contains("does not evaluate `Match host cp1 exec true`") == true)
    }

    @Test func includesRelativeGlobAndInsideHostBlocks() {
        let files = [
            "/home/op/.ssh/conf.d/10-lab.conf": "Host lab*\n  User labuser\n",
            "/home/op/.ssh/conf.d/20-other.conf": "Host other\n  Port 2022\n",
            "/home/op/.ssh/conf.d/README": "Host lab1\n  User wrong\n",
            "/etc/cairn/ssh.conf": "User included-in-block\n",
        ]
        let text = """
            Include conf.d/*.conf
            Host special
              Include /etc/cairn/ssh.conf
            Host *
              User default
            Include missing.conf
            """
        let config = Self.parsed(text, files: files)
        #expect(config.values(for: "lab1")["user"]?.first == "labuser")
        #expect(config.values(for: "lab1")["user"]?.file == "/home/op/.ssh/conf.d/10-lab.conf")
        #expect(config.values(for: "other")["port"]?.first == "2022")
        #expect(config.values(for: "special")["user"]?.first == "included-in-block")
        #expect(config.values(for: "plain")["user"]?.first == "default")
        #expect(config.warnings.map(\.message) == ["cannot read included file missing.conf"])
    }

    @Test func includeLoopsStop() {
        let files = ["/home/op/.ssh/loop": "Include loop\nUser x\n"]
        let config = Self.parsed("Include loop\n", files: files)
        #expect(config.values(for: "a")["user"]?.first == "x")
        #expect(config.warnings.contains { $0.message.contains("nested more than 16 deep") })
    }

    @Test func matchAllAppliesEverywhere() {
        let config = Self.parsed("Host x\n  Port 1\nMatch all\n  User everyone\n")
        #expect(config.values(for: "y")["user"]?.first == "everyone")
        #expect(config.warnings.isEmpty)
    }

    static let inventoryYAML = """
        ssh:
          port: 2022
        hosts:
          - name: cp1
            address: cp1
            roles: [control-plane, etcd, worker]
            ssh: {user: override}
          - name: w1
            address: worker-1
            internalAddress: 10.0.0.21
            roles: [worker]
        etcd: {allowSingleMember: true}
        addons: {ingress: {enabled: false}}
        """

    func loaded() throws -> LoadedInventory {
        let files = [
            "/home/op/.ssh/config": Self.config.replacingOccurrences(
                of: "hostname=%h.dc1.example.com", with: "hostname=10.0.0.11"),
            "/home/op/.ssh/id_ecdsa": "key",
        ]
        return try Fixture.load(Self.inventoryYAML, files: files).get()
    }

    @Test func precedenceAndProvenance() throws {
        let loaded = try loaded()
        let cp1 = try #require(loaded.inventory.host(named: "cp1"))
        // internalAddress comes from the ssh_config HostName when the address is an alias.
        #expect(cp1.internalAddress == "10.0.0.11")
        let settings = loaded.effectiveSSH(
            for: cp1, environment: Fixture.environment, fileExists: { $0 == "/home/op/.ssh/id_ecdsa" })
        #expect(settings.hostName == "10.0.0.11")
        #expect(settings.provenance["hostName"] == .sshConfig(file: "/home/op/.ssh/config", line: 8))
        #expect(settings.user == "override")
        #expect(settings.provenance["user"] == .inventoryHost)
        #expect(settings.port == 2022)
        #expect(settings.provenance["port"] == .inventoryDefaults)
        #expect(settings.identityFiles == ["/home/op/.ssh/id_override@10.0.0.11", "/keys/with space/op_2022"])
        #expect(settings.provenance["identityFiles"] == .sshConfig(file: "/home/op/.ssh/config", line: 10))
        #expect(settings.hostKeyChecking == .off)
        #expect(settings.useAgent == false)
        #expect(settings.connectTimeout == 3)
        #expect(settings.provenance["connectTimeout"] == .sshConfig(file: "/home/op/.ssh/config", line: 26))
        #expect(settings.commandTimeout == 600)
        #expect(settings.provenance["commandTimeout"] == .builtInDefault)
        #expect(settings.sudo == .auto)
        #expect(settings.bastion == nil)
        #expect(Set(settings.provenance.keys) == Set(EffectiveSSHSettings.fieldNames))

        let w1 = try #require(loaded.inventory.host(named: "w1"))
        let worker = loaded.effectiveSSH(
            for: w1, environment: Fixture.environment, fileExists: { $0 == "/home/op/.ssh/id_ecdsa" })
        #expect(worker.hostName == "worker-1")
        #expect(worker.user == "fallback")
        #expect(worker.port == 2022)
        #expect(worker.knownHostsFile == "/home/op/.ssh/known_hosts.cluster")
        // No IdentityFile anywhere: the existing default keys.
        #expect(worker.identityFiles == ["/home/op/.ssh/id_ecdsa"])
        #expect(worker.provenance["identityFiles"] == .builtInDefault)
        // ProxyJump → bastion, whose own settings come from its Host block.
        #expect(
            worker.bastion
                == EffectiveBastion(
                    address: "203.0.113.5", port: 2222, user: "ops", identityFiles: ["/home/op/.ssh/id_ecdsa"]))
        #expect(worker.provenance["bastion"] == .sshConfig(file: "/home/op/.ssh/config", line: 15))
    }

    @Test func inventoryValuesWinOverSSHConfig() throws {
        let yaml = Self.inventoryYAML.replacingOccurrences(
            of: "  port: 2022\n",
            with:
                "  port: 2022\n  user: inv\n  hostKeyChecking: strict\n  bastion: {address: 192.0.2.1}\n  useAgent: true\n  connectTimeout: 7\n"
        )
        let files = [
            "/home/op/.ssh/config": Self.config.replacingOccurrences(
                of: "hostname=%h.dc1.example.com", with: "hostname=10.0.0.11")
        ]
        let loaded = try Fixture.load(yaml, files: files).get()
        let w1 = try #require(loaded.inventory.host(named: "w1"))
        let settings = loaded.effectiveSSH(for: w1, environment: Fixture.environment, fileExists: { _ in false })
        #expect(settings.user == "inv")
        #expect(settings.hostKeyChecking == .strict)
        #expect(settings.useAgent)
        #expect(settings.connectTimeout == 7)
        // The jump host's unwritten fields come from ssh_config for the jump host (`Host *` here), as with `ssh -J`.
        #expect(
            settings.bastion == EffectiveBastion(address: "192.0.2.1", port: 2201, user: "fallback", identityFiles: []))
        #expect(settings.provenance["bastion"] == .inventoryDefaults)
        #expect(settings.identityFiles.isEmpty)
    }

    @Test func configFileNoneAndNamedFile() throws {
        let files = [
            "/home/op/.ssh/config": "Host *\n  User from-default\n",
            "/work/inv/ssh.conf": "Host *\n  User from-named\n",
        ]
        let none = try Fixture.load(
            "ssh: {configFile: none}\n"
                + Self.inventoryYAML.replacingOccurrences(of: "ssh:\n  port: 2022\n", with: "")
                .replacingOccurrences(of: "address: cp1", with: "address: 10.0.0.11"), files: files
        ).get()
        #expect(none.sshConfig == nil)
        #expect(none.inventory.ssh.configFile == nil)
        let named = try Fixture.load(
            "ssh: {configFile: ssh.conf}\n"
                + Self.inventoryYAML.replacingOccurrences(of: "ssh:\n  port: 2022\n", with: "")
                .replacingOccurrences(of: "address: cp1", with: "address: 10.0.0.11"), files: files
        ).get()
        #expect(named.inventory.ssh.configFile == "/work/inv/ssh.conf")
        let w1 = try #require(named.inventory.host(named: "w1"))
        #expect(
            named.effectiveSSH(for: w1, environment: Fixture.environment, fileExists: { _ in false }).user
                == "from-named")
    }

    @Test func explainShowsEverySettingWithItsSource() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cairn-explain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent(".ssh"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "Host worker-*\n  User cfguser\n  Port 2200\n".write(
            to: directory.appendingPathComponent(".ssh/config"), atomically: true, encoding: .utf8)
        let inventory = directory.appendingPathComponent("cluster.yaml")
        try Self.inventoryYAML.replacingOccurrences(of: "address: cp1", with: "address: 10.0.0.11")
            .write(to: inventory, atomically: true, encoding: .utf8)
        let result = InventoryCommands.validate(
            path: inventory.path, explain: true, environment: ["HOME": directory.path, "USER": "op"])
        #expect(result.exitCode == .success, "\(result.output)")
        let output = result.output
        #expect(output.contains("inventory \(inventory.path) is valid: 2 hosts (1 control-plane, 1 etcd, 2 workers)"))
        #expect(output.contains("ssh_config: ~/.ssh/config"))
        #expect(output.contains("w1 (worker-1):"))
        let lines = output.split(separator: "\n").map(String.init)
        func row(_ host: String, _ field: String) -> String? {
            guard let start = lines.firstIndex(where: { $0.hasPrefix(host + " (") }) else { return nil }
            return lines[start...].first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(field + " ") }
        }
        #expect(
            row("w1", "user")?.contains("cfguser") == true
                && row("w1", "user")?.hasSuffix("[ssh_config ~/.ssh/config:2]") == true, "\(output)")
        #expect(row("w1", "port")?.hasSuffix("[inventory ssh]") == true, "\(output)")
        #expect(row("cp1", "user")?.hasSuffix("[inventory host]") == true, "\(output)")
        #expect(row("cp1", "sudo")?.hasSuffix("[default]") == true, "\(output)")
        #expect(row("cp1", "hostName")?.contains("10.0.0.11") == true, "\(output)")
    }

    @Test func proxyJumpForms() {
        #expect(parseProxyJump("bastion") == BastionSettings(address: "bastion"))
        #expect(parseProxyJump("ops@bastion:2222") == BastionSettings(address: "bastion", port: 2222, user: "ops"))
        #expect(parseProxyJump("ops@[fe80::1]:22,second") == BastionSettings(address: "fe80::1", port: 22, user: "ops"))
        #expect(parseProxyJump("ssh://a@b:1") == BastionSettings(address: "b", port: 1, user: "a"))
        #expect(parseProxyJump("none") == nil)
    }

    @Test func tokens() {
        let expanded = SSHConfigFile.expandTokens(
            "~/.ssh/%r@%h:%p-%u-%n-%%-%x", hostName: "10.0.0.1", originalHost: "cp1", port: 22,
            remoteUser: "root", localUser: "op", homeDirectory: "/home/op")
        #expect(expanded == "/home/op/.ssh/root@10.0.0.1:22-op-cp1-%-%x")
    }
}
