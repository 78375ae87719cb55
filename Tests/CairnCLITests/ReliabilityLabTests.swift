import CairnCLI
import CairnCore
import CairnEngine
import CairnTesting
import Foundation
import Testing

/// Faults Cairn must survive (docs/reliability.md), in the long tier (`scripts/test --long`; the
/// environment below sets more kill points or a longer soak).
@Suite(.serialized, .lab, .longTier, .timeLimit(.minutes(60)))
struct ReliabilityLabTests {
    static let environment = ProcessInfo.processInfo.environment
    /// Random kill points per run (CAIRN_KILL_POINTS), seeded (CAIRN_KILL_SEED) so a failure replays.
    static let killPoints = Int(environment["CAIRN_KILL_POINTS"] ?? "") ?? 2
    static let killSeed = UInt64(environment["CAIRN_KILL_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
    static let soakRuns = Int(environment["CAIRN_SOAK_RUNS"] ?? "") ?? 3

    /// Kubernetes without add-ons keeps these runs short; add-on installs are kill points of their own.
    static let noAddons = ["calico", "coredns", "metallb", "ingress", "rook-ceph"].flatMap { ["--skip-phase", $0] }

    func etcdctl(_ lab: Lab, _ host: String, _ arguments: String) throws -> String {
        try lab.exec(
            host,
            "ETCDCTL_API=3 /usr/local/bin/etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/etcd/pki/ca.crt "
                + "--cert=/etc/etcd/pki/admin.crt --key=/etc/etcd/pki/admin.key \(arguments)")
    }

    @Test func aSecondApplyIsRefusedWhileOneRuns() throws {
        let lab = try Lab.up("t-rel-lock", hosts: 3)
        defer { lab.down() }
        let first = try Lab.startCairn(["apply", "--yes", "-i", lab.inventoryPath] + Self.noAddons)
        #expect(first.waitForOutput("etcd-install:"), "\(first.text.suffix(2000))")
        let second = try Lab.cairn(["apply", "--yes", "-i", lab.inventoryPath] + Self.noAddons)
        #expect(second.status == 1)
        #expect(second.stderr.contains("another run holds the cluster lock on node1"), "\(second.stderr)")
        #expect(second.stderr.contains("pid \(first.pid)"), "the owner is named")
        #expect(second.stderr.contains("last heartbeat"), "its age is given")
        #expect(first.wait() == 0, "\(first.text.suffix(2000))")
    }

    /// An operator takes the lock of a running apply (`--take-lock-from RUN`): the first run
    /// notices at its next heartbeat, finishes the action it is performing, starts no other and
    /// exits 1 naming the new owner (its journal says so too); the second converges the cluster.
    @Test func takingTheLockOfARunningApplyStopsItWithinOneAction() throws {
        let lab = try Lab.up("t-rel-takeover", hosts: 3)
        defer { lab.down() }
        let first = try Lab.startCairn(["apply", "--yes", "-i", lab.inventoryPath] + Self.noAddons)
        #expect(first.waitForOutput("etcd-install:"), "\(first.text.suffix(2000))")
        let header = first.text.split(separator: "\n").first { $0.contains("(run ") }.map(String.init) ?? ""
        let runID = try #require(
            header.range(of: #"\(run ([^)]+)\)"#, options: .regularExpression).map {
                String(header[$0].dropFirst(5).dropLast())
            }, "no run id in \(header)")
        let takenAt = Date()
        let second = try Lab.cairn(
            ["apply", "--yes", "--take-lock-from", runID, "-i", lab.inventoryPath] + Self.noAddons)
        #expect(second.status == 0, "\(second.stdout.suffix(3000))\(second.stderr)")
        #expect(second.stderr.contains("took the cluster lock from run \(runID)"), "\(second.stderr)")
        #expect(first.wait() == 1, "\(first.text.suffix(3000))")
        #expect(first.text.contains("lock lost: taken by run "), "\(first.text.suffix(3000))")
        #expect(first.text.contains("@"), "the new owner (user@machine pid N) is named")

        let journal = lab.directory.appendingPathComponent("state/runs/\(runID)/journal.jsonl")
        let entries = try JournalEntry.read(journal)
        #expect(entries.contains { $0.event == "note" && ($0.message ?? "").hasPrefix("lock lost: taken by run") })
        let started = entries.filter { $0.event == "action-started" }
        let finished = entries.filter { $0.event == "action-finished" }
        #expect(!started.isEmpty && started.count == finished.count, "an action was left half done")
        // Nothing started after the heartbeat that noticed (every 10 s) plus a little slack.
        let iso = ISO8601DateFormatter()
        let late = started.filter {
            guard let time = $0.time.flatMap(iso.date(from:)) else { return false }
            return time > takenAt.addingTimeInterval(13)
        }
        #expect(late.isEmpty, "actions started after the lock was lost: \(late.map { $0.summary ?? "" })")
        #expect(try Lab.cairn(["plan", "--detailed-exitcode", "-i", lab.inventoryPath] + Self.noAddons).status == 0)
    }

    @Test func quorumLossStopsBeforeAnyControlPlaneAction() throws {
        let lab = try Lab.up("t-rel-quorum", hosts: 3)
        defer { lab.down() }
        #expect(try Lab.cairn(["apply", "--yes", "-i", lab.inventoryPath] + Self.noAddons).status == 0)
        try lab.exec("node2", "systemctl stop etcd")
        try lab.exec("node3", "systemctl stop etcd")
        let run = try Lab.cairn(["apply", "--yes", "-i", lab.inventoryPath] + Self.noAddons)
        #expect(run.status == 1)
        // The running member cannot answer health checks without quorum either.
        #expect(run.stderr.contains("etcd has lost quorum"), "\(run.stderr)")
        #expect(run.stderr.contains("node2") && run.stderr.contains("node3"))
        #expect(run.stderr.contains("cairn restore"))
        let latest = lab.directory.appendingPathComponent("state/runs/latest")
        // The journal read is that of the failed run: it stopped in etcd-cluster.
        let entries = try JournalEntry.read(latest.appendingPathComponent("journal.jsonl"))
        #expect(
            entries.contains { $0.event == "phase-finished" && $0.phase == "etcd-cluster" && $0.outcome == "failed" })
        let performed = try Journal.performedHosts(latest)
        for phase in ["control-plane-init", "control-plane-join", "worker-join", "etcd-cluster"] {
            #expect(performed[phase] == nil, "\(phase) acted despite lost quorum")
        }
        try lab.exec("node2", "systemctl start etcd")
        try lab.exec("node3", "systemctl start etcd")
        let recovered = try Lab.cairn(["apply", "--yes", "-i", lab.inventoryPath] + Self.noAddons)
        #expect(recovered.status == 0, "\(recovered.stdout.suffix(3000))\(recovered.stderr)")
    }

