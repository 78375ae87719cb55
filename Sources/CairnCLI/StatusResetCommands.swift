import ArgumentParser
import CairnCore
import CairnEngine
import CairnInventory
import CairnPhases
import Foundation

/// `cairn status`.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the cluster on one screen: hosts, etcd, the API, nodes, add-ons, Ceph.",
        discussion: """
            Read-only. Exit 0 when healthy, 75 when degraded. --output json prints the schema
            documented in docs/status.md (\(ClusterStatus.schema)).
              cairn status -i cluster.yaml
              cairn status -i cluster.yaml --output json | jq .etcd
            """)

    @OptionGroup var inventory: InventoryOptions

    @Option(help: "text or json")
    var output: OutputFormatArgument = .text

    func run() async throws {
        let runner = ClusterRunner()
        let format = output
        let healthy = HealthFlag()
        let status = await runner.withConnections(inventoryPath: inventory.inventory) { loaded, context in
            let result = await ClusterStatus.gather(topology: Topology(loaded.inventory), context: context)
            healthy.set(result.healthy)
            if format == .json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                runner.stdout.line(String(decoding: try encoder.encode(result), as: UTF8.self))
            } else {
                let out = runner.stdout
                runner.stdout.write(result.render(colors: (ok: out.green, bad: out.red, bold: out.bold)))
            }
        }
        if status != ExitStatus(.success) { throw ExitCode(status.code) }
        throw ExitCode(healthy.value ? CairnExitCode.success.rawValue : CairnExitCode.gateTimeout.rawValue)
    }
}

final class HealthFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    var value: Bool { lock.withLock { stored } }
    func set(_ value: Bool) { lock.withLock { stored = value } }
}

/// `cairn reset`.
struct Reset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tear down what Cairn installed on the hosts (all, or --hosts).",
        discussion: """
            Runs kubeadm reset, stops and removes etcd (data too), kubelet, containerd, the API
            balancer, and removes Cairn's binaries, units and files, CNI state. Asks for
            confirmation naming the cluster and the hosts (--yes skips it). A subset that holds
            etcd members is refused when the remaining members could not keep quorum (--force
            overrides); members are removed from etcd first. Ceph devices are wiped only with
            --wipe-ceph-devices.
              cairn reset -i cluster.yaml --hosts node5
              cairn reset -i cluster.yaml --yes
            """)

    @OptionGroup var inventory: InventoryOptions

    @Option(help: "Only these hosts (comma-separated).")
    var hosts: String?

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
    var yes = false

    @Flag(help: "Reset even when the remaining etcd members would lose quorum.")
    var force = false

    @Flag(
        name: .customLong("wipe-ceph-devices"),
        help: "Also wipe the storage devices named in the inventory (destroys their data).")
    var wipeCephDevices = false

    @Flag(name: .customLong("dry-run"), help: "Only show what would be done.")
    var dryRun = false

    func run() async throws {
        let console = Console()
        let loaded = try console.loadInventory(inventory.inventory)
        let all = loaded.inventory.hosts.map(\.name)
        let selected = hosts.map { $0.split(separator: ",").map(String.init) } ?? all
        for name in selected where !all.contains(name) {
            throw console.fail(
                CommandLineError(
                    "no host named \"\(name)\" in \(inventory.inventory)",
                    next: "name hosts of the inventory: \(all.joined(separator: ", "))"))
        }
        let whole = Set(selected) == Set(all)
        let etcdMembers = loaded.inventory.etcdHosts.map(\.name)
        let etcdResetting = etcdMembers.filter(selected.contains)
        let remaining = etcdMembers.count - etcdResetting.count
        if !whole && !etcdResetting.isEmpty && remaining < etcdMembers.count / 2 + 1 && !force {
            throw console.fail(
                CommandLineError(
                    "resetting \(etcdResetting.joined(separator: ", ")) would leave \(remaining) of \(etcdMembers.count) etcd members: the cluster would lose quorum",
                    next:
                        "reset fewer etcd hosts at a time, or the whole cluster; --force overrides (the rest of the cluster stops working)",
                    exitCode: .failure))
        }
        let question =
            "This DESTROYS cluster \"\(loaded.inventory.name)\" on \(selected.joined(separator: ", "))"
            + (wipeCephDevices ? " and WIPES their Ceph devices" : "") + ". Continue?"
        try console.requireConfirmation(question, command: "cairn reset", yes: yes, dryRun: dryRun)
        var request = RunRequest(inventoryPath: inventory.inventory)
        request.assumeYes = true
        request.force = force
        request.title = whole ? "reset" : "reset \(selected.joined(separator: ","))"
        let wipe = wipeCephDevices
        request.customPhases = { inventory in
            var phases: [ScheduledPhase] = []
            // A partial reset takes etcd members out of the cluster first, one at a time.
            if !whole {
                for member in etcdResetting {
                    phases.append(
                        ScheduledPhase(
                            phase: EtcdRemovePhase(topology: Topology(inventory), target: member, force: true),
                            selector: .named(inventory.etcdHosts.map(\.name))))
                }
            }
            phases.append(
                ScheduledPhase(
                    phase: ResetPhase(inventory: inventory, wipeCephDevices: wipe), selector: .named(selected)))
            return phases
        }
        let status = await ClusterRunner().run(dryRun ? .plan : .apply, request)
        throw ExitCode(status.code)
    }
}
