import Foundation
import Yams

/// Reading an Ansible inventory the way Ansible does (ansible-core's `ini` and `yaml` inventory
/// plugins and its variable manager), so that the hosts, groups and variables the importer converts
/// are the ones `ansible-inventory --list` shows for the same file.
extension KubesprayImporter {
    /// An Ansible variable value: a scalar as text, structure from YAML or an INI Python literal.
    indirect enum Value: Equatable {
        case string(String)
        case list([Value])
        case map([(String, Value)])
        /// YAML's `~`/empty, Python's `None`.
        case null

        static func == (lhs: Value, rhs: Value) -> Bool {
            switch (lhs, rhs) {
            case (.string(let a), .string(let b)): return a == b
            case (.list(let a), .list(let b)): return a == b
            case (.map(let a), .map(let b)): return a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
            case (.null, .null): return true
            default: return false
            }
        }

        var string: String? {
            if case .string(let s) = self { return s }
            return nil
        }
        var list: [Value]? {
            if case .list(let l) = self { return l }
            return nil
        }
        subscript(key: String) -> Value? {
            if case .map(let pairs) = self { return pairs.last { $0.0 == key }?.1 }
            return nil
        }
        var isTrue: Bool { ["true", "yes", "on", "1"].contains(string?.lowercased() ?? "") }
    }

    struct Group {
        /// In the order first named; `hostSet` answers membership.
        private(set) var hosts: [String] = []
        private(set) var hostSet: Set<String> = []
        var children: [String] = []
        var vars: [(String, Value)] = []

        mutating func add(host: String) {
            if hostSet.insert(host).inserted { hosts.append(host) }
        }
    }

    /// Why a file is not an inventory Ansible would read: where, and what to do.
    struct Failure: Error {
        var message: String
        var line: Int?
        var column: Int?
        var hint: String?
    }

    /// Hosts with their own variables, groups with their hosts, children and variables, as
    /// Ansible's inventory holds them after parsing.
    struct AnsibleInventory {
        /// kubespray inventories have tens of groups and at most thousands of hosts; bounds keep the
        /// walks over groups and hosts cheap on hostile input.
        static let maximumGroups = 5_000
        static let maximumHosts = 100_000

        var hostOrder: [String] = []
        var hostVars: [String: [(String, Value)]] = [:]
        var groups: [String: Group] = ["all": Group(), "ungrouped": Group()]
        var groupOrder: [String] = ["all", "ungrouped"]
        /// The groups that list each group as a child.
        private(set) var parentsOf: [String: [String]] = [:]
        /// What Ansible skips with a warning; carried into the import notes.
        var warnings: [String] = []

        mutating func addGroup(_ name: String, line: Int? = nil) throws(Failure) {
            guard groups[name] == nil else { return }
            guard groups.count < Self.maximumGroups else {
                throw Failure(message: "more than \(Self.maximumGroups) groups", line: line)
            }
            groups[name] = Group()
            groupOrder.append(name)
        }

        /// Ansible's `add_host` then `set_variable` for each variable: later values win.
        mutating func addHost(
            _ name: String, to group: String, port: String? = nil, vars: [(String, Value)] = [], line: Int?
        ) throws(Failure) {
            try addGroup(group, line: line)
            if hostVars[name] == nil {
                guard hostOrder.count < Self.maximumHosts else {
                    throw Failure(message: "more than \(Self.maximumHosts) hosts", line: line)
                }
                hostOrder.append(name)
                hostVars[name] = []
            }
            if group != "all" { groups[group]!.add(host: name) }
            var assignments = vars
            if let port { assignments.insert(("ansible_port", .string(port)), at: 0) }
            for (key, value) in assignments {
                hostVars[name]!.removeAll { $0.0 == key }
                hostVars[name]!.append((key, value))
            }
        }

        mutating func setVariable(group: String, _ key: String, _ value: Value, line: Int?) throws(Failure) {
            try addGroup(group, line: line)
            groups[group]!.vars.removeAll { $0.0 == key }
            groups[group]!.vars.append((key, value))
        }

