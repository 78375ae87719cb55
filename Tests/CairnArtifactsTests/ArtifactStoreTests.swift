import CairnArtifacts
import CairnCore
import Foundation
import Testing

let etcdSpec = ArtifactCatalog.etcd(version: "3.5.21")
let kubeadmSpec = ArtifactCatalog.kubernetesBinary("kubeadm", version: "1.32.4")

struct Fixture {
    let dir: TemporaryDirectory
    var mirror: URL { dir.url.appendingPathComponent("mirror") }
    var cache: URL { dir.url.appendingPathComponent("cache") }
    var lock: URL { dir.url.appendingPathComponent("site/artifacts.lock") }

    init() throws { dir = try TemporaryDirectory() }

    func store(_ source: ArtifactSource? = nil) -> ArtifactStore {
        ArtifactStore(cacheDirectory: cache, lockFile: lock, source: source ?? .mirror(mirror.path), requestTimeout: 10)
    }

    func lockText() throws -> String { try String(contentsOf: lock, encoding: .utf8) }
}

@Suite struct CatalogTests {
    @Test func upstreamURLs() {
        #expect(
            etcdSpec
                == ArtifactSpec(
                    name: "etcd", version: "3.5.21",
                    url: "https://github.com/etcd-io/etcd/releases/download/v3.5.21/etcd-v3.5.21-linux-amd64.tar.gz"))
        #expect(
            ArtifactCatalog.kubernetesBinary("kubelet", version: "v1.32.4", arch: "arm64").url
                == "https://dl.k8s.io/release/v1.32.4/bin/linux/arm64/kubelet")
        #expect(
            ArtifactCatalog.containerd(version: "2.0.5").url
                == "https://github.com/containerd/containerd/releases/download/v2.0.5/containerd-2.0.5-linux-amd64.tar.gz"
        )
        #expect(
            ArtifactCatalog.runc(version: "1.2.6").url
                == "https://github.com/opencontainers/runc/releases/download/v1.2.6/runc.amd64")
        #expect(
            ArtifactCatalog.cniPlugins(version: "1.6.2").url
                == "https://github.com/containernetworking/plugins/releases/download/v1.6.2/cni-plugins-linux-amd64-v1.6.2.tgz"
        )
        #expect(
            ArtifactCatalog.crictl(version: "1.32.0").url
                == "https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.32.0/crictl-v1.32.0-linux-amd64.tar.gz"
        )
        let manifest = ArtifactCatalog.manifest(
            name: "calico", version: "3.29.3",
            url: "https://raw.githubusercontent.com/projectcalico/calico/v3.29.3/manifests/calico.yaml")
        #expect(manifest.name == "calico" && manifest.sha256 == nil)
        // No invented hashes: every upstream entry relies on the lock file.
        for spec in [
            etcdSpec, kubeadmSpec, ArtifactCatalog.containerd(version: "2.0.5"), ArtifactCatalog.runc(version: "1.2.6"),
            ArtifactCatalog.cniPlugins(version: "1.6.2"), ArtifactCatalog.crictl(version: "1.32.0"),
        ] {
            #expect(spec.sha256 == nil)
        }
    }

    @Test func sourceLocations() throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        #expect(try fixture.store(.upstream).sourceLocation(for: kubeadmSpec) == kubeadmSpec.url)
        #expect(
            try fixture.store(.mirror("https://mirror.example/artifacts/")).sourceLocation(for: kubeadmSpec)
                == "https://mirror.example/artifacts/dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubeadm")
        #expect(
            try fixture.store(.mirror("/srv/mirror")).sourceLocation(for: etcdSpec)
                == "/srv/mirror/github.com/etcd-io/etcd/releases/download/v3.5.21/etcd-v3.5.21-linux-amd64.tar.gz")
        #expect(
            try fixture.store(.mirror("file:///srv/mirror")).sourceLocation(for: kubeadmSpec)
                == "/srv/mirror/dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubeadm")
        #expect(
            try fixture.store().cachePath(for: kubeadmSpec).path
                == fixture.cache.path + "/dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubeadm")
        #expect(fixture.store(.upstream).status(kubeadmSpec) == .willFetch(from: kubeadmSpec.url))
    }

    @Test func rejectsURLsThatCouldEscapeTheCache() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        for url in [
            "https://example.com/../../etc/passwd", "ftp://example.com/x", "https://example.com/a?b=c",
            "https://example.com", "https://example.com//x", "https://example.com/.hidden",
        ] {
            await #expect(throws: ArtifactError.self, "\(url)") {
                try await fixture.store().fetch(ArtifactCatalog.manifest(name: "m", version: "1", url: url))
            }
        }
        await #expect(throws: ArtifactError.self) {
            try await fixture.store().fetch(ArtifactSpec(name: "two words", version: "1", url: "https://example.com/x"))
        }
        await #expect(throws: ArtifactError.self) {
            try await fixture.store(.mirror("ftp://mirror.example")).fetch(kubeadmSpec)
        }
    }
}

