import CairnCore
import CairnSSH
import Foundation

/// A lab made by `scripts/lab`: real sshd hosts in network namespaces on this machine.
///
/// Lab tests run inside the lab's controller network namespace (`scripts/test` starts
/// `swift test` there), the only place the hosts' addresses exist. Outside it, or without
/// root, `Lab.availability` says why lab tests are skipped.
public final class Lab: @unchecked Sendable {
    public struct Host: Sendable {
        public let name: String
        public let address: String
    }

    public let name: String
    public let directory: URL
    public let hosts: [Host]

    public var keys: URL { directory.appendingPathComponent("keys") }
    public var inventoryPath: String { directory.appendingPathComponent("inventory.yaml").path }
    /// known_hosts with every host's key as the lab made it (for strict-mode tests).
    public var labKnownHosts: String { directory.appendingPathComponent("known_hosts").path }

    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    public static var script: String { repositoryRoot.appendingPathComponent("scripts/lab").path }

    /// nil when lab tests can run here; otherwise the reason they cannot.
    public static let unavailableReason: String? = {
        guard getuid() == 0 else { return "lab tests need root" }
        guard FileManager.default.isExecutableFile(atPath: script) else { return "scripts/lab is missing" }
        // The hosts' subnet exists only in the controller namespace.
        let mine = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
        var st = stat()
        guard stat("/run/netns/cairnlab", &st) == 0, let mine,
            mine == "net:[\(st.st_ino)]"
        else {
            return
                "not inside the lab's network namespace: run the tests with scripts/test (or `scripts/lab run -- swift test`)"
        }
        return nil
    }()

    public static var isAvailable: Bool { unavailableReason == nil }

    /// Whether lab tests run: when the lab is usable, and always under scripts/test
    /// (CAIRN_REQUIRE_LAB=1), where an unusable lab must fail the tests, not skip them.
    public static var shouldRun: Bool {
        isAvailable || ProcessInfo.processInfo.environment["CAIRN_REQUIRE_LAB"] == "1"
    }

    /// Creates (or re-creates) lab `name`. Lab names must be unique per test process.
    public static func up(
        _ name: String, hosts: Int, initSystem: String = "systemd", isolated: Int = 0,
        extra: [String] = []
    ) throws -> Lab {
        if let reason = unavailableReason { throw ShellError(command: ["lab"], status: 1, output: reason) }
        _ = try? shell([script, "down", name])
        var arguments = [script, "up", name, "--hosts", String(hosts), "--init", initSystem]
        if isolated > 0 { arguments += ["--isolated", String(isolated)] }
        try shell(arguments + extra)
        return try Lab(name: name)
    }

