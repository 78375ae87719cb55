import CairnTesting
import Foundation
import Testing

/// The add-ons against the lab's stand-ins: the whole HA cluster in one apply, each gate failing
/// for its real reason under an injected fault, and expansion with a new storage worker.
@Suite(.serialized, .lab, .longTier, .timeLimit(.minutes(60)))
struct AddonsLabTests {
    static let labK8s = Lab.repositoryRoot.appendingPathComponent("scripts/lab-k8s").path

    func podNodes(_ lab: Lab, namespace: String, selector: String) throws -> [String] {
        try lab.kubectl("get pods -n \(namespace) -l \(selector) -o jsonpath='{.items[*].spec.nodeName}'")
            .split(separator: " ").map(String.init)
    }

    @Test func theWholeClusterInOneApplyFaultsAndExpansion() throws {
        let lab = try Lab.up("t-addons", hosts: 7)
        defer { lab.downWithDevices() }
        let storage = try ["node4", "node5", "node6", "node7"].reduce(into: [String: [String]]()) {
            $0[$1] = [try lab.addDevice($1)]
        }
        let base: [(host: String, roles: [String])] = [
            ("node1", ["control-plane", "etcd"]), ("node2", ["control-plane", "etcd"]),
            ("node3", ["control-plane", "etcd"]),
            ("node4", ["worker"]), ("node5", ["worker"]), ("node6", ["worker"]),
        ]
        let six = try lab.writeInventory("six.yaml", roles: base, storage: storage)
        let seven = try lab.writeInventory("seven.yaml", roles: base + [("node7", ["worker"])], storage: storage)

        // One apply from nothing to the whole cluster.
        let apply = try Lab.cairn(["apply", "--yes", "-i", six])
        #expect(apply.status == 0, "\(apply.stdout.suffix(4000))\(apply.stderr)")
        #expect(apply.stdout.contains("calico-node on all 6 nodes, every node Ready"))
        #expect(apply.stdout.contains("a test service got 10.99."))
        #expect(
            apply.stdout.contains("HEALTH_OK: 3 mons in quorum, 3/3 OSDs up and in"), "\(apply.stdout.suffix(3000))")
        #expect(apply.stdout.contains("a test claim bound (pvc-"), "\(apply.stdout.suffix(3000))")
        #expect(try !lab.kubectl("get pvc -A -o name").contains("cairn-pvc-probe"), "the test claim is removed")
        let coredns = try podNodes(lab, namespace: "kube-system", selector: "k8s-app=kube-dns")
        #expect(coredns.count == 3 && Set(coredns).count == 3, "CoreDNS replicas on distinct nodes: \(coredns)")
        let traefik = try podNodes(lab, namespace: "traefik", selector: "app.kubernetes.io/name=traefik")
        #expect(traefik.count == 3 && Set(traefik).count == 3, "ingress replicas on distinct nodes: \(traefik)")
        let address = try lab.kubectl("get svc traefik -n traefik -o jsonpath='{.status.loadBalancer.ingress[0].ip}'")
        #expect(address.hasPrefix("10.99."), "the ingress service holds a MetalLB address: \(address)")
        #expect(try Lab.cairn(["plan", "--detailed-exitcode", "-i", six]).status == 0)
        let status = try Lab.cairn(["status", "-i", six, "--output", "json"])
        #expect(status.status == 0, "\(status.stdout)")
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        #expect(object?["healthy"] as? Bool == true)
        #expect((object?["ceph"] as? [String: Any])?["health"] as? String == "HEALTH_OK")

        // An OSD down: the Ceph gate names it, exit 75.
        try Lab.shell([Self.labK8s, "fault", lab.name, "node5", "osd-down"])
        let osd = try Lab.cairn(["apply", "--yes", "-i", six, "--gate-timeout", "25"])
        #expect(osd.status == 75, "\(osd.stderr)")
        #expect(osd.stderr.contains("OSD") && osd.stderr.contains("rook-ceph"), "\(osd.stderr)")
        let degraded = try Lab.cairn(["status", "-i", six])
        #expect(degraded.status == 75)
        try Lab.shell([Self.labK8s, "fault", lab.name, "node5", "osd-up"])

        // A node that never turns Ready: Calico's gate names the node and the kubelet's reason.
        try Lab.shell([Self.labK8s, "fault", lab.name, "node6", "never-ready"])
        let notReady = try Lab.cairn(["apply", "--yes", "-i", six, "--gate-timeout", "25"])
        #expect(notReady.status == 75, "\(notReady.stderr)")
        #expect(notReady.stderr.contains("calico ready") && notReady.stderr.contains("node6"), "\(notReady.stderr)")
        try Lab.shell([Self.labK8s, "fault", lab.name, "node6", "ready"])

        // Expansion: a new worker with a device joins, becomes Ready, gets an OSD, HEALTH_OK again.
        let grow = try Lab.cairn(["apply", "--yes", "-i", seven])
        #expect(grow.status == 0, "\(grow.stdout.suffix(4000))\(grow.stderr)")
        #expect(grow.stdout.contains("kubeadm join node7 as a worker"))
        #expect(grow.stdout.contains("HEALTH_OK: 3 mons in quorum, 4/4 OSDs up and in"), "\(grow.stdout.suffix(3000))")
        #expect(
            grow.stdout.contains("a test claim bound"), "Ceph's configuration changed, so a volume is provisioned again"
        )
        let performed = try Journal.performedHosts(lab.directory.appendingPathComponent("state/runs/latest"))
        #expect(performed["worker-join"] == ["node7"], "\(performed)")
        for (phase, hosts) in performed where !["rook-ceph", "worker-join"].contains(phase) {
            #expect(hosts == ["node7"], "\(phase) touched \(hosts.sorted())")
        }
        #expect(try Lab.cairn(["plan", "--detailed-exitcode", "-i", seven]).status == 0)
    }

    @Test func aSlowMetalLBWebhookEndsWithItsCause() throws {
        let lab = try Lab.up("t-addons-slow", hosts: 4)
        defer { lab.down() }
        // MetalLB's controller cannot pull its image, so its webhook never serves.
        try Lab.shell([Self.labK8s, "fault", lab.name, "metallb-system/controller", "image-pull"])
        let run = try Lab.cairn([
            "apply", "--yes", "-i", lab.inventoryPath, "--skip-phase", "ingress", "--skip-phase", "rook-ceph",
            "--skip-phase", "coredns", "--gate-timeout", "30",
        ])
        #expect(run.status == 75, "\(run.stdout.suffix(3000))\(run.stderr)")
        #expect(
            run.stderr.contains("failed calling webhook") || run.stderr.contains("MetalLB controller is not available"),
            "\(run.stderr)")
    }
}
