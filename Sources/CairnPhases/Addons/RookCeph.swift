import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// Block storage: Rook's operator and Cairn's `CephCluster` on exactly the devices the inventory
/// names, a replicated pool and the default StorageClass; before anything is deployed, a preflight
/// of those devices on their hosts.
public struct RookCeph: Addon {
    public static let name = "rook-ceph"
    public static let documentation = (
        does:
            "Rook CRDs/common/CSI operator/operator/toolbox (upstream), Cairn's CephCluster (mons on distinct hosts, OSDs on exactly the named devices), replicated pool size N, failure domain host (zone when the storage hosts span as many zones as replicas), default StorageClass (`playbooks/addons/rook-ceph-cluster.yaml`); its `storage-preflight` phase checks the devices before anything is changed",
        gate:
            "`ceph status`: HEALTH_OK, all mons in quorum, every OSD up and in, PGs active+clean, pool size; in a run that changed Ceph's configuration, a test claim on the default StorageClass binds (then is deleted)"
    )

    /// The newest Kubernetes minor Rook 1.20 supports (its prerequisites page: 1.31–1.36).
    static let newestKubernetes = 36

    public enum DeviceSelection: String, Sendable, CaseIterable, Hashable {
        /// Only the devices listed under `hosts[i].storage.devices`.
        case named
        /// Every empty device Ceph finds on the storage hosts.
        case all
    }

    /// `addons.rookCeph`.
    public struct Settings: AddonSettings {
        public static let key = "rookCeph"
        public static let summary = "Ceph block storage."
        static let rook = SupportedVersions.Component(
            field: "addons.rookCeph.version", supported: ["1.20.6"], defaultVersion: "1.20.6")
        static let ceph = SupportedVersions.Component(
            field: "addons.rookCeph.cephImage", supported: ["quay.io/ceph/ceph:v20.2.4"],
            defaultVersion: "quay.io/ceph/ceph:v20.2.4")
        public static let versions = [rook, ceph]
        public static let sections = [
            InventorySchema.Section(
                path: "addons.rookCeph", summary: "",
                fields: [
                    InventorySchema.f(
                        "enabled", "boolean", "`true` when any host lists `storage.devices`",
                        "Enabling it needs hosts with devices (unless `deviceSelection: all`)."),
                    InventorySchema.f(
                        "version", "string", "`\(rook.defaultVersion)`", InventorySchema.versions(rook) + "."),
                    InventorySchema.f(
                        "cephImage", "string", "`\(ceph.defaultVersion)`", InventorySchema.versions(ceph) + "."),
                    InventorySchema.f(
                        "monCount", "integer", "`3`", "Odd, at least 1, at most the schedulable node count."),
                    InventorySchema.f("mgrCount", "integer", "`2`", "1 or 2."),
                    InventorySchema.f(
                        "poolReplicaSize", "integer", "`3`",
                        "At least 1, at most the number of hosts with storage devices."),
                    InventorySchema.f(
                        "deviceSelection", "enum", "`named`",
                        "`named` (only listed devices) or `all` (every empty device: warning, Ceph wipes what it takes)."
                    ),
                ])
        ]

        public var enabled: Bool
        public var version = Settings.rook.defaultVersion
        public var cephImage = Settings.ceph.defaultVersion
        public var monCount = 3
        public var mgrCount = 2
        public var poolReplicaSize = 3
        public var deviceSelection = DeviceSelection.named

        public init(defaultsFor cluster: ClusterShape) {
            enabled = cluster.hasStorageDevices
        }

        public mutating func read(_ section: SettingsSection, cluster: ClusterShape) {
            enabled = section.bool("enabled") ?? enabled
            version = section.version("version", Self.rook) ?? version
            cephImage = section.version("cephImage", Self.ceph) ?? cephImage
            monCount = section.int("monCount", in: 1...9) ?? monCount
            mgrCount = section.int("mgrCount", in: 1...2) ?? mgrCount
            poolReplicaSize = section.int("poolReplicaSize", in: 1...7) ?? poolReplicaSize
            deviceSelection =
                section.enumeration("deviceSelection", DeviceSelection.self, noun: "device selection")
                ?? deviceSelection
        }

