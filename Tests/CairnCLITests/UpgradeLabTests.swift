import CairnTesting
import Foundation
import Testing

/// Kubernetes upgrades end to end (docs/upgrade.md), in the long tier: each test builds a whole
/// cluster, then raises its version while a Deployment guarded by a PodDisruptionBudget
/// (minAvailable 2 of 3) is watched through the API endpoint.
@Suite(.serialized, .lab, .longTier, .timeLimit(.minutes(45)))
struct UpgradeLabTests {
    static let environment = ProcessInfo.processInfo.environment
    /// Kill points in the second test (CAIRN_UPGRADE_KILL_POINTS), seeded so a failure replays.
    static let killPoints = Int(environment["CAIRN_UPGRADE_KILL_POINTS"] ?? "") ?? 3
    static let killSeed = UInt64(environment["CAIRN_KILL_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)

    /// The lab's inventory with the versions set, an `upgrade:` section, and Rook/Ceph off when no
    /// host has a device.
    static func inventory(
        _ lab: Lab, _ file: String, kubernetes: String, etcd: String, roles: [(host: String, roles: [String])],
        storage: [String: [String]]
    ) throws -> String {
        let base = try lab.writeInventory(
            file + ".base", roles: roles, extra: "upgrade: {drainTimeout: 30}\n", storage: storage)
        var text = try String(contentsOfFile: base, encoding: .utf8)
        text = text.replacingOccurrences(of: "\nkubernetes:\n", with: "\nkubernetes:\n  version: \"\(kubernetes)\"\n")
        text = text.replacingOccurrences(
            of: #"\netcd:\n  version: "[0-9.]+""#, with: "\netcd:\n  version: \"\(etcd)\"", options: .regularExpression)
        if storage.isEmpty {
            text = text.replacingOccurrences(of: "\naddons:\n", with: "\naddons:\n  rookCeph: {enabled: false}\n")
        }
        let path = lab.directory.appendingPathComponent(file).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A Deployment of 3 pause pods on the workers and a budget of `minAvailable`, applied with
    /// the cluster's own kubectl; returns once 3 are available.
    static func deployWeb(_ lab: Lab, minAvailable: Int) throws {
        let manifest = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: default}
            spec:
              replicas: 3
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  containers: [{name: web, image: "registry.k8s.io/pause:3.10.1"}]
            ---
            apiVersion: policy/v1
            kind: PodDisruptionBudget
            metadata: {name: web, namespace: default}
            spec:
              minAvailable: \(minAvailable)
              selector: {matchLabels: {app: web}}
            """
        try lab.exec("node1", "cat > /tmp/web.yaml <<'EOF'\n\(manifest)\nEOF")
        _ = try lab.kubectl("apply -f /tmp/web.yaml")
        for _ in 0..<60 {
            if try lab.kubectl("get deploy web -o jsonpath={.status.availableReplicas}") == "3" { return }
            sleep(1)
        }
        Issue.record("deploy/web never had 3 available replicas")
    }

    /// Watches, through the API endpoint from the operator's side, the Deployment's available
    /// replicas and /readyz about twice a second, until `stop()`.
    final class AvailabilityWatch {
        let output: String
        let stopFile: String
        let process = Process()

        init(_ lab: Lab, kubectlVersion: String) throws {
            output = Lab.temporaryPath("watch.log")
            stopFile = Lab.temporaryPath("watch.stop")
            let mirror = lab.directory.deletingLastPathComponent().appendingPathComponent(".mirror").path
            let kubectl = "\(mirror)/dl.k8s.io/release/v\(kubectlVersion)/bin/linux/amd64/kubectl"
            let config = lab.directory.appendingPathComponent("state/kubeconfig").path
            let loop = """
                k() { '\(kubectl)' --kubeconfig '\(config)' --request-timeout=2s "$@" 2>/dev/null; }
                while [ ! -e '\(stopFile)' ]; do
                  a=$(k get deploy web -o 'jsonpath={.status.availableReplicas}') || a=ERR
                  r=$(k get --raw /readyz) || r=ERR
                  echo "$(date +%s.%N) ${a:-0} $r"
                  sleep 0.5
                done
                """
            process.executableURL = URL(fileURLWithPath: Lab.script)
            process.arguments = ["run", "--", "sh", "-c", loop]
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Stops the watch; its samples (time, available replicas or nil when the API did not
        /// answer, /readyz answered "ok").
        func stop() -> [(time: Double, available: Int?, ready: Bool)] {
            _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
            process.waitUntilExit()
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line in
                let parts = line.split(separator: " ")
                guard parts.count == 3, let time = Double(parts[0]) else { return nil }
                return (time, Int(parts[1]), parts[2] == "ok")
            }
        }
    }

    /// What the samples say: fewest available, API misses, the longest gap between samples.
    static func judge(_ samples: [(time: Double, available: Int?, ready: Bool)]) -> (
        fewest: Int, misses: Int, longestGap: Double
    ) {
        let fewest = samples.compactMap(\.available).min() ?? -1
        let misses = samples.filter { $0.available == nil || !$0.ready }.count
        let gaps = zip(samples.dropFirst(), samples).map { $0.time - $1.time }
        return (fewest, misses, gaps.max() ?? 0)
    }

    static let sixHosts: [(host: String, roles: [String])] = [
        ("node1", ["control-plane", "etcd"]), ("node2", ["control-plane", "etcd"]),
        ("node3", ["control-plane", "etcd"]), ("node4", ["worker"]), ("node5", ["worker"]), ("node6", ["worker"]),
    ]

    /// 1.35 → 1.36 with Ceph on three workers: the plan shows every node in order and names the
    /// budget that blocks; a drain the budget blocks stops the run (exit 75) with the node back
    /// in service; once the budget allows one disruption the rerun finishes without the
    /// Deployment dropping below 2 available or the API missing an answer; a downgrade is
    /// refused with nothing changed.
    @Test func aClusterWithCephUpgradesFrom135To136WithoutLosingService() throws {
        let lab = try Lab.up("t-up136", hosts: 6)
        defer { lab.downWithDevices() }
        var devices: [String: [String]] = [:]
        for host in ["node4", "node5", "node6"] { devices[host] = [try lab.addDevice(host)] }
        let old = try Self.inventory(
            lab, "v135.yaml", kubernetes: "1.35.9", etcd: "3.6.14", roles: Self.sixHosts, storage: devices)
        let built = try Lab.cairn(["apply", "--yes", "-i", old])
        #expect(built.status == 0, "\(built.stdout.suffix(3000))\(built.stderr)")
        try Self.deployWeb(lab, minAvailable: 3)

        // Rook 1.20 stops at Kubernetes 1.36: 1.37 with storage on is refused before anything.
        let tooFar = try Self.inventory(
            lab, "v137.yaml", kubernetes: "1.37.1", etcd: "3.7.2", roles: Self.sixHosts, storage: devices)
        let refused = try Lab.cairn(["plan", "-i", tooFar])
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("Rook 1.20.6 supports Kubernetes up to 1.36"), "\(refused.stderr)")

        let new = try Self.inventory(
            lab, "v136.yaml", kubernetes: "1.36.4", etcd: "3.6.14", roles: Self.sixHosts, storage: devices)
        let plan = try Lab.cairn(["plan", "--detailed-exitcode", "-i", new])
        #expect(plan.status == 2, "\(plan.stdout.suffix(3000))\(plan.stderr)")
        #expect(plan.stdout.contains("kubernetes-upgrade: upgrade from 1.35.9 to 1.36.4: 6 nodes to do"))
        #expect(plan.stdout.contains("PodDisruptionBudgets allowing no eviction now: default/web"), "\(plan.stdout)")
        let order = ["node1", "node2", "node3", "node4", "node5", "node6"].compactMap {
            plan.stdout.range(of: "cordon and drain \($0) (upgrade 1.35.9 → 1.36.4)")?.lowerBound
        }
        #expect(order.count == 6 && order == order.sorted(), "nodes in order, control planes first")

        // minAvailable 3 of 3: node4's drain cannot finish.
        let blocked = try Lab.cairn(["apply", "--yes", "-i", new])
        #expect(blocked.status == 75, "\(blocked.stdout.suffix(3000))\(blocked.stderr)")
        #expect(blocked.stderr.contains("draining node4 did not finish"), "\(blocked.stderr)")
        #expect(blocked.stderr.contains("web"), "the budget is named: \(blocked.stderr)")
        #expect(try lab.kubectl("get node node4 -o jsonpath={.spec.unschedulable}") == "", "node4 is uncordoned")
        let afterBlock = try lab.kubectl(
            "get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.nodeInfo.kubeletVersion} {end}'")
        #expect(afterBlock.contains("node3=v1.36.4") && afterBlock.contains("node4=v1.35.9"), "\(afterBlock)")

        // One disruption allowed: the rerun finishes what is left, service kept throughout.
        _ = try lab.kubectl(#"patch pdb web --type=merge -p '{"spec":{"minAvailable":2}}'"#)
        let watch = try AvailabilityWatch(lab, kubectlVersion: "1.36.4")
        let started = Date()
        let upgrade = try Lab.cairn(["apply", "--yes", "-i", new])
        let samples = watch.stop()
        #expect(upgrade.status == 0, "\(upgrade.stdout.suffix(3000))\(upgrade.stderr)")
        #expect(!upgrade.stdout.contains("cordon and drain node1"), "finished nodes are not redone")
        let verdict = Self.judge(samples)
        print(
            "upgrade 1.35.9 → 1.36.4 (workers): \(String(format: "%.0f", Date().timeIntervalSince(started))) s, \(samples.count) samples, fewest available \(verdict.fewest), API misses \(verdict.misses), longest gap \(String(format: "%.1f", verdict.longestGap)) s"
        )
        #expect(samples.count >= 20 && verdict.fewest >= 2 && verdict.misses == 0, "\(verdict)")
        let versions = try lab.kubectl("get nodes -o jsonpath={.items[*].status.nodeInfo.kubeletVersion}")
        #expect(Set(versions.split(separator: " ")) == ["v1.36.4"], "\(versions)")
        let converged = try Lab.cairn(["plan", "--detailed-exitcode", "-i", new])
        #expect(converged.status == 0, "\(converged.stdout.suffix(3000))\(converged.stderr)")

        // Back to 1.35: refused, nothing changed.
        let downgrade = try Lab.cairn(["apply", "--yes", "-i", old])
        #expect(downgrade.status == 65, "\(downgrade.stdout.suffix(2000))\(downgrade.stderr)")
        #expect(downgrade.stderr.contains("Cairn does not downgrade"), "\(downgrade.stderr)")
        let performed = try Journal.performedHosts(lab.directory.appendingPathComponent("state/runs/latest"))
        #expect(performed.isEmpty, "changed: \(performed)")
    }

    /// 1.36 → 1.37 without storage, etcd 3.6 → 3.7 along the way, killed at seeded random points
    /// (seed printed): each rerun continues, the last one finishes, and the Deployment never
    /// drops below 2 available.
    @Test func killedUpgradesFrom136To137Finish() throws {
        var generator = SplitMix64(seed: Self.killSeed)
        print("upgrade kill points: \(Self.killPoints), CAIRN_KILL_SEED=\(Self.killSeed)")
        let lab = try Lab.up("t-up137", hosts: 5)
        defer { lab.down() }
        let roles = Array(Self.sixHosts.prefix(5))
        let old = try Self.inventory(lab, "v136.yaml", kubernetes: "1.36.4", etcd: "3.6.14", roles: roles, storage: [:])
        let built = try Lab.cairn(["apply", "--yes", "-i", old])
        #expect(built.status == 0, "\(built.stdout.suffix(3000))\(built.stderr)")
        try Self.deployWeb(lab, minAvailable: 2)
        let new = try Self.inventory(lab, "v137.yaml", kubernetes: "1.37.1", etcd: "3.7.2", roles: roles, storage: [:])
        let plan = try Lab.cairn(["plan", "-i", new])
        #expect(plan.status == 0, "\(plan.stdout.suffix(3000))\(plan.stderr)")
        #expect(plan.stdout.contains("upgrade etcd 3.6.14→3.7.2"), "\(plan.stdout.suffix(3000))")
        #expect(plan.stdout.contains("kubernetes-upgrade: upgrade from 1.36.4 to 1.37.1: 5 nodes to do"))

        let watch = try AvailabilityWatch(lab, kubectlVersion: "1.37.1")
        for point in 0..<Self.killPoints {
            let run = try Lab.startCairn(["apply", "--yes", "-i", new])
            // The first point falls anywhere (etcd's rolling upgrade included), the others inside
            // the node-by-node part.
            let anchor = point == 0 ? "etcd-install:" : "kubernetes-upgrade: node"
            #expect(run.waitForOutput(anchor, timeout: 300), "\(run.text.suffix(2000))")
            let delay = Double(generator.next() % 30_000) / 1000.0
            usleep(useconds_t(delay * 1_000_000))
            let killed = run.killNow()
            let last = run.text.split(separator: "\n").last.map(String.init) ?? ""
            print(
                "upgrade kill point \(point + 1): \(String(format: "%.1f", delay)) s after \"\(anchor)\", \(killed ? "killed" : "had already ended"), last line: \(last.prefix(160))"
            )
        }
        let finish = try Lab.cairn(["apply", "--yes", "-i", new])
        let samples = watch.stop()
        #expect(finish.status == 0, "seed \(Self.killSeed): \(finish.stdout.suffix(3000))\(finish.stderr)")
        let verdict = Self.judge(samples)
        print(
            "upgrade 1.36.4 → 1.37.1 with kills: \(samples.count) samples, fewest available \(verdict.fewest), API misses \(verdict.misses), longest gap \(String(format: "%.1f", verdict.longestGap)) s"
        )
        #expect(verdict.fewest >= 2, "seed \(Self.killSeed): \(verdict)")
        let versions = try lab.kubectl("get nodes -o jsonpath={.items[*].status.nodeInfo.kubeletVersion}")
        #expect(Set(versions.split(separator: " ")) == ["v1.37.1"], "\(versions)")
        for host in ["node1", "node2", "node3"] {
            let etcd = try lab.exec(host, "/usr/local/bin/etcd --version | head -1")
            #expect(etcd.contains("3.7.2"), "\(host): \(etcd)")
        }
        let cordoned = try lab.kubectl("get nodes -o jsonpath={.items[*].spec.unschedulable}")
        #expect(cordoned.trimmingCharacters(in: .whitespaces).isEmpty, "no node left cordoned: \(cordoned)")
        let converged = try Lab.cairn(["plan", "--detailed-exitcode", "-i", new])
        #expect(converged.status == 0, "\(converged.stdout.suffix(3000))\(converged.stderr)")
    }
}
