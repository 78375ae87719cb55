import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// What `cairn remove` takes out of the cluster (docs/remove.md).
public struct RemovalRequest: Sendable, Equatable {
    /// Host names: in the inventory or already out of it (then only what the cluster knows of
    /// them — etcd member, Node, OSDs — is removed).
    public var targets: [String]
    /// The hosts cannot be reached: no drain (their pods are gone with them) and no host-side
    /// clean-up.
    public var unreachable: Bool
    public var drainTimeoutSeconds: Int

    public init(targets: [String], unreachable: Bool, drainTimeoutSeconds: Int) {
        self.targets = targets
        self.unreachable = unreachable
        self.drainTimeoutSeconds = drainTimeoutSeconds
    }

    /// The inventory without the targets: what the cluster is made to match afterwards.
    public func remaining(_ inventory: Inventory) -> Inventory {
        var remaining = inventory
        remaining.hosts.removeAll { targets.contains($0.name) }
        return remaining
    }
}

/// A removal that live health says is unsafe: refused before anything changed.
public struct RemovalRefused: Error, CairnReportableError, Equatable {
    public let reasons: [String]
    public let next: String

    public var summary: String { "cairn remove refused; nothing was changed: " + reasons.joined(separator: "; ") }
    public var nextStep: String? { next }
    public var exitCode: CairnExitCode { .failure }
}

/// Ceph's view of the hosts holding OSDs, read through Rook's toolbox.
public struct CephOSDTree: Decodable, Sendable, Equatable {
    public struct Node: Decodable, Sendable, Equatable {
        public var id: Int
        public var name: String
        public var type: String
        public var children: [Int]?
    }
    public var nodes: [Node]

    /// OSD ids by host name.
    public var osdsByHost: [String: [Int]] {
        var result: [String: [Int]] = [:]
        for node in nodes where node.type == "host" { result[node.name] = (node.children ?? []).sorted() }
        return result
    }
}

/// `remove-check`: reads etcd's members and health, the Nodes and Ceph's OSD map, and refuses
/// (before any change) a removal that would lose etcd quorum, the last control-plane host, or
/// the storage hosts a pool's replicas need. Read-only.
public struct RemovalCheckPhase: Phase {
    public let name = "remove-check"
    public let title = "Removal checks (etcd quorum, control plane, Ceph replicas; read-only)"
    let topology: Topology
    let removal: RemovalRequest

    public init(topology: Topology, removal: RemovalRequest) {
        self.topology = topology
        self.removal = removal
    }

    public struct Facts: Sendable, Codable, Equatable {
        public var etcd: EtcdHostFacts?
        /// Node names, read on the anchor (nil elsewhere or when the API did not answer).
        public var nodes: [String]?
        /// OSD ids by host, and the pool's replica size, read on the anchor when storage is on.
        public var osds: [String: [Int]]?
        public var poolSize: Int?
    }

    /// The control-plane host the cluster is read from: the first of the remaining inventory.
    var anchor: String? { removal.remaining(topology.inventory).controlPlaneHosts.first?.name }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> Facts {
        var facts = Facts()
        if host.roles.contains(Role.etcd.rawValue) {
            facts.etcd = try await EtcdHostFacts.gather(
                executor: executor, dataDirectory: topology.inventory.etcd.dataDir)
        }
        if host.name == anchor {
            let kubectl = Kubectl(executor: executor)
            facts.nodes = try? await kubectl.list(K8s.Node.self, ["nodes"]).map(\.name)
            if !topology.storageHosts.isEmpty {
                facts.osds = try? await kubectl.json(
                    CephOSDTree.self, running: RookCeph.toolbox + ["ceph", "osd", "tree", "-f", "json"]
                ).get().osdsByHost
                facts.poolSize = try? await kubectl.json(
                    CephPoolSize.self,
                    running: RookCeph.toolbox + ["ceph", "osd", "pool", "get", "replicapool", "size", "-f", "json"]
                ).get().size
            }
        }
        return facts
    }

    public func plan(facts: [EngineHost: Facts], context: PhaseContext) throws -> PhasePlan {
        PhasePlan(notes: try judge(Dictionary(uniqueKeysWithValues: facts.map { ($0.key.name, $0.value) })))
    }

