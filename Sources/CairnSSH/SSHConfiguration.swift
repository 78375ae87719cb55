import CairnCore
import Foundation

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
    public var hostKeyMode: HostKeyChecking
    public var sudo: SudoMode
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
        hostKeyMode: HostKeyChecking = .acceptNew,
        sudo: SudoMode = .auto,
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
