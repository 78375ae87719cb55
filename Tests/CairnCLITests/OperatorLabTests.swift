import CairnTesting
import Foundation
import Testing

/// status, reset and redaction against a lab cluster.
@Suite(.serialized, .lab, .longTier, .timeLimit(.minutes(60)))
struct OperatorLabTests {
    static let addons = ["calico", "coredns", "metallb", "ingress", "rook-ceph"].flatMap { ["--skip-phase", $0] }

    /// Files and processes that say what is installed on a host (logs and caches excluded).
    func snapshot(_ lab: Lab, _ host: String) throws -> (files: String, processes: String) {
        let files = try lab.exec(
            host,
            "find /etc /var/lib /usr/local /opt -xdev \\( -path /var/lib/apt -o -path /var/lib/dpkg -o -path /var/lib/systemd \\) -prune -o -print 2>/dev/null | sort"
        )
        // Without this pipeline's own processes: `sort` may or may not have started when ps looks.
        let processes = try lab.exec(host, "ps -eo comm= | grep -vxE 'ps|sh|sort' | sort -u")
        return (files, processes)
    }

    @Test func resetLeavesHostsAsTheyWereBeforeApply() throws {
        let lab = try Lab.up("t-reset", hosts: 3)
        defer { lab.down() }
        let before = try (1...3).map { try snapshot(lab, "node\($0)") }
        let apply = try Lab.cairn(["apply", "--yes", "-i", lab.inventoryPath] + Self.addons)
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(try lab.exec("node1", "ls /usr/local/bin").contains("kubelet"))

        // A subset that breaks etcd quorum is refused, and nothing changes.
        let refused = try Lab.cairn(["reset", "--yes", "-i", lab.inventoryPath, "--hosts", "node2,node3"])
        #expect(refused.status == 1)
        // Judged from live health, as `cairn remove` judges it.
        #expect(refused.stderr.contains("cannot tolerate a failure"), "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was changed"), "\(refused.stderr)")
        #expect(try lab.exec("node2", "test -e /etc/etcd.env && echo yes") == "yes\n")

        let reset = try Lab.cairn(["reset", "--yes", "-i", lab.inventoryPath])
        #expect(reset.status == 0, "\(reset.stdout)\(reset.stderr)")
        for (index, host) in ["node1", "node2", "node3"].enumerated() {
            let after = try snapshot(lab, host)
            // /usr/local/bin is a standard directory (empty in the lab's fresh hosts); reset leaves it.
            let added = Set(after.files.split(separator: "\n")).subtracting(before[index].files.split(separator: "\n"))
                .subtracting(["/usr/local/bin"])
            #expect(added.isEmpty, "\(host) still has: \(added.sorted().prefix(20))")
            #expect(after.processes == before[index].processes, "\(host) processes differ")
        }
    }
}
