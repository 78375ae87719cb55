import ArgumentParser
import CairnCore
import CairnEngine
import CairnInventory
import CairnPhases
import Foundation

extension DrillScenario: ExpressibleByArgument {}

/// `cairn drill`.
struct Drill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove failover: take a node, a control plane, storage, a partition or a zone away, check, restore.",
        discussion: """
            Refuses to start unless `cairn status` is healthy. Runs one scenario at a time:
            disrupts, waits until the cluster shows it, checks what HA promises (API through the
            endpoint, etcd quorum, writes, workloads' minimum, Services' endpoints, Ceph's placement
            groups, a test volume's data), restores, and waits for full health before the next.
            A scenario that would lose etcd quorum, the last API server or more storage copies
            than a pool can lose is refused before anything is disrupted. Each host undoes its
            disruption by itself after --undo-after seconds, and a rerun first undoes what an
            interrupted drill left. Exit 0 when all pass, 75 when a check failed (the cause is
            named), 1 when it could not run. docs/drill.md.
              cairn drill -i cluster.yaml --plan
              cairn drill -i cluster.yaml --scenario control-plane-loss --yes
              cairn drill -i cluster.yaml --scenario zone-loss --zone eu-1b --yes --output json
            """)

    @OptionGroup var inventory: InventoryOptions

    @Option(
        name: .customLong("scenario"),
        help:
            "node-loss, control-plane-loss, storage-loss, partition or zone-loss (repeatable; default: all that apply)."
    )
    var scenarios: [DrillScenario] = []

    @Option(help: "The host to take away instead of Cairn's choice.")
    var target: String?

    @Option(help: "The zone zone-loss takes away (default: the first control-plane host's).")
    var zone: String?

    @Flag(help: "Only list the steps; disrupt nothing.")
    var plan = false

    @Option(help: "text or json")
    var output: OutputFormatArgument = .text

    @Option(help: "Also write the report as a self-contained HTML page to this file.")
    var report: String?

    @Option(
        name: .customLong("undo-after"),
        help: "Seconds after which a host undoes a disruption by itself (default 1800).")
    var undoAfter: Int = 1800

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
    var yes = false

    func run() async throws {
        let console = Console()
        if !plan {
            try console.requireConfirmation(
                "Disrupt cluster hosts for a drill (each disruption is restored)?", command: "cairn drill", yes: yes,
                dryRun: false)
        }
        let runner = ClusterRunner()
        let request = DrillRequest(scenarios: scenarios, target: target, zone: zone)
        let format = output
        let planOnly = plan
        var drillOptions = DrillOptions()
        drillOptions.undoAfterSeconds = max(60, undoAfter)
        let options = drillOptions
        let reportPath = report
        let outcome = DrillOutcome()
        let status = await runner.withConnections(inventoryPath: inventory.inventory) { loaded, context in
            let topology = Topology(loaded.inventory)
            let out = runner.stdout
            let progress: @Sendable (String) -> Void = { line in
                if format == .json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { out.line(line) }
            }
            let drill = DrillRunner(topology: topology, context: context, options: options, say: progress)
            if planOnly {
                let health = await ClusterStatus.gather(topology: topology, context: context)
                let drillPlan = DrillPlanner.plan(
                    topology: topology, request: request, facts: await drill.facts(status: health))
                if format == .json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    out.line(String(decoding: try encoder.encode(drillPlan), as: UTF8.self))
                } else {
                    out.write(Self.render(drillPlan))
                }
                if !health.healthy {
                    throw DrillNotStarted(
                        reasons: health.problems.map { "cluster not healthy: \($0)" },
                        next: "fix them (`cairn status`), then rerun")
                }
                if !drillPlan.refusals.isEmpty {
                    throw DrillNotStarted(reasons: drillPlan.refusals, next: Self.refusalNext)
                }
                return
            }
            // The cluster lock, as apply takes it: no apply, remove or other drill runs meanwhile.
            guard let lockHost = topology.controlPlanes.first?.name else {
                throw DrillNotStarted(reasons: ["the inventory has no control-plane host"], next: Self.refusalNext)
            }
            let owner =
                "\(ProcessInfo.processInfo.environment["USER"] ?? "root")@\(ProcessInfo.processInfo.hostName) pid \(getpid())"
            let lock = RunLock(
                executor: try await context.executors.executor(forHost: lockHost), runID: context.runID, owner: owner)
            let machine = ProcessInfo.processInfo.hostName
            try await lock.acquire(
                breakingStale: false, ownerIsGone: { RunLock.ownerHasExited($0, thisMachine: machine) })
            let result = try await lock.whileHeld(clock: SystemClock(), stop: RunStop()) {
                () async throws -> DrillReport in
                for line in await drill.restoreLeftovers() {
                    progress("undid what an earlier drill left: \(line)")
                }
                let health = await ClusterStatus.gather(topology: topology, context: context)
                guard health.healthy else {
                    throw DrillNotStarted(
                        reasons: health.problems.map { "cluster not healthy: \($0)" },
                        next: "a drill starts only on a healthy cluster: fix what `cairn status` shows, then rerun")
                }
                let drillPlan = DrillPlanner.plan(
                    topology: topology, request: request, facts: await drill.facts(status: health))
                guard drillPlan.refusals.isEmpty else {
                    throw DrillNotStarted(reasons: drillPlan.refusals, next: Self.refusalNext)
                }
                return await drill.run(drillPlan, cluster: loaded.inventory.name)
            }
            outcome.set(result.passed)
            if format == .json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                out.line(String(decoding: try encoder.encode(result), as: UTF8.self))
            } else {
                out.write("\n" + result.render(colors: (ok: out.green, bad: out.red, bold: out.bold)))
            }
            if let reportPath, !FileManager.default.createFile(atPath: reportPath, contents: Data(result.html().utf8)) {
                progress("could not write the report to \(reportPath): check that its directory exists and is writable")
            }
            if !result.passed {
                throw DrillChecksFailed(failures: result.failedChecks, causes: result.scenarios.compactMap(\.cause))
            }
        }
        throw ExitCode(status.code)
    }

    static let refusalNext =
        "choose another target (--target HOST, --zone ZONE) or scenario (--scenario NAME); `cairn drill --plan` lists them"

    static func render(_ plan: DrillPlan) -> String {
        var lines: [String] = []
        for scenario in plan.scenarios {
            lines.append(
                "\(scenario.scenario.rawValue): " + scenario.targets.joined(separator: ", ")
                    + (scenario.zone.map { " (zone \($0))" } ?? ""))
            if let refusal = scenario.refusal {
                lines.append("  REFUSED: \(refusal)")
                continue
            }
            for action in scenario.disrupt { lines.append("  disrupt: \(action.summary)") }
            for check in scenario.checks { lines.append("  check:   \(check.rawValue): \(check.summary)") }
            for action in scenario.restore { lines.append("  restore: \(action.summary)") }
            for check in scenario.checksAfterHealing { lines.append("  check:   \(check.rawValue): \(check.summary)") }
            lines.append("  then:    wait until `cairn status` is healthy")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

final class DrillOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    func set(_ passed: Bool) { lock.withLock { stored = passed } }
}

/// The drill did not start: nothing was disrupted.
struct DrillNotStarted: Error, CairnReportableError {
    let reasons: [String]
    let next: String
    var summary: String { "cairn drill did not start; nothing was disrupted: " + reasons.joined(separator: "; ") }
    var nextStep: String? { next }
    var exitCode: CairnExitCode { .failure }
}

/// A check failed; every disruption was undone.
struct DrillChecksFailed: Error, CairnReportableError {
    let failures: [String]
    let causes: [String]
    var summary: String {
        "drill failed: " + (failures.isEmpty ? causes : failures).joined(separator: "; ")
    }
    var nextStep: String? {
        "every disruption was undone; `cairn status` shows the cluster now, and the report above says what failed"
    }
    var exitCode: CairnExitCode { .gateTimeout }
}
