import CairnCore
import CairnInventory
import Foundation

/// Where etcd lives on a host, and the files Cairn renders for it (kubespray's host layout).
public enum EtcdLayout {
    public static let pkiDirectory = "/etc/etcd/pki"
    public static let caCertificate = "/etc/etcd/pki/ca.crt"
    public static let memberCertificate = "/etc/etcd/pki/member.crt"
    public static let memberKey = "/etc/etcd/pki/member.key"
    /// Cairn's own client certificate, for etcdctl on the etcd hosts.
    public static let adminCertificate = "/etc/etcd/pki/admin.crt"
    public static let adminKey = "/etc/etcd/pki/admin.key"
    public static let environmentFile = "/etc/etcd.env"
    public static let unitFile = "/etc/systemd/system/etcd.service"
    public static let binary = "/usr/local/bin/etcd"
    public static let etcdctl = "/usr/local/bin/etcdctl"
    /// Left by `etcd-install` when certificates or binaries changed under a running member;
    /// `etcd-cluster` restarts that member (one at a time) and removes it. Survives a killed run.
    public static let restartMarker = "/var/lib/cairn/etcd-restart-needed"
    public static let cacheDirectory = "/var/cache/cairn"
    public static let backupDirectory = "/var/lib/cairn/backup"

    /// kubeadm's external-etcd layout on control-plane hosts.
    public static let kubeadmCA = "/etc/kubernetes/pki/etcd/ca.crt"
    public static let apiserverClientCertificate = "/etc/kubernetes/pki/apiserver-etcd-client.crt"
    public static let apiserverClientKey = "/etc/kubernetes/pki/apiserver-etcd-client.key"

    public static func clientURL(_ address: String) -> String { "https://\(bracketed(address)):2379" }
    public static func peerURL(_ address: String) -> String { "https://\(bracketed(address)):2380" }

    static func bracketed(_ address: String) -> String { address.contains(":") ? "[\(address)]" : address }

    /// The `etcdctl` argv prefix using Cairn's admin certificate.
    public static func etcdctl(endpoints: [String], commandTimeout: Int = 5) -> [String] {
        [
            etcdctl, "--endpoints=" + endpoints.joined(separator: ","), "--cacert=" + caCertificate,
            "--cert=" + adminCertificate, "--key=" + adminKey, "--dial-timeout=3s",
            "--command-timeout=\(commandTimeout)s",
        ]
    }
}

/// One etcd member as the inventory describes it.
public struct EtcdMemberSpec: Sendable, Equatable, Hashable {
    public let name: String
    public let internalAddress: String
    public let sshAddress: String

    public var peerURL: String { EtcdLayout.peerURL(internalAddress) }
    public var clientURL: String { EtcdLayout.clientURL(internalAddress) }

    public init(host: Host) {
        name = host.name
        internalAddress = host.internalAddress
        sshAddress = host.address
    }

    public init(name: String, internalAddress: String, sshAddress: String? = nil) {
        self.name = name
        self.internalAddress = internalAddress
        self.sshAddress = sshAddress ?? internalAddress
    }
}

/// The rendered `/etc/etcd.env` and unit file.
public enum EtcdConfigFiles {
    public enum ClusterState: String, Sendable {
        case new
        case existing
    }

    public static func initialCluster(_ members: [EtcdMemberSpec]) -> String {
        members.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ",")
    }

    public static func environment(
        member: EtcdMemberSpec, settings: EtcdSettings, initialCluster: String,
        state: ClusterState, token: String
    ) -> String {
        let lines =
            [
                "# Managed by cairn. etcd reads it through " + EtcdLayout.unitFile + ".",
                "ETCD_NAME=\(member.name)",
                "ETCD_DATA_DIR=\(settings.dataDir)",
                "ETCD_LISTEN_CLIENT_URLS=\(member.clientURL),https://127.0.0.1:2379",
                "ETCD_ADVERTISE_CLIENT_URLS=\(member.clientURL)",
                "ETCD_LISTEN_PEER_URLS=\(member.peerURL)",
                "ETCD_INITIAL_ADVERTISE_PEER_URLS=\(member.peerURL)",
                "ETCD_INITIAL_CLUSTER=\(initialCluster)",
                "ETCD_INITIAL_CLUSTER_STATE=\(state.rawValue)",
                "ETCD_INITIAL_CLUSTER_TOKEN=\(token)",
                "ETCD_CERT_FILE=\(EtcdLayout.memberCertificate)",
                "ETCD_KEY_FILE=\(EtcdLayout.memberKey)",
                "ETCD_TRUSTED_CA_FILE=\(EtcdLayout.caCertificate)",
                "ETCD_CLIENT_CERT_AUTH=true",
                "ETCD_PEER_CERT_FILE=\(EtcdLayout.memberCertificate)",
                "ETCD_PEER_KEY_FILE=\(EtcdLayout.memberKey)",
                "ETCD_PEER_TRUSTED_CA_FILE=\(EtcdLayout.caCertificate)",
                "ETCD_PEER_CLIENT_CERT_AUTH=true",
                "ETCD_HEARTBEAT_INTERVAL=\(settings.heartbeatInterval)",
                "ETCD_ELECTION_TIMEOUT=\(settings.electionTimeout)",
                "ETCD_QUOTA_BACKEND_BYTES=\(settings.quotaBackendBytes)",
                "ETCD_SNAPSHOT_COUNT=\(settings.snapshotCount)",
                "ETCD_AUTO_COMPACTION_RETENTION=8",
            ] + corruptionChecks(version: settings.version)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Data-corruption checks at start-up and between members: feature gates from 3.6 on, the
    /// `--experimental-*` flags before (3.5, only as a step of an upgrade; 3.7 removed them).
    static func corruptionChecks(version: String) -> [String] {
        if version.hasPrefix("3.5.") {
            return [
                "ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true", "ETCD_EXPERIMENTAL_COMPACT_HASH_CHECK_ENABLED=true",
            ]
        }
        return ["ETCD_FEATURE_GATES=CompactHashCheck=true,InitialCorruptCheck=true"]
    }

    /// Parses KEY=value lines (comments ignored).
    public static func parse(_ text: String?) -> [String: String] {
        guard let text else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    /// A human summary of what changes between two environment files: "ETCD_INITIAL_CLUSTER_STATE new→existing".
    public static func describeChange(from old: String?, to new: String) -> String? {
        guard let old else { return nil }
        let before = parse(old)
        let after = parse(new)
        let keys = Set(before.keys).union(after.keys).sorted()
        let changes = keys.compactMap { key -> String? in
            let a = before[key]
            let b = after[key]
            guard a != b else { return nil }
            if key == "ETCD_INITIAL_CLUSTER" {
                return "\(key) (\(a?.split(separator: ",").count ?? 0)→\(b?.split(separator: ",").count ?? 0) members)"
            }
            return "\(key) \(a ?? "unset")→\(b ?? "unset")"
        }
        return changes.isEmpty ? nil : changes.joined(separator: ", ")
    }

    public static let unit = """
        # Managed by cairn.
        [Unit]
        Description=etcd key-value store (managed by cairn)
        Documentation=https://etcd.io/docs/
        After=network-online.target
        Wants=network-online.target

        [Service]
        Type=notify
        EnvironmentFile=\(EtcdLayout.environmentFile)
        ExecStart=\(EtcdLayout.binary)
        Restart=always
        RestartSec=5
        LimitNOFILE=65536
        TimeoutStartSec=0

        [Install]
        WantedBy=multi-user.target

        """
}
