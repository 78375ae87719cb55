import CairnCore
import CairnEngine
import Foundation

/// Runs phases through the real engine against fake hosts: each host answers only the commands
/// a test told it to expect (by exact argv) and records every upload, so a test pins exactly what
/// a phase sends to hosts — and fails on anything else.
public final class PhaseHarness: @unchecked Sendable {
    public let hosts: [EngineHost]
    public let executors: [String: FakeHostExecutor]
    public let provider: FakeExecutorProvider
    public let clock = VirtualClock()
    public let values = RunValues()
    public let redactor = Redactor()
    public let stateDirectory: URL?

    /// `hosts`: names and roles, in inventory order.
    public init(hosts: [(name: String, roles: [String])], stateDirectory: URL? = nil) {
        self.hosts = hosts.enumerated().map { EngineHost(name: $1.name, roles: Set($1.roles), index: $0) }
        let executors = hosts.map { FakeHostExecutor(hostName: $0.name) }
        self.executors = Dictionary(uniqueKeysWithValues: executors.map { ($0.hostName, $0) })
        provider = FakeExecutorProvider(executors)
        self.stateDirectory = stateDirectory
    }

    public subscript(_ host: String) -> FakeHostExecutor { executors[host]! }

    /// Runs `phases` (each on its selector's hosts) in `mode`; the events it emitted.
    @discardableResult
    public func run(_ phases: [(any Phase, HostSelector)], mode: RunMode = .apply) async -> (
        result: RunResult, events: RecordingEventSink
    ) {
        let events = RecordingEventSink()
        let context = RunContext(
            mode: mode, hosts: hosts, executors: provider, clock: clock, redactor: redactor, events: events,
            stateDirectory: stateDirectory, values: values)
        let engine = Engine(phases: phases.map { ScheduledPhase(phase: $0.0, selector: $0.1) })
        return (await engine.run(context: context), events)
    }

    /// Runs one phase on `selector`'s hosts.
    @discardableResult
    public func run(_ phase: any Phase, on selector: HostSelector = .all, mode: RunMode = .apply) async -> (
        result: RunResult, events: RecordingEventSink
    ) {
        await run([(phase, selector)], mode: mode)
    }

    /// Commands that were not expected, on any host ("host: command").
    public var unexpectedCalls: [String] {
        executors.values.flatMap { executor in executor.unexpectedCalls.map { "\(executor.hostName): \($0)" } }.sorted()
    }

    /// Expected commands that were never sent ("host: command").
    public var unusedExpectations: [String] {
        executors.values.flatMap { executor in executor.remainingExpectations.map { "\(executor.hostName): \($0)" } }
            .sorted()
    }
}

/// A phase without its gate, for tests of what a phase does (its gate is tested on its own).
public struct WithoutGate<Wrapped: Phase>: Phase {
    public typealias Facts = Wrapped.Facts
    public let phase: Wrapped

    public init(_ phase: Wrapped) {
        self.phase = phase
    }

    public var name: String { phase.name }
    public var title: String { phase.title }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> Wrapped.Facts
    {
        try await phase.gatherFacts(host: host, executor: executor, context: context)
    }

    public func plan(facts: [EngineHost: Wrapped.Facts], context: PhaseContext) throws -> PhasePlan {
        try phase.plan(facts: facts, context: context)
    }
}
