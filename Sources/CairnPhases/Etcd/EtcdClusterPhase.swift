import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// Run-wide options of the etcd phases.
public struct EtcdOptions: Sendable {
    /// Skip the quorum guard (loud).
    public var force = false
    public init(force: Bool = false) { self.force = force }
}

public enum EtcdOptionsKey: RunValueKey {
    public typealias Value = EtcdOptions
}

/// Bootstraps the etcd cluster, or grows it one learner at a time, restarts members whose
/// certificates or settings changed one at a time, and verifies quorum after every change.
public struct EtcdClusterPhase: Phase {
    public let name = "etcd-cluster"
    public let title = "etcd cluster (bootstrap, growth, rolling restarts)"
    let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    var members: [EtcdMemberSpec] { topology.etcdMembers }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> EtcdHostFacts
    {
        try await EtcdHostFacts.gather(
            executor: executor, dataDirectory: topology.inventory.etcd.dataDir, cache: context.run.factCache)
    }

    public func plan(facts: [EngineHost: EtcdHostFacts], context: PhaseContext) throws -> PhasePlan {
        let byName = Dictionary(uniqueKeysWithValues: facts.map { ($0.key.name, $0.value) })
        let options = context.run.values[EtcdOptionsKey.self] ?? EtcdOptions()
        let planner = EtcdClusterPlanner(
            members: members, settings: topology.inventory.etcd, token: "cairn-\(topology.inventory.name)",
            force: options.force)
        let decided = try planner.plan(facts: byName)
        var notes = decided.notes
        if options.force { notes.append("--force: the quorum guard is OFF for this run") }
        let predicted = members.contains { context.isPredicted($0.name) }
        if predicted {
            notes.append("planned from the state the earlier phases will leave (etcd is not installed yet)")
        }
        let actions = decided.steps.map { action(for: $0, predicted: predicted, force: options.force) }
        return PhasePlan(actions: actions, execution: .serial, notes: notes)
    }

    func action(for step: EtcdStep, predicted: Bool, force: Bool) -> Action {
        switch step {
        case .writeEnvironment(let host, let content, let current):
            return .writeFile(
                host: host, path: EtcdLayout.environmentFile, content: content, current: current, mode: "644",
                predicted: predicted, changeSummary: EtcdConfigFiles.describeChange(from: current, to: content))
        case .start(let host):
            return .command(
                host: host, summary: "start etcd", ServiceCommand.startDetached("etcd"), predicted: predicted)
        case .restart(let host, let reason):
            return .command(
                host: host, summary: "restart etcd (\(reason))", ServiceCommand.restartDetached("etcd"),
                predicted: predicted)
        case .waitHealthy(let member, let via):
            return Action(host: via, summary: "wait until etcd member \(member.name) is healthy", predicted: predicted)
            { env in
                try await EtcdControl(executor: env.host(), clock: env.context.clock).waitHealthy(member)
            }
        case .waitClusterHealthy(let members, let via):
            return Action(
                host: via,
                summary: "wait until the etcd cluster (\(members.map(\.name).joined(separator: ", "))) has a leader",
                predicted: predicted
            ) { env in
                try await EtcdControl(executor: env.host(), clock: env.context.clock).waitClusterHealthy(members)
            }
        case .addLearner(let member, let via, let endpoints):
            return Action(
                host: via, summary: "add \(member.name) to etcd as a learner (\(member.peerURL))", predicted: predicted
            ) { env in
                try await EtcdControl(executor: env.host(), clock: env.context.clock).addLearner(
                    member, endpoints: endpoints, force: force)
            }
        case .promote(let member, let via, let endpoints):
            return Action(
                host: via, summary: "promote \(member.name) to a voting etcd member once it has caught up",
                predicted: predicted
            ) { env in
                try await EtcdControl(executor: env.host(), clock: env.context.clock).promote(
                    member, endpoints: endpoints)
            }
        case .remove(let name, let id, let peerURL, let via, let endpoints):
            return Action(host: via, summary: "remove etcd member \(name) (\(id), \(peerURL))", predicted: predicted) {
                env in
                try await EtcdControl(executor: env.host(), clock: env.context.clock).remove(
                    id: id, endpoints: endpoints)
            }
        case .clearRestartMarker(let host):
            return .command(
                host: host, summary: "clear the etcd restart marker",
                RemoteCommand("rm", ["-f", EtcdLayout.restartMarker]),
                predicted: predicted)
        }
    }

    public func gate(context: PhaseContext) -> Gate? {
        let members = self.members
        let hosts = context.hosts
        return Gate(name: "etcd quorum", timeout: .seconds(90)) { context in
            try await EtcdHealthCheck.check(members: members, hosts: hosts, context: context.run)
        }
    }
}

/// The etcd verification gate, also used by `cairn status` and before control-plane phases.
public enum EtcdHealthCheck {
    public struct Report: Sendable {
        public var members: [String]
        public var leader: String?
        public var healthy: [String]
        public var unhealthy: [String]
        public var learners: [String]
        public var alarms: [String]
        public var dbSizes: [String: Int64]
        public var raftIndexSpread: UInt64
        /// The server version each member reports (members that answered `endpoint status`).
        public var versions: [String: String] = [:]

