import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import CairnPKI
import Foundation

/// Puts etcd on its hosts: the release binaries (pushed from the operator, checksummed),
/// the certificates from the operator's PKI, the systemd unit. Hosts in parallel. When
/// something changes under a running member it leaves a restart marker; `etcd-cluster`
/// restarts such members one at a time.
public struct EtcdInstallPhase: Phase {
    public let name = "etcd-install"
    public let title = "etcd binaries, certificates and service"
    let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> EtcdHostFacts
    {
        try await EtcdHostFacts.gather(
            executor: executor, dataDirectory: topology.inventory.etcd.dataDir, cache: context.run.factCache)
    }

    public func plan(facts: [EngineHost: EtcdHostFacts], context: PhaseContext) throws -> PhasePlan {
        let store = try EtcdPKIPhase.store(context.run)
        let fetcher = context.run.values[ArtifactsKey.self]
        let planner = EtcdInstallPlanner(
            version: topology.inventory.etcd.version, isDryRun: context.isDryRun,
            pendingPKI: context.run.values[PendingPKIChangesKey.self] ?? [],
            origin: { fetcher?.origin(of: $0) ?? "upstream" })
        let target = topology.inventory.etcd.version
        // A new version on members that run: refused when etcd cannot make the jump, else
        // preceded by a snapshot (binaries change now, etcd-cluster restarts members one by one).
        let upgrading = context.hosts.filter { host in
            guard let fact = facts[host], fact.active, !fact.version.isEmpty else { return false }
            return fact.version != target
        }
        for host in upgrading {
            if let refusal = SupportedVersions.etcdUpgradeRefusal(from: facts[host]!.version, to: target) {
                throw EtcdError.upgradeRefused(host: host.name, reason: refusal.reason, next: refusal.next)
            }
        }
        let steps = try context.hosts.flatMap { host in
            try facts[host].map {
                try planner.steps(
                    host: host.name, facts: $0, files: PKIFiles.etcdMemberFiles(host: host.name, store: store))
            } ?? []
        }
        var actions = steps.actions(predicted: context.isPredicted)
        if let first = upgrading.first {
            actions.insert(snapshot(before: target, on: first, hosts: context.hosts), at: 0)
        }
        return PhasePlan(actions: actions)
    }

    /// `cairn backup` before an etcd upgrade: a checked snapshot in the state directory's backups/.
    func snapshot(before target: String, on host: EngineHost, hosts: [EngineHost]) -> Action {
        let topology = self.topology
        let destination = URL(fileURLWithPath: topology.inventory.stateDirectory).appendingPathComponent("backups")
        return Action(
            host: host.name, summary: "snapshot etcd before upgrading it to \(target) (into \(destination.path))"
        ) { env in
            let result = try await EtcdBackup.run(
                topology: topology, hosts: hosts, context: env.context, destination: destination)
            env.context.events.emit(
                .note(
                    phase: env.phase, host: result.member,
                    message:
                        "etcd snapshot \(result.path.path): sha256 \(result.sha256), revision \(result.revision), \(result.keys) keys"
                ))
        }
    }
}

/// What an etcd host needs: the binaries at the inventory's version, its certificates, the unit;
/// a running member whose files changed is marked for the rolling restart of `etcd-cluster`.
public struct EtcdInstallPlanner: Sendable {
    public let version: String
    public let isDryRun: Bool
    /// PKI files the PKI phase of this run issues first (`cairn plan` cannot compare them).
    public let pendingPKI: Set<String>
    public var origin: @Sendable (ArtifactSpec) -> String = { _ in "upstream" }

    func steps(host: String, facts fact: EtcdHostFacts, files: [PKIFiles.Desired]) throws -> [HostStep] {
        var steps: [HostStep] = []
        if fact.version != version {
            let arch = Architecture.releaseName(machine: fact.machine)
            let request = ArtifactCatalog.etcd(version: version, arch: arch)
            let what = fact.version.isEmpty ? "install etcd \(version)" : "upgrade etcd \(fact.version)→\(version)"
            steps.append(
                .install(
                    host: host, summary: "\(what) into /usr/local/bin (\(fileName(request)) \(origin(request)))",
                    artifact: request,
                    how: .binaries(
                        inner: "etcd-v\(version)-linux-\(arch)", names: ["etcd", "etcdctl", "etcdutl"], unit: "etcd",
                        marker: EtcdLayout.restartMarker, record: nil)))
        }
        let fileSteps = try PKIFiles.steps(
            host: host, files: files, remoteHashes: fact.certificates, isDryRun: isDryRun, pending: pendingPKI)
        steps += fileSteps
        let unitChanged = fact.unitText != EtcdConfigFiles.unit
        if unitChanged {
            steps.append(
                .write(host: host, path: EtcdLayout.unitFile, content: EtcdConfigFiles.unit, current: fact.unitText))
        }
        // A running member picks up new certificates or a new unit only when restarted.
        if fact.active && (!fileSteps.isEmpty || unitChanged) {
            steps.append(
                .run(
                    host: host, summary: "mark etcd for a rolling restart",
                    .script(.cairnMarkRestart, arguments: [EtcdLayout.restartMarker])))
        }
        return steps
    }
}
