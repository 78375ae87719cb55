import CairnCore
import CairnInventory
import Foundation

/// A step of the etcd cluster plan. Steps are data, so the decisions can be unit-tested on
/// facts alone; `EtcdClusterPhase` turns each into an action.
public enum EtcdStep: Sendable, Equatable {
    /// Write /etc/etcd.env on `host`.
    case writeEnvironment(host: String, content: String, current: String?)
    /// Enable and start etcd on `host` (without waiting: a first member cannot be ready alone).
    case start(host: String)
    /// Restart etcd on `host` (certificates or settings changed).
    case restart(host: String, reason: String)
    /// Wait until `member`'s endpoint is healthy, asking from `via`.
    case waitHealthy(member: EtcdMemberSpec, via: String)
    /// Wait until a freshly bootstrapped cluster has a leader and every member is healthy.
    case waitClusterHealthy(members: [EtcdMemberSpec], via: String)
    /// `member add --learner` of `member`, run on `via` against the current members.
    case addLearner(member: EtcdMemberSpec, via: String, endpoints: [String])
    /// Wait until the learner has caught up and promote it to a voting member.
    case promote(member: EtcdMemberSpec, via: String, endpoints: [String])
    /// `member remove` (only when the operator asked for it).
    case remove(name: String, id: String, peerURL: String, via: String, endpoints: [String])
    /// Remove the restart marker left by etcd-install.
    case clearRestartMarker(host: String)

    public var host: String {
        switch self {
        case .writeEnvironment(let host, _, _), .start(let host), .restart(let host, _), .clearRestartMarker(let host):
            return host
        case .waitHealthy(_, let via), .waitClusterHealthy(_, let via), .addLearner(_, let via, _),
            .promote(_, let via, _),
            .remove(_, _, _, let via, _):
            return via
        }
    }
}

public struct EtcdClusterPlan: Sendable, Equatable {
    public var steps: [EtcdStep] = []
    public var notes: [String] = []
}

/// Errors that stop the etcd phases before they touch anything.
public enum EtcdError: Error, CairnReportableError, Equatable {
    case quorumLost(healthy: Int, voters: Int, unhealthy: [String])
    case growthRefused(reason: String, unhealthy: [String])
    case replacedHost(host: String, memberID: String, memberName: String)
    case foreignData(host: String, dataDirectory: String)
    case membersDisagree(String)
    case commandFailed(host: String, what: String, output: String)
    case timedOut(what: String, last: String)
    case snapshotInvalid(String)
    case upgradeRefused(host: String, reason: String, next: String)

    public var host: String? {
        switch self {
        case .replacedHost(let host, _, _), .foreignData(let host, _), .commandFailed(let host, _, _),
            .upgradeRefused(let host, _, _):
            return host
        default: return nil
        }
    }

    public var summary: String {
        switch self {
        case .quorumLost(let healthy, let voters, let unhealthy):
            return
                "etcd has lost quorum: \(healthy) of \(voters) members healthy, \(voters / 2 + 1) needed (down: \(unhealthy.joined(separator: ", ")))"
        case .growthRefused(let reason, _):
            return "etcd membership change refused: \(reason)"
        case .replacedHost(let host, let id, let name):
            return
                "\(host)'s address is already etcd member \(name.isEmpty ? id : "\(name) (\(id))"), but \(host) has no etcd data: the machine was probably replaced"
        case .foreignData(let host, let dataDirectory):
            return
                "\(host) has etcd data in \(dataDirectory) but is not a member of this cluster (it was removed, or belongs to another cluster)"
        case .membersDisagree(let detail):
            return "etcd members disagree about the cluster: \(detail)"
        case .commandFailed(let host, let what, let output):
            return "\(what) failed on \(host): \(output)"
        case .timedOut(let what, let last):
            return "\(what) did not happen in time: \(last)"
        case .snapshotInvalid(let detail):
            return "the etcd snapshot is not usable: \(detail)"
        case .upgradeRefused(let host, let reason, _):
            return "etcd.version cannot be reached from \(host): \(reason)"
        }
    }

