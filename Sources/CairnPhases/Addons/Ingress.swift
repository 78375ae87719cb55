import CairnArtifacts
import CairnEngine
import CairnInventory

/// The ingress controller: Traefik (Ingress and Gateway API) or the retired ingress-nginx, with
/// replicas on distinct nodes, a disruption budget and a LoadBalancer service.
public struct Ingress: Addon {
    public static let name = "ingress"
    public static let documentation = (
        does:
            "Traefik (Gateway API and Traefik CRDs upstream; Deployment, PDB, LoadBalancer service, IngressClass, GatewayClass from `playbooks/addons/traefik.yaml`), or ingress-nginx with a loud warning (`playbooks/addons/ingress-nginx.yaml`)",
        gate: "replicas on distinct nodes, the service has endpoints and holds a MetalLB address"
    )

    public enum Controller: String, Sendable, CaseIterable, Hashable {
        case traefik
        case ingressNginx = "ingress-nginx"
    }

    /// Gateway API's CRDs installed with a Traefik release: 3.7 is built with 1.5.1; 3.8 requires
    /// ≥ 1.6.1 (docs.traefik.io v3.8 migration notes).
    static func gatewayAPIVersion(forTraefik version: String) -> String {
        version.hasPrefix("3.7.") ? "1.5.1" : "1.6.1"
    }

    /// The newest Kubernetes minor ingress-nginx was released for: it was retired in March 2026,
    /// its last release (1.15.1) tested up to 1.35.
    static let ingressNginxNewestKubernetes = 35

    /// `addons.ingress`.
    public struct Settings: AddonSettings {
        public static let key = "ingress"
        public static let summary = "The ingress controller."
        static let traefik = SupportedVersions.Component(
            field: "addons.ingress.version", supported: ["3.7.16", "3.8.0"], defaultVersion: "3.7.16",
            variant: "traefik",
            retired: ["3.5": "Traefik 3.5 is no longer maintained", "3.6": "Traefik 3.6 is no longer maintained"])
        /// Retired upstream in March 2026: allowed, with a warning, up to Kubernetes 1.35.
        static let ingressNginx = SupportedVersions.Component(
            field: "addons.ingress.version", supported: ["1.15.1"],
            defaultVersion: "1.15.1", variant: "ingress-nginx",
            retired: ["1.13": "ingress-nginx 1.13 is superseded by its final release, 1.15.1"])
        public static let versions = [traefik, ingressNginx]
        public static let sections = [
            InventorySchema.Section(
                path: "addons.ingress", summary: "",
                fields: [
                    InventorySchema.f(
                        "enabled", "boolean", "`true`",
                        "Install an ingress controller (a LoadBalancer service: give MetalLB a pool)."),
                    InventorySchema.f(
                        "controller", "enum", "`traefik`",
                        "`traefik` or `ingress-nginx` (allowed with a warning: retired upstream in March 2026)."),
                    InventorySchema.f(
                        "version", "string", "the controller's default",
                        "traefik: " + InventorySchema.versions(traefik) + "; ingress-nginx: "
                            + InventorySchema.versions(ingressNginx) + "."),
                    InventorySchema.f(
                        "replicas", "integer", "`3`, or the schedulable node count when lower",
                        "At least 1; more than the schedulable nodes draws a warning and is clamped."),
                ])
        ]

        static func versions(for controller: Controller) -> SupportedVersions.Component {
            controller == .traefik ? traefik : ingressNginx
        }

        public var enabled = true
        public var controller = Controller.traefik
        public var version = Settings.traefik.defaultVersion
        /// Resolved like CoreDNS's replicas.
        public var replicas: Int

        public init(defaultsFor cluster: ClusterShape) {
            replicas = max(1, min(3, cluster.schedulableCount))
        }

        public mutating func read(_ section: SettingsSection, cluster: ClusterShape) {
            enabled = section.bool("enabled") ?? enabled
            controller =
                section.enumeration(
                    "controller", Controller.self, noun: "ingress controller",
                    aliases: ["nginx": "ingress-nginx", "nginx-ingress": "ingress-nginx"]) ?? controller
            let table = Self.versions(for: controller)
            version = section.version("version", table) ?? table.defaultVersion
            replicas = section.int("replicas", in: 1...1000) ?? replicas
        }

