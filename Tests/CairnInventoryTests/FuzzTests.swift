import Foundation
import Testing

@testable import CairnInventory

/// A seeded mutation fuzzer over the inventory reader, the kubespray importer and the ssh_config
/// parser. Nothing may crash or hang, every refusal must be a proper diagnostic, and anything
/// accepted must satisfy the grammars that keep values out of shells.
///
/// CI runs `CAIRN_FUZZ_ITERATIONS` (default 20,000) inputs; the full run is
/// `CAIRN_FUZZ_ITERATIONS=100000 swift test --scratch-path .build-inventory --filter CairnInventoryTests.FuzzTests`
/// The seed changes from run to run and is printed first; `CAIRN_FUZZ_SEED=n` replays a run.
/// Numbers measured are in docs/inventory.md.
@Suite struct FuzzTests {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["CAIRN_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 20_000
    }

    /// Chosen once per test process (the clock, unless given), so each run explores new inputs.
    static let seed: UInt64 = {
        let seed =
            ProcessInfo.processInfo.environment["CAIRN_FUZZ_SEED"].flatMap(UInt64.init)
            ?? UInt64(Date().timeIntervalSince1970 * 1000)
        print("fuzz: seed \(seed) (replay with CAIRN_FUZZ_SEED=\(seed))")
        return seed
    }()

    /// Valid inventories and corpus files to mutate.
    static func seeds() -> [[UInt8]] {
        var texts: [[UInt8]] = []
        let root = Fixture.repositoryRoot.appendingPathComponent("inventory")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        where name.hasSuffix(".yaml") {
            if let data = FileManager.default.contents(atPath: root.appendingPathComponent(name).path) {
                texts.append(Array(data))
            }
        }
        for file in CorpusTests.files {
            if let data = FileManager.default.contents(atPath: file.path), data.count < 20_000 {
                texts.append(Array(data))
            }
        }
        for name in ["inventory.ini", "hosts.yaml"] {
            if let data = FileManager.default.contents(
                atPath: Fixture.corpus.appendingPathComponent("kubespray/\(name)").path)
            {
                texts.append(Array(data))
            }
        }
        texts.append(Array(Fixture.ha.utf8))
        texts.append(
            Array(
                "Host *\n  User a\nHost b !c\n  HostName 10.0.0.1\nInclude ~/.ssh/conf.d/*\nMatch host x\n  Port 2\n"
                    .utf8))
        return texts
    }

    /// Pieces of YAML that tend to reach odd corners of a parser.
    static let fragments: [String] = [
        "&a ", "*a", "? ", ": ", "- ", "[", "]", "{", "}", ",", "!!binary ", "!!str ", "!tag ", "%YAML 1.1\n", "---\n",
        "...\n",
        "\t", "\n", "\r\n", "\"", "'", "#", "|\n", ">-\n", "<<: *a\n", "~", "null", "yes", "0x1F", "1e400", "-0",
        ".inf",
        "\u{0}", "\u{FEFF}", "\u{202E}", "é", "𝕏", "\\u0000", "10.0.0.256", "::ffff:10.0.0.1", "/32", "/dev/../x",
        "roles: [control-plane, etcd]", "hosts:\n  - name: x\n", "virtualIP: 10.0.0.10",
        "addresses: [\"1.2.3.4-1.2.3.1\"]",
        "$(reboot)", "`id`", "; rm -rf /", "-oProxyCommand=x", "\u{7F}",
    ]

    static func bomb(_ generator: inout SplitMix64) -> String {
        let levels = Int.random(in: 2...12, using: &generator)
        let fanOut = Int.random(in: 2...9, using: &generator)
        var yaml = "a0: &a0 [" + Array(repeating: "x", count: fanOut).joined(separator: ",") + "]\n"
        for level in 1..<levels {
            yaml +=
                "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: fanOut).joined(separator: ", ")
                + "]\n"
        }
        let uses = [
            "hosts: *a\(levels - 1)\n", "hosts:\n  - {name: n, address: 10.0.0.1, roles: *a\(levels - 1)}\n",
            "? *a\(levels - 1)\n: x\n", "k: {*a\(levels - 1)}\n",
            "addons: {metallb: {addressPools: *a\(levels - 1)}}\n",
        ]
        return yaml + uses.randomElement(using: &generator)!
    }

