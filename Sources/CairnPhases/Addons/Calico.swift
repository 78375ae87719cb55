import CairnArtifacts
import CairnEngine
import CairnInventory

/// The pod network: Calico through its operator (`operator-crds.yaml`, `tigera-operator.yaml`) and
/// Cairn's `Installation` with one IPv4 pool over the inventory's pod subnet.
public struct Calico: Addon {
    public static let name = "calico"
    public static let documentation = (
        does:
            "operator CRDs and tigera-operator (upstream), Cairn's Installation (pool = pod subnet, encapsulation; template `playbooks/addons/calico-installation.yaml`)",
        gate: "calico-node on every node, every node Ready"
    )

    public enum Encapsulation: String, Sendable, CaseIterable, Hashable {
        case vxlan = "VXLAN"
        case vxlanCrossSubnet = "VXLANCrossSubnet"
        case ipip = "IPIP"
        case ipipCrossSubnet = "IPIPCrossSubnet"
        case none = "None"
    }

    /// `addons.calico`.
    public struct Settings: AddonSettings {
        public static let key = "calico"
        public static let summary = "The pod network."
        public static let versions = [
            SupportedVersions.Component(
                field: "addons.calico.version", supported: ["3.32.4", "3.33.1"], defaultVersion: "3.33.1")
        ]
        public static let sections = [
            InventorySchema.Section(
                path: "addons.calico", summary: "",
                fields: [
                    InventorySchema.f(
                        "enabled", "boolean", "`true`",
                        "Without Calico you must install a pod network yourself (warning)."),
                    InventorySchema.f(
                        "version", "string", "`\(versions[0].defaultVersion)`",
                        InventorySchema.versions(versions[0]) + "."),
                    InventorySchema.f(
                        "encapsulation", "enum", "`VXLAN`",
                        "`VXLAN`, `VXLANCrossSubnet`, `IPIP`, `IPIPCrossSubnet` or `None`."),
                    InventorySchema.f(
                        "blockSize", "integer", "`26`",
                        "Per-node block prefix: 20–32 for an IPv4 pod subnet, 116–128 for IPv6; not shorter than the pod subnet's prefix."
                    ),
                    InventorySchema.f("natOutgoing", "boolean", "`true`", "NAT pod traffic leaving the pod subnet."),
                ])
        ]

        public var enabled = true
        public var version = Settings.versions[0].defaultVersion
        public var encapsulation = Encapsulation.vxlan
        public var blockSize = 26
        public var natOutgoing = true

        public init(defaultsFor cluster: ClusterShape) {}

        public mutating func read(_ section: SettingsSection, cluster: ClusterShape) {
            enabled = section.bool("enabled") ?? enabled
            version = section.version("version", Self.versions[0]) ?? version
            encapsulation =
                section.enumeration(
                    "encapsulation", Encapsulation.self, noun: "encapsulation",
                    aliases: ["vxlan": "VXLAN", "ipip": "IPIP", "none": "None"]) ?? encapsulation
            blockSize = section.int("blockSize", in: 0...128) ?? blockSize
            natOutgoing = section.bool("natOutgoing") ?? natOutgoing
        }

        public mutating func validate(in inventory: Inventory, _ report: ValidationReport) {
            guard enabled else {
                report.warning(
                    "addons.calico.enabled",
                    "without Calico the cluster has no pod network until you install one; nodes stay NotReady")
                return
            }
            guard let pod = IPNetwork(inventory.kubernetes.podSubnet) else { return }
            let validBlocks = pod.address.isIPv4 ? 20...32 : 116...128
            if !validBlocks.contains(blockSize) {
                report.error(
                    "addons.calico.blockSize",
                    "blockSize \(blockSize) is not valid for an IPv\(pod.address.isIPv4 ? 4 : 6) pod subnet; expected \(validBlocks.lowerBound)–\(validBlocks.upperBound)"
                )
            } else if blockSize < pod.prefixLength {
                report.error(
                    report.isWritten("addons.calico.blockSize") ? "addons.calico.blockSize" : "kubernetes.podSubnet",
                    "Calico's blockSize /\(blockSize) is larger than podSubnet \(pod)",
                    hint: "use a blockSize of at least \(pod.prefixLength) or a larger pod subnet")
            }
        }
    }

    let settings: Settings
    let topology: Topology

    public init(settings: Settings, topology: Topology) {
        self.settings = settings
        self.topology = topology
    }

    public var title: String { "Calico (pod network)" }
    public var isEnabled: Bool { settings.enabled }
    public var gateTimeout: Duration { .seconds(300) }

    static func manifests(_ version: String) -> [ArtifactSpec] {
        ["operator-crds.yaml", "tigera-operator.yaml"].map {
            ArtifactCatalog.manifest(
                name: "calico-" + $0, version: version,
                url: "https://raw.githubusercontent.com/projectcalico/calico/v\(version)/manifests/\($0)")
        }
    }

    public func definition() throws -> AddonDefinition {
        let rendered = try Template.render(
            "playbooks/addons/calico-installation.yaml",
            [
                "podSubnet": topology.inventory.kubernetes.podSubnet, "blockSize": String(settings.blockSize),
                "encapsulation": settings.encapsulation.rawValue,
                "natOutgoing": settings.natOutgoing ? "Enabled" : "Disabled",
            ])
        return AddonDefinition(
            name: Self.name, version: settings.version, manifests: Self.manifests(settings.version), rendered: rendered,
            mustExist: [
                .init("tigera-operator", "deployment/tigera-operator"), .init("default", "installation/default"),
            ])
    }

    public func gate(_ check: AddonCheck) async throws -> Gate.Outcome {
        let kubectl = check.kubectl
        let nodes = try await kubectl.nodes()
        guard
            let daemonSet = try await kubectl.getIfPresent(
                K8s.DaemonSet.self, ["daemonset", "calico-node", "-n", "calico-system"])
        else {
            return .notYet("the operator has not created calico-node yet")
        }
        if daemonSet.desired != nodes.all.count || daemonSet.ready < daemonSet.desired {
            let problems = try await kubectl.podProblems(namespace: "calico-system", selector: "k8s-app=calico-node")
            return .notYet(
                "calico-node ready on \(daemonSet.ready) of \(nodes.all.count) nodes"
                    + (problems.isEmpty ? "" : "; " + problems.prefix(3).joined(separator: "; ")))
        }
        if !nodes.notReady.isEmpty { return .notYet("not Ready: " + nodes.notReady.joined(separator: ", ")) }
        return .passed("calico-node on all \(nodes.all.count) nodes, every node Ready")
    }

    public var workloads: [Workload] {
        [Workload("calico-node", .daemonset, namespace: "calico-system", selector: "k8s-app=calico-node")]
    }
}

extension AddonSettingsSet {
    /// `addons.calico`.
    public var calico: Calico.Settings {
        get { self[Calico.Settings.self] }
        set { self[Calico.Settings.self] = newValue }
    }
}
