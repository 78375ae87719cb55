import CLibSSH2
import CairnCore
import Foundation
import Logging

/// One authenticated SSH connection to one host, reused for every command and upload of a run.
///
/// All libssh2 work happens on the session's own thread (`SessionWorker`), one operation at a
/// time; callers simply `await`. A session that lost its connection reports `sessionClosed`
/// from then on; the `SSHConnectionPool` decides whether to reconnect.
public final class SSHSession: Sendable {
    public let configuration: SSHConfiguration
    /// Whether commands are wrapped in `sudo -n` (the login user is not root).
    public let usesSudo: Bool
    /// How authentication succeeded ("key /path", "agent key …", "password").
    public let authenticatedWith: String
    /// TCP connections this session needed (more than one only when authentication had to
    /// continue on a fresh connection to stay under the server's MaxAuthTries).
    public let connectionsOpened: Int
    /// Whether the host key was newly recorded (accept-new) on this connection.
    public let hostKeyRecorded: Bool

    private let worker: SessionWorker
    private let raw: RawSession
    private let state: SessionState
    /// Keeps the bastion session (and its tunnel) alive as long as this one.
    private let bastion: SSHSession?
    private let logger: Logger

    private init(
        configuration: SSHConfiguration, usesSudo: Bool, authenticatedWith: String, connectionsOpened: Int,
        hostKeyRecorded: Bool, worker: SessionWorker, raw: RawSession, bastion: SSHSession?, logger: Logger
    ) {
        self.configuration = configuration
        self.usesSudo = usesSudo
        self.authenticatedWith = authenticatedWith
        self.connectionsOpened = connectionsOpened
        self.hostKeyRecorded = hostKeyRecorded
        self.worker = worker
        self.raw = raw
        self.state = SessionState()
        self.bastion = bastion
        self.logger = logger
    }

    deinit {
        let raw = self.raw
        worker.enqueue { raw.shutdown() }
        worker.finish()
    }

    // MARK: Connecting

    /// Connects, verifies the host key, authenticates and detects sudo.
    public static func connect(
        _ configuration: SSHConfiguration,
        knownHosts: KnownHostsStore,
        logger: Logger = Logger(label: "cairn.ssh")
    ) async throws -> SSHSession {
        var logger = logger
        logger[metadataKey: "host"] = "\(configuration.label)"
        let worker = SessionWorker(name: configuration.label)
        let bastionSession: SSHSession?
        if let bastion = configuration.bastion?.configuration {
            do {
                bastionSession = try await SSHSession.connect(bastion, knownHosts: knownHosts, logger: logger)
            } catch let error as SSHError {
                worker.finish()
                throw SSHError.bastionFailed(host: configuration.label, bastion: bastion.label, message: error.summary)
            }
        } else {
            bastionSession = nil
        }

        let raw = RawSession(label: configuration.label)
        do {
            // At most ConnectGate.shared.limit handshakes at once (see ConnectGate).
            let outcome = try await ConnectGate.shared.withSlot {
                try await worker.run { () -> ConnectOutcome in
                    try Self.establish(
                        raw: raw, configuration: configuration, knownHosts: knownHosts,
                        openSocket: { deadline in
                            if let bastionSession {
                                return try bastionSession.openTunnelBlocking(
                                    to: configuration.address, port: configuration.port,
                                    label: configuration.label, deadline: deadline)
                            }
                            return try RawSession.connectTCP(
                                host: configuration.address, port: configuration.port,
                                label: configuration.label, deadline: deadline)
                        })
                }
            }
            if configuration.hostKeyMode == .off {
                logger.warning("host-key checking is off: the identity of this host is not verified")
            }
            if outcome.recorded {
                logger.info(
                    "recorded new host key",
                    metadata: ["fingerprint": "\(outcome.fingerprint)", "file": "\(knownHosts.path)"])
            }
            return SSHSession(
                configuration: configuration, usesSudo: outcome.usesSudo, authenticatedWith: outcome.method,
                connectionsOpened: outcome.connections, hostKeyRecorded: outcome.recorded,
                worker: worker, raw: raw, bastion: bastionSession, logger: logger)
        } catch {
            worker.enqueue { raw.shutdown() }
            worker.finish()
            throw error
        }
    }

