import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// Connect and gather facts, and refuse before touching anything when the hosts cannot make a
/// cluster: duplicate hostnames or machine-ids, clock skew, too little memory, an unsupported
/// OS, a required port held by something that is not Kubernetes' or etcd's own.
public struct HostChecksPhase: Phase {
    public let name = "host-checks"
    public let title = "Check hosts (OS, memory, clock, identities, ports)"
    let topology: Topology
    /// Largest clock difference to the operator's machine.
    let maximumSkew: Int

    public init(topology: Topology, maximumSkew: Int = 30) {
        self.topology = topology
        self.maximumSkew = maximumSkew
    }

    public struct Facts: Sendable, Equatable, Codable {
        public let node: NodeFacts
        /// The operator's clock when the answer arrived, to compare with the host's.
        public let operatorEpoch: Int
        public let roundTrip: Int

        public init(node: NodeFacts, operatorEpoch: Int, roundTrip: Int) {
            self.node = node
            self.operatorEpoch = operatorEpoch
            self.roundTrip = roundTrip
        }
    }

    static let supported: [String: [String]] = [
        "debian": ["11", "12", "13"],
        "ubuntu": ["20.04", "22.04", "24.04"],
        "rocky": ["8", "9"], "almalinux": ["8", "9"], "rhel": ["8", "9"], "centos": ["9"],
    ]

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> Facts {
        // The host read its clock between these two instants (the answer may be shared with other
        // phases of this run: its own instants come with it).
        let observed = try await NodeFacts.observe(
            executor: executor, advertise: topology.internalAddress(of: host.name), cache: context.run.factCache)
        return Facts(
            node: observed.facts, operatorEpoch: Int(observed.answeredAt.timeIntervalSince1970),
            roundTrip: Int(observed.answeredAt.timeIntervalSince(observed.askedAt).rounded(.up)))
    }

    public func plan(facts: [EngineHost: Facts], context: PhaseContext) throws -> PhasePlan {
        let problems = problems(Dictionary(uniqueKeysWithValues: facts.map { ($0.key.name, $0.value) }))
        if !problems.isEmpty { throw HostChecksFailed(problems: problems) }
        return PhasePlan(notes: [
            "\(context.hosts.count) hosts checked: OS, memory, clock, identities and ports are fine"
        ])
    }

    /// What stops the build, from the hosts' facts alone (by host name, in inventory order).
    public func problems(_ facts: [String: Facts]) -> [HostProblem] {
        var problems: [HostProblem] = []
        var byHostname: [String: [String]] = [:]
        var byMachineID: [String: [String]] = [:]
        for spec in topology.inventory.hosts {
            guard let fact = facts[spec.name] else { continue }
            let host = spec
            let node = fact.node
            byHostname[node.hostname, default: []].append(host.name)
            if !node.machineID.isEmpty { byMachineID[node.machineID, default: []].append(host.name) }
            let osVersion = node.osVersion.split(separator: ".").prefix(node.os == "ubuntu" ? 2 : 1).joined(
                separator: ".")
            if let versions = Self.supported[node.os], !versions.contains(osVersion) {
                problems.append(
                    HostProblem(
                        host: host.name,
                        problem:
                            "\(node.os) \(node.osVersion) is not supported (supported: \(node.os) \(versions.joined(separator: ", ")))"
                    ))
            } else if Self.supported[node.os] == nil {
                problems.append(
                    HostProblem(
                        host: host.name,
                        problem: "the OS \"\(node.os)\" is not supported (Debian, Ubuntu, RHEL-compatible)"))
            }
            let isControlPlane = spec.has(.controlPlane)
            let needed = isControlPlane ? 1_500 * 1024 : 1_024 * 1024
            if node.memoryKiB < needed {
                problems.append(
                    HostProblem(
                        host: host.name,
                        problem:
                            "\(node.memoryKiB / 1024) MiB of memory; a \(isControlPlane ? "control-plane host needs 1.5" : "node needs 1") GiB"
                    ))
            }
            let skew = abs(node.epoch - fact.operatorEpoch)
            if skew > maximumSkew + fact.roundTrip {
                problems.append(
                    HostProblem(
                        host: host.name,
                        problem:
                            "its clock is \(skew) s off the operator's; etcd and TLS need synchronised clocks (run chrony or systemd-timesyncd)"
                    ))
            }
            // Kubernetes 1.35 and later refuse cgroup v1 (kubelet's failCgroupV1, kubeadm's preflight).
            let kubernetes = topology.inventory.kubernetes.version
            if (spec.has(.controlPlane) || spec.has(.worker)) && node.cgroupFilesystem != "cgroup2fs"
                && SupportedVersions.kubernetesMinor(kubernetes) >= 35
            {
                problems.append(
                    HostProblem(
                        host: host.name,
                        problem:
                            "it runs cgroup v1 (/sys/fs/cgroup is \(node.cgroupFilesystem.isEmpty ? "unknown" : node.cgroupFilesystem)); "
                            + "Kubernetes \(SupportedVersions.minor(of: kubernetes)) needs cgroup v2: boot it with "
                            + "systemd.unified_cgroup_hierarchy=1 (the default of Debian 11+, Ubuntu 21.10+ and RHEL 9)"
                    ))
            }
            problems += portProblems(host: spec, node: node)
        }
        for (hostname, hosts) in byHostname.sorted(by: { $0.key < $1.key }) where hosts.count > 1 {
            problems.append(
                HostProblem(
                    host: hosts.joined(separator: ", "),
                    problem: "they share the hostname \"\(hostname)\"; Kubernetes node names must be unique"))
        }
        for (_, hosts) in byMachineID.sorted(by: { $0.key < $1.key }) where hosts.count > 1 {
            problems.append(
                HostProblem(
                    host: hosts.joined(separator: ", "),
                    problem:
                        "they share one /etc/machine-id (cloned machines); regenerate it (systemd-machine-id-setup) on all but one"
                ))
        }
        return problems
    }

