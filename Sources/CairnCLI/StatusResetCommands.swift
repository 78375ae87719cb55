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
            etcd members is judged from live health as `cairn remove` is (refused, with nothing
            changed, when etcd would lose quorum or no control-plane host would remain; --force
            overrides); members are removed from etcd first. To take hosts out of a running
            cluster (drained, data moved, Node deleted), use `cairn remove`. Ceph devices are wiped only with
            --wipe-ceph-devices.
              cairn reset -i cluster.yaml --hosts node5
              cairn reset -i cluster.yaml --yes
            """)

    @OptionGroup var inventory: InventoryOptions

    @Option(help: "Only these hosts (comma-separated).")
    var hosts: String?

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
    var yes = false

    @Flag(help: "Reset even when live health says the remaining etcd members would lose quorum.")
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
        let question =
            "This DESTROYS cluster \"\(loaded.inventory.name)\" on \(selected.joined(separator: ", "))"
            + (wipeCephDevices ? " and WIPES their Ceph devices" : "") + ". Continue?"
        try console.requireConfirmation(question, command: "cairn reset", yes: yes, dryRun: dryRun)
        var request = RunRequest(inventoryPath: inventory.inventory)
        request.assumeYes = true
        request.force = force
        request.title = whole ? "reset" : "reset \(selected.joined(separator: ","))"
        let wipe = wipeCephDevices
        let force = self.force
        request.customPhases = { inventory in
            var phases: [ScheduledPhase] = []
            // A partial reset is judged from live health first, as `cairn remove` is (etcd
            // quorum, a control-plane host left; --force skips it), then takes etcd members out
            // of the cluster one at a time.
            if !whole {
                let topology = Topology(inventory)
                let removal = RemovalRequest(targets: selected, unreachable: false, drainTimeoutSeconds: 300)
                if !force {
                    let anchor = removal.remaining(inventory).controlPlaneHosts.first.map { [$0.name] } ?? []
                    let etcd = inventory.etcdHosts.map(\.name)
                    phases.append(
                        ScheduledPhase(
                            phase: RemovalCheckPhase(topology: topology, removal: removal),
                            selector: .named(etcd + anchor.filter { !etcd.contains($0) })))
                }
                for member in etcdResetting {
                    phases.append(
                        ScheduledPhase(
                            phase: EtcdRemovePhase(
                                topology: topology, target: member, force: force, name: "etcd-remove-\(member)"),
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

/// `cairn certs` (list, the default) and `cairn certs renew`.
struct Certs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Certificates: list them with days left, or renew kubeadm's now.",
        subcommands: [CertsList.self, CertsRenew.self], defaultSubcommand: CertsList.self)
}

/// `cairn certs renew`.
struct CertsRenew: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew",
        abstract: "Renew kubeadm's certificates on every control-plane host now, one host at a time.",
        discussion: """
            What `cairn apply` does within certificates.renewBeforeDays, forced: `kubeadm certs
            renew all` on each control-plane host, its static pods restarted and awaited before
            the next host; then the operator's kubeconfig is fetched again. Cairn's etcd
            certificates are reissued by `cairn apply` (lower renewBeforeDays for one run to force
            it). docs/certificates.md.
              cairn certs renew -i cluster.yaml --yes
            """)

    @OptionGroup var inventory: InventoryOptions

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
    var yes = false

    @Flag(name: .customLong("dry-run"), help: "Only show what would be done.")
    var dryRun = false

    func run() async throws {
        var request = RunRequest(inventoryPath: inventory.inventory)
        request.assumeYes = yes
        request.title = "certs renew"
        request.customPhases = { inventory in
            let topology = Topology(inventory)
            return [
                ScheduledPhase(
                    phase: CertificateRenewalPhase(topology: topology, renewAll: true),
                    selector: .roles([Role.controlPlane.rawValue])),
                ScheduledPhase(
                    phase: KubeconfigPhase(topology: topology), selector: .first(role: Role.controlPlane.rawValue)),
            ]
        }
        let status = await ClusterRunner().run(dryRun ? .plan : .apply, request)
        throw ExitCode(status.code)
    }
}

/// `cairn certs list` (also plain `cairn certs`).
struct CertsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every certificate Cairn or kubeadm made, with issuer and days left.",
        discussion: """
            Read-only: kubeadm's certificates and kubeconfigs on each control-plane host, Cairn's
            etcd CA and certificates on the etcd hosts and the kubelets' client certificates,
            soonest end first. Exit 0 when none ends within certificates.renewBeforeDays (default
            90), 75 when one does (`cairn apply` renews kubeadm's and Cairn's etcd certificates
            then; a kubelet's counts only in its last 10 days, since the kubelet rotates it),
            1 when a host could not be read. docs/certificates.md.
              cairn certs -i cluster.yaml
              cairn certs -i cluster.yaml --output json
            """)

    @OptionGroup var inventory: InventoryOptions

    @Option(help: "text or json")
    var output: OutputFormatArgument = .text

    struct Report: Encodable {
        var renewBeforeDays: Int
        var certificates: [Entry]
        var unreachable: [String: String]
        struct Entry: Encodable {
            var host: String
            var path: String
            var issuer: String
            var names: [String]
            var notAfter: String
            var daysLeft: Int
            var owner: CertificateExpiry.Owner
            var due: Bool
        }
    }

    func run() async throws {
        let runner = ClusterRunner()
        let format = output
        let due = HealthFlag()
        let failed = HealthFlag()
        let status = await runner.withConnections(inventoryPath: inventory.inventory) { loaded, context in
            let topology = Topology(loaded.inventory)
            let window = loaded.inventory.certificates.renewBeforeDays
            let (found, unreachable) = await Certificates.gather(
                hosts: context.hosts, topology: topology, context: context)
            let now = Date()
            let formatter = ISO8601DateFormatter()
            let entries = found.map {
                Report.Entry(
                    host: $0.host, path: $0.path, issuer: $0.issuer, names: $0.names,
                    notAfter: formatter.string(from: Date(timeIntervalSince1970: TimeInterval($0.notAfter))),
                    daysLeft: $0.daysLeft(now: now), owner: $0.owner, due: $0.isDue(now: now, renewBeforeDays: window))
            }
            due.set(entries.contains { $0.due })
            failed.set(!unreachable.isEmpty)
            if format == .json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let report = Report(renewBeforeDays: window, certificates: entries, unreachable: unreachable)
                runner.stdout.line(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            let out = runner.stdout
            let hostWidth = max(4, entries.map(\.host.count).max() ?? 0)
            let pathWidth = max(11, entries.map(\.path.count).max() ?? 0)
            func pad(_ text: String, _ width: Int) -> String {
                text.padding(toLength: width, withPad: " ", startingAt: 0)
            }
            out.line(
                out.bold(
                    pad("HOST", hostWidth) + "  " + pad("CERTIFICATE", pathWidth)
                        + "  ISSUER        DAYS LEFT  RENEWED BY"))
            for entry in entries {
                let days = pad(entry.daysLeft < 0 ? "expired" : String(entry.daysLeft), 9)
                let renewer: String
                switch entry.owner {
                case .kubeadm: renewer = "cairn apply (kubeadm certs renew)"
                case .etcd: renewer = "cairn apply (etcd-pki)"
                case .authority: renewer = "nobody: a CA (docs/pki.md)"
                case .kubelet: renewer = "the kubelet (rotation)"
                }
                out.line(
                    pad(entry.host, hostWidth) + "  " + pad(entry.path, pathWidth) + "  " + pad(entry.issuer, 12) + "  "
                        + (entry.due ? out.red(days) : out.green(days)) + "  " + renewer)
                if !entry.names.isEmpty {
                    out.line(out.dim(pad("", hostWidth) + "    " + entry.names.joined(separator: ", ")))
                }
            }
            for (host, reason) in unreachable.sorted(by: { $0.key < $1.key }) {
                out.line(out.red("\(host): not read: \(reason)"))
            }
            let dueCount = entries.filter(\.due).count
            out.line(
                dueCount == 0
                    ? "No certificate ends within \(window) days (certificates.renewBeforeDays)."
                    : "\(dueCount) certificate\(dueCount == 1 ? " ends" : "s end") within \(window) days: run `cairn apply -i \(inventory.inventory)` to renew them."
            )
        }
        if status != ExitStatus(.success) { throw ExitCode(status.code) }
        if failed.value { throw ExitCode(CairnExitCode.failure.rawValue) }
        throw ExitCode(due.value ? CairnExitCode.gateTimeout.rawValue : CairnExitCode.success.rawValue)
    }
}

/// `cairn remove`.
struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Take hosts out of the cluster safely: drain, data off, etcd member out, Node deleted.",
        discussion: """
            Hosts may still be in the inventory or already out of it. Judged from live health
            first: refused, with nothing changed, when etcd would lose quorum, no control-plane
            host would remain, or the remaining storage hosts could not hold a pool's replicas.
            Then, per host: cordon and drain through the Eviction API (PodDisruptionBudgets
            respected); its Ceph OSDs out, the data moved (HEALTH_OK, every PG active+clean),
            the OSDs purged; the Node deleted; its etcd member removed; the host reset (kubeadm
            reset, Cairn's files) when it is in the inventory and reachable. Last, the remaining
            inventory is applied, so API balancers, kube-apiserver's etcd endpoints and add-ons
            match it. Remove the hosts from the inventory afterwards. --unreachable: the hosts
            cannot be reached (dead): no drain and no host clean-up, and they are never
            connected to. On a terminal it shows the plan and asks first; scripts pass --yes.
            docs/remove.md.
              cairn remove -i cluster.yaml worker3
              cairn remove -i cluster.yaml node1 --unreachable --yes
            """)

    @OptionGroup var inventory: InventoryOptions

    @Argument(help: "The hosts to remove.")
    var hosts: [String]

    @Flag(help: "The hosts cannot be reached: skip their drain and clean-up, never connect to them.")
    var unreachable = false

    @Option(name: .customLong("drain-timeout"), help: "Seconds a drain may wait for evictions (default 300).")
    var drainTimeout: Int = 300

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
    var yes = false

    @Flag(name: .customLong("dry-run"), help: "Only show what would be done.")
    var dryRun = false

    func run() async throws {
        let console = Console()
        guard !hosts.isEmpty else {
            throw console.fail(CommandLineError("name the hosts to remove", next: "cairn remove -i INVENTORY HOST..."))
        }
        var request = RunRequest(inventoryPath: inventory.inventory)
        request.assumeYes = yes
        request.title = "remove \(hosts.joined(separator: ","))"
        request.removal = RemovalRequest(
            targets: hosts, unreachable: unreachable, drainTimeoutSeconds: max(10, drainTimeout))
        if !dryRun && !yes && isatty(STDIN_FILENO) == 0 {
            throw console.fail(
                CommandLineError(
                    "cairn remove changes the cluster and asks first on a terminal",
                    next:
                        "pass --yes to remove \(hosts.joined(separator: ", ")) without asking, or --dry-run to see the plan"
                ))
        }
        let status = await ClusterRunner().run(dryRun ? .plan : .apply, request)
        throw ExitCode(status.code)
    }
}