    struct ConnectOutcome: Sendable {
        var method: String
        var usesSudo: Bool
        var connections: Int
        var recorded: Bool
        var fingerprint: String
    }

    /// Runs on the worker thread: socket, handshake, host key, authentication (over as many
    /// connections as MaxAuthTries requires), sudo detection.
    private static func establish(
        raw: RawSession, configuration: SSHConfiguration, knownHosts: KnownHostsStore,
        openSocket: (ContinuousClock.Instant) throws -> Int32
    ) throws -> ConnectOutcome {
        let label = configuration.label
        var connections = 0
        var start = 0
        var candidates: [AuthCandidate]?
        var tried: [String] = []
        var recorded = false
        var fingerprint = ""
        while true {
            let deadline = ContinuousClock.now.advanced(by: configuration.connectTimeout)
            var fd: Int32
            do {
                fd = try openSocket(deadline)
            } catch let error as SSHError {
                if case .connectTimedOut(let h, let p, _) = error {
                    throw SSHError.connectTimedOut(host: h, port: p, seconds: configuration.connectTimeout.seconds)
                }
                throw error
            }
            connections += 1
            try raw.handshake(
                fd: fd,
                preferredHostKeys: knownHosts.preferredAlgorithms(
                    host: configuration.address, port: configuration.port),
                keepalive: configuration.keepaliveInterval, deadline: deadline)
            guard let hostKey = raw.hostKey(), let session = raw.session else {
                throw SSHError.handshakeFailed(host: label, message: "the server presented no host key")
            }
            fingerprint = hostKey.fingerprint
            let verdict = try hostKey.key.withUnsafeBytes { keyBytes in
                try knownHosts.verify(
                    session: session, label: label, host: configuration.address, port: configuration.port,
                    key: keyBytes, keyType: hostKey.type, fingerprint: hostKey.fingerprint,
                    mode: configuration.hostKeyMode)
            }
            recorded = recorded || verdict == .recorded

            if candidates == nil {
                candidates = raw.authCandidates(
                    configuration: configuration,
                    agentKeys: raw.agentIdentities(configuration: configuration))
            }
            switch try raw.authenticate(
                configuration: configuration, candidates: candidates!, start: start,
                tried: &tried, deadline: deadline)
            {
            case .authenticated(let method):
                raw.keepalivesEnabled = true
                let usesSudo = try detectSudo(raw: raw, configuration: configuration, deadline: deadline)
                return ConnectOutcome(
                    method: method, usesSudo: usesSudo, connections: connections,
                    recorded: recorded, fingerprint: fingerprint)
            case .needsNewConnection(let next):
                raw.shutdown()
                start = next
            case .exhausted:
                throw SSHError.authenticationFailed(
                    host: label, user: configuration.user, tried: tried, message: "no candidate was accepted")
            }
        }
    }

    /// Decides whether commands need `sudo -n`, in at most one round trip (none for root).
    private static func detectSudo(raw: RawSession, configuration: SSHConfiguration, deadline: ContinuousClock.Instant)
        throws -> Bool
    {
        switch configuration.sudo {
        case .never: return false
        case .auto where configuration.user == "root": return false
        case .auto, .always: break
        }
        let probe = RemoteCommand.script(.cairnSudoProbe, arguments: [configuration.sudo.rawValue])
        let output: CommandOutput
        do {
            let channel = try raw.openExec(probe.rendered, deadline: deadline)
            output = try channel.finish(deadline: deadline, started: .now)
        } catch {
            throw SSHError.channelFailed(host: configuration.label, operation: "detecting sudo", message: "\(error)")
        }
        let answer = output.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        if answer == "root" { return false }
        if answer == "sudo" { return true }
        if answer == "nosudo" {
            throw SSHError.sudoUnavailable(
                host: configuration.label, user: configuration.user, message: "sudo is not installed")
        }
        if answer.contains("password is required") || answer.contains("a terminal is required") {
            throw SSHError.sudoRequiresPassword(host: configuration.label, user: configuration.user)
        }
        throw SSHError.sudoUnavailable(
            host: configuration.label, user: configuration.user,
            message: String(answer.dropFirst("denied ".count)))
    }

    // MARK: Commands

