/// The server flags each etcd minor accepts, as data (etcd reads `ETCD_FLAG_NAME` from the
/// environment for `--flag-name`, which is how Cairn configures it: /etc/etcd.env). Written from
/// etcd's sources: `server/etcdmain/help.go`, `server/etcdmain/config.go` and
/// `server/embed/config.go` of each release line, and its upgrade guides (upgrade_3_6: every
/// `--experimental-*` flag renamed or turned into a feature gate; upgrade_3_7: those removed,
/// with v2 discovery). The unit tests render /etc/etcd.env for every version Cairn installs and
/// check each variable against this table, so a flag etcd does not know never reaches a host.
/// Provenance (the files and commits read, and what is uncertain): docs/sources/etcd-flags.json.
enum EtcdFlags {
    /// Flag names (without `--`) by minor.
    static let flags: [String: Set<String>] = [
        "3.5": [
            "advertise-client-urls", "auth-token", "auth-token-ttl", "auto-compaction-mode",
            "auto-compaction-retention", "auto-tls", "backend-batch-interval", "backend-batch-limit",
            "backend-bbolt-freelist-type", "bcrypt-cost", "cert-file", "cipher-suites",
            "client-cert-allowed-hostname", "client-cert-auth", "client-cert-file", "client-crl-file",
            "client-key-file", "config-file", "cors", "data-dir", "discovery", "discovery-fallback",
            "discovery-proxy", "discovery-srv", "discovery-srv-name", "election-timeout", "enable-grpc-gateway",
            "enable-log-rotation", "enable-pprof", "enable-v2", "experimental-bootstrap-defrag-threshold-megabytes",
            "experimental-compact-hash-check-enabled", "experimental-compact-hash-check-time",
            "experimental-compaction-batch-limit", "experimental-compaction-sleep-interval",
            "experimental-corrupt-check-time", "experimental-distributed-tracing-address",
            "experimental-distributed-tracing-instance-id", "experimental-distributed-tracing-sampling-rate",
            "experimental-distributed-tracing-service-name", "experimental-downgrade-check-time",
            "experimental-enable-distributed-tracing", "experimental-enable-lease-checkpoint",
            "experimental-enable-lease-checkpoint-persist", "experimental-enable-v2v3",
            "experimental-initial-corrupt-check", "experimental-memory-mlock",
            "experimental-peer-skip-client-san-verification", "experimental-snapshot-catchup-entries",
            "experimental-stop-grpc-service-on-defrag", "experimental-txn-mode-write-with-shared-buffer",
            "experimental-warning-apply-duration", "experimental-watch-progress-notify-interval",
            "force-new-cluster", "grpc-keepalive-interval", "grpc-keepalive-min-time", "grpc-keepalive-timeout",
            "heartbeat-interval", "host-whitelist", "initial-advertise-peer-urls", "initial-cluster",
            "initial-cluster-state", "initial-cluster-token", "initial-election-tick-advance", "key-file",
            "listen-client-http-urls", "listen-client-urls", "listen-metrics-urls", "listen-peer-urls", "log-level",
            "log-outputs", "log-rotation-config-json", "logger", "max-concurrent-streams", "max-request-bytes",
            "max-snapshots", "max-txn-ops", "max-wals", "metrics", "name", "peer-auto-tls", "peer-cert-allowed-cn",
            "peer-cert-allowed-hostname", "peer-cert-file", "peer-client-cert-auth", "peer-client-cert-file",
            "peer-client-key-file", "peer-crl-file", "peer-key-file", "peer-trusted-ca-file", "pre-vote", "proxy",
            "proxy-dial-timeout", "proxy-failure-wait", "proxy-read-timeout", "proxy-refresh-interval",
            "proxy-write-timeout", "quota-backend-bytes", "raft-read-timeout", "raft-write-timeout",
            "self-signed-cert-validity", "snapshot-count", "socket-reuse-address", "socket-reuse-port",
            "strict-reconfig-check", "tls-max-version", "tls-min-version", "trusted-ca-file", "unsafe-no-fsync",
            "v2-deprecation", "version", "wal-dir",
        ],
        "3.6": [
            "advertise-client-urls", "auth-token", "auth-token-ttl", "auto-compaction-mode",
            "auto-compaction-retention", "auto-tls", "backend-batch-interval", "backend-batch-limit",
            "backend-bbolt-freelist-type", "bcrypt-cost", "bootstrap-defrag-threshold-megabytes", "cert-file",
            "cipher-suites", "client-cert-allowed-hostname", "client-cert-auth", "client-cert-file",
            "client-crl-file", "client-key-file", "compact-hash-check-time", "compaction-batch-limit",
            "compaction-sleep-interval", "config-file", "corrupt-check-time", "cors", "data-dir", "discovery",
            "discovery-cacert", "discovery-cert", "discovery-dial-timeout", "discovery-endpoints",
            "discovery-fallback", "discovery-insecure-skip-tls-verify", "discovery-insecure-transport",
            "discovery-keepalive-time", "discovery-keepalive-timeout", "discovery-key", "discovery-password",
            "discovery-proxy", "discovery-request-timeout", "discovery-srv", "discovery-srv-name", "discovery-token",
            "discovery-user", "distributed-tracing-address", "distributed-tracing-instance-id",
            "distributed-tracing-sampling-rate", "distributed-tracing-service-name", "downgrade-check-time",
            "election-timeout", "enable-distributed-tracing", "enable-grpc-gateway", "enable-log-rotation",
            "enable-pprof", "experimental-bootstrap-defrag-threshold-megabytes",
            "experimental-compact-hash-check-enabled", "experimental-compact-hash-check-time",
            "experimental-compaction-batch-limit", "experimental-compaction-sleep-interval",
            "experimental-corrupt-check-time", "experimental-distributed-tracing-address",
            "experimental-distributed-tracing-instance-id", "experimental-distributed-tracing-sampling-rate",
            "experimental-distributed-tracing-service-name", "experimental-downgrade-check-time",
            "experimental-enable-distributed-tracing", "experimental-enable-lease-checkpoint",
            "experimental-enable-lease-checkpoint-persist", "experimental-initial-corrupt-check",
            "experimental-memory-mlock", "experimental-peer-skip-client-san-verification",
            "experimental-snapshot-catchup-entries", "experimental-stop-grpc-service-on-defrag",
            "experimental-txn-mode-write-with-shared-buffer", "experimental-warning-apply-duration",
            "experimental-warning-unary-request-duration", "experimental-watch-progress-notify-interval",
            "feature-gates", "force-new-cluster", "grpc-keepalive-interval", "grpc-keepalive-min-time",
            "grpc-keepalive-timeout", "heartbeat-interval", "host-whitelist", "initial-advertise-peer-urls",
            "initial-cluster", "initial-cluster-state", "initial-cluster-token", "initial-election-tick-advance",
            "key-file", "listen-client-http-urls", "listen-client-urls", "listen-metrics-urls", "listen-peer-urls",
            "log-format", "log-level", "log-outputs", "log-rotation-config-json", "logger", "max-concurrent-streams",
            "max-learners", "max-request-bytes", "max-snapshots", "max-txn-ops", "max-wals", "memory-mlock",
            "metrics", "name", "peer-auto-tls", "peer-cert-allowed-cn", "peer-cert-allowed-hostname",
            "peer-cert-file", "peer-client-cert-auth", "peer-client-cert-file", "peer-client-key-file",
            "peer-crl-file", "peer-key-file", "peer-skip-client-san-verification", "peer-trusted-ca-file",
            "pre-vote", "quota-backend-bytes", "raft-read-timeout", "raft-write-timeout",
            "self-signed-cert-validity", "snapshot-catchup-entries", "snapshot-count", "socket-reuse-address",
            "socket-reuse-port", "strict-reconfig-check", "tls-max-version", "tls-min-version", "trusted-ca-file",
            "unsafe-no-fsync", "v2-deprecation", "version", "wal-dir", "warning-apply-duration",
            "warning-unary-request-duration", "watch-progress-notify-interval",
        ],
        "3.7": [
            "advertise-client-urls", "auth-token", "auth-token-ttl", "auto-compaction-mode",
            "auto-compaction-retention", "auto-tls", "backend-batch-interval", "backend-batch-limit",
            "backend-bbolt-freelist-type", "bcrypt-cost", "bootstrap-defrag-threshold-megabytes", "cert-file",
            "cipher-suites", "client-cert-allowed-hostname", "client-cert-auth", "client-cert-file",
            "client-crl-file", "client-key-file", "compact-hash-check-time", "compaction-batch-limit",
            "compaction-sleep-interval", "config-file", "corrupt-check-time", "cors", "data-dir", "discovery-cacert",
            "discovery-cert", "discovery-dial-timeout", "discovery-endpoints", "discovery-fallback",
            "discovery-insecure-skip-tls-verify", "discovery-insecure-transport", "discovery-keepalive-time",
            "discovery-keepalive-timeout", "discovery-key", "discovery-password", "discovery-request-timeout",
            "discovery-srv", "discovery-srv-name", "discovery-token", "discovery-user",
            "distributed-tracing-address", "distributed-tracing-instance-id", "distributed-tracing-sampling-rate",
            "distributed-tracing-service-name", "downgrade-check-time", "election-timeout",
            "enable-distributed-tracing", "enable-grpc-gateway", "enable-log-rotation", "enable-pprof",
            "feature-gates", "force-new-cluster", "grpc-keepalive-interval", "grpc-keepalive-min-time",
            "grpc-keepalive-timeout", "heartbeat-interval", "host-whitelist", "initial-advertise-peer-urls",
            "initial-cluster", "initial-cluster-state", "initial-cluster-token", "initial-election-tick-advance",
            "key-file", "listen-client-http-urls", "listen-client-urls", "listen-metrics-urls", "listen-peer-urls",
            "log-format", "log-level", "log-outputs", "log-rotation-config-json", "logger", "max-concurrent-streams",
            "max-learners", "max-request-bytes", "max-snapshots", "max-txn-ops", "max-wals", "memory-mlock",
            "metrics", "name", "peer-auto-tls", "peer-cert-allowed-cn", "peer-cert-allowed-hostname",
            "peer-cert-file", "peer-client-cert-auth", "peer-client-cert-file", "peer-client-key-file",
            "peer-crl-file", "peer-key-file", "peer-skip-client-san-verification", "peer-trusted-ca-file",
            "pre-vote", "quota-backend-bytes", "raft-read-timeout", "raft-write-timeout",
            "self-signed-cert-validity", "snapshot-catchup-entries", "snapshot-count", "socket-reuse-address",
            "socket-reuse-port", "strict-reconfig-check", "tls-max-version", "tls-min-version", "trusted-ca-file",
            "unsafe-no-fsync", "v2-deprecation", "version", "wal-dir", "warning-apply-duration",
            "warning-unary-request-duration", "watch-progress-notify-interval",
        ],
    ]

