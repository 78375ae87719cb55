import CairnCore

/// One problem found in an inventory: where it is, which field, what is wrong and what would be valid.
///
/// Rendered like a compiler message so editors and terminals can jump to it:
/// `inventory/ha.yaml:12:9: error: hosts[3].roles[1]: unknown role "master"; valid roles are
/// etcd, control-plane, worker (did you mean "control-plane"?)`
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable, Equatable {
        case error
        case warning
        /// Not a problem: what Cairn made of a value ("1.36 means 1.36.4").
        case note
    }

    public var severity: Severity
    /// The inventory file (as the operator named it) or another source such as an ssh_config file.
    public var file: String
    /// 1-based line, nil when the problem has no single place (a missing section, the whole file).
    public var line: Int?
    /// 1-based column in Unicode scalars, nil when `line` is nil.
    public var column: Int?
    /// The field path, such as `hosts[3].roles[1]`; empty for the document as a whole.
    public var path: String
    /// What is wrong, and what would be valid.
    public var message: String
    /// A suggestion such as `did you mean "roles"?`; rendered in parentheses after the message.
    public var hint: String?

    public init(
        severity: Severity, file: String, line: Int? = nil, column: Int? = nil,
        path: String, message: String, hint: String? = nil
    ) {
        self.severity = severity
        self.file = file
        self.line = line
        self.column = line == nil ? nil : column
        self.path = path
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var out = file
        if let line {
            out += ":\(line)"
            if let column { out += ":\(column)" }
        }
        out += ": \(severity.rawValue): "
        if !path.isEmpty { out += "\(path): " }
        out += message
        if let hint { out += " (\(hint))" }
        return out
    }
}

/// Why an inventory could not be used. Both cases mean no host was touched.
public enum InventoryError: Error, CairnReportableError, Equatable {
    /// The inventory was read but has problems; every problem found in one pass, errors first.
    case invalid([Diagnostic])
    /// The file could not be read at all.
    case unreadable(path: String, reason: String)
    /// Another tool's inventory (`cairn inventory import`) that cannot be converted, and where.
    case notImportable(path: String, [Diagnostic])

    /// All diagnostics (errors and warnings) carried by the error.
    public var diagnostics: [Diagnostic] {
        switch self {
        case .invalid(let diagnostics), .notImportable(_, let diagnostics): return diagnostics
        case .unreadable: return []
        }
    }

    public var errorCount: Int {
        diagnostics.filter { $0.severity == .error }.count
    }

    public var summary: String {
        switch self {
        case .invalid(let diagnostics):
            let file = diagnostics.first(where: { $0.severity == .error })?.file ?? diagnostics.first?.file ?? "?"
            let count = errorCount
            return "inventory \(file) is invalid: \(count) problem\(count == 1 ? "" : "s")"
        case .unreadable(let path, let reason):
            return "cannot read inventory \(path): \(reason)"
        case .notImportable(let path, _):
            let count = errorCount
            return "cannot import \(path): \(count) problem\(count == 1 ? "" : "s")"
        }
    }

    public var details: [String] {
        diagnostics.map(\.description)
    }

    public var nextStep: String? {
        switch self {
        case .invalid:
            return
                "fix the fields named above and run `cairn validate -i FILE` again; docs/inventory.md describes every field"
        case .unreadable:
            return "check the path given with -i and that the file is readable"
        case .notImportable(let path, let diagnostics):
            let what = diagnostics.allSatisfy { $0.line != nil } ? "the place" : "what is"
            return
                "fix \(what) named above; `ansible-inventory -i \(path) --list` shows how Ansible reads the file"
        }
    }

    public var exitCode: CairnExitCode { .invalidInput }
}
