import Foundation
import X509

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension PKIStore {
    static let directoryMode: mode_t = 0o700
    static let certificateMode: mode_t = 0o644
    static let keyMode: mode_t = 0o600

    struct Pair {
        let certificate: Certificate
        let key: Certificate.PrivateKey
    }

    enum Loaded {
        case missing
        case failed(String)
        case loaded(Pair)
    }

    /// Names become file names: letters, digits, `.`, `_`, `-`; not starting with a dot.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "."), name.utf8.count <= 200 else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    static func checkName(_ name: String) throws {
        guard isValidName(name) else {
            throw PKIError.invalidRequest(
                name: name,
                reason:
                    "a certificate name may hold only letters, digits, '.', '_' and '-', and must not start with '.'")
        }
    }

    func load(_ name: String) -> Loaded {
        let certificatePath = certificateURL(name).path
        let keyPath = keyURL(name).path
        let fm = FileManager.default
        let hasCertificate = fm.fileExists(atPath: certificatePath)
        let hasKey = fm.fileExists(atPath: keyPath)
        if !hasCertificate && !hasKey { return .missing }
        if !hasCertificate { return .failed("\(name).crt is missing (\(name).key exists)") }
        if !hasKey { return .failed("\(name).key is missing (\(name).crt exists)") }
        let certificate: Certificate
        do {
            let text = try String(contentsOfFile: certificatePath, encoding: .utf8)
            certificate = try Certificate(pemEncoded: text)
        } catch {
            return .failed("\(name).crt is not a readable PEM certificate")
        }
        let key: Certificate.PrivateKey
        do {
            let text = try String(contentsOfFile: keyPath, encoding: .utf8)
            key = try Certificate.PrivateKey(pemEncoded: text)
        } catch {
            return .failed("\(name).key is not a readable PEM private key")
        }
        return .loaded(Pair(certificate: certificate, key: key))
    }

    /// Loads a CA for signing, or says precisely why it cannot be used.
    func loadCA(_ name: String) throws -> Pair {
        switch load(name) {
        case .missing:
            throw PKIError.caMissing(name: name, directory: directory.path)
        case .failed(let reason):
            throw PKIError.caUnreadable(name: name, path: certificateURL(name).path, reason: reason)
        case .loaded(let pair):
            if let problem = Self.caProblem(pair) {
                throw PKIError.caUnreadable(name: name, path: certificateURL(name).path, reason: problem)
            }
            if pair.certificate.notValidAfter <= now() {
                throw PKIError.caExpired(
                    name: name, notAfter: pair.certificate.notValidAfter, directory: directory.path)
            }
            return pair
        }
    }

    func readText(_ name: String, _ url: URL) throws -> String {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw PKIError.unreadable(name: name, path: url.path, reason: "no such file")
        }
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw PKIError.unreadable(name: name, path: url.path, reason: "\(error.localizedDescription)")
        }
    }

    // MARK: - Writing

    /// Creates the directory 0700 (or tightens an existing one), then writes the key and the
    /// certificate, each atomically. Key first: if interrupted between the two, the next run
    /// sees "key does not match the certificate" and reissues.
    func write(name: String, issued: Issued) throws {
        try prepareDirectory()
        try Self.atomicWrite(Data(issued.keyPEM.utf8), to: keyURL(name), mode: Self.keyMode)
        try Self.atomicWrite(Data(issued.certificatePEM.utf8), to: certificateURL(name), mode: Self.certificateMode)
    }

    func prepareDirectory() throws {
        let path = directory.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw PKIError.writeFailed(path: path, reason: "exists and is not a directory")
            }
        } else {
            do {
                try FileManager.default.createDirectory(
                    at: directory, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: Int(Self.directoryMode)])
            } catch {
                throw PKIError.writeFailed(path: path, reason: error.localizedDescription)
            }
        }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            guard chmod(path, Self.directoryMode) == 0 else {
                throw PKIError.writeFailed(
                    path: path, reason: "cannot set mode 0700: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// A reused key keeps its bytes and modification time; only a mode looser than 0600 is tightened.
    func tightenKeyMode(_ name: String) throws {
        let path = keyURL(name).path
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            guard chmod(path, Self.keyMode) == 0 else {
                throw PKIError.writeFailed(
                    path: path, reason: "cannot set mode 0600: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Temporary file in the same directory (created with the final mode, never wider), fsync,
    /// rename over the target, fsync the directory.
    static func atomicWrite(_ data: Data, to url: URL, mode: mode_t) throws {
        let directory = url.deletingLastPathComponent().path
        let temporary = "\(directory)/.\(url.lastPathComponent).\(UUID().uuidString).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw PKIError.writeFailed(path: url.path, reason: String(cString: strerror(errno)))
        }
        var failure: String?
        if fchmod(fd, mode) != 0 { failure = String(cString: strerror(errno)) }
        if failure == nil {
            do {
                try FileHandle(fileDescriptor: fd, closeOnDealloc: false).write(contentsOf: data)
            } catch {
                failure = error.localizedDescription
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil, rename(temporary, url.path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw PKIError.writeFailed(path: url.path, reason: failure)
        }
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }
}
