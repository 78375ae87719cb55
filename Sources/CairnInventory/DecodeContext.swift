import Yams

/// A place in a source file, 1-based.
struct SourcePosition: Sendable, Equatable {
    var line: Int
    var column: Int

    init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    init?(_ mark: Mark?) {
        guard let mark else { return nil }
        self.init(line: mark.line, column: mark.column)
    }
}

/// Collects diagnostics and the position of every value read, and bounds the work of one decode.
///
/// Every node visit is counted: a document whose aliases expand past `visitLimit` is refused
/// instead of being walked (a few kilobytes can describe billions of nodes).
final class DecodeContext {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []
    /// Where the value of each field path was written.
    private(set) var positions: [String: SourcePosition] = [:]
    static let visitLimit = 200_000
    static let diagnosticLimit = 200
    private var visits = 0
    private var suppressed = 0
    private(set) var exhausted = false

    init(file: String) {
        self.file = file
    }

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// Counts one visit; false (with one error for the whole document) once the budget is spent.
    func visit() -> Bool {
        if exhausted { return false }
        visits += 1
        if visits > Self.visitLimit {
            exhausted = true
            add(
                Diagnostic(
                    severity: .error, file: file, path: "",
                    message: "the document has more than \(Self.visitLimit) values to read (YAML alias expansion?)",
                    hint: "an inventory needs far fewer; remove aliases that repeat large parts"
                ))
            return false
        }
        return true
    }

    func record(_ path: String, _ node: Node) {
        if let position = SourcePosition(node.mark), positions[path] == nil {
            positions[path] = position
        }
    }

    /// The position of `path`, or of its nearest recorded ancestor.
    func position(of path: String) -> SourcePosition? {
        var current = path
        while true {
            if !current.isEmpty, let position = positions[current] { return position }
            // The document root is not a useful place for a field that was never written.
            guard let cut = current.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            current = String(current[..<cut])
        }
    }

    func add(_ diagnostic: Diagnostic) {
        if diagnostics.count >= Self.diagnosticLimit {
            suppressed += 1
            return
        }
        diagnostics.append(diagnostic)
    }

    func error(_ path: String, at position: SourcePosition? = nil, _ message: String, hint: String? = nil) {
        report(.error, path, at: position, message, hint: hint)
    }

    func warning(_ path: String, at position: SourcePosition? = nil, _ message: String, hint: String? = nil) {
        report(.warning, path, at: position, message, hint: hint)
    }

    func note(_ path: String, _ message: String) {
        report(.note, path, at: nil, message, hint: nil)
    }

    func error(_ path: String, node: Node, _ message: String, hint: String? = nil) {
        report(.error, path, at: SourcePosition(node.mark) ?? position(of: path), message, hint: hint)
    }

    private func report(
        _ severity: Diagnostic.Severity, _ path: String, at position: SourcePosition?, _ message: String, hint: String?
    ) {
        let location = position ?? self.position(of: path)
        add(
            Diagnostic(
                severity: severity, file: file, line: location?.line, column: location?.column,
                path: path, message: message, hint: hint))
    }

    /// Errors first, each group in file order; a last line counts what was left out.
    func finished() -> [Diagnostic] {
        var sorted = diagnostics.enumerated().sorted { a, b in
            if a.element.severity != b.element.severity { return a.element.severity == .error }
            let la = a.element.line ?? Int.max
            let lb = b.element.line ?? Int.max
            if la != lb { return la < lb }
            let ca = a.element.column ?? 0
            let cb = b.element.column ?? 0
            if ca != cb { return ca < cb }
            return a.offset < b.offset
        }.map(\.element)
        if suppressed > 0 {
            sorted.append(
                Diagnostic(
                    severity: .error, file: file, path: "",
                    message: "\(suppressed) more problems not shown", hint: "fix the ones above first"))
        }
        return sorted
    }
}

/// The YAML type of a node, as people say it.
enum ValueKind: String {
    case null = "null"
    case bool = "a boolean"
    case integer = "an integer"
    case float = "a number"
    case string = "a string"
    case list = "a list"
    case mapping = "a mapping"

    init(_ node: Node) {
        switch node {
        case .mapping: self = .mapping
        case .sequence: self = .list
        case .alias: self = .string
        case .scalar(let scalar): self = ValueKind(scalar)
        }
    }

