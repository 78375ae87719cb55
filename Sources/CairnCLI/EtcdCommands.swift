import ArgumentParser
import CairnCore
import CairnEngine
import CairnInventory
import CairnPhases
import CairnSSH
import Foundation

/// `cairn backup`: an etcd snapshot copied to the operator's machine.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Save an etcd snapshot from a healthy member to this machine.",
        discussion: """
            The snapshot and a .json file with its SHA-256, revision and key count go to
            STATE/backups (or --output). Example:
              cairn backup -i cluster.yaml
              cairn restore -i cluster.yaml ~/.cairn/prod/backups/etcd-prod-20261121T101500.123Z-3f9a.db
            """)

    @OptionGroup var inventory: InventoryOptions

    @Option(name: .shortAndLong, help: "Directory for the snapshot (default: the state directory's backups/).")
    var output: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let runner = ClusterRunner(environment: environment)
        let status = await runner.withConnections(inventoryPath: inventory.inventory) { loaded, context in
            let destination =
                output.map { URL(fileURLWithPath: $0) }
                ?? URL(fileURLWithPath: loaded.inventory.stateDirectory).appendingPathComponent("backups")
            let etcdHosts = context.hosts.filter { $0.roles.contains(Role.etcd.rawValue) }
            let result = try await EtcdBackup.run(
                topology: Topology(loaded.inventory), hosts: etcdHosts, context: context, destination: destination)
            runner.stdout.line(
                "Backup of etcd (cluster \(loaded.inventory.name)) from \(result.member): \(result.path.path)")
            runner.stdout.line(
                "  \(result.size) bytes, revision \(result.revision), \(result.keys) keys, sha256 \(result.sha256)")
        }
        throw ExitCode(status.code)
    }
}

/// `cairn restore`: rebuild the etcd cluster from a snapshot.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore the etcd cluster from a snapshot (all members, new cluster token).",
        discussion: """
            Stops etcd on every member, moves each data directory aside (never deletes it),
            restores the snapshot on every member under a new cluster token, starts them and
            waits for quorum. Asks for confirmation unless --yes. --dry-run shows the steps.
            """)

    @OptionGroup var inventory: InventoryOptions

    @Argument(help: "The snapshot file (from `cairn backup`).")
    var snapshot: String

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
    var yes = false

    @Flag(name: .customLong("dry-run"), help: "Only show what would be done.")
    var dryRun = false

    func run() async throws {
        let console = Console()
        let url = URL(fileURLWithPath: snapshot)
        let verified: (sha256: String, revision: Int64?, keys: Int64?)
        do {
            verified = try EtcdBackup.verify(url)
        } catch {
            console.report(error)
            throw ExitCode(CairnExitCode.invalidInput.rawValue)
        }
        let loaded = try console.loadInventory(inventory.inventory)
        let hosts = loaded.inventory.etcdHosts.map(\.name)
        let question = """
            This REPLACES the data of etcd cluster "\(loaded.inventory.name)" on \(hosts.joined(separator: ", ")) with \(url.lastPathComponent)
            (sha256 \(verified.sha256.prefix(16))…\(verified.revision.map { ", revision \($0)" } ?? "")\(verified.keys.map { ", \($0) keys" } ?? "")).
            Every member's current data is moved aside. Continue?
            """
        try console.requireConfirmation(question, command: "cairn restore", yes: yes, dryRun: dryRun)
        var request = RunRequest(inventoryPath: inventory.inventory)
        request.assumeYes = true
        request.title = "restore"
        let stamp = RunContext.newRunID()
        request.customPhases = { inventory in
            [
                ScheduledPhase(
                    phase: EtcdRestorePhase(topology: Topology(inventory), snapshot: url, stamp: stamp),
                    selector: .roles([Role.etcd.rawValue]))
            ]
        }
        let status = await ClusterRunner().run(dryRun ? .plan : .apply, request)
        throw ExitCode(status.code)
    }
}

struct EtcdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "etcd", abstract: "Operate on the etcd cluster.", subcommands: [Remove.self])

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a member from etcd, under the quorum guard.",
            discussion: """
                Judged from live health: a member that does not answer may go whenever the healthy
                ones keep quorum without it; a healthy one only while every other member is healthy
                and at least three voting members remain (--force overrides, loudly). Then etcd is
                stopped on that host, if it is still in the inventory, and its data moved aside. On
                a terminal it shows the plan and asks first; scripts pass --yes. To take a whole
                host out of the cluster (drain, Node, balancers), use `cairn remove`.
                  cairn etcd remove -i cluster.yaml node4
                """)

        @OptionGroup var inventory: InventoryOptions

        @Argument(help: "The host (member name) to remove.")
        var host: String

        @Flag(help: "Skip the quorum guard.")
        var force = false

        @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
        var yes = false

        @Flag(name: .customLong("dry-run"), help: "Only show what would be done.")
        var dryRun = false

        func run() async throws {
            // On a terminal the run shows its plan and asks before removing anything; elsewhere
            // only --yes lets it go ahead.
            try Console().requireConfirmation(
                "Remove etcd member \(host)?", command: "cairn etcd remove", yes: yes || isatty(STDIN_FILENO) != 0,
                dryRun: dryRun)
            var request = RunRequest(inventoryPath: inventory.inventory)
            request.assumeYes = yes
            request.force = force
            request.title = "etcd remove \(host)"
            let target = host
            let force = self.force
            request.customPhases = { inventory in
                let names = inventory.etcdHosts.map(\.name) + (inventory.host(named: target).map { [$0.name] } ?? [])
                return [
                    ScheduledPhase(
                        phase: EtcdRemovePhase(topology: Topology(inventory), target: target, force: force),
                        selector: .named(names))
                ]
            }
            let status = await ClusterRunner().run(dryRun ? .plan : .apply, request)
            throw ExitCode(status.code)
        }
    }
}
