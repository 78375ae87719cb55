import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// The API endpoint clients use. `haproxyKeepalived`: haproxy on every control-plane host
/// balancing to every API server's 6443 (health-checked on /readyz) and keepalived holding the
/// virtual IP; `kubeVip`: kube-vip as a static pod; `external`: the operator's balancer, checked
/// once the first API server is up; `direct`: the only control-plane host.
public struct APIEndpointPhase: Phase {
    public let name = "api-endpoint"
    public let title = "Balanced API endpoint"
    let inventory: Inventory

    public init(inventory: Inventory) {
        self.inventory = inventory
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> NodeFacts {
        try await NodeFacts.gather(executor: executor, advertise: "", parts: [.packages, .network])
    }

    var endpoint: APIEndpoint { inventory.kubernetes.apiEndpoint }

    /// A per-cluster VRRP password: keepalived's is 8 characters of shared secret between peers
    /// of one segment; it keeps other clusters' routers with the same router ID apart.
    var vrrpPassword: String { String(SHA256Digest.hex(of: "cairn-vrrp-\(inventory.name)").prefix(8)) }

    public func plan(facts: [EngineHost: NodeFacts], context: PhaseContext) throws -> PhasePlan {
        switch endpoint.mode {
        case .direct:
            return PhasePlan(notes: ["no balancer: clients use \(endpoint.url) directly (one control-plane host)"])
        case .external(let address):
            return PhasePlan(notes: ["the operator's balancer at \(address):\(endpoint.port) is checked once the first API server is up"])
        case .kubeVip(let vip):
            var actions: [Action] = []
            for host in context.hosts {
                guard let node = facts[host], let spec = inventory.host(named: host.name) else { continue }
                let interface = vip.interface ?? node.interface(holding: spec.internalAddress) ?? "eth0"
                let manifest = NodeFiles.kubeVipManifest(vip: vip, interface: interface, port: 6443)
                if node.files[KubernetesLayout.kubeVipManifest] != SHA256Digest.hex(of: manifest) {
                    actions.append(.writeFile(host: host.name, path: KubernetesLayout.kubeVipManifest, content: manifest,
                                              current: (node.files[KubernetesLayout.kubeVipManifest] ?? "").isEmpty ? nil : "",
                                              predicted: context.isPredicted(host.name), changeSummary: "differs from Cairn's"))
                }
            }
            return PhasePlan(actions: actions, notes: ["kube-vip holds \(vip.address) once the kubelet runs its static pod"])
        case .haproxyKeepalived(let vip, let routerID):
            return try planHAProxy(facts: facts, context: context, vip: vip, routerID: routerID)
        }
    }

    func planHAProxy(facts: [EngineHost: NodeFacts], context: PhaseContext, vip: APIEndpoint.VirtualIP, routerID: Int) throws -> PhasePlan {
        let controlPlanes = inventory.controlPlaneHosts
        let haproxy = NodeFiles.haproxyConfig(port: endpoint.port, backends: controlPlanes.map { ($0.name, $0.internalAddress) })
        var actions: [Action] = []
        for (index, spec) in controlPlanes.enumerated() {
            guard let host = context.hosts.first(where: { $0.name == spec.name }), let node = facts[host] else { continue }
            let predicted = context.isPredicted(host.name)
            guard let interface = vip.interface ?? node.interface(holding: spec.internalAddress) else {
                throw EngineError.hostsFailed(phase: name, step: .plan, failures: [HostFailure(
                    host: host.name, phase: name, action: nil,
                    error: EtcdError.commandFailed(host: host.name, what: "finding the interface of \(spec.internalAddress)",
                                                   output: "no interface holds that address; set apiEndpoint.haproxyKeepalived.interface"))])
            }
            let keepalived = NodeFiles.keepalivedConfig(
                host: spec.name, address: spec.internalAddress,
                peers: controlPlanes.filter { $0.name != spec.name }.map(\.internalAddress),
                interface: interface, vip: vip, routerID: routerID, priority: 150 - index, port: endpoint.port, password: vrrpPassword)
            var changed: [String] = []
            for (path, content, unit) in [(KubernetesLayout.haproxyConfig, haproxy, "cairn-apiserver-lb"),
                                          (KubernetesLayout.haproxyUnit, NodeFiles.haproxyUnit, "cairn-apiserver-lb"),
                                          (KubernetesLayout.keepalivedConfig, keepalived, "cairn-vip"),
                                          (KubernetesLayout.keepalivedUnit, NodeFiles.keepalivedUnit, "cairn-vip")]
                where node.files[path] != SHA256Digest.hex(of: content) {
                actions.append(.writeFile(host: host.name, path: path, content: content,
                                          current: (node.files[path] ?? "").isEmpty ? nil : "", predicted: predicted,
                                          changeSummary: "differs from Cairn's"))
                if !changed.contains(unit) { changed.append(unit) }
            }
            for unit in ["cairn-apiserver-lb", "cairn-vip"] {
                if node.services[unit] != "active" {
                    actions.append(.command(host: host.name, summary: "enable and start \(unit)",
                                            ServiceCommand.enableAndRestart(unit), predicted: predicted))
                } else if changed.contains(unit) {
                    actions.append(.command(host: host.name, summary: "restart \(unit) (configuration changed)",
                                            ServiceCommand.restart(unit),
                                            predicted: predicted))
                }
            }
        }
        return PhasePlan(actions: actions, notes: ["\(vip.address):\(endpoint.port) → haproxy on \(controlPlanes.count) control-plane host\(controlPlanes.count == 1 ? "" : "s") → kube-apiserver :6443"])
    }

    public func gate(context: PhaseContext) -> Gate? {
        guard case .haproxyKeepalived = endpoint.mode, let first = context.hosts.first else { return nil }
        let address = endpoint.address, port = endpoint.port
        return Gate(name: "API endpoint \(address):\(port) accepts connections", timeout: .seconds(60)) { context in
            let executor = try await context.run.executors.executor(for: first)
            let probe = try await executor.run(RemoteCommand.script(.cairnProbePort, arguments: [address, String(port)]), stdin: nil, timeout: .seconds(10))
            return probe.succeeded ? .passed("\(address):\(port) answers (held by keepalived, served by haproxy)")
                : .notYet("\(address):\(port) does not accept connections yet")
        }
    }
}
