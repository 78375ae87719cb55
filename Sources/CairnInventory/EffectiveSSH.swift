import CairnCore
import Foundation

/// Where one effective SSH setting came from.
public enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    /// `hosts[i].ssh` (or, for `hostName`, `hosts[i].address`).
    case inventoryHost
    /// The top-level `ssh` section.
    case inventoryDefaults
    case sshConfig(file: String, line: Int)
    case builtInDefault

    public var description: String {
        switch self {
        case .inventoryHost: return "inventory host"
        case .inventoryDefaults: return "inventory ssh"
        case .sshConfig(let file, let line): return "\(file):\(line)"
        case .builtInDefault: return "default"
        }
    }
}

public struct EffectiveBastion: Sendable, Equatable {
    public var address: String
    public var port: Int
    public var user: String
    public var identityFiles: [String]
}

/// The SSH settings Cairn uses for one host, each with its source.
public struct EffectiveSSHSettings: Sendable, Equatable {
    /// The address to connect to: ssh_config `HostName` for the host's address, else the address.
    public var hostName: String
    public var port: Int
    public var user: String
    public var identityFiles: [String]
    public var passphraseSource: SecretSource
    public var passwordSource: SecretSource
    public var useAgent: Bool
    public var knownHostsFile: String
    public var hostKeyChecking: HostKeyChecking
    public var bastion: EffectiveBastion?
    public var sudo: SudoMode
    public var connectTimeout: Double
    public var commandTimeout: Double
    /// Field name (as above) → where its value came from.
    public var provenance: [String: SettingSource]

    public static let fieldNames = [
        "hostName", "port", "user", "identityFiles", "passphraseSource", "passwordSource", "useAgent",
        "knownHostsFile", "hostKeyChecking", "bastion", "sudo", "connectTimeout", "commandTimeout",
    ]
}

public enum BuiltInSSHDefaults {
    public static let user = "root"
    public static let port = 22
    public static let knownHostsFile = "~/.ssh/known_hosts"
    public static let hostKeyChecking = HostKeyChecking.acceptNew
    public static let sudo = SudoMode.auto
    public static let connectTimeout = 10.0
    public static let commandTimeout = 600.0
    public static let useAgent = true
    /// Tried in this order when no identity file is configured, like OpenSSH.
    public static let identityFiles = ["~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"]
}

