import CairnArtifacts
import CairnCore
import CairnEngine
import Foundation

/// A change on one host, as data: what most phases plan. A planner decides the steps from facts
/// alone (a pure function), the phase turns each into the engine's `Action`, and unit tests pin
/// both the steps and, through fakes, the exact argv and file contents that reach hosts.
public enum HostStep: Sendable, Equatable {
    /// Write `content` to `path` atomically. `current`: what is there now (nil: no file; "": a
    /// file whose content was not fetched, only its hash). `change` overrides the line-diff summary.
    case write(
        host: String, path: String, content: String, current: String?, mode: String, change: String?, secret: Bool)
    /// Run a command that must succeed.
    case run(host: String, summary: String, command: RemoteCommand, timeout: Duration?)
    /// Push a release artifact (fetched and checksummed on the operator's side) and install it.
    case install(host: String, summary: String, artifact: ArtifactSpec, how: ArtifactInstall)
    /// `cairn plan` only: a file an earlier phase of this run creates first (a certificate not
    /// issued yet), so its content is not known; shown as predicted.
    case pendingWrite(host: String, path: String, replacing: Bool)

    /// A file Cairn renders in full; the host reports only its hash, so the plan says "differs".
    public static func render(host: String, path: String, content: String, currentHash: String?, mode: String = "644")
        -> HostStep?
    {
        guard currentHash != SHA256Digest.hex(of: content) else { return nil }
        return .write(
            host: host, path: path, content: content, current: (currentHash ?? "").isEmpty ? nil : "", mode: mode,
            change: "differs from Cairn's", secret: false)
    }

    public static func write(
        host: String, path: String, content: String, current: String?, mode: String = "644",
        change: String? = nil
    ) -> HostStep {
        .write(host: host, path: path, content: content, current: current, mode: mode, change: change, secret: false)
    }

    public static func run(host: String, summary: String, _ command: RemoteCommand, timeout: Duration? = nil)
        -> HostStep
    {
        .run(host: host, summary: summary, command: command, timeout: timeout)
    }

    public var host: String {
        switch self {
        case .write(let host, _, _, _, _, _, _), .run(let host, _, _, _), .install(let host, _, _, _),
            .pendingWrite(let host, _, _):
            return host
        }
    }

    /// The engine's action for this step; `predicted` marks plans made from state earlier phases will change.
    public func action(predicted: Bool) -> Action {
        switch self {
        case .write(let host, let path, let content, let current, let mode, let change, let secret):
            return .writeFile(
                host: host, path: path, content: content, current: current, mode: mode, predicted: predicted,
                changeSummary: change, secret: secret)
        case .run(let host, let summary, let command, let timeout):
            return .command(host: host, summary: summary, command, timeout: timeout, predicted: predicted)
        case .install(let host, let summary, let artifact, let how):
            return Action(host: host, summary: summary, predicted: predicted) { env in
                guard let fetcher = env.context.values[ArtifactsKey.self] else {
                    throw EngineError.internalInconsistency("no artifact source configured")
                }
                let data = try Data(contentsOf: try await fetcher.fetch(artifact).path)
                try await how.install(data, artifact: artifact, on: env.host())
            }
        case .pendingWrite(let host, let path, let replacing):
            return Action(host: host, summary: "write \(path) (\(replacing ? "replaced" : "new"))", predicted: true) {
                _ in
                throw EngineError.internalInconsistency("\(path) for \(host) was planned without its content")
            }
        }
    }
}

/// How a release artifact becomes files on a host. The artifact is uploaded first (the upload is
/// skipped when the same file is there), then put in place by a script of Cairn's.
public enum ArtifactInstall: Sendable, Equatable {
    /// A single executable, uploaded straight to `path`, with an install marker.
    case binary(path: String)
    /// A tarball whose `binaries` (inside `inner`, "" for its root) go to /usr/local/bin. When
    /// `unit` is running, `marker` is touched so a later phase restarts it; `record` names the
    /// install marker to write (nil: none).
    case binaries(inner: String, names: [String], unit: String, marker: String, record: String?)
    /// A tarball unpacked into `directory`, with its version in `directory/.cairn-version`.
    case archive(directory: String)

    /// The host's cache of pushed artifacts.
    static let cacheDirectory = "/var/cache/cairn"

    func install(_ data: Data, artifact: ArtifactSpec, on executor: any HostExecutor) async throws {
        switch self {
        case .binary(let path):
            _ = try await executor.upload(data, to: path, mode: "755", owner: "root:root")
            try await executor.runChecked(
                Self.markInstalled(component: artifact.name, version: artifact.version, binary: path))
        case .binaries(let inner, let names, let unit, let marker, let record):
            let remote = Self.cacheDirectory + "/" + fileName(artifact)
            _ = try await executor.upload(data, to: remote, mode: "644", owner: "root:root")
            try await executor.runChecked(
                .script(
                    .cairnInstall, as: "cairn-install-\(artifact.name)",
                    arguments: [remote, inner, marker, unit] + names))
            if let record {
                try await executor.runChecked(
                    Self.markInstalled(component: record, version: artifact.version, binary: "/usr/local/bin/\(record)")
                )
            }
        case .archive(let directory):
            let remote = Self.cacheDirectory + "/" + fileName(artifact)
            _ = try await executor.upload(data, to: remote, mode: "644", owner: "root:root")
            try await executor.runChecked(
                .script(
                    .cairnUnpack, as: "cairn-unpack-\(artifact.name)", arguments: [remote, directory, artifact.version])
            )
        }
    }

    /// `NodeFacts.markerDirectory/COMPONENT` = "version size mtime" of the installed binary.
    static func markInstalled(component: String, version: String, binary: String) -> RemoteCommand {
        .script(.cairnMarkInstalled, arguments: [NodeFacts.markerDirectory, component, version, binary])
    }
}

extension Array where Element == HostStep {
    func actions(predicted: (String) -> Bool) -> [Action] {
        map { $0.action(predicted: predicted($0.host)) }
    }
}
