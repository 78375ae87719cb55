import CairnCore
import Foundation

/// Everything that can go wrong in the operator's PKI store.
public enum PKIError: Error, CairnReportableError, Equatable {
    /// A leaf was requested before its CA exists.
    case caMissing(name: String, directory: String)
    /// The CA's files exist but cannot be used. Never replaced silently: every certificate
    /// in the cluster depends on it.
    case caUnreadable(name: String, path: String, reason: String)
    /// The CA has expired; nothing it signs would be trusted.
    case caExpired(name: String, notAfter: Date, directory: String)
    /// The request itself is invalid (an IP SAN that is no address, an empty name).
    case invalidRequest(name: String, reason: String)
    /// `pem(of:)` / `caCertificatePEM` on something the store does not hold or cannot read.
    case unreadable(name: String, path: String, reason: String)
    /// Writing a file or creating the directory failed.
    case writeFailed(path: String, reason: String)
    /// Building or signing a certificate failed inside the X.509 library.
    case issueFailed(name: String, reason: String)

    public var summary: String {
        switch self {
        case .caMissing(let name, let directory):
            return "CA \(name) does not exist in \(directory)"
        case .caUnreadable(let name, let path, let reason):
            return "CA \(name) at \(path) cannot be used: \(reason)"
        case .caExpired(let name, let notAfter, _):
            return "CA \(name) expired on \(PKIError.format(notAfter))"
        case .invalidRequest(let name, let reason):
            return "invalid certificate request for \(name): \(reason)"
        case .unreadable(let name, let path, let reason):
            return "cannot read \(name) from \(path): \(reason)"
        case .writeFailed(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .issueFailed(let name, let reason):
            return "cannot issue certificate \(name): \(reason)"
        }
    }

    public var details: [String] {
        switch self {
        case .caUnreadable:
            return [
                "Cairn never regenerates an existing CA on its own: every etcd member and "
                    + "kube-apiserver trusts it, and a new one would cut them off from each other."
            ]
        default:
            return []
        }
    }

    public var nextStep: String? {
        switch self {
        case .caMissing(let name, _):
            return "Create the CA first (ensureCA(name: \"\(name)\")); `cairn apply` does this in its PKI phase."
        case .caUnreadable(let name, let path, _):
            let directory = (path as NSString).deletingLastPathComponent
            return "Restore \(name).crt and \(name).key in \(directory) from a backup. Only if you mean to "
                + "replace the CA and reissue every certificate it signed, move both files aside and run again."
        case .caExpired(let name, _, let directory):
            return "Replace the CA: move \(directory)/\(name).crt and \(name).key aside and run again; every "
                + "certificate it signed is then reissued and must be pushed to all hosts."
        case .invalidRequest:
            return "Fix the host names and addresses in the inventory."
        case .unreadable(let name, _, _):
            return "Run `cairn apply` to (re)generate \(name), or restore it from a backup."
        case .writeFailed(let path, _):
            return
                "Check that \((path as NSString).deletingLastPathComponent) is writable by you and the disk is not full."
        case .issueFailed:
            return nil
        }
    }

    public var exitCode: CairnExitCode {
        switch self {
        case .invalidRequest: return .invalidInput
        default: return .failure
        }
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
