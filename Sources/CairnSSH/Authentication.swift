import CLibSSH2
import Foundation

/// One way of proving who we are, tried in order.
enum AuthCandidate: Equatable {
    case keyFile(path: String)
    case agentKey(blob: [UInt8], comment: String)
    case password

    var description: String {
        switch self {
        case .keyFile(let path): return "key \(path)"
        case .agentKey(_, let comment): return "agent key \(comment.isEmpty ? "(no comment)" : comment)"
        case .password: return "password"
        }
    }
}

/// The outcome of one connection's worth of authentication attempts.
enum AuthRound {
    case authenticated(method: String)
    /// The per-connection attempt budget ran out with candidates left; continue from `next`
    /// on a fresh connection (so servers' MaxAuthTries never cuts us off mid-list).
    case needsNewConnection(next: Int)
    case exhausted
}

/// Facts about private-key files, read without libssh2 (which cannot say *why* a key failed).
enum PrivateKeyFile {
    /// True when the key is protected by a passphrase: legacy PEM with `Proc-Type: 4,ENCRYPTED`,
    /// PKCS#8 `ENCRYPTED PRIVATE KEY`, or OpenSSH format with a cipher other than `none`.
    static func isEncrypted(contents: String) -> Bool {
        if contents.contains("ENCRYPTED") { return true }
        guard contents.contains("BEGIN OPENSSH PRIVATE KEY") else { return false }
        let body = contents.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else { return false }
        let magic = Array("openssh-key-v1".utf8) + [0]
        let bytes = [UInt8](data)
        guard bytes.count > magic.count + 4, Array(bytes[0..<magic.count]) == magic else { return false }
        var index = magic.count
        let length = bytes[index..<index + 4].reduce(0) { ($0 << 8) | Int($1) }
        index += 4
        guard length > 0, index + length <= bytes.count else { return false }
        return String(decoding: bytes[index..<index + length], as: UTF8.self) != "none"
    }

    /// The public-key blob from `path.pub`, when that file exists.
    static func publicBlob(forPrivateKey path: String) -> [UInt8]? {
        guard let text = try? String(contentsOfFile: path + ".pub", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let data = Data(base64Encoded: String(fields[1])) else { return nil }
        return [UInt8](data)
    }
}

extension RawSession {
    /// Attempts per connection. OpenSSH's default MaxAuthTries is 6 and it disconnects when it is
    /// reached; five leaves room for the server's own counting of the "none" probe.
    static let attemptsPerConnection = 5

    /// Builds the ordered candidate list. Agent keys matching configured key files come first
    /// (they are the ones meant to work, and the agent holds them decrypted), then key files,
    /// then other agent keys, then the password.
    func authCandidates(configuration: SSHConfiguration, agentKeys: [(blob: [UInt8], comment: String)])
        -> [AuthCandidate]
    {
        let fileBlobs = configuration.identityFiles.compactMap(PrivateKeyFile.publicBlob(forPrivateKey:))
        var candidates: [AuthCandidate] = []
        let preferredAgent = agentKeys.filter { fileBlobs.contains($0.blob) }
        candidates += preferredAgent.map { .agentKey(blob: $0.blob, comment: $0.comment) }
        candidates += configuration.identityFiles.map { .keyFile(path: $0) }
        candidates += agentKeys.filter { !fileBlobs.contains($0.blob) }.map {
            .agentKey(blob: $0.blob, comment: $0.comment)
        }
        if configuration.password != .none { candidates.append(.password) }
        return candidates
    }

    /// Lists the agent's identities (empty when there is no agent). Uses a throwaway agent
    /// handle bound to this session; the blobs identify keys across reconnections.
    func agentIdentities(configuration: SSHConfiguration) -> [(blob: [UInt8], comment: String)] {
        guard configuration.useAgent, let session else { return [] }
        let socketPath = configuration.agentSocket ?? configuration.environment["SSH_AUTH_SOCK"]
        guard let socketPath, !socketPath.isEmpty else { return [] }
        return withAgent(session: session, socketPath: socketPath) { agent in
            var keys: [(blob: [UInt8], comment: String)] = []
            var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
            while true {
                var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
                guard libssh2_agent_get_identity(agent, &identity, previous) == 0, let identity else { break }
                let blob = [UInt8](UnsafeBufferPointer(start: identity.pointee.blob, count: identity.pointee.blob_len))
                let comment = identity.pointee.comment.map { String(cString: $0) } ?? ""
                keys.append((blob, comment))
                previous = identity
            }
            return keys
        } ?? []
    }

