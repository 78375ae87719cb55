import CairnTesting
import Foundation
import Testing

/// The Kubernetes phases against the lab's stand-ins (kubeadm, kubelet, kube-apiserver,
/// kubectl are simulated; etcd, sshd, haproxy, keepalived, TLS and systemd units are real).
/// The kill inside `kubeadm join` is part of the fast tier's smoke run (SmokeLabTests).
@Suite(.serialized, .lab, .longTier, .timeLimit(.minutes(60)))
struct KubernetesLabTests {
    func nodes(_ lab: Lab) throws -> [String] {
        let output = try lab.kubectl("get nodes -o name")
        return output.split(separator: "\n").map { String($0.dropFirst("node/".count)) }.sorted()
    }

    @Test func expansionJoinsOnlyTheNewHosts() throws {
        let lab = try Lab.up("t-k8s-grow", hosts: 7)
        defer { lab.down() }
        let base: [(host: String, roles: [String])] = [
            ("node1", ["control-plane", "etcd"]), ("node2", ["control-plane", "etcd"]),
            ("node3", ["control-plane", "etcd"]),
            ("node4", ["worker"]), ("node5", ["worker"]),
        ]
        let five = try lab.writeInventory("five.yaml", roles: base)
        let seven = try lab.writeInventory(
            "seven.yaml", roles: base + [("node6", ["control-plane"]), ("node7", ["worker"])])
        let first = try Lab.cairn(["apply", "--yes", "-i", five])
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(try nodes(lab) == ["node1", "node2", "node3", "node4", "node5"])
        let hashesBefore = try lab.exec(
            "node2", "find /etc/kubernetes /etc/etcd /var/lib/kubelet -type f | sort | xargs sha256sum")

        // The plan for the larger inventory joins the new hosts; elsewhere only the balancer
        // learns about the new control-plane host.
        let plan = try Lab.cairn(["plan", "-i", seven])
        #expect(plan.stdout.contains("kubeadm join node6 as a control plane"), "\(plan.stdout)")
        #expect(plan.stdout.contains("kubeadm join node7 as a worker"))
        #expect(!plan.stdout.contains("kubeadm join node2"))
        #expect(!plan.stdout.contains("kubeadm init on"))
        let grow = try Lab.cairn(["apply", "--yes", "-i", seven])
        #expect(grow.status == 0, "\(grow.stdout)\(grow.stderr)")
        #expect(try nodes(lab) == ["node1", "node2", "node3", "node4", "node5", "node6", "node7"])

        // What the apply touched: new hosts everywhere; old hosts only for the balancer's backend list.
        let runs = lab.directory.appendingPathComponent("state/runs/latest")
        let touched = try Journal.performedHosts(runs)
        #expect(touched["worker-join"] == ["node7"] && touched["control-plane-join"] == ["node6"], "\(touched)")
        let old: Set<String> = ["node1", "node2", "node3", "node4", "node5"]
        // CoreDNS and ingress replicas follow the worker count (2 → 3): those two add-ons change
        // their Deployments, through kubectl on the first control-plane host.
        let replicaFollowers: Set<String> = ["coredns", "ingress"]
        for (phase, hosts) in touched
        where !["api-endpoint", "control-plane-join", "worker-join"].contains(phase)
            && !replicaFollowers.contains(phase)
        {
            #expect(hosts.isDisjoint(with: old), "\(phase) touched \(hosts.intersection(old).sorted())")
        }
        for phase in replicaFollowers {
            #expect(
                touched[phase, default: []].isSubset(of: ["node1"]),
                "\(phase) touched \(touched[phase, default: []].sorted())")
        }
        let endpointActions = try Journal.actions(runs, event: "action-finished").filter {
            old.contains(String($0.prefix(5)))
        }
        let expected = [
            "haproxy", "keepalived", "cairn-apiserver-lb", "cairn-vip", "kubeadm join node6", "kubeadm join node7",
            "wait",
            "apply Cairn's coredns configuration (changed", "apply Cairn's ingress configuration (changed",
            "as applied (ConfigMap kube-system/cairn-addon-",
        ]
        #expect(
            endpointActions.allSatisfy { action in expected.contains { action.contains($0) } }, "\(endpointActions)")
        // Kubernetes and etcd files on an existing control-plane host are byte for byte the same.
        #expect(
            try lab.exec("node2", "find /etc/kubernetes /etc/etcd /var/lib/kubelet -type f | sort | xargs sha256sum")
                == hashesBefore)
        #expect(try Lab.cairn(["plan", "--detailed-exitcode", "-i", seven]).status == 0)
    }

    @Test func dedicatedEtcdHosts() throws {
        let lab = try Lab.up("t-k8s-etcd", hosts: 6)
        defer { lab.down() }
        let inventory = try lab.writeInventory(
            "dedicated.yaml",
            roles: [
                ("node1", ["etcd"]), ("node2", ["etcd"]), ("node3", ["etcd"]),
                ("node4", ["control-plane"]), ("node5", ["control-plane"]), ("node6", ["worker"]),
            ])
        let apply = try Lab.cairn(["apply", "--yes", "-i", inventory])
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        let output = try lab.exec("node4", "kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o name")
        #expect(output.split(separator: "\n").sorted() == ["node/node4", "node/node5", "node/node6"])
        // etcd hosts are not Kubernetes nodes and run no kubelet.
        #expect(try lab.exec("node1", "test -e /usr/local/bin/kubelet && echo yes || echo no") == "no\n")
        #expect(try lab.exec("node4", "grep -c 'https://10.99' /etc/kubernetes/manifests/kube-apiserver.yaml") != "0\n")
        #expect(try Lab.cairn(["plan", "--detailed-exitcode", "-i", inventory]).status == 0)
    }
}
