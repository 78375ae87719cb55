import CairnCore
import CairnEngine
import CairnInventory
import CairnTesting
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import CairnPhases

/// Certificates: what is read where, who renews what, and the renewal phase's exact commands.
@Suite struct CertificateTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)
    static let day = 86_400

    /// Each control-plane host's facts: kubeadm's certificates and the one its API server serves.
    func expectFacts(_ harness: PhaseHarness, stdout: (Int) -> String) {
        for n in 1...3 {
            harness["cp\(n)"].expect(
                exactly: .script(.cairnCertExpiry, arguments: Certificates.renewedByKubeadm + ["tls:10.0.0.\(n):6443"]),
                stdout: stdout(n))
        }
    }

    @Test func eachRoleReadsItsOwnCertificates() throws {
        let topology = try Fixture.cluster(workers: 1)
        #expect(
            Certificates.paths(for: topology.host(named: "cp1")!) == [
                "/etc/kubernetes/pki", "/etc/kubernetes/admin.conf", "/etc/kubernetes/super-admin.conf",
                "/etc/kubernetes/controller-manager.conf", "/etc/kubernetes/scheduler.conf", "/etc/etcd/pki",
                "/var/lib/kubelet/pki/kubelet-client-current.pem",
            ])
        #expect(
            Certificates.paths(for: topology.host(named: "w1")!) == ["/var/lib/kubelet/pki/kubelet-client-current.pem"])
    }

    @Test func linesParseIntoOwnersAndDueDates() {
        let base = Int(Self.now.timeIntervalSince1970)
        let output = Fixture.certificates(
            [
                "\(base + 30 * Self.day)\tkubernetes\tcn\t/etc/kubernetes/pki/apiserver.crt",
                "\(base + 3650 * Self.day)\tkubernetes\tcn\t/etc/kubernetes/pki/ca.crt",
                "\(base + 200 * Self.day)\tetcd-ca\tcn\t/etc/etcd/pki/member.crt",
                "\(base + 40 * Self.day)\tkubernetes\tcn\t/var/lib/kubelet/pki/kubelet-client-current.pem",
                "\(base - 10)\tkubernetes\tcn\t/etc/kubernetes/admin.conf",
                "garbage",
            ].joined(separator: "\n"))
        let parsed = Certificates.parse(output, host: "cp1")
        #expect(parsed.map(\.owner) == [.kubeadm, .authority, .etcd, .kubelet, .kubeadm])
        #expect(parsed.map { $0.daysLeft(now: Self.now) } == [30, 3650, 200, 40, -1])
        // The kubelet rotates its own: due only in its last 10 days.
        #expect(parsed.map { $0.isDue(now: Self.now, renewBeforeDays: 90) } == [true, false, false, false, true])
    }

    /// The script prints each certificate's PEM; Cairn reads its end, issuer, subject and
    /// alternative names itself (swift-certificates).
    @Test func certificatesAreReadFromTheirPEM() throws {
        let key = P256.Signing.PrivateKey()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: Date(timeIntervalSince1970: 1_700_000_000),
            notValidAfter: Date(timeIntervalSince1970: 1_800_000_000),
            issuer: try DistinguishedName { CommonName("kubernetes") },
            subject: try DistinguishedName {
                OrganizationName("system:masters")
                CommonName("kube-apiserver")
            },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames([
                    .dnsName("node1"), .ipAddress(ASN1OctetString(contentBytes: [10, 0, 0, 1])),
                    .ipAddress(ASN1OctetString(contentBytes: [0xfd, 0] + Array(repeating: 0, count: 13) + [1])),
                ])
            }, issuerPrivateKey: .init(key))
        let pem = try certificate.serializeAsPEM().pemString
        let output =
            "/etc/kubernetes/pki/apiserver.crt\t" + Data(pem.utf8).base64EncodedString() + "\n"
            + "/etc/kubernetes/pki/broken.crt\t" + Data("not a certificate".utf8).base64EncodedString() + "\n"
        #expect(
            Certificates.parse(output, host: "cp1") == [
                CertificateExpiry(
                    host: "cp1", path: "/etc/kubernetes/pki/apiserver.crt", issuer: "kubernetes",
                    names: ["kube-apiserver", "DNS:node1", "IP:10.0.0.1", "IP:fd00::1"], notAfter: 1_800_000_000,
                    owner: .kubeadm)
            ])
    }

    /// cp1's apiserver certificate ends within the window, cp2's and cp3's do not: only cp1's
    /// certificates are renewed and its static pods restarted, serially.
    @Test func onlyTheHostWithCertificatesInTheWindowIsRenewed() async throws {
        let topology = try Fixture.cluster(workers: 0, extra: "certificates: {renewBeforeDays: 60}")
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        let base = Int(Self.now.timeIntervalSince1970)
        expectFacts(harness) { n in
            let apiserver = base + (n == 1 ? 59 : 61) * Self.day
            return Fixture.certificates(
                "\(apiserver)\tkubernetes\tcn\t/etc/kubernetes/pki/apiserver.crt\n\(base + 300 * Self.day)\tkubernetes\tcn\t/etc/kubernetes/admin.conf\n\(apiserver)\tkubernetes\tcn\ttls:10.0.0.\(n):6443\n"
            )
        }
        let cp1 = harness["cp1"]
        cp1.expect(exactly: RemoteCommand("kubeadm", ["certs", "renew", "all"]))
        cp1.expect(exactly: .script(.cairnRestartControlPlane, arguments: ["10.0.0.1", "1790000000"]))
        let phase = CertificateRenewalPhase(topology: topology, now: { Self.now })
        let (result, events) = await harness.run(WithoutGate(phase), on: .roles(["control-plane"]))
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        #expect(
            events.planned == [
                "cp1: kubeadm certs renew all on cp1 (apiserver.crt within 60 days)",
                "cp1: restart the control-plane static pods on cp1 and wait for its API server",
            ])
        harness.expectExactlyTheExpectedCommands()
    }

    /// Before kubeadm ran (no certificates) and far from the end: nothing to do.
    @Test func freshCertificatesNeedNothing() async throws {
        let topology = try Fixture.cluster(workers: 0)
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        let base = Int(Self.now.timeIntervalSince1970)
        expectFacts(harness) { n in
            n == 2 ? "" : Fixture.certificates("\(base + 91 * Self.day)\tkubernetes\tcn\t/etc/kubernetes/admin.conf\n")
        }
        let phase = CertificateRenewalPhase(topology: topology, now: { Self.now })
        let (result, events) = await harness.run(WithoutGate(phase), on: .roles(["control-plane"]), mode: .plan)
        #expect(result.outcome == .succeeded)
        #expect(events.planned.isEmpty)
        harness.expectExactlyTheExpectedCommands()
    }

    /// Renewed by a run killed before the restart: nothing is due any more, but the API server
    /// still serves the old certificate, so only the restart is planned.
    @Test func aServerStillServingTheOldCertificateIsRestarted() async throws {
        let topology = try Fixture.cluster(workers: 0)
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        let base = Int(Self.now.timeIntervalSince1970)
        expectFacts(harness) { n in
            let served = base + (n == 2 ? 50 : 365) * Self.day
            return Fixture.certificates(
                "\(base + 365 * Self.day)\tkubernetes\tcn\t/etc/kubernetes/pki/apiserver.crt\n\(served)\tkubernetes\tcn\ttls:10.0.0.\(n):6443\n"
            )
        }
        harness["cp2"].expect(exactly: .script(.cairnRestartControlPlane, arguments: ["10.0.0.2", "1790000000"]))
        let phase = CertificateRenewalPhase(topology: topology, now: { Self.now })
        let (result, events) = await harness.run(WithoutGate(phase), on: .roles(["control-plane"]))
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        #expect(
            events.planned == [
                "cp2: restart the control-plane static pods on cp2 (its API server serves an older certificate than apiserver.crt)"
            ])
        harness.expectExactlyTheExpectedCommands()
    }

    /// `cairn certs renew`: every host that has kubeadm's certificates, whatever their end.
    @Test func renewAllRenewsEveryControlPlaneHost() async throws {
        let topology = try Fixture.cluster(workers: 0)
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        let base = Int(Self.now.timeIntervalSince1970)
        expectFacts(harness) { n in
            n == 2 ? "" : Fixture.certificates("\(base + 300 * Self.day)\tkubernetes\tcn\t/etc/kubernetes/admin.conf\n")
        }
        for n in [1, 3] {
            harness["cp\(n)"].expect(exactly: RemoteCommand("kubeadm", ["certs", "renew", "all"]))
            harness["cp\(n)"].expect(
                exactly: .script(.cairnRestartControlPlane, arguments: ["10.0.0.\(n)", "1790000000"]))
        }
        let phase = CertificateRenewalPhase(topology: topology, renewAll: true, now: { Self.now })
        let (result, events) = await harness.run(WithoutGate(phase), on: .roles(["control-plane"]))
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        #expect(events.planned.first == "cp1: kubeadm certs renew all on cp1 (asked for)")
        harness.expectExactlyTheExpectedCommands()
    }
}
