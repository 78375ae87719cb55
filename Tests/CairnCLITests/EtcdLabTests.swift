import CairnPKI
import CairnTesting
import Foundation
import Testing

/// External etcd against real etcd (Debian's, through the lab's artifact mirror), real TLS,
/// real quorum. Each test makes its own lab.
@Suite(.serialized, .lab, .fastTier, .timeLimit(.minutes(15)))
struct EtcdLabTests {
    static let etcdPhases = ["prepare-hosts", "etcd-pki", "etcd-install", "etcd-cluster", "etcd-client-certs"].flatMap {
        ["--phase", $0]
    }

    struct Cluster {
        let lab: Lab
        let three: String
        let five: String

        init(_ name: String) throws {
            lab = try Lab.up(name, hosts: 5)
            three = try lab.writeInventory(
                "three.yaml",
                roles: [
                    ("node1", ["control-plane", "etcd"]), ("node2", ["control-plane", "etcd"]),
                    ("node3", ["control-plane", "etcd"]),
                    ("node4", ["worker"]), ("node5", ["worker"]),
                ])
            five = try lab.writeInventory(
                "five.yaml",
                roles: [
                    ("node1", ["control-plane", "etcd"]), ("node2", ["control-plane", "etcd"]),
                    ("node3", ["control-plane", "etcd"]),
                    ("node4", ["worker", "etcd"]), ("node5", ["worker", "etcd"]),
                ])
        }

        func apply(_ inventory: String, _ extra: [String] = []) throws -> Lab.Outcome {
            try Lab.cairn(["apply", "--yes", "-i", inventory] + EtcdLabTests.etcdPhases + extra)
        }

        func planIsEmpty(_ inventory: String) throws -> Bool {
            let plan = try Lab.cairn(["plan", "--detailed-exitcode", "-i", inventory] + EtcdLabTests.etcdPhases)
            return plan.status == 0
        }

        func etcdctl(_ host: String, _ arguments: String) throws -> String {
            try lab.exec(
                host,
                "ETCDCTL_API=3 /usr/local/bin/etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/pki/ca.crt "
                    + "--cert=/etc/etcd/pki/admin.crt --key=/etc/etcd/pki/admin.key \(arguments)")
        }

        /// Member names and whether each is a learner.
        func members(via host: String = "node1") throws -> [(name: String, learner: Bool)] {
            let json = try etcdctl(host, "member list -w json")
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
            return (object["members"] as! [[String: Any]]).map {
                ($0["name"] as? String ?? "", $0["isLearner"] as? Bool ?? false)
            }
            .sorted { $0.name < $1.name }
        }
    }

