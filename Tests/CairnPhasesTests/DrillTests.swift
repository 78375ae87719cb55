import CairnCore
import CairnEngine
import CairnInventory
import CairnTesting
import Foundation
import Testing

@testable import CairnPhases

/// `cairn drill`: the planner's choices and refusals from live facts, and the exact commands of
/// its disruptions and their undoing.
@Suite struct DrillTests {
    /// Three control-plane+etcd hosts and three storage workers; zones a/b/c unless given.
    static func topology(zones: [String]? = ["a", "b", "c", "a", "b", "c"], storage: Bool = true) throws -> Topology {
        var yaml = """
            name: t
            kubernetes: {apiEndpoint: {haproxyKeepalived: {virtualIP: 10.0.0.250}}}
            hosts:

            """
        for n in 1...6 {
            yaml += "  - {name: node\(n), address: 10.0.0.\(n), roles: [\(n <= 3 ? "control-plane, etcd" : "worker")]"
            if let zones { yaml += ", zone: \(zones[n - 1])" }
            if storage && n > 3 { yaml += ", storage: {devices: [/dev/vdb]}" }
            yaml += "}\n"
        }
        return Topology(try Fixture.inventory(yaml))
    }

    static let healthy = DrillFacts(
        healthyEtcdMembers: ["node1", "node2", "node3"], readyNodes: Set((1...6).map { "node\($0)" }),
        osdsByHost: ["node4": [0], "node5": [1], "node6": [2]], poolSize: 3, poolMinSize: 2, virtualIPHolder: "node2")

    @Test func everyScenarioIsPlannedOnThreeZonesAndZoneLossOnlyWithZones() throws {
        let plan = DrillPlanner.plan(topology: try Self.topology(), request: DrillRequest(), facts: Self.healthy)
        #expect(plan.scenarios.map(\.scenario) == DrillScenario.allCases)
        #expect(plan.refusals.isEmpty, "\(plan.refusals)")
        let withoutZones = DrillPlanner.plan(
            topology: try Self.topology(zones: nil), request: DrillRequest(), facts: Self.healthy)
        #expect(!withoutZones.scenarios.map(\.scenario).contains(.zoneLoss))
    }

    @Test func controlPlaneLossTakesTheVirtualIPHolderAndChecksFromASurvivor() throws {
        let plan = DrillPlanner.plan(
            topology: try Self.topology(), request: DrillRequest(scenarios: [.controlPlaneLoss]), facts: Self.healthy)
        let scenario = try #require(plan.scenarios.first)
        #expect(scenario.targets == ["node2"])
        #expect(scenario.disrupt == [.stopControlPlane(host: "node2")])
        #expect(scenario.kubectlHost == "node1" && scenario.etcdHost == "node1")
        #expect(scenario.checks == [.apiThroughEndpoint, .etcdQuorum, .apiWrite])
        #expect(scenario.restore == [.restore(host: "node2")])
    }

    @Test func aPartitionCutsBothSidesAndChecksConvergenceAfterHealing() throws {
        let plan = DrillPlanner.plan(
            topology: try Self.topology(), request: DrillRequest(scenarios: [.partition]), facts: Self.healthy)
        let scenario = try #require(plan.scenarios.first)
        #expect(scenario.targets == ["node3"])
        #expect(scenario.disrupt == [.isolate(hosts: ["node3"], from: ["node1", "node2", "node4", "node5", "node6"])])
        #expect(scenario.checks.contains(.isolatedMemberRefusesWrites) && scenario.checks.contains(.majorityWrites))
        #expect(scenario.checksAfterHealing == [.membersConverge])
        #expect(Set(scenario.restore) == Set((1...6).map { DrillAction.restore(host: "node\($0)") }))
    }

    @Test func zoneLossOfAZoneHoldingTwoMembersIsRefusedWithTheReason() throws {
        let weak = try Self.topology(zones: ["a", "a", "b", "a", "b", "c"])
        let plan = DrillPlanner.plan(
            topology: weak, request: DrillRequest(scenarios: [.zoneLoss], zone: "a"), facts: Self.healthy)
        let refusal = try #require(plan.scenarios.first?.refusal)
        #expect(refusal.contains("leaves 1 healthy etcd member of 3; quorum needs 2"), "\(refusal)")
        #expect(refusal.contains("zone a holds 2 members"), "\(refusal)")
    }

