import CLibSSH2
import CairnCore
import Foundation

/// A libssh2 session and its socket, used only from its `SessionWorker` thread.
///
/// The session runs in non-blocking mode: every libssh2 call that would block returns EAGAIN,
/// and `waitForSocket` then sleeps in `poll` until the socket is ready, the deadline passes or a
/// keepalive is due. That keeps deadlines exact (a dead link times out instead of hanging) and
/// keepalives flowing during long commands.
final class RawSession: @unchecked Sendable {
    let label: String
    private(set) var session: OpaquePointer?
    private(set) var socket: Int32 = -1
    private var keepaliveInterval: Int = 15
    /// Keepalives are global requests; sending one before authentication completes breaks the
    /// key exchange, so they start only once the session is established.
    var keepalivesEnabled = false

    init(label: String) {
        self.label = label
    }

    deinit {
        shutdown()
    }

    struct Timeout: Error {}

    // MARK: Transport

    /// Opens a TCP connection with a deadline.
    static func connectTCP(host: String, port: Int, label: String, deadline: ContinuousClock.Instant) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw SSHError.resolveFailed(host: label, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(result) }

        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let fd = Foundation.socket(
                info.pointee.ai_family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            if fd < 0 {
                lastError = String(cString: strerror(errno))
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if Foundation.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                return fd
            }
            guard errno == EINPROGRESS else {
                lastError = String(cString: strerror(errno))
                close(fd)
                continue
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let remaining = max(0, Self.milliseconds(until: deadline))
            let ready = poll(&pfd, 1, Int32(min(remaining, Int(Int32.max))))
            if ready == 0 {
                close(fd)
                throw SSHError.connectTimedOut(host: label, port: port, seconds: 0)
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            if ready > 0 && soError == 0 { return fd }
            lastError = String(cString: strerror(soError != 0 ? soError : errno))
            close(fd)
        }
        throw SSHError.connectFailed(host: label, port: port, reason: lastError)
    }

    static func milliseconds(until deadline: ContinuousClock.Instant) -> Int {
        let remaining = ContinuousClock.now.duration(to: deadline)
        let (seconds, attoseconds) = remaining.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    /// Starts SSH on `fd` (a TCP socket, or one end of a tunnel through a bastion).
    func handshake(fd: Int32, preferredHostKeys: String, keepalive: Int, deadline: ContinuousClock.Instant) throws {
        LibSSH2.ensureInitialised()
        socket = fd
        keepaliveInterval = keepalive
        guard let session = libssh2_session_init_ex(nil, nil, nil, nil) else {
            throw SSHError.handshakeFailed(host: label, message: "libssh2 could not allocate a session")
        }
        self.session = session
        libssh2_session_set_blocking(session, 0)
        _ = preferredHostKeys.withCString { libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY, $0) }
        libssh2_keepalive_config(session, 1, UInt32(keepalive))
        do {
            try retry(deadline: deadline) { libssh2_session_handshake(session, fd) }
        } catch is Timeout {
            throw SSHError.handshakeFailed(host: label, message: "no answer within the connect timeout")
        } catch let error as LibSSH2Failure {
            throw SSHError.handshakeFailed(host: label, message: error.message)
        }
    }

    /// The server's host key, its libssh2 type and its OpenSSH fingerprint.
    func hostKey() -> (key: [UInt8], type: Int32, fingerprint: String)? {
        guard let session else { return nil }
        var length = 0
        var type: Int32 = 0
        guard let pointer = libssh2_session_hostkey(session, &length, &type), length > 0 else { return nil }
        let key = [UInt8](UnsafeRawBufferPointer(start: pointer, count: length))
        var fingerprint = "unknown"
        if let hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256) {
            let bytes = [UInt8](UnsafeRawBufferPointer(start: hash, count: 32))
            fingerprint = openSSHFingerprint(bytes)
        }
        return (key, type, fingerprint)
    }

    func shutdown() {
        if let session {
            // Best effort and bounded: a dead peer must not hold us here.
            let deadline = ContinuousClock.now.advanced(by: .milliseconds(500))
            _ = try? retry(deadline: deadline) {
                libssh2_session_disconnect_ex(session, SSH_DISCONNECT_BY_APPLICATION, "bye", "")
            }
            libssh2_session_free(session)
            self.session = nil
            keepalivesEnabled = false
        }
        if socket >= 0 {
            close(socket)
            socket = -1
        }
    }

