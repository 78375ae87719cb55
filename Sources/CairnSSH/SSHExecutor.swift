import CairnCore
import Foundation
import Logging

/// The production `HostExecutor`: an SSH session.
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
    private let logger: Logger
    /// Connections opened per host during this run (authentication retries included).
    public private(set) var connectionsOpened: [String: Int] = [:]

    /// `configurations` by inventory host name.
    public init(configurations: [String: SSHConfiguration], logger: Logger) {
        self.configurations = configurations
        var stores: [String: KnownHostsStore] = [:]
        for configuration in configurations.values {
            var current: SSHConfiguration? = configuration
            while let config = current {
                if stores[config.knownHostsFile] == nil {
                    stores[config.knownHostsFile] = KnownHostsStore(path: config.knownHostsFile)
                }
                current = config.bastion?.configuration
            }
        }
        self.knownHosts = stores
        self.logger = logger
    }

    public func executor(forHost name: String) async throws -> any HostExecutor {
        if let task = sessions[name] {
            let session = try await task.value
            if session.isOpen { return SSHHostExecutor(session: session) }
        }
        guard let configuration = configurations[name], let store = knownHosts[configuration.knownHostsFile] else {
            throw SSHError.invalidCommand(
                host: name, reason: "no SSH configuration for this host (not in the inventory)")
        }
        let logger = self.logger
        let task = Task { try await SSHSession.connect(configuration, knownHosts: store, logger: logger) }
        sessions[name] = task
        let session = try await task.value
        connectionsOpened[name, default: 0] += session.connectionsOpened
        logger.debug(
            "ssh session opened",
            metadata: [
                "host": "\(name)", "connections": "\(session.connectionsOpened)",
                "auth": "\(session.authenticatedWith)",
            ])
        return SSHHostExecutor(session: session)
    }

    public func shutdown() async {
        for task in sessions.values {
            if let session = try? await task.value { await session.close() }
        }
        sessions.removeAll()
    }
}
