import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// What the upgrade phase learns from one host: its node facts and, on the first control plane
/// when anything is not at the target, the cluster's own version (kubeadm's configuration).
public struct UpgradeFacts: Sendable, Codable, Equatable {
    public let node: NodeFacts
    /// ClusterConfiguration.kubernetesVersion from kube-system/kubeadm-config (nil: not read).
    public let clusterVersion: String?
    /// PodDisruptionBudgets that allow no eviction now, "namespace/name (healthy H of D)"; read
    /// with the cluster's version.
    public var blockingBudgets: [String]? = nil
    /// APIs the target release removes that the cluster serves now, each with what it holds
    /// ("networking.k8s.io/v1beta1: 2 IPAddress"); read with the cluster's version.
    public var removedAPIsInUse: [String]? = nil
    /// The end of each certificate's validity on the host, by path (seconds since 1970); read
    /// on the first control-plane host with the cluster's version.
    public var certificatesNotAfter: [String: Int]? = nil
}

/// Raising `kubernetes.version` upgrades the cluster here, before new hosts join: a preflight of
/// live health, then node by node (the first control plane with `kubeadm upgrade apply`, the
/// other control planes one at a time, workers in batches): cordon and drain through the
/// Eviction API, kubeadm's part, new kubeadm/kubelet/kubectl, kubelet restart, the node Ready at
/// the new version (and for control planes the API through the endpoint and etcd healthy),
/// uncordon; Ceph HEALTH_OK before the next storage host. Nothing to do on a cluster at its
/// version, or on a cluster not built yet.
public struct KubernetesUpgradePhase: Phase {
    public let name = "kubernetes-upgrade"
    public let title = "Kubernetes upgrade, one node at a time"
    let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    var target: String { topology.inventory.kubernetes.version }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> UpgradeFacts
    {
        let node = try await NodeFacts.gather(
            executor: executor, advertise: topology.internalAddress(of: host.name), cache: context.run.factCache)
        // The cluster's configuration is read only where and when an upgrade shows.
        guard host.name == topology.firstControlPlane?.name, let nodes = node.nodes?.items else {
            return UpgradeFacts(node: node, clusterVersion: nil)
        }
        let bare = UpgradePlanner.bare
        let behind =
            nodes.contains { bare($0.kubeletVersion ?? "") != bare(target) }
            || bare(node.controlPlaneVersion ?? "") != bare(target)
        guard behind else { return UpgradeFacts(node: node, clusterVersion: nil) }
        let config = try await Kubectl(executor: executor).getIfPresent(
            K8s.ConfigMap.self, ["configmap", "kubeadm-config", "-n", "kube-system"])
        let kubectl = Kubectl(executor: executor)
        let budgets = try await kubectl.list(
            K8s.PodDisruptionBudget.self, ["poddisruptionbudgets", "--all-namespaces"])
        return UpgradeFacts(
            node: node, clusterVersion: config.flatMap { Self.kubernetesVersion(of: $0) },
            blockingBudgets: budgets.filter(\.blocksEviction).map {
                "\($0.metadata.namespace ?? "default")/\($0.metadata.name) (healthy \($0.status?.currentHealthy ?? 0) of \($0.status?.desiredHealthy ?? 0) needed)"
            },
            removedAPIsInUse: try await Self.removedAPIsInUse(kubectl, target: target),
            certificatesNotAfter: try await Self.certificatesNotAfter(executor))
    }

    static let certificateDirectories = ["/etc/kubernetes/pki", EtcdLayout.pkiDirectory]

    /// When each certificate under kubeadm's and etcd's directories stops being valid.
    static func certificatesNotAfter(_ executor: any HostExecutor) async throws -> [String: Int] {
        let output = try await executor.runChecked(
            RemoteCommand.script(.cairnCertExpiry, arguments: certificateDirectories), timeout: .seconds(30))
        var result: [String: Int] = [:]
        for certificate in Certificates.parse(output.stdoutText, host: "") {
            result[certificate.path] = certificate.notAfter
        }
        return result
    }

    /// Certificates that end within `days` of `now`, soonest first: "path (in N days)".
    static func expiringSoon(_ notAfter: [String: Int], now: Date, days: Int = 30) -> [String] {
        let limit = Int(now.timeIntervalSince1970) + days * 86_400
        return notAfter.filter { $0.value < limit }.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map {
            let left = ($0.value - Int(now.timeIntervalSince1970)) / 86_400
            return left < 0 ? "\($0.key) (expired)" : "\($0.key) (in \(left) day\(left == 1 ? "" : "s"))"
        }
    }