    // MARK: Waiting

    struct LibSSH2Failure: Error {
        let code: Int32
        let message: String
    }

    /// Sleeps until the socket is ready in the direction libssh2 is blocked on, the deadline
    /// passes (throws `Timeout`) or a keepalive is due.
    func waitForSocket(deadline: ContinuousClock.Instant) throws {
        guard let session else { throw LibSSH2Failure(code: LIBSSH2_ERROR_SOCKET_NONE, message: "session closed") }
        var secondsToNext: Int32 = 0
        if keepalivesEnabled { _ = libssh2_keepalive_send(session, &secondsToNext) }
        let directions = libssh2_session_block_directions(session)
        var events: Int16 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        var remaining = Self.milliseconds(until: deadline)
        if remaining <= 0 { throw Timeout() }
        if secondsToNext > 0 { remaining = min(remaining, Int(secondsToNext) * 1000) }
        var pfd = pollfd(fd: socket, events: events, revents: 0)
        _ = poll(&pfd, 1, Int32(min(remaining, Int(Int32.max))))
        if ContinuousClock.now >= deadline { throw Timeout() }
    }

    /// Calls `body` until it stops returning EAGAIN. Negative results become `LibSSH2Failure`.
    @discardableResult
    func retry(deadline: ContinuousClock.Instant, _ body: () -> Int32) throws -> Int32 {
        while true {
            let rc = body()
            if rc == LIBSSH2_ERROR_EAGAIN {
                try waitForSocket(deadline: deadline)
                continue
            }
            if rc < 0 {
                throw LibSSH2Failure(code: rc, message: LibSSH2.lastError(session).message)
            }
            return rc
        }
    }

    /// The same for calls that return a pointer and signal EAGAIN through the session's last error.
    func retryPointer<T>(deadline: ContinuousClock.Instant, _ body: () -> T?) throws -> T {
        while true {
            if let value = body() { return value }
            let (code, message) = LibSSH2.lastError(session)
            if code == LIBSSH2_ERROR_EAGAIN {
                try waitForSocket(deadline: deadline)
                continue
            }
            throw LibSSH2Failure(code: code, message: message)
        }
    }

    // MARK: Channels

    /// Opens a session channel and starts `commandLine` on it.
    func openExec(_ commandLine: String, deadline: ContinuousClock.Instant) throws -> Channel {
        guard let session else { throw LibSSH2Failure(code: LIBSSH2_ERROR_SOCKET_NONE, message: "session closed") }
        let pointer = try retryPointer(deadline: deadline) {
            libssh2_channel_open_ex(session, "session", 7, 2 * 1024 * 1024, 32768, nil, 0)
        }
        let channel = Channel(owner: self, pointer: pointer)
        do {
            _ = try commandLine.withCString { command in
                try retry(deadline: deadline) {
                    libssh2_channel_process_startup(pointer, "exec", 4, command, UInt32(strlen(command)))
                }
            }
        } catch {
            channel.free(deadline: deadline)
            throw error
        }
        return channel
    }

    /// Opens a `direct-tcpip` channel from this (bastion) session to `host:port`.
    func openDirectTCPIP(host: String, port: Int, deadline: ContinuousClock.Instant) throws -> Channel {
        guard let session else { throw LibSSH2Failure(code: LIBSSH2_ERROR_SOCKET_NONE, message: "session closed") }
        let pointer = try retryPointer(deadline: deadline) {
            libssh2_channel_direct_tcpip_ex(session, host, Int32(port), "127.0.0.1", 22)
        }
        return Channel(owner: self, pointer: pointer)
    }

    /// One open channel. Every method runs on the session's thread.
    final class Channel {
        unowned let owner: RawSession
        let pointer: OpaquePointer
        var stdout = Data()
        var stderr = Data()
        private var eofSent = false
        private var freed = false
        private var buffer = [UInt8](repeating: 0, count: 32768)

        init(owner: RawSession, pointer: OpaquePointer) {
            self.owner = owner
            self.pointer = pointer
        }

