import CairnCore
import CairnTesting
import Foundation
import Testing

@testable import CairnEngine

/// `cairn plan --out` and `cairn apply PLAN`: what was approved is what runs, or nothing does.
@Suite struct SavedPlanTests {
    /// Two phases: the second works on what the first changes, so its plan is a prediction.
    static func engine(_ log: EventLog, secondDesired: String = "b") -> Engine {
        Engine(phases: [
            ScheduledPhase(phase: ValuePhase(name: "one", desired: "a", log: log), selector: .roles(["worker"])),
            ScheduledPhase(phase: ValuePhase(name: "two", desired: secondDesired, log: log), selector: .all),
        ])
    }

    func record(_ cluster: FakeCluster, _ engine: Engine) async throws -> PlanToFollow {
        let recorder = PlanRecorder()
        let result = await engine.run(
            context: RunContext(
                runID: "run-plan", mode: .plan, hosts: cluster.hosts, executors: cluster.provider,
                clock: VirtualClock(), planRecorder: recorder))
        #expect(result.outcome == .succeeded)
        let plan = SavedPlan(
            cluster: "t", inventoryDigest: "digest", inventoryPath: "t.yaml", runID: "run-plan",
            phases: recorder.phases)
        return PlanToFollow(plan: plan)
    }

    func apply(_ cluster: FakeCluster, _ engine: Engine, following plan: PlanToFollow, events: RecordingEventSink)
        async -> RunResult
    {
        await engine.run(
            context: RunContext(
                runID: "run-apply", mode: .apply, hosts: cluster.hosts, executors: cluster.provider,
                clock: VirtualClock(), events: events, planToFollow: plan))
    }

    @Test func aSavedPlanAppliedUnchangedPerformsExactlyItsActions() async throws {
        let cluster = FakeCluster(count: 5)
        let log = EventLog()
        let follow = try await record(cluster, Self.engine(log))
        #expect(log.all.isEmpty, "planning changed something")
        let planned = follow.plan.phases.flatMap { phase in phase.actions.map { "\($0.host): \($0.summary)" } }
        // Workers 4 and 5 in phase one, then every host in phase two (predicted: phase one
        // changes 4 and 5 first).
        #expect(planned.count == 7)
        #expect(follow.plan.phases.map(\.factsPredateChanges) == [false, true])

        let events = RecordingEventSink()
        let result = await apply(cluster, Self.engine(log), following: follow, events: events)
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        let performed = events.performedActions.map(\.description)
        #expect(!performed.isEmpty && performed.sorted() == planned.sorted())

        // The plan survives a round trip through its file.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID().uuidString).json")
        try follow.plan.write(to: url)
        #expect(try SavedPlan.read(url) == follow.plan)
    }

    @Test func aFactChangedSincePlanningStopsThatPhaseBeforeItChangesAnything() async throws {
        let cluster = FakeCluster(count: 5)
        let log = EventLog()
        let follow = try await record(cluster, Self.engine(log))
        cluster.set("node5", "edited by hand")
        let events = RecordingEventSink()
        let result = await apply(cluster, Self.engine(log), following: follow, events: events)
        #expect(result.outcome == .failed)
        guard case SavedPlanError.factChanged("one", "node5", "value", "old", "edited by hand")? = result.error else {
            Issue.record("expected node5's value to be named, got \(String(describing: result.error))")
            return
        }
        #expect(events.performedActions.isEmpty && !log.all.contains { $0.hasPrefix("start") }, "\(log.all)")
        #expect((result.error as? SavedPlanError)?.summary.contains("node5 changed since the plan was made") == true)
    }

    /// A phase planned on predicted state is planned again after the phases before it ran, and
    /// must come out as recorded.
    @Test func aPredictedPhaseThatComesOutDifferentlyStopsThere() async throws {
        let cluster = FakeCluster(count: 5)
        let log = EventLog()
        let follow = try await record(cluster, Self.engine(log))
        // Between plan and apply, node1 reaches the second phase's value on its own.
        cluster.set("node1", "b")
        let events = RecordingEventSink()
        let result = await apply(cluster, Self.engine(log), following: follow, events: events)
        guard case SavedPlanError.actionsDiffer("two", let missing, let unplanned)? = result.error else {
            Issue.record("expected phase two to stop, got \(String(describing: result.error))")
            return
        }
        #expect(missing == ["node1: set value to b"] && unplanned.isEmpty)
        // Phase one ran as planned; phase two changed nothing.
        #expect(log.all.filter { $0.hasPrefix("start") }.sorted() == ["start one node4", "start one node5"])
    }

    @Test func aPlanForOtherPhasesIsRefusedBeforeAnything() async throws {
        let cluster = FakeCluster(count: 3)
        let log = EventLog()
        let follow = try await record(cluster, Self.engine(log))
        let other = Engine(phases: [ScheduledPhase(phase: ValuePhase(name: "one", log: log), selector: .all)])
        let result = await apply(cluster, other, following: follow, events: RecordingEventSink())
        guard case SavedPlanError.otherPhases? = result.error else {
            Issue.record("expected a refusal, got \(String(describing: result.error))")
            return
        }
        #expect(log.all.isEmpty)
    }

    @Test func oldForeignOrOtherInventoryPlansAreRefused() throws {
        var plan = SavedPlan(
            cluster: "t", inventoryDigest: "d1", inventoryPath: "t.yaml", runID: "r", phases: [],
            created: Date(timeIntervalSinceNow: -3600))
        try plan.checkUsable(inventoryDigest: "d1", maximumAge: 7200, path: "p")
        #expect(throws: SavedPlanError.expired(path: "p", age: 3600, maximum: 1800)) {
            try plan.checkUsable(inventoryDigest: "d1", maximumAge: 1800, path: "p", now: plan.created + 3600)
        }
        #expect(throws: SavedPlanError.otherInventory(path: "p", inventory: "t.yaml")) {
            try plan.checkUsable(inventoryDigest: "d2", maximumAge: 7200, path: "p")
        }
        plan.cairnVersion = "0.1.0"
        #expect(throws: SavedPlanError.otherVersion(path: "p", madeBy: "0.1.0", this: CairnBuild.version)) {
            try plan.checkUsable(inventoryDigest: "d1", maximumAge: 7200, path: "p")
        }
    }

    @Test func jsonDifferencesAreNamedByPath() throws {
        let a = try JSONValue.of(
            ["files": ["/etc/x": "1", "/etc/y": "2"], "epoch": ["now": "5"]], dropping: ["epoch"])
        let b = try JSONValue.of(
            ["files": ["/etc/x": "1", "/etc/y": "3"], "epoch": ["now": "6"]], dropping: ["epoch"])
        let difference = try #require(a.firstDifference(from: b))
        #expect(difference.path == "files./etc/y" && difference.mine == "2" && difference.theirs == "3")
        #expect(a.firstDifference(from: a) == nil)
    }
}
