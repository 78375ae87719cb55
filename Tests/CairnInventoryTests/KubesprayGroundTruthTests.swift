import Foundation
import Testing

@testable import CairnInventory

/// Ground truth: ansible-core reads every kubespray corpus inventory (`ansible-inventory -i FILE
/// --list`), and the importer's result must say the same about each host: its name, SSH address
/// (`ansible_ssh_host` over `ansible_host` over the name), user and port (the `ansible_ssh_*`
/// spellings first), key file, internal address, roles, labels and taints, the bastion, and the
/// cluster settings Cairn maps. Needs `ansible-inventory` (PyPI `ansible-core`, installed by
/// scripts/setup); without it the suite is skipped, except under scripts/test or CI, where it fails.
@Suite(
    .enabled(if: AnsibleInventoryTool.shouldRun, "ansible-inventory (pip install ansible-core) is not installed"),
    .timeLimit(.minutes(5)))
struct KubesprayGroundTruthTests {
    static let loader = InventoryLoader(
        environment: Fixture.environment, fileSystem: InventoryFileSystem.none.assumingEverythingExists())

    @Test func theCorpusCoversEveryConstruct() throws {
        #expect(KubesprayCorpus.files.count >= 20)
        for name in KubesprayCorpus.files + KubesprayCorpus.refused.map({ "refused/" + $0 }) {
            let text = try String(contentsOf: KubesprayCorpus.directory.appendingPathComponent(name), encoding: .utf8)
            let first = text.prefix { $0 != "\n" }
            #expect(first.hasPrefix("#") || first.hasPrefix(";"), "\(name) should say what it covers on its first line")
        }
    }

    @Test(arguments: KubesprayCorpus.files)
    func importerReadsWhatAnsibleReads(name: String) async throws {
        let path = KubesprayCorpus.directory.appendingPathComponent(name).path
        let ansible = try await AnsibleInventoryTool.list(path)
        let (yaml, _) = try InventoryCommands.importKubespray(path: path)
        let inventory = try Self.loader.load(text: yaml, sourceName: "imported.yaml", baseDirectory: "/").inventory

        let controlPlane = ansible.members(of: ["kube_control_plane", "kube-master", "kube_master"])
        let workers = ansible.members(of: ["kube_node", "kube-node"])
        let etcd = ansible.members(of: ["etcd"])
        let bastions = ansible.members(of: ["bastion"])
        let clusterHosts = ansible.hostOrder.filter {
            !bastions.contains($0) && (controlPlane.contains($0) || workers.contains($0) || etcd.contains($0))
        }
        func cairnName(_ host: String) -> String {
            Grammar.isDNSSubdomain(host) ? host : host.lowercased().replacingOccurrences(of: "_", with: "-")
        }
        #expect(
            Set(inventory.hosts.map(\.name)) == Set(clusterHosts.map(cairnName)),
            "\(name): hosts differ from ansible-inventory's")
        #expect(!clusterHosts.isEmpty, "\(name): ansible-inventory found no cluster host")

        for host in clusterHosts {
            guard let cairn = inventory.host(named: cairnName(host)) else { continue }
            let vars = ansible.hostvars[host] ?? [:]
            let label = "\(name): \(host)"
            let address = vars["ansible_ssh_host"]?.text ?? vars["ansible_host"]?.text ?? host
            #expect(cairn.address == address, "\(label): SSH address")
            if let internalIP = vars["ip"]?.text ?? vars["access_ip"]?.text
                ?? (IPAddress(address) != nil ? address : nil)
            {
                #expect(cairn.internalAddress == internalIP, "\(label): internal address")
            }
            let user = vars["ansible_ssh_user"]?.text ?? vars["ansible_user"]?.text
            #expect((cairn.sshOverrides.user ?? inventory.ssh.user) == user, "\(label): SSH user")
            let port = (vars["ansible_ssh_port"] ?? vars["ansible_port"])?.text.flatMap { Int($0) }
            #expect((cairn.sshOverrides.port ?? inventory.ssh.port) == port, "\(label): SSH port")
            let key = (vars["ansible_ssh_private_key_file"] ?? vars["ansible_private_key_file"])?.text
            #expect(
                (cairn.sshOverrides.identityFile ?? inventory.ssh.identityFile)
                    == key.map { $0.hasPrefix("~/") ? Fixture.home + $0.dropFirst() : $0 }, "\(label): key file")

            var roles: Set<Role> = []
            if controlPlane.contains(host) { roles.insert(.controlPlane) }
            if workers.contains(host) { roles.insert(.worker) }
            if etcd.contains(host) { roles.insert(.etcd) }
            #expect(Set(cairn.roles) == roles, "\(label): roles")