    public var nextStep: String? {
        switch self {
        case .quorumLost:
            return
                "bring the stopped members back (`cairn exec --role etcd -- systemctl start etcd`); if their data is gone, restore the cluster from a backup with `cairn restore -i INVENTORY SNAPSHOT`"
        case .growthRefused(_, let unhealthy):
            guard !unhealthy.isEmpty else { return "rerun once the cluster is healthy" }
            let names = unhealthy.joined(separator: ", ")
            let first = unhealthy[0]
            return
                "bring \(names) back to health and rerun; if \(unhealthy.count == 1 ? "it is" : "they are") gone for good, take \(unhealthy.count == 1 ? "it" : "each") out first (`cairn remove -i INVENTORY \(first) --unreachable`: its etcd member, Node and balancer entries; a dead member can go while the others keep quorum), then rerun"
        case .replacedHost(let host, let id, _):
            return
                "remove the stale member first — `cairn etcd remove \(host)` (or `etcdctl member remove \(id)`) — then rerun `cairn apply` to add \(host) again as a new member"
        case .foreignData(let host, let dataDirectory):
            return
                "if that data is not needed, move it away on \(host) (`mv \(dataDirectory) \(dataDirectory).old`) and rerun"
        case .membersDisagree:
            return "check `etcdctl member list` on each etcd host; this needs a person"
        case .commandFailed, .timedOut:
            return "check `journalctl -u etcd` on the host named above, then rerun `cairn apply`"
        case .snapshotInvalid:
            return "take a new backup with `cairn backup`"
        case .upgradeRefused(_, _, let next):
            return "set etcd.version to \(next), apply, then raise it again"
        }
    }

    public var exitCode: CairnExitCode {
        if case .upgradeRefused = self { return .invalidInput }
        return .failure
    }
}

/// Membership arithmetic from live health: a member that does not answer counts as already lost.
public enum EtcdQuorum {
    public static func quorum(ofVoters voters: Int) -> Int { voters / 2 + 1 }

    /// How many more members the cluster can lose and keep quorum (negative: it has lost it).
    public static func tolerance(healthy: Int, voters: Int) -> Int { healthy - quorum(ofVoters: voters) }

    /// Why removing a voting member is unsafe (nil: it is safe). A dead member may go whenever
    /// the healthy members keep quorum without it: the cluster is then exactly as fault-tolerant
    /// as before (3 with one dead can lose no more; 2 of 2 can lose none either), and that is the
    /// only way back to full strength. A healthy member may go (a planned shrink) only while
    /// every other member is healthy and at least three voters remain.
    public static func removalRefusal(target: String, targetHealthy: Bool, healthy: Int, voters: Int) -> String? {
        if !targetHealthy {
            guard healthy < quorum(ofVoters: voters - 1) else { return nil }
            return
                "removing \(target) would leave \(healthy) healthy of \(voters - 1) voting members, below quorum (\(quorum(ofVoters: voters - 1)))"
        }
        if healthy < voters {
            let sick = voters - healthy
            return "removing \(target) needs every other member healthy, but \(sick) \(sick == 1 ? "is" : "are") not"
        }
        if voters - 1 < 3 {
            return
                "removing \(target) would leave \(voters - 1) voting member\(voters - 1 == 1 ? "" : "s"), which cannot tolerate a failure"
        }
        return nil
    }
}

/// Decides what the etcd cluster needs, from facts only.
public struct EtcdClusterPlanner: Sendable {
    public let members: [EtcdMemberSpec]
    public let settings: EtcdSettings
    public let token: String
    /// Skip the quorum guard (loud; `--force`).
    public let force: Bool

    public init(members: [EtcdMemberSpec], settings: EtcdSettings, token: String, force: Bool = false) {
        self.members = members
        self.settings = settings
        self.token = token
        self.force = force
    }