    init(_ scalar: Node.Scalar) {
        guard scalar.style == .plain, scalar.tag.description.isEmpty else {
            self = .string
            return
        }
        let text = scalar.string
        if ["", "~", "null", "Null", "NULL"].contains(text) {
            self = .null
            return
        }
        if ["true", "True", "TRUE", "false", "False", "FALSE"].contains(text) {
            self = .bool
            return
        }
        if Self.isDecimalInteger(text) {
            self = .integer
            return
        }
        if Double(text) != nil
            && text.utf8.allSatisfy({
                ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 || $0 == 43 || $0 == 101 || $0 == 69
            })
        {
            self = .float
            return
        }
        self = .string
    }

    static func isDecimalInteger(_ text: String) -> Bool {
        var digits = Substring(text)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.count <= 18 && digits.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}

/// Reads one mapping against its schema section: hands out known keys, reports unknown ones.
struct MappingReader {
    let context: DecodeContext
    let path: String
    let section: InventorySchema.Section
    let node: Node
    private(set) var values: [String: Node] = [:]
    private var keyOrder: [(String, Node)] = []

    /// nil (with an error) when `node` is not a mapping.
    init?(
        _ node: Node, path: String, section: InventorySchema.Section, context: DecodeContext,
        disallowed: [String: String] = [:]
    ) {
        self.context = context
        self.path = path
        self.section = section
        self.node = node
        context.record(path, node)
        guard case .mapping(let mapping) = node else {
            context.error(
                path, node: node, "expected a mapping (key: value lines), found \(ValueKind(node).rawValue)",
                hint: Self.fieldsHint(section))
            return nil
        }
        for (keyNode, value) in mapping {
            guard context.visit() else { return nil }
            guard case .scalar(let keyScalar) = keyNode else {
                context.error(
                    path, node: keyNode, "mapping keys must be plain strings, found \(ValueKind(keyNode).rawValue)")
                continue
            }
            let key = keyScalar.string
            let keyPath = Self.join(path, key)
            if let reason = disallowed[key] {
                context.error(keyPath, node: keyNode, reason)
            } else if section.field(key) == nil {
                let shown = Grammar.hasControlCharacters(key) ? key.debugDescription : "\"\(key)\""
                context.error(
                    keyPath, node: keyNode,
                    "unknown field \(shown)\(path.isEmpty ? "" : " in \(path)"); valid fields are \(section.keys.joined(separator: ", "))",
                    hint: Suggest.hint(for: key, among: section.keys))
            } else {
                context.record(keyPath, value)
                values[key] = value
            }
        }
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    static func fieldsHint(_ section: InventorySchema.Section) -> String {
        "fields here are " + section.keys.joined(separator: ", ")
    }

    func fieldPath(_ key: String) -> String { Self.join(path, key) }

    /// The value of `key`, nil when absent or written as null.
    func value(_ key: String) -> Node? {
        assert(section.field(key) != nil, "\(key) is not in the schema section \(section.path)")
        guard let node = values[key] else { return nil }
        if case .scalar(let scalar) = node, ValueKind(scalar) == .null { return nil }
        return node
    }

    func has(_ key: String) -> Bool { value(key) != nil }

    func string(_ key: String) -> String? {
        value(key).flatMap { context.string($0, path: fieldPath(key)) }
    }

    func int(_ key: String, in range: ClosedRange<Int>? = nil) -> Int? {
        value(key).flatMap { context.int($0, path: fieldPath(key), in: range) }
    }

    func bool(_ key: String) -> Bool? {
        value(key).flatMap { context.bool($0, path: fieldPath(key)) }
    }

    func number(_ key: String) -> Double? {
        value(key).flatMap { context.number($0, path: fieldPath(key)) }
    }

    func enumeration<E: RawRepresentable & CaseIterable>(
        _ key: String, _ type: E.Type, noun: String, aliases: [String: String] = [:]
    ) -> E?
    where E.RawValue == String {
        value(key).flatMap { context.enumeration($0, path: fieldPath(key), type, noun: noun, aliases: aliases) }
    }

    func list(_ key: String) -> [(path: String, node: Node)]? {
        value(key).flatMap { context.list($0, path: fieldPath(key)) }
    }

    func stringList(_ key: String) -> [(path: String, node: Node, value: String)]? {
        list(key).map { items in
            items.compactMap { item in context.string(item.node, path: item.path).map { (item.path, item.node, $0) } }
        }
    }
}

extension DecodeContext {
    static let maxStringBytes = 4096