        public mutating func validate(in inventory: Inventory, _ report: ValidationReport) {
            let kubernetes = SupportedVersions.kubernetesMinor(inventory.kubernetes.version)
            if enabled && kubernetes > RookCeph.newestKubernetes {
                report.error(
                    report.isWritten("addons.rookCeph.enabled") ? "addons.rookCeph.enabled" : "kubernetes.version",
                    "Rook \(version) supports Kubernetes up to 1.\(RookCeph.newestKubernetes), not \(SupportedVersions.minor(of: inventory.kubernetes.version)), and storage is enabled",
                    hint:
                        "use Kubernetes 1.\(RookCeph.newestKubernetes) with Rook/Ceph, or set addons.rookCeph.enabled: false"
                )
                return
            }
            let schedulable = inventory.schedulableHosts.count
            guard enabled, schedulable > 0 else { return }
            let storageHosts =
                deviceSelection == .all ? schedulable : inventory.hosts.filter { !$0.storageDevices.isEmpty }.count
            if deviceSelection == .all {
                report.warning(
                    "addons.rookCeph.deviceSelection",
                    "deviceSelection all lets Ceph take and wipe every empty disk on every schedulable node",
                    hint: "list disks under hosts[i].storage.devices and use named")
            }
            if storageHosts == 0 {
                report.error(
                    report.isWritten("addons.rookCeph.enabled") ? "addons.rookCeph.enabled" : "addons.rookCeph",
                    "Rook/Ceph is enabled but no host lists storage.devices",
                    hint: "add storage: {devices: [/dev/vdb]} to the hosts holding Ceph disks, or set enabled: false")
                return
            }
            if poolReplicaSize > storageHosts {
                report.error(
                    "addons.rookCeph.poolReplicaSize",
                    "poolReplicaSize \(poolReplicaSize) is larger than the \(storageHosts) host\(storageHosts == 1 ? "" : "s") with storage devices; Ceph places each replica on a different host",
                    hint: "use poolReplicaSize: \(storageHosts) or add devices to more hosts")
            }
            // Zones: with fewer zones than replicas the failure domain stays the host, and a zone
            // holding more copies than the pool can lose takes its data offline with it.
            let storage = inventory.hosts.filter { !$0.storageDevices.isEmpty }
            let zones = Dictionary(grouping: storage.filter { $0.zone != nil }, by: { $0.zone! })
            if zones.count > 1,
                RookCeph.failureDomain(storageHosts: storage, poolSize: poolReplicaSize) == "host"
            {
                let tolerated = poolReplicaSize - (poolReplicaSize / 2 + 1)
                for (zone, hosts) in zones.sorted(by: { $0.key < $1.key }) where hosts.count > tolerated {
                    report.warning(
                        "addons.rookCeph.poolReplicaSize",
                        "the storage hosts span \(zones.count) zones, fewer than the pool's \(poolReplicaSize) replicas, so Ceph's failure domain stays the host: losing zone \(zone) (\(hosts.map(\.name).joined(separator: ", "))) can take more copies of a placement group than the \(tolerated) it can lose",
                        hint:
                            "put storage hosts in at least \(max(3, poolReplicaSize)) zones (the failure domain becomes the zone)"
                    )
                }
            }
            if monCount % 2 == 0 {
                report.error(
                    "addons.rookCeph.monCount",
                    "monCount \(monCount) is even; Ceph monitors need an odd count for quorum",
                    hint: "use \(monCount - 1) or \(monCount + 1)")
            } else if monCount > schedulable {
                report.error(
                    "addons.rookCeph.monCount",
                    "monCount \(monCount) is more than the \(CoreDNS.Settings.describe(inventory)); each monitor needs its own node",
                    hint: "use monCount: \(schedulable % 2 == 1 ? schedulable : max(1, schedulable - 1))")
            }
        }
    }

    let settings: Settings
    let topology: Topology

    public init(settings: Settings, topology: Topology) {
        self.settings = settings
        self.topology = topology
    }

    public var title: String { "Rook/Ceph storage" }
    public var isEnabled: Bool { settings.enabled }
    public var gateTimeout: Duration { .seconds(600) }
    /// The OSDs Ceph should have: one per named device.
    var osdCount: Int { topology.storageHosts.reduce(0) { $0 + $1.storageDevices.count } }

