import ArgumentParser
import CairnCore
import CairnEngine
import CairnInventory
import CairnPhases
import Foundation

public enum CairnMain {
    public static func main() async {
        await CairnCommand.main()
    }
}

struct CairnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "Build highly available Kubernetes clusters over SSH.",
        discussion: """
            Exit codes: 0 success; 1 failure; 2 changes pending (plan --detailed-exitcode);
            65 invalid inventory or playbook (nothing touched); 68 a host unreachable or
            authentication failed; 75 a verification gate did not pass in time.
            """,
        subcommands: [
            Apply.self, Plan.self, Status.self, Certs.self, Remove.self, Drill.self, Validate.self, Graph.self,
            Exec.self,
            Kubeconfig.self,
            Backup.self,
            Restore.self, Reset.self, Report.self, EtcdCommand.self, InventoryCommand.self, Show.self,
        ]
    )
}

struct InventoryOptions: ParsableArguments {
    @Option(name: [.short, .customLong("inventory")], help: "The cluster inventory (YAML).")
    var inventory: String
}

struct RunOptions: ParsableArguments {
    @Option(help: "A playbook to use instead of the built-in one.")
    var playbook: String?

    @Option(help: "How many hosts to work on at once within a phase.")
    var concurrency: Int = 256

    @Option(name: .customLong("phase"), help: "Run only this phase (repeatable).")
    var phases: [String] = []

    @Option(name: .customLong("skip-phase"), help: "Skip this phase (repeatable).")
    var skipPhases: [String] = []

    @Option(help: "Output format: text or json (one JSON event per line).")
    var output: OutputFormatArgument = .text

    @Flag(name: .shortAndLong, help: "Show debug logs on stderr (they are always written to the run's debug.log).")
    var verbose = false

    @Option(
        name: .customLong("gate-timeout"),
        help: "Seconds every verification gate may wait (default: each gate's own, 1–10 minutes).")
    var gateTimeout: Int?

    @Flag(help: "At the end, print the remote commands, kubectl invocations and uploads per phase.")
    var stats = false

    func request(inventory: String) -> RunRequest {
        var request = RunRequest(inventoryPath: inventory)
        request.playbookPath = playbook
        request.concurrency = concurrency
        request.onlyPhases = phases
        request.skipPhases = skipPhases
        request.output = output.format
        request.verbose = verbose
        request.gateTimeout = gateTimeout.map { .seconds($0) }
        request.showStats = stats
        return request
    }

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        if let gateTimeout, gateTimeout < 1 { throw ValidationError("--gate-timeout must be at least 1 second") }
    }
}

enum OutputFormatArgument: String, ExpressibleByArgument, CaseIterable {
    case text, json
    var format: OutputFormat { self == .json ? .json : .text }
}

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the cluster match the inventory.",
        discussion: """
            On a terminal, shows the plan and asks before changing anything (--yes skips the
            question); what runs then is the plan shown. With PLAN-FILE (from `cairn plan --out`),
            performs exactly that plan: before each phase, the facts it was planned from are read
            again, and any difference stops the run before that phase changes anything.
            """)

    @OptionGroup var inventory: InventoryOptions
    @OptionGroup var options: RunOptions

    @Argument(help: ArgumentHelp("A plan saved by `cairn plan --out`.", valueName: "PLAN-FILE"))
    var planFile: String?

    @Option(
        name: .customLong("max-age"),
        help: ArgumentHelp("Refuse a saved plan older than this (30m, 24h, 2d).", valueName: "AGE"))
    var maxAge: String = "24h"

    @Flag(name: .shortAndLong, help: "Do not ask for confirmation.")
    var yes = false

    @Flag(name: .customLong("dry-run"), help: "Only show what would change (same as `cairn plan`).")
    var dryRun = false

    @Flag(name: .customLong("break-lock"), help: "Break a stale cluster lock left by a killed run.")
    var breakLock = false

    @Option(
        name: .customLong("take-lock-from"),
        help: ArgumentHelp(
            "Take the cluster lock from the live run RUN-ID; it stops after the action it is performing.",
            valueName: "RUN-ID"))
    var takeLockFrom: String?

    @Flag(help: "Skip the etcd quorum guard (dangerous: a failure during a membership change can lose quorum).")
    var force = false

    func run() async throws {
        var request = options.request(inventory: inventory.inventory)
        request.assumeYes = yes
        request.breakLock = breakLock
        request.takeLockFrom = takeLockFrom
        request.force = force
        request.planFile = planFile
        request.planMaximumAge = try Self.seconds(maxAge)
        let status = await ClusterRunner().run(dryRun ? .plan : .apply, request)
        throw ExitCode(status.code)
    }
}