    public func plan(facts: [String: EtcdHostFacts]) throws -> EtcdClusterPlan {
        let answering = members.filter { facts[$0.name]?.members != nil }
        if answering.isEmpty {
            return try planWithoutRunningMembers(facts: facts)
        }
        return try planForExistingCluster(facts: facts, answering: answering)
    }

    // MARK: No member answers

    private func planWithoutRunningMembers(facts: [String: EtcdHostFacts]) throws -> EtcdClusterPlan {
        var plan = EtcdClusterPlan()
        let withData = members.filter { facts[$0.name]?.dataDirectory == true }
        if !withData.isEmpty {
            // A cluster exists but nothing answers: start the members that have data and let
            // them find each other. Members without data are added later, once it is healthy.
            plan.notes.append(
                "etcd has data on \(withData.map(\.name).joined(separator: ", ")) but no member answers: starting them")
            for member in withData { plan.steps.append(.start(host: member.name)) }
            plan.steps.append(.waitClusterHealthy(members: withData, via: withData[0].name))
            return plan
        }
        // Nothing anywhere: bootstrap every member together.
        let initialCluster = EtcdConfigFiles.initialCluster(members)
        plan.notes.append(
            "no etcd cluster yet: bootstrapping \(members.count) member\(members.count == 1 ? "" : "s") together")
        for member in members {
            let content = EtcdConfigFiles.environment(
                member: member, settings: settings, initialCluster: initialCluster,
                state: .new, token: token)
            plan.steps.append(
                .writeEnvironment(host: member.name, content: content, current: facts[member.name]?.environmentText))
        }
        for member in members { plan.steps.append(.start(host: member.name)) }
        plan.steps.append(.waitClusterHealthy(members: members, via: members[0].name))
        // Once it exists, a restart must never bootstrap again.
        for member in members {
            let old = EtcdConfigFiles.environment(
                member: member, settings: settings, initialCluster: initialCluster, state: .new, token: token)
            let content = EtcdConfigFiles.environment(
                member: member, settings: settings, initialCluster: initialCluster,
                state: .existing, token: token)
            plan.steps.append(.writeEnvironment(host: member.name, content: content, current: old))
        }
        for member in members where facts[member.name]?.restartNeeded == true {
            plan.steps.append(.clearRestartMarker(host: member.name))
        }
        return plan
    }

    // MARK: A cluster answers

