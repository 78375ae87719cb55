import CairnInventory
import Foundation
import Testing

@testable import CairnPhases

/// The etcd membership decisions, on facts alone.
@Suite struct EtcdPlannerTests {
    static let specs = (1...5).map { EtcdMemberSpec(name: "node\($0)", internalAddress: "10.0.0.\($0)") }
    static let settings = EtcdSettings(
        version: "3.4.23", dataDir: "/var/lib/etcd", allowSingleMember: false, heartbeatInterval: 250,
        electionTimeout: 5000, quotaBackendBytes: 2_147_483_648, snapshotCount: 10_000,
        removeMembersNotInInventory: false)

    func planner(_ count: Int, settings: EtcdSettings = settings, force: Bool = false) -> EtcdClusterPlanner {
        EtcdClusterPlanner(
            members: Array(Self.specs.prefix(count)), settings: settings, token: "cairn-test", force: force)
    }

    func member(_ n: Int, started: Bool = true, learner: Bool = false) -> EtcdMemberList.Member {
        EtcdMemberList.Member(
            id: UInt64(1000 + n), name: started ? "node\(n)" : "", peerURLs: ["https://10.0.0.\(n):2380"],
            clientURLs: started ? ["https://10.0.0.\(n):2379"] : [], isLearner: learner)
    }

    /// Facts for a cluster whose members are `running` (voters), with `down` of them stopped.
    func facts(
        voters: [Int], learners: [Int] = [], down: Set<Int> = [], extraHosts: [Int] = [],
        env: (Int) -> String? = { _ in nil }
    ) -> [String: EtcdHostFacts] {
        let list = EtcdMemberList(
            members: voters.map { member($0) } + learners.map { member($0, started: !down.contains($0), learner: true) }
        )
        let health =
            (voters + learners).filter { !down.contains($0) }.map {
                EtcdEndpointHealth(endpoint: "https://10.0.0.\($0):2379", health: true)
            }
            + down.map {
                EtcdEndpointHealth(
                    endpoint: "https://10.0.0.\($0):2379", health: false, error: "context deadline exceeded")
            }
        var result: [String: EtcdHostFacts] = [:]
        for n in voters + learners {
            let running = !down.contains(n)
            result["node\(n)"] = EtcdHostFacts(
                version: "3.4.23", active: running, dataDirectory: true,
                environment: env(n) ?? desiredEnv(n, cluster: voters),
                members: running ? list : nil, health: running ? health : nil)
        }
        for n in extraHosts where result["node\(n)"] == nil {
            result["node\(n)"] = EtcdHostFacts(version: "3.4.23")
        }
        return result
    }

    func desiredEnv(_ n: Int, cluster: [Int]) -> String {
        EtcdConfigFiles.environment(
            member: Self.specs[n - 1], settings: Self.settings,
            initialCluster: cluster.map { "node\($0)=https://10.0.0.\($0):2380" }.joined(separator: ","),
            state: .existing, token: "cairn-test")
    }

    func kinds(_ plan: EtcdClusterPlan) -> [String] {
        plan.steps.map { step in
            switch step {
            case .writeEnvironment(let host, let content, _):
                return "env \(host) \(EtcdConfigFiles.parse(content)["ETCD_INITIAL_CLUSTER_STATE"]!)"
            case .start(let host): return "start \(host)"
            case .restart(let host, _): return "restart \(host)"
            case .waitHealthy(let member, _): return "wait \(member.name)"
            case .waitClusterHealthy: return "wait cluster"
            case .addLearner(let member, _, _): return "add \(member.name)"
            case .promote(let member, _, _): return "promote \(member.name)"
            case .remove(let name, _, _, _, _): return "remove \(name)"
            case .clearRestartMarker(let host): return "clear \(host)"
            }
        }
    }

