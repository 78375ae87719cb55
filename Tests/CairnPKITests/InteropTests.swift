import CairnPKI
import Foundation
import Testing

/// Our output checked by real tools: openssl's verifier and parser, and a real etcd
/// serving TLS with client-certificate authentication.
@Suite struct OpenSSLInteropTests {
    @Test(.enabled(if: Tools.has(Tools.openssl), "needs /usr/bin/openssl"))
    func opensslVerifiesTheChainAndShowsTheSANs() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = PKIStore(directory: dir.url.appendingPathComponent("pki"))
        try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        let request = CertificateRequest.etcdMember(name: "node1", addresses: ["10.0.0.1", "fd00::10"])
        try store.ensure("node1", request: request, caName: EtcdPKI.caName)
        try store.ensure("apiserver", request: .kubeAPIServerEtcdClient(), caName: EtcdPKI.caName)

        let ca = store.certificateURL(EtcdPKI.caName).path
        for name in ["node1", "apiserver"] {
            let verify = try run(Tools.openssl, ["verify", "-CAfile", ca, store.certificateURL(name).path])
            #expect(verify.status == 0, "\(verify.output)")
            #expect(verify.stdout.contains(": OK"))
        }
        let purpose = try run(
            Tools.openssl, ["verify", "-CAfile", ca, "-purpose", "sslserver", store.certificateURL("node1").path])
        #expect(purpose.status == 0, "\(purpose.output)")
        let clientOnly = try run(
            Tools.openssl, ["verify", "-CAfile", ca, "-purpose", "sslserver", store.certificateURL("apiserver").path])
        #expect(clientOnly.status != 0, "a client certificate must not pass as a server")

        let san = try run(
            Tools.openssl, ["x509", "-noout", "-ext", "subjectAltName", "-in", store.certificateURL("node1").path])
        #expect(san.status == 0, "\(san.output)")
        for expected in [
            "DNS:node1", "DNS:localhost", "IP Address:10.0.0.1", "IP Address:FD00:0:0:0:0:0:0:10",
            "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1",
        ] {
            #expect(san.stdout.contains(expected), "\(expected) not in \(san.stdout)")
        }

        let subject = try run(
            Tools.openssl,
            [
                "x509", "-noout", "-subject", "-ext", "extendedKeyUsage,basicConstraints,keyUsage",
                "-in", store.certificateURL("apiserver").path,
            ])
        #expect(subject.stdout.contains("O = system:masters, CN = kube-apiserver-etcd-client"), "\(subject.stdout)")
        #expect(subject.stdout.contains("TLS Web Client Authentication"))
        #expect(!subject.stdout.contains("TLS Web Server Authentication"))
        #expect(subject.stdout.contains("CA:FALSE"))
        #expect(subject.stdout.contains("Digital Signature, Key Encipherment"))

        let caText = try run(Tools.openssl, ["x509", "-noout", "-text", "-in", ca])
        #expect(caText.stdout.contains("CA:TRUE, pathlen:0"))
        #expect(caText.stdout.contains("Digital Signature, Certificate Sign, CRL Sign"))
        #expect(caText.stdout.contains("ecdsa-with-SHA256"))
        #expect(caText.stdout.contains("prime256v1"))

        let key = try run(Tools.openssl, ["pkey", "-noout", "-in", store.keyURL("node1").path, "-check"])
        #expect(key.status == 0, "\(key.output)")
    }

    @Test(.enabled(if: Tools.has(Tools.openssl), "needs /usr/bin/openssl"))
    func spkiHashMatchesOpenSSLForECDSAAndRSA() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = PKIStore(directory: dir.url.appendingPathComponent("pki"))
        try store.ensureCA(name: "ca", commonName: "ca")
        // An RSA CA as kubeadm makes it (openssl here only produces the input).
        let rsaKey = dir.url.appendingPathComponent("rsa.key").path
        let rsaCert = dir.url.appendingPathComponent("rsa.crt").path
        let made = try run(
            Tools.openssl,
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", rsaKey, "-out", rsaCert,
                "-subj", "/CN=kubernetes", "-days", "2",
            ])
        #expect(made.status == 0, "\(made.output)")
        for path in [store.certificateURL("ca").path, rsaCert] {
            // openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256
            let pubkey = try run(Tools.openssl, ["x509", "-noout", "-pubkey", "-in", path])
            let der = dir.url.appendingPathComponent("spki.der").path
            let converted = try run(
                Tools.openssl, ["pkey", "-pubin", "-outform", "der", "-out", der], stdin: pubkey.stdout)
            #expect(converted.status == 0, "\(converted.output)")
            let digest = try run(Tools.openssl, ["dgst", "-sha256", "-r", der])
            let expected = "sha256:" + String(digest.stdout.prefix(64))
            let pem = try String(contentsOfFile: path, encoding: .utf8)
            #expect(try PKIStore.spkiSHA256(ofCertificatePEM: pem) == expected)
        }
    }
}

