import CairnInventory

/// Foundation has a `Host` too; in this module, Host is the inventory's.
public typealias Host = CairnInventory.Host
