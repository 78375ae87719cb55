import CairnTesting
import Foundation
import Testing

/// kube-apiserver's `--etcd-servers` follows etcd's membership (long tier): 3 → 5 → 3 members. etcd,
/// haproxy and keepalived are real; the API servers are the lab's stand-ins, which read
/// `--etcd-servers` from their static pod manifests as kube-apiserver does.
@Suite(.serialized, .lab, .longTier, .timeLimit(.minutes(20)))
struct EtcdEndpointsLabTests {
    @Test func theAPIServersEtcdEndpointsFollowGrowthAndRemoval() throws {
        let lab = try Lab.up("t-etcdeps", hosts: 5)
        defer { lab.down() }
        let controlPlanes: [(host: String, roles: [String])] = ["node1", "node2", "node3"].map {
            ($0, ["control-plane", "etcd", "worker"])
        }
        let three = try CertificateLabTests.inventory(lab, "three.yaml", roles: controlPlanes, window: nil)
        let built = try Lab.cairn(["apply", "--yes", "-i", three])
        #expect(built.status == 0, "\(built.stdout.suffix(3000))\(built.stderr)")
        try Self.expectEndpoints(lab, members: ["node1", "node2", "node3"])

        let five = try CertificateLabTests.inventory(
            lab, "five.yaml", roles: controlPlanes + [("node4", ["etcd"]), ("node5", ["etcd"])], window: nil)
        let grown = try Lab.cairn(["apply", "--yes", "-i", five])
        #expect(grown.status == 0, "\(grown.stdout.suffix(3000))\(grown.stderr)")
        #expect(grown.stdout.contains("kube-apiserver on node2: --etcd-servers"))
        try Self.expectEndpoints(lab, members: ["node1", "node2", "node3", "node4", "node5"])

        // Back to three: the members no longer listed are removed (judged from live health).
        var text = try String(contentsOfFile: three, encoding: .utf8)
        text = text.replacingOccurrences(of: "\netcd:\n", with: "\netcd:\n  removeMembersNotInInventory: true\n")
        let shrunk = lab.directory.appendingPathComponent("three-again.yaml").path
        try text.write(toFile: shrunk, atomically: true, encoding: .utf8)
        let removed = try Lab.cairn(["apply", "--yes", "-i", shrunk])
        #expect(removed.status == 0, "\(removed.stdout.suffix(3000))\(removed.stderr)")
        try Self.expectEndpoints(lab, members: ["node1", "node2", "node3"])
        let again = try Lab.cairn(["plan", "--detailed-exitcode", "-i", shrunk])
        #expect(again.status == 0, "\(again.stdout.suffix(3000))")
    }

    /// Every control-plane host's manifest and kubeadm's ClusterConfiguration list exactly `members`.
    static func expectEndpoints(_ lab: Lab, members: [String]) throws {
        let urls = members.map { "https://\(lab.host($0).address):2379" }
        for host in ["node1", "node2", "node3"] {
            let flag = try lab.exec(
                host, "sed -n 's/^ *- --etcd-servers=//p' /etc/kubernetes/manifests/kube-apiserver.yaml")
            #expect(flag.trimmingCharacters(in: .whitespacesAndNewlines) == urls.joined(separator: ","), "\(host)")
        }
        let configured = try lab.kubectl(
            "-n kube-system get configmap kubeadm-config -o jsonpath={.data.ClusterConfiguration}")
        for url in urls { #expect(configured.contains("- \(url)"), "kubeadm-config lacks \(url):\n\(configured)") }
        let listed = configured.components(separatedBy: ":2379").count - 1
        #expect(listed == urls.count, "kubeadm-config:\n\(configured)")
    }
}
