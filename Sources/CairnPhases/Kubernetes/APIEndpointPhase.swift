import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// The API endpoint clients use. `haproxyKeepalived`: haproxy on every control-plane host
/// balancing to every API server's 6443 (health-checked on /readyz) and keepalived holding the
/// virtual IP; `kubeVip`: kube-vip as a static pod; `external`: the operator's balancer, checked
/// once the first API server is up; `nodeLocal`: haproxy on every worker's loopback address and
/// the endpoint name in every host's /etc/hosts (`NodeLocalEndpoint`), changed one host at a time;
/// `direct`: the only control-plane host.
public struct APIEndpointPhase: Phase {
    public let name = "api-endpoint"
    public let title = "Balanced API endpoint"
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

    var endpoint: APIEndpoint { topology.inventory.kubernetes.apiEndpoint }

    public func plan(facts: [EngineHost: NodeFacts], context: PhaseContext) throws -> PhasePlan {
        let byName = Dictionary(uniqueKeysWithValues: facts.map { ($0.key.name, $0.value) })
        let planned: (steps: [HostStep], notes: [String])
        do {
            planned = try APIEndpointPlanner(topology: topology).plan(facts: byName)
        } catch let error as APIEndpointPlanner.NoInterface {
            throw EngineError.hostsFailed(
                phase: name, step: .plan,
                failures: [HostFailure(host: error.host ?? "", phase: name, action: nil, error: error)])
        }
        // One host at a time: a host's balancer (or keepalived) restarts while the others keep
        // serving, so a change of backends (a control-plane host added or removed) costs no outage.
        return PhasePlan(
            actions: planned.steps.actions(predicted: context.isPredicted), execution: .serial, notes: planned.notes)
    }

    public func gate(context: PhaseContext) -> Gate? {
        if let nodeLocal = topology.nodeLocal {
            let topology = self.topology
            let proxies = context.hosts.filter { topology.host(named: $0.name).map(nodeLocal.runsProxy) ?? false }
            guard !proxies.isEmpty else { return nil }
            return Gate(
                name: "every node's balancer accepts connections on \(nodeLocal.loopback):\(nodeLocal.port)",
                timeout: .seconds(60)
            ) { context in
                var closed: [String] = []
                for host in proxies {
                    let executor = try await context.run.executors.executor(for: host)
                    let probe = try await executor.run(
                        RemoteCommand.script(.cairnProbePort, arguments: [nodeLocal.loopback, String(nodeLocal.port)]),
                        stdin: nil, timeout: .seconds(10))
                    if !probe.succeeded { closed.append(host.name) }
                }
                return closed.isEmpty
                    ? .passed(
                        "haproxy answers on \(nodeLocal.loopback):\(nodeLocal.port) on \(proxies.count) host\(proxies.count == 1 ? "" : "s")"
                    )
                    : .notYet("no balancer answers yet on " + closed.joined(separator: ", "))
            }
        }
        guard case .haproxyKeepalived = endpoint.mode, let first = context.hosts.first else { return nil }
        let address = endpoint.address
        let port = endpoint.port
        return Gate(name: "API endpoint \(address):\(port) accepts connections", timeout: .seconds(60)) { context in
            let executor = try await context.run.executors.executor(for: first)
            let probe = try await executor.run(
                RemoteCommand.script(.cairnProbePort, arguments: [address, String(port)]), stdin: nil,
                timeout: .seconds(10))
            return probe.succeeded
                ? .passed("\(address):\(port) answers (held by keepalived, served by haproxy)")
                : .notYet("\(address):\(port) does not accept connections yet")
        }
    }
}

/// The balancer's files and services on each control-plane host, from their facts alone.
public struct APIEndpointPlanner: Sendable {
    public let topology: Topology
    var endpoint: APIEndpoint { topology.inventory.kubernetes.apiEndpoint }

    /// A per-cluster VRRP password: keepalived's is 8 characters of shared secret between peers
    /// of one segment; it keeps other clusters' routers with the same router ID apart.
    var vrrpPassword: String { String(SHA256Digest.hex(of: "cairn-vrrp-\(topology.inventory.name)").prefix(8)) }

    /// No interface holds a control-plane host's address, so keepalived cannot be told where the VIP goes.
    public struct NoInterface: Error, CairnReportableError, Equatable {
        public let host: String?
        public let address: String
        public var summary: String {
            "no interface on \(host ?? "?") holds \(address), so Cairn cannot tell keepalived where the virtual IP goes"
        }
        public var nextStep: String? { "set kubernetes.apiEndpoint.haproxyKeepalived.interface in the inventory" }
    }

