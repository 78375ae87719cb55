import CairnCore
import CairnTesting
import Foundation
import Testing

@testable import CairnSSH

/// The lab used by the transport tests: three hosts on the main subnet, one behind a bastion.
enum TransportLab {
    static let shared: Result<Lab, any Error> = Result { try Lab.up("t-ssh", hosts: 4, isolated: 1) }
    static func get() throws -> Lab { try shared.get() }
}

@Suite(.serialized, .lab, .fastTier, .timeLimit(.minutes(5)))
struct TransportLabTests {
    let lab: Lab
    init() throws { lab = try TransportLab.get() }

    func connect(_ config: SSHConfiguration) async throws -> SSHSession {
        try await SSHSession.connect(config, knownHosts: KnownHostsStore(path: config.knownHostsFile))
    }

    @Test(arguments: ["id_ed25519", "id_rsa", "id_ecdsa"])
    func keyAuthentication(key: String) async throws {
        let session = try await connect(lab.ssh("node1", key: key))
        #expect(session.authenticatedWith.contains(key))
        #expect(!session.usesSudo)
        let output = try await session.run(RemoteCommand("hostname"))
        #expect(output.stdoutText == "node1\n")
        await session.close()
    }

    @Test func passphraseProtectedKeyNeedsItsPassphrase() async throws {
        var config = lab.ssh("node1", key: "id_ed25519_pass")
        await #expect {
            try await connect(config)
        } throws: { error in
            guard case SSHError.passphraseRequired(let host, let path) = error else { return false }
            return host == "node1" && path.hasSuffix("id_ed25519_pass")
                && (error as! SSHError).nextStep!.contains("passphraseEnv")
        }
        config.passphrase = .value("lab-passphrase")
        let session = try await connect(config)
        #expect(try await session.run(RemoteCommand("true")).succeeded)
        await session.close()
        config.passphrase = .value("wrong")
        await #expect(throws: SSHError.self) { try await connect(config) }
    }

    @Test func wrongKeyIsRefusedWithAClearError() async throws {
        await #expect {
            try await connect(lab.ssh("node1", key: "wrong_ed25519"))
        } throws: { error in
            guard let ssh = error as? SSHError, case .authenticationFailed(let host, let user, let tried, _) = ssh
            else { return false }
            return host == "node1" && user == "root" && tried.count == 1 && ssh.exitCode == .unreachable
                && ssh.summary.contains("authentication as root on node1 failed")
        }
    }

    @Test func agentAuthenticationSurvivesManyAgentKeys() async throws {
        let agent = try SSHAgent()
        defer { agent.stop() }
        // Eight keys the host does not know, then the one it does: more than MaxAuthTries (6).
        for index in 0..<8 { try agent.addNewKey(comment: "decoy-\(index)") }
        try agent.add(lab.keys.appendingPathComponent("id_rsa").path)
        let config = lab.ssh("node1", key: "", useAgent: true, agentSocket: agent.socket)
        let session = try await connect(config)
        #expect(session.authenticatedWith.contains("agent key"))
        #expect(session.connectionsOpened == 2, "eight decoys take two connections of five attempts")
        #expect(try await session.run(RemoteCommand("true")).succeeded)
        await session.close()
        // With the key file configured, the matching agent key is tried first: one connection.
        let preferred = try await connect(lab.ssh("node1", key: "id_rsa", useAgent: true, agentSocket: agent.socket))
        #expect(preferred.connectionsOpened == 1)
        #expect(preferred.authenticatedWith.contains("agent key"))
        await preferred.close()
    }

    @Test func acceptNewRecordsAndStrictRefusesUnknownKeys() async throws {
        let knownHosts = Lab.temporaryPath("known_hosts")
        await #expect {
            try await connect(lab.ssh("node2", knownHosts: knownHosts, mode: .strict))
        } throws: { error in
            guard case SSHError.hostKeyUnknown(let host, let fingerprint, _) = error else { return false }
            return host == "node2" && fingerprint.hasPrefix("SHA256:")
        }
        let first = try await connect(lab.ssh("node2", knownHosts: knownHosts, mode: .acceptNew))
        #expect(first.hostKeyRecorded)
        await first.close()
        let recorded = try String(contentsOfFile: knownHosts, encoding: .utf8)
        #expect(recorded.hasPrefix(lab.host("node2").address + " ssh-ed25519 "))
        // The recorded key now satisfies strict mode, and OpenSSH reads the file too.
        let strict = try await connect(lab.ssh("node2", knownHosts: knownHosts, mode: .strict))
        #expect(!strict.hostKeyRecorded)
        await strict.close()
        let sshOutput = try Lab.shell([
            "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=\(knownHosts)",
            "-i", lab.keys.appendingPathComponent("id_ed25519").path, "root@\(lab.host("node2").address)", "hostname",
        ])
        #expect(sshOutput == "node2\n")
    }

    @Test func strictModeAcceptsKnownHostsWrittenByOpenSSHTools() async throws {
        // The lab writes "name,address keytype key" lines with no comment, like ssh-keyscan.
        let session = try await connect(lab.ssh("node1", knownHosts: lab.labKnownHosts, mode: .strict))
        #expect(!session.hostKeyRecorded)
        await session.close()
    }

    @Test func changedHostKeyIsRefusedInEveryModeButOff() async throws {
        let knownHosts = Lab.temporaryPath("known_hosts")
        let first = try await connect(lab.ssh("node3", knownHosts: knownHosts))
        await first.close()
        try lab.fault("node3", "rekey")
        for mode in [HostKeyChecking.strict, .acceptNew] {
            await #expect {
                try await connect(lab.ssh("node3", knownHosts: knownHosts, mode: mode))
            } throws: { error in
                guard let ssh = error as? SSHError, case .hostKeyChanged(let host, _, let file) = ssh else {
                    return false
                }
                return host == "node3" && file == knownHosts && ssh.isFatal && ssh.summary.contains("HAS CHANGED")
            }
        }
        // The file was not changed by the refusals.
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8).split(separator: "\n").count == 1)
        let off = try await connect(lab.ssh("node3", knownHosts: knownHosts, mode: .off))
        #expect(try await off.run(RemoteCommand("true")).succeeded)
        await off.close()
    }

    @Test func stdoutStderrAndExitStatusAreKeptApart() async throws {
        let session = try await connect(lab.ssh("node1"))
        let output = try await session.run(RemoteCommand.script("printf 'out\\n'; printf 'err\\n' >&2; exit 7"))
        #expect(output.stdoutText == "out\n")
        #expect(output.stderrText == "err\n")
        #expect(output.exitStatus == 7)
        #expect(output.exitSignal == nil)
        #expect(!output.succeeded)
        // Binary output and large volumes on both streams at once.
        let big = try await session.run(
            RemoteCommand.script("head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2"))
        #expect(big.stdout.count == 3_000_000)
        #expect(big.stderr.count == 2_000_000)
        // Values that mean something to a shell arrive as data.
        let hostile = "a b'c\"d$(touch /tmp/pwned)`x`;\n\\é"
        let echo = try await session.run(RemoteCommand("printf", ["%s", hostile]))
        #expect(echo.stdoutText == hostile)
        #expect(try await session.run(RemoteCommand("test", ["-e", "/tmp/pwned"])).exitStatus == 1)
        await session.close()
    }

    /// Property: any string (no NUL) passed through ShellQuote to a real shell on a lab host comes
    /// back byte for byte — metacharacters, newlines, quotes, $(), backticks, unicode, long values.
    @Test func randomStringsSurviveTheRemoteShellByteForByte() async throws {
        let session = try await connect(lab.ssh("node1"))
        var generator = SplitMix64(
            seed: UInt64(ProcessInfo.processInfo.environment["CAIRN_QUOTE_SEED"] ?? "") ?? 20_261_121)
        let alphabet = Array("abcXYZ019 \t\n'\"`$(){}[]<>|&;*?~#!%^=+,.:/\\-_éß中🙂\u{7F}\u{1}")
        var sent = 0
        // Many words per command keep the round trips few; each word is a separate argument.
        for _ in 0..<40 {
            var words: [String] = []
            for _ in 0..<25 {
                let length = Int(generator.next() % 40) + (generator.next() % 50 == 0 ? 3000 : 0)
                words.append(String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }))
            }
            let output = try await session.run(
                RemoteCommand.script(
                    "for w in \"$@\"; do printf '%s\\0' \"$w\"; done", name: "echo-words", arguments: words))
            let back = output.stdout.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
                String(decoding: $0, as: UTF8.self)
            }
            #expect(back == words)
            let argv = try await session.run(RemoteCommand("printf", ["%s", words[0]]))
            #expect(argv.stdoutText == words[0])
            sent += words.count + 1
        }
        #expect(sent >= 1000)
        await session.close()
    }

    @Test func aCommandKilledBySignalIsAFailure() async throws {
        let session = try await connect(lab.ssh("node1"))
        let output = try await session.run(RemoteCommand.script("kill -KILL $$"))
        #expect(output.exitSignal == "KILL")
        #expect(!output.succeeded)
        #expect(output.statusDescription == "killed by signal KILL")
        await #expect(throws: CommandFailure.self) {
            try await session.runChecked(RemoteCommand.script("kill -TERM $$"))
        }
        await session.close()
    }

    @Test func commandTimeoutEndsTheCommandAndTheSessionStaysUsable() async throws {
        let session = try await connect(lab.ssh("node1"))
        let started = ContinuousClock.now
        await #expect {
            try await session.run(RemoteCommand("sleep", ["30"]), timeout: .seconds(1))
        } throws: { error in
            guard case SSHError.commandTimedOut(let host, let command, let seconds) = error else { return false }
            return host == "node1" && command == "sleep 30" && seconds == 1
        }
        #expect(started.duration(to: .now) < .seconds(5))
        #expect(try await session.run(RemoteCommand("echo", ["again"])).stdoutText == "again\n")
        await session.close()
    }

    @Test func uploadIsAtomicAndSkippedWhenIdentical() async throws {
        let session = try await connect(lab.ssh("node1"))
        let path = "/etc/cairn-test/upload-\(UUID().uuidString).bin"
        let first = Data((0..<2_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        #expect(try await session.upload(first, to: path, mode: "600") == .written)
        #expect(try await session.upload(first, to: path, mode: "600") == .unchanged)
        #expect(try await session.upload(first, to: path, mode: "640") == .metadataUpdated)
        #expect(try lab.exec("node1", "stat -c %a \(path)") == "640\n")
        // A reader holding the old file keeps seeing it whole: the new one replaces it by rename.
        let inodeBefore = try lab.exec("node1", "stat -c %i \(path)")
        let second = Data(repeating: 7, count: 1_000_000)
        #expect(try await session.upload(second, to: path, mode: "640", owner: "root:root") == .written)
        #expect(try lab.exec("node1", "stat -c %i \(path)") != inodeBefore)
        #expect(try await session.download(path) == second)
        #expect(try lab.exec("node1", "ls -a /etc/cairn-test | grep -c cairn-upload || true") == "0\n")
        await session.close()
    }

    @Test func bastionHopReachesAnIsolatedHost() async throws {
        let isolated = lab.host("node4")
        let bastion = lab.host("bastion")
        // Not reachable directly...
        await #expect(throws: SSHError.self) { try await connect(lab.ssh(isolated.name, connectTimeout: .seconds(2))) }
        // ...but through the bastion.
        var config = lab.ssh(isolated.name)
        config.bastion = SSHConfiguration.Bastion(lab.ssh(bastion.name))
        let session = try await connect(config)
        let output = try await session.run(RemoteCommand("hostname"))
        #expect(output.stdoutText == isolated.name + "\n")
        let payload = Data((0..<500_000).map { UInt8(truncatingIfNeeded: $0) })
        #expect(try await session.upload(payload, to: "/tmp/through-bastion", mode: "600") == .written)
        #expect(try await session.download("/tmp/through-bastion") == payload)
        await session.close()
    }

    @Test func sudoIsUsedForANonRootUser() async throws {
        let session = try await connect(lab.ssh("node1", user: "operator"))
        #expect(session.usesSudo)
        #expect(try await session.run(RemoteCommand("id", ["-u"])).stdoutText == "0\n")
        #expect(try await session.upload(Data("x\n".utf8), to: "/etc/cairn-sudo-test", mode: "644") != .unchanged)
        await session.close()
        await #expect {
            try await connect(lab.ssh("node1", user: "limited"))
        } throws: { error in
            guard case SSHError.sudoRequiresPassword(let host, let user) = error else { return false }
            return host == "node1" && user == "limited" && (error as! SSHError).nextStep!.contains("NOPASSWD")
        }
    }

    @Test func passwordAuthenticationWhenAllowed() async throws {
        var config = lab.ssh("node1", key: "", user: "limited")
        config.password = .value("lab-password")
        config.sudo = .never
        let session = try await connect(config)
        #expect(session.authenticatedWith == "password")
        #expect(try await session.run(RemoteCommand("whoami")).stdoutText == "limited\n")
        await session.close()
    }

    @Test func aLinkGoingDownMidCommandTimesOutInsteadOfHanging() async throws {
        let session = try await connect(lab.ssh("node2"))
        let lab = self.lab
        let command = Task { try await session.run(RemoteCommand("sleep", ["3"]), timeout: .seconds(4)) }
        try await Task.sleep(for: .milliseconds(300))
        try lab.fault("node2", "link-down")
        defer { try? lab.fault("node2", "link-up") }
        let started = ContinuousClock.now
        await #expect {
            try await command.value
        } throws: { error in
            guard case SSHError.commandTimedOut(let host, _, _) = error else { return false }
            return host == "node2"
        }
        #expect(started.duration(to: .now) < .seconds(6))
    }
}

/// An ssh-agent of the test's own.
final class SSHAgent {
    let socket: String
    let pid: String
    private let directory: String

    init() throws {
        directory = (Lab.temporaryPath("agent") as NSString).deletingLastPathComponent
        socket = directory + "/agent.sock"
        let output = try Lab.shell(["ssh-agent", "-s", "-a", socket])
        pid =
            output.split(separator: ";").first { $0.contains("SSH_AGENT_PID=") }.map {
                String($0.split(separator: "=")[1])
            } ?? ""
    }

    func add(_ keyPath: String) throws {
        try Lab.shell(["ssh-add", keyPath], environment: ["SSH_AUTH_SOCK": socket, "PATH": "/usr/bin:/bin"])
    }

    func addNewKey(comment: String) throws {
        let path = directory + "/" + comment
        try Lab.shell(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path])
        try add(path)
    }

    func stop() {
        if !pid.isEmpty { _ = try? Lab.shell(["kill", pid]) }
    }
}
