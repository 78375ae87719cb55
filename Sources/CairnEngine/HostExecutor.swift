import CairnCore
import CairnSSH
import Foundation

/// Runs commands and moves files on one host. The engine and every phase reach hosts only
/// through this protocol: in production it is an SSH session, in unit tests a fake that fails
/// on any command it was not told to expect.
public protocol HostExecutor: Sendable {
    var hostName: String { get }
    func run(_ command: RemoteCommand, stdin: Data?, timeout: Duration?) async throws -> CommandOutput
    func upload(_ data: Data, to path: String, mode: String, owner: String?) async throws -> UploadOutcome
    func download(_ path: String) async throws -> Data
}

public extension HostExecutor {
    func run(_ command: RemoteCommand) async throws -> CommandOutput {
        try await run(command, stdin: nil, timeout: nil)
    }

    /// Runs and throws `CommandFailure` unless the command exited 0.
    @discardableResult
    func runChecked(_ command: RemoteCommand, stdin: Data? = nil, timeout: Duration? = nil) async throws -> CommandOutput {
        let output = try await run(command, stdin: stdin, timeout: timeout)
        guard output.succeeded else {
            throw CommandFailure(host: hostName, command: command.description, output: output)
        }
        return output
    }

    /// Like `facts(_:as:)`, reusing an identical answer already gathered in this run while
    /// nothing has changed since.
    func facts<T: Decodable>(_ script: RemoteCommand, as type: T.Type, cache: FactCache) async throws -> T {
        let data = try await cache.output(of: script, on: self)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw EngineError.factsUnreadable(host: hostName, command: script.description,
                                              reason: "\(error)", output: String(decoding: data.prefix(400), as: UTF8.self))
        }
    }

    /// Runs a fact script (one round trip) and decodes the JSON it prints.
    func facts<T: Decodable>(_ script: RemoteCommand, as type: T.Type) async throws -> T {
        let output = try await runChecked(script)
        do {
            return try JSONDecoder().decode(T.self, from: output.stdout)
        } catch {
            throw EngineError.factsUnreadable(host: hostName, command: script.description,
                                              reason: "\(error)", output: String(output.stdoutText.prefix(400)))
        }
    }
}

/// Hands out one executor per host for the whole run.
public protocol HostExecutorProvider: Sendable {
    func executor(for host: EngineHost) async throws -> any HostExecutor
    /// Ends every connection (called once at the end of a run).
    func shutdown() async
}

/// The production executor: an SSH session.
public struct SSHHostExecutor: HostExecutor {
    public let session: SSHSession
    public var hostName: String { session.configuration.label }

    public init(session: SSHSession) {
        self.session = session
    }

    public func run(_ command: RemoteCommand, stdin: Data?, timeout: Duration?) async throws -> CommandOutput {
        try await session.run(command, stdin: stdin, timeout: timeout)
    }

    public func upload(_ data: Data, to path: String, mode: String, owner: String?) async throws -> UploadOutcome {
        try await session.upload(data, to: path, mode: mode, owner: owner)
    }

    public func download(_ path: String) async throws -> Data {
        try await session.download(path)
    }
}

/// Connects to each host once, on first use, and keeps the session for the run.
/// Concurrent first uses of the same host share one connection attempt.
public actor SSHExecutorProvider: HostExecutorProvider {
    private let configurations: [String: SSHConfiguration]
    private let knownHosts: [String: KnownHostsStore]
    private var sessions: [String: Task<SSHSession, any Error>] = [:]
    private let logger: Logging.Logger
    /// Connections opened per host during this run (authentication retries included).
    public private(set) var connectionsOpened: [String: Int] = [:]

    public init(configurations: [String: SSHConfiguration], logger: Logging.Logger) {
        self.configurations = configurations
        var stores: [String: KnownHostsStore] = [:]
        for configuration in configurations.values {
            var current: SSHConfiguration? = configuration
            while let config = current {
                if stores[config.knownHostsFile] == nil { stores[config.knownHostsFile] = KnownHostsStore(path: config.knownHostsFile) }
                current = config.bastion?.configuration
            }
        }
        self.knownHosts = stores
        self.logger = logger
    }

    public func executor(for host: EngineHost) async throws -> any HostExecutor {
        if let task = sessions[host.name] {
            let session = try await task.value
            if session.isOpen { return SSHHostExecutor(session: session) }
        }
        guard let configuration = configurations[host.name] else {
            throw EngineError.internalInconsistency("no SSH configuration for host \(host.name)")
        }
        let store = knownHosts[configuration.knownHostsFile]!
        let logger = self.logger
        let task = Task { try await SSHSession.connect(configuration, knownHosts: store, logger: logger) }
        sessions[host.name] = task
        let session = try await task.value
        connectionsOpened[host.name, default: 0] += session.connectionsOpened
        logger.debug("ssh session opened", metadata: ["host": "\(host.name)", "connections": "\(session.connectionsOpened)",
                                                      "auth": "\(session.authenticatedWith)"])
        return SSHHostExecutor(session: session)
    }

    public func shutdown() async {
        for task in sessions.values {
            if let session = try? await task.value { await session.close() }
        }
        sessions.removeAll()
    }
}

import Logging
