import CairnCore
import CairnEngine
import CairnInventory
import CairnPKI
import Foundation

/// One certificate on one host and when it ends (docs/certificates.md).
public struct CertificateExpiry: Sendable, Equatable, Encodable {
    /// Who makes it again, which decides what renews it.
    public enum Owner: String, Sendable, Encodable {
        /// kubeadm's leaf certificates and kubeconfigs: `kubeadm certs renew`, then the static pods restart.
        case kubeadm
        /// A CA (kubeadm's or Cairn's etcd CA): never renewed automatically (docs/pki.md).
        case authority
        /// Cairn's etcd certificates: reissued by `etcd-pki`, rolled out with a member restart.
        case etcd
        /// The kubelet's client certificate, which the kubelet rotates itself.
        case kubelet
    }

    public let host: String
    public let path: String
    public let issuer: String
    /// Its subject's CN, then its subject alternative names ("DNS:x", "IP:y").
    public let names: [String]
    /// Seconds since 1970.
    public let notAfter: Int
    public let owner: Owner

    public func daysLeft(now: Date) -> Int {
        let seconds = notAfter - Int(now.timeIntervalSince1970)
        return seconds < 0 ? -1 - (-seconds / 86_400) : seconds / 86_400
    }

    /// Whether it must be renewed now. A kubelet client certificate counts only in its last 10
    /// days: the kubelet rotates it between 70 and 90 % of its life, so 90 days before the end of a
    /// one-year certificate is no sign of trouble.
    public func isDue(now: Date, renewBeforeDays: Int) -> Bool {
        let left = daysLeft(now: now)
        return owner == .kubelet ? left < 10 : left < renewBeforeDays
    }
}

/// Where the certificates are and how they are read (`cairn-cert-expiry`).
public enum Certificates {
    /// kubeadm's certificates that `kubeadm certs renew all` makes again (with external etcd).
    public static let renewedByKubeadm = [
        "/etc/kubernetes/pki/apiserver.crt", "/etc/kubernetes/pki/apiserver-kubelet-client.crt",
        "/etc/kubernetes/pki/front-proxy-client.crt", "/etc/kubernetes/admin.conf",
        "/etc/kubernetes/super-admin.conf", "/etc/kubernetes/controller-manager.conf",
        "/etc/kubernetes/scheduler.conf",
    ]
    static let kubeletClient = "/var/lib/kubelet/pki/kubelet-client-current.pem"

    /// What to read on `host`: kubeadm's directory and kubeconfigs on a control-plane host,
    /// etcd's directory on a member, the kubelet's client certificate on a node.
    public static func paths(for host: Host) -> [String] {
        var paths: [String] = []
        if host.has(.controlPlane) {
            paths += ["/etc/kubernetes/pki"] + renewedByKubeadm.filter { $0.hasSuffix(".conf") }
        }
        if host.has(.etcd) { paths.append(EtcdLayout.pkiDirectory) }
        if host.has(.controlPlane) || host.has(.worker) { paths.append(kubeletClient) }
        return paths
    }

    public static func command(for host: Host) -> RemoteCommand {
        .script(.cairnCertExpiry, arguments: paths(for: host))
    }

    /// `cairn-cert-expiry` lines ("PATH<TAB>BASE64 PEM"), read, as they belong to `host`; what does
    /// not parse as a certificate is left out.
    public static func parse(_ output: String, host: String) -> [CertificateExpiry] {
        output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard fields.count == 2, let pem = Data(base64Encoded: fields[1]),
                let summary = CertificateSummary.read(pem: String(decoding: pem, as: UTF8.self))
            else { return nil }
            return CertificateExpiry(
                host: host, path: fields[0], issuer: summary.issuer, names: summary.names,
                notAfter: Int(summary.notAfter.timeIntervalSince1970.rounded(.down)), owner: owner(of: fields[0]))
        }
    }

    static func owner(of path: String) -> CertificateExpiry.Owner {
        if renewedByKubeadm.contains(path) { return .kubeadm }
        if path == kubeletClient { return .kubelet }
        if path.hasSuffix("/ca.crt") || path.hasSuffix("-ca.crt") { return .authority }
        return .etcd
    }

    /// Reads every host's certificates; hosts that do not answer are returned apart.
    public static func gather(hosts: [EngineHost], topology: Topology, context: RunContext) async -> (
        certificates: [CertificateExpiry], unreachable: [String: String]
    ) {
        await withTaskGroup(of: (String, Result<[CertificateExpiry], any Error>).self) { group in
            for engineHost in hosts {
                guard let host = topology.host(named: engineHost.name) else { continue }
                group.addTask {
                    do {
                        let executor = try await context.executors.executor(for: engineHost)
                        let output = try await executor.runChecked(command(for: host), timeout: .seconds(30))
                        return (host.name, .success(parse(output.stdoutText, host: host.name)))
                    } catch {
                        return (host.name, .failure(error))
                    }
                }
            }
            var certificates: [CertificateExpiry] = []
            var unreachable: [String: String] = [:]
            for await (name, result) in group {
                switch result {
                case .success(let found): certificates += found
                case .failure(let error):
                    unreachable[name] = (error as? any CairnReportableError)?.summary ?? "\(error)"
                }
            }
            return (
                certificates.sorted { ($0.notAfter, $0.host, $0.path) < ($1.notAfter, $1.host, $1.path) },
                unreachable
            )
        }
    }
}