    private func withAgent<T>(session: OpaquePointer, socketPath: String, _ body: (OpaquePointer) -> T?) -> T? {
        guard let agent = libssh2_agent_init(session) else { return nil }
        defer { libssh2_agent_free(agent) }
        libssh2_agent_set_identity_path(agent, socketPath)
        guard libssh2_agent_connect(agent) == 0 else { return nil }
        defer { libssh2_agent_disconnect(agent) }
        guard libssh2_agent_list_identities(agent) == 0 else { return nil }
        return body(agent)
    }

    /// Tries candidates from `start`, at most `attemptsPerConnection` on this connection.
    func authenticate(
        configuration: SSHConfiguration, candidates: [AuthCandidate], start: Int,
        tried: inout [String], deadline: ContinuousClock.Instant
    ) throws -> AuthRound {
        guard let session else { throw SSHError.sessionClosed(host: label) }
        let user = configuration.user

        // Ask which methods the server takes (this also sends the "none" probe).
        let methods: String
        do {
            let list: UnsafeMutablePointer<CChar>? = try user.withCString { userPtr in
                try retryPointerOrAuthenticated(deadline: deadline) {
                    libssh2_userauth_list(session, userPtr, UInt32(user.utf8.count))
                }
            }
            guard let list else { return .authenticated(method: "none") }
            methods = String(cString: list)
        } catch is Timeout {
            throw SSHError.connectTimedOut(
                host: label, port: configuration.port, seconds: configuration.connectTimeout.seconds)
        } catch let failure as LibSSH2Failure {
            throw SSHError.authenticationFailed(host: label, user: user, tried: tried, message: failure.message)
        }
        let acceptsKeys = methods.split(separator: ",").contains("publickey")
        let acceptsPassword = methods.split(separator: ",").contains("password")

        var attempts = 0
        var index = start
        var lastMessage = "no candidate was accepted (server offers: \(methods))"
        var lockedKey: String?
        while index < candidates.count {
            let candidate = candidates[index]
            if attempts == Self.attemptsPerConnection { return .needsNewConnection(next: index) }
            index += 1
            switch candidate {
            case .keyFile(let path):
                guard acceptsKeys else { continue }
                guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                    // A missing default key is normal; a named one that cannot be read is an error.
                    if FileManager.default.fileExists(atPath: path) {
                        throw SSHError.keyUnreadable(host: label, path: path, message: "cannot read the file")
                    }
                    continue
                }
                var passphrase: String?
                if PrivateKeyFile.isEncrypted(contents: contents) {
                    passphrase = configuration.passphrase.resolve(environment: configuration.environment)
                    if passphrase == nil {
                        // The agent may still hold it decrypted: go on, and say so if nothing works.
                        lockedKey = path
                        continue
                    }
                }
                attempts += 1
                tried.append(candidate.description)
                let rc: Int32
                if passphrase == nil, let rsa = try? RSASHA2.loadKey(contents: contents) {
                    rc = authenticateRSASHA2(
                        user: user, publicBlob: rsa.publicBlob, signer: rsa.signer, deadline: deadline)
                } else {
                    rc = user.withCString { userPtr in
                        path.withCString { pathPtr in
                            retryRaw(deadline: deadline) {
                                libssh2_userauth_publickey_fromfile_ex(
                                    session, userPtr, UInt32(user.utf8.count), nil, pathPtr, passphrase)
                            }
                        }
                    }
                }
                if rc == 0 { return .authenticated(method: candidate.description) }
                if rc == LIBSSH2_ERROR_FILE {
                    throw SSHError.keyUnreadable(
                        host: label, path: path,
                        message: passphrase == nil
                            ? "not a private key libssh2 can read"
                            : "wrong passphrase, or a key format libssh2 cannot read")
                }
                if try disconnected(rc: rc, configuration: configuration, tried: tried) {
                    return .needsNewConnection(next: index)
                }
                lastMessage = LibSSH2.describe(rc)
            case .agentKey(let blob, _):
                guard acceptsKeys else { continue }
                let socketPath = configuration.agentSocket ?? configuration.environment["SSH_AUTH_SOCK"] ?? ""
                attempts += 1
                tried.append(candidate.description)
                let rc =
                    withAgent(session: session, socketPath: socketPath) { agent -> Int32 in
                        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
                        while true {
                            var identity: UnsafeMutablePointer<libssh2_agent_publickey>?
                            guard libssh2_agent_get_identity(agent, &identity, previous) == 0, let identity else {
                                return LIBSSH2_ERROR_AUTHENTICATION_FAILED
                            }
                            let candidateBlob = [UInt8](
                                UnsafeBufferPointer(start: identity.pointee.blob, count: identity.pointee.blob_len))
                            if candidateBlob == blob {
                                if RSASHA2.isRSABlob(blob) {
                                    return authenticateRSASHA2(
                                        user: user, publicBlob: blob,
                                        signer: .agent(socketPath: socketPath, blob: blob), deadline: deadline)
                                }
                                return user.withCString { userPtr in
                                    retryRaw(deadline: deadline) { libssh2_agent_userauth(agent, userPtr, identity) }
                                }
                            }
                            previous = identity
                        }
                    } ?? LIBSSH2_ERROR_AGENT_PROTOCOL
                if rc == 0 { return .authenticated(method: candidate.description) }
                if try disconnected(rc: rc, configuration: configuration, tried: tried) {
                    return .needsNewConnection(next: index)
                }
                lastMessage = LibSSH2.describe(rc)
            case .password:
                guard acceptsPassword,
                    let password = configuration.password.resolve(environment: configuration.environment)
                else { continue }
                attempts += 1
                tried.append(candidate.description)
                let rc = user.withCString { userPtr in
                    password.withCString { passwordPtr in
                        retryRaw(deadline: deadline) {
                            libssh2_userauth_password_ex(
                                session, userPtr, UInt32(user.utf8.count), passwordPtr, UInt32(password.utf8.count), nil
                            )
                        }
                    }
                }
                if rc == 0 { return .authenticated(method: "password") }
                if try disconnected(rc: rc, configuration: configuration, tried: tried) {
                    return .needsNewConnection(next: index)
                }
                lastMessage = LibSSH2.describe(rc)
            }
        }
        if let lockedKey {
            throw SSHError.passphraseRequired(host: label, path: lockedKey)
        }
        if tried.isEmpty {
            throw SSHError.authenticationFailed(
                host: label, user: user, tried: [],
                message: "no key, agent identity or password to offer (server offers: \(methods))")
        }
        throw SSHError.authenticationFailed(host: label, user: user, tried: tried, message: lastMessage)
    }

