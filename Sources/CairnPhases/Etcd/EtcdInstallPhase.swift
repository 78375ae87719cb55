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
    let inventory: Inventory

    public init(inventory: Inventory) {
        self.inventory = inventory
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> EtcdHostFacts {
        try await EtcdHostFacts.gather(executor: executor, dataDirectory: inventory.etcd.dataDir)
    }

    public func plan(facts: [EngineHost: EtcdHostFacts], context: PhaseContext) throws -> PhasePlan {
        let store = try EtcdPKIPhase.store(context.run)
        let pending = context.run.values[PendingPKIChangesKey.self] ?? []
        let version = inventory.etcd.version
        let fetcher = context.run.values[ArtifactsKey.self]
        var actions: [Action] = []
        for host in context.hosts {
            guard let fact = facts[host] else { continue }
            let predicted = context.isPredicted(host.name)
            var hostActions: [Action] = []
            if fact.version != version {
                let arch = Architecture.releaseName(machine: fact.machine)
                let request = ArtifactCatalog.etcd(version: version, arch: arch)
                let origin = fetcher?.origin(of: request) ?? "upstream"
                let what = fact.version.isEmpty ? "install etcd \(version)" : "upgrade etcd \(fact.version)→\(version)"
                hostActions.append(BinaryInstall.action(
                    host: host.name, request: request, inner: "etcd-v\(version)-linux-\(arch)",
                    binaries: ["etcd", "etcdctl", "etcdutl"], marker: EtcdLayout.restartMarker, unit: "etcd",
                    summary: "\(what) into /usr/local/bin (\(fileName(request)) \(origin))", predicted: predicted))
            }
            let files = PKIFiles.etcdMemberFiles(host: host.name, store: store)
            let fileActions = try PKIFiles.actions(host: host.name, files: files, remoteHashes: fact.certificates,
                                                   predicted: predicted, isDryRun: context.isDryRun, pending: pending)
            hostActions += fileActions
            let unitChanged = fact.unitText != EtcdConfigFiles.unit
            if unitChanged {
                hostActions.append(.writeFile(host: host.name, path: EtcdLayout.unitFile, content: EtcdConfigFiles.unit,
                                              current: fact.unitText, predicted: predicted))
            }
            // A running member picks up new certificates or a new unit only when restarted.
            if fact.active && (!fileActions.isEmpty || unitChanged) {
                hostActions.append(.command(host: host.name, summary: "mark etcd for a rolling restart",
                                            RemoteCommand.script(.cairnMarkRestart, arguments: [EtcdLayout.restartMarker]),
                                            predicted: predicted))
            }
            actions += hostActions
        }
        return PhasePlan(actions: actions)
    }
}
