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
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true,
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
        var entry = JournalEntry(event)
        entry.t = Self.seconds(started.duration(to: .now))
        entry.time = ISO8601DateFormatter().string(from: Date())
        let line = redactor.redact(entry.jsonLine) + "\n"
        lock.lock()
        defer { lock.unlock() }
        handle.write(Data(line.utf8))
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return ((Double(s) + Double(atto) / 1e18) * 1000).rounded() / 1000
    }
}

/// One line of the journal, and of `--output json`: an event's fields, with keys in sorted order.
/// `cairn report` and the tests read journals back through this type.
public struct JournalEntry: Codable, Sendable, Equatable {
    public struct PlannedActionEntry: Codable, Sendable, Equatable {
        public var host: String
        public var summary: String
        public var details: [String]
        public var predicted: Bool
    }

    public var event: String
    public var run: String?
    public var mode: String?
    public var phases: [String]?
    public var hosts: [String]?
    public var phase: String?
    public var title: String?
    public var host: String?
    public var ms: Int?
    public var execution: String?
    public var notes: [String]?
    public var actions: [PlannedActionEntry]?
    public var summary: String?
    public var ok: Bool?
    public var error: String?
    public var gate: String?
    public var reason: String?
    public var passed: Bool?
    public var message: String?
    public var outcome: String?
    /// Seconds since the run started (journal only).
    public var t: Double?
    /// Wall-clock time, ISO 8601 (journal only).
    public var time: String?

    public init(event: String) {
        self.event = event
    }

    public init(_ runEvent: RunEvent) {
        func ms(_ d: Duration) -> Int {
            let (s, atto) = d.components
            return Int(s) * 1000 + Int(atto / 1_000_000_000_000_000)
        }
        switch runEvent {
        case .runStarted(let runID, let mode, let phases, let hosts):
            self.init(event: "run-started")
            (run, self.mode, self.phases, self.hosts) = (runID, mode.rawValue, phases, hosts)
        case .phaseStarted(let phase, let title, let hosts):
            self.init(event: "phase-started")
            (self.phase, self.title, self.hosts) = (phase, title, hosts)
        case .factsGathered(let phase, let host, let duration):
            self.init(event: "facts-gathered")
            (self.phase, self.host, self.ms) = (phase, host, ms(duration))
        case .phasePlanned(let phase, let actions, let notes, let execution):
            self.init(event: "phase-planned")
            (self.phase, self.execution, self.notes) = (phase, execution.rawValue, notes)
            self.actions = actions.map {
                PlannedActionEntry(host: $0.host, summary: $0.summary, details: $0.details, predicted: $0.predicted)
            }
        case .actionStarted(let phase, let host, let summary):
            self.init(event: "action-started")
            (self.phase, self.host, self.summary) = (phase, host, summary)
        case .actionFinished(let phase, let host, let summary, let duration, let error):
            self.init(event: "action-finished")
            (self.phase, self.host, self.summary, self.ms, ok, self.error) = (
                phase, host, summary, ms(duration), error == nil, error
            )
        case .gateStarted(let phase, let gate):
            self.init(event: "gate-started")
            (self.phase, self.gate) = (phase, gate)
        case .gateWaiting(let phase, let gate, let reason):
            self.init(event: "gate-waiting")
            (self.phase, self.gate, self.reason) = (phase, gate, reason)
        case .gateFinished(let phase, let gate, let passed, let message, let duration):
            self.init(event: "gate-finished")
            (self.phase, self.gate, self.passed, self.message, self.ms) = (phase, gate, passed, message, ms(duration))
        case .phaseFinished(let phase, let outcome, let duration):
            self.init(event: "phase-finished")
            (self.phase, self.outcome, self.ms) = (phase, outcome.rawValue, ms(duration))
        case .cleanUp(let phase):
            self.init(event: "clean-up")
            self.phase = phase
        case .runFinished(let outcome, let duration):
            self.init(event: "run-finished")
            (self.outcome, self.ms) = (outcome.rawValue, ms(duration))
        case .note(let phase, let host, let message):
            self.init(event: "note")
            (self.phase, self.host, self.message) = (phase, host, message)
        }
    }

    /// The entry as one line of JSON (no newline), keys sorted.
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{\"event\":\"\(event)\"}"
    }

    /// Every entry of a journal file; lines that do not decode (a line cut by a kill) are skipped.
    public static func read(_ journal: URL) throws -> [JournalEntry] {
        let decoder = JSONDecoder()
        return try String(contentsOf: journal, encoding: .utf8).split(separator: "\n")
            .compactMap { try? decoder.decode(JournalEntry.self, from: Data($0.utf8)) }
    }
}
