import Foundation

/// Where artifacts come from when they are not in the cache.
///
/// A mirror has the upstream layout: the upstream URL without its scheme, under the mirror's
/// root — `MIRROR/github.com/etcd-io/etcd/releases/download/v3.5.21/etcd-v3.5.21-linux-amd64.tar.gz`,
/// `MIRROR/dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubeadm`. The root is a local directory
/// (a path or a `file://` URL) or an `http://`/`https://` base URL.
public enum ArtifactSource: Sendable, Equatable {
    case upstream
    case mirror(String)
}

/// Where one artifact is fetched from, resolved.
enum ArtifactLocation: Equatable {
    case remote(URL)
    case file(URL)

    var text: String {
        switch self {
        case .remote(let url): return url.absoluteString
        case .file(let url): return url.path
        }
    }
}

enum ArtifactPaths {
    /// `https://github.com/a/b` → `github.com/a/b`; nil when the URL is not `http(s)://HOST/PATH`
    /// or holds something that could escape a directory (`..`, empty or `.` segments, `\`).
    static func relativePath(ofUpstream url: String) -> String? {
        let lower = url.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") {
            rest = url.dropFirst("https://".count)
        } else if lower.hasPrefix("http://") {
            rest = url.dropFirst("http://".count)
        } else {
            return nil
        }
        if rest.contains(where: { $0 == "?" || $0 == "#" || $0 == "\\" || $0.isWhitespace || $0 == "\0" }) {
            return nil
        }
        let segments = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count >= 2 else { return nil }
        for segment in segments where segment.isEmpty || segment == "." || segment == ".." || segment.hasPrefix(".") {
            return nil
        }
        return String(rest)
    }

    static func location(for relativePath: String, upstream: String, source: ArtifactSource) throws -> ArtifactLocation
    {
        switch source {
        case .upstream:
            guard let url = URL(string: upstream) else {
                throw ArtifactError.invalidSpec(name: upstream, reason: "\(upstream) is not a valid URL")
            }
            return .remote(url)
        case .mirror(let root):
            let lower = root.lowercased()
            if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
                let base = root.hasSuffix("/") ? String(root.dropLast()) : root
                guard let url = URL(string: base + "/" + relativePath), url.host != nil else {
                    throw ArtifactError.invalidMirror(mirror: root, reason: "not a valid http(s) base URL")
                }
                return .remote(url)
            }
            var directory = root
            if lower.hasPrefix("file://") {
                guard let url = URL(string: root), url.isFileURL else {
                    throw ArtifactError.invalidMirror(mirror: root, reason: "not a valid file:// URL")
                }
                directory = url.path
            }
            guard !directory.isEmpty, !directory.contains("://") else {
                throw ArtifactError.invalidMirror(
                    mirror: root, reason: "a mirror is a local directory, a file:// URL or an http(s):// base URL")
            }
            return .file(URL(fileURLWithPath: directory).appendingPathComponent(relativePath))
        }
    }
}
