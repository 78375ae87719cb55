import CairnCore
import CairnEngine
import Foundation

/// Paths of a Kubernetes node as kubeadm and the upstream packages lay them out.
public enum KubernetesLayout {
    public static let adminConf = "/etc/kubernetes/admin.conf"
    public static let kubeletConf = "/etc/kubernetes/kubelet.conf"
    public static let kubeletConfig = "/var/lib/kubelet/config.yaml"
    public static let manifests = "/etc/kubernetes/manifests"
    public static let apiserverManifest = "/etc/kubernetes/manifests/kube-apiserver.yaml"
    public static let caCertificate = "/etc/kubernetes/pki/ca.crt"
    public static let apiserverCertificate = "/etc/kubernetes/pki/apiserver.crt"
    public static let cairnDirectory = "/etc/kubernetes/cairn"
    /// Written by Cairn once `kubeadm init` finished: admin.conf alone does not say that (kubeadm
    /// writes it early, and a killed init leaves it behind).
    public static let initializedMarker = "/etc/kubernetes/cairn/initialized"
    public static let containerdConfig = "/etc/containerd/config.toml"
    public static let containerdUnit = "/etc/systemd/system/containerd.service"
    public static let crictlConfig = "/etc/crictl.yaml"
    public static let kubeletUnit = "/etc/systemd/system/kubelet.service"
    public static let kubeletDropIn = "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
    public static let criSocket = "unix:///var/run/containerd/containerd.sock"
    public static let cniBin = "/opt/cni/bin"
    public static let haproxyConfig = "/etc/cairn/haproxy.cfg"
    public static let haproxyUnit = "/etc/systemd/system/cairn-apiserver-lb.service"
    public static let keepalivedConfig = "/etc/cairn/keepalived.conf"
    public static let keepalivedUnit = "/etc/systemd/system/cairn-vip.service"
    public static let kubeVipManifest = "/etc/kubernetes/manifests/kube-vip.yaml"

    /// Files whose SHA-256 the node facts report.
    public static let trackedFiles = [
        containerdConfig, containerdUnit, crictlConfig, kubeletUnit, kubeletDropIn,
        haproxyConfig, haproxyUnit, keepalivedConfig, keepalivedUnit, kubeVipManifest,
        caCertificate, adminConf,
    ]
}

/// Everything the Kubernetes phases need to know about a host, in one round trip.
public struct NodeFacts: Sendable, Codable, Equatable {
    public let os: String
    public let osVersion: String
    public let machine: String
    public let memoryKiB: Int
    public let cpus: Int
    public let hostname: String
    public let machineID: String
    public let epoch: Int
    public let swapActive: Int
    public let ipForward: String
    /// The file system of /sys/fs/cgroup: `cgroup2fs` on a cgroup v2 host ("" when not asked).
    public let cgroupFilesystem: String
    /// `VERSION` strings of installed binaries ("" when absent).
    public var versions: [String: String]
    /// SHA-256 of tracked files ("" when absent).
    public let files: [String: String]
    /// `systemctl is-active` of the units Cairn manages ("active", "inactive", …).
    public let services: [String: String]
    public let hasKubeletConfig: Bool
    public let hasKubeletConf: Bool
    public let hasAdminConf: Bool
    /// Cairn's marker of a finished `kubeadm init` on this host.
    public let initialized: Bool
    /// Files in /etc/kubernetes/manifests.
    public let manifests: [String]
    /// Listening TCP ports and the processes holding them: `port process` lines (base64).
    public let listening: String
    /// `ip -o -4 addr show`, base64.
    public let interfaces: String
    /// `/readyz` of this host's kube-apiserver ("" when not asked or no answer).
    public let apiserverReady: String
    /// The version of this host's kube-apiserver static pod (its image tag, "v1.36.4"); nil
    /// without one. `kubeadm upgrade` rewrites it.
    public var controlPlaneVersion: String?
    /// Node objects, from this host's admin.conf (nil without one, or when the API did not answer).
    public var nodes: K8s.List<K8s.Node>?
    /// The address `/etc/hosts` gives the `nodeLocal` endpoint name in the line Cairn owns ("" without
    /// one; nil when not asked: only the `network` part reads it).
    public var endpointEntry: String? = nil

    public var listeningText: String { String(decoding: Data(base64Encoded: listening) ?? Data(), as: UTF8.self) }
    public var interfacesText: String { String(decoding: Data(base64Encoded: interfaces) ?? Data(), as: UTF8.self) }

