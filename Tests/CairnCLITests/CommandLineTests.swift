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

    /// Destructive commands ask first. With no terminal to ask on and no --yes they refuse with
    /// exit 1 and say why, before connecting anywhere (the hosts' port answers nothing: a
    /// connection attempt would end with 68).
    @Test func destructiveCommandsRefuseWithoutATerminalOrYes() throws {
        let inventory = Lab.temporaryPath("cluster.yaml")
        try """
        name: t
        ssh: {port: 9}
        kubernetes: {apiEndpoint: {haproxyKeepalived: {virtualIP: 127.0.0.250}}}
        hosts:
          - {name: cp1, address: 127.0.0.1, roles: [control-plane, etcd]}
          - {name: cp2, address: 127.0.0.2, roles: [control-plane, etcd]}
          - {name: cp3, address: 127.0.0.3, roles: [control-plane, etcd]}
        """.write(toFile: inventory, atomically: true, encoding: .utf8)
        let snapshot = Lab.temporaryPath("etcd.db")
        try "not really a snapshot".write(toFile: snapshot, atomically: true, encoding: .utf8)
        for (command, arguments) in [
            ("cairn reset", ["reset", "-i", inventory]),
            ("cairn restore", ["restore", "-i", inventory, snapshot]),
            ("cairn etcd remove", ["etcd", "remove", "-i", inventory, "cp3"]),
        ] {
            let result = try Lab.cairn(arguments)
            #expect(result.status == 1, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("`\(command)` changes the cluster and asks first, but there is no terminal"))
            #expect(result.stderr.contains("rerun it with --yes"))
        }
    }

    /// `cairn inventory import`: a refusal prints where and why, like `validate`, and exits 65; the
    /// kubespray layout with ungrouped hosts first imports.
    @Test func importPrintsWhereAndWhyItRefuses() throws {
        let template = Lab.temporaryPath("template.ini")
        try "[kube_control_plane]\n{% for h in groups['all'] %}\n{{ h }}\n{% endfor %}\n".write(
            toFile: template, atomically: true, encoding: .utf8)
        let refused = try Lab.cairn(["inventory", "import", "--from", "kubespray", template])
        #expect(refused.status == 65)
        #expect(refused.stdout.isEmpty)
        #expect(refused.stderr.contains("error: cannot import \(template): 1 problem"), "\(refused.stderr)")
        #expect(
            refused.stderr.contains(
                "  \(template):2:1: error: {% for h in groups['all'] %} is Jinja template syntax"), "\(refused.stderr)")
        #expect(refused.stderr.contains("next: fix the place named above"))

        let empty = Lab.temporaryPath("empty.ini")
        try "# [kube_control_plane]\n# node1\n".write(toFile: empty, atomically: true, encoding: .utf8)
        let nothing = try Lab.cairn(["inventory", "import", "--from", "kubespray", empty])
        #expect(nothing.status == 65)
        #expect(nothing.stderr.contains("  \(empty): error: the inventory defines no hosts"), "\(nothing.stderr)")
        // No line to point at: the next step does not pretend there is one.
        #expect(nothing.stderr.contains("next: fix what is named above"), "\(nothing.stderr)")

        let ungrouped = Lab.temporaryPath("ungrouped.ini")
        try "node1 ansible_host=192.0.2.11 ip=10.0.0.11\n\n[kube_control_plane]\nnode1\n".write(
            toFile: ungrouped, atomically: true, encoding: .utf8)
        let imported = try Lab.cairn(["inventory", "import", "--from", "kubespray", ungrouped])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("  - name: node1\n    address: 192.0.2.11\n    internalAddress: 10.0.0.11\n"))
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