    /// The refusal (thrown) or the notes, from the facts by host name alone.
    public func judge(_ byName: [String: Facts]) throws -> [String] {
        let remaining = removal.remaining(topology.inventory)
        var reasons: [String] = []
        var next = "check `cairn status`, then rerun"
        var notes: [String] = []

        // The control plane keeps a host.
        if remaining.controlPlaneHosts.isEmpty {
            reasons.append("no control-plane host would remain")
            next = "add a control-plane host to the inventory and `cairn apply` it first"
        }

        // etcd: each member leaves in turn, judged from live health.
        let etcdFacts = byName.values.compactMap(\.etcd)
        let members = etcdFacts.compactMap(\.members).first?.members ?? []
        let health = etcdFacts.compactMap(\.health).max { $0.count < $1.count } ?? []
        func healthy(_ member: EtcdMemberList.Member) -> Bool {
            health.contains { $0.endpoint == member.clientURL && $0.health }
        }
        var voters = members.filter { !$0.learner }
        for target in removal.targets {
            let address = topology.host(named: target).map { EtcdLayout.peerURL($0.internalAddress) }
            guard
                let member = voters.first(where: {
                    $0.name == target || ($0.peerURLs ?? []).contains(address ?? "-")
                })
            else { continue }
            let sick = voters.filter { !healthy($0) && $0.id != member.id }.map { $0.name ?? $0.hexID }
            if let refusal = EtcdQuorum.removalRefusal(
                target: target, targetHealthy: healthy(member), healthy: voters.filter(healthy).count,
                voters: voters.count)
            {
                reasons.append(refusal)
                next =
                    sick.isEmpty
                    ? "add an etcd host to the inventory and `cairn apply` it first (etcd needs 3 members to tolerate a failure), then remove \(target)"
                    : "bring \(sick.joined(separator: ", ")) back to health first (or remove \(sick.count == 1 ? "it" : "them") first if gone for good: `cairn remove -i INVENTORY \(sick[0]) --unreachable`)"
            }
            voters.removeAll { $0.id == member.id }
            notes.append("etcd member \(target) leaves (\(healthy(member) ? "healthy" : "not answering"))")
        }
        if members.isEmpty && topology.inventory.etcdHosts.contains(where: { !removal.targets.contains($0.name) }) {
            reasons.append("no etcd member answered, so the removal cannot be judged")
        }

        // Ceph: the remaining storage hosts must hold every replica.
        if let anchor, let osds = byName[anchor]?.osds {
            let leaving = removal.targets.filter { !(osds[$0] ?? []).isEmpty }
            let staying = osds.filter { !$0.value.isEmpty && !removal.targets.contains($0.key) }.count
            if !leaving.isEmpty, let size = byName[anchor]?.poolSize, staying < size {
                reasons.append(
                    "removing \(leaving.joined(separator: ", ")) would leave \(staying) storage host\(staying == 1 ? "" : "s") for a pool of \(size) replicas"
                )
                next = "add a storage host (hosts[].storage.devices) and `cairn apply` it first"
            }
            for host in leaving {
                notes.append("\(host)'s OSDs \(osds[host]!.map(String.init).joined(separator: ", ")) leave Ceph")
            }
        } else if !topology.storageHosts.isEmpty
            && removal.targets.contains(where: { name in topology.storageHosts.contains { $0.name == name } })
        {
            reasons.append("Ceph's OSD map could not be read, so the storage removal cannot be judged")
        }

        for target in removal.targets {
            if topology.host(named: target) == nil && !removal.unreachable {
                notes.append(
                    "\(target) is not in the inventory: Cairn does not connect to it, so its own clean-up (kubeadm reset, Cairn's files) is left to you"
                )
            } else if removal.unreachable {
                notes.append("\(target) cannot be reached (--unreachable): no drain, no clean-up on the host")
            }
        }
        // A name the cluster does not know (any more) changes nothing: a rerun after a removal
        // finishes the rest, and a misspelt name is said, not acted on.
        let nodes = anchor.flatMap { byName[$0]?.nodes } ?? []
        for target in removal.targets
        where topology.host(named: target) == nil && !nodes.contains(target)
            && !members.contains(where: { $0.name == target })
        {
            notes.append(
                "\(target) is neither in the inventory nor a Node or etcd member: nothing of it to remove (already removed?)"
            )
        }
        if !reasons.isEmpty { throw RemovalRefused(reasons: reasons, next: next) }
        return notes
    }
}

/// `remove-node`: on the remaining first control-plane host, each target that is a Node is
/// cordoned and drained through the Eviction API (PodDisruptionBudgets respected; skipped with
/// `--unreachable`), its OSDs are marked out, Ceph is awaited until every placement group is
/// active+clean on the other OSDs, the OSDs are purged, and the Node is deleted.
public struct RemovalNodePhase: Phase {
    public let name = "remove-node"
    public let title = "Drain, move the data off, delete the Node"
    let topology: Topology
    let removal: RemovalRequest

