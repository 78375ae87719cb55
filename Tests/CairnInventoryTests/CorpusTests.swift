import CairnCore
import Foundation
import Testing

@testable import CairnInventory

/// Every file under Corpus/invalid is an inventory that must be refused with exit code 65.
/// Its first line says what must be reported: `# expect: <path> <part of the message>`
/// (`-` for the document as a whole).
@Suite struct CorpusTests {
    static var files: [URL] {
        let directory = Fixture.corpus.appendingPathComponent("invalid")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { directory.appendingPathComponent($0) }
    }

    /// No ~/.ssh/config, no identity files: the corpus must not depend on the machine.
    static let environment = ["HOME": "/nonexistent/cairn-corpus-home"]

    static func expectation(of file: URL) -> (path: String, text: Substring)? {
        guard let data = FileManager.default.contents(atPath: file.path),
            let newline = data.firstIndex(of: 10),
            let line = String(data: data[..<newline], encoding: .utf8),
            line.hasPrefix("# expect: ")
        else { return nil }
        let rest = line.dropFirst("# expect: ".count)
        guard let space = rest.firstIndex(of: " ") else { return nil }
        let path = String(rest[..<space])
        return (path == "-" ? "" : path, rest[rest.index(after: space)...])
    }

    @Test func corpusHasAtLeastFortyFiles() {
        #expect(Self.files.count >= 40)
    }

    @Test(arguments: files)
    func rejectedWithExit65AndTheExpectedDiagnostic(file: URL) throws {
        let expected = try #require(
            Self.expectation(of: file), "\(file.lastPathComponent) lacks a '# expect: <path> <text>' first line")
        let result = InventoryCommands.validate(path: file.path, explain: false, environment: Self.environment)
        #expect(result.exitCode == .invalidInput, "\(result.output)")
        #expect(result.exitCode.rawValue == 65)
        #expect(result.output.contains("is invalid"), "\(result.output)")

        let loader = InventoryLoader(environment: Self.environment)
        do {
            _ = try loader.load(path: file.path)
            Issue.record("\(file.lastPathComponent) was accepted")
        } catch {
            let matching = error.diagnostics.filter {
                $0.severity == .error && $0.path == expected.path && $0.message.contains(expected.text)
            }
            #expect(
                !matching.isEmpty,
                "\(file.lastPathComponent): expected \(expected.path) \(expected.text); got \(error.diagnostics.map(\.description))"
            )
            #expect(error.diagnostics.allSatisfy { $0.file == file.path })
            // Everything reported about a field points into the file.
            for diagnostic in error.diagnostics
            where !diagnostic.path.isEmpty && diagnostic.path != "kubernetes.apiEndpoint" {
                #expect(
                    diagnostic.line != nil || diagnostic.path.hasPrefix("kubernetes.")
                        || diagnostic.path.hasPrefix("addons."),
                    "\(diagnostic)")
            }
        }
    }
}
