import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// `cairn status`: one look at the whole cluster. Read-only. The JSON form is documented in
/// docs/status.md and versioned (`schema`).
public struct ClusterStatus: Sendable, Encodable {
    public static let schema = "cairn.dev/status/v1"

    public struct HostStatus: Sendable, Encodable {
        public var name: String
        public var roles: [String]
        public var reachable: Bool
        public var error: String?
        public var os: String?
        public var kubelet: String?
        public var containerd: String?
    }

    public struct EtcdStatus: Sendable, Encodable {
        public var healthy: Bool
        public var members: [String]
        public var unhealthy: [String]
        public var learners: [String]
        public var leader: String?
        public var toleratesFailures: Int
        public var databaseBytes: [String: Int64]
        public var alarms: [String]
        public var error: String?
    }

    public struct EndpointStatus: Sendable, Encodable {
        public var url: String
        public var ready: Bool
        public var apiServers: [String: Bool]
        /// nodeLocal: whether each host's own balancer reaches a ready API server.
        public var nodeBalancers: [String: Bool]?
    }

    public struct NodeStatus: Sendable, Encodable {
        public var name: String
        public var ready: Bool
        public var roles: [String]
        public var version: String?
        public var reason: String?
        /// topology.kubernetes.io/zone, when the node has one.
        public var zone: String? = nil
    }

    public struct WorkloadStatus: Sendable, Encodable {
        public var name: String
        public var ready: Int
        public var desired: Int
        public var nodes: [String]
        /// Pods per zone (nodes without a zone are left out; empty without zones).
        public var zones: [String: Int] = [:]
    }

    public struct CephSummary: Sendable, Encodable {
        public var health: String
        public var checks: [String]
        public var monsInQuorum: Int
        public var mons: Int
        public var osdsUp: Int
        public var osdsIn: Int
        public var osds: Int
        public var bytesUsed: Int64
        public var bytesTotal: Int64
    }

    /// Certificates ending within `certificates.renewBeforeDays` (docs/certificates.md).
    public struct CertificateSummary: Sendable, Encodable {
        public var renewBeforeDays: Int
        /// Days until the first one ends (nil when none was read).
        public var soonestDaysLeft: Int?
        /// "host path (N days)" of each one due.
        public var due: [String]
    }

    public var schema = ClusterStatus.schema
    public var cluster: String
    public var healthy: Bool
    public var problems: [String]
    public var hosts: [HostStatus]
    public var etcd: EtcdStatus?
    public var endpoint: EndpointStatus?
    public var nodes: [NodeStatus]
    public var addons: [WorkloadStatus]
    public var ceph: CephSummary?
    public var certificates: CertificateSummary?

    /// Gathers everything; unreachable parts become problems, never errors.
    public static func gather(topology: Topology, context: RunContext) async -> ClusterStatus {
        let inventory = topology.inventory
        var status = ClusterStatus(
            cluster: inventory.name, healthy: true, problems: [], hosts: [], etcd: nil, endpoint: nil,
            nodes: [], addons: [], ceph: nil)
        // Hosts, in parallel; each section waits only for the facts it reads, so etcd is asked at
        // once and the API as soon as the first control-plane host has answered.
        var tasks: [String: Task<Result<NodeFacts, any Error>, Never>] = [:]
        for host in context.hosts {
            tasks[host.name] = Task {
                do {
                    let executor = try await context.executors.executor(for: host)
                    return .success(
                        try await NodeFacts.gather(
                            executor: executor, advertise: topology.internalAddress(of: host.name),
                            cache: context.factCache, listingNodes: false))
                } catch {
                    return .failure(error)
                }
            }
        }
        let sections = Sections(topology: topology, context: context, factTasks: tasks)
        async let certificates = sections.certificates()
        async let etcd = sections.etcd()
        async let api = sections.api()
        for host in inventory.hosts {
            var entry = HostStatus(name: host.name, roles: host.roles.map(\.rawValue), reachable: false)
            switch await sections.facts(host.name) {
            case .success(let node):
                entry.reachable = true
                entry.os = "\(node.os) \(node.osVersion)"
                entry.kubelet = node.versions["kubelet"].flatMap { $0.isEmpty ? nil : $0 }
                entry.containerd = node.versions["containerd"].flatMap { $0.isEmpty ? nil : $0 }
            case .failure(let error):
                entry.error = (error as? any CairnReportableError)?.summary ?? "\(error)"
                status.problems.append("\(host.name) unreachable: \(entry.error!)")
            case nil:
                break
            }
            status.hosts.append(entry)
        }
        let (certificatesPart, etcdPart, apiPart) = await (certificates, etcd, api)
        status.certificates = certificatesPart.certificates
        status.etcd = etcdPart.etcd
        status.endpoint = apiPart.endpoint
        status.nodes = apiPart.nodes
        status.addons = apiPart.addons
        status.ceph = apiPart.ceph
        status.problems += certificatesPart.problems + etcdPart.problems + apiPart.problems
        status.healthy = status.problems.isEmpty
        return status
    }