    /// Ports in use, with the process name (from `ss -ltnpH`).
    public var portsInUse: [Int: String] {
        var ports: [Int: String] = [:]
        for line in listeningText.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if let port = Int(parts[0]) { ports[port] = parts.count > 1 ? parts[1] : "" }
        }
        return ports
    }

    /// The interface holding `address`.
    public func interface(holding address: String) -> String? {
        for line in interfacesText.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4, fields[2] == "inet" else { continue }
            if fields[3].split(separator: "/").first.map(String.init) == address {
                return fields[1].split(separator: "@").first.map(String.init)
            }
        }
        return nil
    }

    /// Where Cairn records what it installed: `version size mtime` of the binary, so facts need
    /// not run every binary for its version (a stat instead of a process per binary).
    public static let markerDirectory = "/var/lib/cairn/installed"

    /// The one fact script. Every phase (and `cairn status`) asks it the same question, so a run
    /// asks each host once while nothing changes (`FactCache`).
    public static func command(advertise: String) -> RemoteCommand {
        .script(.cairnFactsNode, arguments: [advertise, markerDirectory] + KubernetesLayout.trackedFiles)
    }

    /// The facts, with when they were asked for and answered (the clock check bounds a host's
    /// clock by them).
    public struct Observation: Sendable {
        public let facts: NodeFacts
        public let askedAt: Date
        public let answeredAt: Date
    }

    /// `advertise` is the host's internal address (asked for `/readyz` when it runs an API server).
    /// `listingNodes`: on a host with admin.conf, also list the Node objects (`nodes`) with a
    /// kubectl of its own, so that `--stats` counts it; `cairn status` reads nodes elsewhere.
    public static func observe(
        executor: any HostExecutor, advertise: String, cache: FactCache?, listingNodes: Bool = true
    ) async throws -> Observation {
        let command = command(advertise: advertise)
        let ask: @Sendable () async throws -> Observation = {
            let askedAt = Date()
            var facts = try await executor.facts(command, as: NodeFacts.self)
            let answeredAt = Date()
            if listingNodes && facts.hasAdminConf { facts.nodes = await listNodes(executor) }
            return Observation(facts: facts, askedAt: askedAt, answeredAt: answeredAt)
        }
        guard let cache else { return try await ask() }
        return try await cache.value(for: cacheKey(executor.hostName, command, listingNodes), computing: ask)
    }

    /// The facts this run already has for the host (nil when it has none since the last change).
    public static func existing(host: String, advertise: String, cache: FactCache) async -> NodeFacts? {
        await cache.existingValue(
            for: cacheKey(host, command(advertise: advertise), true), as: Observation.self)?.facts
    }

    static func cacheKey(_ host: String, _ command: RemoteCommand, _ listingNodes: Bool) -> String {
        host + "\u{0}" + command.rendered + (listingNodes ? "\u{0}nodes" : "")
    }

    /// `kubectl get nodes` through the host's admin.conf, with a shorter timeout than other
    /// kubectl calls: a host that cannot reach the API should not hold up every phase's facts.
    static let listNodesCommand = RemoteCommand(
        "kubectl", ["--kubeconfig", KubernetesLayout.adminConf, "--request-timeout=8s", "get", "nodes", "-o", "json"])

    /// The Node objects, or nil when the API does not answer. A few tries: right after etcd or an
    /// API server recovers, the first answer may fail.
    static func listNodes(_ executor: any HostExecutor) async -> K8s.List<K8s.Node>? {
        for attempt in 1...4 {
            if attempt > 1 { try? await Task.sleep(for: .seconds(2)) }
            guard let output = try? await executor.run(listNodesCommand, stdin: nil, timeout: .seconds(30)) else {
                continue
            }
            if output.succeeded, let nodes = try? JSONDecoder().decode(K8s.List<K8s.Node>.self, from: output.stdout) {
                return nodes
            }
            if output.exitStatus == 127 { return nil }  // no kubectl on this host (yet)
        }
        return nil
    }

    public static func gather(
        executor: any HostExecutor, advertise: String, cache: FactCache?, listingNodes: Bool = true
    ) async throws -> NodeFacts {
        try await observe(executor: executor, advertise: advertise, cache: cache, listingNodes: listingNodes).facts
    }
}
