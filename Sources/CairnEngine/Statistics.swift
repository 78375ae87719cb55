import CairnCore
import Foundation

/// The phase whose work the current task does (set by the engine around planning, actions and
/// gates), so that what reaches hosts can be counted per phase.
public enum CurrentPhase {
    @TaskLocal public static var name: String?
}

/// Remote commands per phase (`--stats`): every command run on a host is one SSH round trip;
/// those that start `kubectl` are counted again apart.
public final class CommandStatistics: @unchecked Sendable {
    public struct Counts: Sendable, Equatable {
        public var commands = 0
        public var kubectl = 0
        /// Scripts that start kubectl themselves (each may start it more than once).
        public var kubectlScripts = 0
        public var uploads = 0

        public init() {}
    }

    private let lock = NSLock()
    private var counts: [String: Counts] = [:]
    private var order: [String] = []

    public init() {}

    func record(_ update: (inout Counts) -> Void) {
        let phase = CurrentPhase.name ?? "(outside phases)"
        lock.withLock {
            if counts[phase] == nil { order.append(phase) }
            update(&counts[phase, default: Counts()])
        }
    }

    /// Per phase, in the order phases first sent something.
    public var byPhase: [(phase: String, counts: Counts)] {
        lock.withLock { order.map { ($0, counts[$0]!) } }
    }
}

/// Counts what each executor it hands out sends.
public struct CountingExecutorProvider: HostExecutorProvider {
    let inner: any HostExecutorProvider
    public let statistics: CommandStatistics

    public init(_ inner: any HostExecutorProvider, statistics: CommandStatistics) {
        self.inner = inner
        self.statistics = statistics
    }

    public func executor(forHost name: String) async throws -> any HostExecutor {
        CountingExecutor(inner: try await inner.executor(forHost: name), statistics: statistics)
    }

    public func shutdown() async { await inner.shutdown() }
}

struct CountingExecutor: HostExecutor {
    let inner: any HostExecutor
    let statistics: CommandStatistics
    var hostName: String { inner.hostName }

    func run(_ command: RemoteCommand, stdin: Data?, timeout: Duration?) async throws -> CommandOutput {
        let isKubectl = command.isKubectl
        let callsKubectl = command.isScriptCallingKubectl
        statistics.record {
            $0.commands += 1
            if isKubectl { $0.kubectl += 1 }
            if callsKubectl { $0.kubectlScripts += 1 }
        }
        return try await inner.run(command, stdin: stdin, timeout: timeout)
    }

    func upload(_ data: Data, to path: String, mode: String, owner: String?) async throws -> UploadOutcome {
        statistics.record { $0.uploads += 1 }
        return try await inner.upload(data, to: path, mode: mode, owner: owner)
    }

    func download(_ path: String) async throws -> Data {
        statistics.record { $0.commands += 1 }
        return try await inner.download(path)
    }
}
