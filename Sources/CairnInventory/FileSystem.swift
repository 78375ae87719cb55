import Foundation

/// The little the inventory reader needs from the local file system, injectable so tests and the
/// fuzz loop control it (the fuzz loop uses `.none`: no file exists, nothing is read).
public struct InventoryFileSystem: Sendable {
    public var fileExists: @Sendable (String) -> Bool
    public var directoryExists: @Sendable (String) -> Bool
    public var readFile: @Sendable (String) -> Data?
    /// Names (not paths) of a directory's entries.
    public var listDirectory: @Sendable (String) -> [String]?

    public init(
        fileExists: @escaping @Sendable (String) -> Bool,
        directoryExists: @escaping @Sendable (String) -> Bool,
        readFile: @escaping @Sendable (String) -> Data?,
        listDirectory: @escaping @Sendable (String) -> [String]?
    ) {
        self.fileExists = fileExists
        self.directoryExists = directoryExists
        self.readFile = readFile
        self.listDirectory = listDirectory
    }

    public static let local = InventoryFileSystem(
        fileExists: { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        },
        directoryExists: { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        },
        readFile: { path in FileManager.default.contents(atPath: path) },
        listDirectory: { path in try? FileManager.default.contentsOfDirectory(atPath: path) }
    )

    /// Nothing exists and nothing can be read.
    public static let none = InventoryFileSystem(
        fileExists: { _ in false }, directoryExists: { _ in false }, readFile: { _ in nil }, listDirectory: { _ in nil }
    )

    /// Reads real files, but reports every file and directory as existing: for checking example
    /// inventories whose identity files and mirrors live on other machines.
    public func assumingEverythingExists() -> InventoryFileSystem {
        var copy = self
        copy.fileExists = { _ in true }
        copy.directoryExists = { _ in true }
        return copy
    }
}

/// Path arithmetic without touching the file system.
enum Paths {
    /// Expands `~` and `~/…` from `home`, makes relative paths absolute against `base`, and removes
    /// `.` and `..` components. nil when `~` is used and `home` is unknown, or for `~user`.
    static func resolve(_ path: String, base: String, home: String?) -> String? {
        var full: String
        if path == "~" || path.hasPrefix("~/") {
            guard let home, !home.isEmpty else { return nil }
            full = home + path.dropFirst()
        } else if path.hasPrefix("~") {
            return nil
        } else if path.hasPrefix("/") {
            full = path
        } else {
            full = base + "/" + path
        }
        return normalize(full)
    }

    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." || part.isEmpty { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    static func lastComponent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Shows a path with the home directory as `~`.
    static func abbreviate(_ path: String, home: String?) -> String {
        guard let home, !home.isEmpty, home != "/" else { return path }
        if path == home { return "~" }
        if path.hasPrefix(home + "/") { return "~" + path.dropFirst(home.count) }
        return path
    }
}

/// Shell-style wildcard matching: `*` any run, `?` one character. Case-sensitive unless folded first.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars)
        let t = Array(text.unicodeScalars)
        var pi = 0
        var ti = 0
        var starP = -1
        var starT = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == "*" {
                starP = pi
                starT = ti
                pi += 1
            } else if starP >= 0 {
                pi = starP + 1
                starT += 1
                ti = starT
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    static func hasWildcards(_ text: String) -> Bool {
        text.contains("*") || text.contains("?")
    }
}