    /// Runs `command` and returns its output, whatever its exit status.
    /// Throws for transport failures and for the command not finishing within `timeout`.
    public func run(_ command: RemoteCommand, stdin: Data? = nil, timeout: Duration? = nil) async throws
        -> CommandOutput
    {
        let label = configuration.label
        guard !command.containsNUL else {
            throw SSHError.invalidCommand(host: label, reason: "an argument contains a NUL byte")
        }
        let line = usesSudo ? command.renderedWithSudo : command.rendered
        let limit = timeout ?? configuration.commandTimeout
        let raw = self.raw
        let state = self.state
        let description = command.description
        logger.debug("run", metadata: ["command": "\(description)"])
        return try await worker.run {
            try state.checkOpen(label)
            let started = ContinuousClock.now
            let deadline = started.advanced(by: limit)
            var channel: RawSession.Channel?
            do {
                channel = try raw.openExec(line, deadline: deadline)
                if let stdin { try channel!.writeAll(stdin, deadline: deadline) }
                return try channel!.finish(deadline: deadline, started: started)
            } catch is RawSession.Timeout {
                channel?.abandon()
                throw SSHError.commandTimedOut(host: label, command: description, seconds: limit.seconds)
            } catch let failure as RawSession.LibSSH2Failure {
                channel?.free(deadline: .now.advanced(by: .seconds(1)))
                if state.markClosedIfDisconnected(failure.code) { throw SSHError.sessionClosed(host: label) }
                throw SSHError.channelFailed(host: label, operation: "running \(description)", message: failure.message)
            }
        }
    }

    /// Runs `command` and throws `CommandFailure` unless it exited 0 without a signal.
    @discardableResult
    public func runChecked(_ command: RemoteCommand, stdin: Data? = nil, timeout: Duration? = nil) async throws
        -> CommandOutput
    {
        let output = try await run(command, stdin: stdin, timeout: timeout)
        guard output.succeeded else {
            throw CommandFailure(host: configuration.label, command: command.description, output: output)
        }
        return output
    }

    // MARK: Files

    /// The remote half of `upload`: skip when the content (and mode, owner) already match;
    /// otherwise stream into a temporary file in the same directory, fsync, set mode and owner,
    /// verify the checksum, rename over the target and fsync the directory.

    /// Uploads `data` to `path` atomically; a reader never sees a partial file.
    /// `mode` is octal digits as `chmod` takes them ("644"); `owner` is "user:group" or nil.
    @discardableResult
    public func upload(
        _ data: Data, to path: String, mode: String = "644", owner: String? = nil,
        timeout: Duration? = nil
    ) async throws -> UploadOutcome {
        let label = configuration.label
        let checksum = SHA256Digest.hex(of: data)
        let command = RemoteCommand.script(.cairnUpload, arguments: [path, mode, owner ?? "", checksum])
        guard !command.containsNUL else {
            throw SSHError.invalidCommand(host: label, reason: "the path contains a NUL byte")
        }
        let line = usesSudo ? command.renderedWithSudo : command.rendered
        let limit = timeout ?? configuration.commandTimeout
        let raw = self.raw
        let state = self.state
        return try await worker.run {
            try state.checkOpen(label)
            let started = ContinuousClock.now
            let deadline = started.advanced(by: limit)
            var channel: RawSession.Channel?
            do {
                channel = try raw.openExec(line, deadline: deadline)
                let first = try channel!.readLine(deadline: deadline)
                switch first {
                case "unchanged", "metadata":
                    let output = try channel!.finish(deadline: deadline, started: started)
                    guard output.succeeded else { throw UploadScriptFailure(output: output) }
                    return first == "unchanged" ? .unchanged : .metadataUpdated
                case "ready":
                    try channel!.writeAll(data, deadline: deadline)
                    let output = try channel!.finish(deadline: deadline, started: started)
                    guard output.succeeded, output.stdoutText.hasSuffix("written\n") else {
                        throw UploadScriptFailure(output: output)
                    }
                    return .written
                default:
                    let output = try channel!.finish(deadline: deadline, started: started)
                    throw UploadScriptFailure(output: output)
                }
            } catch is RawSession.Timeout {
                channel?.abandon()
                throw SSHError.commandTimedOut(host: label, command: "upload of \(path)", seconds: limit.seconds)
            } catch let failure as UploadScriptFailure {
                let reason = failure.output.stderrTail(lines: 3).joined(separator: " / ")
                throw SSHError.uploadFailed(
                    host: label, path: path, message: reason.isEmpty ? failure.output.statusDescription : reason)
            } catch let failure as RawSession.LibSSH2Failure {
                channel?.free(deadline: .now.advanced(by: .seconds(1)))
                if state.markClosedIfDisconnected(failure.code) { throw SSHError.sessionClosed(host: label) }
                throw SSHError.uploadFailed(host: label, path: path, message: failure.message)
            }
        }
    }

