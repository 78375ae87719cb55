/// One release artifact Cairn pushes to hosts: a tarball, a binary or a manifest.
///
/// `url` is always the upstream URL; a mirror or the cache derive their paths from it
/// (`ArtifactSource`), and the lock file is keyed by it.
public struct ArtifactSpec: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var version: String
    /// The upstream URL, `https://HOST/PATH`.
    public var url: String
    /// A pinned SHA-256 (lowercase hex). When set, it wins over the lock file.
    public var sha256: String?

    public init(name: String, version: String, url: String, sha256: String? = nil) {
        self.name = name
        self.version = version
        self.url = url
        self.sha256 = sha256
    }

    public var description: String { "\(name) \(version)" }
}

/// Where each component's release lives upstream.
///
/// Every spec built here has `sha256: nil`. Cairn cannot ship verified hashes for every
/// version and architecture, and a hash typed in without downloading the file would be worse
/// than none. Integrity comes from the lock file instead (`artifacts.lock`): the first fetch
/// records the hash (trust on first use) and every later fetch, on any machine sharing the
/// lock file, must match it. Pin a hash by setting `sha256` on the spec.
///
/// Versions may be given with or without a leading `v`; `arch` is Go's name (`amd64`, `arm64`).
public enum ArtifactCatalog {
    static func bare(_ version: String) -> String {
        version.hasPrefix("v") ? String(version.dropFirst()) : version
    }

    /// `https://github.com/etcd-io/etcd/releases/download/v{V}/etcd-v{V}-linux-{arch}.tar.gz`
    public static func etcd(version: String, arch: String = "amd64") -> ArtifactSpec {
        let v = bare(version)
        return ArtifactSpec(
            name: "etcd", version: v,
            url: "https://github.com/etcd-io/etcd/releases/download/v\(v)/etcd-v\(v)-linux-\(arch).tar.gz")
    }

    /// `https://dl.k8s.io/release/v{V}/bin/linux/{arch}/{name}` — kubeadm, kubelet, kubectl.
    public static func kubernetesBinary(_ name: String, version: String, arch: String = "amd64") -> ArtifactSpec {
        let v = bare(version)
        return ArtifactSpec(name: name, version: v, url: "https://dl.k8s.io/release/v\(v)/bin/linux/\(arch)/\(name)")
    }

    /// `https://github.com/containerd/containerd/releases/download/v{V}/containerd-{V}-linux-{arch}.tar.gz`
    public static func containerd(version: String, arch: String = "amd64")
        -> ArtifactSpec
    {
        let v = bare(version)
        return ArtifactSpec(
            name: "containerd", version: v,
            url: "https://github.com/containerd/containerd/releases/download/v\(v)/containerd-\(v)-linux-\(arch).tar.gz"
        )
    }

    /// `https://github.com/opencontainers/runc/releases/download/v{V}/runc.{arch}`
    public static func runc(version: String, arch: String = "amd64") -> ArtifactSpec {
        let v = bare(version)
        return ArtifactSpec(
            name: "runc", version: v,
            url: "https://github.com/opencontainers/runc/releases/download/v\(v)/runc.\(arch)")
    }

    /// `https://github.com/containernetworking/plugins/releases/download/v{V}/cni-plugins-linux-{arch}-v{V}.tgz`
    public static func cniPlugins(version: String, arch: String = "amd64")
        -> ArtifactSpec
    {
        let v = bare(version)
        return ArtifactSpec(
            name: "cni-plugins", version: v,
            url:
                "https://github.com/containernetworking/plugins/releases/download/v\(v)/cni-plugins-linux-\(arch)-v\(v).tgz"
        )
    }

    /// `https://github.com/kubernetes-sigs/cri-tools/releases/download/v{V}/crictl-v{V}-linux-{arch}.tar.gz`
    public static func crictl(version: String, arch: String = "amd64") -> ArtifactSpec {
        let v = bare(version)
        return ArtifactSpec(
            name: "crictl", version: v,
            url:
                "https://github.com/kubernetes-sigs/cri-tools/releases/download/v\(v)/crictl-v\(v)-linux-\(arch).tar.gz"
        )
    }

    /// Any other file (a CNI or add-on manifest), at the URL given.
    public static func manifest(name: String, version: String, url: String, sha256: String? = nil) -> ArtifactSpec {
        ArtifactSpec(name: name, version: version, url: url, sha256: sha256)
    }
}
