import Foundation
import PackagePlugin

/// Embeds a target's remote shell scripts (`*.sh` beside its Swift files) and, for CairnPhases,
/// the default playbook and add-on templates under `playbooks/`, into the binary at build time:
/// `cairn-embed` writes them into a generated Swift file. Nothing generated is committed, so the
/// binary cannot carry a stale copy.
@main
struct EmbedResources: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let scripts = target.sourceFiles.filter { $0.url.pathExtension == "sh" }.map(\.url)
        var resources: [URL] = []
        // The add-on components: every Swift file of Addons/ is scanned for `struct NAME: Addon`.
        let addonSources = target.sourceFiles.filter {
            $0.url.pathExtension == "swift" && $0.url.deletingLastPathComponent().lastPathComponent == "Addons"
        }
        .map(\.url)
        if target.name == "CairnPhases" {
            let root = context.package.directoryURL
            let playbooks = root.appendingPathComponent("playbooks")
            let enumerator = FileManager.default.enumerator(
                at: playbooks, includingPropertiesForKeys: [.isRegularFileKey])
            while let url = enumerator?.nextObject() as? URL {
                if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                    resources.append(url)
                }
            }
        }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("Embedded.swift")
        var arguments = ["--output", output.path, "--root", context.package.directoryURL.path]
        arguments += scripts.flatMap { ["--script", $0.path] }
        arguments += resources.sorted { $0.path < $1.path }.flatMap { ["--resource", $0.path] }
        arguments += addonSources.sorted { $0.path < $1.path }.flatMap { ["--addon-source", $0.path] }
        return [
            .buildCommand(
                displayName: "Embedding \(scripts.count) scripts and \(resources.count) files into \(target.name)",
                executable: try context.tool(named: "cairn-embed").url, arguments: arguments,
                inputFiles: scripts + resources + addonSources, outputFiles: [output])
        ]
    }
}
