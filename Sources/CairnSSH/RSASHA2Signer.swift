import CLibSSH2
import Crypto
import CryptoExtras
import Foundation

/// RSA user authentication with `rsa-sha2-256`.
///
/// libssh2 1.10 (Debian 12's) signs RSA user authentication only with SHA-1 (`ssh-rsa`), which
/// OpenSSH ≥ 8.8 refuses by default. libssh2's callback form of publickey authentication takes
/// the algorithm name from the first string of the key blob we pass, so handing it the key's
/// blob with the type written as `rsa-sha2-256` and signing with RSA/SHA-256 ourselves gives
/// exactly what RFC 8332 specifies; OpenSSH reads such a blob as the same RSA key.
enum RSASHA2 {
    static let algorithm = "rsa-sha2-256"

    /// Where the private half comes from: a key file we could parse, or an agent that holds it.
    enum Signer {
        case key(_RSA.Signing.PrivateKey)
        case agent(socketPath: String, blob: [UInt8])

        func sign(_ data: Data) throws -> Data {
            switch self {
            case .key(let key):
                return try key.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation
            case .agent(let socketPath, let blob):
                return try AgentClient.signRSASHA256(socketPath: socketPath, keyBlob: blob, data: data)
            }
        }
    }

    /// Parses an unencrypted RSA private key (OpenSSH or PKCS#1 PEM); nil for other key types.
    static func loadKey(contents: String) throws -> (signer: Signer, publicBlob: [UInt8])? {
        if contents.contains("BEGIN RSA PRIVATE KEY") {
            let key = try _RSA.Signing.PrivateKey(pemRepresentation: contents)
            let primitives = try key.publicKey.getKeyPrimitives()
            return (.key(key), publicBlob(e: [UInt8](primitives.publicExponent), n: [UInt8](primitives.modulus)))
        }
        guard contents.contains("BEGIN OPENSSH PRIVATE KEY") else { return nil }
        let body = contents.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else { return nil }
        var reader = SSHWireReader([UInt8](data))
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard try reader.bytes(magic.count) == magic else { return nil }
        guard try reader.string() == "none" else { return nil }  // encrypted: libssh2 or the agent handle it
        _ = try reader.stringBytes()  // kdf name
        _ = try reader.stringBytes()  // kdf options
        guard try reader.uint32() == 1 else { return nil }
        let publicBlob = try reader.stringBytes()
        var secret = SSHWireReader(try reader.stringBytes())
        guard try secret.uint32() == secret.uint32() else { return nil }  // check ints
        guard try secret.string() == "ssh-rsa" else { return nil }
        let n = try secret.stringBytes()
        let e = try secret.stringBytes()
        let d = try secret.stringBytes()
        _ = try secret.stringBytes()  // iqmp
        let p = try secret.stringBytes()
        let q = try secret.stringBytes()
        let key = try _RSA.Signing.PrivateKey(
            n: stripZeros(n), e: stripZeros(e), d: stripZeros(d),
            p: stripZeros(p), q: stripZeros(q))
        return (.key(key), publicBlob)
    }

    static func isRSABlob(_ blob: [UInt8]) -> Bool {
        var reader = SSHWireReader(blob)
        return (try? reader.string()) == "ssh-rsa"
    }

    /// The key blob with its type string replaced by `rsa-sha2-256`.
    static func sha2Blob(from blob: [UInt8]) -> [UInt8]? {
        var reader = SSHWireReader(blob)
        guard (try? reader.string()) == "ssh-rsa" else { return nil }
        return SSHWireWriter.string(Array(algorithm.utf8)) + Array(blob[reader.offset...])
    }

    static func publicBlob(e: [UInt8], n: [UInt8]) -> [UInt8] {
        SSHWireWriter.string(Array("ssh-rsa".utf8)) + SSHWireWriter.mpint(e) + SSHWireWriter.mpint(n)
    }

    private static func stripZeros(_ bytes: [UInt8]) -> [UInt8] {
        Array(bytes.drop(while: { $0 == 0 }))
    }
}

