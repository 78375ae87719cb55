import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import Foundation
import Synchronization

/// kubectl on the first control-plane host, through its admin.conf (so through the endpoint).
public struct Kubectl: Sendable {
    public let executor: any HostExecutor

    public init(executor: any HostExecutor) {
        self.executor = executor
    }

    func command(_ arguments: [String]) -> RemoteCommand {
        RemoteCommand("kubectl", ["--kubeconfig", KubernetesLayout.adminConf, "--request-timeout=20s"] + arguments)
    }

    public func run(_ arguments: [String], stdin: Data? = nil) async throws -> CommandOutput {
        try await executor.run(command(arguments), stdin: stdin, timeout: .seconds(60))
    }

    /// `kubectl get … -o json` decoded as a loose JSON object.
    public func json(_ arguments: [String]) async throws -> [String: Any] {
        let output = try await run(["get"] + arguments + ["-o", "json"])
        guard output.succeeded, let object = try JSONSerialization.jsonObject(with: output.stdout) as? [String: Any] else {
            throw AddonError.kubectl(host: executor.hostName, command: "kubectl get " + arguments.joined(separator: " "),
                                     message: output.stderrTail(lines: 2).joined(separator: " / "))
        }
        return object
    }

    public func items(_ arguments: [String]) async throws -> [[String: Any]] {
        try await json(arguments)["items"] as? [[String: Any]] ?? []
    }

    /// Server-side apply of a file already on the host. Retries, within `patience`, the errors a
    /// fresh add-on gives while it starts: CRDs not established yet, a webhook not serving yet
    /// (MetalLB's known race).
    public func apply(file: String, clock: any EngineClock, patience: Duration = .seconds(180), phase: String = "add-ons") async throws {
        let deadline = clock.now.advanced(by: patience)
        while true {
            let output = try await executor.run(command(["apply", "--server-side", "--field-manager=cairn", "--force-conflicts", "-f", file]),
                                                stdin: nil, timeout: .seconds(180))
            if output.succeeded { return }
            let text = output.stderrText
            let transient = text.contains("failed calling webhook") || text.contains("ensure CRDs are installed first")
                || text.contains("no matches for kind") || text.contains("connection refused") || text.contains("the server could not find the requested resource")
            guard transient else {
                throw AddonError.kubectl(host: executor.hostName, command: "kubectl apply --server-side -f \(file)",
                                         message: output.stderrTail(lines: 4).joined(separator: " / "))
            }
            guard clock.now < deadline else {
                // Still refused after the patience: the add-on did not become ready (exit 75).
                throw EngineError.gateFailed(phase: phase, gate: "the API accepts \(file.split(separator: "/").last ?? "")",
                                             reason: output.stderrTail(lines: 2).joined(separator: " / "), waited: patience)
            }
            try await clock.sleep(for: .seconds(3))
        }
    }
}

public enum AddonError: Error, CairnReportableError {
    case kubectl(host: String, command: String, message: String)
    case preflight(problems: [String])

    public var host: String? {
        if case .kubectl(let host, _, _) = self { return host }
        return nil
    }

    public var summary: String {
        switch self {
        case .kubectl(let host, let command, let message): return "`\(command)` failed on \(host): \(message)"
        case .preflight(let problems): return "storage preflight failed: \(problems.count) problem\(problems.count == 1 ? "" : "s"); nothing was deployed"
        }
    }

    public var details: [String] {
        if case .preflight(let problems) = self { return problems }
        return []
    }

    public var nextStep: String? {
        switch self {
        case .kubectl: return "check the API with `cairn exec --hosts FIRST-CP -- kubectl --kubeconfig /etc/kubernetes/admin.conf get pods -A`, then rerun"
        case .preflight: return "give Ceph empty raw devices (no filesystem, no partitions), install lvm2, then rerun"
        }
    }
}

/// One add-on: upstream manifests (fetched, checksummed, applied in order) and Cairn's own
/// configuration rendered from a template, recorded in a ConfigMap so that a rerun applies
/// nothing when nothing changed — and shows a diff when the rendered configuration did.
public struct AddonDefinition: Sendable {
    public let name: String
    public let version: String
    public let manifests: [ArtifactSpec]
    public let rendered: String?
    /// Objects that must exist for the record to be trusted (`namespace kind/name`); one missing
    /// means someone removed the add-on, and it is applied again.
    public let mustExist: [(namespace: String, object: String)]
    /// Idempotent scripts run on the first control-plane host before the rendered configuration.
    var beforeRendered: [(summary: String, script: EmbeddedScript)] = []
}

/// What an add-on phase learns, in one round trip on the first control-plane host.
public struct AddonFacts: Sendable, Decodable {
    public let record: [String: String]?
    public let missing: [String]

}

public struct AddonPhase: Phase {
    public let name: String
    public let title: String
    let definition: @Sendable (Inventory) throws -> AddonDefinition
    let inventory: Inventory
    let gateCheck: (@Sendable (Kubectl, PhaseContext, GateRun) async throws -> Gate.Outcome)?
    let gateTimeout: Duration
    let enabled: Bool
    /// Set when this run applied the add-on, so its gate can do the costlier end-to-end checks
    /// (a test volume) only then; a converged rerun verifies health alone.
    let appliedThisRun = AppliedFlag()

    /// What a gate knows about the run it verifies.
    public struct GateRun: Sendable {
        public let appliedThisRun: Bool
    }