/// The SSH settings for `host`: inventory host override, then inventory `ssh` defaults, then
/// `sshConfig` (matched on the host's `address`), then the built-in default.
///
/// `environment` gives `HOME` (for `~`) and `USER` (for `%u`); `fileExists` decides which of the
/// default identity files are offered.
public func effectiveSSH(
    for host: Host, in inventory: Inventory, sshConfig: SSHConfigFile?,
    environment: [String: String] = ProcessInfo.processInfo.environment,
    fileExists: @Sendable (String) -> Bool = InventoryFileSystem.local.fileExists
) -> EffectiveSSHSettings {
    let home = environment["HOME"]
    let over = host.sshOverrides
    let defaults = inventory.ssh
    let config = sshConfig?.values(for: host.address) ?? [:]
    var provenance: [String: SettingSource] = [:]

    func pick<T>(
        _ field: String, _ hostValue: T?, _ defaultsValue: T?, _ configKey: String?,
        _ fromConfig: (SSHConfigFile.Value) -> T?, _ builtIn: T
    ) -> T {
        if let hostValue {
            provenance[field] = .inventoryHost
            return hostValue
        }
        if let defaultsValue {
            provenance[field] = .inventoryDefaults
            return defaultsValue
        }
        if let configKey, let value = config[configKey], let parsed = fromConfig(value) {
            provenance[field] = .sshConfig(file: value.file, line: value.line)
            return parsed
        }
        provenance[field] = .builtInDefault
        return builtIn
    }

    var hostName = host.address
    provenance["hostName"] = .inventoryHost
    if let value = config["hostname"] {
        hostName = SSHConfigFile.expandTokens(
            value.first, hostName: host.address, originalHost: host.address, port: 0,
            remoteUser: "", localUser: environment["USER"] ?? "", homeDirectory: home)
        provenance["hostName"] = .sshConfig(file: value.file, line: value.line)
    }

    let user = pick("user", over.user, defaults.user, "user", { $0.first }, BuiltInSSHDefaults.user)
    let port = pick(
        "port", over.port, defaults.port, "port", { Int($0.first).flatMap { (1...65535).contains($0) ? $0 : nil } },
        BuiltInSSHDefaults.port)
    func expand(_ text: String) -> String {
        SSHConfigFile.expandTokens(
            text, hostName: hostName, originalHost: host.address, port: port, remoteUser: user,
            localUser: environment["USER"] ?? "", homeDirectory: home)
    }

    var identityFiles: [String]
    if let file = over.identityFile {
        identityFiles = [file]
        provenance["identityFiles"] = .inventoryHost
    } else if let file = defaults.identityFile {
        identityFiles = [file]
        provenance["identityFiles"] = .inventoryDefaults
    } else if let configured = sshConfig?.identityFiles(for: host.address), !configured.isEmpty {
        identityFiles = configured.map { expand($0.first) }
        provenance["identityFiles"] = .sshConfig(file: configured[0].file, line: configured[0].line)
    } else {
        identityFiles = BuiltInSSHDefaults.identityFiles.map(expand).filter(fileExists)
        provenance["identityFiles"] = .builtInDefault
    }

    let passphraseSource: SecretSource
    if let name = over.passphraseEnv {
        passphraseSource = .environment(name)
        provenance["passphraseSource"] = .inventoryHost
    } else if let path = over.passphraseFile {
        passphraseSource = .file(path)
        provenance["passphraseSource"] = .inventoryHost
    } else if let name = defaults.passphraseEnv {
        passphraseSource = .environment(name)
        provenance["passphraseSource"] = .inventoryDefaults
    } else if let path = defaults.passphraseFile {
        passphraseSource = .file(path)
        provenance["passphraseSource"] = .inventoryDefaults
    } else {
        passphraseSource = .none
        provenance["passphraseSource"] = .builtInDefault
    }

    let passwordSource = pick(
        "passwordSource", over.passwordEnv.map(SecretSource.environment),
        defaults.passwordEnv.map(SecretSource.environment), nil, { _ in nil }, SecretSource.none)

    let useAgent = pick(
        "useAgent", over.useAgent, defaults.useAgent, "identityagent",
        { $0.first.lowercased() == "none" ? false : nil }, BuiltInSSHDefaults.useAgent)
    let knownHostsFile = pick(
        "knownHostsFile", over.knownHostsFile, defaults.knownHostsFile, "userknownhostsfile",
        { $0.arguments.first.map(expand) }, expand(BuiltInSSHDefaults.knownHostsFile))
    let hostKeyChecking = pick(
        "hostKeyChecking", over.hostKeyChecking, defaults.hostKeyChecking, "stricthostkeychecking",
        { parseHostKeyChecking(sshConfigValue: $0.first) }, BuiltInSSHDefaults.hostKeyChecking)
    let sudo = pick("sudo", over.sudo, defaults.sudo, nil, { _ in nil }, BuiltInSSHDefaults.sudo)
    let connectTimeout = pick(
        "connectTimeout", over.connectTimeout, defaults.connectTimeout, "connecttimeout",
        { Double($0.first).flatMap { $0 > 0 ? $0 : nil } }, BuiltInSSHDefaults.connectTimeout)
    let commandTimeout = pick(
        "commandTimeout", over.commandTimeout, defaults.commandTimeout, nil, { _ in nil },
        BuiltInSSHDefaults.commandTimeout)

    // The jump host: written in the inventory, or ssh_config ProxyJump (its first hop).
    let written = pick(
        "bastion", over.bastion.map(Optional.some), defaults.bastion.map(Optional.some), "proxyjump",
        { parseProxyJump($0.first).map(Optional.some) }, BastionSettings?.none)
    var bastion: EffectiveBastion?
    if let written {
        let jumpConfig = sshConfig?.values(for: written.address) ?? [:]
        let jumpConfigFiles = sshConfig?.identityFiles(for: written.address) ?? []
        let jumpHostName =
            jumpConfig["hostname"].map {
                SSHConfigFile.expandTokens(
                    $0.first, hostName: written.address, originalHost: written.address, port: 0,
                    remoteUser: "", localUser: environment["USER"] ?? "", homeDirectory: home)
            } ?? written.address
        let jumpPort = written.port ?? jumpConfig["port"].flatMap { Int($0.first) } ?? BuiltInSSHDefaults.port
        let jumpUser = written.user ?? jumpConfig["user"]?.first ?? user
        let jumpFiles: [String]
        if let file = written.identityFile {
            jumpFiles = [file]
        } else if !jumpConfigFiles.isEmpty {
            jumpFiles = jumpConfigFiles.map {
                SSHConfigFile.expandTokens(
                    $0.first, hostName: jumpHostName, originalHost: written.address, port: jumpPort,
                    remoteUser: jumpUser, localUser: environment["USER"] ?? "", homeDirectory: home)
            }
        } else {
            jumpFiles = identityFiles
        }
        bastion = EffectiveBastion(address: jumpHostName, port: jumpPort, user: jumpUser, identityFiles: jumpFiles)
    }

    return EffectiveSSHSettings(
        hostName: hostName, port: port, user: user, identityFiles: identityFiles, passphraseSource: passphraseSource,
        passwordSource: passwordSource, useAgent: useAgent, knownHostsFile: knownHostsFile,
        hostKeyChecking: hostKeyChecking, bastion: bastion, sudo: sudo, connectTimeout: connectTimeout,
        commandTimeout: commandTimeout, provenance: provenance
    )
}

/// `yes` and `ask` (Cairn cannot ask) → strict; `accept-new`; `no` and `off` → off.
func parseHostKeyChecking(sshConfigValue value: String) -> HostKeyChecking? {
    switch value.lowercased() {
    case "yes", "ask": return .strict
    case "accept-new": return .acceptNew
    case "no", "off": return .off
    default: return nil
    }
}

/// The first hop of a `ProxyJump` value (`[user@]host[:port]`, comma-separated hops); nil for `none`.
func parseProxyJump(_ value: String) -> BastionSettings? {
    guard value.lowercased() != "none", let hop = value.split(separator: ",").first.map(String.init), !hop.isEmpty
    else { return nil }
    var rest = hop
    if rest.hasPrefix("ssh://") { rest = String(rest.dropFirst(6)) }
    var user: String?
    if let at = rest.lastIndex(of: "@") {
        user = String(rest[..<at])
        rest = String(rest[rest.index(after: at)...])
    }
    var port: Int?
    if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
        let inner = String(rest[rest.index(after: rest.startIndex)..<close])
        let after = rest[rest.index(after: close)...]
        if after.hasPrefix(":") { port = Int(after.dropFirst()) }
        rest = inner
    } else if rest.filter({ $0 == ":" }).count == 1, let colon = rest.firstIndex(of: ":") {
        port = Int(rest[rest.index(after: colon)...])
        rest = String(rest[..<colon])
    }
    return BastionSettings(address: rest, port: port, user: user)
}
