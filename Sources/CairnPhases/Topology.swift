import CairnCore
import CairnEngine
import CairnInventory

/// The inventory resolved once into what every phase reads: who is an etcd member (and its URLs),
/// which hosts are control-plane hosts and which one is first, which are Kubernetes nodes, where
/// workloads and storage go, how clients reach the API. Phases never derive these themselves.
public struct Topology: Sendable {
    public let inventory: Inventory
    /// etcd members in inventory order.
    public let etcdMembers: [EtcdMemberSpec]
    public let controlPlanes: [Host]
    /// The host `kubeadm init` runs on (validation guarantees one).
    public let firstControlPlane: Host?
    /// Hosts that become Kubernetes nodes (control-plane or worker).
    public let nodes: [Host]
    /// Workers that are not control-plane hosts (joined as workers).
    public let workersOnly: [Host]
    /// Nodes that take ordinary workloads: the workers, or the control-plane hosts when there are none.
    public let schedulable: [Host]
    /// Hosts with devices for Ceph.
    public let storageHosts: [Host]
    /// `address:port` the API is reached at (the VIP, the balancer or the only control-plane host).
    public let apiEndpoint: String

    public init(_ inventory: Inventory) {
        self.inventory = inventory
        etcdMembers = inventory.etcdHosts.map(EtcdMemberSpec.init(host:))
        controlPlanes = inventory.controlPlaneHosts
        firstControlPlane = controlPlanes.first
        nodes = inventory.hosts.filter { $0.has(.controlPlane) || $0.has(.worker) }
        workersOnly = inventory.hosts.filter { $0.has(.worker) && !$0.has(.controlPlane) }
        schedulable = inventory.schedulableHosts
        storageHosts = inventory.hosts.filter { !$0.storageDevices.isEmpty }
        let api = inventory.kubernetes.apiEndpoint
        apiEndpoint = "\(EtcdLayout.bracketed(api.address)):\(api.port)"
    }

    public var etcdClientURLs: [String] { etcdMembers.map(\.clientURL) }
    /// Whether workloads must tolerate the control-plane taint (no workers at all).
    public var workloadsRunOnControlPlanes: Bool { !inventory.hosts.contains { $0.has(.worker) } }

    public func host(named name: String) -> Host? { inventory.host(named: name) }
    /// The address cluster traffic uses for `name` ("" for a host not in the inventory).
    public func internalAddress(of name: String) -> String { host(named: name)?.internalAddress ?? "" }

    public func etcdMember(named name: String) -> EtcdMemberSpec? { etcdMembers.first { $0.name == name } }
    /// Engine hosts with the etcd role among `hosts`.
    public func etcdHosts(among hosts: [EngineHost]) -> [EngineHost] {
        hosts.filter { $0.roles.contains(Role.etcd.rawValue) }
    }
}

/// The run's topology, for commands that need it outside phases (status, backup).
public enum TopologyKey: RunValueKey {
    public typealias Value = Topology
}

/// `kubernetes.apiEndpoint.nodeLocal` is read and validated by the inventory, but no phase builds it
/// yet. The phases whose work depends on the endpoint (host checks first, so a whole `apply` or `plan`
/// stops before touching a host) refuse it at plan time instead of building a cluster whose nodes
/// point at a balancer that does not exist.
public struct NodeLocalEndpointNotBuilt: Error, CairnReportableError, Equatable {
    public let phase: String
    public var summary: String { "kubernetes.apiEndpoint.nodeLocal is not built yet by this Cairn version" }
    public var details: [String] {
        ["phase \(phase) refused it before changing anything: no phase installs the per-host balancer yet"]
    }
    public var nextStep: String? {
        "use kubernetes.apiEndpoint.haproxyKeepalived, kubeVip or external for now (`cairn validate` checks the choice)"
    }
    public var exitCode: CairnExitCode { .invalidInput }
}

extension Topology {
    /// Throws `NodeLocalEndpointNotBuilt` when the inventory asks for a `nodeLocal` endpoint.
    public func refuseUnbuiltEndpoint(phase: String) throws {
        if case .nodeLocal = inventory.kubernetes.apiEndpoint.mode { throw NodeLocalEndpointNotBuilt(phase: phase) }
    }
}
