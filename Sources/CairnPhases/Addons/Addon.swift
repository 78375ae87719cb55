import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import Foundation
import Synchronization

/// One cluster add-on, everything about it in one file: what the inventory says about it (its
/// `Settings`, read and validated by the inventory loader), the upstream manifests and the
/// configuration Cairn renders from a template under `playbooks/addons/`, the objects whose absence
/// means it was removed, its verification gate and its rows in `cairn status`.
///
/// `Addons.all` lists them in the order their phases run; the phase list, `cairn status`'s
/// workload table and the add-on part of docs/phases.md are derived from it.
public protocol Addon: Sendable {
    associatedtype Settings: AddonSettings
    /// The phase name (`cairn plan` shows it; playbooks name it).
    static var name: String { get }
    /// Its row of docs/phases.md: what it installs, and what its gate checks.
    static var documentation: (does: String, gate: String) { get }

    init(settings: Settings, topology: Topology)

    /// One line for progress output.
    var title: String { get }
    /// Whether this inventory installs it.
    var isEnabled: Bool { get }
    /// How long its gate may wait.
    var gateTimeout: Duration { get }
    /// What to apply for this inventory.
    func definition() throws -> AddonDefinition
    /// The verification: passes when the add-on works; while waiting, says what it waits for.
    func gate(_ check: AddonCheck) async throws -> Gate.Outcome
    /// The workloads `cairn status` shows for it.
    var workloads: [Workload] { get }
    /// Anything more `cairn status` should show (Ceph's health).
    func report(into status: inout ClusterStatus, kubectl: Kubectl) async
    /// Phases of its own besides the add-on phase (Ceph's storage preflight).
    var extraPhases: [any Phase] { get }
}

extension Addon {
    public func report(into status: inout ClusterStatus, kubectl: Kubectl) async {}
    public var extraPhases: [any Phase] { [] }

    /// The add-on as the inventory describes it.
    public static func make(_ topology: Topology) -> Self {
        Self(settings: topology.inventory.addons[Settings.self], topology: topology)
    }

    public static var settingsType: any AddonSettings.Type { Settings.self }
}

/// What a gate works with.
public struct AddonCheck: Sendable {
    public let kubectl: Kubectl
    public let clock: any EngineClock
    /// This run applied the add-on: a gate may do its costlier end-to-end checks (a test volume,
    /// a test LoadBalancer) only then, so a converged rerun verifies health alone.
    public let appliedThisRun: Bool
}

/// A Deployment or DaemonSet of an add-on, as `cairn status` shows it.
public struct Workload: Sendable, Equatable {
    public enum Kind: String, Sendable { case deployment, daemonset }
    /// The row's name in `cairn status`.
    public let name: String
    public let kind: Kind
    /// The object's name in the cluster.
    public let object: String
    public let namespace: String
    /// The label selector of its pods.
    public let selector: String

    public init(_ name: String, _ kind: Kind, object: String? = nil, namespace: String, selector: String) {
        self.name = name
        self.kind = kind
        self.object = object ?? name
        self.namespace = namespace
        self.selector = selector
    }
}

/// What an add-on applies for one inventory: upstream manifests (fetched, checksummed, applied in
/// order) and Cairn's own configuration rendered from a template, recorded in a ConfigMap so that a
/// rerun applies nothing when nothing changed — and shows a diff when the configuration did.
public struct AddonDefinition: Sendable {
    public var name: String
    public var version: String
    public var manifests: [ArtifactSpec]
    public var rendered: String?
    /// Objects that must exist for the record to be trusted (`namespace`, `kind/name`); one missing
    /// means someone removed the add-on, and it is applied again.
    public var mustExist: [ObjectReference]
    /// Idempotent scripts run on the first control-plane host before the rendered configuration.
    var beforeRendered: [(summary: String, script: EmbeddedScript)] = []

    public struct ObjectReference: Sendable, Equatable {
        public let namespace: String
        public let object: String
        public init(_ namespace: String, _ object: String) {
            self.namespace = namespace
            self.object = object
        }
    }
}