extension Apply {
    /// "90s", "30m", "24h", "2d" → seconds.
    static func seconds(_ text: String) throws -> TimeInterval {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let unit = text.last.flatMap({ units[$0] }), let count = Double(text.dropLast()), count > 0 else {
            throw ValidationError("--max-age \(text): write a number and a unit, e.g. 30m, 24h or 2d")
        }
        return count * unit
    }
}

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what `cairn apply` would change, phase by phase, host by host. Changes nothing.")

    @OptionGroup var inventory: InventoryOptions
    @OptionGroup var options: RunOptions

    @Flag(
        name: .customLong("detailed-exitcode"),
        help: "Exit 0 when there are no changes, 2 when changes are pending, 1 on error.")
    var detailedExitCode = false

    @Option(
        name: .customLong("out"),
        help: ArgumentHelp(
            "Save the plan here, for review (`cairn show`) and `cairn apply -i INVENTORY FILE`.", valueName: "FILE"))
    var out: String?

    func run() async throws {
        var request = options.request(inventory: inventory.inventory)
        request.detailedExitCode = detailedExitCode
        request.savePlanTo = out
        let status = await ClusterRunner().run(.plan, request)
        throw ExitCode(status.code)
    }
}

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an inventory without touching any host (exit 65 when invalid).")

    @OptionGroup var inventory: InventoryOptions

    @Flag(help: "Show each host's effective SSH settings and where they came from.")
    var explain = false

    @Flag(help: "Refuse warnings too (exit 65): a zone whose loss loses etcd quorum or the API, say.")
    var strict = false

    func run() async throws {
        let console = Console()
        let (output, code) = InventoryCommands.validate(
            path: inventory.inventory, explain: explain, strict: strict,
            loader: InventoryLoader(environment: console.environment, addons: Addons.settings))
        (code == .success ? console.out : console.err).write(output)
        throw ExitCode(code.rawValue)
    }
}

struct Graph: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the phase graph as DOT or Mermaid.")

    @Option(help: "A playbook to draw instead of the built-in one.")
    var playbook: String?

    @Option(help: "dot or mermaid")
    var format: GraphFormat = .dot

    enum GraphFormat: String, ExpressibleByArgument, CaseIterable { case dot, mermaid }

    func run() async throws {
        let console = Console()
        let text: String
        let file: String
        if let playbook {
            guard let contents = try? String(contentsOfFile: playbook, encoding: .utf8) else {
                throw console.fail(
                    CommandLineError(
                        "cannot read the playbook \(playbook)",
                        next: "check the path, or leave --playbook out to draw the built-in one"))
            }
            (text, file) = (contents, playbook)
        } else {
            (text, file) = BuiltInPhases.defaultPlaybook
        }
        do {
            let loaded = try Playbook.load(yaml: text, file: file, builtIns: BuiltInPhases.names)
            console.out.write(format == .dot ? loaded.dot : loaded.mermaid)
        } catch {
            throw console.fail(error)
        }
    }
}

struct InventoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory", abstract: "Work with inventory files.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert another tool's inventory into a Cairn inventory (printed on stdout).")

        @Option(help: "The format to read: kubespray (inventory.ini or hosts.yaml).")
        var from: String

        @Argument(help: "The file to convert.")
        var file: String

        func run() async throws {
            let console = Console()
            guard from == "kubespray" else {
                throw console.fail(
                    CommandLineError(
                        "cannot import --from \(from): only kubespray inventories are supported",
                        next: "cairn inventory import --from kubespray FILE"))
            }
            do {
                let (yaml, notes) = try InventoryCommands.importKubespray(path: file)
                console.out.write(yaml + (yaml.hasSuffix("\n") ? "" : "\n"))
                for note in notes { console.note("note", note) }
            } catch {
                throw console.fail(error)
            }
        }
    }
}

