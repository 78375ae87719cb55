import Foundation

/// What a remote command produced. Bytes are kept as bytes; decode once, at the end.
public struct CommandOutput: Sendable, Equatable {
    public var stdout: Data
    public var stderr: Data
    public var exitStatus: Int32
    /// The signal the remote process died of ("KILL", "TERM"…), without "SIG". libssh2 reports
    /// exit status 0 in that case, so success is judged on both.
    public var exitSignal: String?
    public var duration: Duration

    public init(stdout: Data, stderr: Data, exitStatus: Int32, exitSignal: String?, duration: Duration) {
        self.stdout = stdout
        self.stderr = stderr
        self.exitStatus = exitStatus
        self.exitSignal = exitSignal
        self.duration = duration
    }

    /// A successful output with the given text, for fakes.
    public static func ok(_ stdout: String = "") -> CommandOutput {
        CommandOutput(stdout: Data(stdout.utf8), stderr: Data(), exitStatus: 0, exitSignal: nil, duration: .zero)
    }

    public var succeeded: Bool { exitSignal == nil && exitStatus == 0 }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// The last lines of stderr, for error reports.
    public func stderrTail(lines: Int = 5) -> [String] {
        let all = stderrText.split(separator: "\n", omittingEmptySubsequences: true)
        return all.suffix(lines).map(String.init)
    }

    public var statusDescription: String {
        if let signal = exitSignal { return "killed by signal \(signal)" }
        return "exit status \(exitStatus)"
    }
}

/// The result of an upload: whether the file on the host changed.
public enum UploadOutcome: String, Sendable, Equatable {
    /// Same content, mode and owner were already there; nothing was sent.
    case unchanged
    /// Content was already there; only mode or owner were fixed.
    case metadataUpdated = "metadata"
    /// New content was written (atomically).
    case written
}

/// A command that ran and failed: the host, the command, how it ended and its last stderr lines.
public struct CommandFailure: Error, CairnReportableError {
    public let hostName: String
    public let command: String
    public let output: CommandOutput

    public init(host: String, command: String, output: CommandOutput) {
        self.hostName = host
        self.command = command
        self.output = output
    }

    public var host: String? { hostName }
    public var summary: String { "`\(command)` failed on \(hostName) (\(output.statusDescription))" }
    public var details: [String] { output.stderrTail(lines: 8) }
}

/// Runs commands and moves files on one host. Everything above the transport reaches hosts only
/// through this protocol: in production it is an SSH session (`CairnSSH`), in unit tests a fake
/// that fails on any command it was not told to expect.
public protocol HostExecutor: Sendable {
    var hostName: String { get }
    func run(_ command: RemoteCommand, stdin: Data?, timeout: Duration?) async throws -> CommandOutput
    func upload(_ data: Data, to path: String, mode: String, owner: String?) async throws -> UploadOutcome
    func download(_ path: String) async throws -> Data
}

extension HostExecutor {
    public func run(_ command: RemoteCommand) async throws -> CommandOutput {
        try await run(command, stdin: nil, timeout: nil)
    }

    /// Runs and throws `CommandFailure` unless the command exited 0.
    @discardableResult
    public func runChecked(_ command: RemoteCommand, stdin: Data? = nil, timeout: Duration? = nil) async throws
        -> CommandOutput
    {
        let output = try await run(command, stdin: stdin, timeout: timeout)
        guard output.succeeded else {
            throw CommandFailure(host: hostName, command: command.description, output: output)
        }
        return output
    }
}

/// Hands out one executor per host (by inventory name) for the whole run.
public protocol HostExecutorProvider: Sendable {
    func executor(forHost name: String) async throws -> any HostExecutor
    /// Ends every connection (called once at the end of a run).
    func shutdown() async
}
