import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
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
    /// The checksum the lock file holds for it (nil: not locked yet).
    func lockedHash(for spec: ArtifactSpec) -> String?
}

extension ArtifactFetching {
    public func lockedHash(for spec: ArtifactSpec) -> String? { nil }
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
        return ArtifactStore(
            cacheDirectory: state.appendingPathComponent("artifacts"),
            lockFile: state.appendingPathComponent("artifacts.lock"), source: source)
    }
}
