import CairnTesting
import Foundation
import Testing

/// `cairn drill` end to end (long tier, docs/drill.md). etcd, haproxy, keepalived, sshd, the
/// routes of a partition and the stopped services are real; kubeadm, the kubelet, the API server,
/// the node controller and Ceph (with the test volume's data) are the lab's stand-ins.
@Suite(.serialized, .lab, .longTier, .timeLimit(.minutes(45)))
struct DrillLabTests {
    /// Three zones, each with one control-plane+etcd host and one storage worker. Every scenario
    /// passes; the report has a timeline per scenario; the cluster is healthy and converged
    /// afterwards. A weak layout (two etcd members in one zone) is warned at `validate`, and the
    /// drill refuses its zone-loss with the reason. A fault that keeps the API down during
    /// control-plane-loss ends the drill with 75 naming the check, and the cluster is restored.
    @Test func everyScenarioPassesOnThreeZonesAndAFailedCheckIsNamed() throws {
        let lab = try Lab.up("t-drill", hosts: 6)
        defer { lab.downWithDevices() }
        var devices: [String: [String]] = [:]
        for host in ["node4", "node5", "node6"] { devices[host] = [try lab.addDevice(host)] }
        let roles: [(host: String, roles: [String])] =
            ["node1", "node2", "node3"].map { ($0, ["control-plane", "etcd"]) }
            + ["node4", "node5", "node6"].map {
                ($0, ["worker"])
            }
        let zones = [
            "node1": "zone-a", "node2": "zone-b", "node3": "zone-c", "node4": "zone-a", "node5": "zone-b",
            "node6": "zone-c",
        ]
        let inventory = try lab.writeInventory("zones.yaml", roles: roles, storage: devices, zones: zones)
        let built = try Lab.cairn(["apply", "--yes", "-i", inventory])
        #expect(built.status == 0, "\(built.stdout.suffix(3000))\(built.stderr)")
        for host in ["node1", "node2", "node3"] { try lab.k8sFault(host, "ceph-recovery 5") }

        let report = Lab.temporaryPath("drill.html")
        let drill = try Lab.cairn(["drill", "-i", inventory, "--yes", "--output", "json", "--report", report])
        #expect(drill.status == 0, "\(drill.stdout.suffix(6000))\(drill.stderr.suffix(4000))")
        let json = try JSONSerialization.jsonObject(with: Data(drill.stdout.utf8)) as? [String: Any]
        let scenarios = json?["scenarios"] as? [[String: Any]] ?? []
        #expect(
            scenarios.map { $0["scenario"] as? String ?? "" }
                == ["node-loss", "control-plane-loss", "storage-loss", "partition", "zone-loss"])
        for scenario in scenarios {
            #expect(scenario["outcome"] as? String == "passed", "\(scenario)")
            #expect(!((scenario["timeline"] as? [Any]) ?? []).isEmpty)
            #expect(scenario["recoverSeconds"] != nil, "\(scenario)")
        }
        #expect((try? String(contentsOfFile: report, encoding: .utf8))?.contains("zone-loss: passed") == true)
        #expect(try Lab.cairn(["status", "-i", inventory]).status == 0)
        let again = try Lab.cairn(["plan", "--detailed-exitcode", "-i", inventory])
        #expect(again.status == 0, "\(again.stdout.suffix(3000))")

        // Two etcd members in zone-a: warned, and its zone-loss refused with nothing disrupted.
        var weakZones = zones
        weakZones["node2"] = "zone-a"
        let weak = try lab.writeInventory("weak.yaml", roles: roles, storage: devices, zones: weakZones)
        let validated = try Lab.cairn(["validate", "-i", weak])
        #expect(validated.status == 0 && validated.stdout.contains("losing zone zone-a loses etcd quorum"))
        #expect(try Lab.cairn(["validate", "--strict", "-i", weak]).status == 65)
        let refused = try Lab.cairn(["drill", "-i", weak, "--scenario", "zone-loss", "--zone", "zone-a", "--yes"])
        #expect(refused.status == 1, "\(refused.stdout.suffix(2000))\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was disrupted") && refused.stderr.contains("quorum needs 2"))

        // The other API servers stop while node1's control plane is down: the API check fails.
        let failing = try Lab.startCairn(
            ["drill", "-i", inventory, "--scenario", "control-plane-loss", "--target", "node1", "--yes"],
            outputName: "drill-failing.log")
        #expect(failing.waitForOutput("stop the control plane on node1"))
        for host in ["node2", "node3"] { try lab.k8sFault(host, "apiserver-stop") }
        #expect(failing.waitForOutput("FAILED api-through-endpoint", timeout: 240))
        for host in ["node2", "node3"] { try lab.k8sFault(host, "apiserver-start") }
        #expect(failing.wait() == 75, "\(failing.text.suffix(4000))")
        #expect(failing.text.contains("api-through-endpoint"))
        #expect(
            try lab.exec("node1", "test -e /etc/kubernetes/manifests/kube-apiserver.yaml && echo back").contains("back")
        )
        let after = try Lab.cairn(["status", "-i", inventory])
        #expect(after.status == 0, "\(after.stdout.suffix(3000))")
    }
}