@Suite struct MirrorDirectoryTests {
    @Test func fetchesFromTheMirrorLayoutAndRecordsTheLock() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        try place("etcd tarball", for: etcdSpec.url, in: fixture.mirror)
        try place("kubeadm binary", for: kubeadmSpec.url, in: fixture.mirror)
        let store = fixture.store()
        #expect(store.status(etcdSpec) == .willFetch(from: try store.sourceLocation(for: etcdSpec)))
        #expect(store.lockedHash(for: etcdSpec) == nil)

        let etcd = try await store.fetch(etcdSpec)
        let kubeadm = try await store.fetch(kubeadmSpec)
        #expect(etcd.sha256 == SHA256Digest.hex(of: "etcd tarball"))
        #expect(etcd.size == 12)
        #expect(etcd.path == (try store.cachePath(for: etcdSpec)))
        #expect(try String(contentsOf: etcd.path, encoding: .utf8) == "etcd tarball")
        #expect(kubeadm.path.path.hasSuffix("/cache/dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubeadm"))

        #expect(store.lockedHash(for: etcdSpec) == etcd.sha256)
        #expect(store.status(etcdSpec) == .cached(sha256: etcd.sha256))
        let lines = try fixture.lockText().split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
        #expect(
            lines == [
                "etcd 3.5.21 \(etcdSpec.url) \(etcd.sha256)",
                "kubeadm 1.32.4 \(kubeadmSpec.url) \(kubeadm.sha256)",
            ])
        // No temporary files left in the cache or beside the lock file.
        #expect(listing(fixture.cache).allSatisfy { !$0.contains("/.") })
        #expect(listing(fixture.lock.deletingLastPathComponent()) == ["artifacts.lock"])
    }

    @Test func fileURLMirror() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        try place("runc", for: ArtifactCatalog.runc(version: "1.2.6").url, in: fixture.mirror)
        let artifact = try await fixture.store(.mirror("file://" + fixture.mirror.path)).fetch(
            ArtifactCatalog.runc(version: "1.2.6"))
        #expect(artifact.sha256 == SHA256Digest.hex(of: "runc"))
    }

    @Test func missingFromTheMirror() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        let error = await #expect(throws: ArtifactError.self) { try await fixture.store().fetch(kubeadmSpec) }
        guard case .notInMirror(let artifact, let path, _) = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(artifact == "kubeadm 1.32.4")
        #expect(path == fixture.mirror.path + "/dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubeadm")
        #expect(error?.nextStep?.contains("upstream layout") == true)
    }

    @Test func reusesTheCacheWithoutASecondCopy() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        let source = try place("kubeadm", for: kubeadmSpec.url, in: fixture.mirror)
        let first = try await fixture.store().fetch(kubeadmSpec)
        let mtime = modificationTime(first.path)
        let lockBefore = try fixture.lockText()
        // The mirror is gone: the cache alone must serve.
        try FileManager.default.removeItem(at: source)
        usleep(20_000)
        let second = try await fixture.store().fetch(kubeadmSpec)
        #expect(second == first)
        let after = modificationTime(second.path)
        #expect(after.tv_sec == mtime.tv_sec && after.tv_nsec == mtime.tv_nsec)
        #expect(try fixture.lockText() == lockBefore)
    }

    @Test func corruptedCacheIsFetchedAgain() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        try place("kubeadm", for: kubeadmSpec.url, in: fixture.mirror)
        let first = try await fixture.store().fetch(kubeadmSpec)
        try Data("bit rot".utf8).write(to: first.path)
        #expect(
            fixture.store().status(kubeadmSpec)
                == .willFetch(from: try fixture.store().sourceLocation(for: kubeadmSpec)))
        let second = try await fixture.store().fetch(kubeadmSpec)
        #expect(second.sha256 == first.sha256)
        #expect(try String(contentsOf: second.path, encoding: .utf8) == "kubeadm")
    }

    @Test func lockFileIsEnforcedWhenTheMirrorIsTamperedWith() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        let source = try place("genuine etcd", for: etcdSpec.url, in: fixture.mirror)
        let genuine = try await fixture.store().fetch(etcdSpec)
        // A new cache (another operator's machine) sharing the lock file; the mirror now holds another file.
        try FileManager.default.removeItem(at: fixture.cache)
        try Data("trojan etcd".utf8).write(to: source)
        let error = await #expect(throws: ArtifactError.self) { try await fixture.store().fetch(etcdSpec) }
        let bad = SHA256Digest.hex(of: "trojan etcd")
        #expect(
            error
                == .checksumMismatch(
                    artifact: "etcd 3.5.21", url: etcdSpec.url, expected: genuine.sha256,
                    actual: bad, expectedFrom: fixture.lock.path))
        let summary = error?.summary ?? ""
        #expect(summary.contains(genuine.sha256) && summary.contains(bad) && summary.contains("etcd 3.5.21"))
        #expect(error?.nextStep?.contains("remove its line from \(fixture.lock.path)") == true)
        // The bad download was deleted; the lock still holds the genuine hash.
        #expect(!FileManager.default.fileExists(atPath: try fixture.store().cachePath(for: etcdSpec).path))
        #expect(listing(fixture.cache).isEmpty)
        #expect(fixture.store().lockedHash(for: etcdSpec) == genuine.sha256)
    }

    @Test func pinnedHashWinsAndIsEnforced() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        try place("calico manifest", for: "https://example.com/calico/v3/calico.yaml", in: fixture.mirror)
        let wrong = String(repeating: "ab", count: 32)
        let spec = ArtifactCatalog.manifest(
            name: "calico", version: "3", url: "https://example.com/calico/v3/calico.yaml", sha256: wrong)
        let error = await #expect(throws: ArtifactError.self) { try await fixture.store().fetch(spec) }
        #expect(
            error
                == .checksumMismatch(
                    artifact: "calico 3", url: spec.url, expected: wrong,
                    actual: SHA256Digest.hex(of: "calico manifest"), expectedFrom: "the pinned hash"))
        #expect(listing(fixture.cache).isEmpty)

        var right = spec
        right.sha256 = "sha256:" + SHA256Digest.hex(of: "calico manifest").uppercased()
        let artifact = try await fixture.store().fetch(right)
        #expect(artifact.sha256 == SHA256Digest.hex(of: "calico manifest"))
        // Pinned artifacts need no lock entry.
        #expect(!FileManager.default.fileExists(atPath: fixture.lock.path))
        // A cached file that no longer matches the pin is not served.
        #expect(fixture.store().status(spec) == .willFetch(from: try fixture.store().sourceLocation(for: spec)))

        var malformed = spec
        malformed.sha256 = "1234"
        await #expect(throws: ArtifactError.self) { try await fixture.store().fetch(malformed) }
    }

    @Test func invalidLockFileLineIsReportedWithItsNumber() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        try place("kubeadm", for: kubeadmSpec.url, in: fixture.mirror)
        try FileManager.default.createDirectory(
            at: fixture.lock.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("# comment\n\nkubeadm 1.32.4 \(kubeadmSpec.url)\n".utf8).write(to: fixture.lock)
        let error = await #expect(throws: ArtifactError.self) { try await fixture.store().fetch(kubeadmSpec) }
        #expect(
            error
                == .lockFileInvalid(
                    path: fixture.lock.path, line: 3,
                    reason: "expected 4 fields (name version url sha256), found 3"))
    }

    @Test func concurrentFetchesDoNotCorruptTheCache() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        let payload = String(repeating: "containerd-bytes-", count: 200_000)  // ~3.4 MB
        try place(payload, for: ArtifactCatalog.containerd(version: "2.0.5").url, in: fixture.mirror)
        try place("runc", for: ArtifactCatalog.runc(version: "1.2.6").url, in: fixture.mirror)
        let expected = SHA256Digest.hex(of: payload)
        let results = try await withThrowingTaskGroup(of: LocalArtifact.self) { group in
            for i in 0..<12 {
                let store = fixture.store()
                group.addTask {
                    try await store.fetch(
                        i % 4 == 3
                            ? ArtifactCatalog.runc(version: "1.2.6") : ArtifactCatalog.containerd(version: "2.0.5"))
                }
            }
            return try await group.reduce(into: [LocalArtifact]()) { $0.append($1) }
        }
        #expect(results.count == 12)
        #expect(results.filter { $0.spec.name == "containerd" }.allSatisfy { $0.sha256 == expected })
        let cached = try fixture.store().cachePath(for: ArtifactCatalog.containerd(version: "2.0.5"))
        #expect(SHA256Digest.hex(of: try Data(contentsOf: cached)) == expected)
        let entries = try fixture.lockText().split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
        #expect(entries.count == 2)
        #expect(listing(fixture.cache).allSatisfy { !$0.split(separator: "/").last!.hasPrefix(".") })
    }
}