    struct UploadScriptFailure: Error {
        let output: CommandOutput
    }

    /// Reads a remote file.
    public func download(_ path: String, timeout: Duration? = nil) async throws -> Data {
        let output = try await run(RemoteCommand("cat", ["--", path]), timeout: timeout)
        guard output.succeeded else {
            let reason = output.stderrTail(lines: 2).joined(separator: " / ")
            throw SSHError.downloadFailed(
                host: configuration.label, path: path, message: reason.isEmpty ? output.statusDescription : reason)
        }
        return output.stdout
    }

    /// Ends the session (and its bastion's, if any) and its thread.
    public func close() async {
        let raw = self.raw
        let state = self.state
        _ = try? await worker.run {
            state.markClosed()
            raw.shutdown()
        }
        worker.finish()
        await worker.joined()
        await bastion?.close()
    }

    public var isOpen: Bool { state.isOpen }

    // MARK: Tunnels (this session used as a bastion)

    /// Opens a `direct-tcpip` channel to `host:port` and returns a local socket carrying it.
    /// Called from the target session's thread; the channel's pump then occupies this
    /// (bastion) session's thread for as long as the tunnel lives — one bastion connection
    /// per target, as OpenSSH's ProxyJump does.
    func openTunnelBlocking(to host: String, port: Int, label: String, deadline: ContinuousClock.Instant) throws
        -> Int32
    {
        let raw = self.raw
        let bastionLabel = configuration.label
        let result = TunnelHandoff()
        worker.enqueue {
            var fds: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
                result.fail(
                    SSHError.bastionFailed(
                        host: label, bastion: bastionLabel, message: "socketpair: \(String(cString: strerror(errno)))"))
                return
            }
            let channel: RawSession.Channel
            do {
                channel = try raw.openDirectTCPIP(host: host, port: port, deadline: deadline)
            } catch {
                Foundation.close(fds[0])
                Foundation.close(fds[1])
                let message = (error as? RawSession.LibSSH2Failure)?.message ?? "timed out"
                result.fail(SSHError.bastionFailed(host: label, bastion: bastionLabel, message: message))
                return
            }
            result.succeed(fds[1])
            TunnelPump(raw: raw, channel: channel, localFD: fds[0]).run()
        }
        return try result.wait()
    }
}

/// Hands the tunnel's socket from the bastion's thread to the waiting target thread.
private final class TunnelHandoff: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<Int32, SSHError>?

    func succeed(_ fd: Int32) { set(.success(fd)) }
    func fail(_ error: SSHError) { set(.failure(error)) }

    private func set(_ value: Result<Int32, SSHError>) {
        condition.lock()
        result = value
        condition.signal()
        condition.unlock()
    }

    func wait() throws -> Int32 {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return try result!.get()
    }
}

/// Whether a session may still be used. Shared between the async side and the worker thread.
final class SessionState: @unchecked Sendable {
    private let lock = NSLock()
    private var open = true

    var isOpen: Bool {
        lock.lock()
        defer { lock.unlock() }
        return open
    }

    func markClosed() {
        lock.lock()
        open = false
        lock.unlock()
    }

    func checkOpen(_ label: String) throws {
        guard isOpen else { throw SSHError.sessionClosed(host: label) }
    }

    /// Socket-level failures mean the connection is gone; mark it so the pool reconnects.
    func markClosedIfDisconnected(_ code: Int32) -> Bool {
        switch code {
        case LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_SEND,
            LIBSSH2_ERROR_SOCKET_NONE, LIBSSH2_ERROR_BAD_SOCKET:
            markClosed()
            return true
        default:
            return false
        }
    }
}