    static func mutate(_ input: [UInt8], _ other: [UInt8], _ generator: inout SplitMix64) -> [UInt8] {
        var bytes = input
        let count = Int.random(in: 1...4, using: &generator)
        for _ in 0..<count {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<9, using: &generator) {
            case 0 where !bytes.isEmpty:
                bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
            case 1 where !bytes.isEmpty:
                bytes[position] = UInt8.random(in: 0...255, using: &generator)
            case 2:
                bytes.insert(contentsOf: Array(fragments.randomElement(using: &generator)!.utf8), at: position)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...64, using: &generator))
                bytes.removeSubrange(position..<end)
            case 4 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...200, using: &generator))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            case 5:
                bytes = Array(bytes.prefix(position))
            case 6 where !other.isEmpty:
                let cut = Int.random(in: 0..<other.count, using: &generator)
                bytes = Array(bytes.prefix(position)) + other[cut...]
            case 7:
                // Swap two lines: keeps YAML-ish structure while moving keys around.
                var lines = bytes.split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
                if lines.count > 1 {
                    lines.swapAt(
                        Int.random(in: 0..<lines.count, using: &generator),
                        Int.random(in: 0..<lines.count, using: &generator))
                }
                bytes = Array(lines.joined(separator: [10]))
            default:
                // Re-indent a line by a random amount.
                if let newline = bytes[position...].firstIndex(of: 10) {
                    bytes.insert(
                        contentsOf: Array(
                            repeating: UInt8(ascii: " "), count: Int.random(in: 1...6, using: &generator)),
                        at: newline + 1)
                }
            }
        }
        return bytes
    }

    static func checkInventory(_ text: String, loader: InventoryLoader) {
        do {
            let loaded = try loader.load(text: text, sourceName: "fuzz.yaml", baseDirectory: "/fuzz")
            // Accepted: the values that reach hosts satisfy their grammars.
            for host in loaded.inventory.hosts {
                #expect(Grammar.isDNSSubdomain(host.name), "\(host.name.debugDescription)")
                #expect(Grammar.isSSHAddress(host.address), "\(host.address.debugDescription)")
                #expect(IPAddress(host.internalAddress) != nil, "\(host.internalAddress.debugDescription)")
                #expect(host.storageDevices.allSatisfy(Grammar.isDevicePath))
                #expect(!host.roles.isEmpty)
            }
            #expect(!loaded.inventory.controlPlaneHosts.isEmpty)
            #expect(Grammar.isDNSLabel(loaded.inventory.name))
        } catch {
            #expect(error.exitCode == .invalidInput)
            // libyaml also breaks lines at CR, NEL, LS and PS.
            let lineCount =
                text.unicodeScalars.filter { [0x0A, 0x0D, 0x85, 0x2028, 0x2029].contains($0.value) }.count + 2
            for diagnostic in error.diagnostics {
                #expect(!diagnostic.message.isEmpty)
                if let line = diagnostic.line { #expect(line >= 1 && line <= lineCount, "\(diagnostic)") }
            }
            #expect(error.diagnostics.count <= DecodeContext.diagnosticLimit + 1)
        }
    }

    /// Every kubespray corpus inventory, the refused ones too.
    static let kubespray: [[UInt8]] = {
        let directory = Fixture.corpus.appendingPathComponent("kubespray")
        let names = KubesprayCorpus.files + KubesprayCorpus.refused.map { "refused/" + $0 }
        return names.compactMap { FileManager.default.contents(atPath: directory.appendingPathComponent($0).path) }
            .map(Array.init)
    }()

    static func checkImport(_ text: String, loader: InventoryLoader) {
        do {
            let (yaml, _) = try InventoryCommands.importKubespray(text: text, sourceName: "fuzz.ini")
            do {
                _ = try loader.load(text: yaml, sourceName: "imported.yaml", baseDirectory: "/fuzz")
            } catch {
                let syntax = error.diagnostics.filter { $0.message.hasPrefix("YAML syntax error") }
                #expect(syntax.isEmpty, "the importer wrote invalid YAML:\n\(yaml)\n\(syntax)")
            }
        } catch {
            #expect(error.exitCode == .invalidInput)
            #expect(error.diagnostics.count == 1)
            let lineCount =
                text.unicodeScalars.filter { [0x0A, 0x0D, 0x85, 0x2028, 0x2029].contains($0.value) }.count + 2
            for diagnostic in error.diagnostics {
                #expect(!diagnostic.message.isEmpty)
                if let line = diagnostic.line { #expect(line >= 1 && line <= lineCount, "\(diagnostic)") }
            }
        }
    }

    @Test func mutatedInputsNeverCrash() {
        var generator = SplitMix64(seed: Self.seed)
        let seeds = Self.seeds()
        let loader = InventoryLoader(environment: ["HOME": "/fuzz-home", "USER": "fuzz"], fileSystem: .none)
        let iterations = Self.iterations
        let start = Date()
        var accepted = 0
        for iteration in 0..<iterations {
            let input: [UInt8]
            switch iteration % 50 {
            case 0: input = Array(Self.bomb(&generator).utf8)
            case 1:
                input = (0..<Int.random(in: 0...512, using: &generator)).map { _ in
                    UInt8.random(in: 0...255, using: &generator)
                }
            default:
                let base = seeds.randomElement(using: &generator)!
                input = Self.mutate(base, seeds.randomElement(using: &generator)!, &generator)
            }
            let text = String(decoding: input, as: UTF8.self)
            switch iteration % 10 {
            case 8:
                // The importer, from the kubespray corpus: a refusal is a placed diagnostic; what it
                // writes is YAML that Cairn's loader parses (its values may still be refused).
                let kubespray = Self.mutate(
                    Self.kubespray.randomElement(using: &generator)!, Self.kubespray.randomElement(using: &generator)!,
                    &generator)
                Self.checkImport(String(decoding: kubespray, as: UTF8.self), loader: loader)
            case 9:
                let config = SSHConfigFile.parse(text, path: "/fuzz/config", homeDirectory: "/fuzz-home")
                _ = config.values(for: "cp1")
                _ = config.identityFiles(for: "a.b")
            default:
                if (try? loader.load(text: text, sourceName: "fuzz.yaml", baseDirectory: "/fuzz")) != nil {
                    accepted += 1
                }
                Self.checkInventory(text, loader: loader)
            }
        }
        let seconds = Date().timeIntervalSince(start)
        print(
            "fuzz: \(iterations) inputs, seed \(Self.seed), \(accepted) accepted, \(String(format: "%.1f", seconds)) s")
    }

    @Test func parsersOfAddressesNeverCrash() {
        var generator = SplitMix64(seed: Self.seed ^ 0xFF)
        let alphabet = Array("0123456789abcdefABCDEF.:/-%[] x".utf8)
        for _ in 0..<(Self.iterations * 5) {
            let bytes = (0..<Int.random(in: 0...48, using: &generator)).map { _ in
                alphabet.randomElement(using: &generator)!
            }
            let text = String(decoding: bytes, as: UTF8.self)
            if let ip = IPAddress(text) {
                // Canonical text parses back to the same address.
                #expect(IPAddress(ip.description) == ip, "\(text)")
            }
            if case .success(let network) = IPNetwork.parse(text) {
                #expect(IPNetwork(network.description) == network)
                #expect(network.contains(network.address))
            }
            _ = IPRange.parsePoolEntry(text)
        }
    }
}
