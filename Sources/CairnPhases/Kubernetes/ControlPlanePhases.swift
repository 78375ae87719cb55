import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// Shared by the kubeadm phases: what the control-plane hosts say about the cluster.
struct ClusterView {
    let facts: [EngineHost: NodeFacts]

    let firstControlPlane: String?

    init(facts: [EngineHost: NodeFacts], firstControlPlane: String? = nil) {
        self.facts = facts
        self.firstControlPlane = firstControlPlane
    }

    /// The cluster exists (never init again): `kubeadm init` finished on some host (Cairn's
    /// marker), or another control-plane host has joined. admin.conf alone is not proof: a
    /// killed init leaves it behind.
    var exists: Bool {
        facts.contains { host, node in
            node.initialized || (host.name != firstControlPlane && node.hasAdminConf && node.hasKubeletConf)
        }
    }

    var nodes: NodeFacts.NodeList? { NodeFacts.nodeList(in: facts) }

    func registered(_ name: String) -> Bool { nodes?.items.contains { $0.metadata.name == name } ?? false }

    /// Whether the node list could be read. Without it nothing can be concluded about a node's
    /// registration — and a transient API outage must never look like a half-finished join.
    var knowsNodes: Bool { nodes != nil }

    /// A control-plane host whose admin.conf works (it answered the node list), in inventory order.
    var anchor: EngineHost? {
        facts.keys.sorted().first { facts[$0]?.nodes != nil } ?? facts.keys.sorted().first { facts[$0]?.hasAdminConf == true }
    }
}

/// Makes a host ready for `kubeadm init`/`join` after a killed run: stops a kubeadm that run left
/// behind, resets kubeadm's state when there is any (`always`: even without), keeps the external
/// etcd client certificates Cairn put in /etc/kubernetes/pki (kubeadm reset removes them), and
/// waits until the control-plane ports are free again. Arguments: always|if-needed.
enum KubeadmPrecondition {

    static func command(always: Bool) -> RemoteCommand {
        RemoteCommand.script(.cairnKubeadmPrecondition, arguments: [always ? "always" : "if-needed"])
    }
}

/// `kubeadm reset -f` for a host that a killed run left half joined (or half initialised).
func resetAction(host: String, why: String, predicted: Bool) -> Action {
    .command(host: host, summary: "reset the half-finished kubeadm run on \(host) (\(why))",
             KubeadmPrecondition.command(always: true), timeout: .seconds(300), predicted: predicted)
}

