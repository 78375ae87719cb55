import CairnTesting
import Foundation
import Testing

/// Certificate renewal end to end (long tier). The lab's kubeadm stand-in issues leaf certificates
/// for 60 days while its cert-lifetime knob is set (docs/lab-k8s.md), which real kubeadm cannot;
/// renewal, the static pod restarts, haproxy and the watch through the endpoint are as in production.
@Suite(.serialized, .lab, .longTier, .timeLimit(.minutes(20)))
struct CertificateLabTests {
    /// Built with 60-day certificates and a 30-day window: nothing is due. With the default
    /// 90-day window `cairn certs` exits 75 naming kubeadm's certificates; `cairn apply` renews them
    /// one control-plane host at a time while the API answers through the endpoint throughout;
    /// afterwards every API server serves a certificate of a year and `cairn certs` exits 0.
    @Test func shortLivedCertificatesAreRenewedWithTheAPIAnswering() throws {
        let lab = try Lab.up("t-certs", hosts: 4)
        defer { lab.down() }
        let tool = Lab.repositoryRoot.appendingPathComponent("scripts/lab-k8s").path
        let controlPlanes = ["node1", "node2", "node3"]
        for host in controlPlanes { try Lab.shell([tool, "fault", lab.name, host, "cert-lifetime", "60d"]) }
        let roles: [(host: String, roles: [String])] =
            controlPlanes.map { ($0, ["control-plane", "etcd"]) } + [("node4", ["worker"])]
        let narrow = try Self.inventory(lab, "certs-30.yaml", roles: roles, window: 30)
        let built = try Lab.cairn(["apply", "--yes", "-i", narrow])
        #expect(built.status == 0, "\(built.stdout.suffix(3000))\(built.stderr)")
        #expect(!built.stdout.contains("kubeadm certs renew"))
        let quiet = try Lab.cairn(["certs", "-i", narrow])
        #expect(quiet.status == 0, "\(quiet.stdout)\(quiet.stderr)")

        let inventory = try Self.inventory(lab, "certs.yaml", roles: roles, window: nil)
        let before = try Lab.cairn(["certs", "-i", inventory])
        #expect(before.status == 75, "\(before.stdout)\(before.stderr)")
        #expect(before.stdout.contains("/etc/kubernetes/pki/apiserver.crt"))
        let json = try Lab.cairn(["certs", "-i", inventory, "--output", "json"])
        let due = Self.due(json.stdout)
        #expect(Set(due.map(\.host)) == Set(controlPlanes), "\(due)")
        #expect(due.allSatisfy { $0.daysLeft >= 58 && $0.daysLeft <= 60 }, "\(due)")

        for host in controlPlanes { try Lab.shell([tool, "fault", lab.name, host, "cert-lifetime-default"]) }
        let watch = try ReadyzWatch(lab)
        let renewed = try Lab.cairn(["apply", "--yes", "-i", inventory])
        let samples = watch.stop()
        #expect(renewed.status == 0, "\(renewed.stdout.suffix(3000))\(renewed.stderr)")
        for host in controlPlanes { #expect(renewed.stdout.contains("kubeadm certs renew all on \(host)")) }
        let misses = samples.filter { !$0 }.count
        #expect(samples.count > 20 && misses == 0, "\(misses) of \(samples.count) /readyz answers missed")

        let after = try Lab.cairn(["certs", "-i", inventory])
        #expect(after.status == 0, "\(after.stdout)\(after.stderr)")
        // Each API server serves the renewed certificate (its static pod restarted).
        for host in controlPlanes {
            let address = lab.host(host).address
            let served = try lab.exec(
                "node4",
                "echo | openssl s_client -connect \(address):6443 2>/dev/null | openssl x509 -noout -enddate | sed 's/notAfter=//'"
            )
            let end = try lab.exec("node4", "date -d '\(served.trimmingCharacters(in: .whitespacesAndNewlines))' +%s")
            let days =
                ((Int(end.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) - Int(Date().timeIntervalSince1970))
                / 86_400
            #expect(days >= 360, "\(host) serves a certificate ending in \(days) days")
        }
        let again = try Lab.cairn(["plan", "--detailed-exitcode", "-i", inventory])
        #expect(again.status == 0, "\(again.stdout.suffix(3000))")
    }

    struct Due: Decodable {
        let host: String
        let path: String
        let daysLeft: Int
        let due: Bool
    }

    static func due(_ json: String) -> [Due] {
        struct Report: Decodable { let certificates: [Due] }
        let report = try? JSONDecoder().decode(Report.self, from: Data(json.utf8))
        return (report?.certificates ?? []).filter(\.due)
    }

    /// The lab's inventory with only the add-ons a Ready node needs and `certificates.renewBeforeDays`.
    static func inventory(_ lab: Lab, _ file: String, roles: [(host: String, roles: [String])], window: Int?)
        throws -> String
    {
        let path = try lab.writeInventory(
            file, roles: roles, extra: window.map { "certificates: {renewBeforeDays: \($0)}\n" } ?? "")
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(
            of: #"\naddons:\n(  .*\n)*"#,
            with: "\naddons:\n  metallb: {enabled: false}\n  ingress: {enabled: false}\n  rookCeph: {enabled: false}\n",
            options: .regularExpression)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `kubectl get --raw /readyz` through the endpoint (the operator's kubeconfig), about twice a
    /// second, until `stop()`.
    final class ReadyzWatch {
        let output = Lab.temporaryPath("readyz.log")
        let stopFile = Lab.temporaryPath("readyz.stop")
        let process = Process()

        init(_ lab: Lab) throws {
            let config = lab.directory.appendingPathComponent("state/kubeconfig").path
            // The machine's /usr/bin/kubectl is too old: the lab mirror's, of the default version.
            let mirror = lab.directory.deletingLastPathComponent().appendingPathComponent(".mirror").path
            let kubectl = "\(mirror)/dl.k8s.io/release/v1.36.4/bin/linux/amd64/kubectl"
            let loop = """
                while [ ! -e '\(stopFile)' ]; do
                  r=$('\(kubectl)' --kubeconfig '\(config)' --request-timeout=2s get --raw /readyz 2>/dev/null) || r=ERR
                  echo "${r:-ERR}"
                  sleep 0.5
                done
                """
            process.executableURL = URL(fileURLWithPath: Lab.script)
            process.arguments = ["run", "--", "sh", "-c", loop]
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Whether each sample answered "ok".
        func stop() -> [Bool] {
            _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
            process.waitUntilExit()
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").map { $0 == "ok" }
        }
    }
}
