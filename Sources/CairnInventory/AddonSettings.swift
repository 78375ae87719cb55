import Foundation
import Yams

/// An add-on's section of the inventory, `addons.KEY`, defined by the add-on itself (each
/// component in CairnPhases declares its settings next to its manifests and gate) and handed to
/// `InventoryLoader`. The loader reads every registered section with the same strictness as the
/// rest of the file: unknown fields with did-you-mean, positions, types.
public protocol AddonSettings: Sendable, Equatable {
    /// The key under `addons:`.
    static var key: String { get }
    /// One line for the `addons` table of docs/inventory.md.
    static var summary: String { get }
    /// The section's fields (`addons.KEY` first, then nested sections such as list items).
    static var sections: [InventorySchema.Section] { get }
    /// The version tables of what it installs (docs/inventory.md's supported versions).
    static var versions: [SupportedVersions.Component] { get }

    /// The settings when the inventory does not write the section.
    init(defaultsFor cluster: ClusterShape)
    /// Reads the written section over the defaults; problems are reported through `section`.
    mutating func read(_ section: SettingsSection, cluster: ClusterShape)
    /// Rules across the whole inventory, once everything is read and before any host is touched.
    /// May adjust the settings (a count clamped to what the hosts allow, with a warning).
    mutating func validate(in inventory: Inventory, _ report: ValidationReport)
}

extension AddonSettings {
    public static var versions: [SupportedVersions.Component] { [] }
    public mutating func validate(in inventory: Inventory, _ report: ValidationReport) {}
}

/// What an add-on may know about the cluster while reading its section.
public struct ClusterShape: Sendable {
    public let hosts: [Host]
    public let kubernetes: KubernetesSettings

    /// Nodes that take ordinary workloads (workers, or control-plane hosts when there are none).
    public var schedulableCount: Int { Inventory.schedulableHosts(among: hosts).count }
    public var hasStorageDevices: Bool { hosts.contains { !$0.storageDevices.isEmpty } }
}

/// Every registered add-on's settings, by type.
public struct AddonSettingsSet: Sendable, Equatable {
    private var values: [String: any AddonSettings] = [:]

    public init() {}

    /// The settings of an add-on; every registered add-on has them (its defaults when not written).
    public subscript<Settings: AddonSettings>(_ type: Settings.Type) -> Settings {
        get {
            guard let value = values[Settings.key] as? Settings else {
                preconditionFailure("add-on settings \(Settings.key) are not registered with the inventory loader")
            }
            return value
        }
        set { values[Settings.key] = newValue }
    }

    public var keys: [String] { values.keys.sorted() }

    mutating func set(_ value: any AddonSettings) { values[type(of: value).key] = value }
    func value(_ key: String) -> (any AddonSettings)? { values[key] }

    public static func == (lhs: AddonSettingsSet, rhs: AddonSettingsSet) -> Bool {
        guard lhs.keys == rhs.keys else { return false }
        return lhs.values.allSatisfy { key, value in rhs.values[key].map { value.isEqual(to: $0) } ?? false }
    }
}

extension AddonSettings {
    func isEqual(to other: any AddonSettings) -> Bool {
        guard let other = other as? Self else { return false }
        return self == other
    }
}

/// A written section of the inventory as an add-on reads it. Each accessor reports a wrong type or
/// a value out of range at the value's position and returns nil, so the add-on keeps its default.
public struct SettingsSection {
    let reader: MappingReader

    /// Where the section is, e.g. `addons.metallb`.
    public var path: String { reader.path }
    public func fieldPath(_ key: String) -> String { reader.fieldPath(key) }
    public func has(_ key: String) -> Bool { reader.has(key) }
    public func string(_ key: String) -> String? { reader.string(key) }
    public func int(_ key: String, in range: ClosedRange<Int>? = nil) -> Int? { reader.int(key, in: range) }
    public func bool(_ key: String) -> Bool? { reader.bool(key) }

    public func enumeration<E: RawRepresentable & CaseIterable>(
        _ key: String, _ type: E.Type, noun: String,
        aliases: [String: String] = [:]
    ) -> E? where E.RawValue == String {
        reader.enumeration(key, type, noun: noun, aliases: aliases)
    }

    /// A version from `table` (a leading `v` is accepted); an unsupported one is an error naming
    /// the supported versions, and the default is kept.
    public func version(_ key: String, _ table: SupportedVersions.Component) -> String? {
        guard has(key) else { return nil }
        return InventoryDecoder.version(reader, key, table)
    }

    /// The mappings of a list, each read against `section`.
    public func mappings(_ key: String, section: InventorySchema.Section) -> [SettingsSection] {
        (reader.list(key) ?? []).compactMap { item in
            MappingReader(item.node, path: item.path, section: section, context: reader.context).map(
                SettingsSection.init)
        }
    }

    /// The strings of a list, each with its own path for errors.
    public func strings(_ key: String) -> [SettingsValue]? {
        reader.stringList(key)?.map {
            SettingsValue(path: $0.path, value: $0.value, node: $0.node, context: reader.context)
        }
    }

    /// An error at `key`'s value (or, when it is absent, at the section).
    public func error(_ key: String, _ message: String, hint: String? = nil) {
        if let node = reader.values[key] {
            reader.context.error(fieldPath(key), node: node, message, hint: hint)
        } else {
            reader.context.error(fieldPath(key), at: SourcePosition(reader.node.mark), message, hint: hint)
        }
    }

    public func warning(_ key: String, _ message: String, hint: String? = nil) {
        reader.context.warning(fieldPath(key), message, hint: hint)
    }
}

/// One string of a list in the inventory, with its position for errors.
public struct SettingsValue {
    public let path: String
    public let value: String
    let node: Node
    let context: DecodeContext

    public func error(_ message: String, hint: String? = nil) {
        context.error(path, node: node, message, hint: hint)
    }
}

/// Where add-ons report what they find wrong across the whole inventory.
public struct ValidationReport {
    let context: DecodeContext

    public func error(_ path: String, _ message: String, hint: String? = nil) {
        context.error(path, message, hint: hint)
    }

    public func warning(_ path: String, _ message: String, hint: String? = nil) {
        context.warning(path, message, hint: hint)
    }

    /// Whether the inventory wrote `path` (else the value is a default, and an error about it
    /// belongs to the field that caused it).
    public func isWritten(_ path: String) -> Bool { context.positions[path] != nil }
}