@Suite(.serialized) struct EtcdInteropTests {
    @Test(
        .enabled(if: Tools.has(Tools.etcd, Tools.etcdctl), "needs Debian's etcd-server and etcd-client"),
        .timeLimit(.minutes(2)))
    func realEtcdAcceptsOurCertificatesAndRefusesAnotherCA() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let store = PKIStore(directory: dir.url.appendingPathComponent("pki"))
        try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
        try store.ensure("member", request: .etcdMember(name: "test", addresses: ["127.0.0.1"]), caName: EtcdPKI.caName)
        try store.ensure("etcdctl", request: .etcdctlClient(), caName: EtcdPKI.caName)
        try store.ensure("apiserver", request: .kubeAPIServerEtcdClient(), caName: EtcdPKI.caName)
        let stranger = PKIStore(directory: dir.url.appendingPathComponent("other"))
        try stranger.ensureCA(name: "other-ca", commonName: "other-ca")
        try stranger.ensure("etcdctl", request: .etcdctlClient(), caName: "other-ca")

        let clientPort = try freeLoopbackPort()
        var peerPort = try freeLoopbackPort()
        while peerPort == clientPort { peerPort = try freeLoopbackPort() }
        let client = "https://127.0.0.1:\(clientPort)"
        let peer = "https://127.0.0.1:\(peerPort)"
        let ca = store.certificateURL(EtcdPKI.caName).path
        let cert = store.certificateURL("member").path
        let key = store.keyURL("member").path
        let log = dir.url.appendingPathComponent("etcd.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: log)

        let etcd = Process()
        etcd.executableURL = URL(fileURLWithPath: Tools.etcd)
        etcd.arguments = [
            "--name", "test", "--data-dir", dir.url.appendingPathComponent("data").path,
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", "test=\(peer)", "--initial-cluster-state", "new",
            "--client-cert-auth", "--trusted-ca-file", ca, "--cert-file", cert, "--key-file", key,
            "--peer-client-cert-auth", "--peer-trusted-ca-file", ca, "--peer-cert-file", cert, "--peer-key-file", key,
        ]
        etcd.environment = [
            "PATH": "/usr/bin:/bin",
            "ETCD_UNSUPPORTED_ARCH": ProcessInfo.processInfo.environment["ETCD_UNSUPPORTED_ARCH"] ?? "",
        ]
        etcd.standardOutput = logHandle
        etcd.standardError = logHandle
        try etcd.run()
        defer {
            stop(etcd)
            try? logHandle.close()
        }

        func health(_ pki: PKIStore, ca caPath: String, name: String) throws -> ProcessResult {
            try run(
                Tools.etcdctl,
                [
                    "--endpoints", client, "--cacert", caPath, "--cert", pki.certificateURL(name).path,
                    "--key", pki.keyURL(name).path, "--dial-timeout", "3s", "--command-timeout", "5s",
                    "endpoint", "health",
                ],
                environment: ["ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"], timeout: 20)
        }

        var result = try health(store, ca: ca, name: "etcdctl")
        let deadline = Date() + 30
        while result.status != 0 && Date() < deadline && etcd.isRunning {
            usleep(300_000)
            result = try health(store, ca: ca, name: "etcdctl")
        }
        let etcdLog = { (try? String(contentsOf: log, encoding: .utf8)).map { String($0.suffix(3000)) } ?? "" }
        #expect(result.status == 0, "etcdctl: \(result.output)\netcd log:\n\(etcdLog())")
        #expect(result.output.contains("is healthy"))

        let apiserver = try health(store, ca: ca, name: "apiserver")
        #expect(apiserver.status == 0, "\(apiserver.output)")

        // A client certificate from another CA is refused by etcd.
        let refused = try health(stranger, ca: ca, name: "etcdctl")
        #expect(refused.status != 0, "etcd accepted a client certificate from another CA: \(refused.output)")
        #expect(refused.output.contains("unhealthy") || refused.output.contains("certificate"), "\(refused.output)")
        #expect(
            etcdLog().contains("bad certificate") || etcdLog().contains("certificate signed by unknown authority"),
            "etcd log does not show the refusal:\n\(etcdLog())")

        stop(etcd)
        #expect(!etcd.isRunning)
    }
}
