import Foundation

/// An inventory that passed validation, with what was worth a warning.
public struct LoadedInventory: Sendable {
    public var inventory: Inventory
    public var warnings: [Diagnostic]
    /// The file as named by the operator (or the `sourceName` given for text).
    public var sourcePath: String
    /// The ssh_config file the inventory honours, read at load time.
    public var sshConfig: SSHConfigFile?

    /// Effective SSH settings of `host`, honouring `sshConfig`.
    public func effectiveSSH(
        for host: Host, environment: [String: String] = ProcessInfo.processInfo.environment,
        fileExists: @Sendable (String) -> Bool = InventoryFileSystem.local.fileExists
    ) -> EffectiveSSHSettings {
        CairnInventory.effectiveSSH(
            for: host, in: inventory, sshConfig: sshConfig, environment: environment, fileExists: fileExists)
    }
}

/// Reads and validates inventories. Touches nothing but local files (the inventory, the ssh_config
/// it names, and the existence of identity files and mirror directories), all through `fileSystem`.
public struct InventoryLoader: Sendable {
    public var environment: [String: String]
    public var fileSystem: InventoryFileSystem
    /// The add-ons whose sections the inventory may hold (`addons.KEY`), each read and validated
    /// by its own settings type (Cairn's registry: `Addons.settings` in CairnPhases).
    public var addons: [any AddonSettings.Type]

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, fileSystem: InventoryFileSystem = .local,
        addons: [any AddonSettings.Type]
    ) {
        self.environment = environment
        self.fileSystem = fileSystem
        self.addons = addons
    }

    public func load(path: String) throws(InventoryError) -> LoadedInventory {
        let absolute =
            Paths.resolve(path, base: FileManager.default.currentDirectoryPath, home: environment["HOME"]) ?? path
        guard let data = fileSystem.readFile(absolute) else {
            let reason =
                fileSystem.directoryExists(absolute)
                ? "it is a directory"
                : fileSystem.fileExists(absolute) ? "permission denied or read error" : "no such file"
            throw .unreadable(path: path, reason: reason)
        }
        if data.count > SafeYAML.maxBytes {
            throw .invalid([
                Diagnostic(
                    severity: .error, file: path, path: "",
                    message: "the file is \(data.count) bytes; inventories are limited to \(SafeYAML.maxBytes) bytes")
            ])
        }
        guard let text = String(validatingUTF8Data: data) else {
            let (line, column) = Self.firstInvalidUTF8(data)
            throw .invalid([
                Diagnostic(
                    severity: .error, file: path, line: line, column: column, path: "",
                    message: "the file is not UTF-8 text", hint: "is this the inventory file?")
            ])
        }
        return try load(text: text, sourceName: path, baseDirectory: Paths.directory(of: absolute))
    }

    /// Reads an inventory from text. Relative paths in it resolve against `baseDirectory`.
    /// Reads no file except through `fileSystem` (the ssh_config, existence of identity files).
    public func load(text: String, sourceName: String, baseDirectory: String) throws(InventoryError) -> LoadedInventory
    {
        let environment = environment
        let fileSystem = fileSystem
        let addons = addons
        let result: Result<LoadedInventory, InventoryError> = SafeYAML.onLargeStack {
            Self.decode(
                text: text, sourceName: sourceName, baseDirectory: baseDirectory,
                environment: environment, fileSystem: fileSystem, addons: addons)
        }
        return try result.get()
    }

    private static func decode(
        text: String, sourceName: String, baseDirectory: String,
        environment: [String: String], fileSystem: InventoryFileSystem, addons: [any AddonSettings.Type]
    ) -> Result<LoadedInventory, InventoryError> {
        let context = DecodeContext(file: sourceName)
        switch SafeYAML.compose(text) {
        case .failure(let problem):
            return .failure(
                .invalid([
                    Diagnostic(
                        severity: .error, file: sourceName, line: problem.line, column: problem.column,
                        path: "", message: problem.message, hint: problem.hint)
                ]))
        case .success(nil):
            return .failure(
                .invalid([
                    Diagnostic(
                        severity: .error, file: sourceName, line: 1, column: 1, path: "",
                        message: "the inventory is empty",
                        hint: "the smallest inventory lists hosts with their name, address and roles")
                ]))
        case .success(let root?):
            let decoder = InventoryDecoder(
                context: context, baseDirectory: Paths.normalize(baseDirectory),
                environment: environment, fileSystem: fileSystem, addonTypes: addons)
            let (decoded, facts) = decoder.decode(root)
            var inventory = decoded
            if !context.exhausted {
                inventory = CrossFieldValidator(inventory: decoded, facts: facts, context: context).run()
            }
            let diagnostics = context.finished()
            if diagnostics.contains(where: { $0.severity == .error }) {
                return .failure(.invalid(diagnostics))
            }
            return .success(
                LoadedInventory(
                    inventory: inventory, warnings: diagnostics, sourcePath: sourceName, sshConfig: facts.sshConfig))
        }
    }

    static func firstInvalidUTF8(_ data: Data) -> (Int, Int) {
        var line = 1
        var column = 1
        var index = data.startIndex
        while index < data.endIndex {
            let byte = data[index]
            let length: Int
            switch byte {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return (line, column)
            }
            let end = data.index(index, offsetBy: length, limitedBy: data.endIndex) ?? data.endIndex
            if data.distance(from: index, to: end) < length || String(data: data[index..<end], encoding: .utf8) == nil {
                return (line, column)
            }
            if byte == 10 {
                line += 1
                column = 1
            } else {
                column += 1
            }
            index = end
        }
        return (line, column)
    }
}

extension String {
    /// nil unless `data` is valid UTF-8 (no repair).
    init?(validatingUTF8Data data: Data) {
        var valid = true
        var iterator = data.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: break loop
            case .error:
                valid = false
                break loop
            }
        }
        guard valid else { return nil }
        self = String(decoding: data, as: UTF8.self)
    }
}
