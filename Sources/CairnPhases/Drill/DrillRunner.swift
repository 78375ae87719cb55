import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// Deadlines of `cairn drill` (flags of the command).
public struct DrillOptions: Sendable {
    /// How long the cluster may take to show a disruption (the node controller's grace period
    /// is 40 s by default).
    public var detectDeadline: Duration = .seconds(150)
    /// How long the API, etcd and Ceph may take to answer again after a disruption.
    public var checkDeadline: Duration = .seconds(60)
    /// How long drained pods may take to run again elsewhere.
    public var rescheduleDeadline: Duration = .seconds(240)
    /// How long the cluster may take to be healthy again after the restore.
    public var healthTimeout: Duration = .seconds(600)
    /// A host undoes its disruption by itself after this long, whatever happens to Cairn.
    public var undoAfterSeconds = 1800

    public init() {}
}

/// Runs planned drill scenarios one at a time: prepare, disrupt, detect, check, restore, wait
/// for health. Every disruption is undone, also after a failed check (docs/drill.md).
public struct DrillRunner: Sendable {
    public static let namespace = "cairn-drill"
    static let volume = "cairn-drill-volume"
    static let dataFile = "/data/cairn-drill.bin"
    static let secondFile = "/data/cairn-drill-after.bin"

    let topology: Topology
    let context: RunContext
    let options: DrillOptions
    /// Progress lines for the operator, as they happen.
    let say: @Sendable (String) -> Void

    public init(
        topology: Topology, context: RunContext, options: DrillOptions, say: @escaping @Sendable (String) -> Void
    ) {
        self.topology = topology
        self.context = context
        self.options = options
        self.say = say
    }

    var clock: any EngineClock { context.clock }

    func executor(_ host: String) async throws -> any HostExecutor {
        try await context.executors.executor(forHost: host)
    }

    func kubectl(_ host: String) async throws -> Kubectl { Kubectl(executor: try await executor(host)) }

    static func hostScript(_ arguments: [String]) -> RemoteCommand {
        .script(.cairnDrill, arguments: arguments)
    }

    // MARK: Facts

    /// What the planner judges from: live etcd and node health, Ceph's OSDs, the VIP's holder.
    public func facts(status: ClusterStatus) async -> DrillFacts {
        let healthyMembers = Set((status.etcd?.members ?? []).filter { !(status.etcd?.unhealthy ?? []).contains($0) })
        var facts = DrillFacts(
            healthyEtcdMembers: healthyMembers, readyNodes: Set(status.nodes.filter(\.ready).map(\.name)))
        if let vip = topology.inventory.kubernetes.apiEndpoint.virtualIP {
            for host in topology.controlPlanes {
                let addresses = try? await executor(host.name).run(RemoteCommand("ip", ["-o", "addr", "show"]))
                if addresses?.stdoutText.contains(" \(vip.address)/") == true { facts.virtualIPHolder = host.name }
            }
        }
        if DrillPlanner.storageEnabled(topology), let anchor = topology.controlPlanes.first?.name,
            let kubectl = try? await kubectl(anchor)
        {
            if case .success(let tree) = try? await kubectl.json(
                CephOSDTree.self, running: RookCeph.toolbox + ["ceph", "osd", "tree", "-f", "json"])
            {
                facts.osdsByHost = tree.osdsByHost
            }
            if case .success(let size) = try? await kubectl.json(
                CephPoolSize.self,
                running: RookCeph.toolbox + ["ceph", "osd", "pool", "get", "replicapool", "size", "-f", "json"])
            {
                facts.poolSize = size.size
            }
            if case .success(let minSize) = try? await kubectl.json(
                PoolMinSize.self,
                running: RookCeph.toolbox + ["ceph", "osd", "pool", "get", "replicapool", "min_size", "-f", "json"])
            {
                facts.poolMinSize = minSize.minSize
            }
        }
        return facts
    }

    struct PoolMinSize: Decodable {
        var minSize: Int
        enum CodingKeys: String, CodingKey { case minSize = "min_size" }
    }

    /// Undoes what an earlier, interrupted drill left on any host (its host-side changes, a
    /// cordon, stopped OSDs); returns what was undone.
    public func restoreLeftovers() async -> [String] {
        var undone: [String] = []
        for host in context.hosts {
            guard let output = try? await executor(host.name).run(Self.hostScript(["restore"])) else { continue }
            let lines = output.stdoutText.split(separator: "\n").map(String.init)
            for line in lines {
                await undoNote(line, on: host.name)
                undone.append("\(host.name): \(line)")
            }
        }
        return undone
    }

