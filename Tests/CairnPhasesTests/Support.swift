import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import CairnTesting
import Crypto
import Foundation
import Testing
import X509

@testable import CairnPhases

/// Inventories, canned facts and fakes shared by the phase tests.
enum Fixture {
    /// An inventory read as Cairn reads it (every add-on's section), touching no file.
    static func inventory(_ yaml: String) throws -> Inventory {
        try InventoryLoader(
            environment: ["HOME": "/home/op"], fileSystem: .none.assumingEverythingExists(), addons: Addons.settings
        )
        .load(text: yaml, sourceName: "test.yaml", baseDirectory: "/work").inventory
    }

    /// Three control-plane+etcd hosts behind a VIP, `workers` workers (w1, w2, …), optionally
    /// more control-plane hosts (cp4, …), and `extra` YAML at the top level.
    static func cluster(
        workers: Int = 2, extraControlPlanes: Int = 0, version: String? = nil, extra: String = "",
        storage: [String: [String]] = [:]
    ) throws -> Topology {
        var yaml = "name: t\n"
        if !extra.isEmpty { yaml += extra + "\n" }
        yaml += "kubernetes:\n  apiEndpoint: {haproxyKeepalived: {virtualIP: 10.0.0.250}}\n"
        if let version { yaml += "  version: \"\(version)\"\n" }
        yaml += "hosts:\n"
        for n in 1...(3 + extraControlPlanes) {
            yaml += "  - {name: cp\(n), address: 10.0.0.\(n), roles: [control-plane\(n <= 3 ? ", etcd" : "")]}\n"
        }
        for n in 0..<workers {
            let name = "w\(n + 1)"
            let devices = storage[name].map { ", storage: {devices: [\($0.joined(separator: ", "))]}" } ?? ""
            yaml += "  - {name: \(name), address: 10.0.1.\(n + 1), roles: [worker]\(devices)}\n"
        }
        return Topology(try inventory(yaml))
    }

    /// What `cairn-cert-expiry` prints for certificates described as "NOT_AFTER<TAB>ISSUER<TAB>CN<TAB>PATH"
    /// lines: real certificates (P-256, self-made) with that end, issuer CN and subject CN. Other
    /// lines are passed through.
    static func certificates(_ lines: String) -> String {
        lines.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let fields = line.split(separator: "\t").map(String.init)
            guard fields.count == 4, let notAfter = Double(fields[0]) else { return String(line) }
            let key = P256.Signing.PrivateKey()
            let certificate = try! Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                notValidBefore: Date(timeIntervalSince1970: notAfter - 400 * 86_400),
                notValidAfter: Date(timeIntervalSince1970: notAfter),
                issuer: try! DistinguishedName { CommonName(fields[1]) },
                subject: try! DistinguishedName { CommonName(fields[2]) }, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: Certificate.Extensions(), issuerPrivateKey: .init(key))
            let pem = try! certificate.serializeAsPEM().pemString
            return fields[3] + "\t" + Data(pem.utf8).base64EncodedString()
        }.joined(separator: "\n")
    }

    static func hosts(_ topology: Topology) -> [(name: String, roles: [String])] {
        topology.inventory.hosts.map { ($0.name, $0.roles.map(\.rawValue)) }
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }
}

/// Node facts for tests: a fresh Debian 12 host unless told otherwise.
func node(
    name: String = "cp1", address: String = "10.0.0.1", versions: [String: String] = [:], files: [String: String] = [:],
    services: [String: String] = [:], kubeletConfig: Bool = false, kubeletConf: Bool = false, adminConf: Bool = false,
    initialized: Bool = false, manifests: [String] = [], apiserverReady: String = "", nodes: [String]? = nil,
    listening: String = "", memoryKiB: Int = 4_000_000, epoch: Int = 1_790_000_000, cgroup: String = "cgroup2fs"
) -> NodeFacts {
    NodeFacts(
        os: "debian", osVersion: "12", machine: "x86_64", memoryKiB: memoryKiB, cpus: 2, hostname: name,
        machineID: "machine-\(name)", epoch: epoch, swapActive: 0, ipForward: "1", cgroupFilesystem: cgroup,
        versions: versions, files: files,
        services: services, hasKubeletConfig: kubeletConfig, hasKubeletConf: kubeletConf, hasAdminConf: adminConf,
        initialized: initialized, manifests: manifests, listening: Data(listening.utf8).base64EncodedString(),
        interfaces: Data("2: eth0    inet \(address)/24 brd 10.0.0.255 scope global eth0\n".utf8).base64EncodedString(),
        apiserverReady: apiserverReady,
        nodes: nodes.map { names in
            K8s.List(items: names.map { K8s.Node(metadata: K8s.ObjectMeta(name: $0), status: nil) })
        })
}