    private func planForExistingCluster(facts: [String: EtcdHostFacts], answering: [EtcdMemberSpec]) throws
        -> EtcdClusterPlan
    {
        var plan = EtcdClusterPlan()
        // The members as the cluster sees them; every answering member must agree on the set.
        let lists = answering.compactMap { facts[$0.name]?.members }
        let reference = lists[0]
        let referenceIDs = Set(reference.members.map(\.id))
        for (member, list) in zip(answering, lists) where Set(list.members.map(\.id)) != referenceIDs {
            throw EtcdError.membersDisagree("\(answering[0].name) and \(member.name) report different member lists")
        }
        let health = answering.compactMap { facts[$0.name]?.health }.max { $0.count < $1.count } ?? []
        func isHealthy(_ member: EtcdMemberList.Member) -> Bool {
            guard let url = member.clientURL else { return false }
            return health.contains { $0.endpoint == url && $0.health }
        }
        var voters = reference.members.filter { !$0.learner }
        var healthyVoters = voters.filter(isHealthy)
        var unhealthyNames = voters.filter { !isHealthy($0) }.map { displayName($0) }
        if healthyVoters.count < voters.count / 2 + 1 {
            throw EtcdError.quorumLost(healthy: healthyVoters.count, voters: voters.count, unhealthy: unhealthyNames)
        }
        var endpoints = healthyVoters.compactMap { $0.clientURL }
        let via =
            answering.first { spec in healthyVoters.contains { ($0.peerURLs ?? []).contains(spec.peerURL) } }?.name
            ?? answering[0].name
        var currentCluster: [(name: String, peerURL: String)] = reference.members.compactMap { member in
            guard let url = member.peerURLs?.first else { return nil }
            let name = members.first { $0.peerURL == url }?.name ?? member.name ?? ""
            return (name, url)
        }

        // Members that are not in the inventory stay unless the operator asked to remove them.
        let inventoryURLs = Set(members.map(\.peerURL))
        for member in reference.members where !(member.peerURLs ?? []).contains(where: inventoryURLs.contains) {
            let name = displayName(member)
            if settings.removeMembersNotInInventory {
                if !force && !member.learner,
                    let refusal = EtcdQuorum.removalRefusal(
                        target: name, targetHealthy: isHealthy(member), healthy: healthyVoters.count,
                        voters: voters.count)
                {
                    throw EtcdError.growthRefused(
                        reason: refusal, unhealthy: unhealthyNames.filter { $0 != name })
                }
                plan.steps.append(
                    .remove(
                        name: name, id: member.hexID, peerURL: member.peerURLs?.first ?? "", via: via,
                        endpoints: endpoints))
                endpoints.removeAll { $0 == member.clientURL }
                currentCluster.removeAll { $0.peerURL == member.peerURLs?.first }
                // What follows (growth) is judged on the cluster without it.
                voters.removeAll { $0.id == member.id }
                healthyVoters.removeAll { $0.id == member.id }
                unhealthyNames.removeAll { $0 == name }
            } else {
                plan.notes.append(
                    "etcd member \(name) (\(member.peerURLs?.first ?? "?")) is not in the inventory; it stays (`cairn remove -i INVENTORY \(name)` takes it out, with --unreachable when the host is gone; or set etcd.removeMembersNotInInventory: true)"
                )
            }
        }

        var rollingRestarts: [EtcdStep] = []
        for spec in members {
            guard let fact = facts[spec.name] else { continue }
            let current = reference.member(peerURL: spec.peerURL)
            if let current, !current.learner, current.started {
                // A voting member the cluster knows.
                if !fact.dataDirectory && !fact.active {
                    throw EtcdError.replacedHost(
                        host: spec.name, memberID: current.hexID, memberName: current.name ?? "")
                }
                let desired = desiredEnvironment(spec, current: fact.environmentText, cluster: currentCluster)
                if !fact.active {
                    if fact.environmentText != desired {
                        plan.steps.append(
                            .writeEnvironment(host: spec.name, content: desired, current: fact.environmentText))
                    }
                    plan.steps.append(.start(host: spec.name))
                    plan.steps.append(
                        .waitHealthy(
                            member: spec, via: via == spec.name ? (answering.first { $0 != spec }?.name ?? via) : via))
                    if fact.restartNeeded { plan.steps.append(.clearRestartMarker(host: spec.name)) }
                    continue
                }
                var reasons: [String] = []
                if fact.environmentText != desired {
                    rollingRestarts.append(
                        .writeEnvironment(host: spec.name, content: desired, current: fact.environmentText))
                    reasons.append("settings changed")
                }
                if fact.restartNeeded { reasons.append("certificates or binary changed") }
                if !reasons.isEmpty {
                    rollingRestarts.append(.restart(host: spec.name, reason: reasons.joined(separator: ", ")))
                    rollingRestarts.append(.waitHealthy(member: spec, via: spec.name))
                    if fact.restartNeeded { rollingRestarts.append(.clearRestartMarker(host: spec.name)) }
                }
                continue
            }

            // A member to add, or an addition that a killed run left half done.
            if current == nil {
                if let sameName = reference.members.first(where: {
                    $0.name == spec.name && !($0.peerURLs ?? []).contains(spec.peerURL)
                }) {
                    throw EtcdError.membersDisagree(
                        "member \(spec.name) exists with peer URL \(sameName.peerURLs?.first ?? "?"), but the inventory gives \(spec.peerURL)"
                    )
                }
                if fact.dataDirectory {
                    throw EtcdError.foreignData(host: spec.name, dataDirectory: settings.dataDir)
                }
                try guardMembershipChange(
                    "adding \(spec.name)", healthyVoters: healthyVoters, voters: voters, unhealthy: unhealthyNames)
                plan.steps.append(.addLearner(member: spec, via: via, endpoints: endpoints))
            } else if current?.learner == false && current?.started == false {
                // Added as a voting member by something else and never started: start it.
                try guardMembershipChange(
                    "starting \(spec.name)", healthyVoters: healthyVoters, voters: voters, unhealthy: unhealthyNames)
            }
            if !currentCluster.contains(where: { $0.peerURL == spec.peerURL }) {
                currentCluster.append((spec.name, spec.peerURL))
            }
            if !fact.active {
                let content = desiredEnvironment(spec, current: nil, cluster: currentCluster)
                if fact.environmentText != content {
                    plan.steps.append(
                        .writeEnvironment(host: spec.name, content: content, current: fact.environmentText))
                }
                plan.steps.append(.start(host: spec.name))
            }
            if current == nil || current?.learner == true {
                plan.steps.append(.promote(member: spec, via: via, endpoints: endpoints))
            }
            plan.steps.append(.waitHealthy(member: spec, via: via))
            if fact.restartNeeded { plan.steps.append(.clearRestartMarker(host: spec.name)) }
            endpoints.append(spec.clientURL)
        }
        // The leader restarts last, so the cluster elects a new leader once, not at every step.
        let leaderID = answering.compactMap { facts[$0.name]?.leader }.first.flatMap { UInt64($0) }
        let leaderURL = reference.members.first { $0.id == leaderID }?.peerURLs?.first
        let leaderName = members.first { $0.peerURL == leaderURL }?.name
        plan.steps +=
            rollingRestarts.filter { $0.host != leaderName } + rollingRestarts.filter { $0.host == leaderName }
        return plan
    }