@Suite(.serialized, .enabled(if: LocalHTTPServer.available, "needs python3 for a local HTTP server"))
struct HTTPDownloadTests {
    @Test func downloadsFromALocalServerAndReportsA404() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        try place(
            "kubelet binary", for: ArtifactCatalog.kubernetesBinary("kubelet", version: "1.32.4").url,
            in: fixture.mirror)
        let server = try LocalHTTPServer(serving: fixture.mirror)
        defer { server.stop() }
        let store = fixture.store(.mirror(server.baseURL + "/"))
        let kubelet = ArtifactCatalog.kubernetesBinary("kubelet", version: "1.32.4")
        #expect(
            store.status(kubelet)
                == .willFetch(from: server.baseURL + "/dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubelet"))
        let artifact = try await store.fetch(kubelet)
        #expect(artifact.sha256 == SHA256Digest.hex(of: "kubelet binary"))
        #expect(store.lockedHash(for: kubelet) == artifact.sha256)

        let missing = ArtifactCatalog.kubernetesBinary("kubectl", version: "1.32.4")
        let error = await #expect(throws: ArtifactError.self) { try await store.fetch(missing) }
        let url = server.baseURL + "/dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl"
        #expect(error == .httpStatus(artifact: "kubectl 1.32.4", url: url, status: 404))
        #expect(error?.summary == "downloading kubectl 1.32.4 failed: HTTP 404 (not found) from \(url)")
        #expect(!FileManager.default.fileExists(atPath: try store.cachePath(for: missing).path))
        #expect(store.lockedHash(for: missing) == nil)
        #expect(listing(fixture.cache) == ["dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubelet"])
    }

    @Test func concurrentDownloadsOfTheSameArtifact() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        let payload = String(repeating: "cni-plugins-", count: 300_000)  // ~3.6 MB
        try place(payload, for: ArtifactCatalog.cniPlugins(version: "1.6.2").url, in: fixture.mirror)
        let server = try LocalHTTPServer(serving: fixture.mirror)
        defer { server.stop() }
        let store = fixture.store(.mirror(server.baseURL))
        let hashes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<6 {
                group.addTask { try await store.fetch(ArtifactCatalog.cniPlugins(version: "1.6.2")).sha256 }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(hashes == [SHA256Digest.hex(of: payload)])
        #expect(
            listing(fixture.cache) == [
                "github.com/containernetworking/plugins/releases/download/v1.6.2/cni-plugins-linux-amd64-v1.6.2.tgz"
            ])
        #expect(
            SHA256Digest.hex(
                of: try Data(contentsOf: store.cachePath(for: ArtifactCatalog.cniPlugins(version: "1.6.2"))))
                == SHA256Digest.hex(of: payload))
    }

    @Test func connectionRefusedIsAClearError() async throws {
        let fixture = try Fixture()
        defer { fixture.dir.cleanUp() }
        let port = try freeLoopbackPort()  // nothing listens there
        let error = await #expect(throws: ArtifactError.self) {
            try await fixture.store(.mirror("http://127.0.0.1:\(port)")).fetch(kubeadmSpec)
        }
        guard case .downloadFailed(let artifact, let url, _) = error else {
            Issue.record("\(String(describing: error))")
            return
        }
        #expect(artifact == "kubeadm 1.32.4")
        #expect(url == "http://127.0.0.1:\(port)/dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubeadm")
        #expect(listing(fixture.cache).isEmpty)
    }
}
