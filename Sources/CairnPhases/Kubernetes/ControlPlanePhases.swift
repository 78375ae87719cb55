import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// Makes a host ready for `kubeadm init`/`join` after a killed run: stops a kubeadm that run left
/// behind, resets kubeadm's state when there is any (`always`: even without), keeps the external
/// etcd client certificates Cairn put in /etc/kubernetes/pki (kubeadm reset removes them), and
/// waits until the control-plane ports are free again. Arguments: always|if-needed.
enum KubeadmPrecondition {

    static func command(always: Bool) -> RemoteCommand {
        RemoteCommand.script(.cairnKubeadmPrecondition, arguments: [always ? "always" : "if-needed"])
    }
}

/// A step of the kubeadm phases. Steps are data, decided from facts alone by `ControlPlanePlanner`.
public enum ControlPlaneStep: Sendable, Equatable {
    /// `kubeadm reset` of what a killed run left half done (keeping the etcd client certificates).
    case reset(host: String, why: String)
    /// `kubeadm init` on the first control-plane host: the rendered configuration, then init.
    case initialize(host: String)
    /// A joined control-plane host whose API server is not ready yet: wait for it.
    case waitReady(host: String, anchor: String)
    /// `kubeadm join` with fresh credentials made on `anchor` (a host whose admin.conf works).
    case join(host: String, anchor: String, controlPlane: Bool)

    public var host: String {
        switch self {
        case .reset(let host, _), .initialize(let host), .waitReady(let host, _), .join(let host, _, _): return host
        }
    }
}

/// What the kubeadm phases do, from the hosts' facts alone.
public struct ControlPlanePlanner: Sendable {
    public let topology: Topology
    /// Facts by host name: every control-plane host, and the workers for `workers`.
    public let facts: [String: NodeFacts]

    public init(topology: Topology, facts: [String: NodeFacts]) {
        self.topology = topology
        self.facts = facts
    }

    /// The cluster exists (never init again): `kubeadm init` finished on some host (Cairn's
    /// marker), or another control-plane host has joined. admin.conf alone is not proof: a
    /// killed init leaves it behind.
    public var clusterExists: Bool {
        topology.controlPlanes.contains { host in
            guard let node = facts[host.name] else { return false }
            return node.initialized
                || (host.name != topology.firstControlPlane?.name && node.hasAdminConf && node.hasKubeletConf)
        }
    }

    /// The node list, as the first control-plane host able to read it saw it.
    var nodes: [K8s.Node]? {
        topology.controlPlanes.lazy.compactMap { self.facts[$0.name]?.nodes?.items }.first
    }

    func registered(_ name: String) -> Bool { nodes?.contains { $0.name == name } ?? false }

    /// The control-plane host joins are made from: the first whose admin.conf answered the node
    /// list, else the first with admin.conf, else (nothing built yet) the first control-plane host.
    public var anchor: String? {
        topology.controlPlanes.first { facts[$0.name]?.nodes != nil }?.name
            ?? topology.controlPlanes.first { facts[$0.name]?.hasAdminConf == true }?.name
            ?? topology.firstControlPlane?.name
    }

    /// `kubeadm init`, unless the cluster exists.
    public func initialize() -> (steps: [ControlPlaneStep], notes: [String]) {
        if clusterExists {
            let location = topology.controlPlanes.filter {
                facts[$0.name].map { $0.initialized || $0.hasAdminConf } ?? false
            }.map(\.name)
            return ([], ["the cluster exists (initialised on \(location.joined(separator: ", "))): no kubeadm init"])
        }
        guard let first = topology.firstControlPlane, let node = facts[first.name] else { return ([], []) }
        var steps: [ControlPlaneStep] = []
        if node.hasKubeletConfig || !node.manifests.isEmpty || node.hasAdminConf {
            steps.append(.reset(host: first.name, why: "an earlier kubeadm init did not finish"))
        }
        steps.append(.initialize(host: first.name))
        return (steps, [])
    }

