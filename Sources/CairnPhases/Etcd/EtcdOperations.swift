import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// `cairn backup`: a snapshot from a healthy member, copied to the operator's machine with its
/// checksum and its status (revision, keys) checked.
public enum EtcdBackup {
    public struct Result: Sendable {
        public let path: URL
        public let sha256: String
        public let size: Int
        public let revision: Int64
        public let keys: Int64
        public let member: String
    }

    /// Saves a snapshot on the host, then prints its sha256 and `snapshot status` JSON.
    /// etcd ≥ 3.5 moved `snapshot status` to etcdutl; 3.4 has it in etcdctl.

    /// `SNAPSHOT.json` beside each backup.
    struct Metadata: Codable {
        let cluster: String
        let member: String
        let sha256: String
        let size: Int
        let revision: Int64?
        let keys: Int64?
        let etcdVersion: String?
        let time: String?
    }

    struct SnapshotStatus: Decodable {
        let hash: UInt64?
        let revision: Int64
        let totalKey: Int64
        let totalSize: Int64
    }

    public static func run(topology: Topology, hosts: [EngineHost], context: RunContext, destination: URL) async throws
        -> Result
    {
        let members = topology.etcdMembers
        let report = try await EtcdHealthCheck.report(members: members, hosts: hosts, context: context)
        guard report.hasQuorum else {
            throw EtcdError.quorumLost(
                healthy: report.healthy.count, voters: report.voters, unhealthy: report.unhealthy)
        }
        // A healthy follower if there is one: the leader has enough to do.
        let candidates = members.filter { report.healthy.contains($0.name) }
        guard let member = candidates.first(where: { $0.name != report.leader }) ?? candidates.first,
            let host = hosts.first(where: { $0.name == member.name })
        else {
            throw EtcdError.timedOut(what: "finding a healthy etcd member", last: "none is healthy")
        }
        let executor = try await context.executors.executor(for: host)
        let stamp = RunContext.newRunID()
        let remote = "\(EtcdLayout.backupDirectory)/etcd-\(stamp).db"
        let output = try await executor.runChecked(
            RemoteCommand.script(
                .cairnBackup,
                arguments: [
                    remote, member.clientURL, EtcdLayout.caCertificate, EtcdLayout.adminCertificate,
                    EtcdLayout.adminKey,
                ]), timeout: .seconds(300))
        let lines = output.stdoutText.split(separator: "\n", maxSplits: 1).map(String.init)
        guard lines.count == 2, let status = try? JSONDecoder().decode(SnapshotStatus.self, from: Data(lines[1].utf8))
        else {
            throw EtcdError.snapshotInvalid("`snapshot status` gave no usable answer: \(output.stdoutText.prefix(200))")
        }
        let data = try await executor.download(remote)
        _ = try? await executor.run(RemoteCommand("rm", ["-f", remote]))
        let sha = SHA256Digest.hex(of: data)
        guard sha == lines[0] else {
            throw EtcdError.snapshotInvalid("the copy's SHA-256 \(sha) differs from the host's \(lines[0])")
        }
        try FileManager.default.createDirectory(
            at: destination, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let path = destination.appendingPathComponent("etcd-\(topology.inventory.name)-\(stamp).db")
        try data.write(to: path, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path.path)
        let metadata = Metadata(
            cluster: topology.inventory.name, member: member.name, sha256: sha, size: data.count,
            revision: status.revision, keys: status.totalKey, etcdVersion: topology.inventory.etcd.version,
            time: ISO8601DateFormatter().string(from: Date()))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(metadata).write(to: path.appendingPathExtension("json"), options: .atomic)
        return Result(
            path: path, sha256: sha, size: data.count, revision: status.revision, keys: status.totalKey,
            member: member.name)
    }

    /// Reads a backup's recorded checksum and verifies the file against it.
    public static func verify(_ snapshot: URL) throws -> (sha256: String, revision: Int64?, keys: Int64?) {
        guard let data = FileManager.default.contents(atPath: snapshot.path) else {
            throw EtcdError.snapshotInvalid("\(snapshot.path) cannot be read")
        }
        let sha = SHA256Digest.hex(of: data)
        let metadataURL = snapshot.appendingPathExtension("json")
        if let data = FileManager.default.contents(atPath: metadataURL.path),
            let metadata = try? JSONDecoder().decode(Metadata.self, from: data)
        {
            if metadata.sha256 != sha {
                throw EtcdError.snapshotInvalid(
                    "\(snapshot.lastPathComponent) has SHA-256 \(sha), but \(metadataURL.lastPathComponent) records \(metadata.sha256)"
                )
            }
            return (sha, metadata.revision, metadata.keys)
        }
        return (sha, nil, nil)
    }
}

/// `cairn restore`: the etcd cluster rebuilt from a snapshot on every member, with a new cluster
/// token so no old member can rejoin it by mistake. Old data is moved aside, never deleted.
public struct EtcdRestorePhase: Phase {
    public let name = "etcd-restore"
    public let title = "restore etcd from a snapshot"
    let topology: Topology
    var inventory: Inventory { topology.inventory }
    let snapshot: URL
    let stamp: String

    public init(topology: Topology, snapshot: URL, stamp: String) {
        self.topology = topology
        self.snapshot = snapshot
        self.stamp = stamp
    }

    public typealias Facts = NoFacts

