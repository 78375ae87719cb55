import CairnCore
import CairnTesting
import Foundation
import Testing

@testable import CairnEngine

@Suite struct EngineTests {
    @Test func playbookOrdersPhasesByDependenciesStably() throws {
        let yaml = """
            apiVersion: cairn.dev/v1alpha1
            kind: Playbook
            phases:
              - name: c
                needs: [b]
              - name: a
              - name: b
                needs: [a]
              - name: d
            """
        let playbook = try Playbook.load(yaml: yaml, file: "p.yaml", builtIns: ["a", "b", "c", "d"])
        #expect(playbook.entries.map(\.name) == ["a", "b", "c", "d"])
    }

    @Test func playbookCycleIsRejectedWithThePath() {
        let yaml = """
            apiVersion: cairn.dev/v1alpha1
            kind: Playbook
            phases:
              - {name: a, needs: [c]}
              - {name: b, needs: [a]}
              - {name: c, needs: [b]}
            """
        #expect {
            try Playbook.load(yaml: yaml, file: "p.yaml", builtIns: ["a", "b", "c"])
        } throws: { error in
            guard case EngineError.playbookInvalid(_, let problems) = error else { return false }
            return problems.contains { $0.contains("cycle") && $0.contains("a → c → b → a") }
        }
    }

    @Test func playbookReportsEveryProblemWithLines() {
        let yaml = """
            apiVersion: cairn.dev/v1alpha1
            kind: Playbook
            phases:
              - name: prepare-hots
              - name: x
                needs: [nowhere]
                colour: blue
              - name: hook
                run: echo hi
                hosts: {roles: [master]}
            """
        #expect {
            try Playbook.load(yaml: yaml, file: "p.yaml", builtIns: ["prepare-hosts"])
        } throws: { error in
            guard case EngineError.playbookInvalid(_, let problems) = error else { return false }
            let text = problems.joined(separator: "\n")
            return text.contains("p.yaml:4: unknown phase \"prepare-hots\" (did you mean \"prepare-hosts\"?)")
                && text.contains("p.yaml:7: phases[1]: unknown field \"colour\"")
                && text.contains("needs \"nowhere\"")
                && text.contains("unknown role \"master\"")
                && (error as? EngineError)?.exitCode == .invalidInput
        }
    }

    @Test func phasesRunInOrderAndAConvergedRerunDoesNothing() async throws {
        let cluster = FakeCluster(count: 3)
        let log = EventLog()
        let engine = Engine(phases: [
            ScheduledPhase(phase: ValuePhase(name: "one", desired: "a", log: log), selector: .all),
            ScheduledPhase(phase: ValuePhase(name: "two", desired: "a", log: log), selector: .roles(["worker"])),
        ])
        let first = await engine.run(context: cluster.context(mode: .apply))
        #expect(first.outcome == .succeeded)
        #expect(first.phaseOutcomes.map(\.outcome) == [.changed, .unchanged])
        #expect(log.all.filter { $0.hasPrefix("start") }.count == 3)
        let second = await engine.run(context: cluster.context(mode: .apply))
        #expect(second.phaseOutcomes.map(\.outcome) == [.unchanged, .unchanged])
        #expect(log.all.filter { $0.hasPrefix("start") }.count == 3)
    }

    /// A lost lock (the heartbeat asks the run to stop while an action runs): that action
    /// finishes, no other action or phase starts, no clean-up runs, and the run fails with the
    /// loss, which the journal records.
    @Test func aRunAskedToStopFinishesTheActionInFlightAndStartsNoOther() async {
        let cluster = FakeCluster(count: 3)
        let log = EventLog()
        let stop = RunStop()
        let lost = EngineError.lockLost(
            host: "node1", why: .takenOver(runID: "run-2", owner: "bob@ci pid 7", since: nil))
        let events = StopOnFirstAction(stop: stop, reason: lost)
        let engine = Engine(phases: [
            ScheduledPhase(phase: ValuePhase(name: "one", execution: .serial, log: log), selector: .all),
            ScheduledPhase(phase: ValuePhase(name: "two", log: log), selector: .all),
        ])
        let result = await engine.run(
            context: RunContext(
                mode: .apply, hosts: cluster.hosts, executors: cluster.provider, clock: VirtualClock(),
                events: events, stop: stop))
        #expect(result.outcome == .failed)
        #expect(log.all == ["start one node1", "end one node1"])
        guard case EngineError.lockLost(_, .takenOver("run-2", _, _))? = result.error else {
            Issue.record("expected the lock loss, got \(String(describing: result.error))")
            return
        }
        #expect(events.notes.contains { $0.hasPrefix("lock lost: taken by run run-2") })
        #expect(cluster.value(of: "node2") == "old" && cluster.value(of: "node3") == "old")
    }

    @Test func parallelPhasesRespectTheConcurrencyLimit() async {
        let cluster = FakeCluster(count: 12)
        let log = EventLog()
        let engine = Engine(phases: [ScheduledPhase(phase: ValuePhase(name: "p", log: log), selector: .all)])
        let result = await engine.run(context: cluster.context(mode: .apply, concurrency: 4, clock: VirtualClock()))
        #expect(result.outcome == .succeeded)
        #expect(log.maxRunning <= 4)
        #expect(log.maxRunning >= 2)
    }

    @Test func serialPhasesRunOneHostAtATimeInInventoryOrder() async {
        let cluster = FakeCluster(count: 5)
        let log = EventLog()
        let engine = Engine(phases: [
            ScheduledPhase(phase: ValuePhase(name: "s", execution: .serial, log: log), selector: .all)
        ])
        _ = await engine.run(context: cluster.context(mode: .apply))
        #expect(log.maxRunning == 1)
        #expect(log.all == (1...5).flatMap { ["start s node\($0)", "end s node\($0)"] })
    }

    @Test func aVerificationThatTimesOutInsideAnActionExitsAsAGate() {
        let gate = EngineError.gateFailed(
            phase: "metallb", gate: "the API accepts cairn.yaml", reason: "webhook", waited: .seconds(30))
        let inAction = EngineError.hostsFailed(
            phase: "metallb", step: .apply,
            failures: [HostFailure(host: "cp1", phase: "metallb", action: "apply", error: gate)])
        #expect(inAction.exitCode == .gateTimeout)
        let mixed = EngineError.hostsFailed(
            phase: "metallb", step: .apply,
            failures: [
                HostFailure(host: "cp1", phase: "metallb", action: "apply", error: gate),
                HostFailure(
                    host: "cp2", phase: "metallb", action: "apply", error: EngineError.internalInconsistency("x")),
            ])
        #expect(mixed.exitCode == .failure)
    }

    @Test func failuresAreAggregatedAcrossHostsAndStopLaterPhases() async {
        let cluster = FakeCluster(count: 4)
        let log = EventLog()
        let engine = Engine(phases: [
            ScheduledPhase(phase: ValuePhase(name: "first", log: log), selector: .all),
            ScheduledPhase(
                phase: ValuePhase(name: "broken", desired: "b", log: log, failOn: ["node2", "node4"]), selector: .all),
            ScheduledPhase(phase: ValuePhase(name: "never", desired: "c", log: log), selector: .all),
        ])
        let result = await engine.run(context: cluster.context(mode: .apply))
        #expect(result.outcome == .failed)
        guard case EngineError.hostsFailed(let phase, .apply, let failures)? = result.error as? EngineError else {
            Issue.record("expected hostsFailed, got \(String(describing: result.error))")
            return
        }
        #expect(phase == "broken")
        #expect(Set(failures.map(\.host)) == ["node2", "node4"])
        let report = (result.error as! EngineError).details.joined(separator: "\n")
        #expect(report.contains("node2: set value to b: `set-value` failed on node2 (exit status 1)"))
        #expect(report.contains("  | no space left on device"))
        #expect(!log.all.contains { $0.contains(" never ") })
        // Clean-ups of the started phases, newest first.
        #expect(log.all.suffix(2) == ["cleanup broken", "cleanup first"])
    }

    @Test func aFailedSerialHostStopsTheRemainingHosts() async {
        let cluster = FakeCluster(count: 4)
        let log = EventLog()
        let engine = Engine(phases: [
            ScheduledPhase(
                phase: ValuePhase(name: "s", execution: .serial, log: log, failOn: ["node2"]), selector: .all)
        ])
        let result = await engine.run(context: cluster.context(mode: .apply))
        #expect(result.outcome == .failed)
        #expect(log.all.filter { $0.hasPrefix("start") } == ["start s node1", "start s node2"])
    }

    @Test func unreachableHostsGiveExitCode68() async {
        let cluster = FakeCluster(count: 3)
        cluster.provider.unreachable = ["node3"]
        let engine = Engine(phases: [ScheduledPhase(phase: ValuePhase(name: "p", log: EventLog()), selector: .all)])
        let result = await engine.run(context: cluster.context(mode: .apply))
        let error = result.error as? EngineError
        #expect(error?.exitCode == .unreachable)
        #expect(error?.summary.contains("gathering facts on 1 host: node3") == true)
    }

    @Test func gateTimeoutFailsWithExitCode75AndTheLastReason() async {
        let cluster = FakeCluster(count: 2)
        let clock = VirtualClock()
        let phase = ValuePhase(
            name: "g", gateOutcomes: [.notYet("node2 NotReady: cni not initialised")],
            gateTimeout: .seconds(30), log: EventLog())
        let engine = Engine(phases: [ScheduledPhase(phase: phase, selector: .all)])
        let result = await engine.run(context: cluster.context(mode: .apply, clock: clock))
        let error = result.error as? EngineError
        #expect(error?.exitCode == .gateTimeout)
        #expect(error?.summary.contains("node2 NotReady: cni not initialised") == true)
        // Backoff grows and is capped.
        let gateSleeps = clock.sleeps.filter { $0 >= .milliseconds(250) }
        #expect(gateSleeps.prefix(4) == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2)])
        #expect(gateSleeps.allSatisfy { $0 <= .seconds(5) })
    }

    @Test func gatePassesAfterRetries() async {
        let cluster = FakeCluster(count: 1)
        let phase = ValuePhase(
            name: "g", gateOutcomes: [.notYet("a"), .notYet("b"), .passed("all good")], log: EventLog())
        let events = RecordingEventSink()
        let result = await Engine(phases: [ScheduledPhase(phase: phase, selector: .all)])
            .run(context: cluster.context(mode: .apply, events: events))
        #expect(result.outcome == .succeeded)
        #expect(
            events.events.contains {
                if case .gateFinished(_, _, true, "all good", _) = $0 { return true }
                return false
            })
    }

    @Test func planEqualsTheApplyThatFollows() async {
        let cluster = FakeCluster(count: 5)
        let log = EventLog()
        let phases = [
            ScheduledPhase(phase: ValuePhase(name: "one", desired: "x", log: log), selector: .all),
            ScheduledPhase(
                phase: ValuePhase(name: "two", desired: "x", execution: .serial, log: log),
                selector: .roles(["control-plane"])),
        ]
        let planEvents = RecordingEventSink()
        let plan = await Engine(phases: phases).run(context: cluster.context(mode: .plan, events: planEvents))
        #expect(plan.changesPending)
        #expect(log.all.isEmpty, "plan must not perform anything")
        let applyEvents = RecordingEventSink()
        _ = await Engine(phases: phases).run(context: cluster.context(mode: .apply, events: applyEvents))
        // Phase two's facts predate phase one in plan mode, so its plan is marked predicted;
        // here phase one's change makes phase two's unnecessary, which the apply then skips.
        let planned = planEvents.plannedActions
        let performed = applyEvents.performedActions
        let predicted = planEvents.events.flatMap { event -> [PlannedAction] in
            if case .phasePlanned(_, let actions, _, _) = event { return actions.filter(\.predicted) }
            return []
        }
        #expect(predicted.count == 3)
        #expect(planned.count == 8)
        // Every action applied was planned; the only planned ones not applied are predicted ones.
        #expect(performed.sorted() == (1...5).map { ActionRecord(host: "node\($0)", summary: "set value to x") })
        #expect(Set(performed).isSubset(of: Set(planned)))
    }

    @Test func planOfIndependentPhasesIsExactlyWhatApplyDoes() async {
        let cluster = FakeCluster(count: 6)
        let phases = [
            ScheduledPhase(phase: ValuePhase(name: "one", desired: "x", log: EventLog()), selector: .roles(["worker"])),
            ScheduledPhase(
                phase: ValuePhase(name: "two", desired: "x", execution: .serial, log: EventLog()),
                selector: .roles(["etcd"])),
        ]
        let planEvents = RecordingEventSink()
        _ = await Engine(phases: phases).run(context: cluster.context(mode: .plan, events: planEvents))
        let applyEvents = RecordingEventSink()
        _ = await Engine(phases: phases).run(context: cluster.context(mode: .apply, events: applyEvents))
        #expect(planEvents.plannedActions.sorted() == applyEvents.performedActions.sorted())
        #expect(applyEvents.performedActions.count == 6)
        let again = RecordingEventSink()
        let rerun = await Engine(phases: phases).run(context: cluster.context(mode: .plan, events: again))
        #expect(!rerun.changesPending)
        #expect(again.plannedActions.isEmpty)
    }

    @Test func factGatheringIsOneRoundTripPerHostPerPhase() async {
        let cluster = FakeCluster(count: 4)
        let phases = (1...3).map {
            ScheduledPhase(phase: ValuePhase(name: "p\($0)", desired: "old", log: EventLog()), selector: .all)
        }
        _ = await Engine(phases: phases).run(context: cluster.context(mode: .plan))
        for executor in cluster.executors {
            #expect(executor.recordedCalls.count == 3, "host \(executor.hostName): \(executor.recordedCalls)")
            #expect(executor.unexpectedCalls.isEmpty)
        }
    }

    /// Facts are asked for at the start, every phase at once; a phase after a change asks again
    /// (facts read before an action are stale), one before it does not.
    @Test func prefetchedFactsAreUsedUntilSomethingChanges() async {
        let cluster = FakeCluster(count: 2)
        let log = EventLog()
        let phases = [
            ScheduledPhase(phase: ValuePhase(name: "p1", desired: "new", log: log), selector: .all),
            ScheduledPhase(phase: ValuePhase(name: "p2", desired: "new", log: log), selector: .all),
        ]
        let result = await Engine(phases: phases).run(context: cluster.context(mode: .apply))
        #expect(result.outcome == .succeeded)
        // p2 saw the value p1 set: it planned nothing.
        #expect(result.phaseOutcomes.map(\.outcome) == [.changed, .unchanged])
        for executor in cluster.executors {
            let facts = executor.recordedCalls.filter { $0.contains("facts-") }
            #expect(facts.count == 3, "host \(executor.hostName): \(executor.recordedCalls)")
            #expect(executor.unexpectedCalls.isEmpty)
        }
    }

    /// A phase with nothing to do verifies beside the next phases; its failing gate fails the run
    /// under its own name, and a later change waits for it (here: never starts).
    @Test func aDeferredGateThatFailsStopsTheRunBeforeAnyChange() async {
        let cluster = FakeCluster(count: 2, value: "ok")
        let log = EventLog()
        let phases = [
            ScheduledPhase(
                phase: ValuePhase(
                    name: "quorum", gateOutcomes: [.notYet("1 of 3 members healthy")], gateTimeout: .seconds(5),
                    log: log), selector: .all),
            ScheduledPhase(phase: ValuePhase(name: "later", desired: "new", log: log), selector: .all),
        ]
        let result = await Engine(phases: phases).run(context: cluster.context(mode: .apply))
        let error = result.error as? EngineError
        #expect(error?.exitCode == .gateTimeout)
        #expect(error?.summary.contains("1 of 3 members healthy") == true)
        #expect(result.phaseOutcomes.first?.outcome == .failed)
        #expect(!log.all.contains { $0.hasPrefix("start later") })
    }

    @Test func hookPhaseRunsOnlyWhereItsCheckFails() async throws {
        let executors = [FakeHostExecutor(hostName: "a"), FakeHostExecutor(hostName: "b")]
        executors[0].expect("cairn-check-motd", status: 0)
        executors[1].expect("cairn-check-motd", status: 1)
        executors[1].expect("cairn-hook-motd", status: 0)
        let hosts = [
            EngineHost(name: "a", roles: ["worker"], index: 0), EngineHost(name: "b", roles: ["worker"], index: 1),
        ]
        let playbook = try Playbook.load(
            yaml: """
                apiVersion: cairn.dev/v1alpha1
                kind: Playbook
                phases:
                  - name: motd
                    hosts: {roles: [worker]}
                    run: echo hi > /etc/motd
                    check: grep -q hi /etc/motd
                """, file: "p.yaml", builtIns: [])
        let engine = Engine(phases: try playbook.schedule(builtIns: [:]))
        let result = await engine.run(
            context: RunContext(mode: .apply, hosts: hosts, executors: FakeExecutorProvider(executors)))
        #expect(result.outcome == .succeeded)
        #expect(executors.allSatisfy { $0.unexpectedCalls.isEmpty && $0.remainingExpectations.isEmpty })
    }
}

