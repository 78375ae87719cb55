import CairnCore
import CairnEngine
import CairnTesting
import Foundation
import Testing

@testable import CairnPhases

/// The cluster snapshot: one `kubectl get` that answers the add-on phases' facts and their gates'
/// first look.
struct SnapshotTests {
    static let everything = ClusterSnapshot.resources.map(\.resource)

    static func list(_ items: [String]) -> String {
        #"{"apiVersion":"v1","kind":"List","items":["# + items.joined(separator: ",") + "]}"
    }

    static let converged = list([
        #"{"kind":"Node","metadata":{"name":"cp1","labels":{"kubernetes.io/hostname":"cp1"}},"status":{"conditions":[{"type":"Ready","status":"True"}]}}"#,
        #"{"kind":"Node","metadata":{"name":"w1"},"status":{"conditions":[{"type":"Ready","status":"True"}]}}"#,
        #"{"kind":"Deployment","metadata":{"name":"coredns","namespace":"kube-system"},"spec":{"replicas":2},"status":{"availableReplicas":2}}"#,
        #"{"kind":"PodDisruptionBudget","metadata":{"name":"coredns","namespace":"kube-system"}}"#,
        #"{"kind":"Pod","metadata":{"name":"coredns-a","namespace":"kube-system","labels":{"k8s-app":"kube-dns"}},"spec":{"nodeName":"cp1"},"status":{"phase":"Running"}}"#,
        #"{"kind":"Pod","metadata":{"name":"coredns-b","namespace":"kube-system","labels":{"k8s-app":"kube-dns"}},"spec":{"nodeName":"w1"},"status":{"phase":"Running"}}"#,
        #"{"kind":"Pod","metadata":{"name":"other","namespace":"kube-system","labels":{"k8s-app":"other"}},"spec":{"nodeName":"w1"},"status":{"phase":"Pending"}}"#,
        #"{"kind":"Endpoints","metadata":{"name":"kube-dns","namespace":"kube-system"},"subsets":[{"addresses":[{"ip":"10.244.0.2"},{"ip":"10.244.1.2"}]}]}"#,
        #"{"kind":"ConfigMap","metadata":{"name":"cairn-addon-coredns","namespace":"kube-system"},"data":{"version":"kubeadm","rendered":"x"}}"#,
        #"{"kind":"Installation","metadata":{"name":"default"}}"#,
    ])

    static func snapshot(_ json: String = converged, kinds: [String]? = nil) throws -> ClusterSnapshot {
        try ClusterSnapshot.parse(
            Data(json.utf8), kinds: kinds ?? ClusterSnapshot.resources.map(\.kind), host: "cp1")
    }

    @Test func answersGetsByNameNamespaceAndSelector() throws {
        let snapshot = try Self.snapshot()
        guard case .found(let data) = snapshot.answer(["deployment", "coredns", "-n", "kube-system"]) else {
            Issue.record("no deployment")
            return
        }
        #expect(try JSONDecoder().decode(K8s.Deployment.self, from: data).available == 2)
        guard case .found(let pods) = snapshot.answer(["pods", "-n", "kube-system", "-l", "k8s-app=kube-dns"]) else {
            Issue.record("no pods")
            return
        }
        #expect(
            try JSONDecoder().decode(K8s.List<K8s.Pod>.self, from: pods).items.map(\.metadata.name) == [
                "coredns-a", "coredns-b",
            ])
        // Another namespace: not found, as kubectl says it.
        #expect(
            snapshot.answer(["deploy/coredns", "-n", "default"])
                == .notFound(#"Error from server (NotFound): deploy "coredns" not found"#))
        // Cluster-scoped kinds ignore the namespace.
        #expect(snapshot.answer(["installation", "default", "-n", "kube-system"]) != nil)
        guard case .found(let nodes) = snapshot.answer(["nodes"]) else {
            Issue.record("no nodes")
            return
        }
        #expect(try JSONDecoder().decode(K8s.List<K8s.Node>.self, from: nodes).items.count == 2)
    }