        /// Ansible refuses a child that is already an ancestor ("creates a recursive dependency loop").
        mutating func addChild(_ child: String, to parent: String, line: Int?) throws(Failure) {
            try addGroup(parent, line: line)
            try addGroup(child, line: line)
            if child == parent || child == "all" || ancestors(of: parent).contains(child) {
                throw Failure(
                    message:
                        "adding group \(child) as a child of \(parent) makes a loop of groups; Ansible refuses it too",
                    line: line)
            }
            guard !groups[parent]!.children.contains(child) else { return }
            groups[parent]!.children.append(child)
            parentsOf[child, default: []].append(parent)
        }

        /// The parents of a group: the groups listing it as a child, else `all` (Ansible's reconcile step).
        func parents(of group: String) -> [String] {
            group == "all" ? [] : parentsOf[group] ?? ["all"]
        }

        func ancestors(of group: String) -> Set<String> {
            var seen: Set<String> = []
            var stack = [group]
            while let next = stack.popLast() {
                for parent in parents(of: next) where seen.insert(parent).inserted { stack.append(parent) }
            }
            return seen
        }

        /// Ansible's group depth: `all` is 0, every other group one more than its deepest parent.
        var depths: [String: Int] {
            // Groups form a DAG under `all` (addChild refuses loops): visit them parents first.
            var remaining = Dictionary(uniqueKeysWithValues: groupOrder.map { ($0, parents(of: $0).count) })
            var children: [String: [String]] = [:]
            for name in groupOrder { for parent in parents(of: name) { children[parent, default: []].append(name) } }
            var depth: [String: Int] = ["all": 0]
            var ready = ["all"]
            while let group = ready.popLast() {
                for child in children[group] ?? [] {
                    depth[child] = max(depth[child] ?? 0, depth[group]! + 1)
                    remaining[child]! -= 1
                    if remaining[child] == 0 { ready.append(child) }
                }
            }
            return depth
        }

        /// Every group each host belongs to, directly or through children, `all` included; a host in
        /// no other group is in `ungrouped`, as after Ansible's reconcile step.
        var groupsByHost: [String: Set<String>] {
            var closure: [String: Set<String>] = [:]
            func withAncestors(_ group: String) -> Set<String> {
                if let known = closure[group] { return known }
                let all = ancestors(of: group).union([group])
                closure[group] = all
                return all
            }
            var out: [String: Set<String>] = [:]
            for host in hostOrder { out[host] = ["all"] }
            for name in groupOrder {
                for host in groups[name]!.hosts { out[host, default: ["all"]].formUnion(withAncestors(name)) }
            }
            for host in hostOrder where out[host] == ["all"] { out[host] = withAncestors("ungrouped") }
            return out
        }

        /// Each host's variables as Ansible merges them: `all`'s, then every other group of the host
        /// sorted by depth, `ansible_group_priority` and name (later wins), then the host's own.
        /// Mappings are replaced, not merged (Ansible's default `hash_behaviour`).
        func effectiveVars(byHost: [String: Set<String>]) -> [String: [String: Value]] {
            let depth = depths
            func priority(_ group: String) -> Int {
                groups[group]?.vars.last { $0.0 == "ansible_group_priority" }?.1.string.flatMap { Int($0) } ?? 1
            }
            var out: [String: [String: Value]] = [:]
            for host in hostOrder {
                let ordered = (byHost[host] ?? ["all"]).filter { $0 != "all" }.sorted {
                    (depth[$0] ?? 1, priority($0), $0) < (depth[$1] ?? 1, priority($1), $1)
                }
                var vars: [String: Value] = [:]
                for group in ["all"] + ordered {
                    for (key, value) in groups[group]?.vars ?? [] { vars[key] = value }
                }
                for (key, value) in hostVars[host] ?? [] { vars[key] = value }
                out[host] = vars
            }
            return out
        }
    }

    // MARK: - Telling the forms apart

    enum Form { case ini, yaml }

