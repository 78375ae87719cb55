import CairnEngine
import CairnPhases
import CairnTesting
import Foundation
import Testing

/// The smoke run of the fast tier: the real `cairn` binary builds the whole HA cluster with Ceph
/// on loop devices (real sshd, etcd, haproxy, keepalived; simulated Kubernetes), survives a
/// SIGKILL in the middle of a control-plane join, converges, reports a healthy status, and then
/// applies exactly what its plan showed for a change.
@Suite(.serialized, .lab, .fastTier, .timeLimit(.minutes(25)))
struct SmokeLabTests {
    @Test func wholeClusterWithCephKilledMidJoinConvergesAndAppliesExactlyItsPlan() throws {
        let lab = try Lab.up("t-smoke", hosts: 6)
        defer { lab.downWithDevices() }
        var storage: [String: [String]] = [:]
        for host in ["node4", "node5", "node6"] { storage[host] = [try lab.addDevice(host)] }
        let roles: [(host: String, roles: [String])] = [
            ("node1", ["control-plane", "etcd"]), ("node2", ["control-plane", "etcd"]),
            ("node3", ["control-plane", "etcd"]),
            ("node4", ["worker"]), ("node5", ["worker"]), ("node6", ["worker"]),
        ]
        let inventory = try lab.writeInventory("six.yaml", roles: roles, storage: storage)

        // 1. The plan from nothing lists every phase's work and changes nothing.
        let plan = try Lab.cairn(["plan", "-i", inventory, "--detailed-exitcode"])
        #expect(plan.status == 2, "\(plan.stderr)")
        for step in [
            "write /etc/sysctl.d/99-cairn.conf (new)", "kubeadm init on node1", "kubeadm join node2 as a control plane",
            "kubeadm join node4 as a worker", "apply Cairn's rook-ceph configuration (new)",
        ] {
            #expect(plan.stdout.contains(step), "the plan lacks \(step)")
        }
        #expect(
            try lab.exec("node1", "test -e /etc/sysctl.d/99-cairn.conf && echo yes || echo no") == "no\n",
            "plan changed a host")

        // 2. An apply killed with SIGKILL inside `kubeadm join` of the second control-plane host.
        let killed = try Lab.startCairn(
            ["apply", "--yes", "--output", "json", "-i", inventory], outputName: "killed.jsonl")
        let joinStarted =
            #"{"event":"action-started","host":"node2","phase":"control-plane-join","summary":"kubeadm join node2"#
        #expect(killed.waitForOutput(joinStarted), "the run never reached node2's join:\n\(killed.text.suffix(2000))")
        usleep(2_500_000)
        #expect(killed.killNow(), "the run ended before it was killed:\n\(killed.text.suffix(2000))")

        // 3. The rerun takes over the dead run's lock, resets the half-joined host and builds the rest.
        let apply = try Lab.cairn(["apply", "--yes", "-i", inventory])
        #expect(apply.status == 0, "\(apply.stdout.suffix(4000))\(apply.stderr)")
        #expect(apply.stderr.contains("took over the cluster lock of a run that is gone"), "\(apply.stderr)")
        for line in [
            "3 members, leader node", "/readyz ok through 10.99.", "6 nodes registered",
            "calico-node on all 6 nodes, every node Ready",
            "a test service got 10.99.", "HEALTH_OK: 3 mons in quorum, 3/3 OSDs up and in", "a test claim bound (pvc-",
        ] {
            #expect(apply.stdout.contains(line), "the apply did not report \(line)")
        }
        let nodes = try lab.kubectl("get nodes -o name").split(separator: "\n").map(String.init).sorted()
        #expect(nodes == (1...6).map { "node/node\($0)" })
        let members = try lab.exec(
            "node1",
            "ETCDCTL_API=3 /usr/local/bin/etcdctl --endpoints=https://127.0.0.1:2379 "
                + "--cacert=/etc/etcd/pki/ca.crt --cert=/etc/etcd/pki/admin.crt --key=/etc/etcd/pki/admin.key member list"
        )
        #expect(members.split(separator: "\n").count == 3, "duplicate or missing etcd members: \(members)")

