import CairnCore
import CairnEngine
import Foundation

/// Where user-facing text goes. One lock, so lines from parallel hosts never interleave.
public final class OutputStream: @unchecked Sendable {
    private let lock = NSLock()
    private let handle: FileHandle
    private let redactor: Redactor
    public let isTerminal: Bool
    public let colors: Bool

    public init(
        handle: FileHandle = .standardOutput, redactor: Redactor,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.handle = handle
        self.redactor = redactor
        isTerminal = isatty(handle.fileDescriptor) != 0 && environment["TERM"] != "dumb"
        colors = isTerminal && environment["NO_COLOR"] == nil
    }

    public func write(_ text: String) {
        let data = Data(redactor.redact(text).utf8)
        lock.withLock { handle.write(data) }
    }

    public func line(_ text: String = "") { write(text + "\n") }

    func style(_ text: String, _ code: String) -> String {
        colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
    func bold(_ text: String) -> String { style(text, "1") }
    func dim(_ text: String) -> String { style(text, "2") }
    func green(_ text: String) -> String { style(text, "32") }
    func red(_ text: String) -> String { style(text, "31") }
    func yellow(_ text: String) -> String { style(text, "33") }
}

func formatSeconds(_ duration: Duration) -> String {
    let (s, atto) = duration.components
    let seconds = Double(s) + Double(atto) / 1e18
    return seconds < 10 ? String(format: "%.2fs", seconds) : String(format: "%.1fs", seconds)
}

/// Plain progress lines: for CI, pipes and NO_COLOR. One line per thing that happened.
public final class LineReporter: RunEventSink, @unchecked Sendable {
    let out: OutputStream
    let showPlans: Bool
    private let started = ContinuousClock.now
    private let lock = NSLock()
    private var changes = 0

    public init(out: OutputStream, showPlans: Bool) {
        self.out = out
        self.showPlans = showPlans
    }

    private var stamp: String {
        out.dim(
            String(
                format: "[%6.1fs]",
                Double(started.duration(to: .now).components.seconds) + Double(
                    started.duration(to: .now).components.attoseconds) / 1e18))
    }

    public func emit(_ event: RunEvent) {
        switch event {
        case .phaseStarted(let phase, let title, let hosts):
            out.line(
                "\(stamp) \(out.bold(phase)): \(title) — \(hosts.isEmpty ? "operator" : "\(hosts.count) host\(hosts.count == 1 ? "" : "s")")"
            )
        case .phasePlanned(let phase, let actions, let notes, let execution):
            for note in notes { out.line("\(stamp) \(phase): \(note)") }
            if showPlans {
                PlanPrinter.print(phase: phase, actions: actions, execution: execution, out: out, indent: "           ")
            }
            lock.withLock { changes += actions.count }
        case .actionFinished(let phase, let host, let summary, let duration, let error):
            if let error {
                out.line(
                    "\(stamp) \(phase): \(host): \(summary) \(out.red("FAILED")) (\(formatSeconds(duration))): \(error)"
                )
            } else if !showPlans {
                out.line("\(stamp) \(phase): \(host): \(summary) \(out.green("done")) (\(formatSeconds(duration)))")
            }
        case .gateWaiting(let phase, let gate, let reason):
            out.line("\(stamp) \(phase): waiting for \(gate): \(reason)")
        case .gateFinished(let phase, let gate, let passed, let message, let duration):
            out.line(
                "\(stamp) \(phase): \(gate) \(passed ? out.green("passed") : out.red("did not pass")) (\(formatSeconds(duration))): \(message)"
            )
        case .phaseFinished(let phase, let outcome, let duration):
            let word: String
            switch outcome {
            case .unchanged: word = "no changes"
            case .changed: word = showPlans ? "changes pending" : "changed"
            case .failed: word = out.red("failed")
            case .skipped: word = "skipped"
            }
            out.line("\(stamp) \(phase): \(word) (\(formatSeconds(duration)))")
        case .cleanUp(let phase):
            out.line("\(stamp) \(phase): cleaning up")
        case .note(let phase, let host, let message):
            out.line(
                "\(stamp) " + [phase, host].compactMap { $0 }.joined(separator: ": ")
                    + (phase == nil && host == nil ? "" : ": ") + message)
        default:
            break
        }
    }
}

/// Prints a phase's planned actions grouped by host.
enum PlanPrinter {
    static func print(phase: String, actions: [PlannedAction], execution: Execution, out: OutputStream, indent: String)
    {
        guard !actions.isEmpty else { return }
        var hosts: [String] = []
        for action in actions where !hosts.contains(action.host) { hosts.append(action.host) }
        if execution == .serial && hosts.count > 1 {
            out.line(indent + out.dim("(one host at a time, in this order)"))
        }
        for host in hosts {
            out.line(indent + out.bold(host) + ":")
            for action in actions where action.host == host {
                out.line(
                    indent + "  " + out.yellow("~") + " " + action.summary
                        + (action.predicted ? out.dim(" (predicted)") : ""))
                for detail in action.details.prefix(12) { out.line(indent + "      " + out.dim(detail)) }
                if action.details.count > 12 {
                    out.line(indent + "      " + out.dim("… \(action.details.count - 12) more lines"))
                }
            }
        }
    }
}

/// A live view for terminals: the phases so far, the current phase's hosts and what each is
/// doing, the elapsed time. Redrawn in place at most ten times a second.
public final class LiveReporter: RunEventSink, @unchecked Sendable {
    let out: OutputStream
    let showPlans: Bool
    private let lock = NSLock()
    private let started = ContinuousClock.now
    private var finishedLines: [String] = []
    private var currentPhase: String?
    private var currentTitle = ""
    private var phaseStarted = ContinuousClock.now
    private var hostStates: [(host: String, state: String)] = []
    private var gateLine: String?
    private var drawnLines = 0
    private var lastDraw = ContinuousClock.now.advanced(by: .seconds(-1))
    private var ticker: Task<Void, Never>?