    /// Stopping sshd does not end established sessions (OpenSSH's design): the running apply
    /// finishes on its session. The next run cannot connect and says so, naming the host (exit
    /// 68); once sshd is back, a rerun converges.
    @Test func sshdStoppedMidRunThenUnreachableThenConverges() throws {
        let lab = try Lab.up("t-rel-ssh", hosts: 4)
        defer { lab.down() }
        let run = try Lab.startCairn(["apply", "--yes", "-i", lab.inventoryPath] + Self.noAddons)
        #expect(run.waitForOutput("node-packages:"), "\(run.text.suffix(2000))")
        try lab.fault("node4", "sshd-stop")
        #expect(run.wait() == 0, "\(run.text.suffix(2000))")
        let cutOff = try Lab.cairn(["plan", "-i", lab.inventoryPath] + Self.noAddons)
        #expect(cutOff.status == 68, "\(cutOff.stderr)")
        #expect(cutOff.stderr.contains("cannot connect to node4 port 22"), "\(cutOff.stderr)")
        #expect(cutOff.stderr.contains("host-checks"), "the phase is named")
        try lab.fault("node4", "sshd-start")
        let rerun = try Lab.cairn(["apply", "--yes", "-i", lab.inventoryPath] + Self.noAddons)
        #expect(rerun.status == 0, "\(rerun.stdout.suffix(3000))\(rerun.stderr)")
        #expect(try Lab.cairn(["plan", "--detailed-exitcode", "-i", lab.inventoryPath] + Self.noAddons).status == 0)
    }

