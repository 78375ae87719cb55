import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// What `kubeadm` does on one node of an upgrade.
public enum KubeadmUpgrade: String, Sendable, Equatable {
    /// `kubeadm upgrade apply vX`: the cluster's configuration and the first control plane.
    case apply
    /// `kubeadm upgrade node`: another control plane's static pods, or a worker's kubelet configuration.
    case node
    /// kubeadm's part is done (an earlier run got that far): binaries and kubelet remain.
    case none
}

/// One node's upgrade, decided from facts: drain, kubeadm's part, new binaries, kubelet restart,
/// the node back Ready at the new version, uncordon.
public struct NodeUpgrade: Sendable, Equatable {
    public let host: String
    public let controlPlane: Bool
    /// The kubelet version the node reports now ("1.35.9").
    public let from: String
    public let to: String
    public let kubeadm: KubeadmUpgrade
    /// Binaries not yet at the target (kubeadm, kubelet, kubectl).
    public let binaries: [String]
    /// An earlier run cordoned it for this upgrade and did not finish.
    public let resumed: Bool
    /// Ceph must be HEALTH_OK again before the next node.
    public let storage: Bool
}

/// Why an upgrade is refused at plan time, before anything is touched.
public enum UpgradeRefusal: Error, CairnReportableError, Equatable {
    case downgrade(cluster: String, target: String)
    case skipsMinor(cluster: String, target: String, next: String)
    case nodeNewerThanTarget(node: String, version: String, target: String)
    case kubeletsTooOld(nodes: [String], target: String)
    case clusterVersionUnreadable(host: String)

    public var summary: String {
        switch self {
        case .downgrade(let cluster, let target):
            return "kubernetes.version \(target) is older than the cluster's \(cluster): Cairn does not downgrade"
        case .skipsMinor(let cluster, let target, let next):
            return
                "kubernetes.version \(target) skips a minor: the cluster runs \(cluster), and kubeadm upgrades one minor at a time (next: \(next))"
        case .nodeNewerThanTarget(let node, let version, let target):
            return "\(node) runs kubelet \(version), newer than kubernetes.version \(target)"
        case .kubeletsTooOld(let nodes, let target):
            return
                "kubelets more than 3 minors older than \(target) on \(nodes.joined(separator: ", ")): the control plane would leave them unsupported"
        case .clusterVersionUnreadable(let host):
            return "the cluster's version could not be read from kube-system/kubeadm-config on \(host)"
        }
    }

    public var nextStep: String? {
        switch self {
        case .downgrade(let cluster, _):
            return
                "set kubernetes.version back to \(cluster) (or newer); to go back, restore an etcd backup into a cluster built at the older version"
        case .skipsMinor(_, _, let next):
            return "set kubernetes.version to \(next), apply, then raise it again"
        case .nodeNewerThanTarget:
            return "set kubernetes.version to the cluster's newest version"
        case .kubeletsTooOld:
            return "upgrade in steps of one minor (each `cairn apply` upgrades every node)"
        case .clusterVersionUnreadable:
            return "check the API (`cairn status`); when it answers, rerun"
        }
    }

    public var exitCode: CairnExitCode { .invalidInput }
}

/// Decides, from facts alone, which nodes an upgrade to `target` still has to do and in which
/// order: the first control plane (where `kubeadm upgrade apply` runs), the other control
/// planes one at a time, then the workers in batches of `maxUnavailable`. A rerun after any
/// interruption plans only what is left.
public struct UpgradePlanner: Sendable {
    public static let annotation = "cairn.dev/upgrading-to"

    public let topology: Topology
    public let target: String
    /// ClusterConfiguration.kubernetesVersion in kube-system/kubeadm-config (nil: not read).
    public let clusterVersion: String?
    /// The node list (nil: the cluster does not exist yet, or nothing needed it).
    public let nodes: [K8s.Node]?
    public let facts: [String: NodeFacts]
    /// How many workers at once, and per group (`upgrade:` in the inventory).
    public let limits: UpgradeSettings

