import Foundation

/// How the transport treats host keys (`ssh.hostKeyChecking` in the inventory).
public enum HostKeyMode: String, Sendable, CaseIterable {
    /// An unknown or changed key is refused.
    case strict
    /// An unknown key is recorded; a changed key is refused. The default.
    case acceptNew = "accept-new"
    /// No checking at all. Explicit opt-in; warned about on every connection.
    case off
}

/// Where a key passphrase or a password comes from. Never stored in the configuration itself
/// so that configurations can be logged and compared.
public enum SecretSource: Sendable, Equatable {
    case none
    case environment(String)
    case file(String)
    case value(String)

    func resolve(environment: [String: String]) -> String? {
        switch self {
        case .none: return nil
        case .environment(let name): return environment[name]
        case .file(let path):
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            return text.hasSuffix("\n") ? String(text.dropLast()) : text
        case .value(let v): return v
        }
    }
}

/// How Cairn decides whether remote commands need `sudo -n`.
public enum SudoPolicy: String, Sendable {
    /// Use sudo when the login user is not root (detected once per session).
    case auto
    case always
    case never
}

/// Everything needed to open one SSH session to one host.
public struct SSHConfiguration: Sendable {
    /// A name for messages and logs (the inventory's host name).
    public var label: String
    public var address: String
    public var port: Int
    public var user: String
    /// Private-key files to offer, in order.
    public var identityFiles: [String]
    public var passphrase: SecretSource
    public var useAgent: Bool
    /// Overrides `SSH_AUTH_SOCK`; nil means the process environment's.
    public var agentSocket: String?
    public var password: SecretSource
    public var knownHostsFile: String
    public var hostKeyMode: HostKeyMode
    public var sudo: SudoPolicy
    public var connectTimeout: Duration
    public var commandTimeout: Duration
    public var keepaliveInterval: Int
    /// A jump host this host is reached through (`ProxyJump`).
    public var bastion: Bastion?
    public var environment: [String: String]

    public final class Bastion: Sendable {
        public let configuration: SSHConfiguration
        public init(_ configuration: SSHConfiguration) { self.configuration = configuration }
    }

    public init(
        label: String? = nil,
        address: String,
        port: Int = 22,
        user: String = "root",
        identityFiles: [String] = [],
        passphrase: SecretSource = .none,
        useAgent: Bool = true,
        agentSocket: String? = nil,
        password: SecretSource = .none,
        knownHostsFile: String,
        hostKeyMode: HostKeyMode = .acceptNew,
        sudo: SudoPolicy = .auto,
        connectTimeout: Duration = .seconds(10),
        commandTimeout: Duration = .seconds(600),
        keepaliveInterval: Int = 15,
        bastion: SSHConfiguration? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.label = label ?? address
        self.address = address
        self.port = port
        self.user = user
        self.identityFiles = identityFiles
        self.passphrase = passphrase
        self.useAgent = useAgent
        self.agentSocket = agentSocket
        self.password = password
        self.knownHostsFile = knownHostsFile
        self.hostKeyMode = hostKeyMode
        self.sudo = sudo
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.keepaliveInterval = keepaliveInterval
        self.bastion = bastion.map(Bastion.init)
        self.environment = environment
    }
}

/// What a remote command produced. Bytes are kept as bytes; decode once, at the end.
public struct CommandOutput: Sendable, Equatable {
    public var stdout: Data
    public var stderr: Data
    public var exitStatus: Int32
    /// The signal the remote process died of ("KILL", "TERM"…), without "SIG". libssh2 reports
    /// exit status 0 in that case, so success is judged on both.
    public var exitSignal: String?
    public var duration: Duration

    public init(stdout: Data, stderr: Data, exitStatus: Int32, exitSignal: String?, duration: Duration) {
        self.stdout = stdout
        self.stderr = stderr
        self.exitStatus = exitStatus
        self.exitSignal = exitSignal
        self.duration = duration
    }

    public var succeeded: Bool { exitSignal == nil && exitStatus == 0 }
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// The last lines of stderr, for error reports.
    public func stderrTail(lines: Int = 5) -> [String] {
        let all = stderrText.split(separator: "\n", omittingEmptySubsequences: true)
        return all.suffix(lines).map(String.init)
    }

    public var statusDescription: String {
        if let signal = exitSignal { return "killed by signal \(signal)" }
        return "exit status \(exitStatus)"
    }
}

/// The result of an upload: whether the file on the host changed.
public enum UploadOutcome: String, Sendable, Equatable {
    /// Same content, mode and owner were already there; nothing was sent.
    case unchanged
    /// Content was already there; only mode or owner were fixed.
    case metadataUpdated = "metadata"
    /// New content was written (atomically).
    case written
}
