import CairnCore
import Crypto
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A verified file in the cache.
public struct LocalArtifact: Sendable, Equatable {
    public let spec: ArtifactSpec
    public let path: URL
    /// Lowercase hex.
    public let sha256: String
    public let size: Int
}

/// What `fetch` would do, for `cairn plan` (read-only).
public enum ArtifactStatus: Sendable, Equatable {
    /// In the cache, with a hash that matches the pin or the lock file (or nothing to match yet).
    case cached(sha256: String)
    /// Would be copied or downloaded from this location (a path or a URL).
    case willFetch(from: String)
}

/// The operator's artifact cache: fetch once, verify always, reuse.
///
/// The cache has the upstream layout too (`CACHE/dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubeadm`),
/// so a cache filled on a connected machine is a ready mirror for an air-gapped site.
///
/// Verification: a pinned `spec.sha256` must match; otherwise the lock file's entry for the URL
/// must match; otherwise the hash is recorded in the lock file — trust on first use: the first
/// fetch is believed, every later one (on any machine sharing the lock file) must agree with it.
/// A file that does not match is deleted and never cached.
public struct ArtifactStore: Sendable {
    public let cacheDirectory: URL
    public let lockFile: URL
    public let source: ArtifactSource
    /// Longest wait for any data from a server (seconds).
    public let requestTimeout: TimeInterval
    /// Longest time for a whole download (seconds).
    public let resourceTimeout: TimeInterval

    public init(
        cacheDirectory: URL,
        lockFile: URL,
        source: ArtifactSource,
        requestTimeout: TimeInterval = 60,
        resourceTimeout: TimeInterval = 30 * 60
    ) {
        self.cacheDirectory = cacheDirectory
        self.lockFile = lockFile
        self.source = source
        self.requestTimeout = requestTimeout
        self.resourceTimeout = resourceTimeout
    }

    // MARK: - Read-only

    /// Where the artifact is (or will be) in the cache.
    public func cachePath(for spec: ArtifactSpec) throws -> URL {
        cacheDirectory.appendingPathComponent(try Self.relativePath(spec))
    }

    /// Where the artifact would be fetched from under the configured source.
    public func sourceLocation(for spec: ArtifactSpec) throws -> String {
        try ArtifactPaths.location(for: Self.relativePath(spec), upstream: spec.url, source: source).text
    }

    /// The lock file's hash for this spec's URL; nil when there is none (or the lock file is unreadable).
    public func lockedHash(for spec: ArtifactSpec) -> String? {
        (try? LockFile.read(lockFile))?.entry(for: spec.url)?.sha256
    }

    public func status(_ spec: ArtifactSpec) -> ArtifactStatus {
        let fallback = ArtifactStatus.willFetch(from: (try? sourceLocation(for: spec)) ?? spec.url)
        guard let path = try? cachePath(for: spec), FileManager.default.fileExists(atPath: path.path),
            let (hash, _) = try? Self.sha256(of: path)
        else {
            return fallback
        }
        let expected = Self.normalizedPin(spec.sha256) ?? lockedHash(for: spec)
        if let expected, expected != hash { return fallback }
        return .cached(sha256: hash)
    }

    // MARK: - Fetch