    static func manifests(_ version: String) -> [ArtifactSpec] {
        ["crds.yaml", "common.yaml", "csi-operator.yaml", "operator.yaml", "toolbox.yaml"].map {
            ArtifactCatalog.manifest(
                name: "rook-" + $0, version: version,
                url: "https://raw.githubusercontent.com/rook/rook/v\(version)/deploy/examples/\($0)")
        }
    }

    /// `zone` when the storage hosts span at least as many zones as a pool has replicas (and
    /// every one of them has a zone): each copy then lives in another zone, so losing a zone loses
    /// one copy. Otherwise `host`. Rook puts each OSD in its node's topology.kubernetes.io/zone.
    static func failureDomain(storageHosts: [Host], poolSize: Int) -> String {
        let zones = Set(storageHosts.compactMap(\.zone))
        guard storageHosts.allSatisfy({ $0.zone != nil }), zones.count >= max(3, poolSize) else { return "host" }
        return "zone"
    }

    public func definition() throws -> AddonDefinition {
        let nodes = topology.storageHosts.flatMap { host in
            ["- name: \(host.name)", "  devices:"] + host.storageDevices.map { "  - name: \"\($0)\"" }
        }
        let rendered = try Template.render(
            "playbooks/addons/rook-ceph-cluster.yaml",
            [
                "cephImage": settings.cephImage, "monCount": String(settings.monCount),
                "mgrCount": String(settings.mgrCount),
                "poolSize": String(settings.poolReplicaSize), "nodes": Template.indent(nodes, 6),
                "failureDomain": Self.failureDomain(
                    storageHosts: topology.storageHosts, poolSize: settings.poolReplicaSize),
            ])
        return AddonDefinition(
            name: Self.name, version: settings.version, manifests: Self.manifests(settings.version), rendered: rendered,
            mustExist: [
                .init("rook-ceph", "deployment/rook-ceph-operator"), .init("rook-ceph", "cephcluster/rook-ceph"),
            ])
    }

    static let toolbox = ["-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--"]

    public func gate(_ check: AddonCheck) async throws -> Gate.Outcome {
        // The pool's size is what this run's configuration set: asked only after applying it.
        let health = try await Self.health(
            check.kubectl, mons: settings.monCount, osds: osdCount,
            poolSize: check.appliedThisRun ? settings.poolReplicaSize : nil)
        // A healthy Ceph that cannot provision is no storage: after a change, a test claim must
        // bind. A claim left Pending by a failed run is retried by the next one.
        guard case .passed(let message) = health else { return health }
        let leftOver = check.appliedThisRun ? false : try await Self.volumeProbeLeftOver(check.kubectl)
        guard check.appliedThisRun || leftOver else { return health }
        let volume = try await Self.volumeProbe(check.kubectl, clock: check.clock)
        guard case .passed(let bound) = volume else { return volume }
        return .passed(message + "; " + bound)
    }

    /// Ceph settled: HEALTH_OK and every PG active+clean (between the nodes of an upgrade).
    static func settled(_ kubectl: Kubectl) async throws -> Gate.Outcome {
        switch try await kubectl.json(CephStatus.self, running: toolbox + ["ceph", "status", "-f", "json"]) {
        case .failure(let error):
            return .notYet("ceph status: \(error.summary)")
        case .success(let status):
            var waiting: [String] = []
            if status.health.status != "HEALTH_OK" {
                waiting.append(
                    status.health.status
                        + (status.checkMessages.isEmpty ? "" : " (\(status.checkMessages.joined(separator: "; ")))"))
            }
            if !status.uncleanPGs.isEmpty { waiting.append("PGs " + status.uncleanPGs.joined(separator: ", ")) }
            return waiting.isEmpty
                ? .passed("HEALTH_OK, all PGs active+clean") : .notYet(waiting.joined(separator: "; "))
        }
    }