/// Facts of a node whose binaries, files and services are all as Cairn installs them.
func convergedNode(
    name: String, address: String, version: String, controlPlane: Bool, topology: Topology,
    nodes: [String]? = nil
) -> NodeFacts {
    var files: [String: String] = [:]
    for (path, content) in [
        (KubernetesLayout.containerdConfig, NodeFiles.containerdConfig(kubernetes: version)),
        (KubernetesLayout.containerdUnit, NodeFiles.containerdUnit),
        (KubernetesLayout.crictlConfig, NodeFiles.crictlConfig), (KubernetesLayout.kubeletUnit, NodeFiles.kubeletUnit),
        (KubernetesLayout.kubeletDropIn, NodeFiles.kubeletDropIn),
    ] {
        files[path] = SHA256Digest.hex(of: content)
    }
    let versions = [
        "containerd": SupportedVersions.containerd, "runc": SupportedVersions.runc,
        "cni": SupportedVersions.cniPlugins, "crictl": SupportedVersions.crictl(forKubernetes: version),
        "kubeadm": version, "kubelet": version, "kubectl": version,
    ]
    return node(
        name: name, address: address, versions: versions, files: files,
        services: ["containerd": "active", "kubelet": "active"],
        kubeletConfig: true, kubeletConf: true, adminConf: controlPlane, initialized: controlPlane && name == "cp1",
        manifests: controlPlane ? ["kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml"] : [],
        apiserverReady: controlPlane ? "ok" : "", nodes: controlPlane ? nodes : nil)
}

/// Artifacts without a network: each "fetched" file holds "ARTIFACT NAME VERSION".
final class FakeArtifacts: ArtifactFetching, @unchecked Sendable {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "cairn-artifacts-\(UUID().uuidString)")

    static func content(_ spec: ArtifactSpec) -> String { "ARTIFACT \(spec.name) \(spec.version)" }

    func fetch(_ spec: ArtifactSpec) async throws -> FetchedArtifact {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(spec.name + "-" + spec.version)
        try Data(Self.content(spec).utf8).write(to: url)
        return FetchedArtifact(path: url, sha256: SHA256Digest.hex(of: Data(Self.content(spec).utf8)))
    }

    func origin(of spec: ArtifactSpec) -> String { "from the test mirror" }
}

extension PhaseHarness {
    /// Every host answers `command` (its fact script) with `facts`, once.
    func answer<Facts: Encodable>(_ facts: [String: Facts], to command: (String) -> RemoteCommand) {
        for (host, value) in facts { self[host].expect(exactly: command(host), stdout: Fixture.json(value)) }
    }

    /// Nothing unexpected was sent, and everything expected was.
    func expectExactlyTheExpectedCommands(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(unexpectedCalls.isEmpty, "unexpected commands: \(unexpectedCalls)", sourceLocation: sourceLocation)
        #expect(
            unusedExpectations.isEmpty, "expected but never sent: \(unusedExpectations)", sourceLocation: sourceLocation
        )
    }
}

extension RecordingEventSink {
    /// "host: summary" of every planned action, in plan order.
    var planned: [String] {
        events.flatMap { event -> [String] in
            if case .phasePlanned(_, let actions, _, _) = event { return actions.map { "\($0.host): \($0.summary)" } }
            return []
        }
    }

    /// The notes of every planned phase, in plan order.
    var notes: [String] {
        events.flatMap { event -> [String] in
            if case .phasePlanned(_, _, let notes, _) = event { return notes }
            return []
        }
    }
}

/// What an etcd health report asks the first etcd host (cp1 of `Fixture.cluster`), answered for
/// three healthy voting members running `version` (cp1 the leader).
func expectEtcdReport(on executor: FakeHostExecutor, version: String = "3.6.14") {
    let urls = (1...3).map { EtcdLayout.clientURL("10.0.0.\($0)") }
    func etcdctl(_ arguments: [String]) -> RemoteCommand {
        RemoteCommand(argv: EtcdLayout.etcdctl(endpoints: urls) + arguments)
    }
    let members = EtcdMemberList(
        members: (1...3).map {
            .init(
                id: UInt64($0), name: "cp\($0)", peerURLs: [EtcdLayout.peerURL("10.0.0.\($0)")],
                clientURLs: [urls[$0 - 1]])
        })
    let health = urls.map { EtcdEndpointHealth(endpoint: $0, health: true) }
    let status = (1...3).map {
        #"{"Endpoint":"\#(urls[$0 - 1])","Status":{"header":{"member_id":\#($0),"revision":10},"version":"\#(version)","dbSize":1000,"leader":1,"raftIndex":100}}"#
    }
    executor.expect(exactly: etcdctl(["member", "list", "-w", "json"]), stdout: Fixture.json(members))
    executor.expect(exactly: etcdctl(["endpoint", "health", "-w", "json"]), stdout: Fixture.json(health))
    executor.expect(
        exactly: etcdctl(["endpoint", "status", "-w", "json"]), stdout: "[" + status.joined(separator: ",") + "]")
    executor.expect(exactly: etcdctl(["alarm", "list"]))
}

extension FakeHostExecutor {
    /// The node facts script answering `facts`; on a host with admin.conf, also the node list read
    /// with kubectl (the API not answering when `facts.nodes` is nil).
    @discardableResult
    func expectNodeFacts(advertise: String, _ facts: NodeFacts) -> Self {
        expect(exactly: NodeFacts.command(advertise: advertise), stdout: Fixture.json(facts))
        guard facts.hasAdminConf else { return self }
        if let nodes = facts.nodes {
            return expect(exactly: NodeFacts.listNodesCommand, stdout: Fixture.json(nodes))
        }
        return expect(exactly: NodeFacts.listNodesCommand, repeats: true, stderr: "connection refused", status: 1)
    }
}
