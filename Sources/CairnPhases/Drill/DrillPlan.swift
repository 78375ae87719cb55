import CairnInventory
import Foundation

/// The failures `cairn drill` exercises (docs/drill.md).
public enum DrillScenario: String, Sendable, CaseIterable, Codable {
    case nodeLoss = "node-loss"
    case controlPlaneLoss = "control-plane-loss"
    case storageLoss = "storage-loss"
    case partition
    case zoneLoss = "zone-loss"
}

/// A disruption or its undoing, as `cairn drill --plan` lists it and the runner performs it.
public enum DrillAction: Sendable, Hashable, Codable {
    case cordonAndDrain(node: String)
    case stopKubelet(host: String)
    /// Static pods parked (the kubelet stops them), then kubelet, etcd and the API balancer.
    case stopControlPlane(host: String)
    /// Rook's OSD Deployments of the host scaled to 0: the way Rook documents stopping an OSD.
    case stopOSDs(host: String, ids: [Int])
    /// Blackhole routes on every side: `hosts` send nothing to `from`, and `from` nothing to them.
    case isolate(hosts: [String], from: [String])
    /// Every disruption on `host` undone (the host script's undo list, then the API-side notes).
    case restore(host: String)
    case startOSDs(host: String, ids: [Int])
    case uncordon(node: String)

    public var summary: String {
        switch self {
        case .cordonAndDrain(let node): return "cordon and drain \(node) (Eviction API)"
        case .stopKubelet(let host): return "stop the kubelet on \(host)"
        case .stopControlPlane(let host):
            return
                "stop the control plane on \(host): kube-apiserver, controller-manager, scheduler, kubelet, etcd, API balancer"
        case .stopOSDs(let host, let ids):
            return
                "stop \(host)'s OSDs (\(ids.map { "osd.\($0)" }.joined(separator: ", "))): Rook's Deployments scaled to 0"
        case .isolate(let hosts, let from):
            return
                "cut \(hosts.joined(separator: ", ")) off from \(from.joined(separator: ", ")) (blackhole routes on both sides; the operator still reaches every host)"
        case .restore(let host): return "undo the drill's changes on \(host)"
        case .startOSDs(let host, let ids):
            return "start \(host)'s OSDs again (\(ids.map { "osd.\($0)" }.joined(separator: ", ")))"
        case .uncordon(let node): return "uncordon \(node)"
        }
    }
}

/// What a scenario verifies while its disruption is in place (or after it healed).
public enum DrillCheck: String, Sendable, Equatable, Codable {
    case nodeNotReady = "node-not-ready"
    case apiThroughEndpoint = "api-through-endpoint"
    case etcdQuorum = "etcd-quorum"
    case apiWrite = "api-write"
    case workloadsKeepMinimum = "workloads-keep-minimum"
    case servicesKeepEndpoints = "services-keep-endpoints"
    case podsRescheduled = "pods-rescheduled"
    case cephDegradedButActive = "ceph-degraded-but-active"
    case volumeReadsBack = "volume-reads-back"
    case volumeAcceptsWrites = "volume-accepts-writes"
    case isolatedMemberRefusesWrites = "isolated-member-refuses-writes"
    case majorityWrites = "majority-writes"
    case membersConverge = "members-converge"

    public var summary: String {
        switch self {
        case .nodeNotReady: return "the node controller marks the lost node NotReady"
        case .apiThroughEndpoint: return "the API answers through the endpoint (time without an answer measured)"
        case .etcdQuorum: return "etcd keeps quorum and a leader"
        case .apiWrite: return "a write through the API succeeds"
        case .workloadsKeepMinimum:
            return "every Deployment and DaemonSet Cairn manages keeps its minimum available"
        case .servicesKeepEndpoints: return "the add-ons' Services keep a ready endpoint"
        case .podsRescheduled: return "the drained pods run again elsewhere within the deadline"
        case .cephDegradedButActive: return "Ceph reports the loss and every placement group stays active"
        case .volumeReadsBack: return "the test volume reads back the checksum written before"
        case .volumeAcceptsWrites: return "the test volume accepts writes"
        case .isolatedMemberRefusesWrites: return "the isolated etcd member refuses writes"
        case .majorityWrites: return "the majority's etcd members accept writes"
        case .membersConverge:
            return "after healing, every etcd member has the same revision and the same hash at it"
        }
    }
}

