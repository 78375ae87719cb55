import CairnTesting
import Foundation
import Testing

/// `cairn remove` end to end (long tier, docs/remove.md). etcd, haproxy, keepalived, sshd and the
/// link cut are real; kubeadm, the kubelet, the API server and Ceph are the lab's stand-ins.
@Suite(.serialized, .lab, .longTier, .timeLimit(.minutes(30)))
struct RemovalLabTests {
    /// A control-plane+etcd host dies for good (its link cut). The operator replaces it in the
    /// inventory (node1 out, node5 in) and runs one command: `cairn remove node1 --unreachable`.
    /// Afterwards etcd has 3 healthy members, there are 3 control-plane Nodes, node1 is in no
    /// member list, Node list or balancer, every kube-apiserver's --etcd-servers lists the new
    /// members, and the plan is empty. Removing a healthy member of the three is refused with
    /// nothing changed.
    @Test func aDeadControlPlaneHostIsReplacedWithOneCommand() throws {
        let lab = try Lab.up("t-replace", hosts: 5)
        defer { lab.down() }
        let survivors: [(host: String, roles: [String])] = [
            ("node2", ["control-plane", "etcd"]), ("node3", ["control-plane", "etcd"]), ("node4", ["worker"]),
        ]
        let before = try CertificateLabTests.inventory(
            lab, "before.yaml", roles: [("node1", ["control-plane", "etcd"])] + survivors, window: nil)
        let built = try Lab.cairn(["apply", "--yes", "-i", before])
        #expect(built.status == 0, "\(built.stdout.suffix(3000))\(built.stderr)")

        try lab.fault("node1", "link-down")
        let after = try CertificateLabTests.inventory(
            lab, "after.yaml", roles: survivors + [("node5", ["control-plane", "etcd"])], window: nil)
        // apply alone refuses to grow etcd past a dead member and names the command.
        let refused = try Lab.cairn(["apply", "--yes", "-i", after])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("cairn remove -i INVENTORY node1 --unreachable"), "\(refused.stderr)")