    /// `facts` by host name, for the control-plane hosts.
    public func plan(facts: [String: NodeFacts]) throws -> (steps: [HostStep], notes: [String]) {
        switch endpoint.mode {
        case .direct:
            return ([], ["no balancer: clients use \(endpoint.url) directly (one control-plane host)"])
        case .external(let address):
            return (
                [],
                ["the operator's balancer at \(address):\(endpoint.port) is checked once the first API server is up"]
            )
        case .kubeVip(let vip):
            let steps = topology.controlPlanes.compactMap { host -> HostStep? in
                guard let node = facts[host.name] else { return nil }
                let interface = vip.interface ?? node.interface(holding: host.internalAddress) ?? "eth0"
                return HostStep.render(
                    host: host.name, path: KubernetesLayout.kubeVipManifest,
                    content: NodeFiles.kubeVipManifest(vip: vip, interface: interface, port: 6443),
                    currentHash: node.files[KubernetesLayout.kubeVipManifest])
            }
            return (steps, ["kube-vip holds \(vip.address) once the kubelet runs its static pod"])
        case .nodeLocal:
            return nodeLocal(facts: facts)
        case .haproxyKeepalived(let vip, let routerID):
            return (
                try haproxyKeepalived(facts: facts, vip: vip, routerID: routerID),
                [
                    "\(vip.address):\(endpoint.port) → haproxy on \(topology.controlPlanes.count) control-plane host\(topology.controlPlanes.count == 1 ? "" : "s") → kube-apiserver :6443"
                ]
            )
        }
    }

    /// nodeLocal: on every node, the balancer where it runs and the endpoint name at the loopback
    /// address — except on a control-plane host that has not joined yet: its join points the name at
    /// a ready API server first (`NodeLocalJoin`). Before any API server exists, the first
    /// control-plane host's name points at the loopback address, where `kubeadm init` starts one.
    func nodeLocal(facts: [String: NodeFacts]) -> (steps: [HostStep], notes: [String]) {
        guard let settings = topology.nodeLocal else { return ([], []) }
        let controlPlanes = topology.controlPlanes
        let backends = controlPlanes.map { ($0.name, $0.internalAddress) }
        let hasAPIServer = { (name: String) in facts[name]?.manifests.contains("kube-apiserver.yaml") == true }
        let anyAPIServer = controlPlanes.contains { hasAPIServer($0.name) }
        var steps: [HostStep] = []
        var proxies = 0
        for host in topology.nodes {
            guard let node = facts[host.name] else { continue }
            let runsProxy = settings.runsProxy(host)
            if runsProxy {
                proxies += 1
                let config = NodeFiles.haproxyConfig(
                    port: settings.port, backends: backends, listen: settings.loopback,
                    preferred: host.has(.controlPlane) ? host.name : nil)
                var changed = false
                for (path, content) in [
                    (KubernetesLayout.haproxyConfig, config), (KubernetesLayout.haproxyUnit, NodeFiles.haproxyUnit),
                ] {
                    guard
                        let step = HostStep.render(
                            host: host.name, path: path, content: content, currentHash: node.files[path])
                    else { continue }
                    steps.append(step)
                    changed = true
                }
                if node.services["cairn-apiserver-lb"] != "active" {
                    steps.append(
                        .run(
                            host: host.name, summary: "enable and start cairn-apiserver-lb",
                            ServiceCommand.enableAndRestart("cairn-apiserver-lb")))
                } else if changed {
                    steps.append(
                        .run(
                            host: host.name, summary: "restart cairn-apiserver-lb (configuration changed)",
                            ServiceCommand.restart("cairn-apiserver-lb")))
                }
            }
            let member =
                runsProxy || hasAPIServer(host.name)
                || (!anyAPIServer && host.name == topology.firstControlPlane?.name)
            if member && node.endpointEntry != settings.loopback {
                steps.append(NodeLocalJoin.pointName(at: settings.loopback, on: host.name))
            }
        }
        let servers = "\(controlPlanes.count) API server\(controlPlanes.count == 1 ? "" : "s")"
        return (
            steps,
            [
                "every node reaches the API at \(settings.loopbackURL) as \(NodeLocalEndpoint.name): haproxy over \(servers) on \(proxies) host\(proxies == 1 ? "" : "s")"
                    + (settings.port == 6443 ? "; control-plane hosts use their own API server" : "")
            ]
        )
    }

