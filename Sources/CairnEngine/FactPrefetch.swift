import Foundation
import Synchronization

/// One host's facts for a phase, and how long the asking took.
struct GatheredFacts<Facts: Sendable>: Sendable {
    let facts: Facts
    let duration: Duration
}

/// Every phase's facts, asked for when the run starts, all phases at once.
///
/// Facts are read-only, so asking early changes nothing; they are only worth something while
/// nothing has changed since they were read. Each phase takes its facts when its turn comes if
/// the fact cache's generation is still the one the run started with (no action has been
/// performed anywhere); otherwise it gathers them again. In `plan` and in a converged `apply`
/// nothing changes, so the run waits for the slowest host's questions once instead of once per
/// phase. After the first change, prefetching stops asking.
final class FactPrefetch: Sendable {
    private let tasks: Mutex<[String: Task<(any Sendable)?, Never>]>
    private let generation: UInt64

    init(phases: [ScheduledPhase], context: RunContext) {
        let generation = context.factCache.generation
        let permits = Permits(context.concurrency)
        var tasks: [String: Task<(any Sendable)?, Never>] = [:]
        for scheduled in phases where tasks[scheduled.name] == nil {
            let phaseContext = PhaseContext(
                run: context, phaseName: scheduled.name, hosts: scheduled.selector.select(from: context.hosts),
                allHosts: context.hosts, hostsWithPendingChanges: [])
            let phase = scheduled.phase
            tasks[scheduled.name] = Task {
                await CurrentPhase.$name.withValue(scheduled.name) {
                    await Self.prefetch(phase, context: phaseContext, generation: generation, permits: permits)
                }
            }
        }
        self.tasks = Mutex(tasks)
        self.generation = generation
    }

    /// The phase's facts as asked for at the start, or nil when they are stale (something changed
    /// since), incomplete (a host did not answer: it is asked again) or never asked for.
    func facts<P: Phase>(of phase: P, context: PhaseContext) async -> [Result<GatheredFacts<P.Facts>, any Error>?]? {
        guard let task = tasks.withLock({ $0.removeValue(forKey: phase.name) }) else { return nil }
        guard context.run.factCache.generation == generation else {
            task.cancel()
            return nil
        }
        guard let answers = await task.value as? [Result<GatheredFacts<P.Facts>, any Error>?],
            context.run.factCache.generation == generation
        else { return nil }
        return answers
    }

    /// Stops asking and waits for questions in flight (they end before the sessions do).
    func finish() async {
        let remaining = tasks.withLock { tasks in
            defer { tasks.removeAll() }
            return Array(tasks.values)
        }
        for task in remaining { task.cancel() }
        for task in remaining { _ = await task.value }
    }

    /// Facts of `phase` on its hosts, gathered now (in parallel, one task per host).
    static func gather<P: Phase>(_ phase: P, context: PhaseContext) async -> [Result<
        GatheredFacts<P.Facts>, any Error
    >?] {
        await forEach(context.hosts, limit: context.run.concurrency, stopOnFailure: false) { host in
            try await gatherOne(phase, host: host, context: context)
        }
    }

    private static func gatherOne<P: Phase>(_ phase: P, host: EngineHost, context: PhaseContext) async throws
        -> GatheredFacts<P.Facts>
    {
        let run = context.run
        let started = run.clock.now
        let executor = try await run.executors.executor(for: host)
        let facts = try await phase.gatherFacts(host: host, executor: executor, context: context)
        return GatheredFacts(facts: facts, duration: started.duration(to: run.clock.now))
    }

    private struct Stale: Error {}

    private static func prefetch<P: Phase>(_ phase: P, context: PhaseContext, generation: UInt64, permits: Permits)
        async -> (any Sendable)?
    {
        let cache = context.run.factCache
        let answers = await forEach(context.hosts, limit: context.run.concurrency, stopOnFailure: true) { host in
            await permits.acquire()
            do {
                try Task.checkCancellation()
                guard cache.generation == generation else { throw Stale() }
                let gathered = try await gatherOne(phase, host: host, context: context)
                await permits.release()
                return gathered
            } catch {
                await permits.release()
                throw error
            }
        }
        let complete = answers.allSatisfy { if case .success = $0 { return true } else { return false } }
        guard complete, cache.generation == generation else { return nil }
        return answers
    }
}

/// At most `limit` holders at once; waiters are served in the order they came.
actor Permits {
    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ limit: Int) {
        available = max(1, limit)
    }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            available += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