            var labels: [String: String] = [:]
            if case .object(let pairs)? = vars["node_labels"] {
                for (key, value) in pairs { labels[key] = value.text ?? "" }
            }
            #expect(cairn.labels == labels, "\(label): labels")
            var taints: [String] = []
            if case .array(let items)? = vars["node_taints"] {
                taints = items.compactMap(\.text).map { $0.contains(":") ? $0 : $0 + ":NoSchedule" }
            }
            #expect(cairn.taints.map(\.kubectlForm) == taints, "\(label): taints")
        }

        // The jump host: kubespray's bastion group.
        if let bastion = bastions.first {
            let vars = ansible.hostvars[bastion] ?? [:]
            let written = inventory.ssh.bastion
            #expect(
                written?.address == vars["ansible_ssh_host"]?.text ?? vars["ansible_host"]?.text ?? bastion,
                "\(name): bastion address")
            #expect(
                written?.user == vars["ansible_ssh_user"]?.text ?? vars["ansible_user"]?.text, "\(name): bastion user")
            #expect(
                written?.port == (vars["ansible_ssh_port"] ?? vars["ansible_port"])?.text.flatMap { Int($0) },
                "\(name): bastion port")
        } else {
            #expect(inventory.ssh.bastion == nil, "\(name): a bastion without a bastion group")
        }

        // Cluster settings, as the first control-plane host sees them (etcd's as the first etcd host does).
        let first = ansible.hostvars[clusterHosts.first { controlPlane.contains($0) } ?? clusterHosts[0]] ?? [:]
        let kubernetes = inventory.kubernetes
        #expect(kubernetes.podSubnet == first["kube_pods_subnet"]?.text ?? "10.244.0.0/16", "\(name): podSubnet")
        #expect(
            kubernetes.serviceSubnet == first["kube_service_addresses"]?.text ?? "10.96.0.0/12",
            "\(name): serviceSubnet")
        #expect(
            kubernetes.clusterDomain == first["dns_domain"]?.text ?? first["cluster_name"]?.text ?? "cluster.local",
            "\(name): clusterDomain")
        let etcdVars = ansible.hostvars[clusterHosts.first { etcd.contains($0) } ?? ""] ?? [:]
        #expect(inventory.etcd.dataDir == etcdVars["etcd_data_dir"]?.text ?? "/var/lib/etcd", "\(name): etcd dataDir")
        let mode = kubernetes.apiEndpoint.mode
        if case .object(let balancer)? = first["loadbalancer_apiserver"] {
            let address =
                first["apiserver_loadbalancer_domain_name"]?.text
                ?? balancer.first { $0.0 == "address" }?.1.text
            #expect(mode == .external(address: address ?? "?"), "\(name): endpoint")
        } else if let vip = first["kube_vip_address"]?.text, first["kube_vip_enabled"]?.text?.lowercased() == "true" {
            #expect(kubernetes.apiEndpoint.virtualIP?.address == vip, "\(name): kube-vip address")
        } else if controlPlane.count > 1 {
            // kubespray's local nginx or haproxy: Cairn's nodeLocal, whose one engine is haproxy.
            #expect(mode == .nodeLocal(engine: .haproxy), "\(name): endpoint")
        } else {
            #expect(mode == .direct, "\(name): endpoint")
        }
    }

    /// Ansible refuses the templates and undefined groups Cairn refuses; the inventory without hosts
    /// Ansible reads as empty, and Cairn refuses (there is nothing to build).
    @Test(arguments: KubesprayCorpus.refused)
    func ansibleAgreesWithTheRefusals(name: String) async throws {
        let path = KubesprayCorpus.directory.appendingPathComponent("refused/\(name)").path
        #expect(throws: InventoryError.self) { try InventoryCommands.importKubespray(path: path) }
        if name == "no-hosts.ini" {
            let ansible = try await AnsibleInventoryTool.list(path)
            #expect(ansible.hostOrder.isEmpty)
        } else {
            await #expect(throws: AnsibleInventoryTool.Refused.self) { try await AnsibleInventoryTool.list(path) }
        }
    }
}