    /// `poolSize`: the replica count the pool must have (nil: not asked).
    static func health(_ kubectl: Kubectl, mons: Int, osds: Int, poolSize: Int?) async throws -> Gate.Outcome {
        let operatorDeployment = try await kubectl.get(
            K8s.Deployment.self, ["deployment", "rook-ceph-operator", "-n", "rook-ceph"])
        if operatorDeployment.available < 1 {
            let problems = try await kubectl.podProblems(namespace: "rook-ceph", selector: "app=rook-ceph-operator")
            return .notYet(
                "the Rook operator is not available" + (problems.isEmpty ? "" : ": " + problems.joined(separator: "; "))
            )
        }
        let status: CephStatus
        switch try await kubectl.json(CephStatus.self, running: toolbox + ["ceph", "status", "-f", "json"]) {
        case .success(let value): status = value
        case .failure(let error): return .notYet("ceph status: \(error.summary)")
        }
        let quorum = status.quorumNames?.count ?? 0
        let osdmap = status.osdmap
        let up = osdmap?.numUpOSDs ?? 0
        let inOSDs = osdmap?.numInOSDs ?? 0
        let total = osdmap?.numOSDs ?? 0
        var waiting: [String] = []
        if status.health.status != "HEALTH_OK" {
            waiting.append(
                status.health.status
                    + (status.checkMessages.isEmpty ? "" : " (\(status.checkMessages.joined(separator: "; ")))"))
        }
        if quorum < mons { waiting.append("\(quorum) of \(mons) mons in quorum") }
        if total < osds || up < osds || inOSDs < osds { waiting.append("OSDs \(up) up, \(inOSDs) in of \(osds)") }
        if !status.uncleanPGs.isEmpty { waiting.append("PGs " + status.uncleanPGs.joined(separator: ", ")) }
        if waiting.isEmpty, let poolSize {
            let size = try? await kubectl.json(
                CephPoolSize.self,
                running: toolbox + ["ceph", "osd", "pool", "get", "replicapool", "size", "-f", "json"]
            ).get()
            if size?.size != poolSize {
                waiting.append("pool replicapool size \(size.map { String($0.size) } ?? "unknown"), \(poolSize) wanted")
            }
        }
        return waiting.isEmpty
            ? .passed(
                "HEALTH_OK: \(quorum) mons in quorum, \(up)/\(total) OSDs up and in, all PGs active+clean"
                    + (poolSize.map { ", pool size \($0)" } ?? "")
            )
            : .notYet(waiting.joined(separator: "; "))
    }

    static func volumeProbeLeftOver(_ kubectl: Kubectl) async throws -> Bool {
        try await kubectl.getIfPresent(K8s.PersistentVolumeClaim.self, ["pvc", "cairn-pvc-probe", "-n", "rook-ceph"])
            != nil
    }

    /// A throw-away claim on the default Ceph StorageClass must be Bound, then it is deleted.
    static func volumeProbe(_ kubectl: Kubectl, clock: any EngineClock) async throws -> Gate.Outcome {
        let path = AddonFacts.path(name, "pvc-probe.yaml")
        try await kubectl.apply(try Template.text("playbooks/addons/rook-ceph-pvc-probe.yaml"), at: path, clock: clock)
        for _ in 0..<15 {
            let claim = try await kubectl.get(
                K8s.PersistentVolumeClaim.self, ["pvc", "cairn-pvc-probe", "-n", "rook-ceph"])
            if claim.isBound {
                _ = try? await kubectl.run(["delete", "-f", path, "--ignore-not-found", "--wait=false"])
                return .passed("a test claim bound (\(claim.spec?.volumeName ?? "?"))")
            }
            try await clock.sleep(for: .seconds(1))
        }
        // Still Pending: the provisioner's last word says why. The claim stays for the next poll
        // and, should the gate give up, for the next run (volumeProbeLeftOver).
        let events = try? await kubectl.list(
            K8s.Event.self, ["events", "-n", "rook-ceph", "--field-selector", "involvedObject.name=cairn-pvc-probe"])
        let reason = events?.filter { $0.reason == "ProvisioningFailed" }.compactMap(\.message).last
        return .notYet("a test claim on rook-ceph-block is still Pending" + (reason.map { ": \($0)" } ?? ""))
    }

    public var workloads: [Workload] {
        [Workload("rook-ceph-operator", .deployment, namespace: "rook-ceph", selector: "app=rook-ceph-operator")]
    }