    func haproxyKeepalived(facts: [String: NodeFacts], vip: APIEndpoint.VirtualIP, routerID: Int) throws -> [HostStep] {
        let controlPlanes = topology.controlPlanes
        let haproxy = NodeFiles.haproxyConfig(
            port: endpoint.port, backends: controlPlanes.map { ($0.name, $0.internalAddress) })
        var steps: [HostStep] = []
        for (index, host) in controlPlanes.enumerated() {
            guard let node = facts[host.name] else { continue }
            guard let interface = vip.interface ?? node.interface(holding: host.internalAddress) else {
                throw NoInterface(host: host.name, address: host.internalAddress)
            }
            let keepalived = NodeFiles.keepalivedConfig(
                host: host.name, address: host.internalAddress,
                peers: controlPlanes.filter { $0.name != host.name }.map(\.internalAddress),
                interface: interface, vip: vip, routerID: routerID, priority: 150 - index, port: endpoint.port,
                password: vrrpPassword)
            var changed: [String] = []
            for (path, content, unit) in [
                (KubernetesLayout.haproxyConfig, haproxy, "cairn-apiserver-lb"),
                (KubernetesLayout.haproxyUnit, NodeFiles.haproxyUnit, "cairn-apiserver-lb"),
                (KubernetesLayout.keepalivedConfig, keepalived, "cairn-vip"),
                (KubernetesLayout.keepalivedUnit, NodeFiles.keepalivedUnit, "cairn-vip"),
            ] {
                guard
                    let step = HostStep.render(
                        host: host.name, path: path, content: content, currentHash: node.files[path])
                else { continue }
                steps.append(step)
                if !changed.contains(unit) { changed.append(unit) }
            }
            for unit in ["cairn-apiserver-lb", "cairn-vip"] {
                if node.services[unit] != "active" {
                    steps.append(
                        .run(
                            host: host.name, summary: "enable and start \(unit)", ServiceCommand.enableAndRestart(unit))
                    )
                } else if changed.contains(unit) {
                    steps.append(
                        .run(
                            host: host.name, summary: "restart \(unit) (configuration changed)",
                            ServiceCommand.restart(unit)))
                }
            }
        }
        return steps
    }
}

/// How a control-plane host joins a `nodeLocal` cluster: kubeadm join reads the cluster's
/// configuration through the endpoint name before the host's own API server exists, so the name
/// points at a ready API server of another control-plane host during the join, and at the loopback
/// address afterwards.
enum NodeLocalJoin {
    static func pointName(at address: String, on host: String) -> HostStep {
        .run(
            host: host, summary: "/etc/hosts: \(NodeLocalEndpoint.name) → \(address)",
            .script(.cairnHostsEntry, arguments: [address, NodeLocalEndpoint.name]))
    }

    /// Points the name on `executor`'s host at the first control-plane host (`preferred` first)
    /// whose API server answers /readyz from there; returns its name.
    static func pointAtReadyAPIServer(
        on executor: any HostExecutor, joining: String, preferred: String, topology: Topology
    ) async throws -> String {
        let others = topology.controlPlanes.filter { $0.name != joining }
        let candidates = others.filter { $0.name == preferred } + others.filter { $0.name != preferred }
        for candidate in candidates {
            let ready = try await executor.run(
                RemoteCommand(
                    "curl",
                    [
                        "-sk", "--max-time", "3",
                        "https://\(EtcdLayout.bracketed(candidate.internalAddress)):6443/readyz",
                    ]),
                stdin: nil, timeout: .seconds(10))
            guard ready.stdoutText == "ok" else { continue }
            try await executor.runChecked(
                .script(.cairnHostsEntry, arguments: [candidate.internalAddress, NodeLocalEndpoint.name]))
            return candidate.name
        }
        throw NoReadyAPIServer(host: joining, tried: candidates.map(\.name))
    }

    static func pointAtLoopback(on executor: any HostExecutor, topology: Topology) async throws {
        guard let settings = topology.nodeLocal else { return }
        try await executor.runChecked(
            .script(.cairnHostsEntry, arguments: [settings.loopback, NodeLocalEndpoint.name]))
    }

    struct NoReadyAPIServer: Error, CairnReportableError, Equatable {
        let host: String?
        let tried: [String]
        var summary: String {
            "\(host ?? "?") cannot join: no API server of \(tried.joined(separator: ", ")) answers /readyz from it"
        }
        var nextStep: String? { "check the API servers (`cairn status`) and the network between the hosts, then rerun" }
        var exitCode: CairnExitCode { .gateTimeout }
    }
}