    /// Feature gates (`--feature-gates=Name=true`) by minor; 3.5 has none.
    static let featureGates: [String: Set<String>] = [
        "3.5": [],
        "3.6": [
            "CompactHashCheck", "InitialCorruptCheck", "LeaseCheckpoint", "LeaseCheckpointPersist",
            "SetMemberLocalAddr", "StopGRPCServiceOnDefrag", "TxnModeWriteWithSharedBuffer",
        ],
        "3.7": [
            "CompactHashCheck", "FastLeaseKeepAlive", "InitialCorruptCheck", "LeaseCheckpoint",
            "LeaseCheckpointPersist", "SetMemberLocalAddr", "StopGRPCServiceOnDefrag", "TxnModeWriteWithSharedBuffer",
        ],
    ]

    /// Whether `ETCD_NAME=value` is a setting etcd `version` knows (with its feature gates valid).
    static func accepts(_ variable: String, value: String, version: String) -> Bool {
        let minor = version.split(separator: ".").prefix(2).joined(separator: ".")
        guard variable.hasPrefix("ETCD_"), let known = flags[minor] else { return false }
        let flag = variable.dropFirst("ETCD_".count).lowercased().replacingOccurrences(of: "_", with: "-")
        guard known.contains(flag) else { return false }
        if flag == "feature-gates" {
            let gates = featureGates[minor] ?? []
            return value.split(separator: ",").allSatisfy { gates.contains(String($0.split(separator: "=")[0])) }
        }
        return true
    }
}
