import CairnCore
import Foundation
import Logging

/// A phase placed in a run: the phase, the hosts it works on, what it waits for.
public struct ScheduledPhase: Sendable {
    public let phase: any Phase
    public let selector: HostSelector
    public let dependencies: [String]

    public init(phase: any Phase, selector: HostSelector, dependencies: [String] = []) {
        self.phase = phase
        self.selector = selector
        self.dependencies = dependencies
    }

    public var name: String { phase.name }
}

/// What a run did.
public struct RunResult: Sendable {
    public let outcome: RunOutcome
    public let error: (any Error)?
    public let phaseOutcomes: [(phase: String, outcome: PhaseOutcome)]
    /// Plan mode: whether any phase has changes pending.
    public var changesPending: Bool { phaseOutcomes.contains { $0.outcome == .changed } }
}

/// Runs phases in order: for each, gather facts on its hosts, plan, then (apply mode)
/// perform the actions and pass the verification gate. On failure it stops scheduling new
/// work, lets running steps end, cleans up started phases in reverse order and reports
/// every failed host at once.
public struct Engine: Sendable {
    public let phases: [ScheduledPhase]

    public init(phases: [ScheduledPhase]) {
        self.phases = phases
    }

    public func run(context: RunContext) async -> RunResult {
        let started = context.clock.now
        context.events.emit(
            .runStarted(
                runID: context.runID, mode: context.mode, phases: phases.map(\.name),
                hosts: context.hosts.map(\.name)))
        var outcomes: [(phase: String, outcome: PhaseOutcome)] = []
        var startedPhases: [(ScheduledPhase, PhaseContext)] = []
        var pendingHosts: Set<String> = []
        var failure: (any Error)?
        if let follow = context.planToFollow, follow.plan.phases.map(\.name) != phases.map(\.name) {
            failure = SavedPlanError.otherPhases(recorded: follow.plan.phases.map(\.name), now: phases.map(\.name))
        }

        // Every phase's facts are asked for now, all at once: in a run where nothing changes (every
        // plan run, every converged apply) each phase finds its facts ready. An action makes them stale.
        let prefetch = FactPrefetch(phases: phases, context: context)
        // Gates of phases with nothing to do only verify: they run beside the next phases, and
        // anything that would change a host waits for them first.
        var deferredGates: [DeferredGate] = []
        defer {
            for gate in deferredGates { gate.task.cancel() }
        }

        for scheduled in phases where failure == nil {
            if let reason = context.stop.reason {
                failure = reason
                break
            }
            let hosts = scheduled.selector.select(from: context.hosts)
            let phaseContext = PhaseContext(
                run: context, phaseName: scheduled.name, hosts: hosts,
                allHosts: context.hosts, hostsWithPendingChanges: pendingHosts)
            let phaseStarted = context.clock.now
            context.events.emit(
                .phaseStarted(phase: scheduled.name, title: scheduled.phase.title, hosts: hosts.map(\.name)))
            startedPhases.append((scheduled, phaseContext))
            do {
                let plan = try await CurrentPhase.$name.withValue(scheduled.name) {
                    try await planPhase(scheduled.phase, context: phaseContext, prefetched: prefetch)
                }
                let outcome: PhaseOutcome = plan.isEmpty ? .unchanged : .changed
                if context.mode == .plan {
                    for action in plan.actions { pendingHosts.insert(action.host ?? RunContext.operatorHost) }
                } else if plan.isEmpty {
                    if let gate = scheduled.phase.gate(context: phaseContext) {
                        deferredGates.append(startGate(gate, phase: scheduled.name, context: phaseContext))
                    }
                } else {
                    if let failed = await firstFailure(of: &deferredGates) { throw failed }
                    try await CurrentPhase.$name.withValue(scheduled.name) {
                        try await apply(plan, phase: scheduled.name, context: phaseContext)
                        if let gate = scheduled.phase.gate(context: phaseContext) {
                            try await pass(gate, context: phaseContext)
                        }
                    }
                }
                outcomes.append((scheduled.name, outcome))
                context.events.emit(
                    .phaseFinished(
                        phase: scheduled.name, outcome: outcome,
                        duration: phaseStarted.duration(to: context.clock.now)))
            } catch {
                outcomes.append((scheduled.name, .failed))
                context.events.emit(
                    .phaseFinished(
                        phase: scheduled.name, outcome: .failed,
                        duration: phaseStarted.duration(to: context.clock.now)))
                // A stopped run fails for the reason it was stopped, whatever the action it
                // refused to start reported. A gate of an earlier phase that fails too names the
                // earlier cause (etcd without quorum, before the API phases that need it).
                failure = context.stop.reason ?? error
                var earlier = error as? DeferredGateFailure
                if earlier == nil { earlier = await firstFailure(of: &deferredGates) }
                if let earlier {
                    failure = context.stop.reason ?? earlier.error
                    outcomes = outcomes.map { $0.phase == earlier.phase ? ($0.phase, .failed) : $0 }
                }
                break
            }
        }
        if failure == nil, let failed = await firstFailure(of: &deferredGates) {
            failure = context.stop.reason ?? failed.error
            outcomes = outcomes.map { $0.phase == failed.phase ? ($0.phase, .failed) : $0 }
        }
        await prefetch.finish()

        let stopped = context.stop.reason
        if let stopped {
            let message = (stopped as? any CairnReportableError)?.summary ?? "\(stopped)"
            context.events.emit(.note(phase: nil, host: nil, message: context.redactor.redact(message)))
        }
        // Clean-up changes hosts too: a stopped run leaves them to whoever holds the lock now.
        if failure != nil && context.mode == .apply && stopped == nil {
            for (scheduled, phaseContext) in startedPhases.reversed() {
                context.events.emit(.cleanUp(phase: scheduled.name))
                await scheduled.phase.cleanUp(context: phaseContext)
            }
        }
        let outcome: RunOutcome = failure == nil ? .succeeded : .failed
        context.events.emit(.runFinished(outcome: outcome, duration: started.duration(to: context.clock.now)))
        return RunResult(outcome: outcome, error: failure, phaseOutcomes: outcomes)
    }