    /// The other control-plane hosts, one at a time: joined ones are left alone (or waited for),
    /// half-joined ones reset and joined again.
    public func joinControlPlanes() throws -> [ControlPlaneStep] {
        guard let anchor else { return [] }
        var steps: [ControlPlaneStep] = []
        for host in topology.controlPlanes where host.name != anchor {
            guard let node = facts[host.name] else { continue }
            try refuseWithoutNodeList(host: host.name, node: node, phase: "control-plane-join")
            let joined = node.hasKubeletConf && registered(host.name) && node.manifests.contains("kube-apiserver.yaml")
            if joined && node.apiserverReady == "ok" { continue }
            if joined {
                steps.append(.waitReady(host: host.name, anchor: anchor))
                continue
            }
            if node.hasKubeletConf || node.hasKubeletConfig || !node.manifests.isEmpty {
                let why =
                    registered(host.name)
                    ? "registered, but its API server never became ready"
                    : "files present, but the node never registered"
                steps.append(.reset(host: host.name, why: why))
            }
            steps.append(.join(host: host.name, anchor: anchor, controlPlane: true))
        }
        return steps
    }

    /// Workers (that are not control-plane hosts), all at once: registered ones are left alone,
    /// half-joined ones reset and joined again.
    public func joinWorkers() throws -> [ControlPlaneStep] {
        guard let anchor else { return [] }
        var steps: [ControlPlaneStep] = []
        for host in topology.workersOnly {
            guard let node = facts[host.name] else { continue }
            try refuseWithoutNodeList(host: host.name, node: node, phase: "worker-join")
            if node.hasKubeletConf && registered(host.name) { continue }
            if node.hasKubeletConf || node.hasKubeletConfig {
                steps.append(.reset(host: host.name, why: "files present, but the node never registered"))
            }
            steps.append(.join(host: host.name, anchor: anchor, controlPlane: false))
        }
        return steps
    }

    /// Without the node list nothing can be concluded about a node's registration — and a
    /// transient API outage must never look like a half-finished join.
    func refuseWithoutNodeList(host: String, node: NodeFacts, phase: String) throws {
        if clusterExists && nodes == nil && node.hasKubeletConf { throw ClusterUnreadable(phase: phase, host: host) }
    }
}

/// Turns control-plane steps into actions. `secrets` makes init's bootstrap token and certificate
/// key (random in production; fixed in tests).
struct ControlPlaneActions: Sendable {
    let topology: Topology
    let secrets: KubeadmSecrets

