import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// `cairn reset`: takes off a host what Cairn put there — kubeadm's state, etcd's data and
/// unit, the balancer, containerd and the binaries, Cairn's sysctl and module files, CNI state —
/// so the host is as it was before `apply`. Ceph devices are wiped only when asked.
public struct ResetPhase: Phase {
    public let name = "reset"
    public let title = "Reset hosts"
    let inventory: Inventory
    let wipeCephDevices: Bool

    public init(inventory: Inventory, wipeCephDevices: Bool) {
        self.inventory = inventory
        self.wipeCephDevices = wipeCephDevices
    }

    public typealias Facts = NoFacts

    public func plan(facts: [EngineHost: NoFacts], context: PhaseContext) throws -> PhasePlan {
        let actions = context.hosts.map { host -> Action in
            let devices = wipeCephDevices ? (inventory.host(named: host.name)?.storageDevices ?? []) : []
            let summary =
                "reset \(host.name): kubeadm reset, stop and remove etcd, kubelet, containerd, the balancer; remove Cairn's files"
                + (devices.isEmpty ? "" : "; WIPE \(devices.joined(separator: ", "))")
            return .command(
                host: host.name, summary: summary,
                RemoteCommand.script(
                    .cairnReset,
                    arguments: [inventory.etcd.dataDir, String(inventory.kubernetes.apiEndpoint.port)] + devices),
                timeout: .seconds(300))
        }
        return PhasePlan(actions: actions)
    }
}
