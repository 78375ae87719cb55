import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `artifacts.lock`: the SHA-256 of every unpinned artifact Cairn has fetched, keyed by
/// upstream URL. One entry a line, `name version url sha256`, sorted, after a comment header;
/// meant to be committed next to the inventory and reviewed in diffs.
struct LockFile: Equatable {
    struct Entry: Equatable, Comparable {
        var name: String
        var version: String
        var url: String
        var sha256: String

        static func < (a: Entry, b: Entry) -> Bool {
            (a.name, a.version, a.url) < (b.name, b.version, b.url)
        }
    }

    static let header = """
        # artifacts.lock — SHA-256 of each release artifact Cairn fetched (written by Cairn).
        # name version url sha256; one line each, sorted. Commit this file: every later fetch,
        # on any machine, must match it. Remove a line to accept a new file for that URL.

        """

    var entries: [Entry] = []

    func entry(for url: String) -> Entry? { entries.first { $0.url == url } }

    static func parse(_ text: String, path: String) throws -> LockFile {
        var lock = LockFile()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 4 else {
                throw ArtifactError.lockFileInvalid(
                    path: path, line: index + 1,
                    reason: "expected 4 fields (name version url sha256), found \(fields.count)")
            }
            guard isSHA256(fields[3]) else {
                throw ArtifactError.lockFileInvalid(
                    path: path, line: index + 1, reason: "\(fields[3]) is not a SHA-256 (64 lowercase hex digits)")
            }
            if lock.entry(for: fields[2]) != nil {
                throw ArtifactError.lockFileInvalid(
                    path: path, line: index + 1, reason: "a second entry for \(fields[2])")
            }
            lock.entries.append(Entry(name: fields[0], version: fields[1], url: fields[2], sha256: fields[3]))
        }
        return lock
    }

    var rendered: String {
        Self.header + entries.sorted().map { "\($0.name) \($0.version) \($0.url) \($0.sha256)\n" }.joined()
    }

    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    static func read(_ url: URL) throws -> LockFile {
        guard FileManager.default.fileExists(atPath: url.path) else { return LockFile() }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ArtifactError.lockFileInvalid(
                path: url.path, line: nil, reason: "cannot be read: \(error.localizedDescription)")
        }
        return try parse(text, path: url.path)
    }

    /// Runs `body` holding an exclusive `flock` on the lock file's directory, so that
    /// concurrent fetches — tasks, threads or processes — update the lock file one at a time
    /// (the lock file itself is replaced by rename, so it cannot carry the lock). `body` must
    /// not suspend.
    static func withExclusiveAccess<T>(_ url: URL, _ body: () throws -> T) throws -> T {
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ArtifactError.writeFailed(path: directory.path, reason: error.localizedDescription)
        }
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ArtifactError.writeFailed(path: directory.path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR {
                throw ArtifactError.writeFailed(
                    path: directory.path, reason: "cannot lock: \(String(cString: strerror(errno)))")
            }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