        // 4. Converged: nothing to do.
        let converged = try Lab.cairn(["plan", "--detailed-exitcode", "-i", inventory])
        #expect(converged.status == 0, "\(converged.stdout.suffix(3000))\(converged.stderr)")
        #expect(converged.stdout.contains("No changes."))

        // 5. Status: healthy, with etcd, the API, every node and HEALTH_OK.
        let status = try Lab.cairn(["status", "-i", inventory, "--output", "json"])
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect(report["healthy"] as? Bool == true, "\(report["problems"] ?? "")")
        #expect((report["ceph"] as? [String: Any])?["health"] as? String == "HEALTH_OK")
        let reportedNodes = try #require(report["nodes"] as? [[String: Any]])
        #expect(reportedNodes.count == 6 && reportedNodes.allSatisfy { $0["ready"] as? Bool == true })

        // 6. A change, planned to a file, reviewed, and applied from it: the apply performs
        // exactly the actions its plan listed, and nothing else.
        // The lab's inventory has an `addons:` section (MetalLB's pool): CoreDNS goes in there.
        let changed = lab.directory.appendingPathComponent("six-changed.yaml").path
        let sixText = try String(contentsOfFile: inventory, encoding: .utf8)
        #expect(sixText.contains("\naddons:\n"))
        try sixText.replacingOccurrences(of: "\naddons:\n", with: "\naddons:\n  coredns: {replicas: 2}\n")
            .write(toFile: changed, atomically: true, encoding: .utf8)
        let planFile = lab.directory.appendingPathComponent("coredns.plan").path
        let changePlan = try Lab.cairn(["plan", "--detailed-exitcode", "-i", changed, "--out", planFile])
        #expect(changePlan.status == 2, "\(changePlan.stdout.suffix(2000))\(changePlan.stderr)")
        #expect(changePlan.stdout.contains("Plan saved to \(planFile)"))
        let shown = try Lab.cairn(["show", planFile])
        #expect(shown.status == 0 && shown.stdout.contains("coredns"), "\(shown.stdout)\(shown.stderr)")
        let changeApply = try Lab.cairn(["apply", "-i", changed, planFile])
        #expect(changeApply.status == 0, "\(changeApply.stdout.suffix(3000))\(changeApply.stderr)")
        #expect(changeApply.stdout.contains("Applying plan \(planFile)"))
        let runs = lab.directory.appendingPathComponent("state/runs")
        let journals = try FileManager.default.contentsOfDirectory(atPath: runs.path).filter { $0 != "latest" }.sorted()
        let planned = try Journal.actions(
            runs.appendingPathComponent(journals[journals.count - 2]), event: "phase-planned")
        let performed = try Journal.actions(
            runs.appendingPathComponent(journals[journals.count - 1]), event: "action-finished")
        #expect(
            !planned.isEmpty && planned.allSatisfy { $0.hasPrefix("node1: ") && $0.contains("coredns") }, "\(planned)")
        #expect(planned == performed)
        #expect(try Lab.cairn(["plan", "--detailed-exitcode", "-i", changed]).status == 0)

        // 6b. A saved plan whose facts moved before it was applied: a host file edited by hand
        //     stops the run before that phase, naming host, phase and fact; nothing is changed.
        let stalePlan = lab.directory.appendingPathComponent("stale.plan").path
        #expect(try Lab.cairn(["plan", "-i", changed, "--out", stalePlan]).status == 0)
        try lab.exec("node3", "echo 'vm.swappiness = 1' >> /etc/sysctl.d/99-cairn.conf")
        let stale = try Lab.cairn(["apply", "-i", changed, stalePlan])
        #expect(stale.status == 1, "\(stale.stdout.suffix(2000))\(stale.stderr)")
        #expect(
            stale.stderr.contains("prepare-hosts: node3 changed since the plan was made: sysctlFile was"),
            "\(stale.stderr)")
        #expect(stale.stderr.contains("plan again"))
        #expect(try lab.exec("node3", "tail -1 /etc/sysctl.d/99-cairn.conf") == "vm.swappiness = 1\n")
        let repaired = try Lab.cairn(["apply", "--yes", "-i", changed])
        #expect(repaired.status == 0, "\(repaired.stdout.suffix(2000))\(repaired.stderr)")

        // 7. On a terminal, finished phases collapse to one line each; facts cost at most one
        //    round trip per host and phase.
        let screen = try planOnATerminal(inventory: changed)
        #expect(screen.contains("EXIT=0"), "\(screen)")
        #expect(screen.contains("✓ no changes  prepare-hosts"), "\(screen)")
        #expect(screen.contains("✓ no changes  control-plane-init"))
        #expect(screen.contains("No changes. The cluster matches the inventory."))
        #expect(!screen.contains("gathering facts"), "the live block was not erased")
        #expect(!screen.contains("\u{1B}["), "raw escape codes on the screen")
        try expectOneFactRoundTripPerHostAndPhase(run: runs.appendingPathComponent("latest"))

        // 7b. An apply on a terminal shows its plan, asks, and performs that plan (back to one
        //     CoreDNS replica per default).
        let interactive = try applyOnATerminal(inventory: inventory)
        #expect(interactive.contains("[y/N]") && interactive.contains("EXIT=0"), "\(interactive)")
        let afterTerminal = try FileManager.default.contentsOfDirectory(atPath: runs.path).filter { $0 != "latest" }
            .sorted()
        let shownRun = try #require(afterTerminal.last { $0.hasSuffix("-plan") })
        let appliedRun = String(shownRun.dropLast("-plan".count))
        let shownActions = try Journal.actions(runs.appendingPathComponent(shownRun), event: "phase-planned")
        let appliedActions = try Journal.actions(runs.appendingPathComponent(appliedRun), event: "action-finished")
        #expect(!shownActions.isEmpty && shownActions == appliedActions, "\(shownActions) vs \(appliedActions)")

        // 8. No secret the runs made or handled appears in anything they printed or wrote.
        var secrets = try lab.exec("node1", "kubeadm token list").split(separator: "\n").dropFirst()
            .compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(secrets.count >= 3, "init's token and the join tokens: \(secrets)")
        let pki = lab.directory.appendingPathComponent("state/pki/etcd")
        for keyFile in try FileManager.default.contentsOfDirectory(atPath: pki.path) where keyFile.hasSuffix(".key") {
            let pem = try String(contentsOf: pki.appendingPathComponent(keyFile), encoding: .utf8)
            secrets += pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
        }
        secrets += try lab.exec("node1", "cat /etc/kubernetes/admin.conf").split(separator: "\n").filter {
            $0.contains("client-key-data:")
        }
        .map { String($0.split(separator: ":")[1]).trimmingCharacters(in: .whitespaces) }
        var outputs =
            [plan, apply, converged, status, changePlan, changeApply, stale, repaired].flatMap {
                [$0.stdout, $0.stderr]
            }
            + [killed.text]
        for run in try FileManager.default.contentsOfDirectory(atPath: runs.path) where run != "latest" {
            for file in ["journal.jsonl", "debug.log", "report.html"] {
                outputs.append(
                    (try? String(
                        contentsOf: runs.appendingPathComponent(run).appendingPathComponent(file), encoding: .utf8))
                        ?? "")
            }
        }
        #expect(outputs.joined().contains("kubeadm join node2"), "the outputs checked are the real ones")
        for secret in secrets where secret.count >= 12 {
            #expect(!outputs.contains { $0.contains(secret) }, "a secret (\(secret.prefix(6))…) leaked into the output")
        }

        // 9. The admin kubeconfig is on the operator's side, private, pointing at the endpoint.
        let kubeconfig = lab.directory.appendingPathComponent("state/kubeconfig")
        #expect(try FileManager.default.attributesOfItem(atPath: kubeconfig.path)[.posixPermissions] as? Int == 0o600)
        #expect(try String(contentsOf: kubeconfig, encoding: .utf8).contains("server: https://10.99."))
    }

    /// `cairn plan` in a tmux terminal; the screen at the end.
    func planOnATerminal(inventory: String) throws -> String {
        let session = "cairn-tty-\(getpid())"
        let binary = Lab.repositoryRoot.appendingPathComponent(".build/debug/cairn").path
        try Lab.shell([
            "tmux", "new-session", "-d", "-s", session, "-x", "140", "-y", "50",
            "\(binary) plan -i \(inventory); echo EXIT=$?; sleep 30",
        ])
        defer { _ = try? Lab.shell(["tmux", "kill-session", "-t", session]) }
        var screen = ""
        for _ in 0..<600 {
            screen = try Lab.shell(["tmux", "capture-pane", "-p", "-t", session])
            if screen.contains("EXIT=") { break }
            usleep(200_000)
        }
        return screen
    }

    /// `cairn apply` in a tmux terminal, answering yes to its question; the screen at the end.
    func applyOnATerminal(inventory: String) throws -> String {
        let session = "cairn-apply-\(getpid())"
        let binary = Lab.repositoryRoot.appendingPathComponent(".build/debug/cairn").path
        try Lab.shell([
            "tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "60",
            "\(binary) apply -i \(inventory); echo EXIT=$?; sleep 30",
        ])
        defer { _ = try? Lab.shell(["tmux", "kill-session", "-t", session]) }
        var screen = ""
        var answered = false
        for _ in 0..<900 {
            screen = try Lab.shell(["tmux", "capture-pane", "-p", "-J", "-t", session, "-S", "-200"])
            if screen.contains("EXIT=") { break }
            if !answered && screen.contains("[y/N]") {
                try Lab.shell(["tmux", "send-keys", "-t", session, "y", "Enter"])
                answered = true
            }
            usleep(200_000)
        }
        return screen
    }

    /// Each host is asked for facts at most once per phase that works on it (scripts named
    /// cairn-facts-* in the run's debug log), and at least once.
    func expectOneFactRoundTripPerHostAndPhase(run: URL) throws {
        var phasesPerHost: [String: Int] = [:]
        for entry in try JournalEntry.read(run.appendingPathComponent("journal.jsonl"))
        where entry.event == "phase-started" {
            for host in entry.hosts ?? [] { phasesPerHost[host, default: 0] += 1 }
        }
        #expect(phasesPerHost.count == 6, "\(phasesPerHost)")
        let log = try String(contentsOf: run.appendingPathComponent("debug.log"), encoding: .utf8).split(
            separator: "\n")
        for (host, phases) in phasesPerHost {
            let factCommands = log.filter { $0.contains("host=\(host) ") && $0.contains("<script cairn-facts-") }
            #expect(factCommands.count <= phases, "\(host): \(factCommands.count) fact commands for \(phases) phases")
            #expect(factCommands.count >= 1, "\(host): no fact command in the debug log")
        }
    }
}

enum Journal {
    /// "host: summary" of the actions a journal planned (`phase-planned`) or performed (`action-finished`).
    static func actions(_ run: URL, event: String) throws -> [String] {
        try JournalEntry.read(run.appendingPathComponent("journal.jsonl")).filter { $0.event == event }.flatMap {
            entry -> [String] in
            if event == "phase-planned" { return (entry.actions ?? []).map { "\($0.host): \($0.summary)" } }
            return entry.ok == true ? ["\(entry.host ?? ""): \(entry.summary ?? "")"] : []
        }.sorted()
    }

    /// The hosts on which a journal performed actions, per phase.
    static func performedHosts(_ run: URL) throws -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        for entry in try JournalEntry.read(run.appendingPathComponent("journal.jsonl"))
        where entry.event == "action-finished" {
            if let phase = entry.phase, let host = entry.host { result[phase, default: []].insert(host) }
        }
        return result
    }
}
