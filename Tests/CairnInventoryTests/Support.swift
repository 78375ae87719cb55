import CairnCore
import CairnPhases
import Foundation

@testable import CairnInventory

/// Helpers shared by the inventory tests.
enum Fixture {
    static let home = "/home/op"
    static let environment = ["HOME": home, "USER": "op"]

    /// The repository root, from this file's path.
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var corpus: URL {
        Bundle.module.url(forResource: "Corpus", withExtension: nil)!
    }

    /// A file system holding exactly `files` (path → contents); directories are implied.
    static func fileSystem(_ files: [String: String] = [:], directories: Set<String> = []) -> InventoryFileSystem {
        InventoryFileSystem(
            fileExists: { files[$0] != nil },
            directoryExists: { path in directories.contains(path) || files.keys.contains { $0.hasPrefix(path + "/") } },
            readFile: { files[$0].map { Data($0.utf8) } },
            listDirectory: { path in
                let prefix = path + "/"
                let names = files.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }.filter
                { !$0.contains("/") }
                return names.isEmpty ? nil : names
            }
        )
    }

    static func loader(
        files: [String: String] = [:], directories: Set<String> = [], environment: [String: String] = environment
    ) -> InventoryLoader {
        InventoryLoader(environment: environment, fileSystem: fileSystem(files, directories: directories))
    }

    /// Loads text; returns the inventory or the diagnostics.
    static func load(
        _ yaml: String, files: [String: String] = [:], directories: Set<String> = [],
        environment: [String: String] = environment
    ) -> Result<LoadedInventory, InventoryError> {
        Result { () throws(InventoryError) in
            try loader(files: files, directories: directories, environment: environment)
                .load(text: yaml, sourceName: "test.yaml", baseDirectory: "/work/inv")
        }
    }

    /// All diagnostics (errors and warnings) of a document.
    static func diagnostics(_ yaml: String, files: [String: String] = [:], directories: Set<String> = [])
        -> [Diagnostic]
    {
        switch load(yaml, files: files, directories: directories) {
        case .success(let loaded): return loaded.warnings
        case .failure(let error): return error.diagnostics
        }
    }

    static func errors(_ yaml: String, files: [String: String] = [:], directories: Set<String> = []) -> [Diagnostic] {
        diagnostics(yaml, files: files, directories: directories).filter { $0.severity == .error }
    }

    /// A valid 5-host HA inventory to change one thing in.
    static let ha = """
        name: t
        hosts:
          - {name: cp1, address: 10.0.0.11, roles: [control-plane, etcd]}
          - {name: cp2, address: 10.0.0.12, roles: [control-plane, etcd]}
          - {name: cp3, address: 10.0.0.13, roles: [control-plane, etcd]}
          - {name: w1, address: 10.0.0.21, roles: [worker]}
          - {name: w2, address: 10.0.0.22, roles: [worker]}
        kubernetes:
          apiEndpoint:
            haproxyKeepalived: {virtualIP: 10.0.0.10}
        addons:
          metallb:
            addressPools:
              - {name: default, addresses: ["10.0.0.200-10.0.0.220"]}

        """
}

/// The inventory tests read inventories as Cairn does: with every built-in add-on's section.
extension InventoryLoader {
    init(environment: [String: String] = ProcessInfo.processInfo.environment, fileSystem: InventoryFileSystem = .local)
    {
        self.init(environment: environment, fileSystem: fileSystem, addons: Addons.settings)
    }
}

extension InventoryCommands {
    static func validate(path: String, explain: Bool, environment: [String: String]) -> (
        output: String, exitCode: CairnExitCode
    ) {
        validate(path: path, explain: explain, loader: InventoryLoader(environment: environment))
    }
}

extension InventorySchema {
    static var sections: [Section] { sections(addons: Addons.settings) }
    static func referenceMarkdown() -> String { referenceMarkdown(addons: Addons.settings) }
}

/// Calico's settings with these values (the defaults otherwise).
func calicoSettings(
    enabled: Bool = true, version: String = "3.33.1", encapsulation: Calico.Encapsulation = .vxlan, blockSize: Int = 26,
    natOutgoing: Bool = true
) -> Calico.Settings {
    var settings = Calico.Settings(
        defaultsFor: ClusterShape(
            hosts: [], kubernetes: KubernetesSettings(apiEndpoint: APIEndpoint(address: "", mode: .direct))))
    settings.enabled = enabled
    settings.version = version
    settings.encapsulation = encapsulation
    settings.blockSize = blockSize
    settings.natOutgoing = natOutgoing
    return settings
}