    /// SIGKILL of `cairn apply` at random moments of a whole build, add-on phases included, then a
    /// rerun must converge: etcd members once each, nodes once each, no lock in the way.
    @Test func killedAtRandomPointsARerunConverges() throws {
        var generator = SplitMix64(seed: Self.killSeed)
        print("kill points: \(Self.killPoints), CAIRN_KILL_SEED=\(Self.killSeed)")
        let lab = try Lab.up("t-rel-kill", hosts: 5)
        defer { lab.down() }
        let noStorage = ["--skip-phase", "rook-ceph"]
        // Measure an undisturbed build once, to spread the kill points over it.
        let started = Date()
        let undisturbed = try Lab.cairn(["apply", "--yes", "-i", lab.inventoryPath] + noStorage)
        #expect(undisturbed.status == 0, "\(undisturbed.stdout.suffix(2000))\(undisturbed.stderr)")
        let duration = Date().timeIntervalSince(started)
        var survived = 0
        for point in 0..<Self.killPoints {
            let reset = try Lab.cairn(["reset", "--yes", "-i", lab.inventoryPath])
            #expect(reset.status == 0, "\(reset.stderr)")
            let delay = 1.0 + Double(generator.next() % 1000) / 1000.0 * (duration - 2)
            let run = try Lab.startCairn(["apply", "--yes", "-i", lab.inventoryPath] + noStorage)
            usleep(useconds_t(delay * 1_000_000))
            let killed = run.killNow()
            let lastStep = run.text.split(separator: "\n").last.map(String.init) ?? ""
            print(
                "kill point \(point + 1): after \(String(format: "%.1f", delay)) s, \(killed ? "killed" : "had already ended"), last line: \(lastStep.prefix(160))"
            )
            #expect(killed, "seed \(Self.killSeed) point \(point + 1): the run ended before the kill")
            let rerun = try Lab.cairn(["apply", "--yes", "-i", lab.inventoryPath] + noStorage)
            #expect(
                rerun.status == 0,
                "seed \(Self.killSeed) point \(point + 1): \(rerun.stdout.suffix(2000))\(rerun.stderr)")
            let members = try etcdctl(lab, "node1", "member list -w simple").split(separator: "\n")
            #expect(members.count == 3, "duplicate or orphaned etcd members: \(members)")
            let nodes = try lab.kubectl("get nodes -o name").split(separator: "\n")
            #expect(Set(nodes).count == nodes.count && nodes.count == 5, "\(nodes)")
            if rerun.status == 0 { survived += 1 }
        }
        print("kill points survived: \(survived)/\(Self.killPoints)")
        #expect(survived == Self.killPoints)
    }

    /// Converged applies in this very process: nothing planned, and the operator side leaks no
    /// threads (sessions), file descriptors or memory from run to run.
    @Test func convergedAppliesLeakNothing() async throws {
        let lab = try Lab.up("t-rel-soak", hosts: 3)
        defer { lab.down() }
        #expect(try Lab.cairn(["apply", "--yes", "-i", lab.inventoryPath] + Self.noAddons).status == 0)
        let null = FileHandle(forWritingAtPath: "/dev/null")!
        let redactor = Redactor()
        let runner = ClusterRunner(
            redactor: redactor, stdout: OutputStream(handle: null, redactor: redactor),
            stderr: OutputStream(handle: null, redactor: redactor), confirm: { _ in true })
        var request = RunRequest(inventoryPath: lab.inventoryPath)
        request.assumeYes = true
        request.skipPhases = ["calico", "coredns", "metallb", "ingress", "rook-ceph"]
        // One warm-up run: lazily created runtime threads and caches are not leaks.
        _ = await runner.run(.apply, request)
        let before = Resources.now()
        var statuses: [Int32] = []
        for _ in 0..<Self.soakRuns {
            statuses.append(await runner.run(.apply, request).code)
            var plan = request
            plan.detailedExitCode = true
            statuses.append(await runner.run(.plan, plan).code)
        }
        try await Task.sleep(for: .milliseconds(500))
        let after = Resources.now()
        print(
            "soak: \(Self.soakRuns) applies + plans; fds \(before.fds)→\(after.fds), threads \(before.threads)→\(after.threads), RSS \(before.rssKiB)→\(after.rssKiB) KiB"
        )
        #expect(statuses.allSatisfy { $0 == 0 }, "\(statuses)")
        #expect(after.fds <= before.fds, "file descriptors leaked")
        #expect(after.threads <= before.threads + 2, "threads (SSH sessions) leaked")
        #expect(after.rssKiB < before.rssKiB + 40_000, "memory grew by \(after.rssKiB - before.rssKiB) KiB")
    }
}

enum Resources {
    static func now() -> (fds: Int, threads: Int, rssKiB: Int) {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let rss =
            status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) } ?? -1
        return (fds, threads, rss)
    }
}
