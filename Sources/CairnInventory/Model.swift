import CairnCore

/// A cluster as described by its inventory, with every default applied.
///
/// Values that reach hosts (names, addresses, paths, labels) have passed the strict grammars in
/// `Grammar`; they still go through `ShellQuote` whenever they become part of a command.
public struct Inventory: Sendable, Equatable {
    public var apiVersion: String
    public var name: String
    /// Operator-side state: PKI, journal, kubeconfig. Absolute.
    public var stateDirectory: String
    /// SSH settings for every host. Fields left nil fall back to ssh_config, then to built-in defaults
    /// (see `effectiveSSH(for:in:sshConfig:)`).
    public var ssh: SSHDefaults
    public var hosts: [Host]
    public var kubernetes: KubernetesSettings
    public var etcd: EtcdSettings
    /// Each registered add-on's settings (`addons.KEY`), defaults applied.
    public var addons: AddonSettingsSet
    public var artifacts: Artifacts
    public var upgrade: UpgradeSettings
    public var certificates: CertificateSettings

    public init(
        apiVersion: String = SupportedVersions.currentAPIVersion, name: String, stateDirectory: String,
        ssh: SSHDefaults, hosts: [Host], kubernetes: KubernetesSettings, etcd: EtcdSettings,
        addons: AddonSettingsSet, artifacts: Artifacts, upgrade: UpgradeSettings = UpgradeSettings(),
        certificates: CertificateSettings = CertificateSettings()
    ) {
        self.apiVersion = apiVersion
        self.name = name
        self.stateDirectory = stateDirectory
        self.ssh = ssh
        self.hosts = hosts
        self.kubernetes = kubernetes
        self.etcd = etcd
        self.addons = addons
        self.artifacts = artifacts
        self.upgrade = upgrade
        self.certificates = certificates
    }

    public func hosts(withRole role: Role) -> [Host] {
        hosts.filter { $0.roles.contains(role) }
    }

    public var controlPlaneHosts: [Host] { hosts(withRole: .controlPlane) }
    public var etcdHosts: [Host] { hosts(withRole: .etcd) }
    public var workerHosts: [Host] { hosts(withRole: .worker) }

    /// The control-plane host `kubeadm init` runs on. Validation guarantees there is one.
    public var firstControlPlane: Host? { controlPlaneHosts.first }

    /// Nodes that take ordinary workloads: the workers, or the control-plane hosts when there are
    /// no workers (control-plane nodes are tainted otherwise).
    public var schedulableHosts: [Host] { Self.schedulableHosts(among: hosts) }

    public static func schedulableHosts(among hosts: [Host]) -> [Host] {
        let workers = hosts.filter { $0.has(.worker) }
        return workers.isEmpty ? hosts.filter { $0.has(.controlPlane) } : workers
    }

    public func host(named name: String) -> Host? {
        hosts.first { $0.name == name }
    }
}

public enum Role: String, Sendable, CaseIterable, Hashable {
    case etcd
    case controlPlane = "control-plane"
    case worker
}

public struct Host: Sendable, Equatable, Hashable {
    public static let zoneLabel = "topology.kubernetes.io/zone"
    public static let regionLabel = "topology.kubernetes.io/region"

    /// `hosts[].zone`, kept as the node label Kubernetes schedules by.
    public var zone: String? { labels[Self.zoneLabel] }

    /// RFC 1123 lowercase hostname; the Kubernetes node name and the etcd member name.
    public var name: String
    /// Where to connect over SSH: an IP address, a DNS name or an ssh_config `Host` alias.
    public var address: String
    /// The IP address cluster traffic uses (etcd peers, apiserver, kubelet node IP).
    public var internalAddress: String
    /// Without duplicates, in the order written.
    public var roles: [Role]
    public var labels: [String: String]
    public var taints: [Taint]
    /// Absolute `/dev/…` paths handed to Rook/Ceph.
    public var storageDevices: [String]
    /// Per-host SSH settings; nil fields fall back to `Inventory.ssh`.
    public var sshOverrides: SSHDefaults

    public init(
        name: String, address: String, internalAddress: String? = nil, roles: [Role],
        labels: [String: String] = [:], taints: [Taint] = [], storageDevices: [String] = [],
        sshOverrides: SSHDefaults = SSHDefaults()
    ) {
        self.name = name
        self.address = address
        self.internalAddress = internalAddress ?? address
        self.roles = roles
        self.labels = labels
        self.taints = taints
        self.storageDevices = storageDevices
        self.sshOverrides = sshOverrides
    }

    public func has(_ role: Role) -> Bool { roles.contains(role) }
}