        /// Reads whatever is available on both streams; true when something was read.
        /// Both streams are drained every time: a full stderr window would otherwise stall stdout.
        func readAvailable() throws -> Bool {
            var progress = false
            for stream: Int32 in [0, SSH_EXTENDED_DATA_STDERR] {
                while true {
                    let n = buffer.withUnsafeMutableBytes { raw in
                        libssh2_channel_read_ex(
                            pointer, stream, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
                    }
                    if n > 0 {
                        if stream == 0 {
                            stdout.append(contentsOf: buffer[0..<n])
                        } else {
                            stderr.append(contentsOf: buffer[0..<n])
                        }
                        progress = true
                        continue
                    }
                    if n == Int(LIBSSH2_ERROR_EAGAIN) || n == 0 { break }
                    throw LibSSH2Failure(code: Int32(n), message: LibSSH2.lastError(owner.session).message)
                }
            }
            return progress
        }

        var atEOF: Bool { libssh2_channel_eof(pointer) != 0 }

        /// Writes all of `data` to stdin, reading output meanwhile so neither side stalls.
        func writeAll(_ data: Data, deadline: ContinuousClock.Instant) throws {
            var offset = 0
            let total = data.count
            while offset < total {
                let n = data.withUnsafeBytes { raw -> Int in
                    let base = raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self)
                    return libssh2_channel_write_ex(pointer, 0, base, min(32768, total - offset))
                }
                if n > 0 {
                    offset += n
                    continue
                }
                if n == Int(LIBSSH2_ERROR_EAGAIN) {
                    if try !readAvailable() {
                        if atEOF {
                            throw LibSSH2Failure(
                                code: LIBSSH2_ERROR_CHANNEL_EOF_SENT,
                                message: "the remote command closed its input early")
                        }
                        try owner.waitForSocket(deadline: deadline)
                    }
                    continue
                }
                throw LibSSH2Failure(code: Int32(n), message: LibSSH2.lastError(owner.session).message)
            }
        }

        func sendEOF(deadline: ContinuousClock.Instant) throws {
            guard !eofSent else { return }
            try owner.retry(deadline: deadline) { libssh2_channel_send_eof(pointer) }
            eofSent = true
        }

        /// Reads stdout until it holds a newline (for small handshakes with remote scripts).
        func readLine(deadline: ContinuousClock.Instant) throws -> String? {
            while true {
                if let newline = stdout.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: stdout[stdout.startIndex..<newline], as: UTF8.self)
                    stdout.removeSubrange(stdout.startIndex...newline)
                    return line
                }
                if try readAvailable() { continue }
                if atEOF { return nil }
                try owner.waitForSocket(deadline: deadline)
            }
        }

        /// Reads to the end, closes the channel and collects the exit status and signal.
        func finish(deadline: ContinuousClock.Instant, started: ContinuousClock.Instant) throws -> CommandOutput {
            try sendEOF(deadline: deadline)
            while true {
                if try readAvailable() { continue }
                if atEOF { break }
                try owner.waitForSocket(deadline: deadline)
            }
            try owner.retry(deadline: deadline) { libssh2_channel_close(pointer) }
            try owner.retry(deadline: deadline) { libssh2_channel_wait_closed(pointer) }
            _ = try readAvailable()
            let status = libssh2_channel_get_exit_status(pointer)
            var signalName: UnsafeMutablePointer<CChar>?
            var signalLength = 0
            _ = libssh2_channel_get_exit_signal(pointer, &signalName, &signalLength, nil, nil, nil, nil)
            var signal: String?
            if let signalName {
                if signalLength > 0 {
                    signal = String(
                        decoding: UnsafeRawBufferPointer(start: signalName, count: signalLength), as: UTF8.self)
                }
                libssh2_free(owner.session, signalName)
            }
            free(deadline: deadline)
            return CommandOutput(
                stdout: stdout, stderr: stderr, exitStatus: status, exitSignal: signal,
                duration: started.duration(to: .now))
        }

        func free(deadline: ContinuousClock.Instant) {
            guard !freed else { return }
            freed = true
            _ = try? owner.retry(deadline: deadline) { libssh2_channel_free(pointer) }
        }

        /// Abandons the channel after a timeout, bounded by a short deadline of its own.
        func abandon() {
            let deadline = ContinuousClock.now.advanced(by: .seconds(1))
            _ = try? owner.retry(deadline: deadline) { libssh2_channel_close(pointer) }
            free(deadline: deadline)
        }
    }
}
