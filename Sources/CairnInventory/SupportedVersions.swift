/// The versions Cairn knows how to install, and the default of each.
///
/// This table is data: the engine reads it to pick download URLs and manifests, the validator
/// rejects any version not listed, and docs/inventory.md is tested against it.
public enum SupportedVersions {
    public struct Component: Sendable, Equatable {
        /// The inventory field that selects it, e.g. `kubernetes.version`.
        public let field: String
        public let supported: [String]
        public let defaultVersion: String
        /// What the table is for when one field has several (`addons.ingress.version (traefik)`).
        public let variant: String?

        public init(field: String, supported: [String], defaultVersion: String, variant: String? = nil) {
            self.field = field
            self.supported = supported
            self.defaultVersion = defaultVersion
            self.variant = variant
        }

        public var label: String { field + (variant.map { " (\($0))" } ?? "") }

        public func isSupported(_ version: String) -> Bool { supported.contains(version) }
    }

    public static let kubernetes = Component(
        field: "kubernetes.version",
        supported: ["1.31.9", "1.32.4", "1.32.5", "1.33.1", "1.34.1"],
        defaultVersion: "1.32.4"
    )

    /// 3.4.23 is what Debian ships (the lab uses it).
    public static let etcd = Component(
        field: "etcd.version",
        supported: ["3.4.23", "3.5.17", "3.5.21", "3.6.4"],
        defaultVersion: "3.5.21"
    )

    /// Add-ons' versions are declared by their components (`Sources/CairnPhases/Addons/`).
    public static let all: [Component] = [kubernetes, etcd]

    /// The inventory format versions this build reads.
    public static let apiVersions = ["cairn.dev/v1alpha1"]
    public static let currentAPIVersion = "cairn.dev/v1alpha1"
}