    public func fetch(_ spec: ArtifactSpec) async throws -> LocalArtifact {
        let relative = try Self.relativePath(spec)
        let pinned = try Self.validatedPin(spec)
        let target = cacheDirectory.appendingPathComponent(relative)

        // 1. The cache, when its file still has the right hash.
        if FileManager.default.fileExists(atPath: target.path) {
            let (hash, size) = try Self.sha256(of: target)
            let expected = try pinned ?? LockFile.read(lockFile).entry(for: spec.url)?.sha256
            if expected == nil || expected == hash {
                if pinned == nil {
                    try recordOrCheck(spec, hash: hash, file: target, moveTo: nil)
                }
                return LocalArtifact(spec: spec, path: target, sha256: hash, size: size)
            }
            // Corrupted or stale: fetch again (the fresh file is verified below).
            try? FileManager.default.removeItem(at: target)
        }

        // 2. The source, into a temporary file next to the target.
        let directory = target.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ArtifactError.writeFailed(path: directory.path, reason: error.localizedDescription)
        }
        let partial = directory.appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString).part")
        defer { try? FileManager.default.removeItem(at: partial) }
        switch try ArtifactPaths.location(for: relative, upstream: spec.url, source: source) {
        case .file(let file):
            try copy(spec, from: file, to: partial)
        case .remote(let url):
            try await download(spec, from: url, to: partial)
        }

        // 3. Verify, then move into place.
        let (hash, size) = try Self.sha256(of: partial)
        if let pinned {
            guard hash == pinned else {
                throw ArtifactError.checksumMismatch(
                    artifact: spec.description, url: spec.url, expected: pinned,
                    actual: hash, expectedFrom: "the pinned hash")
            }
            try Self.rename(partial, to: target)
        } else {
            try recordOrCheck(spec, hash: hash, file: partial, moveTo: target)
        }
        return LocalArtifact(spec: spec, path: target, sha256: hash, size: size)
    }

    /// Under the lock file's lock: compare with the entry for the URL, or record one (trust on
    /// first use); then, if `moveTo` is given, move the verified file into the cache.
    func recordOrCheck(_ spec: ArtifactSpec, hash: String, file: URL, moveTo target: URL?) throws {
        try LockFile.withExclusiveAccess(lockFile) {
            var lock = try LockFile.read(lockFile)
            if let entry = lock.entry(for: spec.url) {
                guard entry.sha256 == hash else {
                    try? FileManager.default.removeItem(at: file)
                    throw ArtifactError.checksumMismatch(
                        artifact: spec.description, url: spec.url, expected: entry.sha256,
                        actual: hash, expectedFrom: lockFile.path)
                }
            } else {
                lock.entries.append(.init(name: spec.name, version: spec.version, url: spec.url, sha256: hash))
                try Self.writeAtomically(Data(lock.rendered.utf8), to: lockFile)
            }
            if let target { try Self.rename(file, to: target) }
        }
    }

    func copy(_ spec: ArtifactSpec, from file: URL, to partial: URL) throws {
        guard case .mirror(let mirror) = source else { return }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue
        else {
            throw ArtifactError.notInMirror(artifact: spec.description, path: file.path, mirror: mirror)
        }
        do {
            try FileManager.default.copyItem(at: file, to: partial)
        } catch {
            throw ArtifactError.writeFailed(
                path: partial.path, reason: "copying \(file.path): \(error.localizedDescription)")
        }
    }

    func download(_ spec: ArtifactSpec, from url: URL, to partial: URL) async throws {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = requestTimeout
        configuration.timeoutIntervalForResource = resourceTimeout
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: url)
        request.setValue("cairn", forHTTPHeaderField: "User-Agent")
        let downloaded: URL
        let response: URLResponse
        do {
            (downloaded, response) = try await session.download(for: request)
        } catch let error as URLError {
            let reason =
                error.code == .timedOut
                ? "timed out (no data for \(Int(requestTimeout)) s)" : error.localizedDescription
            throw ArtifactError.downloadFailed(artifact: spec.description, url: url.absoluteString, reason: reason)
        } catch {
            throw ArtifactError.downloadFailed(artifact: spec.description, url: url.absoluteString, reason: "\(error)")
        }
        defer { try? FileManager.default.removeItem(at: downloaded) }
        if let http = response as? HTTPURLResponse, http.statusCode != 200 {
            throw ArtifactError.httpStatus(artifact: spec.description, url: url.absoluteString, status: http.statusCode)
        }
        do {
            try FileManager.default.moveItem(at: downloaded, to: partial)
        } catch {
            throw ArtifactError.writeFailed(path: partial.path, reason: error.localizedDescription)
        }
    }

    // MARK: - Helpers

    static func relativePath(_ spec: ArtifactSpec) throws -> String {
        for (field, value) in [("name", spec.name), ("version", spec.version)]
        where value.isEmpty || value.contains(where: { $0.isWhitespace || $0.isNewline }) {
            throw ArtifactError.invalidSpec(
                name: spec.name.isEmpty ? spec.url : spec.name,
                reason: "the \(field) \(value.debugDescription) is empty or has spaces")
        }
        guard let relative = ArtifactPaths.relativePath(ofUpstream: spec.url) else {
            throw ArtifactError.invalidSpec(
                name: spec.description,
                reason:
                    "\(spec.url.debugDescription) is not an http(s)://HOST/PATH URL without query, '..' or hidden segments"
            )
        }
        return relative
    }

    static func normalizedPin(_ pin: String?) -> String? {
        guard var pin = pin?.lowercased() else { return nil }
        if pin.hasPrefix("sha256:") { pin.removeFirst("sha256:".count) }
        return pin
    }

    static func validatedPin(_ spec: ArtifactSpec) throws -> String? {
        guard let pin = normalizedPin(spec.sha256) else { return nil }
        guard LockFile.isSHA256(pin) else {
            throw ArtifactError.invalidSpec(
                name: spec.description,
                reason: "the pinned sha256 \(spec.sha256!.debugDescription) is not 64 hex digits")
        }
        return pin
    }

    /// SHA-256 (lowercase hex) and size of a file, read in 1 MiB chunks.
    static func sha256(of url: URL) throws -> (String, Int) {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw ArtifactError.writeFailed(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size = 0
        while true {
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            size += chunk.count
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), size)
    }

    static func rename(_ from: URL, to target: URL) throws {
        if Foundation.rename(from.path, target.path) != 0 {
            throw ArtifactError.writeFailed(path: target.path, reason: String(cString: strerror(errno)))
        }
    }

    static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard
            FileManager.default.createFile(
                atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o644])
        else {
            throw ArtifactError.writeFailed(path: url.path, reason: "cannot create \(temporary.path)")
        }
        do {
            try rename(temporary, to: url)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }
}