/// What an add-on phase learns from the run's `ClusterSnapshot` (read on the first control-plane host).
public struct AddonFacts: Sendable, Codable, Equatable {
    /// The ConfigMap `kube-system/cairn-addon-NAME` of the last apply; nil: never applied.
    public let record: [String: String]?
    /// `namespace/kind/name` of the objects of `mustExist` that are gone (or "the API").
    public let missing: [String]

    public init(record: [String: String]?, missing: [String]) {
        self.record = record
        self.missing = missing
    }

    static func path(_ addon: String, _ file: String) -> String {
        KubernetesLayout.cairnDirectory + "/addons/" + addon + "/" + file
    }
}

/// A step of an add-on's plan. Steps are data, decided from facts alone by `AddonPlanner`.
public enum AddonStep: Sendable, Equatable {
    /// Fetch an upstream manifest, copy it to the host and apply it server-side.
    case applyManifest(ArtifactSpec, path: String, origin: String)
    /// Run an idempotent script before Cairn's configuration.
    case runScript(summary: String, script: String)
    /// Apply Cairn's rendered configuration; `change` says new/changed/reapplied.
    case applyConfiguration(content: String, path: String, change: String, diff: [String])
    /// Record what was applied (`kube-system/cairn-addon-NAME`).
    case record(data: [String: String]?)
}

/// Decides what an add-on needs from the definition and the facts: nothing when the record says
/// the same version, manifests and configuration were applied and its objects are all there.
public struct AddonPlanner: Sendable {
    public let definition: AddonDefinition
    /// The checksum the lock file holds for a manifest (nil: not locked yet).
    public let lockedHash: @Sendable (ArtifactSpec) -> String?
    public let origin: @Sendable (ArtifactSpec) -> String

    public init(
        definition: AddonDefinition, lockedHash: @escaping @Sendable (ArtifactSpec) -> String? = { _ in nil },
        origin: @escaping @Sendable (ArtifactSpec) -> String = { $0.url }
    ) {
        self.definition = definition
        self.lockedHash = lockedHash
        self.origin = origin
    }

    public func plan(_ facts: AddonFacts) -> (steps: [AddonStep], notes: [String]) {
        let addon = definition
        let record = facts.record ?? [:]
        let reapplyAll = !facts.missing.isEmpty && facts.record != nil
        var notes: [String] = []
        if reapplyAll {
            notes.append(
                "\(addon.name) was applied before, but \(facts.missing.joined(separator: ", ")) is gone: applying it again"
            )
        }
        var steps: [AddonStep] = []
        for spec in addon.manifests {
            let recorded = record["manifest." + fileName(spec)]
            let locked = lockedHash(spec)
            let unchanged = recorded != nil && recorded == (locked ?? recorded) && record["version"] == addon.version
            if unchanged && !reapplyAll { continue }
            steps.append(.applyManifest(spec, path: AddonFacts.path(addon.name, fileName(spec)), origin: origin(spec)))
        }
        for step in addon.beforeRendered where !steps.isEmpty || facts.record == nil {
            steps.append(.runScript(summary: step.summary, script: step.script.rawValue))
        }
        if let rendered = addon.rendered, rendered != record["rendered"] || reapplyAll || !steps.isEmpty {
            let previous = record["rendered"]
            let change =
                previous == nil
                ? "new"
                : (previous == rendered
                    ? "unchanged, reapplied" : "changed: " + LineDiff.summary(from: previous!, to: rendered))
            steps.append(
                .applyConfiguration(
                    content: rendered, path: AddonFacts.path(addon.name, "cairn.yaml"), change: change,
                    diff: previous.map { LineDiff.lines(from: $0, to: rendered) } ?? []))
        }
        if !steps.isEmpty { steps.append(.record(data: nil)) }
        return (steps, notes)
    }
}

/// The phase of any add-on: facts in one round trip, `AddonPlanner`'s steps as actions, the
/// add-on's gate.
public struct AddonPhase<A: Addon>: Phase {
    public let addon: A
    public var name: String { A.name }
    public var title: String { addon.title }
    /// Set when this run applied the add-on (see `AddonCheck.appliedThisRun`).
    let appliedThisRun = AppliedFlag()

