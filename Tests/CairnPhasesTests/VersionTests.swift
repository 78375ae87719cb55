import CairnCore
import CairnInventory
import Foundation
import Testing

@testable import CairnPhases

/// What Cairn renders for each version it installs, and which versions it refuses (and why).
@Suite struct VersionTests {
    static let kubernetes = SupportedVersions.kubernetes.supported

    // MARK: Rendered configuration per version

    @Test(arguments: kubernetes)
    func containerdPinsTheSandboxImageOfEachRelease(version: String) {
        let config = NodeFiles.containerdConfig(kubernetes: version)
        let pause = version.hasPrefix("1.35.") ? "3.10.1" : "3.10.2"
        #expect(config.contains("version = 3\n"))
        #expect(
            config.contains(
                "[plugins.'io.containerd.cri.v1.images'.pinned_images]\n  sandbox = 'registry.k8s.io/pause:\(pause)'"))
        #expect(config.contains("SystemdCgroup = true"))
    }

    /// kubeadm's configuration: v1beta4 only, the version, no feature gate (every gate Cairn could
    /// have written is removed in 1.35–1.37), the kubelet on the systemd cgroup driver without the
    /// removed pod-infra flag, kube-proxy in the mode asked.
    @Test(arguments: kubernetes)
    func theKubeadmConfigurationOfEachRelease(version: String) throws {
        for mode in ["iptables", "nftables"] {
            let topology = try Fixture.cluster(version: version, extra: "")
            var inventory = topology.inventory
            inventory.kubernetes.proxyMode = ProxyMode(rawValue: mode)!
            let config = KubeadmConfig.initConfiguration(
                topology: Topology(inventory), host: inventory.controlPlaneHosts[0], token: "abcdef.0123456789abcdef",
                certificateKey: String(repeating: "a", count: 64))
            #expect(config.contains("kubernetesVersion: \"v\(version)\""))
            #expect(!config.contains("v1beta3") && !config.contains("featureGates"))
            #expect(
                config.components(separatedBy: "apiVersion: kubeadm.k8s.io/v1beta4").count == 3,
                "Init and Cluster configurations")
            #expect(config.contains("kind: KubeletConfiguration\ncgroupDriver: systemd"))
            #expect(!config.contains("pod-infra-container-image"))
            #expect(config.contains("kind: KubeProxyConfiguration\nmode: \"\(mode)\""))
            let join = KubeadmConfig.joinConfiguration(
                topology: Topology(inventory), host: inventory.controlPlaneHosts[1], token: "abcdef.0123456789abcdef",
                caCertHash: "sha256:00", certificateKey: nil)
            #expect(join.contains("apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration"))
            #expect(!join.contains("featureGates"))
        }
    }

    /// /etc/etcd.env carries only variables the installed etcd knows (etcd's own flag lists,
    /// `EtcdFlags`), with its corruption checks in the form that version takes.
    @Test(arguments: SupportedVersions.etcd.supported + [SupportedVersions.etcdUpgradeStep])
    func etcdsEnvironmentHasOnlyFlagsItsVersionKnows(version: String) {
        let member = EtcdMemberSpec(name: "cp1", internalAddress: "10.0.0.1")
        let settings = EtcdSettings(version: version)
        let text = EtcdConfigFiles.environment(
            member: member, settings: settings, initialCluster: "cp1=https://10.0.0.1:2380",
            state: .new, token: "cairn-t")
        let variables = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line -> (String, String) in
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], parts[1])
        }
        #expect(variables.count > 20)
        for (name, value) in variables {
            #expect(
                EtcdFlags.accepts(name, value: value, version: version),
                "etcd \(version) does not know \(name)=\(value)")
        }
        #expect(
            text.contains(
                version.hasPrefix("3.5.")
                    ? "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true"
                    : "ETCD_FEATURE_GATES=CompactHashCheck=true,InitialCorruptCheck=true"))
    }

    @Test func theFlagTablesSayWhatChangedBetweenReleases() {
        #expect(EtcdFlags.accepts("ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", value: "true", version: "3.5.33"))
        #expect(
            EtcdFlags.accepts("ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", value: "true", version: "3.6.14"),
            "deprecated, still accepted")
        #expect(
            !EtcdFlags.accepts("ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", value: "true", version: "3.7.2"),
            "removed in 3.7")
        #expect(!EtcdFlags.accepts("ETCD_ENABLE_V2", value: "true", version: "3.6.14"), "removed in 3.6")
        #expect(!EtcdFlags.accepts("ETCD_FEATURE_GATES", value: "InitialCorruptCheck=true", version: "3.5.33"))
        #expect(!EtcdFlags.accepts("ETCD_FEATURE_GATES", value: "NoSuchGate=true", version: "3.6.14"))
    }

    // MARK: What the inventory accepts

    func load(_ yaml: String) -> Result<LoadedInventory, InventoryError> {
        Result { () throws(InventoryError) in
            try InventoryLoader(
                environment: ["HOME": "/home/op"], fileSystem: .none.assumingEverythingExists(), addons: Addons.settings
            )
            .load(text: yaml, sourceName: "t.yaml", baseDirectory: "/")
        }
    }

    func errors(_ result: Result<LoadedInventory, InventoryError>) -> [String] {
        guard case .failure(let error) = result else { return [] }
        return error.diagnostics.filter { $0.severity == .error }.map { "\($0.path): \($0.message)" }
    }

    static func inventory(kubernetes: String = "", etcd: String = "", addons: String = "", workers: Bool = false)
        -> String
    {
        """
        kubernetes: {\(kubernetes.isEmpty ? "" : "version: \"\(kubernetes)\", ")apiEndpoint: {haproxyKeepalived: {virtualIP: 10.0.0.250}}}
        \(etcd.isEmpty ? "" : "etcd: {version: \"\(etcd)\"}")
        \(addons.isEmpty ? "" : "addons: \(addons)")
        hosts:
          - {name: cp1, address: 10.0.0.1, roles: [control-plane, etcd, worker], storage: {devices: [/dev/vdb]}}
          - {name: cp2, address: 10.0.0.2, roles: [control-plane, etcd, worker], storage: {devices: [/dev/vdb]}}
          - {name: cp3, address: 10.0.0.3, roles: [control-plane, etcd, worker], storage: {devices: [/dev/vdb]}}
        """
    }

    /// etcd's own upgrade rules: one minor at a time, from a recent enough patch, never down;
    /// the refusal names the version to set first.
    @Test func etcdUpgradesFollowEtcdsRules() {
        let refusal = SupportedVersions.etcdUpgradeRefusal
        #expect(refusal("3.5.33", "3.6.14") == nil)
        #expect(refusal("3.6.14", "3.7.2") == nil)
        #expect(refusal("3.6.11", "3.7.2") == nil)
        #expect(refusal("3.6.12", "3.6.14") == nil)
        #expect(refusal("3.5.20", "3.6.14")?.next == "3.5.33")
        #expect(refusal("3.5.20", "3.6.14")?.reason.contains("3.5.26") == true)
        #expect(refusal("3.6.10", "3.7.2")?.next == "3.6.14")
        #expect(refusal("3.5.33", "3.7.2")?.next == "3.6.14")
        #expect(refusal("3.5.33", "3.7.2")?.reason.contains("one minor at a time") == true)
        #expect(refusal("3.7.2", "3.6.14")?.reason.contains("does not downgrade") == true)
    }

    @Test func endOfLifeVersionsAreRefusedWithTheSupportedOnes() {
        #expect(
            errors(load(Self.inventory(kubernetes: "1.32.4"))) == [
                "kubernetes.version: kubernetes.version \"1.32.4\" is refused: Kubernetes 1.32 reached end of life on 2026-02-28; "
                    + "supported: 1.35.9, 1.36.4, 1.37.1"
            ])
        #expect(errors(load(Self.inventory(etcd: "3.4.23"))).first?.contains("etcd 3.4 reached end of life") == true)
        #expect(
            errors(load(Self.inventory(etcd: "3.5.33"))).first?.contains("only as a step of an upgrade to 3.6") == true)
        #expect(
            errors(load(Self.inventory(kubernetes: "1.38.0"))) == [
                "kubernetes.version: kubernetes.version \"1.38.0\" is not a version Cairn offers; supported: 1.35.9, 1.36.4, 1.37.1"
            ])
    }

    /// A minor alone means its newest patch, and the inventory's reader says so.
    @Test func aMinorAloneMeansItsNewestPatch() throws {
        let loaded = try load(Self.inventory(kubernetes: "1.36", addons: "{rookCeph: {enabled: false}}")).get()
        #expect(loaded.inventory.kubernetes.version == "1.36.4")
        #expect(
            loaded.warnings.contains {
                $0.severity == .note && $0.message == "\"1.36\" means 1.36.4, the newest 1.36 patch Cairn knows"
            })
        #expect(loaded.inventory.etcd.version == "3.6.14")
    }

    @Test func kubernetes137BringsEtcd37AndRefusesRook120() throws {
        #expect(
            errors(load(Self.inventory(kubernetes: "1.37.1"))) == [
                "kubernetes.version: Rook 1.20.6 supports Kubernetes up to 1.36, not 1.37, and storage is enabled"
            ])
        let withoutStorage = try load(Self.inventory(kubernetes: "1.37.1", addons: "{rookCeph: {enabled: false}}"))
            .get()
        #expect(withoutStorage.inventory.etcd.version == "3.7.2")
    }

    /// ingress-nginx (retired upstream) only where its last release was supported: up to 1.35.
    @Test func ingressNginxOnlyWhereUpstreamSupportedIt() throws {
        let addons = "{ingress: {controller: ingress-nginx}, rookCeph: {enabled: false}}"
        #expect(
            errors(load(Self.inventory(kubernetes: "1.36.4", addons: addons))) == [
                "addons.ingress.controller: ingress-nginx is retired upstream: its last release supports Kubernetes up to 1.35, not 1.36"
            ])
        let old = try load(Self.inventory(kubernetes: "1.35.9", addons: addons)).get()
        #expect(
            old.warnings.contains {
                $0.path == "addons.ingress.controller" && $0.message.contains("retired upstream in March 2026")
            })
    }

    @Test func traefikBringsTheGatewayAPIItWasBuiltWith() throws {
        for (traefik, gateway) in [("3.7.16", "1.5.1"), ("3.8.0", "1.6.1")] {
            let topology = Topology(
                try load(Self.inventory(addons: "{ingress: {version: \"\(traefik)\"}, rookCeph: {enabled: false}}"))
                    .get().inventory)
            let manifests = try Ingress.make(topology).definition().manifests
            #expect(manifests.first { $0.name == "gateway-api-standard" }?.version == gateway)
            #expect(manifests.first { $0.name == "traefik-crds" }?.url.contains("/v\(traefik)/") == true)
        }
    }
}
