import Foundation
import Testing

@testable import CairnPhases

/// docs/phases.md's add-on table is generated from the add-ons' own descriptions (the registry);
/// this test fails when the two differ. Regenerate with
/// `CAIRN_UPDATE_DOCS=1 swift test --filter CairnPhasesTests.PhaseDocumentationTests`.
@Suite struct PhaseDocumentationTests {
    static let begin =
        "<!-- BEGIN GENERATED ADD-ON TABLE: edit the add-ons in Sources/CairnPhases/Addons/, not this table -->\n"
    static let end = "<!-- END GENERATED ADD-ON TABLE -->\n"

    @Test func addOnTableMatchesTheRegistry() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("docs/phases.md").path
        var text = try String(contentsOfFile: path, encoding: .utf8)
        let generated = Addons.documentation()
        #expect(generated.contains("| `rook-ceph` |"))
        let start = try #require(text.range(of: Self.begin), "docs/phases.md lacks the BEGIN marker")
        let stop = try #require(
            text.range(of: Self.end, range: start.upperBound..<text.endIndex), "docs/phases.md lacks the END marker")
        let current = String(text[start.upperBound..<stop.lowerBound])
        if current != generated, ProcessInfo.processInfo.environment["CAIRN_UPDATE_DOCS"] == "1" {
            text.replaceSubrange(start.upperBound..<stop.lowerBound, with: generated)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        #expect(current == generated, "docs/phases.md is out of date; run with CAIRN_UPDATE_DOCS=1")
    }
}
