import CairnCore
import Foundation

/// An OpenSSH client configuration (`~/.ssh/config`), read the way `ssh` reads it.
///
/// Supported: `Host` blocks with several patterns, `*` and `?` wildcards and `!` negation; the first
/// value obtained for a keyword wins (`IdentityFile` accumulates); keywords are case-insensitive;
/// `keyword value` and `keyword=value`; double-quoted arguments; `Include` of absolute, relative
/// (to `~/.ssh`) and wildcard paths, also inside a `Host` block; `Match all`. Other `Match` blocks
/// are skipped with a warning. Cairn uses `HostName`, `User`, `Port`, `IdentityFile`, `ProxyJump`,
/// `UserKnownHostsFile`, `StrictHostKeyChecking` and `IdentityAgent none`; other keywords are kept
/// but ignored.
public struct SSHConfigFile: Sendable, Equatable {
    public struct HostPattern: Sendable, Equatable {
        public var pattern: String
        public var negated: Bool
    }

    public struct Entry: Sendable, Equatable {
        /// Lowercased.
        public var keyword: String
        public var arguments: [String]
        public var file: String
        public var line: Int
        /// Every pattern list must match for the entry to apply (more than one when included from a
        /// `Host` block); an empty list applies to every host. nil: never applies (skipped `Match`).
        var conditions: [[HostPattern]]?
    }

    /// A value found for a host, and where.
    public struct Value: Sendable, Equatable {
        public var arguments: [String]
        public var file: String
        public var line: Int
        public var first: String { arguments.first ?? "" }
    }

    /// The file first read.
    public var path: String
    public var entries: [Entry]
    /// Skipped `Match` blocks, unreadable includes, malformed lines.
    public var warnings: [Diagnostic]

    static let maxIncludeDepth = 16

    public init(path: String, entries: [Entry] = [], warnings: [Diagnostic] = []) {
        self.path = path
        self.entries = entries
        self.warnings = warnings
    }

    /// Reads `path`; nil when it cannot be read.
    public static func load(path: String, homeDirectory: String?, fileSystem: InventoryFileSystem = .local)
        -> SSHConfigFile?
    {
        guard let data = fileSystem.readFile(path) else { return nil }
        var config = SSHConfigFile(path: path)
        config.read(
            String(decoding: data, as: UTF8.self), file: path, inherited: [], depth: 0,
            homeDirectory: homeDirectory, fileSystem: fileSystem)
        return config
    }

    /// Parses text; includes are read through `fileSystem`.
    public static func parse(
        _ text: String, path: String, homeDirectory: String?, fileSystem: InventoryFileSystem = .none
    ) -> SSHConfigFile {
        var config = SSHConfigFile(path: path)
        config.read(text, file: path, inherited: [], depth: 0, homeDirectory: homeDirectory, fileSystem: fileSystem)
        return config
    }