    func action(_ step: ControlPlaneStep, predicted: Bool, redactor: Redactor) -> [Action] {
        switch step {
        case .reset(let host, let why):
            return [
                .command(
                    host: host, summary: "reset the half-finished kubeadm run on \(host) (\(why))",
                    KubeadmPrecondition.command(always: true), timeout: .seconds(300), predicted: predicted)
            ]
        case .initialize(let name):
            guard let host = topology.host(named: name) else { return [] }
            let token = secrets.token()
            let certificateKey = secrets.certificateKey()
            redactor.register(token)
            redactor.register(certificateKey)
            let config = KubeadmConfig.initConfiguration(
                topology: topology, host: host, token: token, certificateKey: certificateKey)
            let path = KubernetesLayout.cairnDirectory + "/kubeadm-init.yaml"
            return [
                .writeFile(
                    host: name, path: path, content: config, current: nil, mode: "600", predicted: predicted,
                    secret: true),
                Action(
                    host: name,
                    summary:
                        "kubeadm init on \(name) (external etcd, endpoint \(topology.apiEndpoint), --upload-certs)",
                    predicted: predicted
                ) { env in
                    let executor = try env.host()
                    try await ExternalEtcdFloor.verify(topology: topology, context: env.context)
                    // The state may have moved since planning if a killed run's kubeadm was still at work.
                    try await executor.runChecked(KubeadmPrecondition.command(always: false), timeout: .seconds(120))
                    try await executor.runChecked(
                        RemoteCommand("kubeadm", ["init", "--config", path, "--upload-certs"]), timeout: .seconds(900))
                    try await executor.runChecked(
                        .script(.cairnMarkInitialized, arguments: [path, KubernetesLayout.initializedMarker]))
                },
            ]
        case .waitReady(let name, let anchorName):
            let address = topology.internalAddress(of: name)
            return [
                Action(host: name, summary: "wait for the API server on \(name) to become ready", predicted: predicted)
                { env in
                    let anchor = try await env.context.executors.executor(forHost: anchorName)
                    try await waitJoined(
                        name, apiserver: address, via: anchor, on: env.host(), clock: env.context.clock)
                }
            ]
        case .join(let name, let anchorName, let controlPlane):
            guard let host = topology.host(named: name) else { return [] }
            let topology = self.topology
            let summary =
                controlPlane
                ? "kubeadm join \(name) as a control plane (fresh token and certificate key)"
                : "kubeadm join \(name) as a worker"
            return [
                Action(host: name, summary: summary, predicted: predicted) { env in
                    let anchor = try await env.context.executors.executor(forHost: anchorName)
                    let credentials = try await JoinCredentials.make(
                        on: anchor, controlPlane: controlPlane, redactor: env.context.redactor)
                    let config = KubeadmConfig.joinConfiguration(
                        topology: topology, host: host, token: credentials.token,
                        caCertHash: credentials.caCertHash, certificateKey: credentials.certificateKey)
                    let executor = try env.host()
                    if controlPlane { try await ExternalEtcdFloor.verify(topology: topology, context: env.context) }
                    try await executor.runChecked(KubeadmPrecondition.command(always: false), timeout: .seconds(120))
                    let path = KubernetesLayout.cairnDirectory + "/kubeadm-join.yaml"
                    _ = try await executor.upload(Data(config.utf8), to: path, mode: "600", owner: "root:root")
                    let throughOtherServer = controlPlane && topology.nodeLocal.map { !$0.runsProxy(host) } == true
                    if throughOtherServer {
                        _ = try await NodeLocalJoin.pointAtReadyAPIServer(
                            on: executor, joining: name, preferred: anchorName, topology: topology)
                    }
                    try await executor.runChecked(
                        RemoteCommand("kubeadm", ["join", "--config", path]), timeout: .seconds(900))
                    _ = try? await executor.run(RemoteCommand("rm", ["-f", path]))
                    if throughOtherServer { try await NodeLocalJoin.pointAtLoopback(on: executor, topology: topology) }
                    try await waitJoined(
                        name, apiserver: controlPlane ? host.internalAddress : nil, via: anchor, on: executor,
                        clock: env.context.clock)
                }
            ]
        }
    }
}

/// kubeadm's ExternalEtcdVersion preflight, checked by Cairn first against what every etcd member
/// reports running (not what the inventory asks for), so the refusal names the members and the way out.
enum ExternalEtcdFloor {
    static func verify(topology: Topology, context: RunContext) async throws {
        let kubernetes = topology.inventory.kubernetes.version
        let minimum = SupportedVersions.minimumExternalEtcd(forKubernetes: kubernetes)
        let report = try await EtcdHealthCheck.report(
            members: topology.etcdMembers, hostNames: topology.etcdMembers.map(\.name), context: context)
        let tooOld = report.versions.filter { SupportedVersions.isOlder($0.value, than: minimum) }
        guard tooOld.isEmpty else {
            throw ExternalEtcdTooOld(kubernetes: kubernetes, minimum: minimum, members: tooOld)
        }
    }
}

public struct ExternalEtcdTooOld: Error, CairnReportableError, Equatable {
    public let kubernetes: String
    public let minimum: String
    /// Member name → the version it runs.
    public let members: [String: String]

    public var summary: String {
        let list = members.sorted { $0.key < $1.key }.map { "\($0.key) runs \($0.value)" }.joined(separator: ", ")
        return "kubeadm \(kubernetes) needs external etcd \(minimum) or newer: \(list)"
    }
    public var nextStep: String? {
        "upgrade etcd on those members to \(minimum) or newer (one minor at a time; supported versions: `cairn validate`), then rerun `cairn apply`"
    }
}

/// Where init's bootstrap token and certificate key come from.
public struct KubeadmSecrets: Sendable {
    public let token: @Sendable () -> String
    public let certificateKey: @Sendable () -> String

    public init(token: @escaping @Sendable () -> String, certificateKey: @escaping @Sendable () -> String) {
        self.token = token
        self.certificateKey = certificateKey
    }

