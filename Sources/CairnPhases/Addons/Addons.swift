import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// Versions of add-on pieces that the inventory does not choose.
public enum AddonVersions {
    public static let gatewayAPI = "1.3.0"
}

/// The built-in add-ons, as `AddonPhase`s with their gates.
public enum Addons {
    // MARK: Upstream manifests

    static func raw(_ path: String) -> String { "https://raw.githubusercontent.com/" + path }

    static func calicoManifests(_ version: String) -> [ArtifactSpec] {
        ["operator-crds.yaml", "tigera-operator.yaml"].map {
            ArtifactCatalog.manifest(name: "calico-" + $0, version: version, url: raw("projectcalico/calico/v\(version)/manifests/\($0)"))
        }
    }

    static func metallbManifests(_ version: String) -> [ArtifactSpec] {
        [ArtifactCatalog.manifest(name: "metallb-native", version: version, url: raw("metallb/metallb/v\(version)/config/manifests/metallb-native.yaml"))]
    }

    static func traefikManifests(_ version: String) -> [ArtifactSpec] {
        let base = "traefik/traefik/v\(version)/docs/content/reference/dynamic-configuration/"
        return [
            ArtifactCatalog.manifest(name: "gateway-api-standard", version: AddonVersions.gatewayAPI,
                                     url: "https://github.com/kubernetes-sigs/gateway-api/releases/download/v\(AddonVersions.gatewayAPI)/standard-install.yaml"),
            ArtifactCatalog.manifest(name: "traefik-crds", version: version, url: raw(base + "kubernetes-crd-definition-v1.yml")),
            ArtifactCatalog.manifest(name: "traefik-rbac", version: version, url: raw(base + "kubernetes-crd-rbac.yml")),
        ]
    }

    static func ingressNginxManifests(_ version: String) -> [ArtifactSpec] {
        [ArtifactCatalog.manifest(name: "ingress-nginx", version: version,
                                  url: raw("kubernetes/ingress-nginx/controller-v\(version)/deploy/static/provider/cloud/deploy.yaml"))]
    }

    static func rookManifests(_ version: String) -> [ArtifactSpec] {
        ["crds.yaml", "common.yaml", "csi-operator.yaml", "operator.yaml", "toolbox.yaml"].map {
            ArtifactCatalog.manifest(name: "rook-" + $0, version: version, url: raw("rook/rook/v\(version)/deploy/examples/\($0)"))
        }
    }

    // MARK: Where replicas may run

    /// Nodes ingress replicas run on: the workers, or the control-plane hosts when there are none.
    static func ingressNodes(_ inventory: Inventory) -> (count: Int, tolerateControlPlane: Bool) {
        let workers = inventory.hosts.filter { $0.has(.worker) }
        if !workers.isEmpty { return (workers.count, false) }
        return (inventory.controlPlaneHosts.count, true)
    }

    static func kubernetesNodes(_ inventory: Inventory) -> [Host] {
        inventory.hosts.filter { $0.has(.controlPlane) || $0.has(.worker) }
    }

    static let controlPlaneToleration = """
              tolerations:
              - key: node-role.kubernetes.io/control-plane
                operator: Exists
                effect: NoSchedule
        """

    // MARK: The phases

    public static func phases(for inventory: Inventory) -> [any Phase] {
        var phases: [any Phase] = [calico(inventory), coredns(inventory), metallb(inventory), ingress(inventory)]
        phases.append(StoragePreflightPhase(inventory: inventory))
        phases.append(rookCeph(inventory))
        return phases
    }

    static func calico(_ inventory: Inventory) -> AddonPhase {
        AddonPhase(name: "calico", title: "Calico (pod network)", inventory: inventory, enabled: inventory.addons.calico.enabled, gateTimeout: .seconds(300), definition: { inventory in
            let calico = inventory.addons.calico
            let rendered = try Template.render("playbooks/addons/calico-installation.yaml", [
                "podSubnet": inventory.kubernetes.podSubnet, "blockSize": String(calico.blockSize),
                "encapsulation": calico.encapsulation.rawValue, "natOutgoing": calico.natOutgoing ? "Enabled" : "Disabled",
            ])
            return AddonDefinition(name: "calico", version: calico.version, manifests: calicoManifests(calico.version), rendered: rendered,
                                   mustExist: [("tigera-operator", "deployment/tigera-operator"), ("default", "installation/default")])
        }, gate: { kubectl, _, _ in
            try await Gates.calico(kubectl)
        })
    }

    static func coredns(_ inventory: Inventory) -> AddonPhase {
        AddonPhase(name: "coredns", title: "CoreDNS spread over nodes", inventory: inventory, gateTimeout: .seconds(240), definition: { inventory in
            let replicas = min(inventory.addons.coredns.replicas, kubernetesNodes(inventory).count)
            let rendered = try Template.render("playbooks/addons/coredns.yaml", ["replicas": String(replicas)])
            return AddonDefinition(name: "coredns", version: "kubeadm", manifests: [], rendered: rendered,
                                   mustExist: [("kube-system", "deployment/coredns"), ("kube-system", "poddisruptionbudget/coredns")])
        }, gate: { kubectl, _, _ in
            let replicas = min(inventory.addons.coredns.replicas, kubernetesNodes(inventory).count)
            return try await Gates.spread(kubectl, namespace: "kube-system", deployment: "coredns", selector: "k8s-app=kube-dns",
                                          replicas: replicas, service: "kube-dns", needsAddress: false)
        })
    }