    private mutating func read(
        _ text: String, file: String, inherited: [[HostPattern]]?, depth: Int,
        homeDirectory: String?, fileSystem: InventoryFileSystem
    ) {
        var conditions = inherited
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            guard let (keyword, arguments) = Self.split(rawLine) else { continue }
            switch keyword {
            case "host":
                let patterns = arguments.map { argument in
                    argument.hasPrefix("!")
                        ? HostPattern(pattern: String(argument.dropFirst()), negated: true)
                        : HostPattern(pattern: argument, negated: false)
                }
                conditions = inherited.map { $0 + [patterns] }
            case "match":
                if arguments.count == 1 && arguments[0].lowercased() == "all" {
                    conditions = inherited
                } else {
                    conditions = nil
                    warnings.append(
                        Diagnostic(
                            severity: .warning, file: file, line: lineNumber, column: 1, path: "Match",
                            message:
                                "Cairn does not evaluate `Match \(arguments.joined(separator: " "))`; the settings in this block are ignored",
                            hint: "use a Host block, or set the values in the inventory"
                        ))
                }
            case "include":
                guard conditions != nil else { continue }
                guard depth < Self.maxIncludeDepth else {
                    warnings.append(
                        Diagnostic(
                            severity: .warning, file: file, line: lineNumber, column: 1, path: "Include",
                            message: "includes nested more than \(Self.maxIncludeDepth) deep; not read"))
                    continue
                }
                for argument in arguments {
                    for path in Self.includePaths(argument, homeDirectory: homeDirectory, fileSystem: fileSystem) {
                        guard let data = fileSystem.readFile(path) else {
                            warnings.append(
                                Diagnostic(
                                    severity: .warning, file: file, line: lineNumber, column: 1, path: "Include",
                                    message: "cannot read included file \(argument)"))
                            continue
                        }
                        read(
                            String(decoding: data, as: UTF8.self), file: path, inherited: conditions,
                            depth: depth + 1, homeDirectory: homeDirectory, fileSystem: fileSystem)
                    }
                }
            default:
                entries.append(
                    Entry(keyword: keyword, arguments: arguments, file: file, line: lineNumber, conditions: conditions))
            }
        }
    }

    /// Keyword (lowercased) and arguments of a line; nil for blank lines and comments.
    static func split(_ line: Substring) -> (String, [String])? {
        let trimmed = line.drop { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = trimmed.first, first != "#" else { return nil }
        let keywordEnd = trimmed.firstIndex { $0 == " " || $0 == "\t" || $0 == "=" || $0 == "\r" } ?? trimmed.endIndex
        let keyword = trimmed[..<keywordEnd].lowercased()
        var rest = trimmed[keywordEnd...].drop { $0 == " " || $0 == "\t" }
        if rest.first == "=" { rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" } }
        return (keyword, tokenize(rest))
    }

    /// Splits on blanks; double quotes group words (and are removed).
    static func tokenize(_ text: Substring) -> [String] {
        var tokens: [String] = []
        var current = ""
        var inQuotes = false
        var hasToken = false
        for character in text {
            if character == "\"" {
                inQuotes.toggle()
                hasToken = true
            } else if !inQuotes && (character == " " || character == "\t" || character == "\r") {
                if hasToken { tokens.append(current) }
                current = ""
                hasToken = false
            } else if !inQuotes && character == "#" && !hasToken {
                break
            } else {
                current.append(character)
                hasToken = true
            }
        }
        if hasToken { tokens.append(current) }
        return tokens
    }

    static func includePaths(_ argument: String, homeDirectory: String?, fileSystem: InventoryFileSystem) -> [String] {
        let sshDirectory = (homeDirectory ?? "") + "/.ssh"
        guard let path = Paths.resolve(argument, base: sshDirectory, home: homeDirectory) else { return [] }
        let name = Paths.lastComponent(path)
        guard Glob.hasWildcards(name) else { return [path] }
        let directory = Paths.directory(of: path)
        return (fileSystem.listDirectory(directory) ?? []).filter { Glob.matches(name, $0) }.sorted().map {
            directory + "/" + $0
        }
    }

    static func hostMatches(_ host: String, _ patterns: [HostPattern]) -> Bool {
        let folded = host.lowercased()
        var matched = false
        for pattern in patterns where Glob.matches(pattern.pattern.lowercased(), folded) {
            if pattern.negated { return false }
            matched = true
        }
        return matched
    }

    /// The entries that apply to `host` (the name given to ssh, before `HostName`).
    public func values(for host: String) -> [String: Value] {
        var found: [String: Value] = [:]
        for entry in entries where applies(entry, to: host) {
            if found[entry.keyword] == nil {
                found[entry.keyword] = Value(arguments: entry.arguments, file: entry.file, line: entry.line)
            }
        }
        return found
    }

    /// Every `IdentityFile` that applies to `host`, in order.
    public func identityFiles(for host: String) -> [Value] {
        entries.filter { $0.keyword == "identityfile" && applies($0, to: host) }
            .map { Value(arguments: $0.arguments, file: $0.file, line: $0.line) }
    }

    func applies(_ entry: Entry, to host: String) -> Bool {
        guard let conditions = entry.conditions else { return false }
        return conditions.allSatisfy { Self.hostMatches(host, $0) }
    }

    /// Expands the `ssh_config` tokens Cairn supports: `%%`, `%h` (remote host name), `%n` (the
    /// name as given), `%p`, `%r` (remote user), `%u` (local user), `%d` (home), and a leading `~`.
    public static func expandTokens(
        _ text: String, hostName: String, originalHost: String, port: Int, remoteUser: String,
        localUser: String, homeDirectory: String?
    ) -> String {
        var out = ""
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            guard character == "%" else {
                out.append(character)
                continue
            }
            switch iterator.next() {
            case "%": out += "%"
            case "h": out += hostName
            case "n": out += originalHost
            case "p": out += String(port)
            case "r": out += remoteUser
            case "u": out += localUser
            case "d": out += homeDirectory ?? "~"
            case let other?: out += "%" + String(other)
            case nil: out += "%"
            }
        }
        if let homeDirectory, out == "~" || out.hasPrefix("~/") {
            out = homeDirectory + out.dropFirst()
        }
        return out
    }
}