    public static let random = KubeadmSecrets(
        token: KubeadmConfig.newToken, certificateKey: KubeadmConfig.newCertificateKey)
}

/// Waits until `node` is registered and, for control-plane nodes, its API server is ready.
func waitJoined(
    _ node: String, apiserver: String?, via anchor: any HostExecutor, on executor: any HostExecutor,
    clock: any EngineClock, timeout: Duration = .seconds(300)
) async throws {
    let deadline = clock.now.advanced(by: timeout)
    var last = "not checked yet"
    while clock.now < deadline {
        let node = try await anchor.run(
            Kubectl.command(["get", "node", node, "-o", "name"]), stdin: nil, timeout: .seconds(30))
        if node.succeeded {
            guard let apiserver else { return }
            let ready = try await executor.run(
                RemoteCommand(
                    "curl", ["-sk", "--max-time", "3", "https://\(EtcdLayout.bracketed(apiserver)):6443/readyz"]),
                stdin: nil, timeout: .seconds(10))
            if ready.stdoutText == "ok" { return }
            last = "its API server is not ready (\(ready.stdoutText.prefix(60)))"
        } else {
            last = "the node is not registered yet"
        }
        try await clock.sleep(for: .seconds(2))
    }
    throw EtcdError.timedOut(what: "\(node) joining the cluster", last: last)
}

/// Facts of the kubeadm phases, by host name.
func nodeFacts(_ facts: [EngineHost: NodeFacts]) -> [String: NodeFacts] {
    Dictionary(uniqueKeysWithValues: facts.map { ($0.key.name, $0.value) })
}

/// `kubeadm init` on the first control-plane host, with the rendered v1beta4 configuration
/// (external etcd, the balanced endpoint, subnets, certSANs) and `--upload-certs`. Skipped when
/// the cluster exists.
public struct ControlPlaneInitPhase: Phase {
    public let name = "control-plane-init"
    public let title = "First control plane (kubeadm init)"
    let topology: Topology
    let secrets: KubeadmSecrets

    public init(topology: Topology, secrets: KubeadmSecrets = .random) {
        self.topology = topology
        self.secrets = secrets
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> NodeFacts
    {
        try await NodeFacts.gather(
            executor: executor, advertise: topology.internalAddress(of: host.name), cache: context.run.factCache)
    }

    public func plan(facts: [EngineHost: NodeFacts], context: PhaseContext) throws -> PhasePlan {
        let (steps, notes) = ControlPlanePlanner(topology: topology, facts: nodeFacts(facts)).initialize()
        let actions = ControlPlaneActions(topology: topology, secrets: secrets)
        return PhasePlan(
            actions: steps.flatMap {
                actions.action($0, predicted: context.isPredicted($0.host), redactor: context.run.redactor)
            },
            execution: .serial, notes: notes)
    }

    public func gate(context: PhaseContext) -> Gate? {
        guard let spec = topology.firstControlPlane, let host = context.hosts.first(where: { $0.name == spec.name })
        else { return nil }
        let endpoint = topology.apiEndpoint
        return Gate(name: "API ready through \(endpoint)", timeout: .seconds(300)) { context in
            let executor = try await context.run.executors.executor(for: host)
            let ready = try await executor.run(
                RemoteCommand("curl", ["-sk", "--max-time", "3", "https://\(endpoint)/readyz"]), stdin: nil,
                timeout: .seconds(10))
            guard ready.stdoutText == "ok" else {
                return .notYet(
                    "/readyz through \(endpoint): \(ready.stdoutText.isEmpty ? "no answer" : String(ready.stdoutText.prefix(80)))"
                )
            }
            // The node list this run's facts read, while nothing changed since; else the API.
            let known = await NodeFacts.existing(
                host: spec.name, advertise: spec.internalAddress, cache: context.run.factCache)
            if known?.nodes?.items.contains(where: { $0.name == spec.name }) == true {
                return .passed("/readyz ok through \(endpoint); node \(spec.name) registered")
            }
            let node = try await executor.run(
                Kubectl.command(["get", "node", spec.name, "-o", "name"]), stdin: nil, timeout: .seconds(30))
            return node.succeeded
                ? .passed("/readyz ok through \(endpoint); node \(spec.name) registered")
                : .notYet("node \(spec.name) not registered yet")
        }
    }
}

/// The other control-plane hosts, joined one at a time with fresh credentials; a half-finished
/// join is reset first. After each: its API server ready, the node registered.
public struct ControlPlaneJoinPhase: Phase {
    public let name = "control-plane-join"
    public let title = "Other control-plane hosts (kubeadm join, one at a time)"
    let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> NodeFacts
    {
        try await NodeFacts.gather(
            executor: executor, advertise: topology.internalAddress(of: host.name), cache: context.run.factCache)
    }

