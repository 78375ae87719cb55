import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// The inventory of the run, for phases that need more than host names and roles.
public enum InventoryKey: RunValueKey {
    public typealias Value = Inventory
}

/// Cairn's built-in phases, built for one inventory.
public enum BuiltInPhases {
    public static func make(for inventory: Inventory) -> [String: any Phase] {
        let topology = Topology(inventory)
        let phases: [any Phase] =
            [
                HostChecksPhase(topology: topology),
                PrepareHostsPhase(settings: HostPreparation()),
                EtcdPKIPhase(topology: topology),
                EtcdInstallPhase(topology: topology),
                EtcdClusterPhase(topology: topology),
                EtcdClientCertificatesPhase(),
                NodePackagesPhase(topology: topology),
                APIEndpointPhase(topology: topology),
                KubernetesUpgradePhase(topology: topology),
                ControlPlaneInitPhase(topology: topology),
                ControlPlaneJoinPhase(topology: topology),
                WorkerJoinPhase(topology: topology),
                EtcdEndpointsPhase(topology: topology),
                CertificateRenewalPhase(topology: topology),
                KubeconfigPhase(topology: topology),
            ] + Addons.phases(topology)
        return Dictionary(uniqueKeysWithValues: phases.map { ($0.name, $0) })
    }

    /// Names only, for validating playbooks without an inventory.
    public static var names: Set<String> {
        Set(make(for: .placeholder).keys)
    }

    /// The default playbook shipped in the binary.
    public static var defaultPlaybook: (text: String, file: String) {
        (EmbeddedResources.files["playbooks/cluster.yaml"]! + "\n", "playbooks/cluster.yaml (built in)")
    }
}

extension Inventory {
    /// An empty inventory, for listing phase names.
    static var placeholder: Inventory {
        (try? InventoryLoader(environment: [:], fileSystem: .none, addons: Addons.settings)
            .load(
                text:
                    "hosts:\n  - {name: a, address: 10.0.0.1, roles: [control-plane, etcd, worker]}\netcd: {allowSingleMember: true}\n",
                sourceName: "placeholder", baseDirectory: "/"))!.inventory
    }
}