        public mutating func validate(in inventory: Inventory, _ report: ValidationReport) {
            guard enabled else { return }
            let schedulable = inventory.schedulableHosts.count
            if report.isWritten("addons.ingress.replicas"), schedulable > 0, replicas > schedulable {
                report.warning(
                    "addons.ingress.replicas",
                    "\(replicas) ingress replicas cannot be spread over \(CoreDNS.Settings.describe(inventory)); it will be clamped to \(schedulable)"
                )
                replicas = schedulable
            }
            let kubernetes = SupportedVersions.kubernetesMinor(inventory.kubernetes.version)
            if controller == .ingressNginx && kubernetes > Ingress.ingressNginxNewestKubernetes {
                report.error(
                    "addons.ingress.controller",
                    "ingress-nginx is retired upstream: its last release supports Kubernetes up to 1.\(Ingress.ingressNginxNewestKubernetes), not \(SupportedVersions.minor(of: inventory.kubernetes.version))",
                    hint: "use controller: traefik")
            } else if controller == .ingressNginx {
                report.warning(
                    "addons.ingress.controller",
                    "ingress-nginx was retired upstream in March 2026 and receives no security fixes",
                    hint: "prefer controller: traefik")
            }
            let metallb = inventory.addons[MetalLB.Settings.self]
            if !metallb.enabled || metallb.addressPools.isEmpty {
                report.warning(
                    "addons.ingress",
                    "the ingress controller's LoadBalancer service will get no external address: MetalLB has no address pool",
                    hint: "add addons.metallb.addressPools, or set addons.ingress.enabled: false")
            }
        }
    }

    let settings: Settings
    let topology: Topology

    public init(settings: Settings, topology: Topology) {
        self.settings = settings
        self.topology = topology
    }

    public var title: String { "Ingress controller (\(settings.controller.rawValue))" }
    public var isEnabled: Bool { settings.enabled }
    public var gateTimeout: Duration { .seconds(300) }
    /// Replicas run on the workers, or on the control-plane hosts when there are none.
    var replicas: Int { min(settings.replicas, topology.schedulable.count) }

    /// The Deployment, its pods' selector and its Service.
    var deployment: (namespace: String, name: String, selector: String, service: String) {
        switch settings.controller {
        case .traefik: return ("traefik", "traefik", "app.kubernetes.io/name=traefik", "traefik")
        case .ingressNginx:
            return (
                "ingress-nginx", "ingress-nginx-controller", "app.kubernetes.io/component=controller",
                "ingress-nginx-controller"
            )
        }
    }

    static func manifests(_ controller: Controller, _ version: String) -> [ArtifactSpec] {
        let raw = "https://raw.githubusercontent.com/"
        switch controller {
        case .traefik:
            let base = raw + "traefik/traefik/v\(version)/docs/content/reference/dynamic-configuration/"
            return [
                ArtifactCatalog.manifest(
                    name: "gateway-api-standard", version: gatewayAPIVersion(forTraefik: version),
                    url:
                        "https://github.com/kubernetes-sigs/gateway-api/releases/download/v\(gatewayAPIVersion(forTraefik: version))/standard-install.yaml"
                ),
                ArtifactCatalog.manifest(
                    name: "traefik-crds", version: version, url: base + "kubernetes-crd-definition-v1.yml"),
                ArtifactCatalog.manifest(name: "traefik-rbac", version: version, url: base + "kubernetes-crd-rbac.yml"),
            ]
        case .ingressNginx:
            return [
                ArtifactCatalog.manifest(
                    name: "ingress-nginx", version: version,
                    url: raw
                        + "kubernetes/ingress-nginx/controller-v\(version)/deploy/static/provider/cloud/deploy.yaml")
            ]
        }
    }

    public func definition() throws -> AddonDefinition {
        let tolerations = topology.workloadsRunOnControlPlanes ? Spread.controlPlaneToleration : ""
        let rendered: String
        switch settings.controller {
        case .traefik:
            rendered = try Template.render(
                "playbooks/addons/traefik.yaml",
                [
                    "replicas": String(replicas), "tolerations": tolerations, "version": settings.version,
                    "zoneSpread": Spread.overZones(topology, matchLabels: ["app.kubernetes.io/name": "traefik"]),
                ])
        case .ingressNginx:
            rendered = try Template.render(
                "playbooks/addons/ingress-nginx.yaml",
                [
                    "replicas": String(replicas), "tolerations": tolerations,
                    "zoneSpread": Spread.overZones(
                        topology,
                        matchLabels: [
                            "app.kubernetes.io/component": "controller", "app.kubernetes.io/name": "ingress-nginx",
                        ], withKey: true),
                ])
        }
        let object = deployment
        var mustExist: [AddonDefinition.ObjectReference] = [.init(object.namespace, "deployment/\(object.name)")]
        if settings.controller == .traefik { mustExist.append(.init(object.namespace, "service/\(object.service)")) }
        return AddonDefinition(
            name: Self.name, version: settings.version,
            manifests: Self.manifests(settings.controller, settings.version),
            rendered: rendered, mustExist: mustExist)
    }

    public func gate(_ check: AddonCheck) async throws -> Gate.Outcome {
        let object = deployment
        return try await Spread.gate(
            check.kubectl, namespace: object.namespace, deployment: object.name, selector: object.selector,
            replicas: replicas, service: object.service,
            needsAddress: topology.inventory.addons[MetalLB.Settings.self].enabled)
    }

    public var workloads: [Workload] {
        let object = deployment
        return [Workload(object.name, .deployment, namespace: object.namespace, selector: object.selector)]
    }
}

extension AddonSettingsSet {
    /// `addons.ingress`.
    public var ingress: Ingress.Settings {
        get { self[Ingress.Settings.self] }
        set { self[Ingress.Settings.self] = newValue }
    }
}
