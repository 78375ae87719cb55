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

    public static let calico = Component(
        field: "addons.calico.version",
        supported: ["3.30.2", "3.31.0"],
        defaultVersion: "3.31.0"
    )

    public static let metallb = Component(
        field: "addons.metallb.version",
        supported: ["0.15.2", "0.16.1"],
        defaultVersion: "0.16.1"
    )

    public static let traefik = Component(
        field: "addons.ingress.version",
        supported: ["3.5.0"],
        defaultVersion: "3.5.0"
    )

    /// Retired upstream in March 2026: allowed, with a warning.
    public static let ingressNginx = Component(
        field: "addons.ingress.version",
        supported: ["1.13.3"],
        defaultVersion: "1.13.3"
    )

    public static let rook = Component(
        field: "addons.rookCeph.version",
        supported: ["1.20.6"],
        defaultVersion: "1.20.6"
    )

    public static let cephImage = Component(
        field: "addons.rookCeph.cephImage",
        supported: ["quay.io/ceph/ceph:v20.2.4"],
        defaultVersion: "quay.io/ceph/ceph:v20.2.4"
    )

    public static let all: [Component] = [kubernetes, etcd, calico, metallb, traefik, ingressNginx, rook, cephImage]

    /// The table for an ingress controller.
    public static func ingress(_ controller: IngressController) -> Component {
        switch controller {
        case .traefik: return traefik
        case .ingressNginx: return ingressNginx
        }
    }

    /// The inventory format versions this build reads.
    public static let apiVersions = ["cairn.dev/v1alpha1"]
    public static let currentAPIVersion = "cairn.dev/v1alpha1"
}