    /// Attaches to an existing lab.
    public init(name: String) throws {
        self.name = name
        let root = ProcessInfo.processInfo.environment["CAIRN_LAB_ROOT"] ?? "/srv/cairn-lab"
        directory = URL(fileURLWithPath: root).appendingPathComponent(name)
        let table = try String(contentsOf: directory.appendingPathComponent("hosts.tsv"), encoding: .utf8)
        hosts = table.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t").map(String.init)
            return fields.count >= 2 ? Host(name: fields[0], address: fields[1]) : nil
        }
    }

    /// Writes an inventory for this lab with the given roles per host (hosts left out are not
    /// in it) and extra top-level YAML, based on the lab's own inventory settings.
    public func writeInventory(
        _ fileName: String, roles: [(host: String, roles: [String])], extra: String = "",
        storage: [String: [String]] = [:], zones: [String: String] = [:]
    ) throws -> String {
        let base = try String(contentsOfFile: inventoryPath, encoding: .utf8)
        // Everything up to "hosts:" is the lab's settings; keep it.
        let head = base.components(separatedBy: "\nhosts:\n")[0]
        var yaml = head + "\n" + extra + (extra.isEmpty || extra.hasSuffix("\n") ? "" : "\n") + "hosts:\n"
        for (name, hostRoles) in roles {
            let host = self.host(name)
            yaml +=
                "  - name: \(host.name)\n    address: \(host.address)\n    roles: [\(hostRoles.joined(separator: ", "))]\n"
            if let zone = zones[name] { yaml += "    zone: \(zone)\n" }
            if let devices = storage[name] { yaml += "    storage: {devices: [\(devices.joined(separator: ", "))]}\n" }
        }
        let path = directory.appendingPathComponent(fileName).path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    public func host(_ name: String) -> Host {
        hosts.first { $0.name == name }!
    }

    public func down() {
        _ = try? Lab.shell([Lab.script, "down", name])
    }

    /// Runs a command inside a host (not over SSH: for setting up and inspecting).
    @discardableResult
    public func exec(_ host: String, _ command: String) throws -> String {
        try Lab.shell([Lab.script, "exec", name, host, "--", "sh", "-c", command])
    }

    public func fault(_ host: String, _ action: String) throws {
        try Lab.shell([Lab.script, "fault", name, host, action])
    }

    /// An SSH configuration for one of the lab's hosts.
    public func ssh(
        _ hostName: String, key: String = "id_ed25519", user: String = "root",
        knownHosts: String? = nil, mode: HostKeyChecking = .acceptNew, useAgent: Bool = false,
        agentSocket: String? = nil, connectTimeout: Duration = .seconds(5)
    ) -> SSHConfiguration {
        let host = self.host(hostName)
        return SSHConfiguration(
            label: host.name, address: host.address, user: user,
            identityFiles: key.isEmpty ? [] : [keys.appendingPathComponent(key).path],
            useAgent: useAgent, agentSocket: agentSocket,
            knownHostsFile: knownHosts ?? Lab.temporaryPath("known_hosts"), hostKeyMode: mode,
            connectTimeout: connectTimeout)
    }

    public static func temporaryPath(_ name: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(name).path
    }

    public struct ShellError: Error, CustomStringConvertible {
        public let command: [String]
        public let status: Int32
        public let output: String
        public var description: String { "\(command.joined(separator: " ")) exited \(status): \(output)" }
    }

    /// What a finished program left.
    public struct Outcome: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs `cairn` (the built binary) with `arguments`.
    public static func cairn(_ arguments: [String], environment: [String: String]? = nil) throws -> Outcome {
        let binary = repositoryRoot.appendingPathComponent(".build/debug/cairn").path
        return try execute([binary] + arguments, environment: environment)
    }

    /// Starts `cairn` with stdout and stderr going to `output`; returns its pid.
    public static func cairnInBackground(_ arguments: [String], output: String) throws -> pid_t {
        let binary = repositoryRoot.appendingPathComponent(".build/debug/cairn").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        let env = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + env { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, binary, &actions, nil, argv, env)
        guard rc == 0 else { throw ShellError(command: [binary] + arguments, status: rc, output: "posix_spawn failed") }
        return pid
    }

    /// Runs a program, returns stdout; throws with stderr on failure.
    @discardableResult
    public static func shell(_ arguments: [String], environment: [String: String]? = nil, stdin: String? = nil) throws
        -> String
    {
        let outcome = try execute(arguments, environment: environment, stdin: stdin)
        guard outcome.status == 0 else {
            throw ShellError(command: arguments, status: outcome.status, output: outcome.stderr + outcome.stdout)
        }
        return outcome.stdout
    }

    /// Runs a program and returns its status and output, whatever the status. Output goes through files,
    /// not pipes: daemons the program starts (ssh-agent, lab hosts) may keep them open forever.
    public static func execute(_ arguments: [String], environment: [String: String]? = nil, stdin: String? = nil) throws
        -> Outcome
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cairn-shell-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("out")
        let errURL = directory.appendingPathComponent("err")
        let inURL = directory.appendingPathComponent("in")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: Data((stdin ?? "").utf8))
        // posix_spawn and waitpid rather than Foundation's Process, whose exit detection was seen
        // to miss children that fork a daemon and exit (ssh-agent).
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inURL.path, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outURL.path, O_WRONLY | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errURL.path, O_WRONLY | O_TRUNC, 0o600)
        let argv = ["/usr/bin/env"] + arguments
        var env = environment ?? ProcessInfo.processInfo.environment
        if env["PATH"] == nil { env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin" }
        let envStrings = env.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = envStrings.map { strdup($0) } + [nil]
        defer { for pointer in cArgv + cEnv { free(pointer) } }
        let rc = posix_spawn(&pid, "/usr/bin/env", &actions, nil, cArgv, cEnv)
        guard rc == 0 else { throw ShellError(command: arguments, status: rc, output: "posix_spawn failed") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let exitCode = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return Outcome(status: exitCode, stdout: stdout, stderr: stderr)
    }
}