/// `ansible-inventory` from PyPI's ansible-core, found on PATH or where pip and pyenv put it.
enum AnsibleInventoryTool {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static let path: String? = {
        let home = environment["HOME"] ?? NSHomeDirectory()
        var directories = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        directories += ["\(home)/.pyenv/shims", "/root/.pyenv/shims", "\(home)/.local/bin", "/usr/local/bin"]
        for root in ["\(home)/.pyenv/versions", "/root/.pyenv/versions"] {
            let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
            directories += versions.sorted().reversed().map { "\(root)/\($0)/bin" }
        }
        return directories.map { "\($0)/ansible-inventory" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Under scripts/test (CAIRN_REQUIRE_LAB=1) and in CI the comparison must run: a missing tool fails it.
    static var required: Bool { environment["CAIRN_REQUIRE_LAB"] == "1" || !(environment["CI"] ?? "").isEmpty }
    static var shouldRun: Bool { path != nil || required }
    static let slots = Slots(max(2, ProcessInfo.processInfo.activeProcessorCount))

    /// ansible-inventory could not parse the file (its message).
    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    /// `ansible-inventory -i FILE --list`, parse failures being errors, no ansible.cfg, nothing
    /// written under the home directory.
    static func list(_ file: String) async throws -> AnsibleList {
        let tool = try #require(path, "ansible-inventory is not installed: scripts/setup installs ansible-core")
        // Each run is a Python process of ~1 s CPU and ~60 MB: a few at a time, not all at once.
        await slots.acquire()
        defer { Task { await slots.release() } }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-ansible-\(UUID())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let config = scratch.appendingPathComponent("ansible.cfg")
        let stdout = scratch.appendingPathComponent("stdout")
        let stderr = scratch.appendingPathComponent("stderr")
        for file in [config, stdout, stderr] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-i", file, "--list"]
        process.currentDirectoryURL = scratch
        var environment = Self.environment
        environment["ANSIBLE_CONFIG"] = config.path
        environment["ANSIBLE_HOME"] = scratch.path
        environment["ANSIBLE_LOCAL_TEMP"] = scratch.path
        environment["ANSIBLE_INVENTORY_ENABLED"] = "yaml,ini"
        environment["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "1"
        environment["ANSIBLE_NOCOLOR"] = "1"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        // Waits without blocking a thread of the cooperative pool.
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let errors = (try? String(contentsOf: stderr, encoding: .utf8)) ?? ""
        guard status == 0 else { throw Refused(description: errors) }
        return try JSONDecoder().decode(AnsibleList.self, from: Data(contentsOf: stdout))
    }
}

/// A counting semaphore for async code.
actor Slots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}

/// `ansible-inventory --list` output: `_meta.hostvars` (each host's merged variables) and, for each
/// group, its direct hosts and children.
struct AnsibleList: Decodable {
    struct Group: Decodable {
        var hosts: [String]?
        var children: [String]?
    }
    struct Meta: Decodable {
        var hostvars: [String: [String: JSONValue]]
    }
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var hostvars: [String: [String: JSONValue]] = [:]
    var groups: [String: Group] = [:]
    /// Every host, in the order groups list them from `all` down.
    var hostOrder: [String] = []

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "_meta" {
                hostvars = try container.decode(Meta.self, forKey: key).hostvars
            } else {
                groups[key.stringValue] = try container.decode(Group.self, forKey: key)
            }
        }
        var seen: Set<String> = []
        func visit(_ group: String, depth: Int) {
            guard depth < 64, let entry = groups[group] else { return }
            for host in entry.hosts ?? [] where seen.insert(host).inserted { hostOrder.append(host) }
            for child in entry.children ?? [] { visit(child, depth: depth + 1) }
        }
        visit("all", depth: 0)
        for host in hostvars.keys.sorted() where seen.insert(host).inserted { hostOrder.append(host) }
    }

    /// Hosts of any of `names`, directly or through children.
    func members(of names: [String]) -> Set<String> {
        var out: Set<String> = []
        var stack = names
        var visited: Set<String> = []
        while let group = stack.popLast() {
            guard visited.insert(group).inserted, let entry = groups[group] else { continue }
            out.formUnion(entry.hosts ?? [])
            stack += entry.children ?? []
        }
        return out
    }
}

/// A JSON value as ansible-inventory prints it.
enum JSONValue: Decodable, Equatable {
    case string(String)
    case integer(Int)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: AnsibleList.Key.self) {
            self = .object(try keyed.allKeys.map { ($0.stringValue, try keyed.decode(JSONValue.self, forKey: $0)) })
            return
        }
        if var items = try? decoder.unkeyedContainer() {
            var values: [JSONValue] = []
            while !items.isAtEnd { values.append(try items.decode(JSONValue.self)) }
            self = .array(values)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? single.decode(Double.self) {
            self = .double(value)
        } else {
            self = .string(try single.decode(String.self))
        }
    }

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)): return a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        default: return false
        }
    }

    /// A scalar as the text kubespray's templates would produce (Python's `str`): nil for null and structures.
    var text: String? {
        switch self {
        case .string(let value): return value
        case .integer(let value): return String(value)
        case .double(let value): return String(value)
        case .bool(let value): return value ? "True" : "False"
        case .null, .array, .object: return nil
        }
    }
}