    /// The parts of `gather` that run together: each fills the fields and problems of its own
    /// section of an empty status, waiting only for the hosts' facts it reads.
    struct Sections: Sendable {
        let topology: Topology
        let context: RunContext
        let factTasks: [String: Task<Result<NodeFacts, any Error>, Never>]

        /// The host's facts once it has answered (nil for a host not in this run).
        func facts(_ host: String) async -> Result<NodeFacts, any Error>? {
            await factTasks[host]?.value
        }

        /// Whether the host answered.
        func reachable(_ host: String) async -> Bool {
            if case .success? = await facts(host) { return true }
            return false
        }
        var inventory: Inventory { topology.inventory }
        var hosts: [EngineHost] { context.hosts }

        var empty: ClusterStatus {
            ClusterStatus(
                cluster: inventory.name, healthy: true, problems: [], hosts: [], etcd: nil, endpoint: nil, nodes: [],
                addons: [], ceph: nil)
        }
    }
}

extension ClusterStatus.Sections {
    /// Certificates, on the reachable hosts.
    func certificates() async -> ClusterStatus {
        var status = empty
        var readable: [EngineHost] = []
        for host in hosts where await reachable(host.name) { readable.append(host) }
        let found = await Certificates.gather(hosts: readable, topology: topology, context: context).certificates
        let now = Date()
        let window = inventory.certificates.renewBeforeDays
        let due = found.filter { $0.isDue(now: now, renewBeforeDays: window) }
        status.certificates = ClusterStatus.CertificateSummary(
            renewBeforeDays: window, soonestDaysLeft: found.first?.daysLeft(now: now),
            due: due.map { "\($0.host) \($0.path) (\($0.daysLeft(now: now)) days)" })
        if !due.isEmpty {
            status.problems.append(
                "\(due.count) certificate\(due.count == 1 ? " ends" : "s end") within \(window) days: `cairn certs` lists them, `cairn apply` renews them"
            )
        }

        return status
    }

    func etcd() async -> ClusterStatus {
        var status = empty
        let members = topology.etcdMembers
        // Asked on another host than the first control-plane host, which reads the API meanwhile:
        // one host's commands run one at a time.
        let anchor = topology.firstControlPlane?.name
        let candidates = topology.etcdHosts(among: hosts)
        let etcdHosts = candidates.filter { $0.name != anchor } + candidates.filter { $0.name == anchor }
        do {
            let report = try await EtcdHealthCheck.report(members: members, hosts: etcdHosts, context: context)
            status.etcd = ClusterStatus.EtcdStatus(
                healthy: report.unhealthy.isEmpty && report.leader != nil && report.alarms.isEmpty,
                members: report.members, unhealthy: report.unhealthy, learners: report.learners,
                leader: report.leader, toleratesFailures: report.tolerates, databaseBytes: report.dbSizes,
                alarms: report.alarms)
            if !report.unhealthy.isEmpty {
                status.problems.append(
                    "etcd: \(report.unhealthy.joined(separator: ", ")) not healthy"
                        + (report.hasQuorum ? "" : " — QUORUM LOST"))
            }
            if !report.alarms.isEmpty {
                status.problems.append("etcd alarms: " + report.alarms.joined(separator: "; "))
            }
        } catch {
            status.etcd = ClusterStatus.EtcdStatus(
                healthy: false, members: [], unhealthy: members.map(\.name), learners: [], leader: nil,
                toleratesFailures: 0, databaseBytes: [:], alarms: [],
                error: (error as? any CairnReportableError)?.summary ?? "\(error)")
            status.problems.append("etcd: no member answers")
        }

        return status
    }

