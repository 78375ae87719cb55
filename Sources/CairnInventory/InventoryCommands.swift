import CairnCore
import Foundation

/// The inventory commands as library functions; the CLI target wires them to `cairn validate` and
/// `cairn inventory import`.
public enum InventoryCommands {
    /// `cairn validate -i FILE [--explain]`: every diagnostic, then a one-line verdict.
    /// Exit code 0 for a valid inventory (warnings allowed), 65 otherwise. Touches no host and no network.
    /// `strict`: a warning (a zone whose loss loses quorum, say) makes the inventory invalid.
    public static func validate(path: String, explain: Bool, strict: Bool = false, loader: InventoryLoader) -> (
        output: String, exitCode: CairnExitCode
    ) {
        do {
            let loaded = try loader.load(path: path)
            var lines = loaded.warnings.map(\.description)
            let inventory = loaded.inventory
            let cp = inventory.controlPlaneHosts.count
            let etcd = inventory.etcdHosts.count
            let workers = inventory.workerHosts.count
            let warningCount = loaded.warnings.filter { $0.severity == .warning }.count
            lines.append(
                "inventory \(path) is valid: \(inventory.hosts.count) host\(inventory.hosts.count == 1 ? "" : "s") "
                    + "(\(cp) control-plane, \(etcd) etcd, \(workers) worker\(workers == 1 ? "" : "s"))"
                    + (warningCount > 0 ? ", \(warningCount) warning\(warningCount == 1 ? "" : "s")" : ""))
            if explain {
                lines.append("")
                lines.append(
                    contentsOf: explainSSH(loaded, environment: loader.environment, fileSystem: loader.fileSystem))
            }
            if strict && warningCount > 0 {
                lines.append(
                    "--strict: \(warningCount) warning\(warningCount == 1 ? "" : "s") refused; fix \(warningCount == 1 ? "it" : "them") in \(path), or validate without --strict"
                )
                return (lines.joined(separator: "\n") + "\n", .invalidInput)
            }
            return (lines.joined(separator: "\n") + "\n", .success)
        } catch {
            var lines = error.details
            lines.append(error.summary)
            if let next = error.nextStep { lines.append(next) }
            return (lines.joined(separator: "\n") + "\n", error.exitCode)
        }
    }

    /// One block per host: each effective SSH setting and where it came from.
    static func explainSSH(_ loaded: LoadedInventory, environment: [String: String], fileSystem: InventoryFileSystem)
        -> [String]
    {
        let home = environment["HOME"]
        var lines = ["Effective SSH settings (source: inventory host > inventory ssh > ssh_config > default)"]
        if let config = loaded.sshConfig {
            lines.append("ssh_config: \(Paths.abbreviate(config.path, home: home))")
            lines.append(contentsOf: config.warnings.map { "  " + $0.description })
        } else {
            lines.append("ssh_config: none")
        }
        for host in loaded.inventory.hosts {
            let settings = loaded.effectiveSSH(for: host, environment: environment, fileExists: fileSystem.fileExists)
            func source(_ field: String) -> String {
                switch settings.provenance[field] ?? .builtInDefault {
                case .sshConfig(let file, let line): return "ssh_config \(Paths.abbreviate(file, home: home)):\(line)"
                case let other: return other.description
                }
            }
            let rows: [(String, String)] = [
                ("hostName", settings.hostName),
                ("port", String(settings.port)),
                ("user", settings.user),
                (
                    "identityFiles",
                    settings.identityFiles.isEmpty
                        ? "(none)"
                        : settings.identityFiles.map { Paths.abbreviate($0, home: home) }.joined(separator: ", ")
                ),
                ("useAgent", String(settings.useAgent)),
                ("passphraseSource", settings.passphraseSource.description),
                ("passwordSource", settings.passwordSource.description),
                ("knownHostsFile", Paths.abbreviate(settings.knownHostsFile, home: home)),
                ("hostKeyChecking", settings.hostKeyChecking.rawValue),
                ("bastion", settings.bastion.map { "\($0.user)@\($0.address):\($0.port)" } ?? "(none)"),
                ("sudo", settings.sudo.rawValue),
                ("connectTimeout", "\(settings.connectTimeout)s"),
                ("commandTimeout", "\(settings.commandTimeout)s"),
            ]
            lines.append("")
            lines.append("\(host.name) (\(host.address)):")
            let width = rows.map(\.0.count).max() ?? 0
            let valueWidth = min(48, rows.map(\.1.count).max() ?? 0)
            for (field, value) in rows {
                let padded = field.padding(toLength: width, withPad: " ", startingAt: 0)
                let shown =
                    value.count < valueWidth ? value.padding(toLength: valueWidth, withPad: " ", startingAt: 0) : value
                lines.append("  \(padded)  \(shown)  [\(source(field))]")
            }
        }
        return lines
    }

    /// `cairn inventory import --from kubespray FILE`: a commented Cairn inventory, and what could not
    /// be carried over (also written as comments at the top of the YAML). Reads `inventory.ini` or
    /// `hosts.yaml` forms, told apart by content. A file Ansible would refuse, a template, or one
    /// without hosts throws `.notImportable` with the place (file:line:column) and the reason.
    public static func importKubespray(path: String) throws(InventoryError) -> (yaml: String, notes: [String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(
                path: path,
                reason: FileManager.default.fileExists(atPath: path)
                    ? "permission denied or read error" : "no such file")
        }
        guard let text = String(validatingUTF8Data: data) else {
            throw .notImportable(
                path: path, [Diagnostic(severity: .error, file: path, path: "", message: "the file is not UTF-8 text")])
        }
        return try importKubespray(text: text, sourceName: path)
    }

    public static func importKubespray(text: String, sourceName: String) throws(InventoryError) -> (
        yaml: String, notes: [String]
    ) {
        if text.utf8.count > SafeYAML.maxBytes {
            throw .notImportable(
                path: sourceName,
                [
                    Diagnostic(
                        severity: .error, file: sourceName, path: "",
                        message: "the file is larger than \(SafeYAML.maxBytes) bytes")
                ])
        }
        let result: Result<KubesprayImporter.Output, KubesprayImporter.Failure> = SafeYAML.onLargeStack {
            do throws(KubesprayImporter.Failure) {
                let ansible = try KubesprayImporter.read(text)
                return .success(try KubesprayImporter.convert(ansible, source: Paths.lastComponent(sourceName)))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let output):
            return (output.yaml, output.notes)
        case .failure(let failure):
            throw .notImportable(
                path: sourceName,
                [
                    Diagnostic(
                        severity: .error, file: sourceName, line: failure.line, column: failure.column ?? 1,
                        path: "", message: failure.message, hint: failure.hint)
                ])
        }
    }
}