    /// An API-side disruption a host recorded: `uncordon NODE`, `start-osd ID`, or the first
    /// line of an undo list the host script ran (`undone ...`).
    func undoNote(_ line: String, on host: String) async {
        let words = line.split(separator: " ").map(String.init)
        guard words.count == 2, let anchor = survivingControlPlane(excluding: []) else { return }
        let kubectl = try? await kubectl(anchor)
        switch words[0] {
        case "uncordon": _ = try? await kubectl?.run(["uncordon", words[1]])
        case "start-osd":
            _ = try? await kubectl?.run([
                "-n", "rook-ceph", "scale", "deploy/rook-ceph-osd-\(words[1])", "--replicas=1",
            ])
        default: break
        }
    }

    func survivingControlPlane(excluding targets: Set<String>) -> String? {
        topology.controlPlanes.first { !targets.contains($0.name) }?.name
    }

    // MARK: Running

    public func run(_ plan: DrillPlan, cluster: String) async -> DrillReport {
        var report = DrillReport(
            cluster: cluster, startedAt: ISO8601DateFormatter().string(from: Date()), scenarios: [])
        var stopped: String?
        for scenario in plan.scenarios {
            if let stopped {
                report.scenarios.append(
                    .init(
                        scenario: scenario.scenario, targets: scenario.targets, zone: scenario.zone, outcome: .notRun,
                        cause: stopped))
                continue
            }
            say("== \(scenario.scenario.rawValue): \(scenario.targets.joined(separator: ", "))")
            let result = await runOne(scenario)
            report.scenarios.append(result)
            if result.outcome != .passed {
                stopped = "not run: \(scenario.scenario.rawValue) did not pass"
            }
        }
        if let anchor = survivingControlPlane(excluding: []), let kubectl = try? await kubectl(anchor) {
            _ = try? await kubectl.run(["delete", "namespace", Self.namespace, "--ignore-not-found", "--timeout=120s"])
        }
        return report
    }

    func runOne(_ plan: DrillScenarioPlan) async -> DrillReport.ScenarioResult {
        let timeline = Timeline(clock: clock, say: say)
        var result = DrillReport.ScenarioResult(
            scenario: plan.scenario, targets: plan.targets, zone: plan.zone, outcome: .passed)
        guard let kubectlHost = plan.kubectlHost else {
            result.outcome = .refused
            result.cause = "no control-plane host survives"
            return result
        }
        let token = "\(plan.scenario.rawValue)-\(Int(Date().timeIntervalSince1970))"
        var volume: VolumeProbe?
        do {
            let kubectl = try await kubectl(kubectlHost)
            if plan.checks.contains(.volumeReadsBack), let node = plan.volumeNode {
                timeline.note("preparing the test volume on \(node)")
                volume = try await VolumeProbe.prepare(kubectl: kubectl, node: node, clock: clock)
                timeline.note(
                    "wrote \(VolumeProbe.size / 1024) KiB to the test volume, sha256 \(volume!.checksum.prefix(12))…")
            }
        } catch {
            result.outcome = .failed
            result.cause = "could not prepare: \(Self.describe(error))"
            return result
        }

        timeline.start()
        let watch = EndpointWatch()
        let watcher: Task<Void, Never>? =
            plan.checks.contains(.apiThroughEndpoint)
            ? Task { await watchEndpoint(watch, from: watchHost(excluding: Set(plan.targets)), timeline: timeline) }
            : nil
        var disruptionFailed: String?
        for action in plan.disrupt {
            timeline.note(action.summary)
            do {
                try await perform(action, token: token, kubectlHost: kubectlHost)
            } catch {
                disruptionFailed = "\(action.summary): \(Self.describe(error))"
                break
            }
        }
        if let disruptionFailed {
            result.outcome = .failed
            result.cause = "the disruption itself failed: \(disruptionFailed)"
        } else {
            result.detectSeconds = await detect(plan, timeline: timeline)
            for check in plan.checks {
                let (passed, detail) = await perform(check, plan: plan, volume: volume, timeline: timeline)
                timeline.note("\(passed ? "ok" : "FAILED") \(check.rawValue): \(detail)")
                result.checks.append(
                    .init(
                        check: check, summary: check.summary, passed: passed, detail: detail,
                        atSeconds: timeline.elapsed))
            }
        }
        watcher?.cancel()
        await watcher?.value
        if plan.checks.contains(.apiThroughEndpoint) { result.endpointOutageSeconds = watch.longestGap }

        let restoreStart = timeline.elapsed
        for action in plan.restore {
            timeline.note(action.summary)
            do {
                try await perform(action, token: token, kubectlHost: kubectlHost)
            } catch {
                timeline.note("could not \(action.summary): \(Self.describe(error))")
            }
        }
        for check in plan.checksAfterHealing {
            let (passed, detail) = await perform(check, plan: plan, volume: volume, timeline: timeline)
            timeline.note("\(passed ? "ok" : "FAILED") \(check.rawValue): \(detail)")
            result.checks.append(
                .init(check: check, summary: check.summary, passed: passed, detail: detail, atSeconds: timeline.elapsed)
            )
        }
        timeline.note("waiting for the whole cluster to be healthy (cairn status)")
        if let problems = await waitHealthy() {
            result.outcome = .failed
            result.cause =
                (result.cause.map { $0 + "; " } ?? "")
                + "the cluster was not healthy \(options.healthTimeout) after the restore: \(problems.joined(separator: "; "))"
        } else {
            result.recoverSeconds = timeline.elapsed - restoreStart
            timeline.note("healthy again")
        }
        if let failed = result.checks.first(where: { !$0.passed }) {
            result.outcome = .failed
            result.cause = result.cause ?? "check \(failed.check.rawValue) failed: \(failed.detail)"
        } else if disruptionFailed != nil {
            result.outcome = .failed
        }
        result.timeline = timeline.events
        return result
    }

