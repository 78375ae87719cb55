import CairnPhases
import CairnTesting
import Foundation
import Testing

/// What the supported releases require of hosts, refused before anything changes.
@Suite(.serialized, .lab, .fastTier, .timeLimit(.minutes(10)))
struct HostRequirementLabTests {
    /// Kubernetes 1.35+ needs cgroup v2: a cgroup v1 host stops `apply` in host-checks, naming
    /// the host and the way out, and no host is changed.
    @Test func aCgroupV1HostStopsApplyInHostChecksWithNothingChanged() throws {
        let lab = try Lab.up("t-cgroup", hosts: 3)
        defer { lab.down() }
        try lab.k8sFault("node2", "cgroup-v1")
        #expect(try lab.exec("node2", "stat -fc %T /sys/fs/cgroup") != "cgroup2fs\n")
        #expect(try lab.exec("node1", "stat -fc %T /sys/fs/cgroup") == "cgroup2fs\n")
        let apply = try Lab.cairn(["apply", "--yes", "-i", lab.inventoryPath])
        #expect(apply.status == 1, "\(apply.stdout.suffix(2000))\(apply.stderr)")
        #expect(apply.stderr.contains("host-checks"), "\(apply.stderr)")
        #expect(apply.stderr.contains("node2") && apply.stderr.contains("needs cgroup v2"), "\(apply.stderr)")
        #expect(apply.stderr.contains("systemd.unified_cgroup_hierarchy=1"))
        let performed = try Journal.performedHosts(lab.directory.appendingPathComponent("state/runs/latest"))
        #expect(performed.isEmpty, "changed: \(performed)")
        for host in ["node1", "node2", "node3"] {
            #expect(try lab.exec(host, "ls /etc/sysctl.d/99-cairn.conf /usr/local/bin/kubelet 2>/dev/null; true") == "")
        }
    }
}

/// The minors either side of the default build and converge (long tier: each is a whole build).
/// Kubernetes 1.37 goes without storage: Rook 1.20 supports Kubernetes up to 1.36.
@Suite(.serialized, .lab, .longTier, .timeLimit(.minutes(30)))
struct VersionLabTests {
    @Test(arguments: [("1.35.9", "3.6.14", true), ("1.37.1", "3.7.2", false)])
    func aReleaseBuildsAndConverges(kubernetes: String, etcd: String, storage: Bool) throws {
        let name = "t-v" + kubernetes.split(separator: ".")[1]
        let lab = try Lab.up(name, hosts: storage ? 6 : 5)
        defer { lab.downWithDevices() }
        var devices: [String: [String]] = [:]
        var roles: [(host: String, roles: [String])] = [
            ("node1", ["control-plane", "etcd"]), ("node2", ["control-plane", "etcd"]),
            ("node3", ["control-plane", "etcd"]), ("node4", ["worker"]), ("node5", ["worker"]),
        ]
        if storage {
            roles.append(("node6", ["worker"]))
            for host in ["node4", "node5", "node6"] { devices[host] = [try lab.addDevice(host)] }
        }
        let base = try lab.writeInventory("base.yaml", roles: roles, storage: devices)
        // The lab's inventory has kubernetes:, etcd: and addons: sections; the versions go in there.
        var text = try String(contentsOfFile: base, encoding: .utf8)
        #expect(
            text.contains("\nkubernetes:\n") && text.contains("\netcd:\n  version: ") && text.contains("\naddons:\n"))
        text = text.replacingOccurrences(of: "\nkubernetes:\n", with: "\nkubernetes:\n  version: \"\(kubernetes)\"\n")
        text = text.replacingOccurrences(
            of: #"\netcd:\n  version: "[0-9.]+""#, with: "\netcd:\n  version: \"\(etcd)\"", options: .regularExpression)
        if !storage {
            text = text.replacingOccurrences(of: "\naddons:\n", with: "\naddons:\n  rookCeph: {enabled: false}\n")
        }
        let inventory = lab.directory.appendingPathComponent("v.yaml").path
        try text.write(toFile: inventory, atomically: true, encoding: .utf8)
        let validate = try Lab.cairn(["validate", "-i", inventory])
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)\n\(text)")
        let apply = try Lab.cairn(["apply", "--yes", "-i", inventory])
        #expect(apply.status == 0, "\(apply.stdout.suffix(3000))\(apply.stderr)")
        let versions = try lab.kubectl("get nodes -o jsonpath={.items[*].status.nodeInfo.kubeletVersion}")
        #expect(Set(versions.split(separator: " ")) == ["v\(kubernetes)"], "\(versions)")
        let etcdVersion = try lab.exec("node1", "/usr/local/bin/etcd --version | head -1")
        #expect(etcdVersion.contains(etcd), "\(etcdVersion)")
        let converged = try Lab.cairn(["plan", "--detailed-exitcode", "-i", inventory])
        #expect(converged.status == 0, "\(converged.stdout.suffix(3000))\(converged.stderr)")
    }
}
