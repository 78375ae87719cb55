import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import CairnPhases
import CairnSSH
import Foundation
import Logging

public enum OutputFormat: String, Sendable, CaseIterable {
    case text
    case json
}

/// What `cairn plan` / `cairn apply` were asked to do.
public struct RunRequest: Sendable {
    public var inventoryPath: String
    public var playbookPath: String?
    public var concurrency: Int = 256
    public var onlyPhases: [String] = []
    public var skipPhases: [String] = []
    public var breakLock = false
    /// The run whose live lock this run takes (`--take-lock-from`).
    public var takeLockFrom: String?
    public var assumeYes = false
    public var output: OutputFormat = .text
    public var verbose = false
    public var detailedExitCode = false
    /// Skip the etcd quorum guard (loud).
    public var force = false
    /// Run these phases instead of the playbook's (`cairn restore`, `cairn etcd remove`).
    public var customPhases: (@Sendable (Inventory) -> [ScheduledPhase])?
    /// `cairn remove`: its phases, then the playbook for the inventory without the removed hosts.
    public var removal: RemovalRequest?
    /// What the run is, for the header line ("restore", "etcd remove").
    public var title: String?
    /// Overrides every verification gate's deadline.
    public var gateTimeout: Duration?
    /// `plan --out`: where to save the plan.
    public var savePlanTo: String?
    /// `apply PLANFILE`: the saved plan to perform, and how old it may be.
    public var planFile: String?
    public var planMaximumAge: TimeInterval = 24 * 3600
    /// `--stats`: print the remote commands, kubectl invocations and uploads per phase at the end.
    public var showStats = false

    public init(inventoryPath: String) {
        self.inventoryPath = inventoryPath
    }
}

/// Turns a request into a run: loads and validates everything before touching any host,
/// connects, takes the cluster lock (apply), runs the engine, reports.
public struct ClusterRunner: Sendable {
    public var environment: [String: String]
    public var stdout: OutputStream
    public var stderr: OutputStream
    public let redactor: Redactor
    /// Asks the operator a yes/no question (only on a terminal).
    public var confirm: @Sendable (String) -> Bool

