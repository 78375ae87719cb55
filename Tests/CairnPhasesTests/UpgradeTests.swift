import CairnCore
import CairnEngine
import CairnInventory
import CairnTesting
import Foundation
import Testing

@testable import CairnPhases

/// Upgrades decided from facts: what is left to do, in which order, and what is refused.
@Suite struct UpgradeTests {
    /// A node object as the API lists it.
    static func k8sNode(_ name: String, kubelet: String, ready: Bool = true, upgrading: String? = nil) -> K8s.Node {
        var node = K8s.Node(
            metadata: K8s.ObjectMeta(name: name),
            status: .init(
                conditions: [.init(type: "Ready", status: ready ? "True" : "False")],
                nodeInfo: .init(kubeletVersion: "v" + kubelet)))
        if let upgrading {
            node.metadata.annotations = [UpgradePlanner.annotation: "v" + upgrading]
            node.spec = .init(unschedulable: true)
        }
        return node
    }

    /// Facts of a joined host with its binaries (and, on a control plane, its API server) at `version`.
    static func joined(_ name: String, address: String, version: String, controlPlane: Bool, binaries: String? = nil)
        -> NodeFacts
    {
        var facts = convergedNode(
            name: name, address: address, version: binaries ?? version, controlPlane: controlPlane,
            topology: try! Fixture.cluster())
        facts.controlPlaneVersion = controlPlane ? "v" + version : nil
        return facts
    }

    /// cp1–cp3 and w1–w3 at `from`, the node list as the API shows it.
    static func cluster(
        at from: String, workers: Int = 3, storage: [String: [String]] = [:]
    ) throws -> (Topology, [String: NodeFacts], [K8s.Node]) {
        let topology = try Fixture.cluster(workers: workers, version: "1.36.4", storage: storage)
        var facts: [String: NodeFacts] = [:]
        var nodes: [K8s.Node] = []
        for host in topology.nodes {
            let controlPlane = host.has(.controlPlane)
            facts[host.name] = joined(
                host.name, address: host.internalAddress, version: from, controlPlane: controlPlane)
            nodes.append(k8sNode(host.name, kubelet: from))
        }
        return (topology, facts, nodes)
    }

    @Test func aClusterAtItsVersionHasNothingToDo() throws {
        let (topology, facts, nodes) = try Self.cluster(at: "1.36.4")
        let planner = UpgradePlanner(
            topology: topology, target: "1.36.4", clusterVersion: nil, nodes: nodes, facts: facts)
        #expect(!planner.anythingToUpgrade)
        #expect(try planner.plan().batches.isEmpty)
    }

    @Test func aMinorUpgradeGoesFirstControlPlaneOthersThenWorkers() throws {
        let (topology, facts, nodes) = try Self.cluster(at: "1.35.9")
        let (batches, notes) = try UpgradePlanner(
            topology: topology, target: "1.36.4", clusterVersion: "v1.35.9", nodes: nodes, facts: facts
        ).plan()
        #expect(batches.map { $0.map(\.host) } == [["cp1"], ["cp2"], ["cp3"], ["w1"], ["w2"], ["w3"]])
        #expect(batches.flatMap { $0 }.map(\.kubeadm) == [.apply, .node, .node, .node, .node, .node])
        #expect(batches.flatMap { $0 }.allSatisfy { $0.binaries == ["kubeadm", "kubelet", "kubectl"] && !$0.resumed })
        #expect(notes.first == "upgrade from 1.35.9 to 1.36.4: 6 nodes to do")
    }

