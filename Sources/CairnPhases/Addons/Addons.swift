import CairnEngine
import CairnInventory

/// The registry of add-ons: the one list the phases, the inventory's `addons:` sections,
/// `cairn status`'s workload table and the add-on part of docs/phases.md come from. Adding an
/// add-on is adding its type here (docs/architecture.md walks through it).
public enum Addons {
    /// Every add-on, in the order the default playbook runs them.
    static let all: [any Addon.Type] = [Calico.self, CoreDNS.self, MetalLB.self, Ingress.self, RookCeph.self]

    /// Their inventory sections, for `InventoryLoader(addons:)`.
    public static let settings: [any AddonSettings.Type] = all.map { $0.settingsType }

    /// Every add-on as this inventory describes it.
    public static func instances(_ topology: Topology) -> [any Addon] {
        all.map { $0.make(topology) }
    }

    /// Their phases: one per add-on, and any phases of their own (Ceph's storage preflight).
    public static func phases(_ topology: Topology) -> [any Phase] {
        instances(topology).flatMap { addon in [phase(addon)] + addon.extraPhases }
    }

    private static func phase<A: Addon>(_ addon: A) -> any Phase { AddonPhase(addon) }

    /// The add-on table of docs/phases.md.
    public static func documentation() -> String {
        "| add-on phase | hosts | what it does | gate |\n|---|---|---|---|\n"
            + all.map { "| `\($0.name)` | first control plane | \($0.documentation.does) | \($0.documentation.gate) |\n" }.joined()
    }
}
