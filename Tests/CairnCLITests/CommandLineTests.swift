import CairnPhases
import CairnTesting
import Foundation
import Testing

/// The command line without hosts.
@Suite struct CommandLineTests {
    @Test func invalidInventoryTouchesNoHostAndExits65() throws {
        let path = Lab.temporaryPath("bad.yaml")
        try "hosts:\n  - {name: Bad_Name, address: 10.99.250.1, roles: [master]}\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let result = try Lab.cairn(["apply", "--yes", "-i", path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("hosts[0].name"))
        #expect(result.stderr.contains("hosts[0].roles[0]"))
    }

    @Test func graphPrintsTheBuiltInPlaybook() throws {
        let dot = try Lab.cairn(["graph"])
        #expect(dot.status == 0)
        #expect(dot.stdout.hasPrefix("digraph cairn {"))
        #expect(dot.stdout.contains("\"control-plane-init\" -> \"control-plane-join\";"))
        let mermaid = try Lab.cairn(["graph", "--format", "mermaid"])
        #expect(mermaid.stdout.hasPrefix("flowchart LR"))
    }
}

@Suite struct EmbeddedResourceTests {
    @Test func embeddedPlaybooksMatchTheFiles() throws {
        #expect(!EmbeddedResources.files.isEmpty)
        for (path, text) in EmbeddedResources.files {
            let file = try String(contentsOf: Lab.repositoryRoot.appendingPathComponent(path), encoding: .utf8)
            #expect(file == text + "\n", "\(path) differs from the copy in the binary")
        }
        let enumerator = FileManager.default.enumerator(
            atPath: Lab.repositoryRoot.appendingPathComponent("playbooks").path)
        var files: [String] = []
        while let next = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(
                atPath: Lab.repositoryRoot.appendingPathComponent("playbooks/" + next).path, isDirectory: &isDirectory)
            if !isDirectory.boolValue { files.append("playbooks/" + next) }
        }
        #expect(!files.isEmpty)
        #expect(Set(files) == Set(EmbeddedResources.files.keys), "the build plugin embeds every file under playbooks/")
    }
}