    /// Ports a role needs, and which of Cairn's own services may hold each (then it is not a conflict).
    func portProblems(host: Host, node: NodeFacts) -> [HostProblem] {
        var wanted: [(port: Int, ours: Bool)] = []
        let services = node.services
        let hasAPIServer = node.manifests.contains("kube-apiserver.yaml")
        let inUse = node.portsInUse
        let kubeletOurs = services["kubelet"] == "active" || node.hasKubeletConfig
        // An haproxy on the endpoint port is Cairn's unless its unit is known to be stopped: a busy
        // host's systemctl may answer "activating", "reloading" or nothing at all.
        func balancerOurs(_ port: Int) -> Bool {
            let unit = services["cairn-apiserver-lb"] ?? "unknown"
            return unit == "active" || (inUse[port] == "haproxy" && !["inactive", "failed"].contains(unit))
        }
        if host.has(.controlPlane) {
            wanted += [(6443, hasAPIServer), (10257, hasAPIServer), (10259, hasAPIServer)]
            if case .haproxyKeepalived = topology.inventory.kubernetes.apiEndpoint.mode {
                let port = topology.inventory.kubernetes.apiEndpoint.port
                wanted.append((port, balancerOurs(port)))
            }
        }
        if let nodeLocal = topology.nodeLocal, nodeLocal.runsProxy(host), host.has(.controlPlane) || host.has(.worker) {
            wanted.append((nodeLocal.port, balancerOurs(nodeLocal.port)))
        }
        if host.has(.controlPlane) || host.has(.worker) { wanted.append((10250, kubeletOurs)) }
        if host.has(.etcd) {
            // Cairn's etcd runs as a process named etcd; anything else on its ports is a conflict.
            wanted += [(2379, inUse[2379] == "etcd"), (2380, inUse[2380] == "etcd")]
        }
        return wanted.compactMap { port, ours in
            guard let process = inUse[port], !ours else { return nil }
            return HostProblem(
                host: host.name,
                problem:
                    "port \(port) is in use by \(process.isEmpty ? "another process" : "\"\(process)\""); Kubernetes needs it"
            )
        }
    }
}

public struct HostProblem: Sendable, Equatable {
    public let host: String
    public let problem: String
}

public struct HostChecksFailed: Error, CairnReportableError {
    public let problems: [HostProblem]
    public var summary: String {
        "host-checks: the hosts cannot make this cluster: \(problems.count) problem\(problems.count == 1 ? "" : "s"); nothing was changed"
    }
    public var details: [String] { problems.map { "\($0.host): \($0.problem)" } }
    public var nextStep: String? { "fix the hosts named above (or the inventory) and rerun" }
    public var exitCode: CairnExitCode { .failure }
}
