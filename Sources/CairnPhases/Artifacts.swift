import CairnArtifacts
import CairnInventory
import CairnCore
import CairnEngine
import Foundation

/// An artifact on the operator's machine, checked against its expected SHA-256.
public struct FetchedArtifact: Sendable {
    public let path: URL
    public let sha256: String
}

/// Fetches artifacts to the operator's machine (mirror directory, or upstream), verified.
public protocol ArtifactFetching: Sendable {
    func fetch(_ spec: ArtifactSpec) async throws -> FetchedArtifact
    /// Where it will come from, for plans: "from the mirror /srv/mirror" or "from github.com".
    func origin(of spec: ArtifactSpec) -> String
}

public enum ArtifactsKey: RunValueKey {
    public typealias Value = any ArtifactFetching
}

/// The file name at the end of an artifact's URL.
func fileName(_ spec: ArtifactSpec) -> String {
    String(spec.url.split(separator: "/").last ?? Substring(spec.name))
}

/// Host architectures as release files name them.
enum Architecture {
    static func releaseName(machine: String) -> String {
        switch machine {
        case "x86_64", "amd64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        case "ppc64le": return "ppc64le"
        case "s390x": return "s390x"
        default: return machine
        }
    }
}

/// The remote half of installing binaries from a pushed release tarball.
enum BinaryInstall {
    /// Arguments: tarball, directory inside it ("" for the root), marker to touch when `unit`
    /// was running (so the cluster phase restarts it), unit, then the binary names.

    /// Fetches `request` on the operator's side, pushes it to the host's cache (skipped when
    /// the same file is there) and installs its binaries.
    static func action(host: String, request: ArtifactSpec, inner: String, binaries: [String], marker: String,
                       unit: String, record: String? = nil, summary: String, predicted: Bool) -> Action {
        Action(host: host, summary: summary, predicted: predicted) { env in
            guard let fetcher = env.context.values[ArtifactsKey.self] else {
                throw EngineError.internalInconsistency("no artifact source configured")
            }
            let artifact = try await fetcher.fetch(request)
            let data = try Data(contentsOf: artifact.path)
            let remote = "/var/cache/cairn/" + fileName(request)
            let executor = try env.host()
            _ = try await executor.upload(data, to: remote, mode: "644", owner: "root:root")
            try await executor.runChecked(RemoteCommand.script(.cairnInstall, as: "cairn-install-\(request.name)",
                                                               arguments: [remote, inner, marker, unit] + binaries))
            if let record {
                try await InstallMarker.record(component: record, version: request.version, binary: "/usr/local/bin/\(record)", on: executor)
            }
        }
    }
}

extension ArtifactStore: ArtifactFetching {
    public func fetch(_ spec: ArtifactSpec) async throws -> FetchedArtifact {
        let local: LocalArtifact = try await fetch(spec)
        return FetchedArtifact(path: local.path, sha256: local.sha256)
    }

    public func origin(of spec: ArtifactSpec) -> String {
        switch status(spec) {
        case .cached: return "from the local cache"
        case .willFetch(let location): return "from \(location)"
        }
    }

    /// The store for an inventory: cache and lock file in its state directory.
    public static func forInventory(_ inventory: Inventory) -> ArtifactStore {
        let state = URL(fileURLWithPath: inventory.stateDirectory)
        let source: CairnArtifacts.ArtifactSource
        switch inventory.artifacts.source {
        case .upstream: source = .upstream
        case .mirror: source = .mirror(inventory.artifacts.mirror ?? "")
        }
        return ArtifactStore(cacheDirectory: state.appendingPathComponent("artifacts"),
                             lockFile: state.appendingPathComponent("artifacts.lock"), source: source)
    }
}