    /// The target's removed APIs that the cluster serves (alpha and beta APIs are served only when
    /// enabled), with how many objects each holds.
    static func removedAPIsInUse(_ kubectl: Kubectl, target: String) async throws -> [String] {
        let removed = RemovedAPIs.removed(upgradingTo: target)
        guard !removed.isEmpty else { return [] }
        let answer = try await kubectl.run(["api-versions"])
        guard answer.succeeded else {
            throw KubectlError.failed(
                host: kubectl.executor.hostName, command: "kubectl api-versions",
                message: answer.stderrTail(lines: 2).joined(separator: " / "))
        }
        let served = Set(answer.stdoutText.split(separator: "\n").map(String.init))
        var inUse: [String] = []
        for entry in removed where served.contains(entry.groupVersion) {
            let names = try await kubectl.run(["get", entry.qualifiedResource, "--all-namespaces", "-o", "name"])
            let count = names.succeeded ? names.stdoutText.split(separator: "\n").count : 0
            inUse.append("\(entry.groupVersion): \(count) \(entry.kind)")
        }
        return inUse
    }

    /// `kubernetesVersion:` of the ClusterConfiguration kubeadm keeps in its ConfigMap.
    static func kubernetesVersion(of config: K8s.ConfigMap) -> String? {
        guard let text = config.data["ClusterConfiguration"] else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("kubernetesVersion:") {
            return line.dropFirst("kubernetesVersion:".count).trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }
        return nil
    }

    public func plan(facts: [EngineHost: UpgradeFacts], context: PhaseContext) throws -> PhasePlan {
        let byName = Dictionary(uniqueKeysWithValues: facts.map { ($0.key.name, $0.value) })
        // The node list as the first control-plane host able to read it saw it.
        let anchor = topology.controlPlanes.first { byName[$0.name]?.node.nodes != nil }?.name
        let nodes = anchor.flatMap { byName[$0]?.node.nodes?.items }
        let planner = UpgradePlanner(
            topology: topology, target: target,
            clusterVersion: byName.values.compactMap(\.clusterVersion).first, nodes: nodes,
            facts: byName.mapValues(\.node), limits: topology.inventory.upgrade)
        var (batches, notes) = try planner.plan()
        if !batches.isEmpty, let budgets = byName.values.compactMap(\.blockingBudgets).first, !budgets.isEmpty {
            notes.append(
                "PodDisruptionBudgets allowing no eviction now: \(budgets.joined(separator: ", ")); draining a node "
                    + "with their pods will stop the run (exit 75) unless they allow one by then")
        }
        if !batches.isEmpty, let notAfter = byName.values.compactMap(\.certificatesNotAfter).first {
            let soon = Self.expiringSoon(notAfter, now: Date())
            if !soon.isEmpty {
                notes.append(
                    "certificates ending within 30 days on \(anchor ?? "the first control plane"): "
                        + soon.prefix(6).joined(separator: ", ") + (soon.count > 6 ? ", …" : "")
                        + "; kubeadm renews the control plane's leaf certificates during the upgrade and "
                        + "etcd-pki reissues etcd's below 30 days; a CA ending soon needs a person (docs/pki.md)")
            }
        }
        if !batches.isEmpty, let inUse = byName.values.compactMap(\.removedAPIsInUse).first, !inUse.isEmpty {
            notes.append(
                "served now but removed in \(SupportedVersions.minor(of: UpgradePlanner.bare(target))): "
                    + inUse.joined(separator: ", ")
                    + "; clients of these versions fail after the upgrade, so move them to the served versions first")
        }
        guard let anchor, !batches.isEmpty else { return PhasePlan(notes: notes) }
        let actions = UpgradeActions(topology: topology, anchor: anchor, facts: byName.mapValues(\.node))
        let predicted = context.isPredicted
        let resumed = batches.joined().filter(\.resumed).map(\.host)
        var all = [actions.preflight(resuming: resumed, predicted: predicted(anchor))]
        for batch in batches { all += actions.batch(batch, predicted: predicted) }
        return PhasePlan(actions: all, execution: .serial, notes: notes)
    }
}

/// A drain that did not finish: the node is uncordoned again and the run stops (exit 75).
public struct DrainBlocked: Error, CairnReportableError, Equatable {
    public let node: String
    public let reasons: [String]
    /// The command that continues once the budget allows it.
    public var rerun: String = "cairn apply"