    public func plan(facts: [EngineHost: NodeFacts], context: PhaseContext) throws -> PhasePlan {
        let planner = ControlPlanePlanner(topology: topology, facts: nodeFacts(facts))
        let steps = try planner.joinControlPlanes()
        // Before init has run (plan mode), everything here is predicted.
        let predicted = { (host: String) in context.isPredicted(host) || !planner.clusterExists }
        let actions = ControlPlaneActions(topology: topology, secrets: .random)
        return PhasePlan(
            actions: steps.flatMap {
                actions.action($0, predicted: predicted($0.host), redactor: context.run.redactor)
            },
            execution: .serial)
    }

    public func gate(context: PhaseContext) -> Gate? {
        let members = topology.etcdMembers
        let etcdHosts = topology.etcdHosts(among: context.allHosts)
        return Gate(name: "etcd still healthy", timeout: .seconds(60)) { context in
            try await EtcdHealthCheck.check(members: members, hosts: etcdHosts, context: context.run)
        }
    }
}

/// Workers, joined in parallel with a fresh token and the CA pin.
public struct WorkerJoinPhase: Phase {
    public let name = "worker-join"
    public let title = "Workers (kubeadm join, in parallel)"
    let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> NodeFacts
    {
        try await NodeFacts.gather(
            executor: executor, advertise: topology.internalAddress(of: host.name), cache: context.run.factCache)
    }

    public func plan(facts: [EngineHost: NodeFacts], context: PhaseContext) throws -> PhasePlan {
        let planner = ControlPlanePlanner(topology: topology, facts: nodeFacts(facts))
        let steps = try planner.joinWorkers()
        let predicted = { (host: String) in context.isPredicted(host) || !planner.clusterExists }
        let actions = ControlPlaneActions(topology: topology, secrets: .random)
        // Nodes the inventory no longer names are left alone, and said.
        let strangers = (planner.nodes ?? []).map(\.name).filter { topology.host(named: $0) == nil }
        return PhasePlan(
            actions: steps.flatMap {
                actions.action($0, predicted: predicted($0.host), redactor: context.run.redactor)
            },
            notes: strangers.map {
                "Node \($0) is not in the inventory; it stays (`cairn remove -i INVENTORY \($0)` takes it out, with --unreachable when the host is gone)"
            })
    }

    public func gate(context: PhaseContext) -> Gate? {
        let topology = self.topology
        guard let first = topology.firstControlPlane,
            let anchor = context.allHosts.first(where: { $0.name == first.name })
        else { return nil }
        return Gate(name: "every node registered", timeout: .seconds(120)) { context in
            let executor = try await context.run.executors.executor(for: anchor)
            // The node list this run's facts read, while nothing changed since: all there is a pass;
            // anything else is asked of the API.
            let known = await NodeFacts.existing(
                host: anchor.name, advertise: topology.internalAddress(of: anchor.name), cache: context.run.factCache)
            if let listed = known?.nodes?.items,
                topology.nodes.allSatisfy({ node in listed.contains { $0.name == node.name } })
            {
                return .passed("\(listed.count) nodes registered")
            }
            let names = Set(try await Kubectl(executor: executor).list(K8s.Node.self, ["nodes"]).map(\.name))
            let missing = topology.nodes.filter { !names.contains($0.name) }.map(\.name)
            return missing.isEmpty
                ? .passed("\(names.count) nodes registered")
                : .notYet("not registered yet: " + missing.joined(separator: ", "))
        }
    }
}

/// The admin kubeconfig, copied to the operator's state directory (0600), pointing at the endpoint
/// (with `nodeLocal`, at each control-plane host: `OperatorKubeconfig`). What it was made from is
/// recorded beside it (`.source-sha256`), so a rerun copies it only when admin.conf changed.
public struct KubeconfigPhase: Phase {
    public let name = "kubeconfig"
    public let title = "Admin kubeconfig on the operator's machine"
    let topology: Topology
    var inventory: Inventory { topology.inventory }

