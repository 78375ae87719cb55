/// The versions Cairn installs, what it refuses and why. Facts and their sources:
/// `shared/reference/versions.md` (gathered 2026-11-30 from upstream release pages and changelogs).
///
/// This table is data: the phases read it to pick download URLs, the validator refuses any
/// version not offered (an end-of-life one with the date it ended), and docs/inventory.md is
/// generated from it. Add-ons declare their own tables (`Sources/CairnPhases/Addons/`).
public enum SupportedVersions {
    public struct Component: Sendable, Equatable {
        /// The inventory field that selects it, e.g. `kubernetes.version`.
        public let field: String
        public let supported: [String]
        public let defaultVersion: String
        /// What the table is for when one field has several (`addons.ingress.version (traefik)`).
        public let variant: String?
        /// Minors ("1.34") Cairn refuses, and why (end of life and when).
        public let retired: [String: String]

        public init(
            field: String, supported: [String], defaultVersion: String, variant: String? = nil,
            retired: [String: String] = [:]
        ) {
            self.field = field
            self.supported = supported
            self.defaultVersion = defaultVersion
            self.variant = variant
            self.retired = retired
        }

        public var label: String { field + (variant.map { " (\($0))" } ?? "") }

        public func isSupported(_ version: String) -> Bool { supported.contains(version) }

        /// What a written version means: itself, the newest patch of a minor written alone
        /// ("1.36"), or a refusal with its reason.
        public func resolve(_ written: String) -> Resolution {
            let version = written.hasPrefix("v") ? String(written.dropFirst()) : written
            if supported.contains(version) { return .supported(version) }
            let minor = SupportedVersions.minor(of: version)
            if minor == version, let newest = supported.filter({ SupportedVersions.minor(of: $0) == minor }).last {
                return .newestPatch(newest)
            }
            if let reason = retired[minor] { return .retired(reason) }
            return .unknown
        }
    }

    public enum Resolution: Sendable, Equatable {
        case supported(String)
        /// A minor alone: its newest patch Cairn knows.
        case newestPatch(String)
        case retired(String)
        case unknown
    }

    /// "1.36.4" → "1.36" (a minor alone stays as it is).
    public static func minor(of version: String) -> String {
        version.split(separator: ".").prefix(2).joined(separator: ".")
    }

    /// The minor number of a Kubernetes version ("1.36.4" → 36; 0 when unreadable).
    public static func kubernetesMinor(_ version: String) -> Int {
        Int(version.split(separator: ".").dropFirst().first ?? "") ?? 0
    }

    /// Upstream supports the three newest minors; the default is the middle one.
    public static let kubernetes = Component(
        field: "kubernetes.version",
        supported: ["1.35.9", "1.36.4", "1.37.1"],
        defaultVersion: "1.36.4",
        retired: [
            "1.34": "Kubernetes 1.34 reached end of life on 2026-10-27",
            "1.33": "Kubernetes 1.33 reached end of life on 2026-06-28",
            "1.32": "Kubernetes 1.32 reached end of life on 2026-02-28",
            "1.31": "Kubernetes 1.31 reached end of life on 2025-11-11",
            "1.30": "Kubernetes 1.30 reached end of life on 2025-06-28",
            "1.29": "Kubernetes 1.29 reached end of life on 2025-02-28",
        ]
    )

    /// etcd supports its two newest minors. 3.5.33 exists only as a step of an upgrade to 3.6
    /// (every member must run ≥ 3.5.26 first); it cannot be chosen.
    public static let etcd = Component(
        field: "etcd.version",
        supported: ["3.6.14", "3.7.2"],
        defaultVersion: "3.6.14",
        retired: [
            "3.5":
                "etcd 3.5 is outside etcd's support policy (the two newest minors); Cairn uses 3.5.33 only as a step of an upgrade to 3.6",
            "3.4":
                "etcd 3.4 reached end of life (its last release, 3.4.45, was on 2026-06-01), and kubeadm refuses it as external etcd",
            "3.3": "etcd 3.3 reached end of life long ago",
        ]
    )