    public func plan(facts: [EngineHost: NoFacts], context: PhaseContext) throws -> PhasePlan {
        let members = topology.etcdMembers
        let token = "cairn-\(inventory.name)-restore-\(stamp)"
        let cluster = EtcdConfigFiles.initialCluster(members)
        let dataDir = inventory.etcd.dataDir
        let snapshotPath = snapshot
        let remote = "\(EtcdLayout.backupDirectory)/restore-\(stamp).db"
        var actions: [Action] = []
        for member in members {
            actions.append(
                .command(
                    host: member.name,
                    summary: "stop etcd and move \(dataDir) aside to \(dataDir).before-restore-\(stamp)",
                    RemoteCommand.script(.cairnMoveEtcdDataAside, arguments: [dataDir, "before-restore-\(stamp)"])))
        }
        for member in members {
            actions.append(
                Action(host: member.name, summary: "upload the snapshot \(snapshotPath.lastPathComponent)") { env in
                    let data = try Data(contentsOf: snapshotPath)
                    _ = try await env.host().upload(data, to: remote, mode: "600", owner: "root:root")
                })
            actions.append(
                .command(
                    host: member.name, summary: "restore the snapshot into \(dataDir) as member \(member.name)",
                    RemoteCommand.script(
                        .cairnRestore,
                        arguments: [
                            remote, member.name, cluster, token, member.peerURL, dataDir,
                        ])))
            let content = EtcdConfigFiles.environment(
                member: member, settings: inventory.etcd, initialCluster: cluster,
                state: .existing, token: token)
            actions.append(
                .writeFile(
                    host: member.name, path: EtcdLayout.environmentFile, content: content, current: nil,
                    changeSummary: "ETCD_INITIAL_CLUSTER_TOKEN → \(token)"))
        }
        for member in members {
            actions.append(.command(host: member.name, summary: "start etcd", ServiceCommand.startDetached("etcd")))
        }
        if let first = members.first {
            actions.append(
                Action(host: first.name, summary: "wait until the restored cluster has a leader") { env in
                    try await EtcdControl(executor: env.host(), clock: env.context.clock).waitClusterHealthy(members)
                })
        }
        return PhasePlan(
            actions: actions, execution: .serial,
            notes: [
                "every member's data is replaced by \(snapshot.lastPathComponent); old data stays in \(dataDir).before-restore-\(stamp)"
            ])
    }

    public func gate(context: PhaseContext) -> Gate? {
        let members = topology.etcdMembers
        let hosts = context.hosts
        return Gate(name: "etcd quorum", timeout: .seconds(90)) { context in
            try await EtcdHealthCheck.check(members: members, hosts: hosts, context: context.run)
        }
    }
}

/// `cairn etcd remove HOST`: takes a member out of the cluster under the quorum guard, then
/// stops etcd on that host (when reachable) and moves its data aside.
public struct EtcdRemovePhase: Phase {
    public let name: String
    public let title = "remove an etcd member"
    let topology: Topology
    var inventory: Inventory { topology.inventory }
    let target: String
    let force: Bool

    public init(topology: Topology, target: String, force: Bool, name: String = "etcd-remove") {
        self.topology = topology
        self.target = target
        self.force = force
        self.name = name
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> EtcdHostFacts
    {
        try await EtcdHostFacts.gather(executor: executor, dataDirectory: inventory.etcd.dataDir)
    }

    public func plan(facts: [EngineHost: EtcdHostFacts], context: PhaseContext) throws -> PhasePlan {
        guard let list = facts.values.compactMap(\.members).first,
            let via = facts.first(where: { $0.value.members != nil })?.key.name
        else {
            throw EtcdError.quorumLost(healthy: 0, voters: inventory.etcdHosts.count, unhealthy: facts.keys.map(\.name))
        }
        let health = facts.values.compactMap(\.health).max { $0.count < $1.count } ?? []
        let targetHost = inventory.host(named: target)
        let targetURL = targetHost.map { EtcdLayout.peerURL($0.internalAddress) }
        guard
            let member = list.members.first(where: {
                $0.name == target || ($0.peerURLs ?? []).contains(targetURL ?? "-")
            })
        else {
            return PhasePlan(notes: ["\(target) is not an etcd member: nothing to remove"])
        }
        func isHealthy(_ m: EtcdMemberList.Member) -> Bool {
            health.contains { $0.endpoint == m.clientURL && $0.health }
        }
        let voters = list.members.filter { !$0.learner }
        let remaining = voters.filter { $0.id != member.id }
        let healthyRemaining = remaining.filter(isHealthy)
        // Judged from live health: a dead member may go while the others keep quorum.
        if !force && !member.learner,
            let refusal = EtcdQuorum.removalRefusal(
                target: target, targetHealthy: isHealthy(member), healthy: voters.filter(isHealthy).count,
                voters: voters.count)
        {
            let sick = remaining.filter { !isHealthy($0) }.map { $0.name ?? $0.hexID }
            throw EtcdError.growthRefused(reason: refusal, unhealthy: sick)
        }
        let endpoints = healthyRemaining.compactMap { $0.clientURL }
        var actions = [
            Action(host: via, summary: "remove etcd member \(target) (\(member.hexID))") { env in
                try await EtcdControl(executor: env.host(), clock: env.context.clock).remove(
                    id: member.hexID, endpoints: endpoints)
            }
        ]
        if targetHost != nil, facts.keys.contains(where: { $0.name == target }) {
            actions.append(
                .command(
                    host: target, summary: "stop etcd on \(target) and move its data aside",
                    RemoteCommand.script(
                        .cairnMoveEtcdDataAside,
                        arguments: [inventory.etcd.dataDir, "removed-\(RunContext.newRunID())"])))
            actions.append(
                .command(
                    host: target, summary: "disable etcd on \(target)", RemoteCommand("systemctl", ["disable", "etcd"]))
            )
        }
        return PhasePlan(actions: actions, execution: .serial)
    }
}