    /// After a failed attempt: a refusal is normal (try the next), a dropped connection means
    /// the server stopped counting us as welcome (reconnect), anything else is an error.
    private func disconnected(rc: Int32, configuration: SSHConfiguration, tried: [String]) throws -> Bool {
        switch rc {
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED, LIBSSH2_ERROR_AGENT_PROTOCOL:
            return false
        case LIBSSH2_ERROR_TIMEOUT, LIBSSH2_ERROR_EAGAIN:
            throw SSHError.connectTimedOut(
                host: label, port: configuration.port, seconds: configuration.connectTimeout.seconds)
        case LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_SEND:
            return true
        default:
            throw SSHError.authenticationFailed(
                host: label, user: configuration.user, tried: tried, message: LibSSH2.lastError(session).message)
        }
    }

    /// Like `retry`, but returns libssh2's negative codes instead of throwing, and reports a
    /// passed deadline as LIBSSH2_ERROR_TIMEOUT.
    func retryRaw(deadline: ContinuousClock.Instant, _ body: () -> Int32) -> Int32 {
        while true {
            let rc = body()
            guard rc == LIBSSH2_ERROR_EAGAIN else { return rc }
            do { try waitForSocket(deadline: deadline) } catch { return LIBSSH2_ERROR_TIMEOUT }
        }
    }

    /// `libssh2_userauth_list` returns NULL both for EAGAIN and when "none" authentication
    /// succeeded; tell them apart.
    private func retryPointerOrAuthenticated(
        deadline: ContinuousClock.Instant, _ body: () -> UnsafeMutablePointer<CChar>?
    ) throws -> UnsafeMutablePointer<CChar>? {
        while true {
            if let value = body() { return value }
            if let session, libssh2_userauth_authenticated(session) != 0 { return nil }
            let (code, message) = LibSSH2.lastError(session)
            if code == LIBSSH2_ERROR_EAGAIN {
                try waitForSocket(deadline: deadline)
                continue
            }
            throw LibSSH2Failure(code: code, message: message)
        }
    }
}

extension Duration {
    /// Seconds as a Double, for messages.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
