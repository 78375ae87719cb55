import CairnCore

/// What can go wrong fetching, verifying and caching release artifacts.
public enum ArtifactError: Error, CairnReportableError, Equatable {
    /// The spec cannot be fetched as written (URL not `https://HOST/PATH`, spaces in a name).
    case invalidSpec(name: String, reason: String)
    case invalidMirror(mirror: String, reason: String)
    /// The mirror directory does not have the file.
    case notInMirror(artifact: String, path: String, mirror: String)
    /// The server answered with a status other than 200.
    case httpStatus(artifact: String, url: String, status: Int)
    /// The transfer failed: connection refused, DNS, timeout, TLS.
    case downloadFailed(artifact: String, url: String, reason: String)
    /// The file is not the one expected. `expectedFrom` says where the expectation came from
    /// ("the pinned hash" or the lock file's path). The bad file has been deleted.
    case checksumMismatch(artifact: String, url: String, expected: String, actual: String, expectedFrom: String)
    case lockFileInvalid(path: String, line: Int?, reason: String)
    case writeFailed(path: String, reason: String)

    public var summary: String {
        switch self {
        case .invalidSpec(let name, let reason):
            return "artifact \(name) cannot be fetched: \(reason)"
        case .invalidMirror(let mirror, let reason):
            return "artifact mirror \(mirror) is not usable: \(reason)"
        case .notInMirror(let artifact, let path, _):
            return "\(artifact) is not in the mirror: \(path) does not exist"
        case .httpStatus(let artifact, let url, let status):
            return "downloading \(artifact) failed: HTTP \(status)\(status == 404 ? " (not found)" : "") from \(url)"
        case .downloadFailed(let artifact, let url, let reason):
            return "downloading \(artifact) from \(url) failed: \(reason)"
        case .checksumMismatch(let artifact, let url, let expected, let actual, let expectedFrom):
            return "\(artifact) from \(url) has SHA-256 \(actual), but \(expectedFrom) says \(expected)"
        case .lockFileInvalid(let path, let line, let reason):
            return "lock file \(path)\(line.map { " line \($0)" } ?? "") is invalid: \(reason)"
        case .writeFailed(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }

    public var details: [String] {
        switch self {
        case .checksumMismatch(_, _, let expected, let actual, _):
            return [
                "expected: sha256:\(expected)", "actual:   sha256:\(actual)",
                "The downloaded file was deleted; nothing was cached or pushed.",
            ]
        default:
            return []
        }
    }

    public var nextStep: String? {
        switch self {
        case .invalidSpec:
            return "Fix the artifact's name, version or URL in the inventory."
        case .invalidMirror:
            return "Set the mirror to a directory, a file:// URL or an http(s):// base URL (see docs/artifacts.md)."
        case .notInMirror(_, let path, _):
            return "Copy the file to \(path) (the mirror has the upstream layout: the URL without https://), "
                + "or fill the mirror from the cache of a connected machine (docs/artifacts.md)."
        case .httpStatus(_, _, let status):
            return status == 404
                ? "Check that the version exists for this architecture, and that the mirror holds the file at that path."
                : "Check the server or mirror, then run again."
        case .downloadFailed:
            return "Check the network path to the server (or use a mirror: docs/artifacts.md), then run again."
        case .checksumMismatch(_, _, _, _, let expectedFrom):
            if expectedFrom == "the pinned hash" {
                return
                    "Replace the file at its source with the genuine release, or correct the pinned hash if it was wrong."
            }
            return "Replace the file in the mirror with the genuine release. If the release was deliberately "
                + "re-published, verify the new file, remove its line from \(expectedFrom) and run again."
        case .lockFileInvalid(let path, _, _):
            return
                "Fix or remove the line in \(path); a removed line is recorded again on the next fetch (trust on first use)."
        case .writeFailed(let path, _):
            return "Check that the directory of \(path) is writable and the disk is not full."
        }
    }

    public var exitCode: CairnExitCode {
        switch self {
        case .invalidSpec, .invalidMirror: return .invalidInput
        default: return .failure
        }
    }
}