    @Test func leavesToTheAPIWhatItCannotAnswer() throws {
        let snapshot = try Self.snapshot(kinds: ["Node", "Deployment"])
        #expect(snapshot.answer(["secrets", "-n", "kube-system"]) == nil)  // never read
        #expect(snapshot.answer(["cephcluster", "rook-ceph", "-n", "rook-ceph"]) == nil)  // CRD absent
        #expect(snapshot.answer(["nodes", "--show-labels"]) == nil)  // an option it does not know
        #expect(snapshot.answer(["pods", "-l", "app in (a,b)"]) == nil)  // a set-based selector
        #expect(snapshot.answer(["nodes,pods"]) == nil)
    }

    @Test func anAddonsRecordAndMissingObjects() throws {
        let snapshot = try Self.snapshot()
        let topology = try Fixture.cluster()
        let coredns = try CoreDNS.make(topology).definition()
        #expect(
            snapshot.addonFacts(coredns) == AddonFacts(record: ["version": "kubeadm", "rendered": "x"], missing: []))
        let metallb = try MetalLB.make(topology).definition()
        #expect(
            snapshot.addonFacts(metallb)
                == AddonFacts(
                    record: nil, missing: ["metallb-system/deployment/controller", "metallb-system/daemonset/speaker"]))
        // A kind whose CRD is not installed has no objects.
        let withoutCRDs = try Self.snapshot(kinds: ClusterSnapshot.resources.map(\.kind).filter { $0 != "CephCluster" })
        let ceph = try RookCeph.make(topology).definition()
        #expect(withoutCRDs.addonFacts(ceph).missing.contains("rook-ceph/cephcluster/rook-ceph"))
    }

    /// kubectl refuses the whole request when one resource type is unknown: that custom resource is
    /// left out and the request repeated, once per missing CRD.
    @Test func aMissingCRDIsLeftOutAndTheReadRepeated() async throws {
        let executor = FakeHostExecutor(hostName: "cp1")
        executor.expect(
            exactly: Kubectl.command(ClusterSnapshot.arguments(Self.everything)), stdout: "",
            stderr: #"error: the server doesn't have a resource type "installations""#, status: 1)
        let withoutCalico = Self.everything.filter { $0 != "installations.operator.tigera.io" }
        executor.expect(
            exactly: Kubectl.command(ClusterSnapshot.arguments(withoutCalico)), stdout: "",
            stderr: #"error: the server doesn't have a resource type "cephclusters.ceph.rook.io""#, status: 1)
        let neither = withoutCalico.filter { $0 != "cephclusters.ceph.rook.io" }
        executor.expect(exactly: Kubectl.command(ClusterSnapshot.arguments(neither)), stdout: Self.converged)
        let snapshot = try await ClusterSnapshot.read(Kubectl(executor: executor))
        #expect(executor.remainingExpectations.isEmpty)
        #expect(executor.unexpectedCalls.isEmpty)
        #expect(snapshot.items["Installation"] == nil)
        #expect(snapshot.items["Deployment"]?.count == 1)
    }

    @Test func anotherFailureIsAnError() async throws {
        let executor = FakeHostExecutor(hostName: "cp1")
        executor.expect(
            exactly: Kubectl.command(ClusterSnapshot.arguments(Self.everything)), stdout: "",
            stderr: "The connection to the server 10.0.0.250:6443 was refused", status: 1)
        await #expect(throws: KubectlError.self) { try await ClusterSnapshot.read(Kubectl(executor: executor)) }
    }

    /// A converged CoreDNS gate reads everything it checks from the snapshot: no command at all.
    @Test func aConvergedGateAsksTheAPINothing() async throws {
        let executor = FakeHostExecutor(hostName: "cp1")
        let topology = try Fixture.cluster(workers: 1)
        let check = AddonCheck(
            kubectl: Kubectl(executor: executor, snapshot: try Self.snapshot()), clock: VirtualClock(),
            appliedThisRun: false)
        let coredns = CoreDNS.make(topology)
        #expect(coredns.replicas == 2)
        let outcome = try await coredns.gate(check)
        #expect(outcome == .passed("2 coredns replicas on cp1, w1"))
        #expect(executor.recordedCalls.isEmpty)
    }
}