    final class AppliedFlag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    public init(name: String, title: String, inventory: Inventory, enabled: Bool = true, gateTimeout: Duration = .seconds(300),
                definition: @escaping @Sendable (Inventory) throws -> AddonDefinition,
                gate: (@Sendable (Kubectl, PhaseContext, GateRun) async throws -> Gate.Outcome)?) {
        self.name = name
        self.title = title
        self.inventory = inventory
        self.definition = definition
        self.gateCheck = gate
        self.gateTimeout = gateTimeout
        self.enabled = enabled
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> AddonFacts {
        guard enabled else { return AddonFacts(record: nil, missing: []) }
        let addon = try definition(inventory)
        let arguments = [addon.name] + addon.mustExist.flatMap { [$0.namespace, $0.object] }
        let output = try await executor.run(RemoteCommand.script(.cairnFactsAddon, arguments: arguments))
        // Before the cluster exists (plan mode), kubectl cannot answer: nothing is recorded.
        return (try? JSONDecoder().decode(AddonFacts.self, from: output.stdout)) ?? AddonFacts(record: nil, missing: ["the API"])
    }

    public func plan(facts: [EngineHost: AddonFacts], context: PhaseContext) throws -> PhasePlan {
        guard enabled else { return PhasePlan(notes: ["disabled in the inventory"]) }
        guard let host = context.hosts.first, let fact = facts[host] else { return PhasePlan() }
        let addon = try definition(inventory)
        let fetcher = context.run.values[ArtifactsKey.self]
        let store = fetcher as? ArtifactStore
        let predicted = context.isPredicted(host.name)
        let record = fact.record ?? [:]
        let reapplyAll = !fact.missing.isEmpty && fact.record != nil
        var notes: [String] = []
        if reapplyAll { notes.append("\(addon.name) was applied before, but \(fact.missing.joined(separator: ", ")) is gone: applying it again") }

        var actions: [Action] = []
        let directory = KubernetesLayout.cairnDirectory + "/addons/" + addon.name
        for spec in addon.manifests {
            let key = "manifest." + fileName(spec)
            let locked = store?.lockedHash(for: spec)
            let recorded = record[key]
            let unchanged = recorded != nil && recorded == (locked ?? recorded) && record["version"] == addon.version
            if unchanged && !reapplyAll { continue }
            let origin = fetcher?.origin(of: spec) ?? spec.url
            let path = directory + "/" + fileName(spec)
            actions.append(Action(host: host.name, summary: "apply \(fileName(spec)) (\(addon.name) v\(addon.version), \(origin))", predicted: predicted) { env in
                guard let fetcher = env.context.values[ArtifactsKey.self] else { throw EngineError.internalInconsistency("no artifact source") }
                let artifact = try await fetcher.fetch(spec)
                let executor = try env.host()
                _ = try await executor.upload(try Data(contentsOf: artifact.path), to: path, mode: "600", owner: "root:root")
                try await Kubectl(executor: executor).apply(file: path, clock: env.context.clock)
            })
        }
        for step in addon.beforeRendered where !actions.isEmpty || fact.record == nil {
            actions.append(.command(host: host.name, summary: step.summary, RemoteCommand.script(step.script), predicted: predicted))
        }
        if let rendered = addon.rendered, rendered != record["rendered"] || reapplyAll || !actions.isEmpty {
            let previous = record["rendered"]
            let what = previous == nil ? "new" : (previous == rendered ? "unchanged, reapplied" : "changed: " + LineDiff.summary(from: previous!, to: rendered))
            let path = directory + "/cairn.yaml"
            let details = previous == nil ? [] : LineDiff.lines(from: previous!, to: rendered)
            actions.append(Action(host: host.name, summary: "apply Cairn's \(addon.name) configuration (\(what))", details: details, predicted: predicted) { env in
                let executor = try env.host()
                _ = try await executor.upload(Data(rendered.utf8), to: path, mode: "600", owner: "root:root")
                try await Kubectl(executor: executor).apply(file: path, clock: env.context.clock,
                                                            patience: env.context.gateTimeout ?? .seconds(180), phase: env.phase)
            })
        }
        if !actions.isEmpty {
            let manifests = addon.manifests, appliedThisRun = appliedThisRun
            let version = addon.version, addonName = addon.name, rendered = addon.rendered
            actions.append(Action(host: host.name, summary: "record \(addonName) v\(version) as applied (ConfigMap kube-system/cairn-addon-\(addonName))",
                                  predicted: predicted) { env in
                appliedThisRun.set()
                var data: [String: String] = ["version": version]
                for spec in manifests {
                    if let fetcher = env.context.values[ArtifactsKey.self] { data["manifest." + fileName(spec)] = try await fetcher.fetch(spec).sha256 }
                }
                if let rendered { data["rendered"] = rendered }
                let object: [String: Any] = ["apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": ["name": "cairn-addon-\(addonName)", "namespace": "kube-system",
                                                          "labels": ["app.kubernetes.io/managed-by": "cairn", "cairn.dev/addon": addonName]],
                                             "data": data]
                let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                let executor = try env.host()
                let path = directory + "/record.json"
                _ = try await executor.upload(json, to: path, mode: "600", owner: "root:root")
                try await Kubectl(executor: executor).apply(file: path, clock: env.context.clock)
            })
        }
        return PhasePlan(actions: actions, execution: .serial, notes: notes)
    }

    public func gate(context: PhaseContext) -> Gate? {
        guard enabled, let check = gateCheck, let host = context.hosts.first else { return nil }
        return Gate(name: "\(name) ready", timeout: gateTimeout, initialDelay: .seconds(1), maximumDelay: .seconds(5)) { context in
            let executor = try await context.run.executors.executor(for: host)
            return try await check(Kubectl(executor: executor), context, GateRun(appliedThisRun: appliedThisRun.isSet))
        }
    }
}
