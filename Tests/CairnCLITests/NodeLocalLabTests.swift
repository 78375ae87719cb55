import CairnTesting
import Foundation
import Testing

/// `kubernetes.apiEndpoint.nodeLocal` end to end (long tier): no virtual IP; every worker reaches
/// the API through its own haproxy on 127.0.0.1:6443, control-plane hosts through their own API
/// server. The haproxy, the name resolution and the link cut are real; the Kubernetes components
/// are the lab's stand-ins (docs/lab-k8s.md).
@Suite(.serialized, .lab, .longTier, .timeLimit(.minutes(20)))
struct NodeLocalLabTests {
    /// Three control-plane+etcd hosts and one worker without a virtual IP: the worker's kubelet
    /// holds its connection to 127.0.0.1:6443 (haproxy); with the first control-plane host's
    /// link cut for a minute the worker stays Ready and `kubectl get nodes` answers through
    /// every remaining node's local endpoint; a fourth control-plane host is added to every
    /// worker's balancer, and afterwards the plan is empty.
    @Test func aClusterWithoutAVirtualIPSurvivesAControlPlaneHostAndGrows() throws {
        let lab = try Lab.up("t-nodelocal", hosts: 5)
        defer { lab.down() }
        let roles: [(host: String, roles: [String])] = [
            ("node1", ["control-plane", "etcd"]), ("node2", ["control-plane", "etcd"]),
            ("node3", ["control-plane", "etcd"]), ("node4", ["worker"]),
        ]
        let inventory = try Self.inventory(lab, "nodelocal.yaml", roles: roles)
        let built = try Lab.cairn(["apply", "--yes", "-i", inventory])
        #expect(built.status == 0, "\(built.stdout.suffix(3000))\(built.stderr)")
        #expect(built.stdout.contains("every node reaches the API at https://127.0.0.1:6443"))

        // The worker: the name resolves to its loopback address, where Cairn's haproxy listens and
        // the kubelet keeps its connection; its kubeconfig names the endpoint.
        #expect(try lab.exec("node4", "getent hosts kube-apiserver.cairn.internal").hasPrefix("127.0.0.1 "))
        #expect(
            try lab.exec("node4", "grep server: /etc/kubernetes/kubelet.conf").contains(
                "https://kube-apiserver.cairn.internal:6443"))
        let sockets = try lab.exec("node4", "ss -tnpH")
        #expect(
            sockets.split(separator: "\n").contains { $0.contains("127.0.0.1:6443") && $0.contains("\"kubelet\"") },
            "no kubelet connection to 127.0.0.1:6443:\n\(sockets)")
        #expect(try lab.exec("node4", "ss -ltnpH").contains("127.0.0.1:6443"))
        // Control-plane hosts reach their own API server under the name.
        for host in ["node1", "node2", "node3"] {
            #expect(try lab.exec(host, "getent hosts kube-apiserver.cairn.internal").hasPrefix("127.0.0.1 "))
            #expect(!(try lab.exec(host, "ss -ltnpH")).contains("haproxy"), "\(host) runs no balancer")
        }
        // The operator's kubeconfig: one context per control-plane host.
        let contexts = try Lab.cairn(["kubeconfig", "-i", inventory])
        for n in 1...3 { #expect(contexts.stdout.contains("server: https://\(lab.host("node\(n)").address):6443")) }
        let status = try Lab.cairn(["status", "-i", inventory])
        #expect(status.stdout.contains("node balancers: 1/1 reach a ready API server"), "\(status.stdout)")

        // node1's link cut for longer than the node controller's grace period.
        let viaNode2 = try Lab.cairn(["kubeconfig", "-i", inventory, "--control-plane", "node2"])
        #expect(viaNode2.status == 0)
        try lab.exec("node4", "umask 077; cat > /root/admin.conf <<'EOF'\n\(viaNode2.stdout)\nEOF")
        try lab.fault("node1", "link-down")
        sleep(60)
        let nodes = try lab.exec(
            "node4", "kubectl --kubeconfig /root/admin.conf --server https://127.0.0.1:6443 get nodes --no-headers")
        let node4 = nodes.split(separator: "\n").first { $0.hasPrefix("node4 ") } ?? ""
        #expect(node4.contains(" Ready "), "node4 after a minute without node1:\n\(nodes)")
        for host in ["node2", "node3"] {
            #expect(
                try lab.exec(host, "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name").contains(
                    "node/node4"), "kubectl through \(host)'s endpoint")
        }
        try lab.fault("node1", "link-up")
        try Self.waitHealthy(inventory)

        // A fourth control-plane host: every worker's balancer gets it.
        let grown = try Self.inventory(
            lab, "nodelocal-4cp.yaml", roles: roles + [("node5", ["control-plane"])])
        let expanded = try Lab.cairn(["apply", "--yes", "-i", grown])
        #expect(expanded.status == 0, "\(expanded.stdout.suffix(3000))\(expanded.stderr)")
        #expect(
            try lab.exec("node4", "grep -c '^  server ' /etc/cairn/haproxy.cfg").trimmingCharacters(
                in: .whitespacesAndNewlines) == "4")
        #expect(try lab.exec("node5", "getent hosts kube-apiserver.cairn.internal").hasPrefix("127.0.0.1 "))
        let kubeconfig = try Lab.cairn(["kubeconfig", "-i", grown])
        #expect(kubeconfig.stdout.contains("server: https://\(lab.host("node5").address):6443"))
        let again = try Lab.cairn(["plan", "--detailed-exitcode", "-i", grown])
        #expect(again.status == 0, "\(again.stdout.suffix(3000))")
    }

    /// The lab's inventory with a nodeLocal endpoint and only the add-ons a Ready node needs.
    static func inventory(_ lab: Lab, _ file: String, roles: [(host: String, roles: [String])]) throws -> String {
        let path = try lab.writeInventory(file, roles: roles)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(
            of: #"\n  apiEndpoint:\n    haproxyKeepalived: \{[^}]*\}\n"#, with: "\n  apiEndpoint:\n    nodeLocal: {}\n",
            options: .regularExpression)
        text = text.replacingOccurrences(
            of: #"\naddons:\n(  .*\n)*"#,
            with: "\naddons:\n  metallb: {enabled: false}\n  ingress: {enabled: false}\n  rookCeph: {enabled: false}\n",
            options: .regularExpression)
        #expect(text.contains("nodeLocal: {}") && text.contains("metallb: {enabled: false}"), "\(text)")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Waits up to 2 minutes for `cairn status` to exit 0 (etcd re-elects after a link returns).
    static func waitHealthy(_ inventory: String) throws {
        var last = ""
        for _ in 0..<24 {
            let status = try Lab.cairn(["status", "-i", inventory])
            if status.status == 0 { return }
            last = status.stdout
            sleep(5)
        }
        Issue.record("the cluster did not become healthy again:\n\(last)")
    }
}