public struct Taint: Sendable, Equatable, Hashable {
    public enum Effect: String, Sendable, CaseIterable, Hashable {
        case noSchedule = "NoSchedule"
        case preferNoSchedule = "PreferNoSchedule"
        case noExecute = "NoExecute"
    }

    public var key: String
    public var value: String?
    public var effect: Effect

    public init(key: String, value: String? = nil, effect: Effect) {
        self.key = key
        self.value = value
        self.effect = effect
    }

    /// `key=value:Effect`, the form `kubectl taint` and kubelet's `--register-with-taints` take.
    public var kubectlForm: String {
        if let value { return "\(key)=\(value):\(effect.rawValue)" }
        return "\(key):\(effect.rawValue)"
    }
}

/// A jump host as written in the inventory.
public struct BastionSettings: Sendable, Equatable, Hashable {
    public var address: String
    public var port: Int?
    public var user: String?
    /// Absolute after loading.
    public var identityFile: String?

    public init(address: String, port: Int? = nil, user: String? = nil, identityFile: String? = nil) {
        self.address = address
        self.port = port
        self.user = user
        self.identityFile = identityFile
    }
}

/// SSH settings as written in the inventory: `ssh:` at the top (defaults for every host) or
/// `hosts[i].ssh` (overrides). A nil field was not written; see `effectiveSSH(for:in:sshConfig:)`
/// for what applies then. Paths are absolute after loading.
public struct SSHDefaults: Sendable, Equatable, Hashable {
    public var user: String?
    public var port: Int?
    public var identityFile: String?
    public var passphraseEnv: String?
    public var passphraseFile: String?
    public var passwordEnv: String?
    public var useAgent: Bool?
    public var knownHostsFile: String?
    public var hostKeyChecking: HostKeyChecking?
    public var bastion: BastionSettings?
    public var sudo: SudoMode?
    public var connectTimeout: Double?
    public var commandTimeout: Double?
    /// The OpenSSH client config to honour; only in `Inventory.ssh`. nil: none (`configFile: none`,
    /// or the default `~/.ssh/config` does not exist).
    public var configFile: String?

    public init(
        user: String? = nil, port: Int? = nil, identityFile: String? = nil, passphraseEnv: String? = nil,
        passphraseFile: String? = nil, passwordEnv: String? = nil, useAgent: Bool? = nil,
        knownHostsFile: String? = nil, hostKeyChecking: HostKeyChecking? = nil, bastion: BastionSettings? = nil,
        sudo: SudoMode? = nil, connectTimeout: Double? = nil, commandTimeout: Double? = nil, configFile: String? = nil
    ) {
        self.user = user
        self.port = port
        self.identityFile = identityFile
        self.passphraseEnv = passphraseEnv
        self.passphraseFile = passphraseFile
        self.passwordEnv = passwordEnv
        self.useAgent = useAgent
        self.knownHostsFile = knownHostsFile
        self.hostKeyChecking = hostKeyChecking
        self.bastion = bastion
        self.sudo = sudo
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.configFile = configFile
    }
}

public enum ProxyMode: String, Sendable, CaseIterable, Hashable {
    case iptables
    case nftables
    /// Deprecated in Kubernetes 1.35 (accepted with a warning).
    case ipvs
}

public struct KubernetesSettings: Sendable, Equatable {
    public var version: String
    public var podSubnet: String
    public var serviceSubnet: String
    public var clusterDomain: String
    public var proxyMode: ProxyMode
    public var apiEndpoint: APIEndpoint

    public init(
        version: String = SupportedVersions.kubernetes.defaultVersion, podSubnet: String = "10.244.0.0/16",
        serviceSubnet: String = "10.96.0.0/12", clusterDomain: String = "cluster.local",
        proxyMode: ProxyMode = .iptables, apiEndpoint: APIEndpoint
    ) {
        self.version = version
        self.podSubnet = podSubnet
        self.serviceSubnet = serviceSubnet
        self.clusterDomain = clusterDomain
        self.proxyMode = proxyMode
        self.apiEndpoint = apiEndpoint
    }
}