    @Test func freshHostsAreBootstrappedTogether() throws {
        let facts = Dictionary(uniqueKeysWithValues: (1...3).map { ("node\($0)", EtcdHostFacts(version: "3.4.23")) })
        let plan = try planner(3).plan(facts: facts)
        #expect(
            kinds(plan) == [
                "env node1 new", "env node2 new", "env node3 new", "start node1", "start node2", "start node3",
                "wait cluster", "env node1 existing", "env node2 existing", "env node3 existing",
            ])
        guard case .writeEnvironment(_, let content, _) = plan.steps[0] else { return }
        let values = EtcdConfigFiles.parse(content)
        #expect(
            values["ETCD_INITIAL_CLUSTER"]
                == "node1=https://10.0.0.1:2380,node2=https://10.0.0.2:2380,node3=https://10.0.0.3:2380")
        #expect(values["ETCD_CLIENT_CERT_AUTH"] == "true" && values["ETCD_PEER_CLIENT_CERT_AUTH"] == "true")
        guard case .writeEnvironment(_, let final, let before) = plan.steps[7] else { return }
        #expect(EtcdConfigFiles.describeChange(from: before, to: final) == "ETCD_INITIAL_CLUSTER_STATE new→existing")
    }

    @Test func aConvergedClusterNeedsNothing() throws {
        let plan = try planner(3).plan(facts: facts(voters: [1, 2, 3]))
        #expect(plan.steps.isEmpty)
    }

    @Test func growthAddsOneLearnerAtATime() throws {
        let plan = try planner(5).plan(facts: facts(voters: [1, 2, 3], extraHosts: [4, 5]))
        #expect(
            kinds(plan) == [
                "add node4", "env node4 existing", "start node4", "promote node4", "wait node4",
                "add node5", "env node5 existing", "start node5", "promote node5", "wait node5",
            ])
        // The new member starts with the whole cluster, itself included; the old ones are untouched.
        guard case .writeEnvironment("node5", let content, _) = plan.steps[6] else {
            Issue.record("\(plan.steps[6])")
            return
        }
        #expect(EtcdConfigFiles.parse(content)["ETCD_INITIAL_CLUSTER"]!.split(separator: ",").count == 5)
        guard case .addLearner(_, _, let endpoints) = plan.steps[5] else { return }
        #expect(endpoints.count == 4)
    }

    @Test func growthIsRefusedWhileAMemberIsDown() {
        #expect {
            try planner(5).plan(facts: facts(voters: [1, 2, 3], down: [2], extraHosts: [4, 5]))
        } throws: { error in
            guard case EtcdError.growthRefused(let reason, let unhealthy) = error else { return false }
            return unhealthy == ["node2"] && reason.contains("2 of 3 healthy")
        }
        // With the guard off, the plan goes ahead (and says so elsewhere).
        #expect(throws: Never.self) {
            try planner(5, force: true).plan(facts: facts(voters: [1, 2, 3], down: [2], extraHosts: [4, 5]))
        }
    }

    @Test func aStoppedMemberWithDataIsStartedNotReAdded() throws {
        let plan = try planner(3).plan(facts: facts(voters: [1, 2, 3], down: [3]))
        #expect(kinds(plan) == ["start node3", "wait node3"])
    }

    @Test func quorumLossStopsEverything() {
        #expect {
            try planner(3).plan(facts: facts(voters: [1, 2, 3], down: [2, 3]))
        } throws: { error in
            guard case EtcdError.quorumLost(1, 3, let down) = error else { return false }
            return down == ["node2", "node3"] && (error as! EtcdError).nextStep!.contains("cairn restore")
        }
    }

    @Test func aGrowthKilledAfterTheAddResumesWithoutAddingAgain() throws {
        // node4 was added as a learner, then Cairn died before starting it.
        var facts = facts(voters: [1, 2, 3], learners: [4], down: [4])
        facts["node4"] = EtcdHostFacts(version: "3.4.23")
        let plan = try planner(4).plan(facts: facts)
        #expect(kinds(plan) == ["env node4 existing", "start node4", "promote node4", "wait node4"])
    }

    @Test func aGrowthKilledAfterTheStartResumesWithThePromotion() throws {
        let plan = try planner(4).plan(
            facts: facts(
                voters: [1, 2, 3], learners: [4],
                env: { $0 == 4 ? self.desiredEnv(4, cluster: [1, 2, 3, 4]) : nil }))
        #expect(kinds(plan) == ["promote node4", "wait node4"])
    }

    @Test func aReplacedMachineIsDetected() {
        var facts = facts(voters: [1, 2, 3])
        facts["node3"] = EtcdHostFacts(version: "")  // fresh machine at node3's address
        #expect {
            try planner(3).plan(facts: facts)
        } throws: { error in
            guard case EtcdError.replacedHost("node3", let id, _) = error else { return false }
            return id == String(1003, radix: 16) && (error as! EtcdError).nextStep!.contains("cairn etcd remove node3")
        }
    }

    @Test func dataFromAnotherClusterIsNotJoined() {
        var facts = facts(voters: [1, 2, 3])
        facts["node4"] = EtcdHostFacts(version: "3.4.23", dataDirectory: true)
        #expect(throws: EtcdError.foreignData(host: "node4", dataDirectory: "/var/lib/etcd")) {
            try planner(4).plan(facts: facts)
        }
    }

    @Test func membersMissingFromTheInventoryStayUnlessRemovalIsAsked() throws {
        let kept = try planner(3).plan(facts: facts(voters: [1, 2, 3, 4, 5]))
        #expect(kept.steps.isEmpty)
        #expect(kept.notes.contains { $0.contains("node4") && $0.contains("stays") })
        var settings = Self.settings
        settings.removeMembersNotInInventory = true
        let removed = try planner(3, settings: settings).plan(facts: facts(voters: [1, 2, 3, 4, 5]))
        #expect(kinds(removed) == ["remove node4", "remove node5"])
    }

    @Test func changedCertificatesAndSettingsRestartMembersOneAtATime() throws {
        var facts = facts(voters: [1, 2, 3])
        facts["node2"] = EtcdHostFacts(
            version: "3.4.23", active: true, dataDirectory: true, environment: desiredEnv(2, cluster: [1, 2, 3]),
            restartNeeded: true, members: facts["node2"]!.members, health: facts["node2"]!.health)
        var settings = Self.settings
        settings.heartbeatInterval = 300
        let plan = try planner(3, settings: settings).plan(facts: facts)
        #expect(
            kinds(plan) == [
                "env node1 existing", "restart node1", "wait node1",
                "env node2 existing", "restart node2", "wait node2", "clear node2",
                "env node3 existing", "restart node3", "wait node3",
            ])
        guard case .writeEnvironment(_, let content, let current) = plan.steps[0] else { return }
        #expect(EtcdConfigFiles.describeChange(from: current, to: content) == "ETCD_HEARTBEAT_INTERVAL 250→300")
    }

    /// A new binary on every member (an etcd upgrade): one member at a time, the leader last.
    @Test func anUpgradeRestartsTheLeaderLast() throws {
        var facts = facts(voters: [1, 2, 3])
        for n in 1...3 {
            let old = facts["node\(n)"]!
            var new = EtcdHostFacts(
                version: "3.4.23", active: true, dataDirectory: true, environment: old.environmentText,
                restartNeeded: true, members: old.members, health: old.health)
            new.leader = "1001"  // node1, as every member sees it
            facts["node\(n)"] = new
        }
        let plan = try planner(3).plan(facts: facts)
        #expect(
            kinds(plan) == [
                "restart node2", "wait node2", "clear node2", "restart node3", "wait node3", "clear node3",
                "restart node1", "wait node1", "clear node1",
            ])
    }

    /// Removal judged from live health: a dead member may go when the others keep quorum and the
    /// cluster is no less fault-tolerant; a healthy one may not go below three.
    @Test func removalArithmeticCountsDeadMembersAsLost() {
        #expect(EtcdQuorum.removalRefusal(target: "n1", targetHealthy: false, healthy: 2, voters: 3) == nil)
        #expect(EtcdQuorum.removalRefusal(target: "n1", targetHealthy: false, healthy: 3, voters: 5) == nil)
        #expect(EtcdQuorum.removalRefusal(target: "n1", targetHealthy: false, healthy: 4, voters: 5) == nil)
        #expect(
            EtcdQuorum.removalRefusal(target: "n1", targetHealthy: false, healthy: 2, voters: 5)
                == "removing n1 would leave 2 healthy of 4 voting members, below quorum (3)")
        #expect(
            EtcdQuorum.removalRefusal(target: "n1", targetHealthy: true, healthy: 3, voters: 3)
                == "removing n1 would leave 2 voting members, which cannot tolerate a failure")
        #expect(
            EtcdQuorum.removalRefusal(target: "n1", targetHealthy: true, healthy: 2, voters: 3)
                == "removing n1 needs every other member healthy, but 1 is not")
        #expect(EtcdQuorum.removalRefusal(target: "n1", targetHealthy: true, healthy: 5, voters: 5) == nil)
        #expect(EtcdQuorum.removalRefusal(target: "n1", targetHealthy: true, healthy: 4, voters: 4) == nil)
    }

    /// node1 died for good and left the inventory, node4 replaces it: with
    /// removeMembersNotInInventory the dead member is removed first, then node4 grows the
    /// cluster back to three; without it, the refusal names the removal as the next step.
    @Test func aDeadMemberOutOfTheInventoryIsReplaced() throws {
        let facts = facts(voters: [1, 2, 3], down: [1], extraHosts: [4])
        let members = [Self.specs[1], Self.specs[2], Self.specs[3]]
        var settings = Self.settings
        settings.removeMembersNotInInventory = true
        let plan = try EtcdClusterPlanner(members: members, settings: settings, token: "cairn-test").plan(facts: facts)
        #expect(Array(kinds(plan).prefix(2)) == ["remove node1", "add node4"], "\(kinds(plan))")
        #expect {
            try EtcdClusterPlanner(members: members, settings: Self.settings, token: "cairn-test").plan(facts: facts)
        } throws: { error in
            guard let error = error as? EtcdError, case .growthRefused(_, let unhealthy) = error else { return false }
            return unhealthy == ["node1"]
                && error.nextStep?.contains("`cairn remove -i INVENTORY node1 --unreachable`") == true
        }
    }
}