    /// Where everything the run shows goes (and how errors are rendered).
    public let console: Console

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, redactor: Redactor = Redactor(),
        stdout: OutputStream? = nil, stderr: OutputStream? = nil, confirm: (@Sendable (String) -> Bool)? = nil
    ) {
        let console = Console(environment: environment, redactor: redactor, out: stdout, err: stderr)
        self.console = console
        self.environment = environment
        self.redactor = redactor
        self.stdout = console.out
        self.stderr = console.err
        self.confirm = confirm ?? { console.confirm($0) }
    }

    /// Everything a run needs, prepared without contacting any host.
    struct Prepared {
        let loaded: LoadedInventory
        let phases: [ScheduledPhase]
        let hosts: [EngineHost]
        let stateDirectory: URL
    }

    /// Loads the inventory and playbook and builds the phases; prints problems and returns the
    /// exit code on failure. No host is touched here.
    func prepare(_ request: RunRequest) -> Result<Prepared, ExitStatus> {
        let loaded: LoadedInventory
        do {
            loaded = try InventoryLoader(environment: environment, addons: Addons.settings).load(
                path: request.inventoryPath)
        } catch {
            report(error)
            return .failure(ExitStatus(error.exitCode))
        }
        for warning in loaded.warnings { stderr.line(warning.description) }
        let inventory = loaded.inventory

        let playbook: Playbook
        do {
            if let path = request.playbookPath {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    report(
                        CommandLineError(
                            "cannot read the playbook \(path)",
                            next: "check the path, or leave --playbook out to use the built-in one"))
                    return .failure(ExitStatus(.invalidInput))
                }
                playbook = try Playbook.load(yaml: text, file: path, builtIns: BuiltInPhases.names)
            } else {
                let (text, file) = BuiltInPhases.defaultPlaybook
                playbook = try Playbook.load(yaml: text, file: file, builtIns: BuiltInPhases.names)
            }
            var hosts = inventory.hosts.enumerated().map { index, host in
                EngineHost(name: host.name, roles: Set(host.roles.map(\.rawValue)), index: index)
            }
            let phases: [ScheduledPhase]
            if let removal = request.removal {
                let remaining = removal.remaining(inventory)
                phases = removal.phases(
                    inventory: inventory,
                    playbook: try playbook.schedule(
                        builtIns: BuiltInPhases.make(for: remaining), only: request.onlyPhases,
                        skip: request.skipPhases),
                    hosts: hosts)
                // Hosts that cannot be reached are never connected to (not even for the lock).
                if removal.unreachable { hosts.removeAll { removal.targets.contains($0.name) } }
            } else {
                phases =
                    try request.customPhases?(inventory)
                    ?? playbook.schedule(
                        builtIns: BuiltInPhases.make(for: inventory), only: request.onlyPhases,
                        skip: request.skipPhases)
            }
            return .success(
                Prepared(
                    loaded: loaded, phases: phases, hosts: hosts,
                    stateDirectory: URL(fileURLWithPath: inventory.stateDirectory)))
        } catch {
            report(error)
            return .failure(ExitStatus((error as? any CairnReportableError)?.exitCode ?? .invalidInput))
        }
    }

    /// Runs `plan` or `apply`. Returns the process exit status.
    public func run(_ mode: RunMode, _ request: RunRequest) async -> ExitStatus {
        let prepared: Prepared
        switch prepare(request) {
        case .success(let value): prepared = value
        case .failure(let status): return status
        }
        let log = RunLog(redactor: redactor, echo: request.verbose ? stderr : nil)
        let provider = SSHExecutorProvider(inventory: prepared.loaded, environment: environment, logger: log.logger())
        let statistics = CommandStatistics()
        let status = await run(
            mode, request, prepared: prepared, provider: provider, log: log,
            executors: request.showStats ? CountingExecutorProvider(provider, statistics: statistics) : provider)
        // Text only: after JSON lines it would break a reader of `--output json`.
        if request.showStats && request.output == .text {
            printStatistics(statistics, connections: await provider.connectionsOpened.values.reduce(0, +))
        }
        // Sessions end before the process does: libssh2 and OpenSSL must not be torn down under them.
        await provider.shutdown()
        return status
    }

    /// `--stats`: one line per phase that sent anything, then the totals.
    func printStatistics(_ statistics: CommandStatistics, connections: Int) {
        let rows = statistics.byPhase
        let width = max(22, rows.map(\.phase.count).max() ?? 0)
        func line(_ name: String, _ counts: CommandStatistics.Counts) -> String {
            name.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(
                    format: " %8d %8d %15d %8d", counts.commands, counts.kubectl, counts.kubectlScripts, counts.uploads)
        }
        stdout.line("")
        stdout.line(
            stdout.bold(
                "phase".padding(toLength: width, withPad: " ", startingAt: 0)
                    + " commands  kubectl kubectl-scripts  uploads"))
        var total = CommandStatistics.Counts()
        for (phase, counts) in rows {
            stdout.line(line(phase, counts))
            total.commands += counts.commands
            total.kubectl += counts.kubectl
            total.kubectlScripts += counts.kubectlScripts
            total.uploads += counts.uploads
        }
        stdout.line(line("total", total))
        stdout.line(
            "SSH connections opened: \(connections); every command is one round trip on an open connection; kubectl counts the commands that start kubectl; kubectl-scripts counts scripts that start it themselves, each once or more (how often is not seen from outside)."
        )
    }

    private func run(
        _ mode: RunMode, _ request: RunRequest, prepared: Prepared, provider: SSHExecutorProvider, log: RunLog,
        executors: any HostExecutorProvider
    ) async -> ExitStatus {
        let inventory = prepared.loaded.inventory
        do {
            try FileManager.default.createDirectory(
                at: prepared.stateDirectory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            report(
                CommandLineError(
                    "cannot create the state directory \(prepared.stateDirectory.path): \(error.localizedDescription)",
                    next: "set stateDir in the inventory to a directory you can write", exitCode: .failure))
            return ExitStatus(.failure)
        }

        let runID = RunContext.newRunID()
        log.open(prepared.stateDirectory.appendingPathComponent("runs/\(runID)/debug.log"))
        let logger = log.logger()

        let values = RunValues()
        values[InventoryKey.self] = inventory
        values[ArtifactsKey.self] = ArtifactStore.forInventory(inventory)
        values[EtcdOptionsKey.self] = EtcdOptions(force: request.force)
        if request.force {
            console.note("warning", "--force: the etcd quorum guard is off for this run")
        }

        @Sendable func context(
            _ mode: RunMode, _ events: any RunEventSink, id: String = runID, stop: RunStop = RunStop(),
            recorder: PlanRecorder? = nil, follow: PlanToFollow? = nil
        ) -> RunContext {
            RunContext(
                runID: id, mode: mode, hosts: prepared.hosts, executors: executors, concurrency: request.concurrency,
                logger: logger, redactor: redactor, events: events, stateDirectory: prepared.stateDirectory,
                values: values, gateTimeout: request.gateTimeout, stop: stop, planRecorder: recorder,
                planToFollow: follow)
        }
        let inventoryDigest = SHA256Digest.hex(
            of: FileManager.default.contents(atPath: prepared.loaded.sourcePath) ?? Data())
        func savedPlan(_ recorder: PlanRecorder, id: String) -> SavedPlan {
            SavedPlan(
                cluster: inventory.name, inventoryDigest: inventoryDigest, inventoryPath: prepared.loaded.sourcePath,
                runID: id, phases: recorder.phases)
        }
        func sinks(showPlans: Bool, id: String) -> (any RunEventSink, RecordingEventSink) {
            let recording = RecordingEventSink()
            var all: [any RunEventSink] = [recording]
            if let journal = try? Journal(stateDirectory: prepared.stateDirectory, runID: id, redactor: redactor) {
                all.append(journal)
                all.append(ReportWriter(journal: journal.url))
            }
            switch request.output {
            case .json: all.append(JSONLinesReporter(out: stdout))
            case .text:
                all.append(
                    stdout.isTerminal
                        ? LiveReporter(out: stdout, showPlans: showPlans) as any RunEventSink
                        : LineReporter(out: stdout, showPlans: showPlans))
            }
            return (FanOutEventSink(all), recording)
        }

        let engine = Engine(phases: prepared.phases)
        let hostCount = prepared.hosts.count
        if request.output == .text {
            stdout.line(
                stdout.bold("cairn \(request.title ?? mode.rawValue)")
                    + " cluster \"\(inventory.name)\": \(hostCount) host\(hostCount == 1 ? "" : "s"), "
                    + "\(prepared.phases.count) phase\(prepared.phases.count == 1 ? "" : "s")"
                    + stdout.dim("  (run \(runID))"))
        }

        if mode == .plan {
            await noteForeignLock(prepared: prepared, provider: provider, runID: runID)
            let (events, recording) = sinks(showPlans: true, id: runID)
            let recorder = request.savePlanTo.map { _ in PlanRecorder() }
            let result = await engine.run(context: context(.plan, events, recorder: recorder))
            if let recorder, let path = request.savePlanTo, result.outcome == .succeeded {
                do {
                    try savedPlan(recorder, id: runID).write(to: URL(fileURLWithPath: path))
                } catch {
                    report(
                        CommandLineError(
                            "cannot write the plan to \(path): \(error.localizedDescription)",
                            next: "choose a --out path in a directory you can write", exitCode: .failure))
                    return ExitStatus(.failure)
                }
                if request.output == .text {
                    stdout.line(
                        "Plan saved to \(path). Review it with `cairn show \(path)`; apply exactly it with "
                            + "`cairn apply -i \(request.inventoryPath) \(path)`.")
                }
            }
            return finish(result, mode: .plan, request: request, recording: recording, log: log)
        }

        // What this apply performs: a saved plan, the plan just shown and confirmed, or (for
        // scripts and --yes) whatever the cluster needs now.
        var follow: PlanToFollow?
        if let path = request.planFile {
            do {
                let plan = try SavedPlan.read(URL(fileURLWithPath: path))
                try plan.checkUsable(
                    inventoryDigest: inventoryDigest, maximumAge: request.planMaximumAge, path: path)
                follow = PlanToFollow(plan: plan)
                if request.output == .text {
                    stdout.line(
                        "Applying plan \(path) (run \(plan.runID), \(plan.actionCount) action\(plan.actionCount == 1 ? "" : "s")): "
                            + "any change in the cluster since it was made stops the run before that phase.")
                }
            } catch {
                report(error)
                return ExitStatus((error as? any CairnReportableError)?.exitCode ?? .invalidInput)
            }
        }

        // A person at a terminal sees the plan and confirms before anything changes; what runs
        // then is that plan.
        let interactive =
            follow == nil && stdout.isTerminal && isatty(STDIN_FILENO) != 0 && !request.assumeYes
            && request.output == .text
        if interactive {
            let (events, recording) = sinks(showPlans: true, id: runID + "-plan")
            let recorder = PlanRecorder()
            let plan = await engine.run(context: context(.plan, events, id: runID + "-plan", recorder: recorder))
            if plan.outcome == .failed {
                return finish(plan, mode: .plan, request: request, recording: recording, log: log)
            }
            let changes = recording.plannedActions.count
            if changes == 0 {
                stdout.line(stdout.green("No changes.") + " The cluster matches the inventory.")
                return ExitStatus(.success)
            }
            guard confirm("Apply \(changes) change\(changes == 1 ? "" : "s") to cluster \"\(inventory.name)\"?") else {
                stdout.line("Nothing was changed.")
                return ExitStatus(.failure)
            }
            follow = PlanToFollow(plan: savedPlan(recorder, id: runID + "-plan"), livePlans: recorder.livePlans)
        }

        let owner = "\(environment["USER"] ?? "root")@\(ProcessInfo.processInfo.hostName) pid \(getpid())"
        let lockHost = prepared.hosts.first { $0.roles.contains(Role.controlPlane.rawValue) } ?? prepared.hosts[0]
        let (events, recording) = sinks(showPlans: false, id: runID)
        do {
            let executor = try await provider.executor(for: lockHost)
            let lock = RunLock(executor: executor, runID: runID, owner: owner)
            let machine = ProcessInfo.processInfo.hostName
            if let broken = try await lock.acquire(
                breakingStale: request.breakLock, takingOver: request.takeLockFrom,
                ownerIsGone: { RunLock.ownerHasExited($0, thisMachine: machine) })
            {
                if let taken = request.takeLockFrom {
                    console.note(
                        "warning",
                        "took the cluster lock from run \(taken) (\(broken)): it stops after its current action")
                } else {
                    console.note("note", "took over the cluster lock of a run that is gone (\(broken))")
                }
            }
            logger.info("cluster lock taken", metadata: ["host": "\(lockHost.name)"])
            let stop = RunStop()
            let result = try await lock.whileHeld(clock: SystemClock(), stop: stop) { [follow] in
                await engine.run(context: context(.apply, events, stop: stop, follow: follow))
            }
            return finish(result, mode: .apply, request: request, recording: recording, log: log)
        } catch {
            report(error)
            return ExitStatus((error as? any CairnReportableError)?.exitCode ?? .failure)
        }
    }

    /// In plan mode, mention a running apply: its changes may make this plan stale.
    private func noteForeignLock(prepared: Prepared, provider: SSHExecutorProvider, runID: String) async {
        guard let lockHost = prepared.hosts.first(where: { $0.roles.contains(Role.controlPlane.rawValue) }),
            let executor = try? await provider.executor(for: lockHost),
            let state = try? await RunLock(executor: executor, runID: runID, owner: "").inspect()
        else { return }
        if case .held(let age, let run, let owner) = state {
            console.note(
                "note", "an apply is running (\(owner), run \(run), heartbeat \(age) s ago); this plan may change")
        }
    }

    func finish(_ result: RunResult, mode: RunMode, request: RunRequest, recording: RecordingEventSink, log: RunLog)
        -> ExitStatus
    {
        if let error = result.error {
            report(error)
            if let path = log.path { stderr.line(stderr.dim("debug log: \(path)")) }
            return ExitStatus((error as? any CairnReportableError)?.exitCode ?? .failure)
        }
        guard request.output == .text else {
            return mode == .plan && request.detailedExitCode && result.changesPending
                ? ExitStatus(.changesPending) : ExitStatus(.success)
        }
        switch mode {
        case .plan:
            let planned = recording.plannedActions
            if planned.isEmpty {
                stdout.line(stdout.green("No changes.") + " The cluster matches the inventory.")
                return ExitStatus(.success)
            }
            let hosts = Set(planned.map(\.host)).count
            let phases = result.phaseOutcomes.filter { $0.outcome == .changed }.count
            stdout.line(
                stdout.bold("Plan:")
                    + " \(planned.count) change\(planned.count == 1 ? "" : "s") on \(hosts) host\(hosts == 1 ? "" : "s") in \(phases) phase\(phases == 1 ? "" : "s"). Run `cairn apply` to make them."
            )
            return request.detailedExitCode ? ExitStatus(.changesPending) : ExitStatus(.success)
        case .apply:
            let performed = recording.performedActions.count
            stdout.line(
                stdout.green("Apply complete:")
                    + (performed == 0
                        ? " no changes were needed." : " \(performed) change\(performed == 1 ? "" : "s") made."))
            return ExitStatus(.success)
        }
    }

    /// Renders any error for people (`Console.report`).
    func report(_ error: any Error) { console.report(error) }
}