/// One scenario, planned: what it disrupts, checks and restores, or why it is refused.
public struct DrillScenarioPlan: Sendable, Equatable, Codable {
    public var scenario: DrillScenario
    /// The hosts the scenario takes away.
    public var targets: [String]
    /// The zone, for zone-loss.
    public var zone: String?
    /// A surviving control-plane host that runs kubectl, and a surviving etcd host for etcdctl.
    public var kubectlHost: String?
    public var etcdHost: String?
    /// A surviving node for the test volume's pod (storage scenarios).
    public var volumeNode: String?
    public var disrupt: [DrillAction]
    public var checks: [DrillCheck]
    /// Checks after the restore (before waiting for full health).
    public var checksAfterHealing: [DrillCheck]
    public var restore: [DrillAction]
    /// Set when the scenario must not run; nothing is disrupted then.
    public var refusal: String?
}

public struct DrillPlan: Sendable, Equatable, Codable {
    public var scenarios: [DrillScenarioPlan]
    public var refusals: [String] {
        scenarios.compactMap { plan in plan.refusal.map { "\(plan.scenario.rawValue): \($0)" } }
    }
}

/// The live state the planner judges from (gathered by `DrillFacts.gather`).
public struct DrillFacts: Sendable, Equatable {
    /// etcd members answering healthy, by host name.
    public var healthyEtcdMembers: Set<String>
    /// Nodes the API reports Ready.
    public var readyNodes: Set<String>
    /// Ceph's OSD ids per host (empty without storage), and the pool's size and min_size.
    public var osdsByHost: [String: [Int]]
    public var poolSize: Int?
    public var poolMinSize: Int?
    /// Where the virtual IP is now (haproxyKeepalived), so control-plane-loss takes it away.
    public var virtualIPHolder: String?

    public init(
        healthyEtcdMembers: Set<String>, readyNodes: Set<String>, osdsByHost: [String: [Int]] = [:],
        poolSize: Int? = nil, poolMinSize: Int? = nil, virtualIPHolder: String? = nil
    ) {
        self.healthyEtcdMembers = healthyEtcdMembers
        self.readyNodes = readyNodes
        self.osdsByHost = osdsByHost
        self.poolSize = poolSize
        self.poolMinSize = poolMinSize
        self.virtualIPHolder = virtualIPHolder
    }
}

/// What the operator asked for.
public struct DrillRequest: Sendable, Equatable {
    /// Empty: every scenario the inventory allows (zone-loss only with zones).
    public var scenarios: [DrillScenario]
    /// A host to take away instead of the planner's choice (node-loss, control-plane-loss,
    /// storage-loss, partition).
    public var target: String?
    public var zone: String?

    public init(scenarios: [DrillScenario] = [], target: String? = nil, zone: String? = nil) {
        self.scenarios = scenarios
        self.target = target
        self.zone = zone
    }
}

/// A pure function from the inventory, the request and live facts to the scenarios' steps.
/// Refusals are judged here, before anything is disrupted: a scenario that would take etcd's
/// quorum, the last API server, or more storage copies than a pool can lose is refused.
public enum DrillPlanner {
    public static func plan(topology: Topology, request: DrillRequest, facts: DrillFacts) -> DrillPlan {
        let inventory = topology.inventory
        let zones = Set(inventory.hosts.compactMap(\.zone))
        let wanted =
            request.scenarios.isEmpty
            ? DrillScenario.allCases.filter { $0 != .zoneLoss || zones.count > 1 } : request.scenarios
        return DrillPlan(
            scenarios: wanted.map { scenario in
                var plan = planOne(scenario, topology: topology, request: request, facts: facts)
                if plan.refusal == nil, let reason = safety(of: plan, topology: topology, facts: facts) {
                    plan.refusal = reason
                }
                return plan
            })
    }

