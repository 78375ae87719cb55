import CairnCore
import Foundation

/// Templates under `playbooks/` (embedded in the binary): `{{name}}` placeholders filled by Cairn.
/// A placeholder without a value, or a value without a placeholder, is an error: a template and
/// its renderer cannot drift apart silently.
public enum Template {
    public struct RenderError: Error, CairnReportableError {
        public let template: String
        public let problem: String
        public var summary: String { "template \(template): \(problem)" }
        public var nextStep: String? { "this is a bug in Cairn's templates; please report it" }
    }

    public static func text(_ path: String) throws -> String {
        guard let text = EmbeddedResources.files[path] else {
            throw RenderError(template: path, problem: "no such template")
        }
        return text + "\n"
    }

    public static func render(_ path: String, _ values: [String: String]) throws -> String {
        var text = try Self.text(path)
        // Comments carry placeholders for people to read; only the YAML part is checked.
        var used: Set<String> = []
        for (key, value) in values {
            let token = "{{\(key)}}"
            if text.contains(token) { used.insert(key) }
            text = text.replacingOccurrences(of: token, with: value)
        }
        if let start = text.range(of: "{{"), let end = text.range(of: "}}", range: start.upperBound..<text.endIndex) {
            throw RenderError(template: path, problem: "no value for \(text[start.lowerBound..<end.upperBound])")
        }
        let unused = Set(values.keys).subtracting(used)
        if !unused.isEmpty {
            throw RenderError(template: path, problem: "values \(unused.sorted().joined(separator: ", ")) are not used")
        }
        return text
    }

    /// Lines indented by `spaces`, for lists and blocks inserted into YAML.
    public static func indent(_ lines: [String], _ spaces: Int) -> String {
        lines.map { String(repeating: " ", count: spaces) + $0 }.joined(separator: "\n")
    }
}