    @Test func workersGoInBatchesAndStorageHostsOneAtATime() throws {
        let (topology, facts, nodes) = try Self.cluster(
            at: "1.35.9", workers: 5, storage: ["w3": ["/dev/vdb"], "w4": ["/dev/vdb"], "w5": ["/dev/vdb"]])
        let batches = try UpgradePlanner(
            topology: topology, target: "1.36.4", clusterVersion: "1.35.9", nodes: nodes, facts: facts,
            limits: UpgradeSettings(maxUnavailable: 2)
        ).plan().batches
        #expect(
            batches.map { $0.map(\.host) } == [["cp1"], ["cp2"], ["cp3"], ["w3"], ["w4"], ["w5"], ["w1", "w2"]])
        #expect(batches[3][0].storage && !batches[6][0].storage)
    }

    /// With a group label, one batch never takes two workers of one zone, however large
    /// maxUnavailable is: a whole zone never drains at once.
    @Test func aBatchTakesAtMostTheGroupLimitOfOneZone() throws {
        let (cluster, facts, nodes) = try Self.cluster(at: "1.35.9", workers: 5)
        var inventory = cluster.inventory
        let zones = ["w1": "a", "w2": "a", "w3": "b", "w4": "b", "w5": "c"]
        for index in inventory.hosts.indices {
            if let zone = zones[inventory.hosts[index].name] {
                inventory.hosts[index].labels["topology.kubernetes.io/zone"] = zone
            }
        }
        let topology = Topology(inventory)
        let batches = try UpgradePlanner(
            topology: topology, target: "1.36.4", clusterVersion: "1.35.9", nodes: nodes, facts: facts,
            limits: UpgradeSettings(maxUnavailable: 3, groupLabel: "topology.kubernetes.io/zone")
        ).plan().batches
        #expect(batches.dropFirst(3).map { $0.map(\.host) } == [["w1", "w3", "w5"], ["w2", "w4"]])
    }

    /// A rerun after an interruption in cp2's upgrade: cp1 is done, cp2 is cordoned with its
    /// kubeadm already new but its static pods not; only what is left is planned.
    @Test func anInterruptedUpgradeContinuesWhereItStopped() throws {
        var (topology, facts, nodes) = try Self.cluster(at: "1.35.9")
        facts["cp1"] = Self.joined("cp1", address: "10.0.0.1", version: "1.36.4", controlPlane: true)
        nodes[0] = Self.k8sNode("cp1", kubelet: "1.36.4")
        var cp2 = Self.joined("cp2", address: "10.0.0.2", version: "1.35.9", controlPlane: true)
        cp2.versions["kubeadm"] = "1.36.4"
        facts["cp2"] = cp2
        nodes[1] = Self.k8sNode("cp2", kubelet: "1.35.9", ready: true, upgrading: "1.36.4")
        let (batches, notes) = try UpgradePlanner(
            topology: topology, target: "1.36.4", clusterVersion: "1.36.4", nodes: nodes, facts: facts
        ).plan()
        #expect(batches.map { $0.map(\.host) } == [["cp2"], ["cp3"], ["w1"], ["w2"], ["w3"]])
        let first = try #require(batches.first?.first)
        #expect(first.resumed && first.kubeadm == .node && first.binaries == ["kubelet", "kubectl"])
        #expect(notes.contains("continuing an interrupted upgrade: cp2 cordoned by it"))
    }

    /// A node whose upgrade finished but which an interrupted run left cordoned is brought back.
    @Test func aFinishedNodeLeftCordonedIsPlannedToComeBack() throws {
        var (topology, facts, nodes) = try Self.cluster(at: "1.36.4")
        nodes[4] = Self.k8sNode("w2", kubelet: "1.36.4", upgrading: "1.36.4")
        let batches = try UpgradePlanner(
            topology: topology, target: "1.36.4", clusterVersion: nil, nodes: nodes, facts: facts
        ).plan().batches
        #expect(batches.map { $0.map(\.host) } == [["w2"]])
        #expect(batches[0][0].kubeadm == .none && batches[0][0].binaries.isEmpty && batches[0][0].resumed)
    }

    @Test func skippedMinorsDowngradesAndTooOldKubeletsAreRefused() throws {
        let (topology, facts, nodes) = try Self.cluster(at: "1.35.9")
        #expect(throws: UpgradeRefusal.skipsMinor(cluster: "1.35.9", target: "1.37.1", next: "1.36.4")) {
            try UpgradePlanner(
                topology: topology, target: "1.37.1", clusterVersion: "1.35.9", nodes: nodes, facts: facts
            ).plan()
        }
        let (newer, newerFacts, newerNodes) = try Self.cluster(at: "1.36.4")
        #expect(throws: UpgradeRefusal.downgrade(cluster: "1.36.4", target: "1.35.9")) {
            try UpgradePlanner(
                topology: newer, target: "1.35.9", clusterVersion: "1.36.4", nodes: newerNodes, facts: newerFacts
            ).plan()
        }
        var old = nodes
        old[5] = Self.k8sNode("w3", kubelet: "1.31.14")
        #expect(throws: UpgradeRefusal.kubeletsTooOld(nodes: ["w3"], target: "1.35.9")) {
            try UpgradePlanner(
                topology: topology, target: "1.35.9", clusterVersion: "1.35.9", nodes: old, facts: facts
            ).plan()
        }
        #expect(throws: UpgradeRefusal.clusterVersionUnreadable(host: "cp1")) {
            try UpgradePlanner(topology: topology, target: "1.36.4", clusterVersion: nil, nodes: nodes, facts: facts)
                .plan()
        }
    }

    @Test func kubeadmsConfigMapGivesTheClusterVersion() {
        let config = K8s.ConfigMap(
            metadata: .init(name: "kubeadm-config", namespace: "kube-system"),
            data: [
                "ClusterConfiguration":
                    "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.35.9\n"
            ])
        #expect(KubernetesUpgradePhase.kubernetesVersion(of: config) == "v1.35.9")
    }

    /// The plan a person sees, node by node, in the order it runs.
    @Test func thePhasePlansEachNodeInOrder() async throws {
        let (topology, facts, nodes) = try Self.cluster(at: "1.35.9", workers: 1)
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        for host in topology.nodes {
            var node = facts[host.name]!
            if host.has(.controlPlane) { node = Self.withNodes(node, nodes) }
            harness[host.name].expectNodeFacts(advertise: host.internalAddress, node)
        }
        let config = K8s.ConfigMap(
            metadata: .init(name: "kubeadm-config", namespace: "kube-system"),
            data: ["ClusterConfiguration": "kubernetesVersion: v1.35.9\n"])
        harness["cp1"].expect(
            exactly: Kubectl.command([
                "get", "configmap", "kubeadm-config", "-n", "kube-system", "-o", "json", "--ignore-not-found",
            ]),
            stdout: Fixture.json(config))
        harness["cp1"].expect(
            exactly: Kubectl.command(["get", "poddisruptionbudgets", "--all-namespaces", "-o", "json"]),
            stdout: """
                {"items": [
                  {"metadata": {"name": "web", "namespace": "shop"},
                   "status": {"disruptionsAllowed": 0, "currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 2}},
                  {"metadata": {"name": "api", "namespace": "shop"},
                   "status": {"disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3}},
                  {"metadata": {"name": "idle", "namespace": "shop"},
                   "status": {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 1, "expectedPods": 0}}
                ]}
                """)
        // One certificate ends in 10 days, the others in a year.
        let now = Int(Date().timeIntervalSince1970)
        harness["cp1"].expect(
            exactly: .script(.cairnCertExpiry, arguments: ["/etc/kubernetes/pki", "/etc/etcd/pki"]),
            stdout:
                Fixture.certificates(
                    "\(now + 365 * 86_400)\tkubernetes\tcn\t/etc/kubernetes/pki/ca.crt\n\(now + 10 * 86_400 + 600)\tkubernetes\tcn\t/etc/kubernetes/pki/apiserver.crt\n"
                )
        )
        // 1.36 removes scheduling.k8s.io/v1alpha1, which this cluster serves (a feature gate).
        harness["cp1"].expect(
            exactly: Kubectl.command(["api-versions"]),
            stdout: "apps/v1\nscheduling.k8s.io/v1\nscheduling.k8s.io/v1alpha1\nv1\n")
        harness["cp1"].expect(
            exactly: Kubectl.command(["get", "workloads.v1alpha1.scheduling.k8s.io", "--all-namespaces", "-o", "name"]),
            stdout: "workload.scheduling.k8s.io/a\nworkload.scheduling.k8s.io/b\n")
        let (result, events) = await harness.run(
            KubernetesUpgradePhase(topology: Topology(topology.inventory)), on: .roles(["control-plane", "worker"]),
            mode: .plan)
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        harness.expectExactlyTheExpectedCommands()
        let planned = events.planned
        #expect(
            planned.first == "cp1: preflight: etcd quorum with every member healthy, the API ready, every node Ready")
        #expect(
            Array(planned.dropFirst().prefix(10)) == [
                "cp1: cordon and drain cp1 (upgrade 1.35.9 → 1.36.4)",
                "cp1: upgrade kubeadm to 1.36.4 on cp1",
                "cp1: kubeadm upgrade apply v1.36.4 on cp1",
                "cp1: upgrade kubelet to 1.36.4 on cp1",
                "cp1: upgrade kubectl to 1.36.4 on cp1",
                // crictl and the pause image follow the kubelet while the node is drained
                "cp1: install crictl 1.36.0",
                "cp1: write /etc/containerd/config.toml (changed: differs from Cairn's)",
                "cp1: restart containerd on cp1 (its new configuration)",
                "cp1: restart the kubelet on cp1",
                "cp1: wait for cp1 Ready at v1.36.4, its API server ready and etcd healthy; uncordon cp1",
            ])
        #expect(planned.contains("cp2: kubeadm upgrade node on cp2"))
        #expect(planned.last == "w1: wait for w1 Ready at v1.36.4; uncordon w1")
        // Only a budget that covers pods and allows no eviction now is named.
        #expect(
            events.notes.contains {
                $0.contains("PodDisruptionBudgets allowing no eviction now: shop/web (healthy 2 of 2 needed);")
            }, "\(events.notes)")
        #expect(
            events.notes.contains {
                $0.hasPrefix("served now but removed in 1.36: scheduling.k8s.io/v1alpha1: 2 Workload;")
            }, "\(events.notes)")
        #expect(
            events.notes.contains {
                $0.hasPrefix(
                    "certificates ending within 30 days on cp1: /etc/kubernetes/pki/apiserver.crt (in 10 days);")
            }, "\(events.notes)")
    }

    static func withNodes(_ facts: NodeFacts, _ nodes: [K8s.Node]) -> NodeFacts {
        var facts = facts
        facts.nodes = K8s.List(items: nodes)
        return facts
    }

    /// The removed-API table equals docs/sources/removed-apis.json (which a Python test checks
    /// against the releases' OpenAPI schemas).
    @Test func theRemovedAPITableMatchesItsSource() throws {
        struct File: Decodable { let removed: [String: [RemovedAPIs.Entry]] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/sources/removed-apis.json")
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        #expect(file.removed == RemovedAPIs.byMinor)
        #expect(
            RemovedAPIs.removed(upgradingTo: "v1.37.1").map(\.qualifiedResource).contains(
                "ipaddresses.v1beta1.networking.k8s.io"))
    }
}
