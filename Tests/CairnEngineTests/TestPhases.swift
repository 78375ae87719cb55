import CairnCore
import CairnEngine
import CairnTesting
import Foundation

/// A phase for engine tests: asks each host for a value with one command, plans one action
/// per host whose value differs from `desired`, and records what happened.
struct ValuePhase: Phase {
    let name: String
    var desired = "ok"
    var execution: Execution = .parallel
    var gateOutcomes: [Gate.Outcome]? = nil
    var gateTimeout: Duration = .seconds(10)
    var log: EventLog
    var failOn: Set<String> = []

    var title: String { "Value phase \(name)" }

    struct Facts: Sendable, Codable { let value: String }

    func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> Facts {
        try await executor.facts(
            RemoteCommand.script("printf '{\"value\":\"%s\"}' \"$(cat /value)\"", name: "facts-\(name)"), as: Facts.self
        )
    }

    func plan(facts: [EngineHost: Facts], context: PhaseContext) throws -> PhasePlan {
        let desired = self.desired
        let log = self.log
        let failOn = self.failOn
        let name = self.name
        let actions = context.hosts.filter { facts[$0]?.value != desired }.map { host in
            Action(host: host.name, summary: "set value to \(desired)", predicted: context.isPredicted(host.name)) {
                env in
                log.append("start \(name) \(host.name)")
                try await env.context.clock.sleep(for: .milliseconds(10))
                if failOn.contains(host.name) {
                    log.append("fail \(name) \(host.name)")
                    throw CommandFailure(
                        host: host.name, command: "set-value",
                        output: CommandOutput(
                            stdout: Data(), stderr: Data("disk full\nno space left on device\n".utf8), exitStatus: 1,
                            exitSignal: nil, duration: .zero))
                }
                try await env.host().runChecked(RemoteCommand("set-value", [desired]))
                log.append("end \(name) \(host.name)")
            }
        }
        return PhasePlan(actions: actions, execution: execution)
    }

    func gate(context: PhaseContext) -> Gate? {
        guard let outcomes = gateOutcomes else { return nil }
        let counter = Counter()
        return Gate(name: "\(name) converged", timeout: gateTimeout) { _ in
            let n = counter.next()
            return outcomes[min(n, outcomes.count - 1)]
        }
    }

    func cleanUp(context: PhaseContext) async {
        log.append("cleanup \(name)")
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String] = []
    private var running = 0
    private(set) var maxRunning = 0

    func append(_ entry: String) {
        lock.lock()
        defer { lock.unlock() }
        entries.append(entry)
        if entry.hasPrefix("start") {
            running += 1
            maxRunning = max(maxRunning, running)
        }
        if entry.hasPrefix("end") || entry.hasPrefix("fail") { running -= 1 }
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return entries
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}

/// A small in-memory cluster: hosts whose `/value` is what the fake executors answer.
final class FakeCluster: @unchecked Sendable {
    let hosts: [EngineHost]
    let executors: [FakeHostExecutor]
    let provider: FakeExecutorProvider
    private let lock = NSLock()
    private var values: [String: String]

    init(count: Int, value: String = "old") {
        hosts = (1...count).map {
            EngineHost(name: "node\($0)", roles: $0 <= 3 ? ["control-plane", "etcd"] : ["worker"], index: $0)
        }
        values = Dictionary(uniqueKeysWithValues: hosts.map { ($0.name, value) })
        executors = hosts.map { FakeHostExecutor(hostName: $0.name) }
        provider = FakeExecutorProvider(executors)
        for executor in executors {
            let name = executor.hostName
            executor.expect("facts-", repeats: true) { [unowned self] _, _ in
                CommandOutput(
                    stdout: Data("{\"value\":\"\(self.value(of: name))\"}".utf8), stderr: Data(), exitStatus: 0,
                    exitSignal: nil, duration: .zero)
            }
            executor.expect("set-value", repeats: true) { [unowned self] command, _ in
                if case .argv(let argv) = command.shape { self.set(name, argv[1]) }
                return CommandOutput(stdout: Data(), stderr: Data(), exitStatus: 0, exitSignal: nil, duration: .zero)
            }
        }
    }

    func value(of host: String) -> String {
        lock.lock()
        defer { lock.unlock() }
        return values[host]!
    }
    func set(_ host: String, _ value: String) {
        lock.lock()
        values[host] = value
        lock.unlock()
    }

    func context(
        mode: RunMode, concurrency: Int = 64, clock: VirtualClock = VirtualClock(),
        events: any RunEventSink = DiscardingEventSink()
    ) -> RunContext {
        RunContext(
            mode: mode, hosts: hosts, executors: provider, concurrency: concurrency, clock: clock, events: events)
    }
}

/// Asks the run to stop as soon as its first action starts (what a heartbeat that finds the
/// lock taken does), and keeps the run's notes.
final class StopOnFirstAction: RunEventSink, @unchecked Sendable {
    let stop: RunStop
    let reason: any Error
    private let lock = NSLock()
    private var kept: [String] = []

    init(stop: RunStop, reason: any Error) {
        self.stop = stop
        self.reason = reason
    }

    func emit(_ event: RunEvent) {
        switch event {
        case .actionStarted: stop.request(reason)
        case .note(_, _, let message): lock.withLock { kept.append(message) }
        default: break
        }
    }

    var notes: [String] { lock.withLock { kept } }
}