    /// Polls `cairn status` until healthy; the last problems when the timeout passed.
    func waitHealthy() async -> [String]? {
        let deadline = clock.now.advanced(by: options.healthTimeout)
        var problems: [String] = []
        while clock.now < deadline {
            let status = await ClusterStatus.gather(topology: topology, context: context)
            if status.healthy { return nil }
            problems = status.problems
            try? await clock.sleep(for: .seconds(5))
        }
        return problems
    }

    static func describe(_ error: any Error) -> String {
        (error as? any CairnReportableError)?.summary ?? "\(error)"
    }

    // MARK: Disruptions

    func perform(_ action: DrillAction, token: String, kubectlHost: String) async throws {
        let undo = String(options.undoAfterSeconds)
        switch action {
        case .cordonAndDrain(let node):
            try await executor(node).runChecked(Self.hostScript(["note", "uncordon \(node)"]))
            let output = try await executor(kubectlHost).run(
                Kubectl.command(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=300s"]),
                stdin: nil, timeout: .seconds(360))
            guard output.succeeded else {
                throw DrainBlocked(node: node, reasons: DrainBlocked.reasons(in: output), rerun: "cairn drill")
            }
        case .stopKubelet(let host):
            try await executor(host).runChecked(Self.hostScript(["stop-kubelet", token, undo]))
        case .stopControlPlane(let host):
            try await executor(host).runChecked(
                Self.hostScript(["stop-control-plane", token, undo]), timeout: .seconds(120))
        case .stopOSDs(let host, let ids):
            let kubectl = try await kubectl(kubectlHost)
            for id in ids {
                try await executor(host).runChecked(Self.hostScript(["note", "start-osd \(id)"]))
                try await kubectl.runChecked(["-n", "rook-ceph", "scale", "deploy/rook-ceph-osd-\(id)", "--replicas=0"])
            }
        case .isolate(let hosts, let others):
            let vip = topology.inventory.kubernetes.apiEndpoint.virtualIP?.address
            func addresses(_ names: [String]) -> [String] { names.map { topology.internalAddress(of: $0) } }
            // Both sides at once, so the cut is symmetric from its first moment.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for host in hosts {
                    group.addTask {
                        try await executor(host).runChecked(
                            Self.hostScript(
                                ["isolate", token, undo, "cut"] + addresses(others) + (vip.map { [$0] } ?? [])))
                    }
                }
                for host in others {
                    group.addTask {
                        try await executor(host).runChecked(
                            Self.hostScript(["isolate", token, undo, "peer"] + addresses(hosts)))
                    }
                }
                try await group.waitForAll()
            }
        case .restore(let host):
            let output = try await executor(host).runChecked(Self.hostScript(["restore"]), timeout: .seconds(120))
            for line in output.stdoutText.split(separator: "\n") { await undoNote(String(line), on: host) }
        case .startOSDs(let host, let ids):
            let kubectl = try await kubectl(kubectlHost)
            for id in ids {
                try await kubectl.runChecked(["-n", "rook-ceph", "scale", "deploy/rook-ceph-osd-\(id)", "--replicas=1"])
            }
            _ = try await executor(host).run(Self.hostScript(["restore"]))
        case .uncordon(let node):
            try await kubectl(kubectlHost).runChecked(["uncordon", node])
        }
    }

    // MARK: Detection

    /// Seconds until the cluster showed the disruption, or nil when it did not within the deadline.
    func detect(_ plan: DrillScenarioPlan, timeline: Timeline) async -> Double? {
        let targets = Set(plan.targets)
        let lostMembers = DrillPlanner.members(topology).filter(targets.contains)
        let lostNodes = topology.nodes.map(\.name).filter(targets.contains)
        let what: String
        let check: () async -> Bool
        if plan.scenario == .storageLoss {
            what = "Ceph reports the OSDs down"
            check = {
                guard let map = await cephStatus(plan)?.osdmap else { return false }
                return map.numUpOSDs < map.numOSDs
            }
        } else if !lostMembers.isEmpty, let etcdHost = plan.etcdHost {
            what = "etcd reports \(lostMembers.joined(separator: ", ")) unhealthy"
            check = {
                guard
                    let report = try? await EtcdHealthCheck.report(
                        members: topology.etcdMembers, hostNames: [etcdHost], context: context)
                else { return false }
                return lostMembers.allSatisfy(report.unhealthy.contains)
            }
        } else if !lostNodes.isEmpty, let host = plan.kubectlHost {
            what = "\(lostNodes.joined(separator: ", ")) NotReady"
            check = { await notReady(lostNodes, kubectlHost: host) }
        } else {
            return nil
        }
        let deadline = clock.now.advanced(by: options.detectDeadline)
        while clock.now < deadline {
            if await check() {
                timeline.note("detected: \(what)")
                return timeline.elapsed
            }
            try? await clock.sleep(for: .seconds(1))
        }
        timeline.note("not detected within \(options.detectDeadline): \(what)")
        return nil
    }

    func notReady(_ nodes: [String], kubectlHost: String) async -> Bool {
        guard let all = try? await kubectl(kubectlHost).list(K8s.Node.self, ["nodes"]) else { return false }
        return nodes.allSatisfy { name in all.first { $0.name == name }.map { !$0.isReady } ?? true }
    }

    func cephStatus(_ plan: DrillScenarioPlan) async -> CephStatus? {
        guard let host = plan.kubectlHost, let kubectl = try? await kubectl(host) else { return nil }
        if case .success(let status) = try? await kubectl.json(
            CephStatus.self, running: RookCeph.toolbox + ["ceph", "status", "-f", "json"])
        {
            return status
        }
        return nil
    }

    /// A surviving worker reaches the endpoint the way clients do; else a surviving control plane.
    func watchHost(excluding targets: Set<String>) -> String? {
        (topology.workersOnly.first { !targets.contains($0.name) }
            ?? topology.controlPlanes.first {
                !targets.contains($0.name)
            })?.name
    }

    func endpointAnswers(from host: String) async -> Bool {
        let url = topology.nodeLocal?.loopbackURL ?? "https://\(topology.apiEndpoint)"
        let answer = try? await executor(host).run(
            RemoteCommand("curl", ["-sk", "--max-time", "2", url + "/readyz"]), stdin: nil, timeout: .seconds(10))
        return answer?.stdoutText == "ok"
    }

    func watchEndpoint(_ watch: EndpointWatch, from host: String?, timeline: Timeline) async {
        guard let host else { return }
        var last: Bool?
        while !Task.isCancelled {
            let ok = await endpointAnswers(from: host)
            watch.record(at: timeline.elapsed, ok: ok)
            if ok != last && last != nil {
                timeline.note(
                    ok
                        ? "the API endpoint answers again (seen from \(host))"
                        : "the API endpoint does not answer (seen from \(host))")
            }
            last = ok
            try? await clock.sleep(for: .milliseconds(500))
        }
    }
}