        let removed = try Lab.cairn(["remove", "-i", after, "node1", "--unreachable", "--yes"])
        #expect(removed.status == 0, "\(removed.stdout.suffix(4000))\(removed.stderr)")
        let status = try Lab.cairn(["status", "-i", after, "--output", "json"])
        #expect(status.status == 0, "\(status.stdout)")
        let members = try lab.exec(
            "node2",
            "ETCDCTL_API=3 etcdctl --endpoints https://\(lab.host("node2").address):2379 --cacert /etc/etcd/pki/ca.crt --cert /etc/etcd/pki/admin.crt --key /etc/etcd/pki/admin.key member list -w simple"
        )
        #expect(members.split(separator: "\n").count == 3 && !members.contains("node1"), "\(members)")
        let nodes = try lab.kubectl("get nodes -o name", on: "node2")
        #expect(!nodes.contains("node/node1") && nodes.contains("node/node5"), "\(nodes)")
        #expect(
            try lab.kubectl("get nodes -l node-role.kubernetes.io/control-plane -o name", on: "node2")
                .split(separator: "\n").count == 3)
        for host in ["node2", "node3", "node5"] {
            let config = try lab.exec(host, "cat /etc/cairn/haproxy.cfg")
            #expect(!config.contains(lab.host("node1").address + ":6443"), "\(host)'s balancer still has node1")
            let flag = try lab.exec(
                host, "sed -n 's/^ *- --etcd-servers=//p' /etc/kubernetes/manifests/kube-apiserver.yaml")
            #expect(
                !flag.contains(lab.host("node1").address) && flag.contains(lab.host("node5").address),
                "\(host): \(flag)")
        }
        let again = try Lab.cairn(["plan", "--detailed-exitcode", "-i", after])
        #expect(again.status == 0, "\(again.stdout.suffix(3000))")

        // A healthy member of three: refused, nothing changed.
        let unsafe = try Lab.cairn(["remove", "-i", after, "node3", "--yes"])
        #expect(unsafe.status == 1, "\(unsafe.stdout.suffix(2000))\(unsafe.stderr)")
        #expect(unsafe.stderr.contains("cannot tolerate a failure") && unsafe.stderr.contains("nothing was changed"))
        #expect(try lab.kubectl("get node node3 -o name", on: "node2").contains("node/node3"))
    }

    /// Seven hosts, Ceph on four workers (pool size 3), a Deployment of 3 guarded by a budget
    /// (minAvailable 2). Removing the storage worker node7 drains it without the Deployment
    /// dropping below 2, moves its data (HEALTH_OK, every PG active+clean, no PG incomplete),
    /// purges its OSD, deletes the Node and resets the host; the plan for the inventory without
    /// node7 is empty. Removing two more storage hosts is refused (2 left for 3 replicas) with
    /// nothing changed.
    @Test func aStorageWorkerLeavesWithItsDataMovedAndTheBudgetKept() throws {
        let lab = try Lab.up("t-rmstore", hosts: 7)
        defer { lab.downWithDevices() }
        var devices: [String: [String]] = [:]
        for host in ["node4", "node5", "node6", "node7"] { devices[host] = [try lab.addDevice(host)] }
        let controlPlanes: [(host: String, roles: [String])] = ["node1", "node2", "node3"].map {
            ($0, ["control-plane", "etcd"])
        }
        let workers: [(host: String, roles: [String])] = ["node4", "node5", "node6"].map { ($0, ["worker"]) }
        let inventory = try lab.writeInventory(
            "seven.yaml", roles: controlPlanes + workers + [("node7", ["worker"])], storage: devices)
        let built = try Lab.cairn(["apply", "--yes", "-i", inventory])
        #expect(built.status == 0, "\(built.stdout.suffix(3000))\(built.stderr)")
        try UpgradeLabTests.deployWeb(lab, minAvailable: 2)

        let watch = try UpgradeLabTests.AvailabilityWatch(lab, kubectlVersion: "1.36.4")
        let removed = try Lab.cairn(["remove", "-i", inventory, "node7", "--yes"])
        let judged = UpgradeLabTests.judge(watch.stop())
        #expect(removed.status == 0, "\(removed.stdout.suffix(4000))\(removed.stderr)")
        #expect(removed.stdout.contains("cordon and drain node7"))
        #expect(removed.stdout.contains("mark node7's OSDs"))
        #expect(judged.fewest >= 2, "fewest available \(judged.fewest)")

        let ceph = try lab.kubectl("-n rook-ceph exec deploy/rook-ceph-tools -- ceph status -f json")
        #expect(ceph.contains("\"HEALTH_OK\""), "\(ceph)")
        #expect(!ceph.contains("incomplete") && !ceph.contains("degraded"), "\(ceph)")
        let tree = try lab.kubectl("-n rook-ceph exec deploy/rook-ceph-tools -- ceph osd tree -f json")
        #expect(!tree.contains("\"node7\""), "\(tree)")
        #expect(!(try lab.kubectl("get nodes -o name")).contains("node/node7"))
        #expect(
            try lab.exec("node7", "test -e /etc/kubernetes/kubelet.conf && echo present || echo gone")
                .contains("gone"))

        var remainingDevices = devices
        remainingDevices["node7"] = nil
        let six = try lab.writeInventory("six.yaml", roles: controlPlanes + workers, storage: remainingDevices)
        let again = try Lab.cairn(["plan", "--detailed-exitcode", "-i", six])
        #expect(again.status == 0, "\(again.stdout.suffix(3000))")

        let unsafe = try Lab.cairn(["remove", "-i", six, "node5", "node6", "--yes"])
        #expect(unsafe.status == 1, "\(unsafe.stdout.suffix(2000))\(unsafe.stderr)")
        #expect(unsafe.stderr.contains("would leave 1 storage host for a pool of 3 replicas"), "\(unsafe.stderr)")
        #expect(try lab.kubectl("get nodes -o name").contains("node/node6"))
    }
}