@Suite struct RunLockTests {
    func lockPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cairn-lock-\(UUID().uuidString)/run.lock").path
    }

    @Test func secondRunIsRefusedNamingTheOwnerAndAge() async throws {
        let path = lockPath()
        let first = RunLock(
            executor: LocalShellExecutor(hostName: "cp1"), path: path, runID: "run-1", owner: "alice@laptop pid 42")
        let second = RunLock(
            executor: LocalShellExecutor(hostName: "cp1"), path: path, runID: "run-2", owner: "bob@ci pid 7")
        try await first.acquire(breakingStale: false)
        await #expect {
            try await second.acquire(breakingStale: false)
        } throws: { error in
            guard case EngineError.lockHeld(let host, let owner, let age, let run) = error else { return false }
            return host == "cp1" && owner == "alice@laptop pid 42" && age >= 0 && run == "run-1"
                && (error as! EngineError).summary.contains("alice@laptop pid 42")
        }
        try await first.release()
        try await second.acquire(breakingStale: false)
        // The age is whole seconds by the host's clock: 0, or 1 when a second boundary passed.
        let state = try await second.inspect()
        guard case .held(let age, let run, let owner) = state else {
            Issue.record("lock not held: \(state)")
            return
        }
        #expect(age <= 1 && run == "run-2" && owner == "bob@ci pid 7")
    }

    @Test func aLockWhoseOwnerProcessIsGoneIsTakenOver() async throws {
        let path = lockPath()
        let machine = ProcessInfo.processInfo.hostName
        // A process that has exited: spawn one and wait for it.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        let deadOwner = "root@\(machine) pid \(process.processIdentifier)"
        let dead = RunLock(executor: LocalShellExecutor(), path: path, runID: "run-killed", owner: deadOwner)
        try await dead.acquire(breakingStale: false)
        #expect(RunLock.ownerHasExited(deadOwner, thisMachine: machine))
        #expect(!RunLock.ownerHasExited("root@\(machine) pid \(getpid())", thisMachine: machine))
        #expect(!RunLock.ownerHasExited("root@elsewhere pid \(process.processIdentifier)", thisMachine: machine))
        let next = RunLock(
            executor: LocalShellExecutor(), path: path, runID: "run-next", owner: "root@\(machine) pid \(getpid())")
        let broken = try await next.acquire(
            breakingStale: false, ownerIsGone: { RunLock.ownerHasExited($0, thisMachine: machine) })
        #expect(broken == deadOwner)
    }

    /// A run whose lock another run took over learns who has it and when, stops, and leaves the
    /// lock alone (it is not its to release).
    @Test func aLockTakenOverWhileHeldStopsTheRunNamingTheNewOwner() async throws {
        let path = lockPath()
        let first = RunLock(executor: LocalShellExecutor(hostName: "cp1"), path: path, runID: "run-1", owner: "alice")
        try await first.acquire(breakingStale: false)
        let stop = RunStop()
        let reason = try await first.whileHeld(interval: .milliseconds(100), clock: SystemClock(), stop: stop) {
            let second = RunLock(
                executor: LocalShellExecutor(hostName: "cp1"), path: path, runID: "run-2", owner: "bob@ci pid 7",
                staleAfter: 0)
            try await second.acquire(breakingStale: true)
            for _ in 0..<200 where stop.reason == nil { try await Task.sleep(for: .milliseconds(25)) }
            return stop.reason.map { "\($0)" }
        }
        guard case EngineError.lockLost(let host, .takenOver(let run, let owner, let since))? = stop.reason else {
            Issue.record("expected the lock to be lost to run-2, got \(String(describing: reason))")
            return
        }
        #expect(host == "cp1" && run == "run-2" && owner == "bob@ci pid 7" && since != nil)
        let summary = (stop.reason as? EngineError)?.summary ?? ""
        #expect(summary.hasPrefix("lock lost: taken by run run-2 (bob@ci pid 7) at 20"), "\(summary)")
        // Still run-2's lock. It may read as stale: run-2 never renews it, and on a loaded machine
        // this test can take longer than the 60 s after which an unrenewed lock is stale.
        switch try await first.inspect() {
        case .held(_, let holder, _), .stale(_, let holder, _): #expect(holder == "run-2")
        default: Issue.record("the new owner's lock was released")
        }
    }

    /// A live lock is taken only from the run named (`--take-lock-from`), never by accident.
    @Test func aLiveLockIsTakenOnlyFromTheRunNamed() async throws {
        let path = lockPath()
        let first = RunLock(executor: LocalShellExecutor(hostName: "cp1"), path: path, runID: "run-1", owner: "alice")
        try await first.acquire(breakingStale: false)
        let second = RunLock(executor: LocalShellExecutor(hostName: "cp1"), path: path, runID: "run-2", owner: "bob")
        await #expect(throws: EngineError.self) { try await second.acquire(breakingStale: true, takingOver: "run-9") }
        #expect(try await second.acquire(breakingStale: false, takingOver: "run-1") == "alice")
        await #expect(throws: EngineError.self) { try await first.heartbeat() }
    }

    @Test func aLockFileRemovedByHandIsALostLock() async throws {
        let path = lockPath()
        let lock = RunLock(executor: LocalShellExecutor(hostName: "cp1"), path: path, runID: "run-1", owner: "alice")
        try await lock.acquire(breakingStale: false)
        try FileManager.default.removeItem(atPath: path)
        await #expect {
            try await lock.heartbeat()
        } throws: { error in
            guard case EngineError.lockLost("cp1", .removed) = error else { return false }
            return (error as! EngineError).summary.contains("was removed")
        }
    }

    /// Heartbeats that keep failing: past the time another run would call the lock stale, the
    /// run stops trusting it.
    @Test func heartbeatsFailingForTooLongStopTheRun() async throws {
        let unreachable = FakeHostExecutor(hostName: "cp1")
        unreachable.expect("cairn-lock", repeats: true, stdout: "", stderr: "connection refused", status: 255)
        let lock = RunLock(executor: unreachable, runID: "run-1", owner: "alice", staleAfter: 1)
        let stop = RunStop()
        _ = try await lock.whileHeld(interval: .milliseconds(100), clock: SystemClock(), stop: stop) {
            for _ in 0..<200 where stop.reason == nil { try await Task.sleep(for: .milliseconds(25)) }
            return 0
        }
        guard case EngineError.lockLost("cp1", .notRenewed(let seconds, _))? = stop.reason else {
            Issue.record("expected the run to stop, got \(String(describing: stop.reason))")
            return
        }
        #expect(seconds >= 0)
    }

    /// A lock taken by `owner` and never renewed (stale at once), and the run that finds it.
    func staleLock(of owner: String) async throws -> (dead: RunLock, next: RunLock) {
        let path = lockPath()
        let dead = RunLock(executor: LocalShellExecutor(), path: path, runID: "run-dead", owner: owner, staleAfter: 0)
        try await dead.acquire(breakingStale: false)
        let next = RunLock(executor: LocalShellExecutor(), path: path, runID: "run-new", owner: "me", staleAfter: 0)
        return (dead, next)
    }

    @Test func staleLockIsReportedAndBrokenOnlyOnRequest() async throws {
        let (dead, next) = try await staleLock(of: "killed run")
        await #expect(throws: EngineError.self) { try await next.acquire(breakingStale: false) }
        try await next.acquire(breakingStale: true)
        // The dead run, if it came back, finds it lost the lock.
        await #expect(throws: EngineError.self) { try await dead.heartbeat() }
        try await next.heartbeat()
        try await next.release()
        #expect(try await next.inspect() == .free)
    }

    /// A stale lock whose owner is a process of this machine that has exited (a killed run) is
    /// taken without --break-lock: nobody can be holding it.
    @Test func staleLockOfAnExitedLocalRunIsTaken() async throws {
        let (_, next) = try await staleLock(of: "root@here pid 1")
        let taken = try await next.acquire(breakingStale: false, ownerIsGone: { $0 == "root@here pid 1" })
        #expect(taken == "root@here pid 1")
        try await next.release()
    }
}