    /// `/etc/etcd.env` for a member of an existing cluster. ETCD_INITIAL_CLUSTER is only read
    /// when a member first starts, so a running member keeps the value it started with: growing
    /// the cluster does not rewrite the files of members that are already there.
    func desiredEnvironment(_ spec: EtcdMemberSpec, current: String?, cluster: [(name: String, peerURL: String)])
        -> String
    {
        let currentValues = EtcdConfigFiles.parse(current)
        let initialCluster =
            currentValues["ETCD_INITIAL_CLUSTER"]
            ?? cluster.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ",")
        let token = currentValues["ETCD_INITIAL_CLUSTER_TOKEN"] ?? self.token
        return EtcdConfigFiles.environment(
            member: spec, settings: settings, initialCluster: initialCluster,
            state: .existing, token: token)
    }

    /// The quorum guard: membership changes only when every voting member is healthy.
    private func guardMembershipChange(
        _ what: String, healthyVoters: [EtcdMemberList.Member],
        voters: [EtcdMemberList.Member], unhealthy: [String]
    ) throws {
        guard healthyVoters.count < voters.count, !force else { return }
        let tolerance = (healthyVoters.count - (voters.count / 2 + 1))
        throw EtcdError.growthRefused(
            reason:
                "\(what) needs every member healthy, but \(unhealthy.joined(separator: ", ")) \(unhealthy.count == 1 ? "is" : "are") not (\(healthyVoters.count) of \(voters.count) healthy; the cluster can lose \(max(0, tolerance)) more before losing quorum)",
            unhealthy: unhealthy)
    }

    private func displayName(_ member: EtcdMemberList.Member) -> String {
        if let url = member.peerURLs?.first, let spec = members.first(where: { $0.peerURL == url }) { return spec.name }
        return (member.name ?? "").isEmpty ? member.hexID : member.name!
    }
}