    // MARK: Facts and plan

    /// Plans from facts of every selected host: those asked for at the start of the run when
    /// nothing has changed since, else gathered now (in parallel, one task per host).
    func planPhase<P: Phase>(_ phase: P, context: PhaseContext, prefetched: FactPrefetch? = nil) async throws
        -> PhasePlan
    {
        let run = context.run
        var gathered = await prefetched?.facts(of: phase, context: context)
        if gathered == nil {
            gathered = await FactPrefetch.gather(phase, context: context)
        }
        var facts: [EngineHost: P.Facts] = [:]
        var failures: [HostFailure] = []
        for (host, result) in zip(context.hosts, gathered!) {
            switch result {
            case .success(let value):
                facts[host] = value.facts
                run.events.emit(.factsGathered(phase: phase.name, host: host.name, duration: value.duration))
            case .failure(let error):
                failures.append(HostFailure(host: host.name, phase: phase.name, action: nil, error: error))
            case nil: break
            }
        }
        if !failures.isEmpty {
            throw EngineError.hostsFailed(phase: phase.name, step: .facts, failures: failures)
        }
        let plan: PhasePlan
        if run.planRecorder != nil || run.planToFollow != nil {
            plan = try planRecorded(phase, facts: facts, context: context)
        } else {
            plan = try phase.plan(facts: facts, context: context)
        }
        run.events.emit(
            .phasePlanned(
                phase: phase.name,
                actions: plan.actions.map {
                    PlannedAction(
                        host: $0.host ?? RunContext.operatorHost, summary: run.redactor.redact($0.summary),
                        details: $0.details.map(run.redactor.redact), predicted: $0.predicted)
                },
                notes: plan.notes, execution: plan.execution))
        return plan
    }

