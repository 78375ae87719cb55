import CairnInventory
import Foundation
import Testing

@testable import CairnPhases

/// The render check: every object Cairn applies from its own templates, for each example inventory
/// under `inventory/` and each supported Kubernetes version, passes the schemas a real cluster
/// would hold it to: built-in kinds kubernetes-validate's strict schemas of that minor, custom
/// kinds their CRD's openAPIV3Schema (`lab/k8s/schemacheck.py`). A misspelled field in a template
/// fails here, before any cluster sees it.
@Suite(.enabled(if: SchemaCheck.runs, "\(SchemaCheck.unavailableReason ?? "")"))
struct RenderedObjectsSchemaTests {
    static let inventories = [
        "ha.yaml", "dedicated-etcd.yaml", "single-host.yaml", "bastion.yaml", "air-gapped.yaml", "lab.yaml",
    ]

    /// What every enabled add-on applies for an inventory: its rendered configuration, and the
    /// probes its gate applies.
    static func objects(_ topology: Topology) throws -> [(name: String, yaml: String)] {
        var out: [(String, String)] = []
        for addon in Addons.instances(topology) where addon.isEnabled {
            let name = type(of: addon).name
            if let rendered = try addon.definition().rendered { out.append((name, rendered)) }
            if addon is MetalLB {
                out.append((name + "-probe", try Template.text("playbooks/addons/metallb-probe.yaml")))
            }
            if addon is RookCeph {
                out.append((name + "-probe", try Template.text("playbooks/addons/rook-ceph-pvc-probe.yaml")))
            }
        }
        return out
    }

    /// The examples, and (with Kubernetes 1.35) the lab's with the other ingress controller (no example
    /// uses ingress-nginx).
    static func inventories(version: String) throws -> [(label: String, inventory: Inventory)] {
        let loader = InventoryLoader(
            environment: ["HOME": "/home/op", "USER": "op"],
            fileSystem: InventoryFileSystem.local.assumingEverythingExists(), addons: Addons.settings)
        var out: [(String, Inventory)] = []
        for name in Self.inventories {
            let path = SchemaCheck.root.appendingPathComponent("inventory/\(name)").path
            out.append((String(name.dropLast(5)), try loader.load(path: path).inventory))
        }
        let lab = try String(
            contentsOf: SchemaCheck.root.appendingPathComponent("inventory/lab.yaml"), encoding: .utf8)
        #expect(
            lab.hasSuffix(
                "addons:\n  metallb:\n    addressPools:\n      - {name: lab, addresses: [\"10.99.1.200-10.99.1.220\"]}\n"
            ))
        // ingress-nginx is allowed only where upstream supported it (up to Kubernetes 1.35).
        if version.hasPrefix("1.35.") {
            let text = lab.replacingOccurrences(of: "kubernetes:\n", with: "kubernetes:\n  version: \"\(version)\"\n")
            out.append(
                (
                    "lab-ingress-nginx",
                    try loader.load(
                        text: text + "  ingress: {controller: ingress-nginx}\n", sourceName: "lab-ingress-nginx.yaml",
                        baseDirectory: "/"
                    ).inventory
                ))
        }
        return out.map { label, inventory in
            var inventory = inventory
            inventory.kubernetes.version = version
            return (label, inventory)
        }
    }

    @Test(arguments: SupportedVersions.kubernetes.supported)
    func everyRenderedObjectPassesTheRealSchemas(version: String) throws {
        let directory = try SchemaCheck.scratch("render-\(version)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var files: [String] = []
        var kinds: Set<String> = []
        for (label, inventory) in try Self.inventories(version: version) {
            for (addon, yaml) in try Self.objects(Topology(inventory)) {
                let file = directory.appendingPathComponent("\(label)-\(addon).yaml")
                try yaml.write(to: file, atomically: true, encoding: .utf8)
                files.append(file.path)
                kinds.insert(addon)
            }
        }
        // Every template is among them.
        #expect(
            kinds == ["calico", "coredns", "metallb", "metallb-probe", "ingress", "rook-ceph", "rook-ceph-probe"],
            "\(kinds.sorted())")
        let result = try SchemaCheck.run(version: version, files: files)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains(": 0 problems"), "\(result.output)")
    }

    /// The check is not a pass on anything: a misspelled field of a built-in kind and of a custom
    /// kind are both refused, by name.
    @Test func aMisspelledFieldIsRefusedForBothKindFamilies() throws {
        let topology = Topology(
            try InventoryLoader(
                environment: ["HOME": "/home/op", "USER": "op"],
                fileSystem: InventoryFileSystem.local.assumingEverythingExists(), addons: Addons.settings
            ).load(path: SchemaCheck.root.appendingPathComponent("inventory/lab.yaml").path).inventory)
        let rendered = Dictionary(try Self.objects(topology), uniquingKeysWith: { a, _ in a })
        let directory = try SchemaCheck.scratch("typos")
        defer { try? FileManager.default.removeItem(at: directory) }
        let coredns = directory.appendingPathComponent("coredns.yaml")
        try #require(rendered["coredns"]).replacingOccurrences(of: "topologyKey:", with: "topologykey:")
            .write(to: coredns, atomically: true, encoding: .utf8)
        let calico = directory.appendingPathComponent("calico.yaml")
        try #require(rendered["calico"]).replacingOccurrences(of: "natOutgoing:", with: "natOutGoing:")
            .write(to: calico, atomically: true, encoding: .utf8)
        let result = try SchemaCheck.run(
            version: SupportedVersions.kubernetes.defaultVersion, files: [coredns.path, calico.path])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("Deployment/coredns: spec.template.spec.affinity.podAntiAffinity"))
        #expect(result.output.contains("'topologykey' was unexpected"), "\(result.output)")
        #expect(
            result.output.contains(
                "Installation/default: spec.calicoNetwork.ipPools.0: Additional properties are not allowed "
                    + "('natOutGoing' was unexpected)"), "\(result.output)")
    }
}

/// `lab/k8s/schemacheck.py`: needs Debian's python3 with PyYAML and jsonschema, and the kubernetes-validate
/// wheel `scripts/setup` keeps (under scripts/test, a missing one fails instead of skipping).
enum SchemaCheck {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let wheels =
        ProcessInfo.processInfo.environment["CAIRN_LAB_WHEELS"] ?? "/var/cache/cairn-lab/wheels"

    static var unavailableReason: String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: wheels)) ?? []
        if !names.contains(where: { $0.hasPrefix("kubernetes_validate-") }) {
            return "the render check needs the kubernetes-validate wheel in \(wheels) (scripts/setup)"
        }
        if !FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") { return "needs /usr/bin/python3" }
        return nil
    }

    static var runs: Bool {
        unavailableReason == nil || ProcessInfo.processInfo.environment["CAIRN_REQUIRE_LAB"] == "1"
    }

    static func scratch(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cairn-schemacheck-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func run(version: String, files: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments =
            [root.appendingPathComponent("lab/k8s/schemacheck.py").path, "--k8s-version", version] + files
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