    /// From the first line that is not blank or a comment: `key:` (a YAML mapping), `---`, `%YAML` or
    /// `{` mean YAML; a `[section]` or a host line (`node1 ansible_host=…`, ungrouped hosts first)
    /// means INI. The file name does not matter.
    static func form(of text: String) -> Form {
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("---") || trimmed.hasPrefix("%") || trimmed.hasPrefix("{") { return .yaml }
            return isYAMLKeyLine(trimmed) ? .yaml : .ini
        }
        return .ini
    }

    /// `all:`, `all: {…}`, `"all":`: a key (no `=`, not a section) followed by `:` and a blank or the end.
    static func isYAMLKeyLine(_ line: String) -> Bool {
        var key = Substring(line)
        if let quote = key.first, quote == "\"" || quote == "'" {
            guard let close = key.dropFirst().firstIndex(of: quote) else { return false }
            key = key[key.index(after: close)...]
            return key.hasPrefix(":") && (key.count == 1 || key.dropFirst().first?.isWhitespace == true)
        }
        guard !line.hasPrefix("["), !line.hasPrefix("-") else { return false }
        guard
            let colon = line.range(of: ": ")?.lowerBound
                ?? (line.hasSuffix(":") ? line.index(before: line.endIndex) : nil)
        else { return false }
        return !line[..<colon].contains("=") && !line[..<colon].contains(" ")
    }

    /// Jinja statements and comments (`{% … %}`, `{# … #}`) on a line of their own: the file is a
    /// template to render, which Ansible's inventory plugins do not do.
    static func templateLine(in text: String) -> Failure? {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("{%") || trimmed.hasPrefix("{#") {
                return templateFailure(
                    trimmed, line: index + 1, column: line.prefix { $0 == " " || $0 == "\t" }.count + 1)
            }
        }
        return nil
    }

    static func templateFailure(_ text: String, line: Int?, column: Int?) -> Failure {
        let shown = text.count > 60 ? String(text.prefix(57)) + "..." : text
        return Failure(
            message:
                "\(shown.replacingControlCharacters) is Jinja template syntax: this file is a template, not an inventory "
                + "(Ansible reads inventory files without rendering them and refuses this one too)",
            line: line, column: column,
            hint: "render the template first (for example with ansible's template module) and import the result")
    }

    static func isTemplated(_ name: String) -> Bool {
        name.contains("{{") || name.contains("{%") || name.contains("{#")
    }

    // MARK: - INI (ansible-core's ini inventory plugin)

    static func parseINI(_ text: String) throws(Failure) -> AnsibleInventory {
        var inventory = AnsibleInventory()
        var group = "ungrouped"
        var state = "hosts"
        // Groups named before their own section: [x:vars] before [x], or a child before its section.
        var pendingVars: [String: Int] = [:]
        var pendingChildren: [String: (line: Int, parents: [String])] = [:]
        var declared: Set<String> = ["all", "ungrouped"]

        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard let header = sectionHeader(line) else {
                    if line.hasSuffix("]") {
                        throw Failure(
                            message:
                                "invalid section \(line): a section is [group], [group:vars] or [group:children], without spaces",
                            line: lineNumber, column: 1)
                    }
                    // Not a section: Ansible reads it as a host line (an IPv6 address, a range).
                    try hostLine(line, lineNumber)
                    continue
                }
                group = header.name
                state = header.kind
                guard ["hosts", "vars", "children"].contains(state) else {
                    throw Failure(
                        message:
                            "section [\(header.name):\(state)] has an unknown type \(state); use :vars or :children",
                        line: lineNumber, column: header.name.count + 3)
                }
                if isTemplated(group) { throw templateFailure(line, line: lineNumber, column: 1) }
                try inventory.addGroup(group, line: lineNumber)
                if state == "vars" {
                    if !declared.contains(group) && pendingVars[group] == nil { pendingVars[group] = lineNumber }
                } else {
                    declared.insert(group)
                    pendingVars[group] = nil
                    if let pending = pendingChildren.removeValue(forKey: group) {
                        for parent in pending.parents { try inventory.addChild(group, to: parent, line: pending.line) }
                    }
                }
                continue
            }
            switch state {
            case "vars":
                guard let eq = line.firstIndex(of: "=") else {
                    throw Failure(
                        message: "expected key=value in [\(group):vars], found \(line)", line: lineNumber, column: 1)
                }
                let key = line[..<eq].trimmingCharacters(in: .whitespaces)
                let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                try inventory.setVariable(group: group, key, literal(value), line: lineNumber)
            case "children":
                guard let child = groupNameLine(line) else {
                    throw Failure(
                        message: "expected a group name in [\(group):children], found \(line)", line: lineNumber,
                        column: 1)
                }
                if isTemplated(child) { throw templateFailure(line, line: lineNumber, column: 1) }
                if declared.contains(child) {
                    try inventory.addChild(child, to: group, line: lineNumber)
                } else {
                    var pending = pendingChildren[child] ?? (lineNumber, [])
                    pending.parents.append(group)
                    pendingChildren[child] = pending
                }
            default:
                try hostLine(line, lineNumber)
            }
        }

        func hostLine(_ line: String, _ lineNumber: Int) throws(Failure) {
            let tokens: [String]
            switch shellWords(line) {
            case .success(let words): tokens = words
            case .failure(let problem):
                throw Failure(message: "cannot read host line \(line): \(problem.message)", line: lineNumber, column: 1)
            }
            guard let pattern = tokens.first else { return }
            if isTemplated(pattern) || tokens.contains(where: { $0 == "}}" || $0 == "%}" }) {
                throw templateFailure(line, line: lineNumber, column: 1)
            }
            var vars: [(String, Value)] = []
            for token in tokens.dropFirst() {
                guard let eq = token.firstIndex(of: "=") else {
                    throw Failure(
                        message: "expected key=value host variable assignment, got: \(token)", line: lineNumber,
                        column: (line.range(of: token)?.lowerBound).map {
                            line.distance(from: line.startIndex, to: $0) + 1
                        })
                }
                vars.append((String(token[..<eq]), literal(String(token[token.index(after: eq)...]))))
            }
            let (names, port) = try expandHostPattern(pattern, line: lineNumber)
            for name in names { try inventory.addHost(name, to: group, port: port, vars: vars, line: lineNumber) }
        }

        if let (child, pending) = pendingChildren.min(by: { $0.value.line < $1.value.line }) {
            throw Failure(
                message:
                    "section [\(pending.parents[0]):children] includes undefined group \(child); Ansible refuses it too",
                line: pending.line, column: 1,
                hint: "add a [\(child)] section (it may be empty), or remove the line")
        }
        if let (name, line) = pendingVars.min(by: { $0.value < $1.value }) {
            throw Failure(
                message: "section [\(name):vars] names a group that is never defined; Ansible refuses it too",
                line: line, column: 1, hint: "add a [\(name)] section (it may be empty), or remove these variables")
        }
        return inventory
    }

    /// `[name]`, `[name:kind]`, optionally followed by a comment; nil for anything else.
    static func sectionHeader(_ line: String) -> (name: String, kind: String)? {
        guard let close = line.firstIndex(of: "]") else { return nil }
        let rest = line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)
        guard rest.isEmpty || rest.hasPrefix("#") else { return nil }
        let inner = line[line.index(after: line.startIndex)..<close]
        let parts = inner.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let name = parts.first, !name.isEmpty, !name.contains(where: { $0.isWhitespace || $0 == "[" }) else {
            return nil
        }
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                return nil
            }
            return (name, parts[1])
        }
        return (name, "hosts")
    }

    /// A `:children` line: one group name, optionally followed by a comment.
    static func groupNameLine(_ line: String) -> String? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let name = words.first, !name.contains(":"), !name.contains("]") else { return nil }
        guard words.count == 1 || words[1].hasPrefix("#") else { return nil }
        return String(name)
    }

    /// Python's `shlex.split(line, comments=True)`: blanks separate words; single quotes keep
    /// everything, double quotes honour `\"` and `\\`; a backslash outside quotes escapes the next
    /// character; `#` outside quotes ends the line, even inside a word.
    static func shellWords(_ line: String) -> Result<[String], Failure> {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var iterator = Array(line).makeIterator()
        while let character = iterator.next() {
            if let open = quote {
                if character == open {
                    quote = nil
                } else if open == "\"" && character == "\\" {
                    guard let next = iterator.next() else { break }
                    if next != "\"" && next != "\\" { current.append("\\") }
                    current.append(next)
                } else {
                    current.append(character)
                }
            } else if character == "\"" || character == "'" {
                quote = character
                inWord = true
            } else if character == "\\" {
                guard let next = iterator.next() else {
                    return .failure(Failure(message: "no escaped character"))
                }
                current.append(next)
                inWord = true
            } else if character == " " || character == "\t" {
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            } else if character == "#" {
                break
            } else {
                current.append(character)
                inWord = true
            }
        }
        if quote != nil { return .failure(Failure(message: "no closing quotation")) }
        if inWord { words.append(current) }
        return .success(words)
    }

    // MARK: - Host patterns (ansible-core's parse_address and expand_hostname_range)

    /// `node1:2222` → node1 with port 2222; `node[01:03]` → node01, node02, node03; `[a:c]` letters;
    /// `[1:9:2]` with a step. Several ranges in one name multiply.
    static func expandHostPattern(_ pattern: String, line: Int?) throws(Failure) -> (names: [String], port: String?) {
        var name = pattern
        var port: String?
        if name.hasSuffix(":") {
            throw Failure(
                message: "invalid host pattern \(pattern): a trailing ':' is reserved for a port", line: line, column: 1
            )
        }
        if let colon = name.lastIndex(of: ":"), name[name.index(after: colon)...].allSatisfy(\.isNumber) {
            let head = name[..<colon]
            // host:port unless the head holds another colon outside brackets (an IPv6 address).
            var depth = 0
            var otherColon = false
            for character in head {
                if character == "[" {
                    depth += 1
                } else if character == "]" {
                    depth -= 1
                } else if character == ":" && depth == 0 {
                    otherColon = true
                }
            }
            if !otherColon {
                port = String(name[name.index(after: colon)...])
                name = String(head)
                if name.hasPrefix("[") && name.hasSuffix("]") && name.contains(":") && !name.contains("]:") {
                    name = String(name.dropFirst().dropLast())  // [IPv6]:port
                }
            }
        }
        if name == "---" {
            throw Failure(message: "host pattern --- is normally a sign this is a YAML file", line: line, column: 1)
        }
        var names: [String] = []
        var budget = 100_000
        func expand(_ text: String) throws(Failure) {
            guard let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") else {
                budget -= 1
                guard budget >= 0 else {
                    throw Failure(
                        message: "host pattern \(pattern) names more than 100000 hosts", line: line, column: 1)
                }
                names.append(text)
                return
            }
            let head = text[..<open]
            let tail = text[text.index(after: close)...]
            let bounds = text[text.index(after: open)..<close].split(separator: ":", omittingEmptySubsequences: false)
            guard bounds.count == 2 || bounds.count == 3 else {
                // Not a range (an IPv6 address in brackets without a port, say): the name as written.
                names.append(text)
                return
            }
            let begin = bounds[0].isEmpty ? "0" : String(bounds[0])
            let end = String(bounds[1])
            let step = bounds.count == 3 ? Int(bounds[2]) ?? 0 : 1
            guard !end.isEmpty, step > 0 else {
                throw Failure(
                    message: "host range in \(pattern) needs an end and a positive step", line: line, column: 1)
            }
            var sequence: [String] = []
            let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
            if let from = letters.firstIndex(of: Character(begin.count == 1 ? begin : "-")),
                let to = letters.firstIndex(of: Character(end.count == 1 ? end : "-"))
            {
                guard from <= to else {
                    throw Failure(message: "host range in \(pattern) must have begin <= end", line: line, column: 1)
                }
                sequence = stride(from: from, through: to, by: step).map { String(letters[$0]) }
            } else if let from = Int(begin), let to = Int(end) {
                guard to - from < 100_000 else {
                    throw Failure(
                        message: "host pattern \(pattern) names more than 100000 hosts", line: line, column: 1)
                }
                let width = begin.hasPrefix("0") && begin.count > 1 ? begin.count : 0
                if width > 0 && width != end.count {
                    throw Failure(
                        message: "host range in \(pattern) must give begin and end with equal widths", line: line,
                        column: 1)
                }
                sequence = stride(from: from, through: to, by: step).map { number in
                    let digits = String(number)
                    return String(repeating: "0", count: max(0, width - digits.count)) + digits
                }
            } else {
                throw Failure(
                    message: "host range in \(pattern) is not numeric or single letters", line: line, column: 1)
            }
            for item in sequence { try expand(head + item + tail) }
        }
        try expand(name)
        return (names, port)
    }

    // MARK: - INI values (Python's ast.literal_eval)

    /// Ansible reads every INI value with Python's `ast.literal_eval` and keeps the text when that
    /// fails: `2222` is a number, `'{"a": "b"}'` a mapping, `True` a boolean, `10.0.0.1` text.
    static func literal(_ text: String) -> Value {
        var parser = PythonLiteral(Array(text.unicodeScalars))
        parser.skipBlanks()
        guard let value = parser.value(depth: 0) else { return .string(text) }
        parser.skipBlanks()
        return parser.atEnd ? value : .string(text)
    }

    struct PythonLiteral {
        let scalars: [Unicode.Scalar]
        var index = 0
        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var atEnd: Bool { index >= scalars.count }
        var current: Unicode.Scalar? { atEnd ? nil : scalars[index] }

        mutating func skipBlanks() {
            while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { index += 1 }
        }

        mutating func value(depth: Int) -> Value? {
            guard depth < 32, let c = current else { return nil }
            switch c {
            case "[": return sequence(close: "]", depth: depth)
            case "(": return sequence(close: ")", depth: depth)
            case "{": return mapping(depth: depth)
            case "'", "\"": return strings()
            case "u", "U", "r", "R":
                if index + 1 < scalars.count, scalars[index + 1] == "'" || scalars[index + 1] == "\"" {
                    return strings()
                }
                return word()
            default: return c == "-" || c == "+" || c == "." || ("0"..."9").contains(c) ? number() : word()
            }
        }

        mutating func word() -> Value? {
            let start = index
            while let c = current, c.properties.isAlphabetic || c == "_" { index += 1 }
            switch String(String.UnicodeScalarView(scalars[start..<index])) {
            case "True": return .string("True")
            case "False": return .string("False")
            case "None": return .null
            default: return nil
            }
        }

        mutating func number() -> Value? {
            var sign = ""
            if let c = current, c == "-" || c == "+" {
                if c == "-" { sign = "-" }
                index += 1
                skipBlanks()
            }
            let start = index
            while let c = current, c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "." {
                if c == "e" || c == "E", index + 1 < scalars.count,
                    scalars[index + 1] == "-" || scalars[index + 1] == "+"
                {
                    index += 2
                    continue
                }
                index += 1
            }
            let text = String(String.UnicodeScalarView(scalars[start..<index]))
            guard !text.isEmpty, !text.hasPrefix("_"), !text.hasSuffix("_"), !text.contains("__") else { return nil }
            let bare = text.replacingOccurrences(of: "_", with: "")
            let lower = bare.lowercased()
            for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where lower.hasPrefix(prefix) {
                guard let value = Int(lower.dropFirst(2), radix: radix) else { return nil }
                return .string(sign + String(value))
            }
            if bare.allSatisfy(\.isASCII), bare.allSatisfy({ $0.isNumber }) {
                // Python 3 refuses leading zeros (`010`) except for zero itself (`00`).
                if bare.count > 1 && bare.hasPrefix("0") && bare.contains(where: { $0 != "0" }) { return nil }
                guard let value = Int(bare) else { return nil }
                return .string(sign + String(value))
            }
            guard lower.allSatisfy({ $0.isASCII && ($0.isNumber || "e.+-".contains($0)) }),
                lower.contains(where: \.isNumber), let value = Double(lower)
            else { return nil }
            // Swift prints a Double as Python's repr does: shortest round trip, `.0` on whole numbers.
            return .string(sign + "\(value)")
        }

        mutating func strings() -> Value? {
            var out = ""
            var any = false
            while let c = current {
                var raw = false
                if c == "r" || c == "R" || c == "u" || c == "U" {
                    guard index + 1 < scalars.count, scalars[index + 1] == "'" || scalars[index + 1] == "\"" else {
                        break
                    }
                    raw = c == "r" || c == "R"
                    index += 1
                }
                guard let quote = current, quote == "'" || quote == "\"" else { break }
                index += 1
                var closed = false
                while let s = current {
                    index += 1
                    if s == quote {
                        closed = true
                        break
                    }
                    if s == "\n" { return nil }
                    if s == "\\", let next = current {
                        index += 1
                        if raw {
                            out.unicodeScalars.append(s)
                            out.unicodeScalars.append(next)
                            continue
                        }
                        switch next {
                        case "n": out += "\n"
                        case "t": out += "\t"
                        case "r": out += "\r"
                        case "0": out += "\0"
                        case "\\", "'", "\"": out.unicodeScalars.append(next)
                        case "\n": break
                        default:
                            out.unicodeScalars.append(s)
                            out.unicodeScalars.append(next)
                        }
                        continue
                    }
                    out.unicodeScalars.append(s)
                }
                guard closed else { return nil }
                any = true
                skipBlanks()
            }
            return any ? .string(out) : nil
        }

        mutating func sequence(close: Unicode.Scalar, depth: Int) -> Value? {
            index += 1
            var items: [Value] = []
            skipBlanks()
            while current != close {
                guard let item = value(depth: depth + 1) else { return nil }
                items.append(item)
                skipBlanks()
                if current == "," {
                    index += 1
                    skipBlanks()
                } else if current != close {
                    return nil
                }
            }
            index += 1
            return .list(items)
        }

        mutating func mapping(depth: Int) -> Value? {
            index += 1
            var pairs: [(String, Value)] = []
            skipBlanks()
            while current != "}" {
                guard let key = value(depth: depth + 1) else { return nil }
                skipBlanks()
                // A set (`{1, 2}`) is a literal too, but no inventory value Cairn reads is one.
                guard current == ":" else { return nil }
                index += 1
                skipBlanks()
                guard let item = value(depth: depth + 1) else { return nil }
                guard case .string(let name) = key else { return nil }
                pairs.removeAll { $0.0 == name }
                pairs.append((name, item))
                skipBlanks()
                if current == "," {
                    index += 1
                    skipBlanks()
                } else if current != "}" {
                    return nil
                }
            }
            index += 1
            return .map(pairs)
        }
    }

    // MARK: - YAML (ansible-core's yaml inventory plugin)

    static func parseYAML(_ text: String) throws(Failure) -> AnsibleInventory {
        let root: Node
        switch SafeYAML.compose(text) {
        case .failure(let problem):
            throw Failure(message: problem.message, line: problem.line, column: problem.column, hint: problem.hint)
        case .success(nil):
            throw Failure(message: "the file holds no inventory (an empty YAML document)", line: nil)
        case .success(let node?): root = node
        }
        guard case .mapping(let top) = root else {
            throw Failure(
                message: "a YAML inventory is a mapping of groups such as all:, not \(kind(of: root))",
                line: root.mark?.line, column: root.mark?.column)
        }
        var inventory = AnsibleInventory()
        var budget = 200_000

        func convert(_ node: Node) throws(Failure) -> Value {
            guard let value = value(from: node, budget: &budget) else {
                throw Failure(
                    message: "the file is too large or nested too deeply (more than 200000 values)",
                    line: node.mark?.line, column: node.mark?.column)
            }
            return value
        }

        /// `hosts:` and `children:` may be a mapping, null, or one name as a string.
        func entries(_ node: Node, section: String, group: String) throws(Failure) -> [(Node, Node?)] {
            switch node {
            case .mapping(let mapping): return mapping.map { ($0.key, $0.value) }
            case .scalar where isNull(node): return []
            case .scalar: return [(node, nil)]
            default:
                throw Failure(
                    message: "\(section) of group \(group) must be a mapping, found \(kind(of: node))",
                    line: node.mark?.line, column: node.mark?.column)
            }
        }

        func readGroup(_ key: Node, _ body: Node?) throws(Failure) -> String? {
            guard let name = key.scalar?.string else {
                throw Failure(
                    message: "a group name must be a string, found \(kind(of: key))", line: key.mark?.line,
                    column: key.mark?.column)
            }
            if isTemplated(name) { throw templateFailure(name, line: key.mark?.line, column: key.mark?.column) }
            guard let body, !isNull(body) else {
                try inventory.addGroup(name, line: key.mark?.line)
                return name
            }
            guard case .mapping(let sections) = body else {
                inventory.warnings.append(
                    "\(name) (line \(key.mark?.line ?? 0)) is not a group definition (a mapping); Ansible skips it")
                return nil
            }
            try inventory.addGroup(name, line: key.mark?.line)
            for (sectionKey, section) in sections {
                let label = sectionKey.scalar?.string ?? ""
                switch label {
                case "hosts":
                    for (hostKey, hostBody) in try entries(section, section: "hosts", group: name) {
                        guard let pattern = hostKey.scalar?.string else {
                            throw Failure(
                                message: "a host name must be a string, found \(kind(of: hostKey))",
                                line: hostKey.mark?.line, column: hostKey.mark?.column)
                        }
                        let line = hostKey.mark?.line
                        if isTemplated(pattern) {
                            throw templateFailure(pattern, line: line, column: hostKey.mark?.column)
                        }
                        var vars: [(String, Value)] = []
                        if let hostBody, !isNull(hostBody) {
                            guard case .mapping(let pairs) = hostBody else {
                                throw Failure(
                                    message:
                                        "the variables of host \(pattern) must be a mapping, found \(kind(of: hostBody))",
                                    line: hostBody.mark?.line, column: hostBody.mark?.column)
                            }
                            for (varKey, varValue) in pairs {
                                guard let varName = varKey.scalar?.string else { continue }
                                vars.append((varName, try convert(varValue)))
                            }
                        }
                        let (names, port) = try expandHostPattern(pattern, line: line)
                        for host in names { try inventory.addHost(host, to: name, port: port, vars: vars, line: line) }
                    }
                case "children":
                    for (childKey, childBody) in try entries(section, section: "children", group: name) {
                        if let child = try readGroup(childKey, childBody) {
                            try inventory.addChild(child, to: name, line: childKey.mark?.line)
                        }
                    }
                case "vars":
                    if isNull(section) { continue }
                    guard case .mapping(let pairs) = section else {
                        throw Failure(
                            message: "vars of group \(name) must be a mapping, found \(kind(of: section))",
                            line: section.mark?.line, column: section.mark?.column)
                    }
                    for (varKey, varValue) in pairs {
                        guard let varName = varKey.scalar?.string else { continue }
                        try inventory.setVariable(
                            group: name, varName, try convert(varValue), line: varKey.mark?.line)
                    }
                default:
                    inventory.warnings.append(
                        "key \(label) in group \(name) (line \(sectionKey.mark?.line ?? 0)) is not hosts, children or vars; Ansible skips it"
                    )
                }
            }
            return name
        }

        // Top-level groups other than `all` become its children (`parents`).
        for (key, body) in top { _ = try readGroup(key, body) }
        return inventory
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static func kind(of node: Node) -> String {
        switch node {
        case .scalar(let scalar): return "the text \(DecodeContext.shown(scalar.string))"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .alias: return "an alias"
        }
    }

    /// A YAML node as a variable value, counting every node visited (aliases are walked expanded).
    static func value(from node: Node, budget: inout Int) -> Value? {
        func walk(_ node: Node, depth: Int) -> Value? {
            budget -= 1
            guard budget > 0, depth < 64 else { return nil }
            switch node {
            case .scalar(let scalar): return isNull(node) ? .null : .string(scalar.string)
            case .alias: return nil
            case .sequence(let sequence):
                var items: [Value] = []
                for item in sequence {
                    guard let v = walk(item, depth: depth + 1) else { return nil }
                    items.append(v)
                }
                return .list(items)
            case .mapping(let mapping):
                var pairs: [(String, Value)] = []
                for (key, item) in mapping {
                    guard let k = key.scalar?.string, let v = walk(item, depth: depth + 1) else { return nil }
                    pairs.append((k, v))
                }
                return .map(pairs)
            }
        }
        return walk(node, depth: 0)
    }
}
