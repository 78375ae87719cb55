import CairnCore
import Foundation

/// Everything the SSH transport can fail with. Each case carries the host and, where
/// libssh2 produced one, libssh2's own message; `summary`/`nextStep` render it for people.
public enum SSHError: Error, CairnReportableError, Equatable {
    case resolveFailed(host: String, reason: String)
    case connectFailed(host: String, port: Int, reason: String)
    case connectTimedOut(host: String, port: Int, seconds: Double)
    case handshakeFailed(host: String, message: String)
    /// `strict` mode and the host's key is not in known_hosts.
    case hostKeyUnknown(host: String, fingerprint: String, knownHostsFile: String)
    /// The host presented a key different from the one recorded. Never retried, never accepted.
    case hostKeyChanged(host: String, fingerprint: String, knownHostsFile: String)
    case knownHostsUnusable(path: String, reason: String)
    case keyUnreadable(host: String, path: String, message: String)
    case passphraseRequired(host: String, path: String)
    case authenticationFailed(host: String, user: String, tried: [String], message: String)
    case sudoRequiresPassword(host: String, user: String)
    case sudoUnavailable(host: String, user: String, message: String)
    case commandTimedOut(host: String, command: String, seconds: Double)
    case invalidCommand(host: String, reason: String)
    case channelFailed(host: String, operation: String, message: String)
    case sessionClosed(host: String)
    case uploadFailed(host: String, path: String, message: String)
    case downloadFailed(host: String, path: String, message: String)
    case bastionFailed(host: String, bastion: String, message: String)

    public var host: String? {
        switch self {
        case .resolveFailed(let h, _), .connectFailed(let h, _, _), .connectTimedOut(let h, _, _),
            .handshakeFailed(let h, _), .hostKeyUnknown(let h, _, _), .hostKeyChanged(let h, _, _),
            .keyUnreadable(let h, _, _), .passphraseRequired(let h, _),
            .authenticationFailed(let h, _, _, _), .sudoRequiresPassword(let h, _),
            .sudoUnavailable(let h, _, _), .commandTimedOut(let h, _, _), .invalidCommand(let h, _),
            .channelFailed(let h, _, _), .sessionClosed(let h), .uploadFailed(let h, _, _),
            .downloadFailed(let h, _, _), .bastionFailed(let h, _, _):
            return h
        case .knownHostsUnusable:
            return nil
        }
    }

    public var summary: String {
        switch self {
        case .resolveFailed(let h, let reason):
            return "cannot resolve \(h): \(reason)"
        case .connectFailed(let h, let port, let reason):
            return "cannot connect to \(h) port \(port): \(reason)"
        case .connectTimedOut(let h, let port, let seconds):
            return "connecting to \(h) port \(port) timed out after \(Self.format(seconds))"
        case .handshakeFailed(let h, let message):
            return "SSH handshake with \(h) failed: \(message)"
        case .hostKeyUnknown(let h, let fingerprint, let file):
            return "host key of \(h) (\(fingerprint)) is not in \(file) and host-key checking is strict"
        case .hostKeyChanged(let h, let fingerprint, let file):
            return
                "HOST KEY OF \(h) HAS CHANGED: it now presents \(fingerprint), which differs from the key recorded in \(file); refusing to connect (this may be an attack, or the host was reinstalled)"
        case .knownHostsUnusable(let path, let reason):
            return "known_hosts file \(path) cannot be used: \(reason)"
        case .keyUnreadable(let h, let path, let message):
            return "private key \(path) cannot be used for \(h): \(message)"
        case .passphraseRequired(let h, let path):
            return "private key \(path) for \(h) is protected by a passphrase and none was given"
        case .authenticationFailed(let h, let user, let tried, let message):
            let methods = tried.isEmpty ? "no usable method" : tried.joined(separator: ", ")
            return "authentication as \(user) on \(h) failed (tried: \(methods)): \(message)"
        case .sudoRequiresPassword(let h, let user):
            return "sudo on \(h) asks \(user) for a password; Cairn only uses passwordless sudo"
        case .sudoUnavailable(let h, let user, let message):
            return "\(user) on \(h) is not root and cannot use sudo: \(message)"
        case .commandTimedOut(let h, let command, let seconds):
            return "command on \(h) did not finish within \(Self.format(seconds)): \(command)"
        case .invalidCommand(let h, let reason):
            return "refusing to send a command to \(h): \(reason)"
        case .channelFailed(let h, let operation, let message):
            return "\(operation) on \(h) failed: \(message)"
        case .sessionClosed(let h):
            return "the SSH session to \(h) is closed"
        case .uploadFailed(let h, let path, let message):
            return "upload of \(path) to \(h) failed: \(message)"
        case .downloadFailed(let h, let path, let message):
            return "download of \(path) from \(h) failed: \(message)"
        case .bastionFailed(let h, let bastion, let message):
            return "cannot reach \(h) through bastion \(bastion): \(message)"
        }
    }

