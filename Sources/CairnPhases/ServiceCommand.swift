import CairnCore

/// systemd units as Cairn changes them (cairn-service.sh): each action reloads systemd first, so
/// a unit file written by the same phase is seen.
enum ServiceCommand {
    /// Enable (best effort) and start, waiting for the unit.
    static func start(_ unit: String) -> RemoteCommand { command("start", unit) }
    /// Enable without starting (the kubelet: kubeadm starts it with its configuration).
    static func enable(_ unit: String) -> RemoteCommand { command("enable", unit) }
    static func restart(_ unit: String) -> RemoteCommand { command("restart", unit) }
    static func enableAndRestart(_ unit: String) -> RemoteCommand { command("enable-restart", unit) }
    /// Start without waiting: a first etcd member does not report ready until it has quorum, so a
    /// blocking start would wait for members not started yet. Readiness is checked with etcdctl.
    static func startDetached(_ unit: String) -> RemoteCommand { command("start-detached", unit) }
    static func restartDetached(_ unit: String) -> RemoteCommand { command("restart-detached", unit) }

    private static func command(_ action: String, _ unit: String) -> RemoteCommand {
        .script(.cairnService, arguments: [action, unit])
    }
}