    public init(topology: Topology, removal: RemovalRequest) {
        self.topology = topology
        self.removal = removal
    }

    public typealias Facts = RemovalCheckPhase.Facts

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> Facts {
        let kubectl = Kubectl(executor: executor)
        var facts = Facts()
        facts.nodes = try await kubectl.list(K8s.Node.self, ["nodes"]).map(\.name)
        if !topology.storageHosts.isEmpty {
            facts.osds = try? await kubectl.json(
                CephOSDTree.self, running: RookCeph.toolbox + ["ceph", "osd", "tree", "-f", "json"]
            ).get().osdsByHost
        }
        return facts
    }

    public func plan(facts: [EngineHost: Facts], context: PhaseContext) throws -> PhasePlan {
        guard let (anchor, fact) = facts.first else { return PhasePlan() }
        let nodes = fact.nodes ?? []
        let timeout = removal.drainTimeoutSeconds
        let predicted = context.isPredicted(anchor.name)
        var actions: [Action] = []
        for target in removal.targets {
            // Data first: the OSDs go out and Ceph copies their data elsewhere while they still
            // run, so no placement group is ever short of a copy; then the drain stops them.
            if let osds = fact.osds?[target], !osds.isEmpty {
                let ids = osds.map(String.init)
                actions.append(
                    Action(
                        host: anchor.name,
                        summary:
                            "mark \(target)'s OSDs \(ids.joined(separator: ", ")) out and wait until Ceph has moved their data (HEALTH_OK, every PG active+clean)",
                        predicted: predicted
                    ) { env in
                        let kubectl = Kubectl(executor: try env.host())
                        try await RemovalNodePhase.ceph(kubectl, ["osd", "out"] + ids)
                        try await RemovalNodePhase.waitForCleanData(
                            kubectl, osds: ids, clock: env.context.clock, leaving: target)
                    })
            }
            if nodes.contains(target) && !removal.unreachable {
                actions.append(
                    Action(
                        host: anchor.name,
                        summary:
                            "cordon and drain \(target) (Eviction API, PodDisruptionBudgets respected, \(timeout) s)",
                        predicted: predicted
                    ) { env in
                        let executor = try env.host()
                        let output = try await executor.run(
                            Kubectl.command([
                                "drain", target, "--ignore-daemonsets", "--delete-emptydir-data",
                                "--timeout=\(timeout)s",
                            ]), stdin: nil, timeout: .seconds(timeout + 60))
                        guard output.succeeded else {
                            _ = try? await Kubectl(executor: executor).run(["uncordon", target])
                            throw DrainBlocked(
                                node: target, reasons: DrainBlocked.reasons(in: output),
                                rerun: "cairn remove")
                        }
                    })
            }
            if let osds = fact.osds?[target], !osds.isEmpty {
                for id in osds.map(String.init) {
                    actions.append(
                        Action(
                            host: anchor.name,
                            summary:
                                "stop OSD \(id) of \(target) (its Rook deployment scaled to 0, marked down), purge it, delete its deployment",
                            predicted: predicted
                        ) { env in
                            try await RemovalNodePhase.purge(
                                osd: id, kubectl: Kubectl(executor: try env.host()), clock: env.context.clock)
                        })
                }
            }
            if nodes.contains(target) {
                actions.append(
                    .command(
                        host: anchor.name, summary: "delete Node \(target)",
                        Kubectl.command(["delete", "node", target, "--ignore-not-found"]), timeout: .seconds(60),
                        predicted: predicted))
            }
        }
        return PhasePlan(actions: actions, execution: .serial)
    }

    static func ceph(_ kubectl: Kubectl, _ arguments: [String]) async throws {
        let output = try await kubectl.run(RookCeph.toolbox + ["ceph"] + arguments)
        guard output.succeeded else {
            throw KubectlError.failed(
                host: kubectl.executor.hostName, command: "ceph " + arguments.joined(separator: " "),
                message: output.stderrTail(lines: 2).joined(separator: " / "))
        }
    }