    final class AppliedFlag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }

    public init(_ addon: A) {
        self.addon = addon
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> AddonFacts
    {
        guard addon.isEnabled else { return AddonFacts(record: nil, missing: []) }
        let definition = try addon.definition()
        // One snapshot answers every add-on phase of the run. Before the cluster exists (plan
        // mode), kubectl cannot answer: nothing is recorded.
        guard
            let snapshot = try? await ClusterSnapshot.current(Kubectl(executor: executor), cache: context.run.factCache)
        else { return AddonFacts(record: nil, missing: ["the API"]) }
        return snapshot.addonFacts(definition)
    }

    public func plan(facts: [EngineHost: AddonFacts], context: PhaseContext) throws -> PhasePlan {
        guard addon.isEnabled else { return PhasePlan(notes: ["disabled in the inventory"]) }
        guard let host = context.hosts.first, let fact = facts[host] else { return PhasePlan() }
        let definition = try addon.definition()
        let fetcher = context.run.values[ArtifactsKey.self]
        let planner = AddonPlanner(
            definition: definition, lockedHash: { fetcher?.lockedHash(for: $0) },
            origin: { fetcher?.origin(of: $0) ?? $0.url })
        let (steps, notes) = planner.plan(fact)
        let predicted = context.isPredicted(host.name)
        let actions = steps.map { action(for: $0, definition: definition, host: host.name, predicted: predicted) }
        return PhasePlan(actions: actions, execution: .serial, notes: notes)
    }

    func action(for step: AddonStep, definition: AddonDefinition, host: String, predicted: Bool) -> Action {
        switch step {
        case .applyManifest(let spec, let path, let origin):
            return Action(
                host: host, summary: "apply \(fileName(spec)) (\(definition.name) v\(definition.version), \(origin))",
                predicted: predicted
            ) { env in
                guard let fetcher = env.context.values[ArtifactsKey.self] else {
                    throw EngineError.internalInconsistency("no artifact source")
                }
                let artifact = try await fetcher.fetch(spec)
                let executor = try env.host()
                _ = try await executor.upload(
                    try Data(contentsOf: artifact.path), to: path, mode: "600", owner: "root:root")
                try await Kubectl(executor: executor).apply(file: path, clock: env.context.clock)
            }
        case .runScript(let summary, let name):
            let script = EmbeddedScript(rawValue: name)!
            return .command(host: host, summary: summary, .script(script), predicted: predicted)
        case .applyConfiguration(let content, let path, let change, let diff):
            return Action(
                host: host, summary: "apply Cairn's \(definition.name) configuration (\(change))", details: diff,
                predicted: predicted
            ) { env in
                try await Kubectl(executor: env.host()).apply(
                    content, at: path, clock: env.context.clock,
                    patience: env.context.gateTimeout ?? .seconds(180), phase: env.phase)
            }
        case .record:
            let appliedThisRun = self.appliedThisRun
            return Action(
                host: host,
                summary:
                    "record \(definition.name) v\(definition.version) as applied (ConfigMap kube-system/cairn-addon-\(definition.name))",
                predicted: predicted
            ) { env in
                appliedThisRun.set()
                var data: [String: String] = ["version": definition.version]
                if let fetcher = env.context.values[ArtifactsKey.self] {
                    for spec in definition.manifests {
                        data["manifest." + fileName(spec)] = try await fetcher.fetch(spec).sha256
                    }
                }
                if let rendered = definition.rendered { data["rendered"] = rendered }
                let record = K8s.ConfigMap(
                    metadata: K8s.ObjectMeta(
                        name: "cairn-addon-\(definition.name)", namespace: "kube-system",
                        labels: ["app.kubernetes.io/managed-by": "cairn", "cairn.dev/addon": definition.name]),
                    data: data)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let json = String(decoding: try encoder.encode(record), as: UTF8.self)
                try await Kubectl(executor: env.host()).apply(
                    json, at: AddonFacts.path(definition.name, "record.json"), clock: env.context.clock)
            }
        }
    }

    public func gate(context: PhaseContext) -> Gate? {
        guard addon.isEnabled, let host = context.hosts.first else { return nil }
        let addon = self.addon
        let appliedThisRun = self.appliedThisRun
        return Gate(
            name: "\(A.name) ready", timeout: addon.gateTimeout, initialDelay: .seconds(1), maximumDelay: .seconds(5)
        ) { context in
            let executor = try await context.run.executors.executor(for: host)
            // While nothing changed since this run read the cluster's snapshot, the gate looks there
            // first: a pass stands; anything else is asked of the API.
            if let snapshot = await ClusterSnapshot.existing(host.name, cache: context.run.factCache),
                case .passed(let message)? = try? await addon.gate(
                    AddonCheck(
                        kubectl: Kubectl(executor: executor, snapshot: snapshot), clock: context.run.clock,
                        appliedThisRun: appliedThisRun.isSet))
            {
                return .passed(message)
            }
            return try await addon.gate(
                AddonCheck(
                    kubectl: Kubectl(executor: executor), clock: context.run.clock, appliedThisRun: appliedThisRun.isSet
                ))
        }
    }
}