    public var summary: String {
        "draining \(node) did not finish: "
            + (reasons.isEmpty ? "kubectl drain timed out" : reasons.joined(separator: "; "))
            + "; \(node) was uncordoned and nothing else was changed"
    }
    public var host: String? { node }
    public var nextStep: String? {
        "let the PodDisruptionBudget named above allow a disruption (more replicas, or a lower minAvailable), then rerun `\(rerun)`: finished nodes are not redone"
    }
    public var exitCode: CairnExitCode { .gateTimeout }

    /// What `kubectl drain` said blocked it: the budget lines, else its last words.
    static func reasons(in output: CommandOutput) -> [String] {
        let lines = (output.stderrText + "\n" + output.stdoutText).split(separator: "\n").map(String.init)
        let blocked = Set(
            lines.filter { $0.contains("disruption budget") || $0.contains("error when evicting") }.map {
                $0.trimmingCharacters(in: .whitespaces)
            })
        return blocked.isEmpty ? output.stderrTail(lines: 2) : Array(blocked.sorted().prefix(3))
    }
}

/// A node's upgrade step failed after its drain: the node stays cordoned (and annotated), and
/// the next `cairn apply` continues from there.
public struct NodeUpgradeFailed: Error, CairnReportableError, Equatable {
    public let node: String
    public let step: String
    public let output: [String]
    public let attempts: Int

    public var summary: String {
        "`\(step)` failed on \(node)\(attempts > 1 ? " (\(attempts) attempts)" : ""): "
            + output.joined(separator: " / ")
            + "; \(node) stays cordoned for its upgrade (annotation \(UpgradePlanner.annotation))"
    }
    public var host: String? { node }
    public var nextStep: String? {
        "fix what kubeadm names above on \(node), then rerun `cairn apply`: it continues \(node)'s upgrade and uncordons it when done"
    }
    public var exitCode: CairnExitCode { .failure }
}

/// Turns the planner's node upgrades into the engine's actions.
struct UpgradeActions: Sendable {
    let topology: Topology
    /// The control-plane host kubectl runs on.
    let anchor: String
    let facts: [String: NodeFacts]
    var drainTimeout: Int { topology.inventory.upgrade.drainTimeoutSeconds }

    func kubectl(_ env: ActionEnvironment) async throws -> Kubectl {
        Kubectl(executor: try await env.context.executors.executor(forHost: anchor))
    }