    /// Plans as `planPhase` does, and records the facts and actions (`plan --out`), or holds
    /// them against the plan being followed (`apply PLAN`): facts that moved, or actions that
    /// differ, stop the run before this phase changes anything. Where facts match and the plan
    /// was made in this process, its plan object is performed as it is (never planned twice).
    func planRecorded<P: Phase>(_ phase: P, facts: [EngineHost: P.Facts], context: PhaseContext) throws -> PhasePlan {
        let run = context.run
        var seen: [String: JSONValue] = [:]
        for (host, value) in facts { seen[host.name] = try JSONValue.of(value, dropping: phase.volatileFactFields) }
        func steps(_ plan: PhasePlan) -> [SavedPlan.Step] {
            plan.actions.map {
                SavedPlan.Step(
                    host: $0.host ?? RunContext.operatorHost, summary: run.redactor.redact($0.summary),
                    details: $0.details.map(run.redactor.redact), predicted: $0.predicted)
            }
        }
        if let recorder = run.planRecorder, run.mode == .plan {
            let plan = try phase.plan(facts: facts, context: context)
            let predated = context.hosts.contains { context.isPredicted($0.name) }
            recorder.record(
                SavedPlan.PhaseEntry(
                    name: phase.name, factsPredateChanges: predated, facts: seen, actions: steps(plan),
                    notes: plan.notes),
                plan: plan)
            return plan
        }
        guard let follow = run.planToFollow, run.mode == .apply,
            let entry = follow.plan.phases.first(where: { $0.name == phase.name })
        else { return try phase.plan(facts: facts, context: context) }

        if !entry.factsPredateChanges {
            for host in Set(entry.facts.keys).union(seen.keys).sorted() {
                let recorded = entry.facts[host] ?? .null
                let current = seen[host] ?? .null
                if let difference = recorded.firstDifference(from: current) {
                    throw SavedPlanError.factChanged(
                        phase: phase.name, host: host, fact: difference.path.isEmpty ? "its facts" : difference.path,
                        recorded: run.redactor.redact(difference.mine), current: run.redactor.redact(difference.theirs))
                }
            }
            if let live = follow.livePlans[phase.name] { return live }
        }
        let plan = try phase.plan(facts: facts, context: context)
        // Predicted actions were planned before earlier phases ran: their summaries must match;
        // the rest must match in every detail shown.
        func key(_ step: SavedPlan.Step) -> String {
            "\(step.host): \(step.summary)"
                + (entry.factsPredateChanges ? "" : step.details.map { "\n  " + $0 }.joined())
        }
        let wanted = entry.actions.map(key)
        let now = steps(plan).map(key)
        if wanted != now {
            var missing = wanted
            var unplanned: [String] = []
            for item in now {
                if let index = missing.firstIndex(of: item) {
                    missing.remove(at: index)
                } else {
                    unplanned.append(item)
                }
            }
            if missing.isEmpty && unplanned.isEmpty { unplanned = ["the same actions in another order"] }
            let line = { (text: String) in String(text.split(separator: "\n").first ?? "") }
            throw SavedPlanError.actionsDiffer(
                phase: phase.name, missing: missing.map(line), unplanned: unplanned.map(line))
        }
        return plan
    }

    // MARK: Apply

    /// Performs a plan: operator-side actions first; then, for a parallel plan, each host's
    /// actions in order with hosts in parallel; for a serial plan, every action in plan order.
    func apply(_ plan: PhasePlan, phase: String, context: PhaseContext) async throws {
        guard !plan.isEmpty else { return }
        let run = context.run
        var failures: [HostFailure] = []

        let operatorActions = plan.actions.filter { $0.host == nil }
        for action in operatorActions {
            if let failure = await perform(action, executor: nil, phase: phase, context: context) {
                throw EngineError.hostsFailed(phase: phase, step: .apply, failures: [failure])
            }
        }

        if plan.execution == .serial {
            // One action at a time, in plan order: a serial plan may alternate hosts (add a
            // member on one, start it on another, promote it from the first).
            var executors: [String: any HostExecutor] = [:]
            for action in plan.actions {
                guard let name = action.host else { continue }
                guard let host = run.host(named: name) else {
                    throw EngineError.internalInconsistency("action for unknown host \(name)")
                }
                if executors[name] == nil {
                    do {
                        executors[name] = try await run.executors.executor(for: host)
                    } catch {
                        throw EngineError.hostsFailed(
                            phase: phase, step: .apply,
                            failures: [HostFailure(host: name, phase: phase, action: action.summary, error: error)])
                    }
                }
                if let failure = await perform(action, executor: executors[name], phase: phase, context: context) {
                    throw EngineError.hostsFailed(phase: phase, step: .apply, failures: [failure])
                }
            }
            return
        }

        let hostNames = plan.hostsInOrder.compactMap { $0 }
        let limit = run.concurrency
        let results = await forEach(hostNames, limit: limit, stopOnFailure: true) { name -> Void in
            guard let host = run.host(named: name) else {
                throw EngineError.internalInconsistency("action for unknown host \(name)")
            }
            let executor: any HostExecutor
            do {
                executor = try await run.executors.executor(for: host)
            } catch {
                throw HostFailure(host: name, phase: phase, action: nil, error: error)
            }
            for action in plan.actions where action.host == name {
                if let failure = await perform(action, executor: executor, phase: phase, context: context) {
                    throw failure
                }
            }
        }
        for (name, result) in zip(hostNames, results) {
            if case .failure(let error) = result {
                failures.append(
                    error as? HostFailure ?? HostFailure(host: name, phase: phase, action: nil, error: error))
            }
        }
        if !failures.isEmpty {
            throw EngineError.hostsFailed(phase: phase, step: .apply, failures: failures)
        }
    }

