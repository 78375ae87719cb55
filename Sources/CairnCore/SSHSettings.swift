import Foundation

/// How host keys are checked (`ssh.hostKeyChecking` in the inventory, `SSHConfiguration.hostKeyMode`).
public enum HostKeyChecking: String, Sendable, CaseIterable, Hashable {
    /// An unknown or changed key is refused.
    case strict
    /// An unknown key is recorded; a changed key is refused. The default.
    case acceptNew = "accept-new"
    /// No checking at all. Explicit opt-in; warned about on every connection.
    case off
}

/// Whether remote commands run through `sudo -n` (`ssh.sudo` in the inventory).
public enum SudoMode: String, Sendable, CaseIterable, Hashable {
    /// Use sudo when the login user is not root (detected once per session).
    case auto
    case always
    case never
}

/// Where a key passphrase or a password comes from. Never the secret itself in a configuration
/// read from a file, so that configurations can be logged and compared.
public enum SecretSource: Sendable, Equatable, Hashable, CustomStringConvertible {
    case none
    case environment(String)
    case file(String)
    /// Only for tests and programmatic use; the inventory cannot say this.
    case value(String)

    public func resolve(environment: [String: String]) -> String? {
        switch self {
        case .none: return nil
        case .environment(let name): return environment[name]
        case .file(let path):
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            return text.hasSuffix("\n") ? String(text.dropLast()) : text
        case .value(let value): return value
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .environment(let name): return "env \(name)"
        case .file(let path): return "file \(path)"
        case .value: return "given"
        }
    }
}