    /// The API, from the first reachable control-plane host.
    func api() async -> ClusterStatus {
        var status = empty
        var anchor: EngineHost?
        for host in hosts where host.roles.contains(Role.controlPlane.rawValue) {
            if await reachable(host.name) {
                anchor = host
                break
            }
        }
        if let anchorHost = anchor, let executor = try? await context.executors.executor(for: anchorHost) {
            let endpoint = inventory.kubernetes.apiEndpoint
            let url = "https://\(topology.apiEndpoint)"
            let ready =
                (try? await executor.run(RemoteCommand("curl", ["-sk", "--max-time", "3", url + "/readyz"])).stdoutText)
                == "ok"
            // The anchor reads the cluster while the other hosts' facts come in.
            async let kubernetes = ready ? kubernetes(on: executor) : nil
            // Each API server's /readyz, as its own host's facts read it.
            var servers: [String: Bool] = [:]
            for host in inventory.controlPlaneHosts {
                if case .success(let node)? = await facts(host.name) {
                    servers[host.name] = node.apiserverReady == "ok"
                } else {
                    servers[host.name] = false
                }
                if servers[host.name] != true { status.problems.append("kube-apiserver on \(host.name) is not ready") }
            }
            status.endpoint = ClusterStatus.EndpointStatus(url: endpoint.url, ready: ready, apiServers: servers)
            if !ready { status.problems.append("the API endpoint \(url) is not ready") }
            if let nodeLocal = topology.nodeLocal {
                var balancers: [EngineHost] = []
                for host in hosts where await reachable(host.name) {
                    if let spec = topology.host(named: host.name), nodeLocal.runsProxy(spec) { balancers.append(host) }
                }
                let answers = await withTaskGroup(of: (String, Bool).self) { group in
                    for host in balancers {
                        group.addTask {
                            let answer = try? await context.executors.executor(for: host).run(
                                RemoteCommand("curl", ["-sk", "--max-time", "3", nodeLocal.loopbackURL + "/readyz"]))
                            return (host.name, answer?.stdoutText == "ok")
                        }
                    }
                    var answers: [String: Bool] = [:]
                    for await (name, ok) in group { answers[name] = ok }
                    return answers
                }
                status.endpoint?.nodeBalancers = answers
                for (name, ok) in answers.sorted(by: { $0.key < $1.key }) where !ok {
                    status.problems.append(
                        "\(name): its balancer at \(nodeLocal.loopbackURL) reaches no ready API server")
                }
            }
            if let part = await kubernetes {
                status.nodes = part.nodes
                status.addons = part.addons
                status.ceph = part.ceph
                status.problems += part.problems
            }
        } else if !inventory.controlPlaneHosts.isEmpty {
            status.problems.append("no control-plane host answers")
        }
        return status
    }

    /// Nodes and every add-on's workloads, from one read of what `cairn status` shows.
    func kubernetes(on executor: any HostExecutor) async -> ClusterStatus {
        var status = empty
        let snapshot = try? await ClusterSnapshot.read(
            Kubectl(executor: executor), resources: ClusterSnapshot.statusResources)
        await ClusterStatus.gatherKubernetes(
            into: &status, kubectl: Kubectl(executor: executor, snapshot: snapshot), topology: topology)
        return status
    }
}

extension ClusterStatus {
    static func gatherKubernetes(into status: inout ClusterStatus, kubectl: Kubectl, topology: Topology) async {
        if let nodes = try? await kubectl.list(K8s.Node.self, ["nodes"]) {
            for node in nodes {
                status.nodes.append(
                    NodeStatus(
                        name: node.name, ready: node.isReady, roles: node.roles, version: node.kubeletVersion,
                        reason: node.isReady ? nil : node.readyCondition?.explanation,
                        zone: node.metadata.labels?[Host.zoneLabel]))
                if !node.isReady { status.problems.append("node \(node.name) is not Ready") }
            }
            let registered = Set(status.nodes.map(\.name))
            for host in topology.nodes where !registered.contains(host.name) {
                status.problems.append("node \(host.name) is not registered")
            }
        }
        for addon in Addons.instances(topology) where addon.isEnabled {
            for workload in addon.workloads {
                let resource = ["\(workload.kind.rawValue)/\(workload.object)", "-n", workload.namespace]
                let counts: (ready: Int, desired: Int)?
                switch workload.kind {
                case .deployment:
                    counts = (try? await kubectl.get(K8s.Deployment.self, resource)).map { ($0.available, $0.desired) }
                case .daemonset:
                    counts = (try? await kubectl.get(K8s.DaemonSet.self, resource)).map { ($0.ready, $0.desired) }
                }
                guard let counts else {
                    status.problems.append("\(workload.name) is not installed")
                    continue
                }
                let pods =
                    (try? await kubectl.list(K8s.Pod.self, ["pods", "-n", workload.namespace, "-l", workload.selector]))
                    ?? []
                let nodes = Set(pods.compactMap(\.nodeName)).sorted()
                let zoneOf = Dictionary(
                    uniqueKeysWithValues: status.nodes.compactMap { node in
                        node.zone.map { (node.name, $0) }
                    })
                var zones: [String: Int] = [:]
                for pod in pods { if let zone = pod.nodeName.flatMap({ zoneOf[$0] }) { zones[zone, default: 0] += 1 } }
                status.addons.append(
                    WorkloadStatus(
                        name: workload.name, ready: counts.ready, desired: counts.desired, nodes: nodes, zones: zones))
                if counts.ready < counts.desired || counts.desired == 0 {
                    status.problems.append("\(workload.name): \(counts.ready)/\(counts.desired) ready")
                }
            }
            await addon.report(into: &status, kubectl: kubectl)
        }
    }

