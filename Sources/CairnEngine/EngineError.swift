import CairnCore
import Foundation

/// Errors of the engine itself (the playbook, locks, gates, aggregated host failures).
public enum EngineError: Error, CairnReportableError {
    case playbookInvalid(file: String, problems: [String])
    case unknownPhase(String, known: [String])
    case factsUnreadable(host: String, command: String, reason: String, output: String)
    case lockHeld(host: String, owner: String, age: Int, runID: String)
    case lockStale(host: String, owner: String, age: Int, runID: String)
    case lockLost(host: String, why: LockLoss)
    case gateFailed(phase: String, gate: String, reason: String, waited: Duration)
    case hostsFailed(phase: String, step: Step, failures: [HostFailure])
    case internalInconsistency(String)
    case aborted(String)

    /// How a run lost its lock.
    public enum LockLoss: Sendable, Equatable {
        /// Another run holds it now (`since`: when that run took it, by the host's clock).
        case takenOver(runID: String, owner: String, since: Date?)
        /// The lock file is gone (removed by hand).
        case removed
        /// Heartbeats failed for this long: another run may already consider the lock stale.
        case notRenewed(seconds: Int, reason: String)
    }

    public enum Step: String, Sendable {
        case facts = "gathering facts"
        case plan = "planning"
        case apply = "applying"
    }

    public var summary: String {
        switch self {
        case .playbookInvalid(let file, let problems):
            return "playbook \(file) is invalid: \(problems.count) problem\(problems.count == 1 ? "" : "s")"
        case .unknownPhase(let name, _):
            return "unknown phase \"\(name)\""
        case .factsUnreadable(let host, let command, let reason, _):
            return "facts from \(host) could not be read (\(command)): \(reason)"
        case .lockHeld(let host, let owner, let age, let runID):
            return "another run holds the cluster lock on \(host): \(owner), run \(runID), last heartbeat \(age) s ago"
        case .lockStale(let host, let owner, let age, let runID):
            return "a stale cluster lock is left on \(host) by \(owner), run \(runID): no heartbeat for \(age) s"
        case .lockLost(let host, let why):
            switch why {
            case .takenOver(let runID, let owner, let since):
                let time = since.map { " at " + ISO8601DateFormatter().string(from: $0) } ?? ""
                return "lock lost: taken by run \(runID) (\(owner))\(time) on \(host); this run started nothing more"
            case .removed:
                return "lock lost: the cluster lock file on \(host) was removed; this run started nothing more"
            case .notRenewed(let seconds, let reason):
                return
                    "lock lost: the cluster lock on \(host) could not be renewed for \(seconds) s (\(reason)); this run started nothing more"
            }
        case .gateFailed(let phase, let gate, let reason, let waited):
            return
                "verification \"\(gate)\" of phase \(phase) did not pass within \(Int(waited.components.seconds)) s: \(reason)"
        case .hostsFailed(let phase, let step, let failures):
            let names = failures.map(\.host).joined(separator: ", ")
            return
                "phase \(phase) failed while \(step.rawValue) on \(failures.count) host\(failures.count == 1 ? "" : "s"): \(names)"
        case .internalInconsistency(let message):
            return "internal error: \(message)"
        case .aborted(let message):
            return message
        }
    }

    public var details: [String] {
        switch self {
        case .playbookInvalid(_, let problems):
            return problems
        case .unknownPhase(_, let known):
            return ["known phases: " + known.joined(separator: ", ")]
        case .factsUnreadable(_, _, _, let output):
            return output.isEmpty ? [] : ["output: " + output]
        case .hostsFailed(_, _, let failures):
            return failures.flatMap(\.lines)
        default:
            return []
        }
    }

    public var nextStep: String? {
        switch self {
        case .playbookInvalid:
            return "fix the playbook and rerun; `cairn graph` shows the phase order"
        case .unknownPhase:
            return "use one of the known phase names (`cairn graph` lists them)"
        case .factsUnreadable:
            return "check that the host runs a supported OS with a POSIX shell, then rerun with -v"
        case .lockHeld(_, _, _, let runID):
            return
                "wait for that run to finish; if it is gone, rerun with --break-lock once its heartbeat is stale; to stop it and take over now, rerun with --take-lock-from \(runID)"
        case .lockStale:
            return "make sure no other cairn run is active, then rerun with --break-lock"
        case .lockLost(_, let why):
            if case .notRenewed = why {
                return
                    "check that the host is reachable and that no other run took the lock (`cairn status`), then rerun `cairn apply`"
            }
            return
                "let the run that holds the lock finish (`cairn status` shows it), then rerun `cairn apply`: finished steps are not repeated"
        case .gateFailed:
            return "fix the cause named above and rerun `cairn apply`: finished steps are not repeated"
        case .hostsFailed(_, _, let failures):
            return failures.compactMap(\.nextStep).first
                ?? "fix the problem on the hosts named above and rerun `cairn apply`"
        case .internalInconsistency:
            return "this is a bug in Cairn; please report it with the journal of this run"
        case .aborted:
            return nil
        }
    }

    public var exitCode: CairnExitCode {
        switch self {
        case .playbookInvalid, .unknownPhase:
            return .invalidInput
        case .gateFailed:
            return .gateTimeout
        case .hostsFailed(_, _, let failures):
            // Unreachable hosts get their own code, so automation can tell them apart.
            if failures.allSatisfy({ $0.isUnreachable }) { return .unreachable }
            // A verification inside an action (an add-on's API refusing it past its patience) is a gate.
            if failures.allSatisfy({ failure in
                if case .gateFailed = failure.error as? EngineError { return true }
                return false
            }) {
                return .gateTimeout
            }
            // Failures that all carry the same code of their own (a drain a budget blocked: 75) keep it.
            let codes = Set(failures.compactMap { ($0.error as? any CairnReportableError)?.exitCode })
            if codes.count == 1, let code = codes.first,
                failures.allSatisfy({ $0.error is any CairnReportableError })
            {
                return code
            }
            return .failure
        default:
            return .failure
        }
    }
}

/// One host's failure within a phase: what failed, how, and the last stderr lines.
public struct HostFailure: Sendable {
    public let host: String
    public let phase: String
    public let action: String?
    public let error: any Error

    public init(host: String, phase: String, action: String?, error: any Error) {
        self.host = host
        self.phase = phase
        self.action = action
        self.error = error
    }

    public var isUnreachable: Bool {
        (error as? any CairnReportableError)?.exitCode == .unreachable
    }

    public var message: String {
        if let reportable = error as? any CairnReportableError { return reportable.summary }
        return "\(error)"
    }

    public var nextStep: String? {
        (error as? any CairnReportableError)?.nextStep
    }

    /// Lines for the aggregated report.
    public var lines: [String] {
        var lines = ["\(host): " + (action.map { "\($0): " } ?? "") + message]
        if let failure = error as? CommandFailure {
            lines += failure.output.stderrTail(lines: 5).map { "  | " + $0 }
        } else if let reportable = error as? any CairnReportableError {
            lines += reportable.details.map { "  | " + $0 }
        }
        return lines
    }
}
