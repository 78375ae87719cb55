import CairnCore
import CairnPKI
import Crypto
import Foundation
import Testing
import X509

/// 2027-01-15T08:00:00Z: a whole second, so day counts in reasons are exact.
let referenceDate = Date(timeIntervalSince1970: 1_800_000_000)

func memberRequest(_ addresses: [String] = ["10.0.0.1", "192.0.2.10"]) -> CertificateRequest {
    .etcdMember(name: "node1", addresses: addresses)
}

func makeStore(_ dir: TemporaryDirectory, clock: TestClock? = nil) -> PKIStore {
    let clock = clock ?? TestClock(referenceDate)
    return PKIStore(directory: dir.url.appendingPathComponent("pki"), now: { clock.now })
}

func loadCertificate(_ store: PKIStore, _ name: String) throws -> Certificate {
    try Certificate(pemEncoded: try store.pem(of: name).certificate)
}

@Suite struct PKIStoreTests {
    @Test func createsCAAndIssuesMemberCertificate() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        #expect(store.status(ofCA: EtcdPKI.caName) == .missing)
        #expect(try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName) == .created)
        #expect(store.status(ofCA: EtcdPKI.caName) == .valid(notAfter: referenceDate + 3650 * 86_400))

        let name = EtcdPKI.memberName("node1")
        #expect(store.status(of: name, request: memberRequest(), caName: EtcdPKI.caName) == .missing)
        #expect(try store.ensure(name, request: memberRequest(), caName: EtcdPKI.caName) == .created)
        #expect(store.status(of: name, request: memberRequest(), caName: EtcdPKI.caName) == .valid)

        let ca = try Certificate(pemEncoded: try store.caCertificatePEM(EtcdPKI.caName))
        #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(try ca.extensions.keyUsage == KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
        #expect(ca.notValidBefore == referenceDate - 300)

