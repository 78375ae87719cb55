import CairnCore
import Foundation

/// The run journal: one JSON object per line under `STATE/runs/RUNID/journal.jsonl`, written as
/// events happen (so a killed run leaves what it did), secrets redacted. `status`, reports and
/// the plan-equals-apply checks read it back.
public final class Journal: RunEventSink, @unchecked Sendable {
    public let url: URL
    private let handle: FileHandle
    private let lock = NSLock()
    private let redactor: Redactor
    private let started = ContinuousClock.now

    public init(stateDirectory: URL, runID: String, redactor: Redactor) throws {
        let directory = stateDirectory.appendingPathComponent("runs").appendingPathComponent(runID)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        url = directory.appendingPathComponent("journal.jsonl")
        _ = FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
        handle = try FileHandle(forWritingTo: url)
        self.redactor = redactor
        // Point "latest" at this run, for `cairn report` and people.
        let latest = stateDirectory.appendingPathComponent("runs").appendingPathComponent("latest")
        try? FileManager.default.removeItem(at: latest)
        try? FileManager.default.createSymbolicLink(atPath: latest.path, withDestinationPath: runID)
    }

    deinit {
        try? handle.close()
    }

    public func emit(_ event: RunEvent) {
        var object = Self.fields(of: event)
        object["t"] = Self.seconds(started.duration(to: .now))
        object["time"] = ISO8601DateFormatter().string(from: Date())
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        let line = redactor.redact(String(decoding: data, as: UTF8.self)) + "\n"
        lock.lock()
        defer { lock.unlock() }
        handle.write(Data(line.utf8))
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return ((Double(s) + Double(atto) / 1e18) * 1000).rounded() / 1000
    }

    /// The JSON form of an event; also used by `--output json`.
    public static func fields(of event: RunEvent) -> [String: Any] {
        func ms(_ d: Duration) -> Int {
            let (s, atto) = d.components
            return Int(s) * 1000 + Int(atto / 1_000_000_000_000_000)
        }
        switch event {
        case .runStarted(let runID, let mode, let phases, let hosts):
            return ["event": "run-started", "run": runID, "mode": mode.rawValue, "phases": phases, "hosts": hosts]
        case .phaseStarted(let phase, let title, let hosts):
            return ["event": "phase-started", "phase": phase, "title": title, "hosts": hosts]
        case .factsGathered(let phase, let host, let duration):
            return ["event": "facts-gathered", "phase": phase, "host": host, "ms": ms(duration)]
        case .phasePlanned(let phase, let actions, let notes, let execution):
            return ["event": "phase-planned", "phase": phase, "execution": execution.rawValue, "notes": notes,
                    "actions": actions.map { ["host": $0.host, "summary": $0.summary, "details": $0.details, "predicted": $0.predicted] as [String: Any] }]
        case .actionStarted(let phase, let host, let summary):
            return ["event": "action-started", "phase": phase, "host": host, "summary": summary]
        case .actionFinished(let phase, let host, let summary, let duration, let error):
            var fields: [String: Any] = ["event": "action-finished", "phase": phase, "host": host, "summary": summary,
                                         "ms": ms(duration), "ok": error == nil]
            if let error { fields["error"] = error }
            return fields
        case .gateStarted(let phase, let gate):
            return ["event": "gate-started", "phase": phase, "gate": gate]
        case .gateWaiting(let phase, let gate, let reason):
            return ["event": "gate-waiting", "phase": phase, "gate": gate, "reason": reason]
        case .gateFinished(let phase, let gate, let passed, let message, let duration):
            return ["event": "gate-finished", "phase": phase, "gate": gate, "passed": passed, "message": message, "ms": ms(duration)]
        case .phaseFinished(let phase, let outcome, let duration):
            return ["event": "phase-finished", "phase": phase, "outcome": outcome.rawValue, "ms": ms(duration)]
        case .cleanUp(let phase):
            return ["event": "clean-up", "phase": phase]
        case .runFinished(let outcome, let duration):
            return ["event": "run-finished", "outcome": outcome.rawValue, "ms": ms(duration)]
        case .note(let phase, let host, let message):
            var fields: [String: Any] = ["event": "note", "message": message]
            if let phase { fields["phase"] = phase }
            if let host { fields["host"] = host }
            return fields
        }
    }
}