    @Test func bootstrapGrowthGuardReissueBackupAndRestore() throws {
        let cluster = try Cluster("t-etcd")
        let lab = cluster.lab

        // Fresh 3-member bootstrap, gate passed; a rerun plans nothing.
        let first = try cluster.apply(cluster.three)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("etcd quorum passed"))
        #expect(first.stdout.contains("3 members, leader node"))
        #expect(first.stdout.contains("tolerates 1 failure"))
        #expect(try cluster.planIsEmpty(cluster.three))
        // Keys 0600, certificates 0644 on the hosts; the operator's PKI directory is private.
        #expect(
            try lab.exec(
                "node1",
                "stat -c %a /etc/etcd/pki/member.key /etc/etcd/pki/member.crt /etc/kubernetes/pki/apiserver-etcd-client.key"
            ) == "600\n644\n600\n")
        let pki = lab.directory.appendingPathComponent("state/pki/etcd")
        #expect(try FileManager.default.attributesOfItem(atPath: pki.path)[.posixPermissions] as? Int == 0o700)

        _ = try cluster.etcdctl("node1", "put /cairn-test/before-growth v1")

        // With one member down, growth is refused by the quorum guard and nothing changes.
        try lab.exec("node2", "systemctl stop etcd")
        let refused = try cluster.apply(cluster.five)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("membership change refused"), "\(refused.stderr)")
        #expect(refused.stderr.contains("node2"))
        #expect(try cluster.members().count == 3)

        // With it back, growth proceeds one learner at a time.
        try lab.exec("node2", "systemctl start etcd")
        let grown = try cluster.apply(cluster.five)
        #expect(grown.status == 0, "\(grown.stdout)\(grown.stderr)")
        let log = grown.stdout
        let addFour = try #require(log.range(of: "add node4 to etcd as a learner"))
        let promoteFour = try #require(log.range(of: "promote node4"))
        let addFive = try #require(log.range(of: "add node5 to etcd as a learner"))
        #expect(addFour.lowerBound < promoteFour.lowerBound && promoteFour.lowerBound < addFive.lowerBound)
        #expect(log.contains("5 members, leader node"))
        let members = try cluster.members()
        #expect(members.map(\.name) == ["node1", "node2", "node3", "node4", "node5"])
        #expect(members.allSatisfy { !$0.learner })
        #expect(try cluster.etcdctl("node5", "get /cairn-test/before-growth --print-value-only") == "v1\n")
        #expect(try cluster.planIsEmpty(cluster.five))

        // A member certificate that lacks a SAN the inventory now needs is detected and reissued.
        let store = PKIStore(directory: pki)
        try FileManager.default.removeItem(at: store.certificateURL("etcd-member-node1"))
        try store.ensure(
            "etcd-member-node1", request: CertificateRequest.etcdMember(name: "node1", addresses: []), caName: "etcd-ca"
        )
        let plan = try Lab.cairn(["plan", "-i", cluster.five] + EtcdLabTests.etcdPhases)
        #expect(
            plan.stdout.contains(
                "reissue the etcd member certificate for node1 (missing SAN \(lab.host("node1").address))"),
            "\(plan.stdout)")
        let reissued = try cluster.apply(cluster.five)
        #expect(reissued.status == 0, "\(reissued.stdout)\(reissued.stderr)")
        #expect(reissued.stdout.contains("restart etcd (certificates or binary changed)"))
        #expect(
            try lab.exec("node1", "openssl x509 -noout -ext subjectAltName -in /etc/etcd/pki/member.crt").contains(
                "IP Address:\(lab.host("node1").address)"))
        #expect(try cluster.planIsEmpty(cluster.five))

        // Backup, then restore: the keys written before the backup are there, later ones are not.
        let backup = try Lab.cairn(["backup", "-i", cluster.five])
        #expect(backup.status == 0, "\(backup.stderr)")
        let snapshot = try #require(
            backup.stdout.components(separatedBy: .whitespacesAndNewlines).first { $0.hasSuffix(".db") })
        _ = try cluster.etcdctl("node1", "put /cairn-test/after-backup v2")
        let restore = try Lab.cairn(["restore", "--yes", "-i", cluster.five, snapshot])
        #expect(restore.status == 0, "\(restore.stdout)\(restore.stderr)")
        #expect(try cluster.etcdctl("node3", "get /cairn-test/before-growth --print-value-only") == "v1\n")
        #expect(try cluster.etcdctl("node3", "get /cairn-test/after-backup --print-value-only") == "")
        #expect(try cluster.members().count == 5)
        #expect(try lab.exec("node1", "ls -d /var/lib/etcd.before-restore-* | wc -l") == "1\n")
        #expect(try cluster.planIsEmpty(cluster.five))
        lab.down()
    }

    @Test(arguments: ["add node4 to etcd as a learner", "start etcd"])
    func aRunKilledDuringGrowthConvergesOnRerun(killAfter: String) throws {
        let cluster = try Cluster("t-etcdk")
        #expect(try cluster.apply(cluster.three).status == 0)
        _ = try cluster.etcdctl("node1", "put /cairn-test/kept yes")

        let run = try Lab.startCairn(["apply", "--yes", "-i", cluster.five] + EtcdLabTests.etcdPhases)
        // Kill it with SIGKILL right after the chosen step finished on the growth's first member.
        let marker = killAfter == "start etcd" ? "node4: start etcd" : killAfter
        #expect(
            run.waitForLine(containing: [marker, "done"], timeout: 120),
            "the run never finished \(marker):\n\(run.text.suffix(2000))")
        #expect(run.killNow(), "the run ended before it was killed")

        let rerun = try cluster.apply(cluster.five)
        #expect(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
        #expect(rerun.stderr.contains("took over the cluster lock of a run that is gone"))
        #expect(!rerun.stdout.contains("add node4 to etcd as a learner"), "node4 was already added: no second add")
        let members = try cluster.members()
        #expect(members.map(\.name) == ["node1", "node2", "node3", "node4", "node5"])
        #expect(members.allSatisfy { !$0.learner })
        #expect(try cluster.etcdctl("node4", "get /cairn-test/kept --print-value-only") == "yes\n")
        #expect(try cluster.planIsEmpty(cluster.five))
        cluster.lab.down()
    }
}