    public init(
        topology: Topology, target: String, clusterVersion: String?, nodes: [K8s.Node]?, facts: [String: NodeFacts],
        limits: UpgradeSettings = UpgradeSettings()
    ) {
        self.topology = topology
        self.target = Self.bare(target)
        self.clusterVersion = clusterVersion.map(Self.bare)
        self.nodes = nodes
        self.facts = facts
        self.limits = limits
    }

    static func bare(_ version: String) -> String { version.hasPrefix("v") ? String(version.dropFirst()) : version }
    static func minor(_ version: String) -> Int { SupportedVersions.kubernetesMinor(bare(version)) }

    /// Whether anything of an upgrade is visible: a node or a joined host not at the target.
    /// Cheap (node facts only), so the cluster's configuration is read only when it matters.
    public var anythingToUpgrade: Bool {
        !candidates.isEmpty
    }

    /// Joined nodes (registered and with kubelet.conf) that are not entirely at the target.
    var candidates: [(host: Host, node: K8s.Node, facts: NodeFacts)] {
        guard let nodes else { return [] }
        return topology.nodes.compactMap { host in
            guard let facts = facts[host.name], facts.hasKubeletConf,
                let node = nodes.first(where: { $0.name == host.name })
            else { return nil }
            let versions = facts.versions.mapValues(Self.bare)
            let kubelet = Self.bare(node.kubeletVersion ?? "")
            let controlPlaneDone = !host.has(.controlPlane) || Self.bare(facts.controlPlaneVersion ?? "") == target
            let done =
                kubelet == target && ["kubeadm", "kubelet", "kubectl"].allSatisfy { versions[$0] == target }
                && controlPlaneDone && node.metadata.annotations?[Self.annotation] == nil
            return done ? nil : (host, node, facts)
        }
    }