/// `certificates`: kubeadm's certificates on a control-plane host that end within
/// `certificates.renewBeforeDays` are renewed (`kubeadm certs renew all`), then that host's
/// control-plane static pods restarted and awaited, one host at a time, so the other API servers
/// serve meanwhile. Cairn's etcd certificates are reissued by `etcd-pki` with the same window;
/// CAs and the kubelet's own certificate are only reported (`cairn certs`).
public struct CertificateRenewalPhase: Phase {
    public let name = "certificates"
    public let title = "Certificate renewal (kubeadm's, one control-plane host at a time)"
    let topology: Topology
    let now: @Sendable () -> Date
    /// `cairn certs renew`: every host's, whatever their end.
    let renewAll: Bool

    public init(topology: Topology, renewAll: Bool = false, now: @escaping @Sendable () -> Date = { Date() }) {
        self.topology = topology
        self.renewAll = renewAll
        self.now = now
    }

    public struct Facts: Sendable, Codable, Equatable {
        /// kubeadm's certificates on this host, by path (epoch of their end); empty before kubeadm
        /// ran. `tls:ADDRESS:6443` is the one its API server serves.
        public var kubeadm: [String: Int]
    }

    /// kubeadm's certificates, and the one this host's API server serves.
    static func factsCommand(address: String) -> RemoteCommand {
        .script(.cairnCertExpiry, arguments: Certificates.renewedByKubeadm + [servedPath(address)])
    }

    static func servedPath(_ address: String) -> String { "tls:\(EtcdLayout.bracketed(address)):6443" }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> Facts {
        let output = try await executor.runChecked(
            Self.factsCommand(address: topology.internalAddress(of: host.name)), timeout: .seconds(30))
        var kubeadm: [String: Int] = [:]
        for certificate in Certificates.parse(output.stdoutText, host: host.name) {
            kubeadm[certificate.path] = certificate.notAfter
        }
        return Facts(kubeadm: kubeadm)
    }

    public func plan(facts: [EngineHost: Facts], context: PhaseContext) throws -> PhasePlan {
        let window = topology.inventory.certificates.renewBeforeDays
        let limit = Int(now().timeIntervalSince1970) + window * 86_400
        let stamp = String(Int(now().timeIntervalSince1970))
        var actions: [Action] = []
        for host in topology.controlPlanes {
            guard let engineHost = facts.keys.first(where: { $0.name == host.name }),
                let found = facts[engineHost]?.kubeadm
            else { continue }
            let served = Self.servedPath(host.internalAddress)
            let due = found.filter { $0.key != served && ($0.value < limit || renewAll) }.keys.sorted()
            let predicted = context.isPredicted(host.name)
            let restart = { (why: String) in
                Action.command(
                    host: host.name, summary: "restart the control-plane static pods on \(host.name)\(why)",
                    .script(.cairnRestartControlPlane, arguments: [host.internalAddress, stamp]),
                    timeout: .seconds(300), predicted: predicted)
            }
            guard !due.isEmpty else {
                // Renewed by a run killed before the restart: the files are new, the server is not.
                if let servedEnd = found[served], let fileEnd = found["/etc/kubernetes/pki/apiserver.crt"],
                    servedEnd != fileEnd
                {
                    actions.append(restart(" (its API server serves an older certificate than apiserver.crt)"))
                }
                continue
            }
            let names = due.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
            actions.append(
                .command(
                    host: host.name,
                    summary: "kubeadm certs renew all on \(host.name) ("
                        + (renewAll ? "asked for" : "\(names) within \(window) days") + ")",
                    RemoteCommand("kubeadm", ["certs", "renew", "all"]), timeout: .seconds(120), predicted: predicted))
            actions.append(restart(" and wait for its API server"))
        }
        let notes =
            actions.isEmpty
            ? ["kubeadm's certificates on \(topology.controlPlanes.count) control-plane hosts end after \(window) days"]
            : []
        return PhasePlan(actions: actions, execution: .serial, notes: notes)
    }

    public func gate(context: PhaseContext) -> Gate? {
        guard let first = topology.firstControlPlane,
            let anchor = context.hosts.first(where: { $0.name == first.name })
        else { return nil }
        let endpoint = topology.apiEndpoint
        let members = topology.etcdMembers
        let etcdHosts = topology.etcdHosts(among: context.allHosts)
        return Gate(name: "API ready through \(endpoint), etcd healthy", timeout: .seconds(120)) { context in
            let executor = try await context.run.executors.executor(for: anchor)
            let ready = try await executor.run(
                RemoteCommand("curl", ["-sk", "--max-time", "3", "https://\(endpoint)/readyz"]), stdin: nil,
                timeout: .seconds(10))
            guard ready.stdoutText == "ok" else { return .notYet("/readyz through \(endpoint) not ok yet") }
            return try await EtcdHealthCheck.check(members: members, hosts: etcdHosts, context: context.run)
        }
    }
}