/// Replica counts and tolerations for workloads spread over distinct nodes.
enum Spread {
    /// With hosts in two or more zones, a spread of the replicas over zones (maxSkew 1), as the
    /// last item of a Deployment template's `topologySpreadConstraints` (or the whole list when
    /// `withKey`); empty otherwise.
    static func overZones(_ topology: Topology, matchLabels: [String: String], withKey: Bool = false) -> String {
        let zones = Set(topology.nodes.compactMap(\.zone))
        guard zones.count > 1 else { return "" }
        let labels = matchLabels.sorted { $0.key < $1.key }.map { "            \($0.key): \($0.value)" }
        return
            ((withKey ? ["      topologySpreadConstraints:"] : []) + [
                "      - maxSkew: 1",
                "        topologyKey: \(Host.zoneLabel)",
                "        whenUnsatisfiable: ScheduleAnyway",
                "        labelSelector:",
                "          matchLabels:",
            ] + labels).joined(separator: "\n")
    }

    /// The control-plane taint toleration, indented for the Deployment templates.
    static let controlPlaneToleration = """
              tolerations:
              - key: node-role.kubernetes.io/control-plane
                operator: Exists
                effect: NoSchedule
        """

    /// A Deployment's replicas available on distinct nodes; its Service with endpoints (and,
    /// when asked, a LoadBalancer address).
    static func gate(
        _ kubectl: Kubectl, namespace: String, deployment: String, selector: String, replicas: Int,
        service: String, needsAddress: Bool
    ) async throws -> Gate.Outcome {
        let object = try await kubectl.get(K8s.Deployment.self, ["deployment", deployment, "-n", namespace])
        if object.desired != replicas {
            return .notYet("\(deployment) has \(object.desired) replicas, \(replicas) wanted")
        }
        if object.available < replicas {
            let problems =
                try await kubectl.failedJobs(namespace: namespace)
                + kubectl.podProblems(namespace: namespace, selector: selector)
            return .notYet(
                "\(object.available) of \(replicas) \(deployment) replicas available"
                    + (problems.isEmpty ? "" : "; " + problems.prefix(3).joined(separator: "; ")))
        }
        let running = try await kubectl.list(K8s.Pod.self, ["pods", "-n", namespace, "-l", selector]).filter(
            \.isRunning)
        let nodes = Set(running.compactMap(\.nodeName))
        if nodes.count < min(replicas, running.count) {
            return .notYet("\(deployment) replicas share nodes: \(nodes.sorted().joined(separator: ", "))")
        }
        let endpoints = try? await kubectl.get(K8s.Endpoints.self, ["endpoints", service, "-n", namespace])
        if endpoints?.readyAddresses.isEmpty != false { return .notYet("service \(service) has no endpoints yet") }
        var note = ""
        if needsAddress {
            let svc = try await kubectl.get(K8s.Service.self, ["service", service, "-n", namespace])
            guard let ip = svc.loadBalancerIP else {
                return .notYet("service \(service) has no LoadBalancer address yet")
            }
            note = ", service \(service) at \(ip)"
        }
        return .passed("\(replicas) \(deployment) replicas on \(nodes.sorted().joined(separator: ", "))\(note)")
    }
}
