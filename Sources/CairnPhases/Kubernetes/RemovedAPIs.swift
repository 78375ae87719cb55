import CairnInventory
import Foundation

/// APIs a Kubernetes release no longer serves although the release before it did, derived from
/// the releases' OpenAPI definitions (docs/sources/removed-apis.json says how; a unit test keeps
/// this table and that file equal, and a Python test keeps the file equal to the schemas).
public enum RemovedAPIs {
    public struct Entry: Sendable, Equatable, Codable {
        public let groupVersion: String
        public let kind: String
        /// The plural resource name kubectl takes.
        public let resource: String

        /// `resource.version.group`, which names exactly this version to kubectl.
        public var qualifiedResource: String {
            let parts = groupVersion.split(separator: "/").map(String.init)
            return parts.count == 2 ? "\(resource).\(parts[1]).\(parts[0])" : resource
        }
    }

    static func entry(_ groupVersion: String, _ kind: String, _ resource: String) -> Entry {
        Entry(groupVersion: groupVersion, kind: kind, resource: resource)
    }

    /// Minor ("1.37") → what it removed.
    public static let byMinor: [String: [Entry]] = [
        "1.36": [entry("scheduling.k8s.io/v1alpha1", "Workload", "workloads")],
        "1.37": [
            entry("certificates.k8s.io/v1alpha1", "ClusterTrustBundle", "clustertrustbundles"),
            entry("networking.k8s.io/v1beta1", "IPAddress", "ipaddresses"),
            entry("networking.k8s.io/v1beta1", "ServiceCIDR", "servicecidrs"),
            entry("scheduling.k8s.io/v1alpha2", "PodGroup", "podgroups"),
            entry("scheduling.k8s.io/v1alpha2", "Workload", "workloads"),
            entry("storage.k8s.io/v1beta1", "VolumeAttributesClass", "volumeattributesclasses"),
        ],
    ]

    /// What an upgrade to `target` loses (kubeadm goes one minor at a time: one release's list).
    public static func removed(upgradingTo target: String) -> [Entry] {
        byMinor[SupportedVersions.minor(of: target.hasPrefix("v") ? String(target.dropFirst()) : target)] ?? []
    }
}