    static func planOne(
        _ scenario: DrillScenario, topology: Topology, request: DrillRequest, facts: DrillFacts
    ) -> DrillScenarioPlan {
        let inventory = topology.inventory
        var plan = DrillScenarioPlan(
            scenario: scenario, targets: [], kubectlHost: nil, etcdHost: nil, disrupt: [], checks: [],
            checksAfterHealing: [], restore: [])
        let storage = Set(topology.storageHosts.map(\.name))
        func pick(_ candidates: [Host], _ what: String, preferring preferred: Host? = nil) -> Host? {
            if let name = request.target {
                guard let host = candidates.first(where: { $0.name == name }) else {
                    plan.refusal = "\(name) is not \(what) in the inventory"
                    return nil
                }
                return host
            }
            guard let host = preferred ?? candidates.last else {
                plan.refusal = "the inventory has no \(what)"
                return nil
            }
            return host
        }
        switch scenario {
        case .nodeLoss:
            // A worker without storage if there is one: its loss tests scheduling, not Ceph.
            let workers = topology.workersOnly
            let plain = workers.filter { !storage.contains($0.name) }
            guard let host = pick(request.target == nil && !plain.isEmpty ? plain : workers, "a worker") else {
                return plan
            }
            plan.targets = [host.name]
            plan.disrupt = [.cordonAndDrain(node: host.name), .stopKubelet(host: host.name)]
            plan.checks = [.nodeNotReady, .workloadsKeepMinimum, .servicesKeepEndpoints, .podsRescheduled]
            plan.restore = [.restore(host: host.name), .uncordon(node: host.name)]
        case .controlPlaneLoss:
            let controlPlanes = topology.controlPlanes
            // The virtual IP's holder by default: its loss also exercises the IP's failover.
            let holder = controlPlanes.first { $0.name == facts.virtualIPHolder }
            guard let host = pick(controlPlanes, "a control-plane host", preferring: holder) else { return plan }
            plan.targets = [host.name]
            plan.disrupt = [.stopControlPlane(host: host.name)]
            plan.checks = [.apiThroughEndpoint, .etcdQuorum, .apiWrite]
            plan.restore = [.restore(host: host.name)]
        case .storageLoss:
            let candidates = topology.storageHosts.filter { !(facts.osdsByHost[$0.name] ?? []).isEmpty }
            guard storageEnabled(topology) else {
                plan.refusal = "storage is not enabled in the inventory (addons.rookCeph)"
                return plan
            }
            guard let host = pick(candidates, "a storage host with OSDs") else { return plan }
            let ids = facts.osdsByHost[host.name] ?? []
            plan.targets = [host.name]
            plan.disrupt = [.stopOSDs(host: host.name, ids: ids)]
            plan.checks = [.cephDegradedButActive, .volumeReadsBack, .volumeAcceptsWrites]
            plan.restore = [.startOSDs(host: host.name, ids: ids)]
        case .partition:
            let members = inventory.hosts.filter { $0.has(.etcd) }
            guard let host = pick(members, "an etcd host", preferring: members.last { $0.has(.controlPlane) }) else {
                return plan
            }
            plan.targets = [host.name]
            let others = inventory.hosts.filter { $0.name != host.name }.map(\.name)
            plan.disrupt = [.isolate(hosts: [host.name], from: others)]
            plan.checks = [.majorityWrites, .isolatedMemberRefusesWrites, .apiThroughEndpoint, .apiWrite]
            plan.checksAfterHealing = [.membersConverge]
            plan.restore = ([host.name] + others).map { .restore(host: $0) }
        case .zoneLoss:
            let zones = Set(inventory.hosts.compactMap(\.zone))
            guard zones.count > 1 else {
                plan.refusal = "the inventory has no zones (hosts[].zone) or only one"
                return plan
            }
            let zone =
                request.zone ?? topology.controlPlanes.compactMap(\.zone).first ?? zones.sorted().first!
            guard zones.contains(zone) else {
                plan.refusal = "no host is in zone \(zone); zones: \(zones.sorted().joined(separator: ", "))"
                return plan
            }
            plan.zone = zone
            let lost = inventory.hosts.filter { $0.zone == zone }.map(\.name)
            let others = inventory.hosts.filter { $0.zone != zone }.map(\.name)
            plan.targets = lost
            plan.disrupt = [.isolate(hosts: lost, from: others)]
            plan.checks = [.etcdQuorum, .apiThroughEndpoint, .apiWrite]
            if lost.contains(where: { topology.nodes.map(\.name).contains($0) }) {
                plan.checks += [.nodeNotReady, .workloadsKeepMinimum, .servicesKeepEndpoints]
            }
            if lost.contains(where: storage.contains) && storageEnabled(topology) {
                plan.checks += [.cephDegradedButActive, .volumeReadsBack, .volumeAcceptsWrites]
            }
            plan.checksAfterHealing =
                lost.contains(where: { name in members(topology).contains(name) })
                ? [.membersConverge] : []
            plan.restore = (lost + others).map { .restore(host: $0) }
        }
        let targets = Set(plan.targets)
        plan.kubectlHost = topology.controlPlanes.first { !targets.contains($0.name) }?.name
        plan.etcdHost = members(topology).first { !targets.contains($0) }
        if scenario == .storageLoss || plan.checks.contains(.volumeReadsBack) {
            let nodes = topology.nodes.filter { !targets.contains($0.name) && !$0.has(.controlPlane) }
            plan.volumeNode = (nodes.first ?? topology.nodes.first { !targets.contains($0.name) })?.name
        }
        return plan
    }