/// The scenario's events, with offsets from the disruption's start.
final class Timeline: @unchecked Sendable {
    private let lock = NSLock()
    private let clock: any EngineClock
    private let say: @Sendable (String) -> Void
    private var origin: ContinuousClock.Instant
    private var stored: [DrillReport.Event] = []

    init(clock: any EngineClock, say: @escaping @Sendable (String) -> Void) {
        self.clock = clock
        self.say = say
        origin = clock.now
    }

    /// Marks the disruption's start: later offsets count from here, earlier ones become negative.
    func start() {
        lock.withLock {
            let shift = Self.seconds(clock.now - origin)
            stored = stored.map { .init(atSeconds: $0.atSeconds - shift, text: $0.text) }
            origin = clock.now
        }
    }

    var elapsed: Double { lock.withLock { Self.seconds(clock.now - origin) } }
    var events: [DrillReport.Event] { lock.withLock { stored } }

    func note(_ text: String) {
        let at = elapsed
        lock.withLock { stored.append(.init(atSeconds: at, text: text)) }
        say(String(format: "[%7.1fs] ", at) + text)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The endpoint's answers over time.
final class EndpointWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var samples: [(at: Double, ok: Bool)] = []

    func record(at: Double, ok: Bool) { lock.withLock { samples.append((at, ok)) } }
    var all: [(at: Double, ok: Bool)] { lock.withLock { samples } }

    /// From the first unanswered probe of a stretch to the first answered one after it.
    var longestGap: Double {
        var longest = 0.0
        var since: Double?
        for sample in all {
            if !sample.ok, since == nil { since = sample.at }
            if sample.ok, let start = since {
                longest = max(longest, sample.at - start)
                since = nil
            }
        }
        if let since, let last = all.last { longest = max(longest, last.at - since) }
        return longest
    }
}