    /// The upgrade, in batches run one after another (each batch's nodes at once), and notes for
    /// the plan. Throws a refusal when the target cannot be reached from here.
    public func plan() throws -> (batches: [[NodeUpgrade]], notes: [String]) {
        let todo = candidates
        guard !todo.isEmpty else { return ([], []) }
        // Every kubelet at the target means `kubeadm upgrade apply` ran (kubelets follow it):
        // the cluster is there even when its configuration was not read.
        let kubeletsAtTarget = (nodes ?? []).allSatisfy { Self.bare($0.kubeletVersion ?? "") == target }
        guard let cluster = clusterVersion ?? (kubeletsAtTarget ? target : nil), !cluster.isEmpty else {
            throw UpgradeRefusal.clusterVersionUnreadable(host: topology.firstControlPlane?.name ?? "?")
        }
        if SupportedVersions.isOlder(target, than: cluster) {
            throw UpgradeRefusal.downgrade(cluster: cluster, target: target)
        }
        if Self.minor(target) > Self.minor(cluster) + 1 {
            let next =
                SupportedVersions.kubernetes.supported.last { Self.minor($0) == Self.minor(cluster) + 1 }
                ?? "1.\(Self.minor(cluster) + 1)"
            throw UpgradeRefusal.skipsMinor(cluster: cluster, target: target, next: next)
        }
        for entry in todo {
            let kubelet = Self.bare(entry.node.kubeletVersion ?? "")
            if !kubelet.isEmpty && SupportedVersions.isOlder(target, than: kubelet) {
                throw UpgradeRefusal.nodeNewerThanTarget(node: entry.host.name, version: kubelet, target: target)
            }
        }
        let tooOld = todo.filter { Self.minor($0.node.kubeletVersion ?? "0.0") < Self.minor(target) - 3 }
        if !tooOld.isEmpty { throw UpgradeRefusal.kubeletsTooOld(nodes: tooOld.map(\.host.name), target: target) }

        func upgrade(_ entry: (host: Host, node: K8s.Node, facts: NodeFacts), first: Bool) -> NodeUpgrade {
            let versions = entry.facts.versions.mapValues(Self.bare)
            let controlPlane = entry.host.has(.controlPlane)
            let kubelet = Self.bare(entry.node.kubeletVersion ?? "")
            let kubeadm: KubeadmUpgrade
            if first && cluster != target {
                kubeadm = .apply
            } else if controlPlane {
                kubeadm = Self.bare(entry.facts.controlPlaneVersion ?? "") == target ? .none : .node
            } else {
                kubeadm = kubelet == target ? .none : .node
            }
            return NodeUpgrade(
                host: entry.host.name, controlPlane: controlPlane, from: kubelet, to: target, kubeadm: kubeadm,
                binaries: ["kubeadm", "kubelet", "kubectl"].filter { versions[$0] != target },
                resumed: entry.node.metadata.annotations?[Self.annotation] != nil,
                storage: !entry.host.storageDevices.isEmpty)
        }

        var batches: [[NodeUpgrade]] = []
        let first = topology.firstControlPlane?.name
        // kubeadm upgrade apply first, on the first control plane, while the cluster is not at
        // the target; then every other control plane, one at a time.
        let planes = todo.filter { $0.host.has(.controlPlane) }
        if let entry = planes.first(where: { $0.host.name == first }) {
            batches.append([upgrade(entry, first: true)])
        } else if cluster != target, let firstName = first {
            // The first control plane is done but the cluster is not: kubeadm upgrade apply was
            // interrupted after its node part. Run it there again (it is idempotent).
            if let host = topology.host(named: firstName), let facts = facts[firstName],
                let node = nodes?.first(where: { $0.name == firstName })
            {
                batches.append([upgrade((host, node, facts), first: true)])
            }
        }
        for entry in planes where entry.host.name != first {
            batches.append([upgrade(entry, first: false)])
        }
        // Workers after every API server: a kubelet must never be newer than the API servers.
        let workers = todo.filter { !$0.host.has(.controlPlane) }.map { upgrade($0, first: false) }
        // Storage hosts one at a time (Ceph heals between them); others in batches.
        let (storage, plain) = (workers.filter(\.storage), workers.filter { !$0.storage })
        for host in storage { batches.append([host]) }
        batches += workerBatches(plain)
        let count = "\(todo.count) node\(todo.count == 1 ? "" : "s") to do"
        var notes = [
            cluster == target
                ? "upgrade to \(target) (the control plane is there): \(count)"
                : "upgrade from \(cluster) to \(target): \(count)"
        ]
        let resumed = todo.filter { $0.node.metadata.annotations?[Self.annotation] != nil }.map(\.host.name)
        if !resumed.isEmpty {
            notes.append("continuing an interrupted upgrade: \(resumed.joined(separator: ", ")) cordoned by it")
        }
        let notReady = (nodes ?? []).filter { !$0.isReady && !resumed.contains($0.name) }.map(\.name)
        if !notReady.isEmpty {
            notes.append("not Ready now: \(notReady.joined(separator: ", ")) (the preflight waits for them)")
        }
        return (batches, notes)
    }

    /// Workers in inventory order, at most `maxUnavailable` per batch and, with a group label, at
    /// most `maxUnavailablePerGroup` of one group (workers without the label form one group).
    func workerBatches(_ workers: [NodeUpgrade]) -> [[NodeUpgrade]] {
        let perBatch = max(1, limits.maxUnavailable)
        let perGroup = limits.groupLabel == nil ? perBatch : max(1, limits.maxUnavailablePerGroup)
        func group(_ node: NodeUpgrade) -> String {
            limits.groupLabel.flatMap { topology.host(named: node.host)?.labels[$0] } ?? ""
        }
        var left = workers
        var batches: [[NodeUpgrade]] = []
        while !left.isEmpty {
            var batch: [NodeUpgrade] = []
            var counts: [String: Int] = [:]
            left.removeAll { node in
                guard batch.count < perBatch, counts[group(node), default: 0] < perGroup else { return false }
                batch.append(node)
                counts[group(node), default: 0] += 1
                return true
            }
            batches.append(batch)
        }
        return batches
    }
}
