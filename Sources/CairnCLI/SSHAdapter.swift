import CairnCore
import CairnInventory
import CairnSSH
import Foundation
import Logging

/// The one place where the inventory's SSH settings become the transport's configuration.
/// Both sides share `HostKeyChecking`, `SudoMode` and `SecretSource` from `CairnCore`, so this
/// is a field-for-field copy with units converted, nothing to keep in step.
extension SSHConfiguration {
    init(host: CairnInventory.Host, settings: EffectiveSSHSettings, environment: [String: String]) {
        let bastion = settings.bastion.map { jump in
            SSHConfiguration(
                label: "bastion \(jump.address)", address: jump.address, port: jump.port, user: jump.user,
                identityFiles: jump.identityFiles, passphrase: settings.passphraseSource, useAgent: settings.useAgent,
                knownHostsFile: settings.knownHostsFile, hostKeyMode: settings.hostKeyChecking, sudo: .never,
                connectTimeout: .seconds(settings.connectTimeout), environment: environment)
        }
        self.init(
            label: host.name, address: settings.hostName, port: settings.port, user: settings.user,
            identityFiles: settings.identityFiles, passphrase: settings.passphraseSource, useAgent: settings.useAgent,
            password: settings.passwordSource, knownHostsFile: settings.knownHostsFile,
            hostKeyMode: settings.hostKeyChecking,
            sudo: settings.sudo, connectTimeout: .seconds(settings.connectTimeout),
            commandTimeout: .seconds(settings.commandTimeout),
            bastion: bastion, environment: environment)
    }
}

extension SSHExecutorProvider {
    /// A provider for `hosts` of a loaded inventory (all of them by default).
    init(
        inventory loaded: LoadedInventory, hosts: [CairnInventory.Host]? = nil, environment: [String: String],
        logger: Logger
    ) {
        var configurations: [String: SSHConfiguration] = [:]
        for host in hosts ?? loaded.inventory.hosts {
            configurations[host.name] = SSHConfiguration(
                host: host, settings: loaded.effectiveSSH(for: host, environment: environment),
                environment: environment)
        }
        self.init(configurations: configurations, logger: logger)
    }
}
