import CairnCore
import CairnEngine
import Foundation

/// A host executor for unit tests that answers only the commands it was told to expect and
/// records an error for anything else — so a phase that sends an unplanned command fails its test.
public final class FakeHostExecutor: HostExecutor, @unchecked Sendable {
    public typealias Responder = @Sendable (RemoteCommand, Data?) async throws -> CommandOutput

    public struct Expectation {
        let matches: @Sendable (RemoteCommand) -> Bool
        let respond: Responder
        let label: String
        let repeats: Bool
    }

    public let hostName: String
    private let lock = NSLock()
    private var expectations: [Expectation] = []
    private var calls: [String] = []
    private var unexpected: [String] = []
    private var files: [String: (data: Data, mode: String)] = [:]
    private var uploadLog: [Upload] = []

    /// A file written through `upload`, in the order written.
    public struct Upload: Sendable, Equatable {
        public let path: String
        public let content: String
        public let mode: String

        public init(path: String, content: String, mode: String) {
            self.path = path
            self.content = content
            self.mode = mode
        }
    }

    public init(hostName: String) {
        self.hostName = hostName
    }

    /// Expects a command whose rendered text contains `fragment` (scripts match on their name).
    @discardableResult
    public func expect(_ fragment: String, repeats: Bool = false, respond: @escaping Responder) -> Self {
        lock.lock()
        defer { lock.unlock() }
        expectations.append(
            Expectation(
                matches: { $0.rendered.contains(fragment) || $0.description.contains(fragment) },
                respond: respond, label: fragment, repeats: repeats))
        return self
    }

    /// Expects exactly `command`: the same program and arguments, or the same script with the same
    /// arguments (the exact text the remote shell would get).
    @discardableResult
    public func expect(
        exactly command: RemoteCommand, repeats: Bool = false, stdout: String = "", stderr: String = "",
        status: Int32 = 0
    ) -> Self {
        lock.lock()
        defer { lock.unlock() }
        let wanted = command.rendered
        expectations.append(
            Expectation(
                matches: { $0.rendered == wanted },
                respond: { _, _ in
                    CommandOutput(
                        stdout: Data(stdout.utf8), stderr: Data(stderr.utf8), exitStatus: status, exitSignal: nil,
                        duration: .zero)
                }, label: command.description, repeats: repeats))
        return self
    }

    /// Files uploaded so far, in order.
    public var uploads: [Upload] { lock.withLock { uploadLog } }

    /// Pretends `path` holds `content` (for `download` and unchanged uploads).
    public func place(_ path: String, _ content: String, mode: String = "644") {
        lock.withLock { files[path] = (Data(content.utf8), mode) }
    }

    @discardableResult
    public func expect(
        _ fragment: String, repeats: Bool = false, stdout: String = "", stderr: String = "", status: Int32 = 0
    ) -> Self {
        expect(fragment, repeats: repeats) { _, _ in
            CommandOutput(
                stdout: Data(stdout.utf8), stderr: Data(stderr.utf8), exitStatus: status, exitSignal: nil,
                duration: .zero)
        }
    }

    public var recordedCalls: [String] {
        lock.lock()
        defer { lock.unlock() }
        return calls
    }
    public var unexpectedCalls: [String] {
        lock.lock()
        defer { lock.unlock() }
        return unexpected
    }
    public var remainingExpectations: [String] {
        lock.lock()
        defer { lock.unlock() }
        return expectations.filter { !$0.repeats }.map(\.label)
    }
    public func file(_ path: String) -> Data? {
        lock.lock()
        defer { lock.unlock() }
        return files[path]?.data
    }

    public func run(_ command: RemoteCommand, stdin: Data?, timeout: Duration?) async throws -> CommandOutput {
        let responder: Responder? = lock.withLock {
            calls.append(command.description)
            guard let index = expectations.firstIndex(where: { $0.matches(command) }) else {
                unexpected.append(command.description)
                return nil
            }
            let expectation = expectations[index]
            if !expectation.repeats { expectations.remove(at: index) }
            return expectation.respond
        }
        guard let responder else {
            throw FakeHostError.unexpectedCommand(host: hostName, command: command.description)
        }
        return try await responder(command, stdin)
    }

    public func upload(_ data: Data, to path: String, mode: String, owner: String?) async throws -> UploadOutcome {
        lock.withLock {
            calls.append("upload \(path)")
            uploadLog.append(Upload(path: path, content: String(decoding: data, as: UTF8.self), mode: mode))
            if let existing = files[path], existing.data == data, existing.mode == mode { return .unchanged }
            files[path] = (data, mode)
            return .written
        }
    }

    public func download(_ path: String) async throws -> Data {
        let file: Data? = lock.withLock {
            calls.append("download \(path)")
            return files[path]?.data
        }
        guard let file else { throw FakeHostError.noSuchFile(host: hostName, path: path) }
        return file
    }
}

public enum FakeHostError: Error, Equatable, CairnReportableError {
    case unexpectedCommand(host: String, command: String)
    case noSuchFile(host: String, path: String)
    case unreachable(host: String)
    /// Stands for a host whose SSH port refuses connections (exit 68, like the transport's error).
    case connectionRefused(host: String)

    public var exitCode: CairnExitCode {
        if case .connectionRefused = self { return .unreachable }
        return .failure
    }

    public var summary: String {
        switch self {
        case .unexpectedCommand(let host, let command): return "unexpected command on \(host): \(command)"
        case .noSuchFile(let host, let path): return "no file \(path) on \(host)"
        case .unreachable(let host): return "\(host) is unreachable"
        case .connectionRefused(let host): return "cannot connect to \(host) port 22: Connection refused"
        }
    }
}

/// Hands out fake executors by host name; connecting to a host without one fails.
public final class FakeExecutorProvider: HostExecutorProvider, @unchecked Sendable {
    private let lock = NSLock()
    public private(set) var executors: [String: FakeHostExecutor]
    public private(set) var connectCounts: [String: Int] = [:]
    public var unreachable: Set<String> = []

    public init(_ executors: [FakeHostExecutor]) {
        self.executors = Dictionary(uniqueKeysWithValues: executors.map { ($0.hostName, $0) })
    }

    public func executor(forHost name: String) async throws -> any HostExecutor {
        let (executor, isUnreachable): (FakeHostExecutor?, Bool) = lock.withLock {
            connectCounts[name, default: 0] += 1
            return (executors[name], unreachable.contains(name))
        }
        if isUnreachable { throw FakeHostError.connectionRefused(host: name) }
        guard let executor else { throw FakeHostError.unreachable(host: name) }
        return executor
    }

    public func shutdown() async {}
}

/// A clock whose time moves only when someone sleeps: gate deadlines and backoff run instantly.
public final class VirtualClock: EngineClock, @unchecked Sendable {
    private let lock = NSLock()
    private var offset: Duration = .zero
    private let origin = ContinuousClock.now
    public private(set) var sleeps: [Duration] = []

    public init() {}

    public var now: ContinuousClock.Instant {
        lock.lock()
        defer { lock.unlock() }
        return origin.advanced(by: offset)
    }

    public func sleep(for duration: Duration) async throws {
        lock.withLock {
            offset += duration
            sleeps.append(duration)
        }
        await Task.yield()
    }
}