/// A process exit status.
public struct ExitStatus: Error, Sendable, Equatable {
    public let code: Int32
    public init(_ code: CairnExitCode) { self.code = code.rawValue }
    public init(code: Int32) { self.code = code }
}

extension ClusterRunner {
    /// Loads the inventory and opens connections for a command that is not a phase run
    /// (backup, status); reports errors the usual way and returns the exit status.
    public func withConnections(
        inventoryPath: String,
        _ body: @Sendable (LoadedInventory, RunContext) async throws -> Void
    ) async -> ExitStatus {
        var request = RunRequest(inventoryPath: inventoryPath)
        request.customPhases = { _ in [] }
        let prepared: Prepared
        switch prepare(request) {
        case .success(let value): prepared = value
        case .failure(let status): return status
        }
        let log = RunLog(redactor: redactor)
        let provider = SSHExecutorProvider(inventory: prepared.loaded, environment: environment, logger: log.logger())
        let context = RunContext(
            mode: .apply, hosts: prepared.hosts, executors: provider, logger: log.logger(),
            redactor: redactor, stateDirectory: prepared.stateDirectory)
        var status = ExitStatus(.success)
        do {
            try await body(prepared.loaded, context)
        } catch {
            report(error)
            status = ExitStatus((error as? any CairnReportableError)?.exitCode ?? .failure)
        }
        await provider.shutdown()
        return status
    }
}

/// Writes `report.html` beside the journal when the run finishes.
struct ReportWriter: RunEventSink {
    let journal: URL

    func emit(_ event: RunEvent) {
        guard case .runFinished = event else { return }
        // The journal sink comes first in the fan-out, so the last line is written already.
        if let html = try? RunReport.render(journal: journal) {
            let url = journal.deletingLastPathComponent().appendingPathComponent("report.html")
            _ = FileManager.default.createFile(
                atPath: url.path, contents: Data(html.utf8), attributes: [.posixPermissions: 0o600])
        }
    }
}
