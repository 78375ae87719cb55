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
    /// `address:port` the API is reached at (the VIP, the balancer or the only control-plane host;
    /// with `nodeLocal`, `NodeLocalEndpoint.name:port`, which /etc/hosts resolves on every host).
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
        if case .nodeLocal = api.mode {
            apiEndpoint = "\(NodeLocalEndpoint.name):\(api.port)"
        } else {
            apiEndpoint = "\(EtcdLayout.bracketed(api.address)):\(api.port)"
        }
    }

    /// The `nodeLocal` endpoint's settings, nil in any other mode.
    public var nodeLocal: NodeLocalEndpoint? {
        guard case .nodeLocal = inventory.kubernetes.apiEndpoint.mode else { return nil }
        return NodeLocalEndpoint(endpoint: inventory.kubernetes.apiEndpoint)
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

/// `kubernetes.apiEndpoint.nodeLocal`: no virtual IP; every host reaches the API at its own
/// loopback address. Workers run haproxy on 127.0.0.1:`port` balancing over every API server;
/// control-plane hosts reach their own API server there (with `port` 6443, the API server itself;
/// with another port, an haproxy of their own). kubeadm's `controlPlaneEndpoint` is a name every
/// host's /etc/hosts resolves: to the loopback address on a member of the cluster, and to a ready
/// API server on a control-plane host while it joins — kubeadm join reads the cluster's
/// configuration through that endpoint before its own API server exists.
public struct NodeLocalEndpoint: Sendable, Equatable {
    /// Under `.internal`, which ICANN keeps for private use: it never resolves on the internet.
    public static let name = "kube-apiserver.cairn.internal"
    public let port: Int
    /// 127.0.0.1, or ::1 when the control-plane hosts use IPv6.
    public let loopback: String

    init(endpoint: APIEndpoint) {
        port = endpoint.port
        loopback = endpoint.address
    }

    /// Whether `host` runs the balancer: every node but a control-plane host whose own API server
    /// listens on the endpoint port.
    public func runsProxy(_ host: Host) -> Bool { !host.has(.controlPlane) || port != 6443 }

    /// `https://[loopback]:port`, as a host's own processes reach the API.
    public var loopbackURL: String { "https://\(EtcdLayout.bracketed(loopback)):\(port)" }
}
