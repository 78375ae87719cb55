import CairnCore
import Foundation
import Logging

/// A named unit of work: gather facts (read-only), plan actions, have them applied, verify.
///
/// Phases never mutate a host themselves: `plan` returns `Action`s and the engine performs
/// them (or, for `cairn plan`, only shows them). `gatherFacts` must be read-only and should
/// cost one round trip per host (one script printing JSON).
public protocol Phase: Sendable {
    associatedtype Facts: Sendable & Encodable

    var name: String { get }
    /// One line for progress output: "Prepare hosts (swap, kernel modules, sysctls)".
    var title: String { get }

    func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> Facts

    /// Plans from every selected host's facts. Phases that must act one host at a time return
    /// `execution: .serial`.
    func plan(facts: [EngineHost: Facts], context: PhaseContext) throws -> PhasePlan

    /// The verification gate run after the phase's actions (nil: nothing to verify).
    func gate(context: PhaseContext) -> Gate?

    /// Undoes half-done work when a later phase fails (reverse order). Most phases need none:
    /// their actions are idempotent and a rerun converges.
    func cleanUp(context: PhaseContext) async

    /// Fields of the facts that change by themselves (clocks, round trips): a saved plan neither
    /// records nor compares them.
    var volatileFactFields: Set<String> { get }
}

extension Phase {
    public func gate(context: PhaseContext) -> Gate? { nil }
    public func cleanUp(context: PhaseContext) async {}
    public var volatileFactFields: Set<String> { ["epoch", "operatorEpoch", "roundTrip"] }
}

/// Phases with nothing to learn from hosts.
public struct NoFacts: Sendable, Equatable, Codable {
    public init() {}
}

extension Phase where Facts == NoFacts {
    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> NoFacts
    {
        NoFacts()
    }
}

/// What a phase gets besides its facts.
public struct PhaseContext: Sendable {
    public let run: RunContext
    public let phaseName: String
    /// The hosts this phase was selected to work on, in inventory order.
    public let hosts: [EngineHost]
    /// Every host of the cluster, in inventory order.
    public let allHosts: [EngineHost]
    /// Hosts on which earlier phases of this run have planned changes that are not applied
    /// (only in `plan` mode): facts gathered there predate those changes.
    public let hostsWithPendingChanges: Set<String>

    public var isDryRun: Bool { run.mode == .plan }

    /// True when facts from `host` are stale because earlier phases will change it first;
    /// plans built on them say so (`Action.predicted`).
    public func isPredicted(_ host: String) -> Bool {
        isDryRun
            && (hostsWithPendingChanges.contains(host) || hostsWithPendingChanges.contains(RunContext.operatorHost))
    }

    public var logger: Logging.Logger {
        var logger = run.logger
        logger[metadataKey: "phase"] = "\(phaseName)"
        return logger
    }
}

/// A verification gate: a read-only check polled with backoff until it passes or its deadline.
public struct Gate: Sendable {
    public enum Outcome: Sendable, Equatable {
        case passed(String)
        case notYet(String)
    }

    public let name: String
    public let timeout: Duration
    public let initialDelay: Duration
    public let maximumDelay: Duration
    public let check: @Sendable (PhaseContext) async throws -> Outcome

    public init(
        name: String, timeout: Duration = .seconds(120), initialDelay: Duration = .milliseconds(250),
        maximumDelay: Duration = .seconds(5), check: @escaping @Sendable (PhaseContext) async throws -> Outcome
    ) {
        self.name = name
        self.timeout = timeout
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.check = check
    }
}