    func string(_ node: Node, path: String) -> String? {
        guard visit() else { return nil }
        record(path, node)
        guard case .scalar(let scalar) = node else {
            error(path, node: node, "expected a string, found \(ValueKind(node).rawValue)")
            return nil
        }
        if ValueKind(scalar) == .null { return nil }
        let text = scalar.string
        if Grammar.hasControlCharacters(text) {
            error(path, node: node, "the value \(text.debugDescription.prefix(80)) contains control characters")
            return nil
        }
        if text.utf8.count > Self.maxStringBytes {
            error(
                path, node: node,
                "the value is \(text.utf8.count) bytes long; at most \(Self.maxStringBytes) are allowed")
            return nil
        }
        return text
    }

    func int(_ node: Node, path: String, in range: ClosedRange<Int>? = nil) -> Int? {
        guard visit() else { return nil }
        record(path, node)
        guard case .scalar(let scalar) = node else {
            error(path, node: node, "expected an integer, found \(ValueKind(node).rawValue)")
            return nil
        }
        let kind = ValueKind(scalar)
        guard kind == .integer,
            let value = Int(scalar.string.hasPrefix("+") ? String(scalar.string.dropFirst()) : scalar.string)
        else {
            let hint = ValueKind.isDecimalInteger(scalar.string) ? "remove the quotes" : nil
            error(
                path, node: node, "expected an integer, found \(kind.rawValue) \(Self.shown(scalar.string))", hint: hint
            )
            return nil
        }
        if let range, !range.contains(value) {
            error(path, node: node, "\(value) is out of range; expected \(Self.describe(range))")
            return nil
        }
        return value
    }

    func number(_ node: Node, path: String) -> Double? {
        guard visit() else { return nil }
        record(path, node)
        guard case .scalar(let scalar) = node, [.integer, .float].contains(ValueKind(scalar)),
            let value = Double(scalar.string), value.isFinite
        else {
            error(
                path, node: node,
                "expected a number of seconds, found \(ValueKind(node).rawValue)\(node.scalar.map { " " + Self.shown($0.string) } ?? "")"
            )
            return nil
        }
        return value
    }

    func bool(_ node: Node, path: String) -> Bool? {
        guard visit() else { return nil }
        record(path, node)
        guard case .scalar(let scalar) = node, ValueKind(scalar) == .bool else {
            let text = node.scalar?.string ?? ""
            let yaml11 = ["yes", "no", "on", "off", "y", "n"].contains(text.lowercasedASCII)
            error(
                path, node: node,
                "expected true or false, found \(ValueKind(node).rawValue)\(node.scalar.map { " " + Self.shown($0.string) } ?? "")",
                hint: yaml11 ? "YAML 1.1 spellings such as yes/no/on/off are ambiguous; write true or false" : nil)
            return nil
        }
        return scalar.string.lowercasedASCII == "true"
    }

    func enumeration<E: RawRepresentable & CaseIterable>(
        _ node: Node, path: String, _ type: E.Type, noun: String, aliases: [String: String] = [:]
    ) -> E?
    where E.RawValue == String {
        guard let text = string(node, path: path) else { return nil }
        if let value = E(rawValue: text) { return value }
        let valid = E.allCases.map(\.rawValue)
        error(
            path, node: node,
            "unknown \(noun) \(Self.shown(text)); valid \(noun)s are \(valid.joined(separator: ", "))",
            hint: Suggest.hint(for: text, among: valid, aliases: aliases))
        return nil
    }

    func list(_ node: Node, path: String) -> [(path: String, node: Node)]? {
        guard visit() else { return nil }
        record(path, node)
        guard case .sequence(let sequence) = node else {
            error(
                path, node: node, "expected a list, found \(ValueKind(node).rawValue)",
                hint: node.scalar != nil ? "write it as [\(node.scalar!.string)] or as lines starting with \"- \"" : nil
            )
            return nil
        }
        var items: [(String, Node)] = []
        for (index, item) in sequence.enumerated() {
            guard visit() else { return items }
            let itemPath = "\(path)[\(index)]"
            record(itemPath, item)
            items.append((itemPath, item))
        }
        return items
    }

    static func shown(_ text: String) -> String {
        let cut = text.count > 60 ? String(text.prefix(60)) + "…" : text
        return "\"\(cut)\"".replacingControlCharacters
    }

    static func describe(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == Int.max { return "at least \(range.lowerBound)" }
        return "\(range.lowerBound)–\(range.upperBound)"
    }
}

extension String {
    var replacingControlCharacters: String {
        String(
            String.UnicodeScalarView(
                unicodeScalars.map {
                    ($0.value < 0x20 || (0x7F...0x9F).contains($0.value)) ? "?" : $0
                }))
    }
}
