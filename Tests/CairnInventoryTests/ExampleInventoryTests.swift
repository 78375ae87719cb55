import CairnCore
import Foundation
import Testing

@testable import CairnInventory

@Suite struct ExampleInventoryTests {
    static let names = [
        "ha.yaml", "dedicated-etcd.yaml", "single-host.yaml", "bastion.yaml", "air-gapped.yaml", "lab.yaml",
        "node-local.yaml",
    ]

    /// The real file system and a home without files: what a fresh machine has. Every example
    /// validates there (they name no key file, mirror directory or known_hosts that must exist).
    static let loader = InventoryLoader(environment: ["HOME": "/nonexistent-home", "USER": "op"], fileSystem: .local)

    @Test(arguments: names)
    func exampleValidatesClean(name: String) throws {
        let path = Fixture.repositoryRoot.appendingPathComponent("inventory/\(name)").path
        let result = InventoryCommands.validate(path: path, explain: false, loader: Self.loader)
        #expect(result.exitCode == .success, "\(result.output)")
        #expect(result.output.contains("is valid"), "\(result.output)")
        let loaded = try Self.loader.load(path: path)
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings.map(\.description))")
    }

    @Test func everyExampleIsListed() throws {
        let directory = Fixture.repositoryRoot.appendingPathComponent("inventory").path
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }
        #expect(Set(files) == Set(Self.names))
    }

    @Test func haExampleShape() throws {
        let loaded = try Self.loader.load(path: Fixture.repositoryRoot.appendingPathComponent("inventory/ha.yaml").path)
        let inventory = loaded.inventory
        #expect(inventory.hosts.count == 5)
        #expect(inventory.controlPlaneHosts.map(\.name) == ["cp1", "cp2", "cp3"])
        #expect(inventory.etcdHosts.count == 3)
        #expect(inventory.workerHosts.map(\.name) == ["worker1", "worker2"])
        #expect(inventory.firstControlPlane?.name == "cp1")
        #expect(
            inventory.kubernetes.apiEndpoint.mode
                == .haproxyKeepalived(.init(address: "10.0.0.10", prefixLength: 24), virtualRouterID: 51))
        // haproxy beside kube-apiserver: 8443
        #expect(inventory.kubernetes.apiEndpoint.url == "https://10.0.0.10:8443")
        #expect(inventory.kubernetes.apiEndpoint.virtualIP?.address == "10.0.0.10")
        #expect(inventory.addons.rookCeph.enabled == false)
    }

    @Test func labExampleShape() throws {
        let loaded = try Self.loader.load(
            path: Fixture.repositoryRoot.appendingPathComponent("inventory/lab.yaml").path)
        let inventory = loaded.inventory
        #expect(inventory.name == "lab")
        #expect(inventory.hosts.map(\.name) == ["node1", "node2", "node3", "node4", "node5"])
        #expect(inventory.hosts.map(\.internalAddress) == (1...5).map { "10.99.1.\($0)" })
        #expect(inventory.etcd.version == "3.6.14")
        #expect(inventory.ssh.configFile == nil)
        #expect(inventory.stateDirectory == "/var/lib/cairn-lab/lab/state")
    }

    @Test func dedicatedEtcdEnablesCephFromDevices() throws {
        let loaded = try Self.loader.load(
            path: Fixture.repositoryRoot.appendingPathComponent("inventory/dedicated-etcd.yaml").path)
        #expect(loaded.inventory.addons.rookCeph.enabled)
        #expect(loaded.inventory.etcdHosts.map(\.name) == ["etcd1", "etcd2", "etcd3"])
        #expect(loaded.inventory.hosts.first { $0.name == "node3" }?.storageDevices == ["/dev/vdb", "/dev/vdc"])
    }

    /// A local mirror directory that does not exist: validate says exactly what to create.
    @Test func aMissingLocalMirrorSaysWhatToCreate() throws {
        let example = Fixture.repositoryRoot.appendingPathComponent("inventory/air-gapped.yaml").path
        let text = try String(contentsOfFile: example, encoding: .utf8)
        #expect(text.contains("\n  mirror: https://mirror.internal.example/cairn\n"))
        let result = Fixture.load(
            text.replacingOccurrences(
                of: "\n  mirror: https://mirror.internal.example/cairn\n", with: "\n  mirror: /srv/cairn-mirror\n"))
        guard case .failure(let error) = result else {
            Issue.record("a missing mirror directory was accepted")
            return
        }
        #expect(
            error.diagnostics.map(\.description).contains {
                $0.contains(
                    "artifacts.mirror: mirror directory /srv/cairn-mirror does not exist "
                        + "on this machine: create it with every release file under its upstream URL without https://, "
                        + "such as /srv/cairn-mirror/dl.k8s.io/release/v1.35.9/bin/linux/amd64/kubeadm (a copy of a "
                        + "connected machine's STATE/artifacts is one, see docs/artifacts.md")
            }, "\(error.diagnostics.map(\.description))")
    }

    /// The key the bastion example mentions, named instead of the agent, must exist.
    @Test func aMissingIdentityFileIsNamed() throws {
        let example = Fixture.repositoryRoot.appendingPathComponent("inventory/bastion.yaml").path
        let text = try String(contentsOfFile: example, encoding: .utf8)
        let withKey = text.replacingOccurrences(
            of: "\n  useAgent: true ", with: "\n  identityFile: ~/.ssh/cairn_ed25519 #")
        #expect(withKey != text)
        guard case .failure(let error) = Fixture.load(withKey, environment: ["HOME": "/nonexistent-home"]) else {
            Issue.record("a missing identity file was accepted")
            return
        }
        #expect(
            error.diagnostics.map(\.description).contains {
                $0.contains("ssh.identityFile: identity file /nonexistent-home/.ssh/cairn_ed25519 does not exist")
            }, "\(error.diagnostics.map(\.description))")
    }
}