    public init(out: OutputStream, showPlans: Bool) {
        self.out = out
        self.showPlans = showPlans
        ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                self?.redraw(force: true)
            }
        }
    }

    deinit { ticker?.cancel() }

    private func setHost(_ host: String, _ state: String) {
        if let index = hostStates.firstIndex(where: { $0.host == host }) {
            hostStates[index].state = state
        } else {
            hostStates.append((host, state))
        }
    }

    public func emit(_ event: RunEvent) {
        lock.withLock {
            switch event {
            case .phaseStarted(let phase, let title, let hosts):
                currentPhase = phase
                currentTitle = title
                phaseStarted = .now
                hostStates = hosts.map { ($0, "gathering facts") }
                gateLine = nil
            case .factsGathered(_, let host, _):
                setHost(host, "planned")
            case .phasePlanned(let phase, let actions, _, let execution):
                for host in hostStates.map(\.host) {
                    let count = actions.filter { $0.host == host }.count
                    setHost(
                        host,
                        count == 0
                            ? "up to date"
                            : "\(count) change\(count == 1 ? "" : "s") " + (showPlans ? "planned" : "to apply"))
                }
                if showPlans && !actions.isEmpty {
                    clear()
                    PlanPrinter.print(phase: phase, actions: actions, execution: execution, out: out, indent: "    ")
                }
            case .actionStarted(_, let host, let summary):
                setHost(host, "→ " + summary)
            case .actionFinished(_, let host, let summary, _, let error):
                setHost(host, error == nil ? "✓ " + summary : "✗ " + summary + ": " + (error ?? ""))
            // A phase with nothing to do verifies beside the next phases: only its failure shows.
            case .gateFinished(let phase, let gate, false, let message, _) where phase != currentPhase:
                clear()
                out.line("\(out.red("✗ failed"))  \(out.bold(phase))\n      " + out.dim("✗ " + gate + ": " + message))
            case .gateStarted(let phase, _) where phase != currentPhase: break
            case .gateWaiting(let phase, _, _) where phase != currentPhase: break
            case .gateFinished(let phase, _, _, _, _) where phase != currentPhase: break
            case .gateStarted(_, let gate):
                gateLine = "verifying \(gate)…"
            case .gateWaiting(_, let gate, let reason):
                gateLine = "verifying \(gate): \(reason)"
            case .gateFinished(_, let gate, let passed, let message, _):
                gateLine = (passed ? "✓ " : "✗ ") + gate + ": " + message
            case .phaseFinished(let phase, let outcome, let duration):
                let mark: String
                switch outcome {
                case .unchanged: mark = out.dim("✓ no changes")
                case .changed: mark = showPlans ? out.yellow("~ changes") : out.green("✓ changed")
                case .failed: mark = out.red("✗ failed")
                case .skipped: mark = "- skipped"
                }
                var line = "\(mark)  \(out.bold(phase)) \(out.dim(formatSeconds(duration)))"
                if outcome == .failed {
                    line +=
                        "\n"
                        + hostStates.filter { $0.state.hasPrefix("✗") }.map { "      \($0.host): \($0.state)" }.joined(
                            separator: "\n")
                }
                if let gateLine, outcome != .unchanged || gateLine.hasPrefix("✗") {
                    line += "\n      " + out.dim(gateLine)
                }
                clear()
                out.line(line)
                currentPhase = nil
                hostStates = []
                self.gateLine = nil
            case .runFinished:
                ticker?.cancel()
                clear()
            default:
                break
            }
        }
        redraw(force: false)
    }

    /// Erases the live block (it is redrawn below whatever was printed).
    private func clear() {
        guard drawnLines > 0 else { return }
        out.write("\u{1B}[\(drawnLines)A\u{1B}[J")
        drawnLines = 0
    }

    private func redraw(force: Bool) {
        lock.withLock {
            guard force || lastDraw.duration(to: .now) > .milliseconds(100) else { return }
            lastDraw = .now
            clear()
            guard let phase = currentPhase else { return }
            var lines = [
                "\(out.yellow("●")) \(out.bold(phase)) \(currentTitle)  \(out.dim(formatSeconds(phaseStarted.duration(to: .now)) + " · total " + formatSeconds(started.duration(to: .now))))"
            ]
            let shown = hostStates.prefix(20)
            for (host, state) in shown {
                lines.append(
                    "    \(host.padding(toLength: max(12, host.count), withPad: " ", startingAt: 0))  \(String(state.prefix(100)))"
                )
            }
            if hostStates.count > shown.count {
                let busy = hostStates.dropFirst(20).filter { $0.state.hasPrefix("→") }.count
                lines.append(out.dim("    … \(hostStates.count - shown.count) more hosts (\(busy) busy)"))
            }
            if let gateLine { lines.append("    " + gateLine) }
            out.write(lines.joined(separator: "\n") + "\n")
            drawnLines = lines.count
        }
    }
}

/// `--output json`: one JSON object per event on stdout, for automation.
public struct JSONLinesReporter: RunEventSink {
    let out: OutputStream
    public init(out: OutputStream) { self.out = out }

    public func emit(_ event: RunEvent) {
        out.line(JournalEntry(event).jsonLine)
    }
}