    /// Rook's way to take an OSD away: its deployment scaled to 0 and the OSD marked down (Ceph
    /// purges only a down OSD), `ceph osd purge` (asked again while Ceph has not seen it down yet,
    /// two minutes at most), then the deployment deleted (Rook makes no new OSD for a purged one).
    static func purge(osd id: String, kubectl: Kubectl, clock: any EngineClock) async throws {
        let deployment = "deployment/rook-ceph-osd-\(id)"
        _ = try await kubectl.run(["-n", "rook-ceph", "scale", deployment, "--replicas=0"])
        let deadline = clock.now.advanced(by: .seconds(120))
        var last = ""
        while true {
            _ = try await kubectl.run(RookCeph.toolbox + ["ceph", "osd", "down", id])
            let purged = try await kubectl.run(
                RookCeph.toolbox + ["ceph", "osd", "purge", id, "--yes-i-really-mean-it"])
            if purged.succeeded { break }
            last = purged.stderrTail(lines: 2).joined(separator: " / ")
            guard clock.now < deadline else {
                throw KubectlError.failed(
                    host: kubectl.executor.hostName, command: "ceph osd purge \(id)", message: last)
            }
            try await clock.sleep(for: .seconds(5))
        }
        _ = try await kubectl.run(["-n", "rook-ceph", "delete", deployment, "--ignore-not-found"])
    }

    /// Polls until Ceph says the OSDs hold no placement group any more (`ceph osd safe-to-destroy`,
    /// the authoritative answer: `ceph status` may still show the map from before `out` for a
    /// moment) and reports HEALTH_OK with every placement group active+clean (30 minutes at most).
    static func waitForCleanData(_ kubectl: Kubectl, osds: [String], clock: any EngineClock, leaving host: String)
        async throws
    {
        let deadline = clock.now.advanced(by: .seconds(1800))
        var last = "not read yet"
        while clock.now < deadline {
            let safe = try await kubectl.run(RookCeph.toolbox + ["ceph", "osd", "safe-to-destroy"] + osds)
            if !safe.succeeded {
                last = (safe.stderrTail(lines: 2) + safe.stdoutText.split(separator: "\n").map(String.init).suffix(1))
                    .joined(separator: " / ")
            } else if case .success(let status) = try await kubectl.json(
                CephStatus.self, running: RookCeph.toolbox + ["ceph", "status", "-f", "json"])
            {
                if status.health.status == "HEALTH_OK" && status.uncleanPGs.isEmpty { return }
                last =
                    status.health.status
                    + (status.uncleanPGs.isEmpty ? "" : ", PGs " + status.uncleanPGs.joined(separator: ", "))
            }
            try await clock.sleep(for: .seconds(5))
        }
        throw EtcdError.timedOut(what: "Ceph moving \(host)'s data to the other OSDs", last: last)
    }
}

extension RemovalRequest {
    /// The phases of `cairn remove`: the checks, the Node's removal, each etcd member's, the host
    /// reset (reachable hosts still in the inventory), then the playbook for the remaining
    /// inventory, so the API balancers, kube-apiserver's etcd endpoints and the add-ons match it
    /// (`cairn plan` afterwards shows nothing).
    public func phases(inventory: Inventory, playbook: [ScheduledPhase], hosts: [EngineHost]) -> [ScheduledPhase] {
        let topology = Topology(inventory)
        let remaining = self.remaining(inventory)
        let remainingNames = Set(remaining.hosts.map(\.name))
        let remainingHosts = hosts.filter { remainingNames.contains($0.name) }
        let reachable = hosts.filter { !(unreachable && targets.contains($0.name)) }.map(\.name)
        let etcd = inventory.etcdHosts.map(\.name).filter(reachable.contains)
        let anchor = remaining.controlPlaneHosts.first.map { [$0.name] } ?? []
        var phases = [
            ScheduledPhase(
                phase: RemovalCheckPhase(topology: topology, removal: self),
                selector: .named(etcd + anchor.filter { !etcd.contains($0) })),
            ScheduledPhase(phase: RemovalNodePhase(topology: topology, removal: self), selector: .named(anchor)),
        ]
        // A host of the inventory without the etcd role is no member; one out of it may be.
        for target in targets where inventory.host(named: target).map({ $0.has(.etcd) }) ?? true {
            phases.append(
                ScheduledPhase(
                    phase: EtcdRemovePhase(
                        topology: topology, target: target, force: false, name: "etcd-remove-\(target)"),
                    selector: .named(etcd.filter { !($0 == target && unreachable) })))
        }
        let resettable = targets.filter { inventory.host(named: $0) != nil && !unreachable }
        if !resettable.isEmpty {
            let storage = resettable.contains { name in topology.storageHosts.contains { $0.name == name } }
            phases.append(
                ScheduledPhase(
                    phase: ResetPhase(inventory: inventory, wipeCephDevices: storage), selector: .named(resettable)))
        }
        for scheduled in playbook {
            let selector: HostSelector =
                scheduled.selector == .operatorOnly
                ? .operatorOnly : .named(scheduled.selector.select(from: remainingHosts).map(\.name))
            phases.append(ScheduledPhase(phase: scheduled.phase, selector: selector))
        }
        return phases
    }
}