/// A `cairn` started in the background (`Lab.startCairn`), its output going to a file.
public final class BackgroundCairn: @unchecked Sendable {
    public let pid: pid_t
    public let output: String
    private var status: Int32?

    init(pid: pid_t, output: String) {
        self.pid = pid
        self.output = output
    }

    public var text: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

    /// Waits until the output contains `needle` (true) or the process ended or `timeout` passed (false).
    public func waitForOutput(_ needle: String, timeout: TimeInterval = 300) -> Bool {
        waitForLine(containing: [needle], timeout: timeout)
    }

    /// Waits until one line of the output contains every fragment (true), or the process ended
    /// or `timeout` passed (false).
    public func waitForLine(containing fragments: [String], timeout: TimeInterval = 300) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        func found() -> Bool {
            text.split(separator: "\n").contains { line in fragments.allSatisfy { line.contains($0) } }
        }
        while Date() < deadline {
            if found() { return true }
            var raw: Int32 = 0
            if status == nil, waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            if status != nil { return found() }
            usleep(50_000)
        }
        return false
    }

    /// Sends SIGKILL and reaps the process. True only when the signal is what ended it (the run
    /// had not finished on its own before).
    @discardableResult
    public func killNow() -> Bool {
        if status == nil {
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            status = raw
        }
        return (status! & 0x7f) == SIGKILL
    }

    /// Waits for the process to end; its exit status (128 + signal when killed).
    public func wait() -> Int32 {
        if status == nil {
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            status = raw
        }
        let raw = status!
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
    }
}

extension Lab {
    /// Starts `cairn` with stdout and stderr going to a new file.
    public static func startCairn(_ arguments: [String], outputName: String = "cairn.log") throws -> BackgroundCairn {
        let output = temporaryPath(outputName)
        return BackgroundCairn(pid: try cairnInBackground(arguments, output: output), output: output)
    }

    /// Sets a Kubernetes stand-in fault flag on `host` (`scripts/lab-k8s fault`), e.g. `cgroup-v1` or
    /// `ceph-recovery 5` (words are separate arguments).
    public func k8sFault(_ host: String, _ flag: String) throws {
        let tool = Lab.repositoryRoot.appendingPathComponent("scripts/lab-k8s").path
        try Lab.shell([tool, "fault", name, host] + flag.split(separator: " ").map(String.init))
    }

    /// A loop device of `size` for `host`, registered with the lab (the kubelet stand-in reports it).
    public func addDevice(_ host: String, size: String = "256M") throws -> String {
        let tool = Lab.repositoryRoot.appendingPathComponent("scripts/lab-k8s").path
        let output = try Lab.shell([tool, "devices", name, host, "add", "1", "--size", size])
        guard
            let device = output.split(separator: "\n").map(String.init).first(where: { $0.hasPrefix("/dev/") })?
                .split(separator: " ").first.map(String.init)
        else {
            throw ShellError(
                command: [tool, "devices", name, host, "add"], status: 1, output: "no device in: \(output)")
        }
        return device
    }

    /// Removes the lab's loop devices, then the lab.
    public func downWithDevices() {
        let tool = Lab.repositoryRoot.appendingPathComponent("scripts/lab-k8s").path
        _ = try? Lab.shell([tool, "devices", name, "all", "remove"])
        down()
    }

    /// kubectl on `host` with the admin kubeconfig.
    public func kubectl(_ arguments: String, on host: String = "node1") throws -> String {
        try exec(host, "kubectl --kubeconfig /etc/kubernetes/admin.conf \(arguments)")
    }
}
