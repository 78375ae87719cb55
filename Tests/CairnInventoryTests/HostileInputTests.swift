import Foundation
import Testing

@testable import CairnInventory

/// Inputs built to hurt a YAML reader: alias bombs, deep nesting, huge and binary files. An
/// expansion or a quadratic walk would not finish within the time limit (a guard against hangs,
/// not a performance target).
@Suite(.timeLimit(.minutes(5))) struct HostileInputTests {
    static func laughs(levels: Int, fanOut: Int = 9) -> String {
        var yaml = "l0: &l0 [" + Array(repeating: "lol", count: fanOut).joined(separator: ", ") + "]\n"
        for level in 1..<levels {
            yaml += "l\(level): &l\(level)\n" + Array(repeating: "  - *l\(level - 1)\n", count: fanOut).joined()
        }
        return yaml
    }

    @Test func billionLaughsInValuesIsReadWithoutExpansion() {
        // 9^9 ≈ 387 million strings if expanded.
        let yaml = Self.laughs(levels: 9) + "hosts:\n  - name: a\n    address: 10.0.0.1\n    roles: *l8\n"
        let errors = Fixture.errors(yaml)
        #expect(errors.contains { $0.path == "l0" && $0.message.contains("unknown field") })
        // The walk follows the schema, so it stops at the first list where a role was expected.
        #expect(
            errors.contains { $0.path == "hosts[0].roles[0]" && $0.message.contains("expected a string, found a list") }
        )
    }

    @Test func aliasExpansionBeyondTheBudgetIsRefused() {
        let labels = (0..<1000).map { "  k\($0): v\n" }.joined()
        let yaml =
            "labels: &l\n" + labels + "host: &h {name: a, address: 10.0.0.1, roles: [worker], labels: *l}\nhosts:\n"
            + String(repeating: "  - *h\n", count: 1000)
        let errors = Fixture.errors(yaml)
        #expect(
            errors.contains { $0.path == "" && $0.message.contains("more than 200000 values") },
            "\(errors.prefix(5).map(\.description))")
    }

    @Test func aliasBombUsedAsAKeyIsRefusedBeforeParsing() {
        for key in [
            "? *l8\n: x\n", "*l8 : x\n", "{*l8 : x}\n".replacingOccurrences(of: "{", with: "m: {"), "m: {*l8}\n",
            "[*l8]: x\n", "m: [*l8 : x]\n",
        ] {
            let yaml = Self.laughs(levels: 9) + key
            let errors = Fixture.errors(yaml)
            #expect(
                errors.count == 1 && errors[0].message.contains("uses YAML aliases"),
                "\(key): \(errors.map(\.description))")
        }
    }

    @Test func aliasesThatAreHarmlessStillWork() throws {
        let yaml = """
            x-ssd: &ssd {disk: ssd}
            hosts:
              - {name: a, address: 10.0.0.1, roles: [control-plane, etcd, worker], labels: *ssd}
            etcd: {allowSingleMember: true}
            """
        // Top-level helper keys are unknown fields, so check the labels through the error list.
        let errors = Fixture.errors(yaml)
        #expect(errors.map(\.path) == ["x-ssd"])
        let valid = """
            hosts:
              - {name: a, address: 10.0.0.1, roles: &all [control-plane, etcd, worker], labels: &ssd {disk: ssd}}
              - {name: b, address: 10.0.0.2, roles: [worker], labels: *ssd}
            etcd: {allowSingleMember: true}
            """
        let loaded = try Fixture.load(valid).get()
        #expect(loaded.inventory.hosts[1].labels == ["disk": "ssd"])
    }

    /// The guard reads libyaml's parse events: quoted text, comments and block scalars holding `*`,
    /// `?`, `[…]:` or `{{` are values, so a valid file is not refused for them.
    @Test func starsAndBracesInsideValuesAreNotKeysOrAliases() throws {
        let yaml = """
            x-common: &ssd {disk: ssd}    # ? *not-a-key
            hosts:
              - name: a
                address: 10.0.0.1
                roles: [control-plane, etcd, worker]
                labels: *ssd
            etcd: {allowSingleMember: true}
            name: "/export *(rw,sync) {{ inventory_hostname }} [a]: b"
            """
        let errors = Fixture.errors(yaml)
        #expect(!errors.contains { $0.message.contains("aliases") }, "\(errors.map(\.description))")
        #expect(
            SafeYAML.aliasInMappingKey("a: &x 1\nb: |\n  ? *x\n  *x: 1\nc: '*x: 1'\nd: \"? *x\"\ne: *x\n") == nil)
        let problem = SafeYAML.aliasInMappingKey("a: &x 1\nm: {*x : 2}\n")
        #expect(problem?.line == 2 && problem?.column == 5)
        #expect(problem?.message.contains("(*x)") == true)
    }

    @Test func deepNestingDoesNotOverflowTheStack() {
        for depth in [100, 999, 1001, 50_000] {
            let flow = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let block = "hosts:\n" + String(repeating: "- ", count: depth) + "x\n"
            let mapping =
                (0..<min(depth, 2000)).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n") + " v\n"
            for yaml in [flow, block, mapping, "hosts: " + flow] {
                let errors = Fixture.errors(yaml)
                #expect(!errors.isEmpty)
            }
        }
    }

    @Test func oversizedInputIsRefused() {
        let big = "# " + String(repeating: "x", count: SafeYAML.maxBytes) + "\n"
        let errors = Fixture.errors(big)
        #expect(errors.count == 1 && errors[0].message.contains("limited to \(SafeYAML.maxBytes) bytes"))
    }

    @Test func largeButAllowedInputIsReadInBoundedTime() {
        // ~3.9 MiB: 200,000 unknown keys.
        var yaml = ""
        var index = 0
        while yaml.utf8.count < SafeYAML.maxBytes - 100 {
            yaml += "key\(index): value\n"
            index += 1
        }
        let errors = Fixture.errors(yaml)
        #expect(errors.count == DecodeContext.diagnosticLimit + 1)
        #expect(errors.last?.message.contains("more problems not shown") == true)
    }

    @Test func binaryAndOddTextNeverCrash() {
        var generator = SplitMix64(seed: 7)
        for length in [0, 1, 2, 3, 17, 255, 4096] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            _ = Fixture.diagnostics(String(decoding: bytes, as: UTF8.self))
        }
        for text in [
            "\u{0}", "hosts: \"\\0\"", "\u{FEFF}hosts: []", "%YAML 1.1\n---\nhosts: []", "!!binary aGVsbG8=",
            "hosts: !!map {}",
            "\"\\uD800\"", "hosts: [\u{202E}]", "? \n: \n", "---\n...\n", "&a *a", "*a", "hosts: *undefined",
        ] {
            _ = Fixture.diagnostics(text)
        }
    }

    @Test func fileThatIsNotUTF8() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cairn-binary-\(UUID().uuidString).yaml")
        try Data([0x68, 0x6F, 0x73, 0x74, 0x73, 0x3A, 0x0A, 0x20, 0xFF, 0xFE]).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: InventoryError.self) {
            try InventoryLoader(environment: Fixture.environment).load(path: url.path)
        }
        do {
            _ = try InventoryLoader(environment: Fixture.environment).load(path: url.path)
        } catch {
            #expect(error.diagnostics.first?.line == 2)
            #expect(error.diagnostics.first?.column == 2)
            #expect(error.diagnostics.first?.message == "the file is not UTF-8 text")
        }
    }

    @Test func unreadableFiles() {
        let result = InventoryCommands.validate(path: "/nonexistent/cairn.yaml", explain: false, environment: [:])
        #expect(result.exitCode == .invalidInput)
        #expect(result.output.contains("cannot read inventory /nonexistent/cairn.yaml: no such file"))
        let directory = InventoryCommands.validate(path: "/tmp", explain: false, environment: [:])
        #expect(directory.exitCode == .invalidInput)
        #expect(directory.output.contains("it is a directory"))
    }
}

/// A small, seedable generator so fuzz runs are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
