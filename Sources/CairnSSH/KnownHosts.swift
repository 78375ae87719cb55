import CLibSSH2
import CairnCore
import Foundation

/// Host-key verification against an OpenSSH known_hosts file, with libssh2's knownhost API.
///
/// One store per file is shared by every session of a run: checks and additions for that
/// file are serialised in-process by a lock and across processes by `flock`, and the file is
/// re-read for every check, so that 200 hosts recording their keys at once (accept-new)
/// append 200 lines instead of overwriting each other.
public final class KnownHostsStore: @unchecked Sendable {
    public let path: String
    private let lock = NSLock()

    public init(path: String) {
        self.path = path
    }

    enum Verdict: Equatable {
        case match
        case recorded
        case unchecked
    }

    /// Checks `key` (raw SSH wire format) presented by `host:port`. Throws for an unknown key in
    /// strict mode and for a changed key in every mode but `off`.
    func verify(
        session: OpaquePointer, label: String, host: String, port: Int,
        key: UnsafeRawBufferPointer, keyType: Int32, fingerprint: String, mode: HostKeyChecking
    ) throws -> Verdict {
        if mode == .off { return .unchecked }
        lock.lock()
        defer { lock.unlock() }

        let fd = try openLocked(create: mode == .acceptNew)
        defer {
            if fd >= 0 {
                flock(fd, LOCK_UN)
                close(fd)
            }
        }

        guard let collection = libssh2_knownhost_init(session) else {
            throw SSHError.knownHostsUnusable(path: path, reason: "libssh2 could not allocate a known-hosts collection")
        }
        defer { libssh2_knownhost_free(collection) }

        if fd >= 0 { loadLines(from: fd, into: collection) }

        let typeMask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | Self.knownHostKeyBits(keyType)
        var entry: UnsafeMutablePointer<libssh2_knownhost>?
        let result = host.withCString { hostPtr in
            libssh2_knownhost_checkp(
                collection, hostPtr, Int32(port),
                key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
                Int32(typeMask), &entry
            )
        }
        switch result {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return .match
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            // Either a different key of the same type, or the host is known with another key
            // type only. Both are refused: accepting a new key type for a known host is how
            // a man in the middle would slip in.
            throw SSHError.hostKeyChanged(host: label, fingerprint: fingerprint, knownHostsFile: path)
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
            guard mode == .acceptNew else {
                throw SSHError.hostKeyUnknown(host: label, fingerprint: fingerprint, knownHostsFile: path)
            }
            try record(collection: collection, fd: fd, host: host, port: port, key: key, typeMask: typeMask)
            return .recorded
        default:
            throw SSHError.knownHostsUnusable(path: path, reason: LibSSH2.lastError(session).message)
        }
    }

    /// Opens and locks the file; -1 when it does not exist and need not be created.
    private func openLocked(create: Bool) throws -> Int32 {
        if create {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
                do {
                    try FileManager.default.createDirectory(
                        atPath: directory, withIntermediateDirectories: true,
                        attributes: [.posixPermissions: 0o700])
                } catch {
                    throw SSHError.knownHostsUnusable(
                        path: path, reason: "cannot create its directory: \(error.localizedDescription)")
                }
            }
        }
        let flags = create ? (O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC)
        let fd = open(path, flags, 0o600)
        if fd < 0 {
            if errno == ENOENT && !create { return -1 }
            throw SSHError.knownHostsUnusable(path: path, reason: String(cString: strerror(errno)))
        }
        flock(fd, LOCK_EX)
        return fd
    }

    /// Feeds the file to libssh2 line by line, skipping lines it cannot parse (markers such as
    /// @cert-authority, key types it does not know) instead of failing the whole file.
    private func loadLines(from fd: Int32, into collection: OpaquePointer) {
        var contents = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        lseek(fd, 0, SEEK_SET)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            contents.append(contentsOf: buffer[0..<n])
        }
        for line in contents.split(separator: UInt8(ascii: "\n")) {
            guard let first = line.first(where: { $0 != 0x20 && $0 != 0x09 }),
                first != UInt8(ascii: "#"), first != UInt8(ascii: "@")
            else { continue }
            // libssh2 1.10 finds the end of a key without a comment with strlen: hand it a
            // newline- and NUL-terminated line, or it reads past the key.
            let terminated = Array(line) + [UInt8(ascii: "\n"), 0]
            terminated.withUnsafeBufferPointer { raw in
                raw.withMemoryRebound(to: CChar.self) { chars in
                    _ = libssh2_knownhost_readline(
                        collection, chars.baseAddress, chars.count - 1, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
                }
            }
        }
    }

    private func record(
        collection: OpaquePointer, fd: Int32, host: String, port: Int,
        key: UnsafeRawBufferPointer, typeMask: Int32
    ) throws {
        // OpenSSH writes non-standard ports as "[host]:port".
        let name = port == 22 ? host : "[\(host)]:\(port)"
        var stored: UnsafeMutablePointer<libssh2_knownhost>?
        let comment = "added by cairn"
        let rc = name.withCString { namePtr in
            comment.withCString { commentPtr in
                libssh2_knownhost_addc(
                    collection, namePtr, nil,
                    key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count,
                    commentPtr, comment.utf8.count, typeMask, &stored)
            }
        }
        guard rc == 0, let stored else {
            throw SSHError.knownHostsUnusable(path: path, reason: "cannot add an entry for \(name)")
        }
        var line = [CChar](repeating: 0, count: 16384)
        var length = 0
        let written = libssh2_knownhost_writeline(
            collection, stored, &line, line.count, &length, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
        guard written == 0, length > 0 else {
            throw SSHError.knownHostsUnusable(path: path, reason: "cannot format an entry for \(name)")
        }
        let bytes = line[0..<length].map { UInt8(bitPattern: $0) }
        let ok = bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress, raw.count) == raw.count }
        guard ok, fsync(fd) == 0 else {
            throw SSHError.knownHostsUnusable(path: path, reason: "cannot append: \(String(cString: strerror(errno)))")
        }
    }

    static func knownHostKeyBits(_ hostKeyType: Int32) -> Int32 {
        switch hostKeyType {
        case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA
        case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521
        case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519
        default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN
        }
    }

    /// Host-key algorithms to ask for, known types for this host first (as OpenSSH does), so a
    /// host recorded with one key type is not asked for another and flagged as changed.
    func preferredAlgorithms(host: String, port: Int) -> String {
        let all = [
            "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
            "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa",
        ]
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return all.joined(separator: ",") }
        let names: Set<String> = port == 22 ? [host] : ["[\(host)]:\(port)"]
        var known: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 3, !fields[0].hasPrefix("#"), !fields[0].hasPrefix("@") else { continue }
            let patterns = fields[0].split(separator: ",").map(String.init)
            guard patterns.contains(where: names.contains) else { continue }
            let type = String(fields[1])
            let algorithms = type == "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type]
            for algorithm in algorithms where all.contains(algorithm) && !known.contains(algorithm) {
                known.append(algorithm)
            }
        }
        return (known + all.filter { !known.contains($0) }).joined(separator: ",")
    }
}