    /// The etcd Cairn installs when the inventory names none: 3.7 with Kubernetes 1.37 (what its
    /// kubeadm was released with), 3.6 otherwise.
    public static func defaultEtcd(forKubernetes version: String) -> String {
        kubernetesMinor(version) >= 37 ? "3.7.2" : "3.6.14"
    }

    /// The oldest external etcd each kubeadm accepts (its ExternalEtcdVersion preflight,
    /// `MinExternalEtcdVersion` in cmd/kubeadm/app/constants: "3.5.24-0" since the release that
    /// defaulted to etcd 3.6.8; assumed unchanged for 1.36/1.37, which raise no floor in their
    /// changelogs).
    public static func minimumExternalEtcd(forKubernetes version: String) -> String { "3.5.24" }

    /// Orders dotted versions numerically ("3.5.9" < "3.5.24"); a leading "v" and a "-suffix"
    /// are ignored.
    public static func isOlder(_ version: String, than other: String) -> Bool {
        func parts(_ text: String) -> [Int] {
            let bare = text.hasPrefix("v") ? text.dropFirst() : Substring(text)
            return bare.split(separator: "-").first.map { $0.split(separator: ".").map { Int($0) ?? 0 } } ?? []
        }
        let (left, right) = (parts(version), parts(other))
        for index in 0..<max(left.count, right.count) {
            let (a, b) = (index < left.count ? left[index] : 0, index < right.count ? right[index] : 0)
            if a != b { return a < b }
        }
        return false
    }

    /// An intermediate etcd version an upgrade passes through.
    public static let etcdUpgradeStep = "3.5.33"

    /// The oldest patch of the previous minor that etcd upgrades from, per target minor: etcd
    /// 3.6 needs every member on ≥ 3.5.26 first, 3.7 needs ≥ 3.6.11 (the etcd upgrade guides).
    public static let etcdUpgradeFloor = ["3.6": "3.5.26", "3.7": "3.6.11"]

    /// Why etcd cannot go from `from` to `to` in one rolling upgrade, and the version to set
    /// instead (nil when it can).
    public static func etcdUpgradeRefusal(from: String, to: String) -> (reason: String, next: String)? {
        func minorNumber(_ version: String) -> Int { Int(version.split(separator: ".").dropFirst().first ?? "") ?? 0 }
        let (fromMinor, toMinor) = (minorNumber(from), minorNumber(to))
        if isOlder(to, than: from) {
            return ("etcd does not downgrade a member (\(from) → \(to))", from)
        }
        let newestOf = { (minor: Int) -> String? in
            (etcd.supported + [etcdUpgradeStep]).filter { minorNumber($0) == minor }
                .max { isOlder($0, than: $1) }
        }
        if toMinor > fromMinor + 1 {
            let next = newestOf(fromMinor + 1) ?? "3.\(fromMinor + 1)"
            return ("etcd upgrades one minor at a time (\(from) → \(to) skips 3.\(fromMinor + 1))", next)
        }
        if toMinor == fromMinor + 1, let floor = etcdUpgradeFloor[minor(of: to)], isOlder(from, than: floor) {
            let next = newestOf(fromMinor).flatMap { isOlder($0, than: floor) ? nil : $0 } ?? floor
            return ("etcd \(minor(of: to)) upgrades only from \(floor) or newer, and a member runs \(from)", next)
        }
        return nil
    }

    /// What is installed with Kubernetes and not chosen in the inventory.
    public static let containerd = "2.3.4"
    public static let runc = "1.4.3"
    public static let cniPlugins = "1.9.1"

    /// crictl follows the Kubernetes minor.
    public static func crictl(forKubernetes version: String) -> String { minor(of: version) + ".0" }

    /// The sandbox (pause) image, set in containerd's configuration (kubelet's flag is gone in 1.35).
    public static func pauseImage(forKubernetes version: String) -> String {
        "registry.k8s.io/pause:" + (kubernetesMinor(version) <= 35 ? "3.10.1" : "3.10.2")
    }

    /// The version tables of Kubernetes and etcd (add-ons declare theirs).
    public static let all: [Component] = [kubernetes, etcd]

    /// The inventory format versions this build reads.
    public static let apiVersions = ["cairn.dev/v1alpha1"]
    public static let currentAPIVersion = "cairn.dev/v1alpha1"
}