    static func metallb(_ inventory: Inventory) -> AddonPhase {
        AddonPhase(name: "metallb", title: "MetalLB (LoadBalancer addresses)", inventory: inventory, enabled: inventory.addons.metallb.enabled, gateTimeout: .seconds(300), definition: { inventory in
            let metallb = inventory.addons.metallb
            let pools = try metallb.addressPools.map { pool in
                try Template.render("playbooks/addons/metallb-pool.yaml", [
                    "name": pool.name, "addresses": Template.indent(pool.addresses.map { "- " + $0 }, 2),
                ])
            }.joined(separator: "---\n")
            return AddonDefinition(name: "metallb", version: metallb.version, manifests: metallbManifests(metallb.version),
                                   rendered: pools.isEmpty ? nil : pools,
                                   mustExist: [("metallb-system", "deployment/controller"), ("metallb-system", "daemonset/speaker")],
                                   beforeRendered: inventory.kubernetes.proxyMode == .ipvs
                                       ? [("set strictARP in kube-proxy's configuration (IPVS mode)", .cairnMetallbStrictArp)] : [])
        }, gate: { kubectl, context, _ in
            try await Gates.metallb(kubectl, clock: context.run.clock)
        })
    }

    /// kube-proxy in IPVS mode answers ARP for every service address unless strictARP is on,
    /// which breaks MetalLB's layer-2 mode. Idempotent: a no-op once it is on.

    static func ingress(_ inventory: Inventory) -> AddonPhase {
        let ingress = inventory.addons.ingress
        return AddonPhase(name: "ingress", title: "Ingress controller (\(ingress.controller.rawValue))", inventory: inventory,
                          enabled: ingress.enabled, gateTimeout: .seconds(300), definition: { inventory in
            let ingress = inventory.addons.ingress
            let nodes = ingressNodes(inventory)
            let replicas = min(ingress.replicas, nodes.count)
            let tolerations = nodes.tolerateControlPlane ? controlPlaneToleration : ""
            switch ingress.controller {
            case .traefik:
                let rendered = try Template.render("playbooks/addons/traefik.yaml", [
                    "replicas": String(replicas), "tolerations": tolerations, "version": ingress.version,
                ])
                return AddonDefinition(name: "ingress", version: ingress.version, manifests: traefikManifests(ingress.version),
                                       rendered: rendered, mustExist: [("traefik", "deployment/traefik"), ("traefik", "service/traefik")])
            case .ingressNginx:
                let rendered = try Template.render("playbooks/addons/ingress-nginx.yaml", ["replicas": String(replicas), "tolerations": tolerations])
                return AddonDefinition(name: "ingress", version: ingress.version, manifests: ingressNginxManifests(ingress.version),
                                       rendered: rendered, mustExist: [("ingress-nginx", "deployment/ingress-nginx-controller")])
            }
        }, gate: { kubectl, _, _ in
            let nodes = ingressNodes(inventory)
            let replicas = min(ingress.replicas, nodes.count)
            switch ingress.controller {
            case .traefik:
                return try await Gates.spread(kubectl, namespace: "traefik", deployment: "traefik", selector: "app.kubernetes.io/name=traefik",
                                              replicas: replicas, service: "traefik", needsAddress: inventory.addons.metallb.enabled)
            case .ingressNginx:
                return try await Gates.spread(kubectl, namespace: "ingress-nginx", deployment: "ingress-nginx-controller",
                                              selector: "app.kubernetes.io/component=controller", replicas: replicas,
                                              service: "ingress-nginx-controller", needsAddress: inventory.addons.metallb.enabled)
            }
        })
    }

    static func rookCeph(_ inventory: Inventory) -> AddonPhase {
        AddonPhase(name: "rook-ceph", title: "Rook/Ceph storage", inventory: inventory, enabled: inventory.addons.rookCeph.enabled, gateTimeout: .seconds(600), definition: { inventory in
            let ceph = inventory.addons.rookCeph
            let nodes = inventory.hosts.filter { !$0.storageDevices.isEmpty }.map { host in
                ["- name: \(host.name)", "  devices:"] + host.storageDevices.map { "  - name: \"\($0)\"" }
            }.flatMap { $0 }
            let rendered = try Template.render("playbooks/addons/rook-ceph-cluster.yaml", [
                "cephImage": ceph.cephImage, "monCount": String(ceph.monCount), "mgrCount": String(ceph.mgrCount),
                "poolSize": String(ceph.poolReplicaSize), "nodes": Template.indent(nodes, 6),
            ])
            return AddonDefinition(name: "rook-ceph", version: ceph.version, manifests: rookManifests(ceph.version), rendered: rendered,
                                   mustExist: [("rook-ceph", "deployment/rook-ceph-operator"), ("rook-ceph", "cephcluster/rook-ceph")])
        }, gate: { kubectl, context, run in
            let ceph = inventory.addons.rookCeph
            let osds = inventory.hosts.reduce(0) { $0 + $1.storageDevices.count }
            let health = try await Gates.ceph(kubectl, mons: ceph.monCount, osds: osds, poolSize: ceph.poolReplicaSize)
            // A healthy Ceph that cannot provision is no storage: after a change, a test claim must
            // bind. A claim left Pending by a failed run is retried by the next one.
            guard case .passed(let message) = health else { return health }
            let leftOver = run.appliedThisRun ? false : try await Gates.volumeProbeLeftOver(kubectl)
            guard run.appliedThisRun || leftOver else { return health }
            let volume = try await Gates.volumeProbe(kubectl, clock: context.run.clock)
            guard case .passed(let bound) = volume else { return volume }
            return .passed(message + "; " + bound)
        })
    }
}
