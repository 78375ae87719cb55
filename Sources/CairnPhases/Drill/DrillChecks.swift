import CairnCore
import CairnEngine
import CairnInventory
import Foundation

extension Kubectl {
    /// Runs and throws unless kubectl exited 0.
    @discardableResult
    func runChecked(_ arguments: [String], stdin: Data? = nil) async throws -> CommandOutput {
        let output = try await run(arguments, stdin: stdin)
        guard output.succeeded else {
            throw KubectlError.failed(
                host: executor.hostName, command: "kubectl " + arguments.joined(separator: " "),
                message: output.stderrTail(lines: 2).joined(separator: " / "))
        }
        return output
    }
}

/// The throw-away volume of the storage checks: a claim on the default StorageClass and a pod
/// mounting it on a surviving node, holding data whose checksum is known.
struct VolumeProbe: Sendable {
    static let size = 64 * 1024
    let kubectl: Kubectl
    let checksum: String

    static func prepare(kubectl: Kubectl, node: String, clock: any EngineClock) async throws -> VolumeProbe {
        let namespace = DrillRunner.namespace
        let name = DrillRunner.volume
        let image =
            try await kubectl.runChecked([
                "-n", "rook-ceph", "get", "deploy/rook-ceph-tools", "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            ]).stdoutText
        if let pod = try await kubectl.getIfPresent(K8s.Pod.self, ["pod", name, "-n", namespace]),
            pod.nodeName != node
        {
            // A ReadWriteOnce volume follows its pod only after the old pod is gone.
            try await kubectl.runChecked(["-n", namespace, "delete", "pod", name, "--wait=true", "--timeout=120s"])
        }
        let manifest = """
            apiVersion: v1
            kind: Namespace
            metadata:
              name: \(namespace)
              labels: {app.kubernetes.io/managed-by: cairn}
            ---
            apiVersion: v1
            kind: PersistentVolumeClaim
            metadata:
              name: \(name)
              namespace: \(namespace)
            spec:
              accessModes: [ReadWriteOnce]
              resources: {requests: {storage: 64Mi}}
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: \(name)
              namespace: \(namespace)
              labels: {app.kubernetes.io/managed-by: cairn}
            spec:
              nodeName: \(node)
              terminationGracePeriodSeconds: 1
              containers:
                - name: probe
                  image: \(image)
                  command: [sleep, infinity]
                  volumeMounts: [{name: data, mountPath: /data}]
              volumes:
                - name: data
                  persistentVolumeClaim: {claimName: \(name)}

            """
        try await kubectl.runChecked(["apply", "-f", "-"], stdin: Data(manifest.utf8))
        let deadline = clock.now.advanced(by: .seconds(180))
        while true {
            // Bound and Running: a claim still Pending has no volume to write to.
            let claim = try await kubectl.getIfPresent(
                K8s.PersistentVolumeClaim.self, ["pvc", name, "-n", namespace])
            let pod = try await kubectl.getIfPresent(K8s.Pod.self, ["pod", name, "-n", namespace])
            if claim?.isBound == true && pod?.status?.phase == "Running" { break }
            if clock.now >= deadline {
                throw DrillFailure(
                    "the test volume is not ready after 180 s: claim \(claim?.status?.phase ?? "missing"), pod \(pod?.status?.phase ?? "missing") (kubectl -n \(namespace) describe pvc,pod \(name))"
                )
            }
            try await clock.sleep(for: .seconds(2))
        }
        let data = Self.randomData()
        try await write(kubectl, data, to: DrillRunner.dataFile)
        let probe = VolumeProbe(kubectl: kubectl, checksum: SHA256Digest.hex(of: data))
        let read = try await probe.checksum(of: DrillRunner.dataFile)
        guard read == probe.checksum else {
            throw DrillFailure("the test volume read back \(read) right after writing \(probe.checksum)")
        }
        return probe
    }

    static func randomData() -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func write(_ kubectl: Kubectl, _ data: Data, to path: String) async throws {
        try await kubectl.runChecked(
            ["exec", "-i", "-n", DrillRunner.namespace, DrillRunner.volume, "--", "tee", path], stdin: data)
    }

    func checksum(of path: String) async throws -> String {
        let output = try await kubectl.runChecked([
            "exec", "-n", DrillRunner.namespace, DrillRunner.volume, "--", "sha256sum", path,
        ])
        return String(output.stdoutText.split(separator: " ").first ?? "")
    }
}

struct DrillFailure: Error, CairnReportableError {
    let summary: String
    init(_ summary: String) { self.summary = summary }
    var nextStep: String? { nil }
    var exitCode: CairnExitCode { .gateTimeout }
}

extension DrillRunner {
    /// Polls `probe` once a second until it passes or `deadline` passes; the last answer.
    func poll(_ deadline: Duration, _ probe: () async -> (Bool, String)) async -> (Bool, String) {
        let end = clock.now.advanced(by: deadline)
        var last = (false, "not checked")
        while true {
            last = await probe()
            if last.0 || clock.now >= end { return last }
            try? await clock.sleep(for: .seconds(1))
        }
    }

    func perform(_ check: DrillCheck, plan: DrillScenarioPlan, volume: VolumeProbe?, timeline: Timeline) async -> (
        Bool, String
    ) {
        let targets = Set(plan.targets)
        let kubectlHost = plan.kubectlHost ?? ""
        let start = timeline.elapsed
        func since() -> String { String(format: "%.1f s", timeline.elapsed - start) }
        switch check {
        case .nodeNotReady:
            let nodes = topology.nodes.map(\.name).filter(targets.contains)
            return await poll(options.detectDeadline) {
                await notReady(nodes, kubectlHost: kubectlHost)
                    ? (true, "\(nodes.joined(separator: ", ")) NotReady")
                    : (false, "\(nodes.joined(separator: ", ")) still Ready")
            }
        case .apiThroughEndpoint:
            guard let host = watchHost(excluding: targets) else { return (false, "no surviving host to ask from") }
            // Three answers in a row, at least 10 s after the disruption: a balancer or a
            // virtual IP that fails over late shows up in between.
            var streak = 0
            return await poll(options.checkDeadline) {
                streak = await endpointAnswers(from: host) ? streak + 1 : 0
                let settled = timeline.elapsed >= 10
                return streak >= 3 && settled
                    ? (true, "answers /readyz through \(topology.apiEndpoint) (asked from \(host))")
                    : (false, "no steady answer through \(topology.apiEndpoint) from \(host)")
            }
        case .etcdQuorum:
            guard let etcdHost = plan.etcdHost else { return (false, "no surviving etcd host") }
            return await poll(options.checkDeadline) {
                do {
                    let report = try await EtcdHealthCheck.report(
                        members: topology.etcdMembers, hostNames: [etcdHost], context: context)
                    let summary =
                        "\(report.healthy.count) of \(report.members.count) members healthy, leader \(report.leader ?? "none")"
                    return (report.hasQuorum && report.leader != nil, summary)
                } catch {
                    return (false, Self.describe(error))
                }
            }
        case .apiWrite:
            let name = "cairn-drill-write-\(Int(Date().timeIntervalSince1970))"
            return await poll(options.checkDeadline) {
                guard let kubectl = try? await kubectl(kubectlHost) else {
                    return (false, "no connection to \(kubectlHost)")
                }
                _ = try? await kubectl.run([
                    "create", "namespace", Self.namespace,
                ])
                let output = try? await kubectl.run([
                    "-n", Self.namespace, "create", "configmap", name, "--from-literal=written=\(name)",
                ])
                guard let output, output.succeeded || output.stderrText.contains("AlreadyExists") else {
                    return (false, output?.stderrTail(lines: 1).first ?? "kubectl did not answer")
                }
                _ = try? await kubectl.run(["-n", Self.namespace, "delete", "configmap", name, "--wait=false"])
                return (true, "ConfigMap \(Self.namespace)/\(name) written through the API after \(since())")
            }
        case .workloadsKeepMinimum:
            return await workloadsKeepMinimum(kubectlHost: kubectlHost, lost: targets)
        case .servicesKeepEndpoints:
            return await servicesKeepEndpoints(kubectlHost: kubectlHost)
        case .podsRescheduled:
            return await poll(options.rescheduleDeadline) {
                await rescheduled(kubectlHost: kubectlHost, lost: targets, since: since)
            }
        case .cephDegradedButActive:
            return await poll(options.checkDeadline) {
                guard let status = await cephStatus(plan) else { return (false, "ceph status did not answer") }
                let states = status.pgmap?.pgsByState ?? []
                let inactive = states.filter { !$0.stateName.split(separator: "+").contains("active") }
                let summary =
                    "\(status.health.status), OSDs \(status.osdmap?.numUpOSDs ?? 0)/\(status.osdmap?.numOSDs ?? 0) up, PGs "
                    + states.map { "\($0.count) \($0.stateName)" }.joined(separator: ", ")
                let down = (status.osdmap?.numUpOSDs ?? 0) < (status.osdmap?.numOSDs ?? 0)
                return (down && inactive.isEmpty && !states.isEmpty, summary)
            }
        case .volumeReadsBack:
            guard let volume else { return (false, "no test volume was prepared") }
            do {
                let read = try await volume.checksum(of: Self.dataFile)
                return read == volume.checksum
                    ? (true, "sha256 \(read.prefix(12))… as written before the disruption")
                    : (false, "read back sha256 \(read), wrote \(volume.checksum)")
            } catch {
                return (false, Self.describe(error))
            }
        case .volumeAcceptsWrites:
            guard let volume else { return (false, "no test volume was prepared") }
            do {
                let data = VolumeProbe.randomData()
                try await VolumeProbe.write(volume.kubectl, data, to: Self.secondFile)
                let read = try await volume.checksum(of: Self.secondFile)
                return read == SHA256Digest.hex(of: data)
                    ? (true, "wrote and read back \(VolumeProbe.size / 1024) KiB")
                    : (false, "wrote sha256 \(SHA256Digest.hex(of: data)), read back \(read)")
            } catch {
                return (false, Self.describe(error))
            }
        case .isolatedMemberRefusesWrites:
            guard let isolated = plan.targets.first, let member = topology.etcdMember(named: isolated) else {
                return (false, "no isolated etcd member")
            }
            let output = try? await executor(isolated).run(
                RemoteCommand(
                    argv: EtcdLayout.etcdctl(endpoints: [member.clientURL], commandTimeout: 5) + [
                        "put", "/cairn-drill/isolated", "must-not-be-written",
                    ]), stdin: nil, timeout: .seconds(30))
            guard let output else { return (false, "could not run etcdctl on \(isolated)") }
            return output.succeeded
                ? (false, "the isolated member \(isolated) accepted a write: split brain")
                : (true, "\(isolated) refused: " + (output.stderrTail(lines: 1).first ?? output.statusDescription))
        case .majorityWrites:
            guard let etcdHost = plan.etcdHost else { return (false, "no surviving etcd host") }
            let survivors = topology.etcdMembers.filter { !targets.contains($0.name) }.map(\.clientURL)
            return await poll(options.checkDeadline) {
                let output = try? await executor(etcdHost).run(
                    RemoteCommand(
                        argv: EtcdLayout.etcdctl(endpoints: survivors, commandTimeout: 5) + [
                            "put", "/cairn-drill/majority", "written",
                        ]), stdin: nil, timeout: .seconds(30))
                guard let output, output.succeeded else {
                    return (false, output?.stderrTail(lines: 1).first ?? "etcdctl did not answer")
                }
                _ = try? await executor(etcdHost).run(
                    RemoteCommand(
                        argv: EtcdLayout.etcdctl(endpoints: survivors, commandTimeout: 5) + [
                            "del", "/cairn-drill/majority",
                        ]))
                return (true, "written through \(survivors.count) surviving members after \(since())")
            }
        case .membersConverge:
            guard let etcdHost = plan.etcdHost else { return (false, "no etcd host") }
            return await poll(.seconds(120)) { await converged(etcdHost: etcdHost) }
        }
    }

    /// Every member answers, and their key-value hashes agree at a revision all have reached.
    func converged(etcdHost: String) async -> (Bool, String) {
        let all = topology.etcdMembers.map(\.clientURL)
        guard let executor = try? await executor(etcdHost) else { return (false, "no connection to \(etcdHost)") }
        let control = EtcdControl(executor: executor, clock: clock)
        guard let statuses = try? await control.status(all), statuses.count == all.count else {
            return (false, "not every member answers endpoint status")
        }
        let revisions = statuses.compactMap { $0.status.header.revision }
        guard revisions.count == all.count, let common = revisions.min() else { return (false, "revisions unknown") }
        let output = try? await control.etcdctl(all, ["endpoint", "hashkv", "--rev=\(common)", "-w", "json"])
        guard let output, output.succeeded,
            let hashes = try? JSONDecoder().decode([HashKV].self, from: output.stdout), hashes.count == all.count
        else {
            return (false, output?.stderrTail(lines: 1).first ?? "endpoint hashkv did not answer")
        }
        let distinct = Set(hashes.map(\.hashKV.hash))
        return distinct.count == 1
            ? (true, "all \(all.count) members at revision ≥ \(common), hash \(distinct.first!) at it")
            : (
                false,
                "hashes differ at revision \(common): "
                    + hashes.map { "\($0.endpoint) \($0.hashKV.hash)" }.joined(separator: ", ")
            )
    }

    struct HashKV: Decodable {
        struct Value: Decodable { var hash: UInt64 }
        var endpoint: String
        var hashKV: Value
        enum CodingKeys: String, CodingKey {
            case endpoint = "Endpoint"
            case hashKV = "HashKV"
        }
    }

    /// The minimum of a workload: its PodDisruptionBudget's, else one pod when it has two or
    /// more (an HA add-on must keep serving), else none. DaemonSets keep every pod off the lost
    /// hosts.
    func workloadsKeepMinimum(kubectlHost: String, lost: Set<String>) async -> (Bool, String) {
        guard let kubectl = try? await kubectl(kubectlHost) else { return (false, "no connection to \(kubectlHost)") }
        let budgets = (try? await kubectl.list(Budget.self, ["pdb", "-A"])) ?? []
        var short: [String] = []
        var seen: [String] = []
        for addon in Addons.instances(topology) where addon.isEnabled {
            for workload in addon.workloads {
                let resource = ["\(workload.kind.rawValue)/\(workload.object)", "-n", workload.namespace]
                switch workload.kind {
                case .deployment:
                    guard let deployment = try? await kubectl.get(K8s.Deployment.self, resource) else {
                        short.append("\(workload.name) unreadable")
                        continue
                    }
                    let labels = Self.labels(workload.selector)
                    let budget = budgets.first { $0.namespace == workload.namespace && $0.selects(labels) }
                    let minimum =
                        budget?.minimum(desired: deployment.desired) ?? (deployment.desired >= 2 ? 1 : 0)
                    seen.append("\(workload.name) \(deployment.available)/\(deployment.desired) (min \(minimum))")
                    if deployment.available < minimum {
                        short.append("\(workload.name) \(deployment.available) < \(minimum)")
                    }
                case .daemonset:
                    guard let set = try? await kubectl.get(K8s.DaemonSet.self, resource) else {
                        short.append("\(workload.name) unreadable")
                        continue
                    }
                    let minimum = max(0, set.desired - lost.count)
                    seen.append("\(workload.name) \(set.ready)/\(set.desired) (min \(minimum))")
                    if set.ready < minimum { short.append("\(workload.name) \(set.ready) < \(minimum)") }
                }
            }
        }
        return short.isEmpty
            ? (true, seen.joined(separator: ", ")) : (false, "below minimum: " + short.joined(separator: ", "))
    }

    static func labels(_ selector: String) -> [String: String] {
        var labels: [String: String] = [:]
        for pair in selector.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { labels[parts[0]] = parts[1] }
        }
        return labels
    }

    struct Budget: Decodable, Sendable {
        struct Meta: Decodable, Sendable { var namespace: String? }
        struct Spec: Decodable, Sendable {
            struct Selector: Decodable, Sendable { var matchLabels: [String: String]? }
            var minAvailable: IntOrString?
            var maxUnavailable: IntOrString?
            var selector: Selector?
        }
        var metadata: Meta
        var spec: Spec
        var namespace: String { metadata.namespace ?? "" }

        func selects(_ labels: [String: String]) -> Bool {
            guard let wanted = spec.selector?.matchLabels, !wanted.isEmpty else { return false }
            return wanted.allSatisfy { labels[$0.key] == $0.value }
        }

        func minimum(desired: Int) -> Int {
            if let min = spec.minAvailable { return min.count(of: desired, roundUp: true) }
            if let max = spec.maxUnavailable { return desired - max.count(of: desired, roundUp: true) }
            return 0
        }
    }

    enum IntOrString: Decodable, Sendable {
        case int(Int)
        case percent(Int)
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int.self) {
                self = .int(value)
            } else {
                let text = try container.decode(String.self)
                self = .percent(Int(text.trimmingCharacters(in: CharacterSet(charactersIn: "%"))) ?? 0)
            }
        }
        func count(of total: Int, roundUp: Bool) -> Int {
            switch self {
            case .int(let value): return value
            case .percent(let percent):
                return roundUp ? (total * percent + 99) / 100 : total * percent / 100
            }
        }
    }

    struct ServiceSpec: Decodable, Sendable {
        struct Meta: Decodable, Sendable { var name: String }
        struct Spec: Decodable, Sendable { var selector: [String: String]? }
        var metadata: Meta
        var spec: Spec
    }

    struct EndpointsObject: Decodable, Sendable {
        struct Subset: Decodable, Sendable {
            struct Address: Decodable, Sendable { var ip: String }
            var addresses: [Address]?
        }
        var subsets: [Subset]?
        var ready: Int { (subsets ?? []).reduce(0) { $0 + ($1.addresses?.count ?? 0) } }
    }

    /// Every Service that selects the pods of a replicated add-on keeps a ready address. A
    /// single-replica add-on (MetalLB's controller, Rook's operator) has no second pod to serve
    /// while the first is rescheduled: not an HA promise, so not checked.
    func servicesKeepEndpoints(kubectlHost: String) async -> (Bool, String) {
        guard let kubectl = try? await kubectl(kubectlHost) else { return (false, "no connection to \(kubectlHost)") }
        var empty: [String] = []
        var seen: [String] = []
        for addon in Addons.instances(topology) where addon.isEnabled {
            for workload in addon.workloads where workload.kind == .deployment {
                let resource = ["deployment/\(workload.object)", "-n", workload.namespace]
                guard let deployment = try? await kubectl.get(K8s.Deployment.self, resource), deployment.desired >= 2
                else { continue }
                let labels = Self.labels(workload.selector)
                let services =
                    (try? await kubectl.list(ServiceSpec.self, ["services", "-n", workload.namespace])) ?? []
                for service in services {
                    guard let selector = service.spec.selector, !selector.isEmpty,
                        selector.allSatisfy({ labels[$0.key] == $0.value })
                    else { continue }
                    let endpoints = try? await kubectl.get(
                        EndpointsObject.self, ["endpoints", service.metadata.name, "-n", workload.namespace])
                    let ready = endpoints?.ready ?? 0
                    seen.append("\(workload.namespace)/\(service.metadata.name) \(ready)")
                    if ready == 0 { empty.append("\(workload.namespace)/\(service.metadata.name)") }
                }
            }
        }
        if seen.isEmpty { return (true, "no add-on Service to check") }
        return empty.isEmpty
            ? (true, "ready addresses: " + seen.joined(separator: ", "))
            : (false, "no ready address: " + empty.joined(separator: ", "))
    }

    /// Every add-on Deployment is fully available again, none of its pods on a lost host. A
    /// replica the scheduler holds back (Unschedulable: its own spread or anti-affinity allows
    /// one per host and no host is left for it) counts as placed, if the Deployment keeps its
    /// minimum: that is the workload's design, not a failure to reschedule.
    func rescheduled(kubectlHost: String, lost: Set<String>, since: () -> String) async -> (Bool, String) {
        guard let kubectl = try? await kubectl(kubectlHost) else { return (false, "no connection to \(kubectlHost)") }
        let budgets = (try? await kubectl.list(Budget.self, ["pdb", "-A"])) ?? []
        var waiting: [String] = []
        var heldBack: [String] = []
        for addon in Addons.instances(topology) where addon.isEnabled {
            for workload in addon.workloads where workload.kind == .deployment {
                let resource = ["deployment/\(workload.object)", "-n", workload.namespace]
                guard let deployment = try? await kubectl.get(K8s.Deployment.self, resource) else {
                    waiting.append("\(workload.name) unreadable")
                    continue
                }
                let pods =
                    (try? await kubectl.list(K8s.Pod.self, ["pods", "-n", workload.namespace, "-l", workload.selector]))
                    ?? []
                let stranded = pods.filter { $0.nodeName.map(lost.contains) ?? false }
                let unschedulable = pods.filter {
                    $0.condition("PodScheduled")?.status == "False"
                        && $0.condition("PodScheduled")?.reason == "Unschedulable"
                }
                let labels = Self.labels(workload.selector)
                let minimum =
                    budgets.first { $0.namespace == workload.namespace && $0.selects(labels) }?.minimum(
                        desired: deployment.desired) ?? (deployment.desired >= 2 ? 1 : 0)
                if stranded.isEmpty && deployment.available >= deployment.desired { continue }
                if stranded.isEmpty && deployment.available + unschedulable.count >= deployment.desired
                    && deployment.available >= minimum
                {
                    heldBack.append(
                        "\(workload.name) \(deployment.available)/\(deployment.desired): "
                            + (unschedulable.first?.condition("PodScheduled")?.message ?? "Unschedulable"))
                    continue
                }
                waiting.append(
                    "\(workload.name) \(deployment.available)/\(deployment.desired)"
                        + (stranded.isEmpty
                            ? "" : ", \(stranded.count) still on \(lost.sorted().joined(separator: ", "))"))
            }
        }
        guard waiting.isEmpty else { return (false, "waiting: " + waiting.joined(separator: "; ")) }
        return (
            true,
            "every add-on Deployment runs off the lost node after \(since())"
                + (heldBack.isEmpty ? "" : "; held back by their own spread rules: " + heldBack.joined(separator: "; "))
        )
    }
}
