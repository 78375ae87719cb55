import Foundation
import SwiftASN1
import X509

/// What `cairn certs` and the certificate facts read from a certificate found on a host.
public struct CertificateSummary: Sendable, Equatable {
    public let notAfter: Date
    /// The issuer's CN ("" without one).
    public let issuer: String
    /// Its subject's CN, then its subject alternative names ("DNS:x", "IP:y", "email:z", "URI:u").
    public let names: [String]

    /// The first certificate of `pem` (a file may hold a chain); nil when there is none or it does
    /// not parse.
    public static func read(pem: String) -> CertificateSummary? {
        guard let begin = pem.range(of: "-----BEGIN CERTIFICATE-----"),
            let end = pem.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<pem.endIndex),
            let certificate = try? Certificate(pemEncoded: String(pem[begin.lowerBound..<end.upperBound]))
        else { return nil }
        var names: [String] = []
        if let subject = PKIStore.subjectNames(certificate.subject).commonName { names.append(subject) }
        if let sans = (try? certificate.extensions.subjectAlternativeNames) ?? nil {
            for name in sans {
                switch name {
                case .dnsName(let dns): names.append("DNS:" + dns)
                case .ipAddress(let octets): names.append("IP:" + IPAddress.format(Array(octets.bytes)))
                case .rfc822Name(let mail): names.append("email:" + mail)
                case .uniformResourceIdentifier(let uri): names.append("URI:" + uri)
                default: break
                }
            }
        }
        return CertificateSummary(
            notAfter: certificate.notValidAfter,
            issuer: PKIStore.subjectNames(certificate.issuer).commonName ?? "", names: names)
    }
}
