import CairnCore
import CairnEngine
import CairnSSH
import Foundation

/// Runs commands with /bin/sh on this machine: lets unit tests exercise Cairn's real remote
/// scripts (the run lock, the upload script) without SSH.
public struct LocalShellExecutor: HostExecutor {
    public let hostName: String

    public init(hostName: String = "local") {
        self.hostName = hostName
    }

    public func run(_ command: RemoteCommand, stdin: Data?, timeout: Duration?) async throws -> CommandOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command.rendered]
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let started = ContinuousClock.now
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let signaled = process.terminationReason == .uncaughtSignal
        return CommandOutput(
            stdout: stdout, stderr: stderr, exitStatus: signaled ? 0 : process.terminationStatus,
            exitSignal: signaled ? "SIG\(process.terminationStatus)" : nil,
            duration: started.duration(to: .now))
    }

    public func upload(_ data: Data, to path: String, mode: String, owner: String?) async throws -> UploadOutcome {
        if let existing = FileManager.default.contents(atPath: path), existing == data { return .unchanged }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        return .written
    }

    public func download(_ path: String) async throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FakeHostError.noSuchFile(host: hostName, path: path)
        }
        return data
    }
}