    /// Ceph's health in `cairn status`.
    public func report(into status: inout ClusterStatus, kubectl: Kubectl) async {
        guard
            let ceph = try? await kubectl.json(
                CephStatus.self, running: Self.toolbox + ["ceph", "status", "-f", "json"]
            ).get()
        else { return }
        let summary = ClusterStatus.CephSummary(
            health: ceph.health.status, checks: ceph.checkMessages, monsInQuorum: ceph.quorumNames?.count ?? 0,
            mons: ceph.monmap?.numMons ?? 0, osdsUp: ceph.osdmap?.numUpOSDs ?? 0, osdsIn: ceph.osdmap?.numInOSDs ?? 0,
            osds: ceph.osdmap?.numOSDs ?? 0, bytesUsed: ceph.pgmap?.bytesUsed ?? 0,
            bytesTotal: ceph.pgmap?.bytesTotal ?? 0)
        status.ceph = summary
        if summary.health != "HEALTH_OK" {
            status.problems.append("ceph \(summary.health): " + summary.checks.joined(separator: "; "))
        }
    }

    /// The storage preflight, run before anything is changed (playbook phase `storage-preflight`).
    public var extraPhases: [any Phase] { [StoragePreflightPhase(topology: topology)] }
}

/// Before Ceph is deployed: on every host with storage devices, each named device exists, holds
/// no filesystem and no partitions (Ceph wipes what it takes), the rbd module loads and lvm2 is
/// there. Anything else stops the run before anything is changed.
public struct StoragePreflightPhase: Phase {
    public let name = "storage-preflight"
    public let title = "Storage preflight for Ceph"
    let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    public struct Facts: Sendable, Codable, Equatable {
        /// Device → "ok", "missing", "not a block device", "holds a FS filesystem", "has partitions".
        public let devices: [String: String]
        public let rbd: Bool
        public let lvm: Bool

        public init(devices: [String: String], rbd: Bool, lvm: Bool) {
            self.devices = devices
            self.rbd = rbd
            self.lvm = lvm
        }
    }

    static func command(devices: [String]) -> RemoteCommand { .script(.cairnFactsStorage, arguments: devices) }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> Facts {
        try await executor.facts(
            Self.command(devices: topology.host(named: host.name)?.storageDevices ?? []), as: Facts.self)
    }

    /// What is wrong, host by host; empty when Ceph can have every named device.
    public static func problems(_ facts: [String: Facts], hosts: [Host]) -> [String] {
        var problems: [String] = []
        for host in hosts where !host.storageDevices.isEmpty {
            guard let fact = facts[host.name] else { continue }
            for device in host.storageDevices where fact.devices[device] != "ok" {
                problems.append("\(host.name): \(device) \(fact.devices[device] ?? "was not checked")")
            }
            if !fact.lvm { problems.append("\(host.name): lvm2 is not installed (Ceph's OSDs need it)") }
            if !fact.rbd { problems.append("\(host.name): the rbd kernel module is not available") }
        }
        return problems
    }

    public func plan(facts: [EngineHost: Facts], context: PhaseContext) throws -> PhasePlan {
        let hosts = context.hosts.compactMap { topology.host(named: $0.name) }
        let problems = Self.problems(
            Dictionary(uniqueKeysWithValues: facts.map { ($0.key.name, $0.value) }), hosts: hosts)
        if !problems.isEmpty { throw StoragePreflightError(problems: problems) }
        let checked = hosts.filter { !$0.storageDevices.isEmpty }.count
        return PhasePlan(notes: [
            "devices empty, lvm2 and rbd present on \(checked) storage host\(checked == 1 ? "" : "s")"
        ])
    }
}

public struct StoragePreflightError: Error, CairnReportableError, Equatable {
    public let problems: [String]
    public var summary: String {
        "storage preflight failed: \(problems.count) problem\(problems.count == 1 ? "" : "s"); nothing was deployed"
    }
    public var details: [String] { problems }
    public var nextStep: String? {
        "give Ceph empty raw devices (no filesystem, no partitions), install lvm2, then rerun"
    }
}

extension AddonSettingsSet {
    /// `addons.rookCeph`.
    public var rookCeph: RookCeph.Settings {
        get { self[RookCeph.Settings.self] }
        set { self[RookCeph.Settings.self] = newValue }
    }
}
