import Foundation

/// What a certificate must say: subject, names, usage and lifetime.
///
/// `PKIStore` compares an existing certificate with its request to decide whether it can be
/// reused: every requested name must be present (extra ones are fine), the usage must be
/// covered, the subject must match and the certificate must not be near its end.
public struct CertificateRequest: Sendable, Equatable, Hashable {
    /// How the certificate's key is used in TLS; decides the extended key usage.
    public enum Usage: String, Sendable, Equatable, Hashable, CaseIterable {
        /// TLS server only (serverAuth).
        case server
        /// TLS client only (clientAuth).
        case client
        /// Both: an etcd member's certificate serves clients and talks to its peers
        /// (serverAuth + clientAuth).
        case serverAndClient

        var needsServerAuth: Bool { self != .client }
        var needsClientAuth: Bool { self != .server }
    }

    /// Default lifetime of a leaf certificate.
    public static let defaultLeafValidityDays = 365
    /// Default lifetime of a CA.
    public static let defaultCAValidityDays = 3650

    public var commonName: String
    public var organization: String?
    /// DNS subject alternative names (host names, `localhost`).
    public var dnsNames: [String]
    /// IP subject alternative names, as IPv4 or IPv6 text (`10.0.0.5`, `::1`).
    public var ipAddresses: [String]
    public var usage: Usage
    /// Lifetime of a newly issued certificate, in days.
    public var validityDays: Int

    public init(
        commonName: String,
        organization: String? = nil,
        dnsNames: [String] = [],
        ipAddresses: [String] = [],
        usage: Usage,
        validityDays: Int = CertificateRequest.defaultLeafValidityDays
    ) {
        self.commonName = commonName
        self.organization = organization
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.usage = usage
        self.validityDays = validityDays
    }

    /// Lifetime as a `Duration`.
    public var validity: Duration { .seconds(validityDays * 86_400) }

    /// Every requested SAN as text, DNS names first, in request order, without duplicates.
    public var subjectAlternativeNames: [String] {
        var seen = Set<String>()
        return (dnsNames + ipAddresses).filter { seen.insert($0).inserted }
    }

    /// The certificate of one etcd member, used for both client-facing (server) and peer TLS.
    ///
    /// SANs: the member name, each of `addresses` (IP addresses become IP SANs, anything else a
    /// DNS SAN), `localhost`, `127.0.0.1` and `::1`.
    public static func etcdMember(name: String, addresses: [String], validityDays: Int = defaultLeafValidityDays)
        -> CertificateRequest
    {
        var dns: [String] = []
        var ips: [String] = []
        for value in [name] + addresses + ["localhost", "127.0.0.1", "::1"] {
            if IPAddress.parse(value) != nil {
                if !ips.contains(value) { ips.append(value) }
            } else if !dns.contains(where: { $0.lowercased() == value.lowercased() }) {
                dns.append(value)
            }
        }
        return CertificateRequest(
            commonName: name, dnsNames: dns, ipAddresses: ips,
            usage: .serverAndClient, validityDays: validityDays)
    }

    /// kube-apiserver's client certificate for etcd (kubeadm's `apiserver-etcd-client`).
    public static func kubeAPIServerEtcdClient(validityDays: Int = defaultLeafValidityDays) -> CertificateRequest {
        CertificateRequest(
            commonName: "kube-apiserver-etcd-client", organization: "system:masters",
            usage: .client, validityDays: validityDays)
    }

    /// The client certificate Cairn's own `etcdctl` calls use (health checks, member list).
    public static func etcdctlClient(validityDays: Int = defaultLeafValidityDays) -> CertificateRequest {
        CertificateRequest(commonName: "cairn-etcdctl", usage: .client, validityDays: validityDays)
    }
}