/// How clients reach the Kubernetes API.
public struct APIEndpoint: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        /// No balancer: straight to the only control-plane host.
        case direct
        /// haproxy + keepalived on the control-plane hosts, holding a virtual IP.
        case haproxyKeepalived(VirtualIP, virtualRouterID: Int)
        /// kube-vip static pods on the control-plane hosts, holding a virtual IP.
        case kubeVip(VirtualIP)
        /// A balancer the operator runs.
        case external(address: String)
        /// A balancer on every host in front of every API server, reached at the host's loopback
        /// address (kubespray's default, `loadbalancer_apiserver_localhost`).
        case nodeLocal(engine: NodeLocalEngine)
    }

    /// What runs the balancer of a `nodeLocal` endpoint.
    public enum NodeLocalEngine: String, Sendable, CaseIterable, Hashable {
        case haproxy
    }

    public struct VirtualIP: Sendable, Equatable {
        public var address: String
        /// The prefix length of the control-plane hosts' subnet the VIP lives in (24 or 64 by default).
        public var prefixLength: Int
        /// The interface to hold the VIP; nil means the one carrying the host's internal address.
        public var interface: String?

        public init(address: String, prefixLength: Int, interface: String? = nil) {
            self.address = address
            self.prefixLength = prefixLength
            self.interface = interface
        }
    }

    /// The address clients use: the VIP, the external address, the loopback address (`nodeLocal`:
    /// 127.0.0.1, or ::1 when the control-plane hosts use IPv6), or the control-plane host's internal address.
    public var address: String
    public var port: Int
    public var mode: Mode
    public var extraSANs: [String]

    public init(address: String, port: Int = 6443, mode: Mode, extraSANs: [String] = []) {
        self.address = address
        self.port = port
        self.mode = mode
        self.extraSANs = extraSANs
    }

    /// The virtual IP held on the control-plane hosts, for `haproxyKeepalived` and `kubeVip`.
    public var virtualIP: VirtualIP? {
        switch mode {
        case .haproxyKeepalived(let vip, _), .kubeVip(let vip): return vip
        case .direct, .external, .nodeLocal: return nil
        }
    }

    /// `https://address:port`, with IPv6 addresses bracketed.
    public var url: String {
        let host = address.contains(":") ? "[\(address)]" : address
        return "https://\(host):\(port)"
    }
}

/// When certificates are renewed.
public struct CertificateSettings: Sendable, Equatable {
    /// `apply` renews a certificate that ends within this many days; `cairn certs` exits 75 then.
    public var renewBeforeDays: Int

    public init(renewBeforeDays: Int = 90) {
        self.renewBeforeDays = renewBeforeDays
    }
}

/// How a Kubernetes upgrade takes nodes out of service.
public struct UpgradeSettings: Sendable, Equatable {
    /// Workers drained at once.
    public var maxUnavailable: Int
    /// A node label; with it, one batch never takes more than `maxUnavailablePerGroup` nodes that
    /// share its value (a zone, a tier), so a whole group never drains at once.
    public var groupLabel: String?
    public var maxUnavailablePerGroup: Int
    /// How long one node's drain may wait for evictions (PodDisruptionBudgets) before the run stops.
    public var drainTimeoutSeconds: Int

    public init(
        maxUnavailable: Int = 1, groupLabel: String? = nil, maxUnavailablePerGroup: Int = 1,
        drainTimeoutSeconds: Int = 300
    ) {
        self.maxUnavailable = maxUnavailable
        self.groupLabel = groupLabel
        self.maxUnavailablePerGroup = maxUnavailablePerGroup
        self.drainTimeoutSeconds = drainTimeoutSeconds
    }
}

public struct EtcdSettings: Sendable, Equatable {
    public var version: String
    public var dataDir: String
    public var allowSingleMember: Bool
    /// Milliseconds.
    public var heartbeatInterval: Int
    /// Milliseconds.
    public var electionTimeout: Int
    public var quotaBackendBytes: Int
    public var snapshotCount: Int
    /// Whether `apply` may remove etcd members whose host is no longer listed.
    public var removeMembersNotInInventory: Bool

    public init(
        version: String = SupportedVersions.etcd.defaultVersion, dataDir: String = "/var/lib/etcd",
        allowSingleMember: Bool = false, heartbeatInterval: Int = 250, electionTimeout: Int = 5000,
        quotaBackendBytes: Int = 2_147_483_648, snapshotCount: Int = 10000, removeMembersNotInInventory: Bool = false
    ) {
        self.version = version
        self.dataDir = dataDir
        self.allowSingleMember = allowSingleMember
        self.heartbeatInterval = heartbeatInterval
        self.electionTimeout = electionTimeout
        self.quotaBackendBytes = quotaBackendBytes
        self.snapshotCount = snapshotCount
        self.removeMembersNotInInventory = removeMembersNotInInventory
    }
}

public enum ArtifactSource: String, Sendable, CaseIterable, Hashable {
    case upstream
    case mirror
}

public struct Artifacts: Sendable, Equatable {
    public var source: ArtifactSource
    /// An absolute directory path, or a `file://`, `http://` or `https://` URL; set when `source` is `.mirror`.
    public var mirror: String?

    public init(source: ArtifactSource = .upstream, mirror: String? = nil) {
        self.source = source
        self.mirror = mirror
    }
}