    /// The one place where a mutation happens.
    private func perform(_ action: Action, executor: (any HostExecutor)?, phase: String, context: PhaseContext) async
        -> HostFailure?
    {
        let run = context.run
        let host = action.host ?? RunContext.operatorHost
        let summary = run.redactor.redact(action.summary)
        if let reason = run.stop.reason {
            return HostFailure(host: host, phase: phase, action: summary, error: reason)
        }
        run.events.emit(.actionStarted(phase: phase, host: host, summary: summary))
        run.factCache.invalidate()
        let started = run.clock.now
        defer { run.factCache.invalidate() }
        do {
            try await action.perform(ActionEnvironment(executor: executor, context: run, phase: phase))
            run.events.emit(
                .actionFinished(
                    phase: phase, host: host, summary: summary,
                    duration: started.duration(to: run.clock.now), error: nil))
            return nil
        } catch {
            let failure = HostFailure(host: host, phase: phase, action: summary, error: error)
            run.events.emit(
                .actionFinished(
                    phase: phase, host: host, summary: summary,
                    duration: started.duration(to: run.clock.now),
                    error: run.redactor.redact(failure.message)))
            return failure
        }
    }

    // MARK: Gates

    /// A gate running beside later phases.
    struct DeferredGate {
        let phase: String
        let task: Task<(any Error)?, Never>
    }

    func startGate(_ gate: Gate, phase: String, context: PhaseContext) -> DeferredGate {
        let task = Task {
            await CurrentPhase.$name.withValue(phase) { () async -> (any Error)? in
                do {
                    try await pass(gate, context: context)
                    return nil
                } catch {
                    return error
                }
            }
        }
        return DeferredGate(phase: phase, task: task)
    }

    /// A deferred gate that did not pass, with its phase.
    struct DeferredGateFailure: Error {
        let phase: String
        let error: any Error
    }

    /// Waits for every deferred gate and forgets them; the first that failed, in phase order.
    func firstFailure(of gates: inout [DeferredGate]) async -> DeferredGateFailure? {
        var first: DeferredGateFailure?
        for gate in gates {
            if let error = await gate.task.value, first == nil {
                first = DeferredGateFailure(phase: gate.phase, error: error)
            }
        }
        gates = []
        return first
    }

    /// Polls `gate` with exponential backoff until it passes or its deadline passes.
    func pass(_ gate: Gate, context: PhaseContext) async throws {
        let clock = context.run.clock
        let events = context.run.events
        let started = clock.now
        let timeout = context.run.gateTimeout ?? gate.timeout
        let deadline = started.advanced(by: timeout)
        var delay = gate.initialDelay
        var lastReason = ""
        events.emit(.gateStarted(phase: context.phaseName, gate: gate.name))
        while true {
            if let reason = context.run.stop.reason { throw reason }
            let outcome: Gate.Outcome
            do {
                outcome = try await gate.check(context)
            } catch {
                let message = (error as? any CairnReportableError)?.summary ?? "\(error)"
                outcome = .notYet(message)
            }
            switch outcome {
            case .passed(let message):
                events.emit(
                    .gateFinished(
                        phase: context.phaseName, gate: gate.name, passed: true, message: message,
                        duration: started.duration(to: clock.now)))
                return
            case .notYet(let reason):
                if reason != lastReason {
                    events.emit(.gateWaiting(phase: context.phaseName, gate: gate.name, reason: reason))
                    lastReason = reason
                }
            }
            let remaining = clock.now.duration(to: deadline)
            if remaining <= .zero {
                events.emit(
                    .gateFinished(
                        phase: context.phaseName, gate: gate.name, passed: false, message: lastReason,
                        duration: started.duration(to: clock.now)))
                throw EngineError.gateFailed(
                    phase: context.phaseName, gate: gate.name, reason: lastReason, waited: timeout)
            }
            try await clock.sleep(for: min(delay, remaining))
            delay = min(delay * 2, gate.maximumDelay)
        }
    }
}

extension HostFailure: Error {}

/// Runs `body` for each item with at most `limit` running at once. With `stopOnFailure`, no
/// new item starts after one fails (running ones finish); items never started get nil.
func forEach<Item: Sendable, Value: Sendable>(
    _ items: [Item], limit: Int, stopOnFailure: Bool,
    _ body: @escaping @Sendable (Item) async throws -> Value
) async -> [Result<Value, any Error>?] {
    var results = [Result<Value, any Error>?](repeating: nil, count: items.count)
    await withTaskGroup(of: (Int, Result<Value, any Error>).self) { group in
        var next = 0
        var stopped = false
        func startNext() {
            guard !stopped, next < items.count else { return }
            let index = next
            let item = items[index]
            next += 1
            group.addTask {
                do { return (index, .success(try await body(item))) } catch { return (index, .failure(error)) }
            }
        }
        for _ in 0..<min(limit, items.count) { startNext() }
        for await (index, result) in group {
            results[index] = result
            if case .failure = result, stopOnFailure { stopped = true }
            startNext()
        }
    }
    return results
}