    /// The one-screen text form.
    public func render(colors: (ok: (String) -> String, bad: (String) -> String, bold: (String) -> String)) -> String {
        var lines: [String] = []
        lines.append(
            colors.bold("Cluster \(cluster)") + ": "
                + (healthy
                    ? colors.ok("healthy")
                    : colors.bad("DEGRADED (\(problems.count) problem\(problems.count == 1 ? "" : "s"))")))
        lines.append("")
        lines.append(colors.bold("Hosts"))
        for host in hosts {
            let state = host.reachable ? colors.ok("reachable") : colors.bad("UNREACHABLE")
            let details = [host.os, host.kubelet.map { "kubelet \($0)" }, host.containerd.map { "containerd \($0)" }]
                .compactMap { $0 }.joined(separator: ", ")
            lines.append(
                "  \(host.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(state)  \(host.roles.joined(separator: ","))  \(details)"
            )
        }
        if let etcd {
            lines.append("")
            let leader = etcd.leader.map { "leader \($0)" } ?? colors.bad("no leader")
            lines.append(
                colors.bold("etcd")
                    + ": \(etcd.members.count) members, \(leader), tolerates \(etcd.toleratesFailures) failure\(etcd.toleratesFailures == 1 ? "" : "s")"
                    + (etcd.unhealthy.isEmpty ? "" : colors.bad(", down: " + etcd.unhealthy.joined(separator: ", "))))
            let sizes = etcd.databaseBytes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value / 1024 / 1024) MiB" }
            if !sizes.isEmpty { lines.append("  database: " + sizes.joined(separator: ", ")) }
            if !etcd.alarms.isEmpty {
                lines.append("  " + colors.bad("alarms: " + etcd.alarms.joined(separator: "; ")))
            }
        }
        if let endpoint {
            lines.append("")
            lines.append(
                colors.bold("API") + " \(endpoint.url): "
                    + (endpoint.ready ? colors.ok("ready") : colors.bad("NOT READY")))
            lines.append(
                "  "
                    + endpoint.apiServers.sorted { $0.key < $1.key }.map {
                        "\($0.key) " + ($0.value ? colors.ok("ready") : colors.bad("not ready"))
                    }.joined(separator: ", "))
            if let balancers = endpoint.nodeBalancers, !balancers.isEmpty {
                let good = balancers.values.filter { $0 }.count
                let summary = "\(good)/\(balancers.count) reach a ready API server"
                lines.append(
                    "  node balancers: " + (good == balancers.count ? colors.ok(summary) : colors.bad(summary))
                        + balancers.filter { !$0.value }.keys.sorted().map { ", not \($0)" }.joined())
            }
        }
        if !nodes.isEmpty {
            lines.append("")
            lines.append(colors.bold("Nodes"))
            for node in nodes {
                lines.append(
                    "  \(node.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(node.ready ? colors.ok("Ready") : colors.bad("NotReady"))  \(node.roles.joined(separator: ","))  \(node.version ?? "")"
                        + (node.zone.map { "  zone \($0)" } ?? "") + (node.reason.map { "  (\($0))" } ?? ""))
            }
        }
        if !addons.isEmpty {
            lines.append("")
            lines.append(colors.bold("Add-ons"))
            for addon in addons {
                let counts = "\(addon.ready)/\(addon.desired)"
                let zones =
                    addon.zones.isEmpty
                    ? ""
                    : "  (zones "
                        + addon.zones.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                        + ")"
                lines.append(
                    "  \(addon.name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(addon.ready >= addon.desired && addon.desired > 0 ? colors.ok(counts) : colors.bad(counts))  on \(addon.nodes.joined(separator: ", "))"
                        + zones)
            }
        }
        if let ceph {
            lines.append("")
            lines.append(
                colors.bold("Ceph") + ": "
                    + (ceph.health == "HEALTH_OK" ? colors.ok(ceph.health) : colors.bad(ceph.health))
                    + ", mons \(ceph.monsInQuorum)/\(ceph.mons) in quorum, OSDs \(ceph.osdsUp) up / \(ceph.osdsIn) in / \(ceph.osds)"
                    + (ceph.bytesTotal > 0
                        ? ", \(ceph.bytesUsed / 1_048_576) of \(ceph.bytesTotal / 1_048_576) MiB used" : ""))
            for check in ceph.checks { lines.append("  " + colors.bad(check)) }
        }
        if let certificates, let soonest = certificates.soonestDaysLeft {
            lines.append("")
            let text = "soonest ends in \(soonest) days (renewed within \(certificates.renewBeforeDays))"
            lines.append(
                colors.bold("Certificates") + ": "
                    + (certificates.due.isEmpty
                        ? colors.ok(text) : colors.bad(text + ", \(certificates.due.count) due")))
        }
        if !problems.isEmpty {
            lines.append("")
            lines.append(colors.bold("Problems"))
            for problem in problems { lines.append("  - " + problem) }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