    static func storageEnabled(_ topology: Topology) -> Bool {
        !topology.storageHosts.isEmpty && Addons.instances(topology).contains { $0 is RookCeph && $0.isEnabled }
    }

    static func members(_ topology: Topology) -> [String] {
        topology.inventory.hosts.filter { $0.has(.etcd) }.map(\.name)
    }

    /// Why a planned scenario is unsafe on this cluster right now, judged from live health.
    static func safety(of plan: DrillScenarioPlan, topology: Topology, facts: DrillFacts) -> String? {
        let targets = Set(plan.targets)
        let members = members(topology)
        let lostMembers = members.filter { targets.contains($0) }
        if !lostMembers.isEmpty {
            let survivors = members.filter { !targets.contains($0) && facts.healthyEtcdMembers.contains($0) }
            let quorum = members.count / 2 + 1
            if survivors.count < quorum {
                return
                    "taking \(lostMembers.joined(separator: ", ")) away leaves \(survivors.count) healthy etcd member\(survivors.count == 1 ? "" : "s") of \(members.count); quorum needs \(quorum)"
                    + (plan.zone.map {
                        " (zone \($0) holds \(lostMembers.count) members: spread etcd over at least 3 zones, at most \(members.count - quorum) in any one)"
                    } ?? "")
            }
        }
        if plan.kubectlHost == nil {
            return "no control-plane host would remain to serve the API"
        }
        let lostControlPlanes = topology.controlPlanes.filter { targets.contains($0.name) }
        if !lostControlPlanes.isEmpty
            && !topology.controlPlanes.contains(where: {
                !targets.contains($0.name) && facts.readyNodes.contains($0.name)
            })
        {
            return "no Ready control-plane node would remain"
        }
        if let size = facts.poolSize,
            plan.disrupt.contains(where: { action in
                if case .stopOSDs = action { return true }
                if case .isolate = action { return true }
                return false
            })
        {
            let minSize = facts.poolMinSize ?? (size / 2 + 1)
            let holding = facts.osdsByHost.filter { !$0.value.isEmpty }
            let remaining = holding.keys.filter { !targets.contains($0) }.count
            let lost = holding.count - remaining
            if lost > 0 && remaining < minSize {
                return
                    "taking \(lost) storage host\(lost == 1 ? "" : "s") away leaves \(remaining) for a pool of \(size) copies (min_size \(minSize)): its placement groups would stop serving"
            }
        }
        return nil
    }
}
