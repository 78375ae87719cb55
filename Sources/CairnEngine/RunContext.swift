import CairnCore
import Foundation
import Logging

/// `plan` shows what `apply` would do; `apply` does it.
public enum RunMode: String, Sendable, Codable {
    case plan
    case apply
}

/// Everything a run needs, passed explicitly (no globals): hosts, how to reach them, where to
/// report, the clock, the limits. Sendable, shared by every phase and task of the run.
public struct RunContext: Sendable {
    public static let operatorHost = "operator"

    public let runID: String
    public let mode: RunMode
    public let hosts: [EngineHost]
    public let executors: any HostExecutorProvider
    /// Hosts worked on at once within a parallel phase.
    public let concurrency: Int
    public let clock: any EngineClock
    public let logger: Logger
    public let redactor: Redactor
    public let events: any RunEventSink
    /// Operator-side state directory (journal, PKI, kubeconfig…); nil in unit tests.
    public let stateDirectory: URL?
    /// Typed values phases share: the inventory, settings, results of earlier phases.
    public let values: RunValues
    /// Fact answers of this run, reusable until anything changes (see `FactCache`).
    public let factCache: FactCache
    /// Replaces every gate's own deadline (`--gate-timeout`), for slow sites or impatient tests.
    public let gateTimeout: Duration?
    /// Set when the run must start nothing more (its lock was lost).
    public let stop: RunStop
    /// `plan` records what it saw and planned here (for `--out`, and for an interactive apply).
    public let planRecorder: PlanRecorder?
    /// `apply` performs this plan and nothing else.
    public let planToFollow: PlanToFollow?

    public init(
        runID: String = RunContext.newRunID(), mode: RunMode, hosts: [EngineHost],
        executors: any HostExecutorProvider, concurrency: Int = 256,
        clock: any EngineClock = SystemClock(), logger: Logger = Logger(label: "cairn"),
        redactor: Redactor = Redactor(), events: any RunEventSink = DiscardingEventSink(),
        stateDirectory: URL? = nil, values: RunValues = RunValues(), gateTimeout: Duration? = nil,
        stop: RunStop = RunStop(), planRecorder: PlanRecorder? = nil, planToFollow: PlanToFollow? = nil
    ) {
        self.runID = runID
        self.mode = mode
        self.hosts = hosts.sorted()
        self.executors = executors
        self.concurrency = max(1, concurrency)
        self.clock = clock
        self.logger = logger
        self.redactor = redactor
        self.events = events
        self.stateDirectory = stateDirectory
        self.values = values
        self.factCache = FactCache()
        self.gateTimeout = gateTimeout
        self.stop = stop
        self.planRecorder = planRecorder
        self.planToFollow = planToFollow
    }

    /// A sortable, unique run identifier: `20261121T101500.123Z-3f9a`.
    public static func newRunID(now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
        return formatter.string(from: now) + "-" + String(format: "%04x", UInt16.random(in: 0...UInt16.max))
    }

    public func host(named name: String) -> EngineHost? {
        hosts.first { $0.name == name }
    }
}

/// A request, from outside the engine, that a run start nothing more: the action in flight
/// finishes, no other starts, and the run fails with `reason`.
public final class RunStop: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?

    public init() {}

    /// The first reason given wins.
    public func request(_ reason: any Error) {
        lock.withLock { if stored == nil { stored = reason } }
    }

    public var reason: (any Error)? { lock.withLock { stored } }
}

/// A small typed store for values shared across phases, safe to use from any task.
/// Keys are types, so two modules cannot collide on a string.
public final class RunValues: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [ObjectIdentifier: any Sendable] = [:]

    public init() {}

    public subscript<Key: RunValueKey>(key: Key.Type) -> Key.Value? {
        get {
            lock.lock()
            defer { lock.unlock() }
            return storage[ObjectIdentifier(key)] as? Key.Value
        }
        set {
            lock.lock()
            defer { lock.unlock() }
            storage[ObjectIdentifier(key)] = newValue
        }
    }

    /// The value, or a clear internal error naming the missing key.
    public func require<Key: RunValueKey>(_ key: Key.Type) throws -> Key.Value {
        guard let value = self[key] else {
            throw EngineError.internalInconsistency("run value \(Key.self) was not set")
        }
        return value
    }
}

public protocol RunValueKey {
    associatedtype Value: Sendable
}

/// Time as the engine sees it; tests substitute a virtual clock so gate deadlines and
/// backoff run instantly and deterministically.
public protocol EngineClock: Sendable {
    var now: ContinuousClock.Instant { get }
    func sleep(for duration: Duration) async throws
}

public struct SystemClock: EngineClock {
    public init() {}
    public var now: ContinuousClock.Instant { ContinuousClock.now }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// Facts already gathered in this run. Several phases ask hosts the same read-only question;
/// while no action has been performed anywhere since, the answer cannot have changed, so it is
/// reused. Any performed action empties the cache and moves its generation on (the engine calls
/// `invalidate`), which also tells the engine that facts read before it are stale.
public final class FactCache: @unchecked Sendable {
    private let lock = NSLock()
    /// Asked questions, answered or in flight: concurrent askers share one round trip.
    private var answers: [String: Task<any Sendable, any Error>] = [:]
    private var changes: UInt64 = 0

    public init() {}

    /// How many times anything was changed in this run (before, during or after an action).
    public var generation: UInt64 { lock.withLock { changes } }

    public func invalidate() {
        lock.withLock {
            answers.removeAll()
            changes &+= 1
        }
    }

    /// The output of `command` on the executor's host, run at most once while nothing changes.
    public func output(of command: RemoteCommand, on executor: any HostExecutor) async throws -> Data {
        try await value(for: executor.hostName + "\u{0}" + command.rendered) {
            try await executor.runChecked(command).stdout
        }
    }

    /// The value under `key` if it was asked for since the last change (waiting for it when in
    /// flight); nil otherwise, or when asking failed.
    public func existingValue<Value: Sendable>(for key: String, as type: Value.Type = Value.self) async -> Value? {
        guard let task = lock.withLock({ answers[key] }) else { return nil }
        return try? await task.value as? Value
    }

    /// Forgets the value under `key` (an answer that must not be reused, such as a gate's "not yet").
    public func forget(_ key: String) {
        lock.withLock { _ = answers.removeValue(forKey: key) }
    }

    /// The value under `key`, computed at most once while nothing changes; concurrent askers share
    /// one computation. A failure is not kept: the next asker computes again.
    public func value<Value: Sendable>(
        for key: String, computing compute: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        let task = lock.withLock {
            if let asked = answers[key] { return asked }
            let asking = Task<any Sendable, any Error> { try await compute() }
            answers[key] = asking
            return asking
        }
        do {
            guard let value = try await task.value as? Value else {
                throw EngineError.internalInconsistency("fact cache key \(key) holds another type")
            }
            return value
        } catch {
            lock.withLock { if answers[key] == task { answers[key] = nil } }
            throw error
        }
    }
}