        public var voters: Int { members.count - learners.count }
        public var tolerates: Int { max(0, (healthy.count - learners.count) - (voters / 2 + 1)) }
        public var hasQuorum: Bool { healthy.count - learners.filter { healthy.contains($0) }.count >= voters / 2 + 1 }
    }

    /// Asks the first reachable etcd host about every member.
    public static func report(members: [EtcdMemberSpec], hosts: [EngineHost], context: RunContext) async throws
        -> Report
    {
        try await report(members: members, hostNames: hosts.map(\.name), context: context)
    }

    /// Asks the first reachable of the named etcd hosts about every member.
    public static func report(members: [EtcdMemberSpec], hostNames: [String], context: RunContext) async throws
        -> Report
    {
        var lastError: (any Error)?
        for host in hostNames {
            do {
                let executor = try await context.executors.executor(forHost: host)
                let control = EtcdControl(executor: executor, clock: context.clock)
                let endpoints = members.map(\.clientURL)
                let list = try await control.memberList(endpoints)
                let health = try await control.health(list.members.compactMap { $0.clientURL })
                let status = (try? await control.status(list.members.compactMap { $0.clientURL })) ?? []
                let alarms = try await control.etcdctl(endpoints, ["alarm", "list"]).stdoutText
                    .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
                func name(_ member: EtcdMemberList.Member) -> String {
                    if let url = member.peerURLs?.first, let spec = members.first(where: { $0.peerURL == url }) {
                        return spec.name
                    }
                    return (member.name ?? "").isEmpty ? member.hexID : member.name!
                }
                let healthyURLs = Set(health.filter(\.health).map(\.endpoint))
                let leaders = Set(status.compactMap { $0.status.leader }.filter { $0 != 0 })
                let leader = leaders.count == 1 ? list.members.first { $0.id == leaders.first! }.map(name) : nil
                let indexes = status.compactMap { $0.status.raftIndex }
                var sizes: [String: Int64] = [:]
                var versions: [String: String] = [:]
                for entry in status {
                    guard let member = list.members.first(where: { $0.id == entry.status.header.memberID }) else {
                        continue
                    }
                    if let size = entry.status.dbSize { sizes[name(member)] = size }
                    if let version = entry.status.version { versions[name(member)] = version }
                }
                return Report(
                    members: list.members.map(name),
                    leader: leader,
                    healthy: list.members.filter { healthyURLs.contains($0.clientURL ?? "") }.map(name),
                    unhealthy: list.members.filter { !healthyURLs.contains($0.clientURL ?? "") }.map(name),
                    learners: list.members.filter(\.learner).map(name),
                    alarms: alarms, dbSizes: sizes,
                    raftIndexSpread: (indexes.max() ?? 0) - (indexes.min() ?? 0), versions: versions)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? EtcdError.timedOut(what: "reaching any etcd host", last: "no etcd hosts")
    }

    /// The etcd gate. Several phases end with it: a pass is shared by every gate that asks while
    /// nothing in the run has changed since; anything else is asked again next time.
    public static func check(members: [EtcdMemberSpec], hosts: [EngineHost], context: RunContext) async throws
        -> Gate.Outcome
    {
        let key = "etcd-health\u{0}" + members.map(\.name).joined(separator: ",")
        let outcome = try await context.factCache.value(for: key) {
            try await checkNow(members: members, hosts: hosts, context: context)
        }
        if case .notYet = outcome { context.factCache.forget(key) }
        return outcome
    }

    static func checkNow(members: [EtcdMemberSpec], hosts: [EngineHost], context: RunContext) async throws
        -> Gate.Outcome
    {
        let report = try await report(members: members, hosts: hosts, context: context)
        if !report.unhealthy.isEmpty {
            if !report.hasQuorum {
                return .notYet(
                    "quorum lost: \(report.healthy.count) of \(report.voters) healthy (down: \(report.unhealthy.joined(separator: ", ")))"
                )
            }
            return .notYet(
                "\(report.unhealthy.joined(separator: ", ")) not healthy (\(report.healthy.count) of \(report.members.count))"
            )
        }
        guard let leader = report.leader else { return .notYet("the members do not agree on one leader") }
        let expected = Set(members.map(\.name))
        let actual = Set(report.members)
        if !expected.isSubset(of: actual) {
            return .notYet(
                "members \(expected.subtracting(actual).sorted().joined(separator: ", ")) are missing from the cluster")
        }
        if !report.learners.isEmpty { return .notYet("\(report.learners.joined(separator: ", ")) still learning") }
        if !report.alarms.isEmpty { return .notYet("alarms raised: \(report.alarms.joined(separator: "; "))") }
        if report.raftIndexSpread > 5000 { return .notYet("raft indexes differ by \(report.raftIndexSpread)") }
        let extra = actual.subtracting(expected)
        let note = extra.isEmpty ? "" : " (not in the inventory: \(extra.sorted().joined(separator: ", ")))"
        return .passed(
            "\(report.members.count) members, leader \(leader), tolerates \(report.tolerates) failure\(report.tolerates == 1 ? "" : "s")\(note)"
        )
    }
}