    public init(topology: Topology) {
        self.topology = topology
    }

    public static func path(_ inventory: Inventory) -> URL {
        URL(fileURLWithPath: inventory.stateDirectory).appendingPathComponent("kubeconfig")
    }

    static func sourcePath(_ inventory: Inventory) -> URL {
        path(inventory).appendingPathExtension("source-sha256")
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> FileHashes
    {
        try await FileHashes.gather([KubernetesLayout.adminConf], executor: executor, name: "cairn-facts-kubeconfig")
    }

    public func plan(facts: [EngineHost: FileHashes], context: PhaseContext) throws -> PhasePlan {
        guard let host = context.hosts.first, let remote = facts[host]?.hashes[KubernetesLayout.adminConf] else {
            return PhasePlan()
        }
        let local = Self.path(inventory)
        let sourceFile = Self.sourcePath(inventory)
        let fileManager = FileManager.default
        let copied: String
        if let recorded = fileManager.contents(atPath: sourceFile.path), fileManager.fileExists(atPath: local.path) {
            copied = String(decoding: recorded, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            // Written by an older Cairn, which copied admin.conf as it was.
            copied = fileManager.contents(atPath: local.path).map { SHA256Digest.hex(of: $0) } ?? ""
        }
        let topology = self.topology
        let source = Self.sourceDigest(adminConf: remote, topology: topology)
        guard remote.isEmpty || source != copied else { return PhasePlan() }
        let summary =
            topology.nodeLocal == nil
            ? "copy /etc/kubernetes/admin.conf to \(local.path) (0600)"
            : "copy /etc/kubernetes/admin.conf to \(local.path) (0600), one context per control-plane host"
        return PhasePlan(actions: [
            Action(host: host.name, summary: summary, predicted: remote.isEmpty || context.isPredicted(host.name)) {
                env in
                let data = try await env.host().download(KubernetesLayout.adminConf)
                let kubeconfig = try OperatorKubeconfig.make(adminConf: data, topology: topology)
                try fileManager.createDirectory(
                    at: local.deletingLastPathComponent(), withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
                try Self.replace(local, with: kubeconfig)
                try Self.replace(sourceFile, with: Data((source + "\n").utf8))
            }
        ])
    }

    /// What the operator's kubeconfig is made from: admin.conf's SHA-256, and with `nodeLocal`
    /// the control-plane hosts it names (a new one changes the kubeconfig, not admin.conf).
    static func sourceDigest(adminConf hash: String, topology: Topology) -> String {
        guard topology.nodeLocal != nil else { return hash }
        let hosts = topology.controlPlanes.map { "\($0.name)=\($0.internalAddress)" }.joined(separator: ",")
        return SHA256Digest.hex(of: hash + " " + hosts)
    }

    /// Writes `data` beside `file` (0600) and renames it over `file`.
    static func replace(_ file: URL, with data: Data) throws {
        let temporary = file.appendingPathExtension("tmp")
        _ = FileManager.default.createFile(
            atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
        guard rename(temporary.path, file.path) == 0 else {
            throw EngineError.internalInconsistency("cannot write \(file.path): \(String(cString: strerror(errno)))")
        }
    }
}

/// The cluster exists but no control-plane host could list its nodes: joins are not planned on
/// a guess (a node that looks half joined would be reset).
public struct ClusterUnreadable: Error, CairnReportableError {
    public let phase: String
    public let host: String?

    public init(phase: String, host: String) {
        self.phase = phase
        self.host = host
    }

    public var summary: String {
        "\(phase): the cluster exists, but no control-plane host could list its nodes, so Cairn cannot tell whether \(host ?? "hosts") joined"
    }
    public var nextStep: String? { "check the API (`cairn status`); when it answers again, rerun `cairn apply`" }
    public var exitCode: CairnExitCode { .gateTimeout }
}