extension RawSession {
    /// Authenticates with `rsa-sha2-256` through libssh2's signing callback.
    func authenticateRSASHA2(
        user: String, publicBlob: [UInt8], signer: RSASHA2.Signer,
        deadline: ContinuousClock.Instant
    ) -> Int32 {
        guard let session, let blob = RSASHA2.sha2Blob(from: publicBlob) else {
            return LIBSSH2_ERROR_METHOD_NOT_SUPPORTED
        }
        let context = Unmanaged.passRetained(SigningContext(signer: signer))
        defer { context.release() }
        var abstract: UnsafeMutableRawPointer? = context.toOpaque()
        return user.withCString { userPtr in
            blob.withUnsafeBufferPointer { blobPtr in
                retryRaw(deadline: deadline) {
                    libssh2_userauth_publickey(
                        session, userPtr, blobPtr.baseAddress, blobPtr.count, rsaSignCallback, &abstract)
                }
            }
        }
    }
}

final class SigningContext {
    let signer: RSASHA2.Signer
    init(signer: RSASHA2.Signer) { self.signer = signer }
}

/// libssh2 calls this with the data to sign; the signature must live in memory libssh2 frees
/// with its allocator (malloc, as we install no custom one).
private let rsaSignCallback:
    @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, UnsafeMutablePointer<Int>?,
        UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UnsafeMutableRawPointer?>?
    ) -> Int32 = { _, signatureOut, lengthOut, data, dataLength, abstract in
        guard let signatureOut, let lengthOut, let data, let pointer = abstract?.pointee else { return -1 }
        let context = Unmanaged<SigningContext>.fromOpaque(pointer).takeUnretainedValue()
        guard let signature = try? context.signer.sign(Data(bytes: data, count: dataLength)) else { return -1 }
        guard let buffer = malloc(signature.count)?.assumingMemoryBound(to: UInt8.self) else { return -1 }
        signature.copyBytes(to: buffer, count: signature.count)
        signatureOut.pointee = buffer
        lengthOut.pointee = signature.count
        return 0
    }

/// Minimal reader for SSH wire encoding (RFC 4251 §5).
struct SSHWireReader {
    struct Truncated: Error {}
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else { throw Truncated() }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func uint32() throws -> UInt32 {
        try bytes(4).reduce(0) { ($0 << 8) | UInt32($1) }
    }

    mutating func stringBytes() throws -> [UInt8] {
        try bytes(Int(try uint32()))
    }

    mutating func string() throws -> String {
        String(decoding: try stringBytes(), as: UTF8.self)
    }
}

enum SSHWireWriter {
    static func uint32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    static func string(_ bytes: [UInt8]) -> [UInt8] {
        uint32(UInt32(bytes.count)) + bytes
    }

    /// An unsigned big-endian integer as an SSH mpint (leading zero when the top bit is set).
    static func mpint(_ bytes: [UInt8]) -> [UInt8] {
        var value = Array(bytes.drop(while: { $0 == 0 }))
        if let first = value.first, first & 0x80 != 0 { value.insert(0, at: 0) }
        return string(value)
    }
}

/// Just enough of the ssh-agent protocol to ask for an `rsa-sha2-256` signature, which
/// libssh2 1.10's agent support cannot request.
enum AgentClient {
    struct Failure: Error { let message: String }

    static let signRequest: UInt8 = 13
    static let signResponse: UInt8 = 14
    static let flagRSASHA256: UInt32 = 2

    static func signRSASHA256(socketPath: String, keyBlob: [UInt8], data: Data) throws -> Data {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(message: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(message: "agent socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            throw Failure(message: "cannot connect to the agent: \(String(cString: strerror(errno)))")
        }

        let body =
            [signRequest] + SSHWireWriter.string(keyBlob) + SSHWireWriter.string([UInt8](data))
            + SSHWireWriter.uint32(flagRSASHA256)
        try writeAll(fd, SSHWireWriter.uint32(UInt32(body.count)) + body)
        let length = try SSHWireReader(readExactly(fd, 4)).uint32Value()
        guard length > 0, length < 1 << 20 else { throw Failure(message: "bad agent reply length") }
        var reply = SSHWireReader(try readExactly(fd, Int(length)))
        guard try reply.bytes(1) == [signResponse] else { throw Failure(message: "the agent refused to sign") }
        var signature = SSHWireReader(try reply.stringBytes())
        guard try signature.string() == RSASHA2.algorithm else {
            throw Failure(message: "the agent signed with another algorithm")
        }
        return Data(try signature.stringBytes())
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(message: "agent write failed") }
            offset += n
        }
    }

    private static func readExactly(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = buffer[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure(message: "agent closed the connection") }
            offset += n
        }
        return buffer
    }
}

extension SSHWireReader {
    fileprivate func uint32Value() throws -> UInt32 {
        var copy = self
        return try copy.uint32()
    }
}
