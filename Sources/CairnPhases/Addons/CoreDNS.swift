import CairnEngine
import CairnInventory

/// Cluster DNS: kubeadm's CoreDNS, adjusted in place (replicas spread over distinct nodes, a
/// disruption budget).
public struct CoreDNS: Addon {
    public static let name = "coredns"
    public static let documentation = (
        does:
            "kubeadm's CoreDNS adjusted in place: replicas, required anti-affinity, spread, PDB (`playbooks/addons/coredns.yaml`)",
        gate: "replicas available on distinct nodes, the DNS service has endpoints"
    )

    /// `addons.coredns`.
    public struct Settings: AddonSettings {
        public static let key = "coredns"
        public static let summary = "Cluster DNS."
        public static let sections = [
            InventorySchema.Section(
                path: "addons.coredns", summary: "",
                fields: [
                    InventorySchema.f(
                        "replicas", "integer", "`2`, or `3` with at least 3 schedulable nodes",
                        "At least 1; more than the schedulable nodes draws a warning and is clamped.")
                ])
        ]

        /// Resolved: the written value clamped to the schedulable node count, or the computed default.
        public var replicas: Int

        public init(defaultsFor cluster: ClusterShape) {
            replicas = cluster.schedulableCount >= 3 ? 3 : 2
        }

        public mutating func read(_ section: SettingsSection, cluster: ClusterShape) {
            replicas = section.int("replicas", in: 1...1000) ?? replicas
        }

        public mutating func validate(in inventory: Inventory, _ report: ValidationReport) {
            let schedulable = inventory.schedulableHosts.count
            if report.isWritten("addons.coredns.replicas"), schedulable > 0, replicas > schedulable {
                report.warning(
                    "addons.coredns.replicas",
                    "\(replicas) CoreDNS replicas cannot be spread over \(Self.describe(inventory)); it will be clamped to \(schedulable)"
                )
                replicas = schedulable
            }
        }

        /// "3 schedulable nodes (workers)".
        static func describe(_ inventory: Inventory) -> String {
            let count = inventory.schedulableHosts.count
            return
                "\(count) schedulable node\(count == 1 ? "" : "s") (\(inventory.workerHosts.isEmpty ? "control-plane host" : "worker")s)"
        }
    }

    let settings: Settings
    let topology: Topology

    public init(settings: Settings, topology: Topology) {
        self.settings = settings
        self.topology = topology
    }

    public var title: String { "CoreDNS spread over nodes" }
    public var isEnabled: Bool { true }
    public var gateTimeout: Duration { .seconds(240) }
    /// No more replicas than nodes that can run them (control-plane nodes included: CoreDNS tolerates them).
    var replicas: Int { min(settings.replicas, topology.nodes.count) }

    public func definition() throws -> AddonDefinition {
        let rendered = try Template.render(
            "playbooks/addons/coredns.yaml",
            [
                "replicas": String(replicas),
                "zoneSpread": Spread.overZones(topology, matchLabels: ["k8s-app": "kube-dns"]),
            ])
        return AddonDefinition(
            name: Self.name, version: "kubeadm", manifests: [], rendered: rendered,
            mustExist: [
                .init("kube-system", "deployment/coredns"), .init("kube-system", "poddisruptionbudget/coredns"),
            ])
    }

    public func gate(_ check: AddonCheck) async throws -> Gate.Outcome {
        try await Spread.gate(
            check.kubectl, namespace: "kube-system", deployment: "coredns", selector: "k8s-app=kube-dns",
            replicas: replicas, service: "kube-dns", needsAddress: false)
    }

    public var workloads: [Workload] {
        [Workload("coredns", .deployment, namespace: "kube-system", selector: "k8s-app=kube-dns")]
    }
}

extension AddonSettingsSet {
    /// `addons.coredns`.
    public var coredns: CoreDNS.Settings {
        get { self[CoreDNS.Settings.self] }
        set { self[CoreDNS.Settings.self] = newValue }
    }
}