        let leaf = try loadCertificate(store, name)
        #expect(leaf.serialNumber.bytes.count >= 16)
        #expect(leaf.issuer == ca.subject)
        #expect(ca.publicKey.isValidSignature(leaf.signature, for: leaf))
        #expect(leaf.notValidBefore == referenceDate - 300)
        #expect(leaf.notValidAfter == referenceDate + 365 * 86_400)
        #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
        #expect(try leaf.extensions.keyUsage == KeyUsage(digitalSignature: true, keyEncipherment: true))
        #expect(try Array(leaf.extensions.extendedKeyUsage!) == [.serverAuth, .clientAuth])
        let names = Array(try #require(try leaf.extensions.subjectAlternativeNames))
        let dnsNames = names.compactMap { name -> String? in
            if case .dnsName(let dns) = name { return dns }
            return nil
        }
        #expect(dnsNames == ["node1", "localhost"])
        #expect(names.count == 6)  // + 10.0.0.1, 192.0.2.10, 127.0.0.1, ::1
        #expect(
            try leaf.extensions.authorityKeyIdentifier?.keyIdentifier
                == ca.extensions.subjectKeyIdentifier?.keyIdentifier)
        #expect(try leaf.extensions.subjectKeyIdentifier != nil)
        #expect(P256.Signing.PublicKey(leaf.publicKey) != nil)
    }

    @Test func etcdMemberRequestSortsAddressesIntoSANs() {
        let request = CertificateRequest.etcdMember(
            name: "node1", addresses: ["10.0.0.1", "node1.example", "10.0.0.1", "fd00::1"])
        #expect(request.dnsNames == ["node1", "node1.example", "localhost"])
        #expect(request.ipAddresses == ["10.0.0.1", "fd00::1", "127.0.0.1", "::1"])
        #expect(request.usage == .serverAndClient)
        #expect(CertificateRequest.kubeAPIServerEtcdClient().organization == "system:masters")
        #expect(CertificateRequest.kubeAPIServerEtcdClient().commonName == "kube-apiserver-etcd-client")
        #expect(CertificateRequest.etcdctlClient().commonName == "cairn-etcdctl")
    }

    @Test func reusesValidCertificatesUntouched() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        try store.ensure("client", request: .kubeAPIServerEtcdClient(), caName: EtcdPKI.caName)
        let files = ["client.crt", "client.key", "etcd-ca.crt", "etcd-ca.key"].map {
            store.directory.appendingPathComponent($0)
        }
        let before = try files.map { try Data(contentsOf: $0) }
        let times = files.map(modificationTime)
        usleep(20_000)

        #expect(try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName) == nil)
        #expect(try store.ensure("client", request: .kubeAPIServerEtcdClient(), caName: EtcdPKI.caName) == nil)
        #expect(try files.map { try Data(contentsOf: $0) } == before)
        let after = files.map(modificationTime)
        for (a, b) in zip(times, after) {
            #expect(a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec)
        }
        // No stray temporary files.
        let listing = try FileManager.default.contentsOfDirectory(atPath: store.directory.path).sorted()
        #expect(listing == ["client.crt", "client.key", "etcd-ca.crt", "etcd-ca.key"])
    }

    @Test func fileModes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        try store.ensure("etcdctl", request: .etcdctlClient(), caName: EtcdPKI.caName)
        #expect(fileMode(store.directory) == 0o700)
        for name in ["etcd-ca", "etcdctl"] {
            #expect(fileMode(store.certificateURL(name)) == 0o644)
            #expect(fileMode(store.keyURL(name)) == 0o600)
        }
        // A reused key with a loose mode is tightened, its bytes and mtime kept.
        chmod(store.keyURL("etcdctl").path, 0o644)
        let mtime = modificationTime(store.keyURL("etcdctl"))
        #expect(try store.ensure("etcdctl", request: .etcdctlClient(), caName: EtcdPKI.caName) == nil)
        #expect(fileMode(store.keyURL("etcdctl")) == 0o600)
        #expect(modificationTime(store.keyURL("etcdctl")).tv_nsec == mtime.tv_nsec)
        // A loose directory is tightened on the next write.
        chmod(store.directory.path, 0o755)
        try store.ensure("other", request: .etcdctlClient(), caName: EtcdPKI.caName)
        #expect(fileMode(store.directory) == 0o700)
    }

    @Test func reissuesWhenASANIsAdded() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        try store.ensure("m", request: memberRequest(), caName: EtcdPKI.caName)

        let oneMore = memberRequest(["10.0.0.1", "192.0.2.10", "10.0.0.5"])
        #expect(
            store.status(of: "m", request: oneMore, caName: EtcdPKI.caName)
                == .needsReissue(reason: "missing SAN 10.0.0.5"))
        var two = memberRequest()
        two.dnsNames.append("node4")
        two.ipAddresses.append("10.0.0.4")
        #expect(
            store.status(of: "m", request: two, caName: EtcdPKI.caName)
                == .needsReissue(reason: "missing SANs node4, 10.0.0.4"))

        // Extra SANs present are fine; IPv6 compares by value, DNS case-insensitively.
        var fewer = memberRequest(["10.0.0.1"])
        fewer.ipAddresses = ["0:0:0:0:0:0:0:1"]
        fewer.dnsNames = ["NODE1"]
        #expect(store.status(of: "m", request: fewer, caName: EtcdPKI.caName) == .valid)

        #expect(
            try store.ensure("m", request: oneMore, caName: EtcdPKI.caName) == .reissued(reason: "missing SAN 10.0.0.5")
        )
        #expect(store.status(of: "m", request: oneMore, caName: EtcdPKI.caName) == .valid)
    }

    @Test func reissuesNearExpiryAndAfterExpiry() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let clock = TestClock(referenceDate)
        let store = makeStore(dir, clock: clock)
        try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        try store.ensure("c", request: .etcdctlClient(), caName: EtcdPKI.caName)

        clock.advance(days: 334)
        #expect(store.status(of: "c", request: .etcdctlClient(), caName: EtcdPKI.caName) == .valid)
        clock.advance(days: 1)  // 30 days left: not "within" 30
        #expect(store.status(of: "c", request: .etcdctlClient(), caName: EtcdPKI.caName) == .valid)
        clock.advance(days: 18)
        #expect(
            store.status(of: "c", request: .etcdctlClient(), caName: EtcdPKI.caName)
                == .needsReissue(reason: "expires in 12 days"))
        // The threshold is a parameter.
        #expect(
            store.status(of: "c", request: .etcdctlClient(), caName: EtcdPKI.caName, renewalThresholdDays: 10) == .valid
        )
        clock.advance(days: 11)
        #expect(
            store.status(of: "c", request: .etcdctlClient(), caName: EtcdPKI.caName)
                == .needsReissue(reason: "expires in 1 day"))
        clock.advance(days: 1)
        #expect(
            store.status(of: "c", request: .etcdctlClient(), caName: EtcdPKI.caName) == .needsReissue(reason: "expired")
        )
        #expect(
            try store.ensure("c", request: .etcdctlClient(), caName: EtcdPKI.caName) == .reissued(reason: "expired"))
        #expect(try loadCertificate(store, "c").notValidAfter == clock.now + 365 * 86_400)
        #expect(store.status(of: "c", request: .etcdctlClient(), caName: EtcdPKI.caName) == .valid)
    }

    @Test func reissuesWhenTheCAChanged() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        try store.ensure("m", request: memberRequest(), caName: EtcdPKI.caName)
        // The operator replaces the CA (moves the old one aside).
        for ext in ["crt", "key"] {
            try FileManager.default.removeItem(at: store.directory.appendingPathComponent("etcd-ca.\(ext)"))
        }
        #expect(
            store.status(of: "m", request: memberRequest(), caName: EtcdPKI.caName)
                == .needsReissue(reason: "the etcd CA is missing or unreadable"))
        #expect(throws: PKIError.caMissing(name: EtcdPKI.caName, directory: store.directory.path)) {
            try store.ensure("m", request: memberRequest(), caName: EtcdPKI.caName)
        }
        try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        #expect(
            store.status(of: "m", request: memberRequest(), caName: EtcdPKI.caName)
                == .needsReissue(reason: "not signed by the current etcd CA"))
        #expect(
            try store.ensure("m", request: memberRequest(), caName: EtcdPKI.caName)
                == .reissued(reason: "not signed by the current etcd CA"))
        #expect(store.status(of: "m", request: memberRequest(), caName: EtcdPKI.caName) == .valid)
    }

    @Test func reissuesWhenTheKeyDoesNotMatch() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        try store.ensure("a", request: .etcdctlClient(), caName: EtcdPKI.caName)
        try store.ensure("b", request: .etcdctlClient(), caName: EtcdPKI.caName)
        try FileManager.default.removeItem(at: store.keyURL("a"))
        try FileManager.default.copyItem(at: store.keyURL("b"), to: store.keyURL("a"))
        #expect(
            store.status(of: "a", request: .etcdctlClient(), caName: EtcdPKI.caName)
                == .needsReissue(reason: "key does not match the certificate"))
        #expect(
            try store.ensure("a", request: .etcdctlClient(), caName: EtcdPKI.caName)
                == .reissued(reason: "key does not match the certificate"))

        try FileManager.default.removeItem(at: store.keyURL("b"))
        #expect(
            store.status(of: "b", request: .etcdctlClient(), caName: EtcdPKI.caName)
                == .needsReissue(reason: "b.key is missing (b.crt exists)"))
    }

    @Test func reissuesForWrongUsageOrSubject() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        let client = CertificateRequest(commonName: "x", usage: .client)
        try store.ensure("x", request: client, caName: EtcdPKI.caName)
        var server = client
        server.usage = .server
        #expect(
            store.status(of: "x", request: server, caName: EtcdPKI.caName)
                == .needsReissue(reason: "wrong usage (needs serverAuth)"))
        server.usage = .serverAndClient
        #expect(
            store.status(of: "x", request: server, caName: EtcdPKI.caName)
                == .needsReissue(reason: "wrong usage (needs serverAuth)"))
        var renamed = client
        renamed.organization = "system:masters"
        #expect(
            store.status(of: "x", request: renamed, caName: EtcdPKI.caName)
                == .needsReissue(reason: "organization is missing, needs \"system:masters\""))
        renamed.commonName = "y"
        #expect(
            store.status(of: "x", request: renamed, caName: EtcdPKI.caName)
                == .needsReissue(
                    reason: "common name is \"x\", needs \"y\"; organization is missing, needs \"system:masters\""))
    }

    @Test func neverRegeneratesAnUnreadableCA() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        let garbage = Data("not a certificate\n".utf8)
        try garbage.write(to: store.certificateURL(EtcdPKI.caName))
        #expect(
            store.status(ofCA: EtcdPKI.caName) == .unreadable(reason: "etcd-ca.crt is not a readable PEM certificate"))
        let error = try #require(throws: PKIError.self) {
            try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        }
        guard case .caUnreadable(let name, let path, _) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(name == EtcdPKI.caName && path == store.certificateURL(EtcdPKI.caName).path)
        #expect(error.nextStep?.contains("from a backup") == true)
        #expect(try Data(contentsOf: store.certificateURL(EtcdPKI.caName)) == garbage)
        #expect(throws: PKIError.self) { try store.ensure("c", request: .etcdctlClient(), caName: EtcdPKI.caName) }

        // A leaf is not a CA.
        let other = PKIStore(directory: store.directory.appendingPathComponent("second"), now: { referenceDate })
        try other.ensureCA(name: "ca", commonName: "ca")
        try other.ensure("leaf", request: .etcdctlClient(), caName: "ca")
        #expect(
            other.status(ofCA: "leaf")
                == .unreadable(reason: "the certificate is not a CA (no BasicConstraints CA:TRUE)"))
    }

    @Test func expiringAndExpiredCA() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let clock = TestClock(referenceDate)
        let store = makeStore(dir, clock: clock)
        try store.ensureCA(name: "ca", commonName: "ca", validityDays: 40)
        clock.advance(days: 20)
        #expect(store.status(ofCA: "ca") == .expiring(daysLeft: 20))
        #expect(try store.ensureCA(name: "ca", commonName: "ca") == nil)
        clock.advance(days: 21)
        #expect(store.status(ofCA: "ca") == .expired(notAfter: referenceDate + 40 * 86_400))
        #expect(
            throws: PKIError.caExpired(
                name: "ca", notAfter: referenceDate + 40 * 86_400, directory: store.directory.path)
        ) {
            try store.ensureCA(name: "ca", commonName: "ca")
        }
        #expect(throws: PKIError.self) { try store.ensure("c", request: .etcdctlClient(), caName: "ca") }
    }

    @Test func rejectsInvalidRequests() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        try store.ensureCA(name: "ca", commonName: "ca")
        let bad = CertificateRequest(commonName: "x", ipAddresses: ["10.0.0.300"], usage: .server)
        #expect(throws: PKIError.invalidRequest(name: "x", reason: "\"10.0.0.300\" is not an IPv4 or IPv6 address")) {
            try store.ensure("x", request: bad, caName: "ca")
        }
        #expect(throws: PKIError.self) { try store.ensure("../x", request: .etcdctlClient(), caName: "ca") }
        #expect(throws: PKIError.self) { try store.pem(of: "nothing") }
        #expect(PKIError.invalidRequest(name: "x", reason: "r").exitCode == .invalidInput)
    }

    @Test func statusIsReadOnly() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        #expect(store.status(ofCA: "ca") == .missing)
        #expect(store.status(of: "x", request: .etcdctlClient(), caName: "ca") == .missing)
        #expect(!FileManager.default.fileExists(atPath: store.directory.path))
    }

    @Test func pemAccessors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        try store.ensureCA(name: "ca", commonName: "ca")
        try store.ensure("x", request: .etcdctlClient(), caName: "ca")
        let (certificate, key) = try store.pem(of: "x")
        #expect(
            certificate.hasPrefix("-----BEGIN CERTIFICATE-----\n")
                && certificate.hasSuffix("-----END CERTIFICATE-----\n"))
        #expect(key.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(Redactor().redact(key).contains("<redacted>"))
        #expect(try store.caCertificatePEM("ca") == String(contentsOf: store.certificateURL("ca"), encoding: .utf8))
    }

    @Test func spkiHashMatchesTheKey() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = makeStore(dir)
        try store.ensureCA(name: "ca", commonName: "ca")
        let pem = try store.caCertificatePEM("ca")
        let certificate = try Certificate(pemEncoded: pem)
        let spki = try #require(P256.Signing.PublicKey(certificate.publicKey)).derRepresentation
        #expect(try PKIStore.spkiSHA256(ofCertificatePEM: pem) == "sha256:" + SHA256Digest.hex(of: spki))
        #expect(throws: PKIError.self) { try PKIStore.spkiSHA256(ofCertificatePEM: "garbage") }
    }
}