    @Test func aMemberAlreadyDownMakesLosingAnotherUnsafe() throws {
        var facts = Self.healthy
        facts.healthyEtcdMembers = ["node2", "node3"]
        let plan = DrillPlanner.plan(
            topology: try Self.topology(),
            request: DrillRequest(scenarios: [.controlPlaneLoss], target: "node3"), facts: facts)
        #expect(plan.scenarios.first?.refusal?.contains("quorum needs 2") == true)
    }

    @Test func storageLossBelowMinSizeIsRefused() throws {
        var facts = Self.healthy
        facts.osdsByHost = ["node4": [0], "node5": [1]]
        facts.poolSize = 2
        facts.poolMinSize = 2
        let plan = DrillPlanner.plan(
            topology: try Self.topology(), request: DrillRequest(scenarios: [.storageLoss]), facts: facts)
        #expect(plan.scenarios.first?.refusal?.contains("leaves 1 for a pool of 2 copies (min_size 2)") == true)
    }

    @Test func anUnknownTargetIsNamed() throws {
        let plan = DrillPlanner.plan(
            topology: try Self.topology(), request: DrillRequest(scenarios: [.nodeLoss], target: "node1"),
            facts: Self.healthy)
        #expect(plan.scenarios.first?.refusal == "node1 is not a worker in the inventory")
    }

    /// The exact commands: the host script with the token and the undo timer, both sides of a
    /// cut (the VIP too on the isolated side), OSDs through Rook's Deployments.
    @Test func disruptionsAndRestoresRunExactlyTheseCommands() async throws {
        let topology = try Self.topology()
        let hosts = (1...6).map { FakeHostExecutor(hostName: "node\($0)") }
        hosts[2].expect(exactly: DrillRunner.hostScript(["stop-control-plane", "tok", "1800"]))
        hosts[2].expect(exactly: DrillRunner.hostScript(["restore"]), stdout: "")
        hosts[2].expect(
            exactly: DrillRunner.hostScript([
                "isolate", "tok", "1800", "cut", "10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6",
                "10.0.0.250",
            ]))
        for n in [1, 2, 4, 5, 6] {
            hosts[n - 1].expect(exactly: DrillRunner.hostScript(["isolate", "tok", "1800", "peer", "10.0.0.3"]))
        }
        hosts[5].expect(exactly: DrillRunner.hostScript(["note", "start-osd 2"]))
        hosts[0].expect(
            exactly: Kubectl.command(["-n", "rook-ceph", "scale", "deploy/rook-ceph-osd-2", "--replicas=0"]))
        let context = RunContext(
            mode: .apply, hosts: (1...6).map { EngineHost(name: "node\($0)", roles: [], index: $0) },
            executors: FakeExecutorProvider(hosts), clock: VirtualClock())
        let runner = DrillRunner(topology: topology, context: context, options: DrillOptions(), say: { _ in })
        try await runner.perform(.stopControlPlane(host: "node3"), token: "tok", kubectlHost: "node1")
        try await runner.perform(.restore(host: "node3"), token: "tok", kubectlHost: "node1")
        try await runner.perform(
            .isolate(hosts: ["node3"], from: ["node1", "node2", "node4", "node5", "node6"]), token: "tok",
            kubectlHost: "node1")
        try await runner.perform(.stopOSDs(host: "node6", ids: [2]), token: "tok", kubectlHost: "node1")
        for host in hosts {
            #expect(host.unexpectedCalls.isEmpty, "\(host.hostName): \(host.unexpectedCalls)")
            #expect(host.remainingExpectations.isEmpty, "\(host.hostName): \(host.remainingExpectations)")
        }
    }

    @Test func theEndpointsLongestSilenceIsMeasuredFromFirstMissToNextAnswer() {
        let watch = EndpointWatch()
        for (at, ok) in [(0.0, true), (1.0, false), (2.0, false), (4.5, true), (5.0, false), (5.5, true)] {
            watch.record(at: at, ok: ok)
        }
        #expect(watch.longestGap == 3.5)
    }
}