/// Waits until `node` is registered and, for control-plane nodes, its API server is ready.
func waitJoined(_ node: String, apiserver: String?, via anchor: any HostExecutor, on executor: any HostExecutor,
                clock: any EngineClock, timeout: Duration = .seconds(300)) async throws {
    let deadline = clock.now.advanced(by: timeout)
    var last = "not checked yet"
    while clock.now < deadline {
        let node = try await anchor.run(RemoteCommand("kubectl", ["--kubeconfig", KubernetesLayout.adminConf, "--request-timeout=5s",
                                                                   "get", "node", node, "-o", "name"]), stdin: nil, timeout: .seconds(20))
        if node.succeeded {
            guard let apiserver else { return }
            let ready = try await executor.run(RemoteCommand("curl", ["-sk", "--max-time", "3", "https://\(apiserver):6443/readyz"]),
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

/// `kubeadm init` on the first control-plane host, with the rendered v1beta4 configuration
/// (external etcd, the balanced endpoint, subnets, certSANs) and `--upload-certs`. Skipped when
/// the cluster exists.
public struct ControlPlaneInitPhase: Phase {
    public let name = "control-plane-init"
    public let title = "First control plane (kubeadm init)"
    let inventory: Inventory

    public init(inventory: Inventory) {
        self.inventory = inventory
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> NodeFacts {
        try await NodeFacts.gather(executor: executor, advertise: inventory.host(named: host.name)?.internalAddress ?? "", parts: [.cluster], cache: context.run.factCache)
    }

    public func plan(facts: [EngineHost: NodeFacts], context: PhaseContext) throws -> PhasePlan {
        let view = ClusterView(facts: facts, firstControlPlane: inventory.firstControlPlane?.name)
        if view.exists {
            return PhasePlan(notes: ["the cluster exists (initialised on \(facts.filter { $0.value.initialized || $0.value.hasAdminConf }.map(\.key.name).sorted().joined(separator: ", "))): no kubeadm init"])
        }
        guard let spec = inventory.firstControlPlane, let host = context.hosts.first(where: { $0.name == spec.name }) else { return PhasePlan() }
        let predicted = context.isPredicted(host.name)
        var actions: [Action] = []
        if let node = facts[host], node.hasKubeletConfig || !node.manifests.isEmpty || node.hasAdminConf {
            actions.append(resetAction(host: host.name, why: "an earlier kubeadm init did not finish", predicted: predicted))
        }
        let token = KubeadmConfig.newToken()
        let certificateKey = KubeadmConfig.newCertificateKey()
        context.run.redactor.register(token)
        context.run.redactor.register(certificateKey)
        let config = KubeadmConfig.initConfiguration(inventory: inventory, host: spec, token: token, certificateKey: certificateKey)
        let path = KubernetesLayout.cairnDirectory + "/kubeadm-init.yaml"
        actions.append(.writeFile(host: host.name, path: path, content: config, current: nil, mode: "600", predicted: predicted, secret: true))
        actions.append(Action(host: host.name, summary: "kubeadm init on \(host.name) (external etcd, endpoint \(KubeadmConfig.endpoint(inventory)), --upload-certs)",
                              predicted: predicted) { env in
            let executor = try env.host()
            // The state may have moved since planning if a killed run's kubeadm was still at work.
            try await executor.runChecked(KubeadmPrecondition.command(always: false), timeout: .seconds(120))
            try await executor.runChecked(RemoteCommand("kubeadm", ["init", "--config", path, "--upload-certs"]), timeout: .seconds(900))
            try await executor.runChecked(RemoteCommand.script(.cairnMarkInitialized, arguments: [path, KubernetesLayout.initializedMarker]))
        })
        return PhasePlan(actions: actions, execution: .serial)
    }

    public func gate(context: PhaseContext) -> Gate? {
        guard let spec = inventory.firstControlPlane, let host = context.hosts.first(where: { $0.name == spec.name }) else { return nil }
        let endpoint = KubeadmConfig.endpoint(inventory)
        return Gate(name: "API ready through \(endpoint)", timeout: .seconds(300)) { context in
            let executor = try await context.run.executors.executor(for: host)
            let ready = try await executor.run(RemoteCommand("curl", ["-sk", "--max-time", "3", "https://\(endpoint)/readyz"]), stdin: nil, timeout: .seconds(10))
            guard ready.stdoutText == "ok" else { return .notYet("/readyz through \(endpoint): \(ready.stdoutText.isEmpty ? "no answer" : String(ready.stdoutText.prefix(80)))") }
            let node = try await executor.run(RemoteCommand("kubectl", ["--kubeconfig", KubernetesLayout.adminConf, "get", "node", spec.name, "-o", "name"]),
                                              stdin: nil, timeout: .seconds(20))
            return node.succeeded ? .passed("/readyz ok through \(endpoint); node \(spec.name) registered") : .notYet("node \(spec.name) not registered yet")
        }
    }
}

/// The other control-plane hosts, joined one at a time with fresh credentials; a half-finished
/// join is reset first. After each: its API server ready, the node registered.
public struct ControlPlaneJoinPhase: Phase {
    public let name = "control-plane-join"
    public let title = "Other control-plane hosts (kubeadm join, one at a time)"
    let inventory: Inventory

    public init(inventory: Inventory) {
        self.inventory = inventory
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> NodeFacts {
        try await NodeFacts.gather(executor: executor, advertise: inventory.host(named: host.name)?.internalAddress ?? "", parts: [.cluster], cache: context.run.factCache)
    }

    public func plan(facts: [EngineHost: NodeFacts], context: PhaseContext) throws -> PhasePlan {
        let view = ClusterView(facts: facts, firstControlPlane: inventory.firstControlPlane?.name)
        // Before init has run (plan mode), the first control-plane host will be the anchor.
        let anchorName = view.anchor?.name ?? inventory.firstControlPlane?.name
        guard let anchorName else { return PhasePlan() }
        var actions: [Action] = []
        for spec in inventory.controlPlaneHosts where spec.name != anchorName {
            guard let host = context.hosts.first(where: { $0.name == spec.name }), let node = facts[host] else { continue }
            let predicted = context.isPredicted(host.name) || !view.exists
            if view.exists && !view.knowsNodes && node.hasKubeletConf {
                throw ClusterUnreadable(phase: name, host: spec.name)
            }
            let joined = node.hasKubeletConf && view.registered(spec.name) && node.manifests.contains("kube-apiserver.yaml")
            if joined && node.apiserverReady == "ok" { continue }
            if joined {
                actions.append(Action(host: host.name, summary: "wait for the API server on \(host.name) to become ready", predicted: predicted) { env in
                    let anchor = try await env.context.executors.executor(for: env.context.host(named: anchorName)!)
                    try await waitJoined(spec.name, apiserver: spec.internalAddress, via: anchor, on: env.host(), clock: env.context.clock)
                })
                continue
            }
            if node.hasKubeletConf || node.hasKubeletConfig || !node.manifests.isEmpty {
                let why = view.registered(spec.name) ? "registered, but its API server never became ready" : "files present, but the node never registered"
                actions.append(resetAction(host: host.name, why: why, predicted: predicted))
            }
            actions.append(joinAction(spec: spec, anchorName: anchorName, controlPlane: true, predicted: predicted))
        }
        return PhasePlan(actions: actions, execution: .serial)
    }

    func joinAction(spec: Host, anchorName: String, controlPlane: Bool, predicted: Bool) -> Action {
        let inventory = self.inventory
        let summary = controlPlane ? "kubeadm join \(spec.name) as a control plane (fresh token and certificate key)"
                                   : "kubeadm join \(spec.name) as a worker"
        return Action(host: spec.name, summary: summary, predicted: predicted) { env in
            guard let anchorHost = env.context.host(named: anchorName) else { throw EngineError.internalInconsistency("no host \(anchorName)") }
            let anchor = try await env.context.executors.executor(for: anchorHost)
            let credentials = try await JoinCredentials.make(on: anchor, controlPlane: controlPlane, redactor: env.context.redactor)
            let config = KubeadmConfig.joinConfiguration(inventory: inventory, host: spec, token: credentials.token,
                                                         caCertHash: credentials.caCertHash, certificateKey: credentials.certificateKey)
            let executor = try env.host()
            try await executor.runChecked(KubeadmPrecondition.command(always: false), timeout: .seconds(120))
            let path = KubernetesLayout.cairnDirectory + "/kubeadm-join.yaml"
            _ = try await executor.upload(Data(config.utf8), to: path, mode: "600", owner: "root:root")
            try await executor.runChecked(RemoteCommand("kubeadm", ["join", "--config", path]), timeout: .seconds(900))
            _ = try? await executor.run(RemoteCommand("rm", ["-f", path]))
            try await waitJoined(spec.name, apiserver: controlPlane ? spec.internalAddress : nil, via: anchor, on: executor, clock: env.context.clock)
        }
    }

    public func gate(context: PhaseContext) -> Gate? {
        let members = inventory.etcdHosts.map { EtcdMemberSpec(host: $0) }
        let etcdHosts = context.allHosts.filter { $0.roles.contains(Role.etcd.rawValue) }
        return Gate(name: "etcd still healthy", timeout: .seconds(60)) { context in
            try await EtcdHealthCheck.check(members: members, hosts: etcdHosts, context: context.run)
        }
    }
}

/// Workers, joined in parallel with a fresh token and the CA pin.
public struct WorkerJoinPhase: Phase {
    public let name = "worker-join"
    public let title = "Workers (kubeadm join, in parallel)"
    let inventory: Inventory

    public init(inventory: Inventory) {
        self.inventory = inventory
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> NodeFacts {
        try await NodeFacts.gather(executor: executor, advertise: inventory.host(named: host.name)?.internalAddress ?? "", parts: [.cluster], cache: context.run.factCache)
    }

    public func plan(facts: [EngineHost: NodeFacts], context: PhaseContext) throws -> PhasePlan {
        let view = ClusterView(facts: facts.filter { $0.key.roles.contains(Role.controlPlane.rawValue) },
                               firstControlPlane: inventory.firstControlPlane?.name)
        guard let anchorName = view.anchor?.name ?? inventory.firstControlPlane?.name else { return PhasePlan() }
        let joiner = ControlPlaneJoinPhase(inventory: inventory)
        var actions: [Action] = []
        for spec in inventory.workerHosts where !spec.has(.controlPlane) {
            guard let host = context.hosts.first(where: { $0.name == spec.name }), let node = facts[host] else { continue }
            let predicted = context.isPredicted(host.name) || !view.exists
            if view.exists && !view.knowsNodes && node.hasKubeletConf {
                throw ClusterUnreadable(phase: name, host: spec.name)
            }
            if node.hasKubeletConf && view.registered(spec.name) { continue }
            if node.hasKubeletConf || node.hasKubeletConfig {
                actions.append(resetAction(host: host.name, why: "files present, but the node never registered", predicted: predicted))
            }
            actions.append(joiner.joinAction(spec: spec, anchorName: anchorName, controlPlane: false, predicted: predicted))
        }
        return PhasePlan(actions: actions)
    }

    public func gate(context: PhaseContext) -> Gate? {
        let inventory = self.inventory
        guard let first = inventory.firstControlPlane, let anchor = context.allHosts.first(where: { $0.name == first.name }) else { return nil }
        return Gate(name: "every node registered", timeout: .seconds(120)) { context in
            let executor = try await context.run.executors.executor(for: anchor)
            let output = try await executor.runChecked(RemoteCommand("kubectl", ["--kubeconfig", KubernetesLayout.adminConf, "get", "nodes", "-o", "json"]),
                                                       timeout: .seconds(30))
            let list = try JSONDecoder().decode(NodeFacts.NodeList.self, from: output.stdout)
            let names = Set(list.items.map(\.metadata.name))
            let missing = inventory.hosts.filter { ($0.has(.controlPlane) || $0.has(.worker)) && !names.contains($0.name) }.map(\.name)
            return missing.isEmpty ? .passed("\(names.count) nodes registered") : .notYet("not registered yet: " + missing.joined(separator: ", "))
        }
    }
}

/// The admin kubeconfig, copied to the operator's state directory (0600), pointing at the endpoint.
public struct KubeconfigPhase: Phase {
    public let name = "kubeconfig"
    public let title = "Admin kubeconfig on the operator's machine"
    let inventory: Inventory

    public init(inventory: Inventory) {
        self.inventory = inventory
    }

    public static func path(_ inventory: Inventory) -> URL {
        URL(fileURLWithPath: inventory.stateDirectory).appendingPathComponent("kubeconfig")
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> FileHashes {
        try await FileHashes.gather([KubernetesLayout.adminConf], executor: executor, name: "cairn-facts-kubeconfig")
    }

    public func plan(facts: [EngineHost: FileHashes], context: PhaseContext) throws -> PhasePlan {
        guard let host = context.hosts.first, let remote = facts[host]?.hashes[KubernetesLayout.adminConf] else { return PhasePlan() }
        let local = Self.path(inventory)
        let localHash = FileManager.default.contents(atPath: local.path).map { SHA256Digest.hex(of: $0) } ?? ""
        guard remote.isEmpty || remote != localHash else { return PhasePlan() }
        return PhasePlan(actions: [Action(host: host.name, summary: "copy /etc/kubernetes/admin.conf to \(local.path) (0600)",
                                          predicted: remote.isEmpty || context.isPredicted(host.name)) { env in
            let data = try await env.host().download(KubernetesLayout.adminConf)
            try FileManager.default.createDirectory(at: local.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let temporary = local.appendingPathExtension("tmp")
            _ = FileManager.default.createFile(atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
            guard rename(temporary.path, local.path) == 0 else {
                throw EngineError.internalInconsistency("cannot write \(local.path): \(String(cString: strerror(errno)))")
            }
        }])
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

    public var summary: String { "\(phase): the cluster exists, but no control-plane host could list its nodes, so Cairn cannot tell whether \(host ?? "hosts") joined" }
    public var nextStep: String? { "check the API (`cairn status`); when it answers again, rerun `cairn apply`" }
    public var exitCode: CairnExitCode { .gateTimeout }
}
