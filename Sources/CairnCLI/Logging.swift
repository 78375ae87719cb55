import CairnCore
import Foundation
import Logging

/// The debug log of a run: always written to the run's directory, shown on stderr with `-v`.
/// Every line is redacted. Built per run (no global bootstrap), so tests can run many runs
/// in one process.
public final class RunLog: @unchecked Sendable {
    private let lock = NSLock()
    private var file: FileHandle?
    private let redactor: Redactor
    /// Where `-v` shows the lines (the console's stderr), nil: only the file.
    private let echo: OutputStream?
    public private(set) var path: String?

    public init(redactor: Redactor, echo: OutputStream? = nil) {
        self.redactor = redactor
        self.echo = echo
    }

    /// Starts writing to `url` (created 0600).
    public func open(_ url: URL) {
        try? FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        _ = FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
        lock.withLock {
            file = try? FileHandle(forWritingTo: url)
            path = url.path
        }
    }

    public func logger(label: String = "cairn") -> Logger {
        var logger = Logger(label: label) { label in Handler(log: self, label: label) }
        logger.logLevel = .debug
        return logger
    }

    func write(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) {
        let context = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let stamp = ISO8601DateFormatter().string(from: Date())
        let line = redactor.redact("\(stamp) \(level) \(context.isEmpty ? "" : context + " ")\(message)") + "\n"
        lock.withLock { file?.write(Data(line.utf8)) }
        echo?.write(line)
    }

    struct Handler: LogHandler {
        let log: RunLog
        let label: String
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
            log.write(level: event.level, label: label, message: event.message.description, metadata: merged)
        }
    }
}