    public var nextStep: String? {
        switch self {
        case .resolveFailed:
            return "check the host's address in the inventory (or its HostName in your ssh config)"
        case .connectFailed, .connectTimedOut:
            return "check that the host is up, sshd listens on that port and no firewall is in between"
        case .handshakeFailed:
            return "check that the server speaks SSH on that port; run `ssh -v` to the host for details"
        case .hostKeyUnknown(let h, _, let file):
            return
                "verify the key out of band, then add it to \(file) (e.g. `ssh-keyscan \(h) >> \(file)`), or use hostKeyChecking: accept-new"
        case .hostKeyChanged(let h, _, let file):
            return
                "if the host was really reinstalled, remove its old key with `ssh-keygen -R \(h) -f \(file)` and rerun"
        case .knownHostsUnusable:
            return "fix the file's permissions or contents, or point ssh.knownHostsFile elsewhere"
        case .keyUnreadable:
            return "check the key file's path and permissions; Cairn reads OpenSSH and PEM keys (ed25519, ECDSA, RSA)"
        case .passphraseRequired:
            return
                "set ssh.passphraseEnv (an environment variable holding the passphrase) or load the key into ssh-agent"
        case .authenticationFailed(let h, let user, _, _):
            return
                "check that \(user)@\(h) accepts the configured key (try `ssh -i KEY \(user)@\(h)`), or load the key into ssh-agent"
        case .sudoRequiresPassword(_, let user):
            return
                "allow passwordless sudo for \(user) (e.g. `\(user) ALL=(ALL) NOPASSWD:ALL` in /etc/sudoers.d/) or log in as root"
        case .sudoUnavailable:
            return "install sudo and grant the login user passwordless sudo, or log in as root"
        case .commandTimedOut:
            return "check the host's load and network; raise ssh.commandTimeout if the step is legitimately slow"
        case .invalidCommand:
            return "this is a bug in Cairn; please report it with the inventory"
        case .channelFailed, .sessionClosed:
            return "rerun; if it persists, check sshd's logs on the host (MaxSessions, disk space)"
        case .uploadFailed:
            return "check free space and permissions on the host, then rerun"
        case .downloadFailed:
            return "check that the file exists on the host and is readable, then rerun"
        case .bastionFailed:
            return "check that the bastion allows TCP forwarding (AllowTcpForwarding yes) and reaches the host"
        }
    }

    public var exitCode: CairnExitCode {
        switch self {
        case .resolveFailed, .connectFailed, .connectTimedOut, .handshakeFailed, .hostKeyUnknown,
            .hostKeyChanged, .knownHostsUnusable, .keyUnreadable, .passphraseRequired,
            .authenticationFailed, .bastionFailed, .sudoRequiresPassword, .sudoUnavailable:
            return .unreachable
        case .commandTimedOut, .invalidCommand, .channelFailed, .sessionClosed, .uploadFailed,
            .downloadFailed:
            return .failure
        }
    }

    /// Errors that must never be retried by any retry loop.
    public var isFatal: Bool {
        switch self {
        case .hostKeyChanged, .hostKeyUnknown, .authenticationFailed, .passphraseRequired,
            .keyUnreadable, .sudoRequiresPassword, .invalidCommand:
            return true
        default:
            return false
        }
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%.1f s", seconds)
    }
}