/// `cairn kubeconfig`: the admin kubeconfig that `apply` fetched.
struct Kubeconfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the cluster's admin kubeconfig, or write it to a file (0600).",
        discussion: """
              cairn kubeconfig -i cluster.yaml > ~/.kube/config
              cairn kubeconfig -i cluster.yaml -o admin.conf
              KUBECONFIG=$(cairn kubeconfig -i cluster.yaml --path) kubectl get nodes
            With kubernetes.apiEndpoint.nodeLocal it has one context per control-plane host, the
            first current; --control-plane picks another:
              cairn kubeconfig -i cluster.yaml --control-plane node2 > ~/.kube/config
            """)

    @OptionGroup var inventory: InventoryOptions

    @Option(name: .shortAndLong, help: "Write it to this file (mode 0600) instead of printing it.")
    var output: String?

    @Flag(help: "Print where the kubeconfig is kept instead of its contents.")
    var path = false

    @Option(
        name: .customLong("control-plane"),
        help: "nodeLocal endpoint: make this control-plane host's API server the current context.")
    var controlPlane: String?

    func run() async throws {
        let console = Console()
        let loaded = try console.loadInventory(inventory.inventory)
        let source = KubeconfigPhase.path(loaded.inventory)
        guard var data = FileManager.default.contents(atPath: source.path) else {
            throw console.fail(
                CommandLineError(
                    "no kubeconfig at \(source.path) yet", next: "run `cairn apply -i \(inventory.inventory)` first",
                    exitCode: .failure))
        }
        if path {
            console.out.line(source.path)
            return
        }
        if let controlPlane {
            do {
                data = try OperatorKubeconfig.selecting(
                    controlPlane: controlPlane, in: data, topology: Topology(loaded.inventory))
            } catch {
                throw console.fail(error)
            }
        }
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: data, attributes: [.posixPermissions: 0o600])
            else {
                throw console.fail(
                    CommandLineError(
                        "cannot write \(output)", next: "check that its directory exists and is writable",
                        exitCode: .failure))
            }
            console.out.line("wrote \(output)")
        } else {
            // The kubeconfig itself holds a client key: written as is, not through the redacting stream.
            FileHandle.standardOutput.write(data)
        }
    }
}

/// `cairn report`: where a run's HTML report is (rendered again from its journal).
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the path of a run's HTML report (timeline per host, gate results).",
        discussion: """
            Every run writes STATE/runs/RUN/journal.jsonl and report.html. Without RUN, the latest.
              cairn report -i cluster.yaml
              xdg-open "$(cairn report -i cluster.yaml)"
            """)

    @OptionGroup var inventory: InventoryOptions

    @Argument(help: "The run id (default: the latest run).")
    var run: String?

    func run() async throws {
        let console = Console()
        let loaded = try console.loadInventory(inventory.inventory)
        let runs = URL(fileURLWithPath: loaded.inventory.stateDirectory).appendingPathComponent("runs")
        let directory = runs.appendingPathComponent(run ?? "latest").resolvingSymlinksInPath()
        let journal = directory.appendingPathComponent("journal.jsonl")
        guard FileManager.default.fileExists(atPath: journal.path) else {
            throw console.fail(
                CommandLineError(
                    "no run \(run ?? "yet") in \(runs.path)",
                    next: run == nil
                        ? "run `cairn plan -i \(inventory.inventory)` or `cairn apply` first"
                        : "list the runs with `ls \(runs.path)`", exitCode: .failure))
        }
        let html = try RunReport.render(journal: journal)
        let url = directory.appendingPathComponent("report.html")
        _ = FileManager.default.createFile(
            atPath: url.path, contents: Data(html.utf8), attributes: [.posixPermissions: 0o600])
        console.out.line(url.path)
    }
}

/// `cairn show PLAN-FILE`: a saved plan, as `plan` showed it.
struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a plan saved by `cairn plan --out` (text, or --output json).")

    @Argument(help: ArgumentHelp("The saved plan.", valueName: "PLAN-FILE"))
    var planFile: String

    @Option(help: "text or json.")
    var output: String = "text"

    func run() async throws {
        let console = Console()
        let plan: SavedPlan
        do {
            plan = try SavedPlan.read(URL(fileURLWithPath: planFile))
        } catch {
            console.report(error)
            throw ExitCode(CairnExitCode.invalidInput.rawValue)
        }
        if output == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            console.out.line(String(decoding: try encoder.encode(plan), as: UTF8.self))
            return
        }
        guard output == "text" else {
            throw console.fail(CommandLineError("--output \(output): use text or json"))
        }
        let out = console.out
        out.line(
            out.bold("Plan \(planFile)") + " for cluster \"\(plan.cluster)\" (\(plan.inventoryPath)), made "
                + ISO8601DateFormatter().string(from: plan.created)
                + " by Cairn \(plan.cairnVersion), run \(plan.runID)")
        for phase in plan.phases where !phase.actions.isEmpty || !phase.notes.isEmpty {
            out.line(
                out.bold(phase.name)
                    + (phase.factsPredateChanges ? out.dim("  (re-planned after the phases before it)") : ""))
            for note in phase.notes { out.line("  " + out.dim(note)) }
            for step in phase.actions {
                out.line("  \(step.host): \(step.summary)" + (step.predicted ? out.dim(" (predicted)") : ""))
                for detail in step.details { out.line("      " + detail) }
            }
        }
        let hosts = Set(plan.phases.flatMap { $0.actions.map(\.host) }).count
        out.line(
            plan.actionCount == 0
                ? "No changes."
                : "\(plan.actionCount) change\(plan.actionCount == 1 ? "" : "s") on \(hosts) host\(hosts == 1 ? "" : "s")."
        )
    }
}
