import ArgumentParser
import CairnCore
import CairnEngine
import CairnInventory
import CairnPhases
import CairnSSH
import Foundation

/// `cairn exec`: an ad-hoc command on many hosts at once, like `ansible -m shell` or pssh.
struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command on hosts in parallel and show each host's output and status.",
        discussion: """
            One argument is run by the remote shell (pipes and redirections work); several
            arguments are run as a program and its arguments, each quoted.
              cairn exec -i cluster.yaml --role etcd -- 'systemctl is-active etcd'
              cairn exec -i cluster.yaml --hosts cp1,cp2 -- uptime
            Exits non-zero when any host failed or could not be reached.
            """)

    @OptionGroup var inventory: InventoryOptions

    @Option(help: "Only hosts with this role (etcd, control-plane, worker).")
    var role: String?

    @Option(help: "Only these hosts (comma-separated names).")
    var hosts: String?

    @Option(help: "How many hosts at once.")
    var concurrency: Int = 256

    @Option(help: "Seconds before a host's command is given up on.")
    var timeout: Double = 600

    @Flag(help: "Print only each host's status line, not its output.")
    var quiet = false

    @Argument(parsing: .captureForPassthrough, help: "The command (after --).")
    var command: [String] = []

    func validate() throws {
        if role != nil && hosts != nil { throw ValidationError("give --role or --hosts, not both") }
        guard !command.filter({ $0 != "--" }).isEmpty else { throw ValidationError("give the command to run after --") }
    }

    func run() async throws {
        let console = Console()
        let environment = console.environment
        let out = console.out
        let err = console.err
        let loaded = try console.loadInventory(inventory.inventory)
        var selected = loaded.inventory.hosts
        if let role {
            guard let wanted = Role(rawValue: role) else {
                throw console.fail(
                    CommandLineError("unknown role \"\(role)\"", next: "use --role etcd, control-plane or worker"))
            }
            selected = selected.filter { $0.has(wanted) }
        }
        if let hosts {
            let names = hosts.split(separator: ",").map(String.init)
            for name in names where loaded.inventory.host(named: name) == nil {
                throw console.fail(
                    CommandLineError(
                        "no host named \"\(name)\" in \(inventory.inventory)",
                        next:
                            "name hosts of the inventory: \(loaded.inventory.hosts.map(\.name).joined(separator: ", "))"
                    ))
            }
            selected = selected.filter { names.contains($0.name) }
        }
        let words = command.first == "--" ? Array(command.dropFirst()) : command
        let remote = words.count == 1 ? RemoteCommand.script(words[0], name: "cairn-exec") : RemoteCommand(argv: words)

        let log = RunLog(redactor: console.redactor)
        let provider = SSHExecutorProvider(
            inventory: loaded, hosts: selected, environment: environment, logger: log.logger())
        let engineHosts = selected.enumerated().map {
            EngineHost(name: $1.name, roles: Set($1.roles.map(\.rawValue)), index: $0)
        }
        let limit = Duration.milliseconds(Int64(timeout * 1000))
        let quiet = self.quiet
        let started = ContinuousClock.now
        let results = await forEachHost(engineHosts, limit: concurrency) { host -> Result<CommandOutput, any Error> in
            do {
                let executor = try await provider.executor(for: host)
                let output = try await executor.run(remote, stdin: nil, timeout: limit)
                Self.print(host: host.name, output: output, quiet: quiet, out: out)
                return .success(output)
            } catch {
                let message = (error as? any CairnReportableError)?.summary ?? "\(error)"
                out.line("\(out.bold(host.name)) \(out.red("UNREACHABLE")): \(message)")
                return .failure(error)
            }
        }
        let connections = await provider.connectionsOpened.values.reduce(0, +)
        await provider.shutdown()
        let failed = results.filter {
            if case .success(let output) = $0 { return !output.succeeded }
            return true
        }.count
        let unreachable = results.filter {
            if case .failure = $0 { return true }
            return false
        }.count
        err.line(
            out.dim(
                "\(engineHosts.count) host\(engineHosts.count == 1 ? "" : "s"), \(failed) failed (\(unreachable) unreachable), "
                    + "\(connections) SSH connection\(connections == 1 ? "" : "s"), \(formatSeconds(started.duration(to: .now)))"
            ))
        if unreachable > 0 && unreachable == failed { throw ExitCode(CairnExitCode.unreachable.rawValue) }
        if failed > 0 { throw ExitCode(CairnExitCode.failure.rawValue) }
    }

    static func print(host: String, output: CommandOutput, quiet: Bool, out: OutputStream) {
        var text =
            "\(out.bold(host)) "
            + (output.succeeded ? out.green("ok") : out.red("FAILED (\(output.statusDescription))")) + "\n"
        if !quiet {
            for line in output.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).dropLast(
                output.stdoutText.hasSuffix("\n") ? 1 : 0)
            {
                text += "  " + line + "\n"
            }
            for line in output.stderrText.split(separator: "\n", omittingEmptySubsequences: false).dropLast(
                output.stderrText.hasSuffix("\n") ? 1 : 0)
            {
                text += "  " + out.dim("! " + line) + "\n"
            }
        }
        out.write(text)
    }
}

/// Runs `body` for every host with a concurrency limit, keeping the input order.
func forEachHost<T: Sendable>(_ hosts: [EngineHost], limit: Int, _ body: @escaping @Sendable (EngineHost) async -> T)
    async -> [T]
{
    await withTaskGroup(of: (Int, T).self) { group in
        var results = [T?](repeating: nil, count: hosts.count)
        var next = 0
        for _ in 0..<min(limit, hosts.count) {
            let index = next
            let host = hosts[index]
            group.addTask { (index, await body(host)) }
            next += 1
        }
        for await (index, value) in group {
            results[index] = value
            if next < hosts.count {
                let i = next
                let host = hosts[i]
                group.addTask { (i, await body(host)) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}