    /// Live health before the first node is touched: every etcd member healthy, the API ready
    /// through the endpoint, every node Ready (but those an interrupted upgrade cordoned), Ceph
    /// HEALTH_OK when storage is on. Polled for a minute, so a blip does not stop the run. When
    /// an interrupted upgrade left a node drained, Ceph cannot be healthy before that node is back
    /// (a mon, a mgr or an OSD may live there): its own gate waits for HEALTH_OK before any other
    /// node is touched.
    func preflight(resuming: [String], predicted: Bool) -> Action {
        let topology = self.topology
        let checkCeph = !topology.storageHosts.isEmpty && resuming.isEmpty
        let ceph =
            topology.storageHosts.isEmpty
            ? ""
            : checkCeph
                ? ", Ceph HEALTH_OK"
                : " (Ceph after \(resuming.joined(separator: ", ")), drained by the interrupted run, is back)"
        return Action(
            host: anchor,
            summary: "preflight: etcd quorum with every member healthy, the API ready, every node Ready" + ceph,
            predicted: predicted
        ) { env in
            let kubectl = try await kubectl(env)
            try await Self.wait(for: "upgrade preflight", limit: .seconds(60), clock: env.context.clock) {
                let etcd = try await EtcdHealthCheck.report(
                    members: topology.etcdMembers, hostNames: topology.etcdMembers.map(\.name), context: env.context)
                var problems: [String] = []
                if !etcd.unhealthy.isEmpty {
                    problems.append("etcd members not healthy: \(etcd.unhealthy.joined(separator: ", "))")
                }
                let ready = try await kubectl.run(["get", "--raw", "/readyz"])
                if ready.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) != "ok" {
                    problems.append("the API is not ready through \(topology.apiEndpoint)")
                }
                let nodes = try await kubectl.list(K8s.Node.self, ["nodes"])
                let notReady = nodes.filter {
                    !$0.isReady && $0.metadata.annotations?[UpgradePlanner.annotation] == nil
                }
                if !notReady.isEmpty {
                    problems.append("nodes not Ready: \(notReady.map(\.name).joined(separator: ", "))")
                }
                if checkCeph, case .notYet(let reason) = try await RookCeph.settled(kubectl) {
                    problems.append("Ceph: \(reason)")
                }
                return problems.isEmpty ? nil : problems.joined(separator: "; ")
            }
        }
    }

    /// A batch's nodes are unavailable together: drained together, brought back together.
    func batch(_ batch: [NodeUpgrade], predicted isPredicted: (String) -> Bool) -> [Action] {
        var actions: [Action] = []
        for node in batch { actions.append(drain(node, predicted: isPredicted(node.host))) }
        for node in batch {
            let predicted = isPredicted(node.host)
            if node.binaries.contains("kubeadm") { actions.append(install("kubeadm", node, predicted: predicted)) }
            switch node.kubeadm {
            case .apply:
                actions.append(
                    kubeadm(
                        node, ["upgrade", "apply", "v\(node.to)", "--yes"],
                        summary: "kubeadm upgrade apply v\(node.to) on \(node.host)", timeout: .seconds(900),
                        predicted: predicted))
            case .node:
                actions.append(
                    kubeadm(
                        node, ["upgrade", "node"], summary: "kubeadm upgrade node on \(node.host)",
                        timeout: .seconds(600), predicted: predicted))
            case .none:
                break
            }
            for binary in ["kubelet", "kubectl"] where node.binaries.contains(binary) {
                actions.append(install(binary, node, predicted: predicted))
            }
            // crictl and containerd's configuration follow the kubelet (node-packages leaves
            // them to this phase on a node whose kubelet is behind).
            if let facts = facts[node.host] {
                let runtime = NodePackagesPlanner(kubernetesVersion: node.to).runtimeSteps(
                    host: node.host, node: facts, kubernetes: node.to)
                actions += [runtime.crictl, runtime.containerdConfig].compactMap { $0?.action(predicted: predicted) }
                if runtime.containerdConfig != nil {
                    actions.append(
                        HostStep.run(
                            host: node.host, summary: "restart containerd on \(node.host) (its new configuration)",
                            ServiceCommand.restart("containerd"), timeout: nil
                        ).action(predicted: predicted))
                }
            }
            actions.append(
                HostStep.run(
                    host: node.host, summary: "restart the kubelet on \(node.host)", ServiceCommand.restart("kubelet"),
                    timeout: nil
                ).action(predicted: predicted))
        }
        for node in batch { actions.append(backInService(node, predicted: isPredicted(node.host))) }
        return actions
    }

    /// kubeadm's part of a node's upgrade. Its preflight changes nothing and its checks can fail
    /// on a busy cluster (the health-check Job has 15 s to complete), so a preflight failure is
    /// tried again, twice, after a pause. A failure says that the node stays cordoned.
    func kubeadm(
        _ node: NodeUpgrade, _ arguments: [String], summary: String, timeout: Duration, predicted: Bool
    ) -> Action {
        let command = RemoteCommand("kubeadm", arguments)
        return Action(host: node.host, summary: summary, details: ["$ " + command.description], predicted: predicted) {
            env in
            let executor = try env.host()
            for attempt in 1...3 {
                let output = try await executor.run(command, stdin: nil, timeout: timeout)
                if output.succeeded { return }
                let preflight = output.stderrText.contains("error execution phase preflight")
                if preflight && attempt < 3 {
                    try await env.context.clock.sleep(for: .seconds(10))
                    continue
                }
                throw NodeUpgradeFailed(
                    node: node.host, step: "kubeadm " + arguments.joined(separator: " "),
                    output: output.stderrTail(lines: 6), attempts: preflight ? attempt : 1)
            }
        }
    }

    func install(_ binary: String, _ node: NodeUpgrade, predicted: Bool) -> Action {
        let arch = Architecture.releaseName(machine: facts[node.host]?.machine ?? "x86_64")
        let spec = ArtifactCatalog.kubernetesBinary(binary, version: node.to, arch: arch)
        return HostStep.install(
            host: node.host, summary: "upgrade \(binary) to \(node.to) on \(node.host)", artifact: spec,
            how: .binary(path: "/usr/local/bin/\(binary)")
        ).action(predicted: predicted)
    }

    /// Cordon (marked as Cairn's, so an interrupted run is continued and never leaves a node
    /// cordoned unsaid) and drain through the Eviction API; a drain that cannot finish
    /// uncordons the node and stops the run naming what blocked it.
    func drain(_ node: NodeUpgrade, predicted: Bool) -> Action {
        let summary =
            "\(node.resumed ? "drain again" : "cordon and drain") \(node.host) "
            + (node.from == node.to ? "(finishing its upgrade to \(node.to))" : "(upgrade \(node.from) → \(node.to))")
        return Action(host: node.host, summary: summary, predicted: predicted) { env in
            let kubectl = try await kubectl(env)
            try await Self.succeed(
                kubectl, ["annotate", "node", node.host, "\(UpgradePlanner.annotation)=v\(node.to)", "--overwrite"])
            let output = try await kubectl.executor.run(
                Kubectl.command([
                    "drain", node.host, "--ignore-daemonsets", "--delete-emptydir-data",
                    "--timeout=\(drainTimeout)s",
                ]), stdin: nil, timeout: .seconds(drainTimeout + 60))
            guard output.succeeded else {
                // Back in service as it was: the upgrade of this node has not started.
                _ = try? await kubectl.run(["uncordon", node.host])
                _ = try? await kubectl.run(["annotate", "node", node.host, "\(UpgradePlanner.annotation)-"])
                throw DrainBlocked(node: node.host, reasons: DrainBlocked.reasons(in: output))
            }
        }
    }

    /// The node Ready at the new version (a control plane also serving the API and etcd healthy),
    /// uncordoned, then with storage on Ceph HEALTH_OK again before the next node: Ceph's mons,
    /// mgr and OSDs may live on any node, and a drained node's cannot come back before the uncordon.
    func backInService(_ node: NodeUpgrade, predicted: Bool) -> Action {
        let topology = self.topology
        let ceph = !topology.storageHosts.isEmpty
        let summary =
            "wait for \(node.host) Ready at v\(node.to)"
            + (node.controlPlane ? ", its API server ready and etcd healthy" : "") + "; uncordon \(node.host)"
            + (ceph ? "; wait for Ceph HEALTH_OK" : "")
        return Action(host: node.host, summary: summary, predicted: predicted) { env in
            let kubectl = try await kubectl(env)
            let executor = try env.host()
            try await Self.wait(for: "\(node.host) back at v\(node.to)", clock: env.context.clock) {
                try await Self.notBack(
                    node, kubectl: kubectl, executor: executor, topology: topology, context: env.context)
            }
            try await Self.succeed(kubectl, ["uncordon", node.host])
            try await Self.succeed(kubectl, ["annotate", "node", node.host, "\(UpgradePlanner.annotation)-"])
            guard ceph else { return }
            try await Self.wait(for: "Ceph HEALTH_OK after \(node.host)", clock: env.context.clock) {
                if case .notYet(let reason) = try await RookCeph.settled(kubectl) { return "Ceph: \(reason)" }
                return nil
            }
        }
    }

    /// Polls `problem` every 2 s until it reports nothing, for at most `limit`.
    static func wait(
        for gate: String, limit: Duration = .seconds(600), clock: any EngineClock,
        _ problem: () async throws -> String?
    ) async throws {
        let deadline = clock.now.advanced(by: limit)
        while let reason = try await problem() {
            guard clock.now < deadline else {
                throw EngineError.gateFailed(phase: "kubernetes-upgrade", gate: gate, reason: reason, waited: limit)
            }
            try await clock.sleep(for: .seconds(2))
        }
    }

    /// What still keeps `node` from service (nil: nothing).
    static func notBack(
        _ node: NodeUpgrade, kubectl: Kubectl, executor: any HostExecutor, topology: Topology, context: RunContext
    ) async throws -> String? {
        guard let object = try? await kubectl.get(K8s.Node.self, ["node", node.host]) else {
            return "the API does not answer"
        }
        if !object.isReady { return "\(node.host) is not Ready" }
        if UpgradePlanner.bare(object.kubeletVersion ?? "") != node.to {
            return "\(node.host) reports kubelet \(object.kubeletVersion ?? "?")"
        }
        if node.controlPlane {
            let address = topology.internalAddress(of: node.host)
            let ready = try await executor.run(
                RemoteCommand(
                    "curl", ["-sk", "--max-time", "3", "https://\(EtcdLayout.bracketed(address)):6443/readyz"]),
                stdin: nil, timeout: .seconds(10))
            if ready.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) != "ok" {
                return "the API server on \(node.host) is not ready"
            }
            let etcd = try await EtcdHealthCheck.report(
                members: topology.etcdMembers, hostNames: topology.etcdMembers.map(\.name), context: context)
            if !etcd.unhealthy.isEmpty { return "etcd members not healthy: \(etcd.unhealthy.joined(separator: ", "))" }
        }
        return nil
    }

    static func succeed(_ kubectl: Kubectl, _ arguments: [String]) async throws {
        let output = try await kubectl.run(arguments)
        guard output.succeeded else {
            throw KubectlError.failed(
                host: kubectl.executor.hostName, command: "kubectl " + arguments.joined(separator: " "),
                message: output.stderrTail(lines: 2).joined(separator: " / "))
        }
    }
}
