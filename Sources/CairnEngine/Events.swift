import CairnCore
import Foundation

/// Everything that happens during a run, in order. Progress output, the JSON event stream
/// and the journal are all observers of these events.
public enum RunEvent: Sendable {
    case runStarted(runID: String, mode: RunMode, phases: [String], hosts: [String])
    case phaseStarted(phase: String, title: String, hosts: [String])
    case factsGathered(phase: String, host: String, duration: Duration)
    case phasePlanned(phase: String, actions: [PlannedAction], notes: [String], execution: Execution)
    case actionStarted(phase: String, host: String, summary: String)
    case actionFinished(phase: String, host: String, summary: String, duration: Duration, error: String?)
    case gateStarted(phase: String, gate: String)
    case gateWaiting(phase: String, gate: String, reason: String)
    case gateFinished(phase: String, gate: String, passed: Bool, message: String, duration: Duration)
    case phaseFinished(phase: String, outcome: PhaseOutcome, duration: Duration)
    case cleanUp(phase: String)
    case runFinished(outcome: RunOutcome, duration: Duration)
    case note(phase: String?, host: String?, message: String)
}

/// A planned action as shown and journalled.
public struct PlannedAction: Sendable, Codable, Hashable {
    public let host: String
    public let summary: String
    public let details: [String]
    public let predicted: Bool
}

public enum PhaseOutcome: String, Sendable, Codable {
    /// Nothing needed doing.
    case unchanged
    /// Actions were applied (or, in plan mode, are pending).
    case changed
    case failed
    case skipped
}

public enum RunOutcome: String, Sendable, Codable {
    case succeeded
    case failed
}

public protocol RunEventSink: Sendable {
    func emit(_ event: RunEvent)
}

public struct DiscardingEventSink: RunEventSink {
    public init() {}
    public func emit(_ event: RunEvent) {}
}

/// Sends each event to several sinks.
public struct FanOutEventSink: RunEventSink {
    public let sinks: [any RunEventSink]
    public init(_ sinks: [any RunEventSink]) { self.sinks = sinks }
    public func emit(_ event: RunEvent) { for sink in sinks { sink.emit(event) } }
}

/// Keeps events in memory (tests, and the summary at the end of a run).
public final class RecordingEventSink: RunEventSink, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [RunEvent] = []

    public init() {}

    public func emit(_ event: RunEvent) {
        lock.lock()
        recorded.append(event)
        lock.unlock()
    }

    public var events: [RunEvent] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    /// Actions performed (apply) in the order they finished successfully.
    public var performedActions: [ActionRecord] {
        events.compactMap {
            if case .actionFinished(_, let host, let summary, _, nil) = $0 {
                return ActionRecord(host: host, summary: summary)
            }
            return nil
        }
    }

    /// Actions planned, per phase.
    public var plannedActions: [ActionRecord] {
        events.flatMap { event -> [ActionRecord] in
            if case .phasePlanned(_, let actions, _, _) = event {
                return actions.map { ActionRecord(host: $0.host, summary: $0.summary) }
            }
            return []
        }
    }
}
