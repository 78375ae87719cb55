import Crypto
import Foundation
import SwiftASN1
import X509

extension PKIStore {
    struct Issued {
        let certificatePEM: String
        let keyPEM: String
    }

    // MARK: - Checks shared by status and ensure

    /// Why a request cannot be issued at all, or nil.
    static func requestProblem(_ request: CertificateRequest) -> String? {
        if request.commonName.isEmpty { return "the common name is empty" }
        if request.validityDays <= 0 { return "the validity must be at least one day" }
        for ip in request.ipAddresses where IPAddress.parse(ip) == nil {
            return "\(ip.debugDescription) is not an IPv4 or IPv6 address"
        }
        for name in request.dnsNames where name.isEmpty || name.contains(where: { $0.isWhitespace || $0 == "/" }) {
            return "\(name.debugDescription) is not a DNS name"
        }
        return nil
    }

    /// Why a loaded pair cannot serve as a CA, or nil.
    static func caProblem(_ pair: Pair) -> String? {
        if pair.certificate.publicKey != pair.key.publicKey {
            return "key does not match the certificate"
        }
        guard
            case .isCertificateAuthority = (try? pair.certificate.extensions.basicConstraints)
                ?? .notCertificateAuthority
        else {
            return "the certificate is not a CA (no BasicConstraints CA:TRUE)"
        }
        return nil
    }

    /// "etcd-ca" → "etcd CA", "ca" → "CA", anything else → "CA other".
    static func caLabel(_ name: String) -> String {
        if name == "ca" { return "CA" }
        if name.hasSuffix("-ca") { return "\(name.dropLast(3)) CA" }
        return "CA \(name)"
    }

    /// Whole days left; 0 for less than a day.
    static func daysLeft(until end: Date, from start: Date) -> Int {
        Int((end.timeIntervalSince(start) / 86_400).rounded(.down))
    }

    static func subjectNames(_ name: DistinguishedName) -> (commonName: String?, organization: String?) {
        var commonName: String?
        var organization: String?
        for rdn in name {
            for attribute in rdn {
                if attribute.type == .RDNAttributeType.commonName, commonName == nil {
                    commonName = String(attribute.value)
                } else if attribute.type == .RDNAttributeType.organizationName, organization == nil {
                    organization = String(attribute.value)
                }
            }
        }
        return (commonName, organization)
    }

    /// Requested SANs the certificate lacks, DNS names first, in request order. DNS names
    /// compare case-insensitively, IP addresses by value (`::1` = `0:0:0:0:0:0:0:1`).
    static func missingSANs(_ certificate: Certificate, request: CertificateRequest) -> [String] {
        var dnsNames = Set<String>()
        var ips = Set<[UInt8]>()
        if let sans = (try? certificate.extensions.subjectAlternativeNames) ?? nil {
            for name in sans {
                switch name {
                case .dnsName(let dns): dnsNames.insert(dns.lowercased())
                case .ipAddress(let octets): ips.insert(Array(octets.bytes))
                default: break
                }
            }
        }
        var missing: [String] = []
        for dns in request.dnsNames where !dnsNames.contains(dns.lowercased()) && !missing.contains(dns) {
            missing.append(dns)
        }
        for ip in request.ipAddresses {
            if let bytes = IPAddress.parse(ip), !ips.contains(bytes), !missing.contains(ip) {
                missing.append(ip)
            }
        }
        return missing
    }

    // MARK: - Issuing

    static func signatureAlgorithm(for key: Certificate.PrivateKey) -> Certificate.SignatureAlgorithm {
        let supported = key.supportedSignatureAlgorithms
        for preferred in [Certificate.SignatureAlgorithm.ecdsaWithSHA256, .sha256WithRSAEncryption, .ed25519]
        where supported.contains(preferred) {
            return preferred
        }
        return supported.first ?? .ecdsaWithSHA256
    }

    static func distinguishedName(commonName: String, organization: String?) throws -> DistinguishedName {
        try DistinguishedName {
            if let organization {
                OrganizationName(organization)
            }
            CommonName(commonName)
        }
    }

    func validityWindow(days: Int) -> (notBefore: Date, notAfter: Date) {
        let current = now()
        // X.509 times have whole seconds.
        let base = Date(timeIntervalSince1970: current.timeIntervalSince1970.rounded(.down))
        return (base.addingTimeInterval(-Self.clockSkewAllowance), base.addingTimeInterval(TimeInterval(days) * 86_400))
    }

    func issueCA(name: String, commonName: String, validityDays: Int) throws -> Issued {
        do {
            let key = P256.Signing.PrivateKey()
            let privateKey = Certificate.PrivateKey(key)
            let subject = try Self.distinguishedName(commonName: commonName, organization: nil)
            let keyIdentifier = SubjectKeyIdentifier(hash: privateKey.publicKey)
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                keyIdentifier
                AuthorityKeyIdentifier(keyIdentifier: keyIdentifier.keyIdentifier)
            }
            let window = validityWindow(days: validityDays)
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: privateKey.publicKey,
                notValidBefore: window.notBefore,
                notValidAfter: window.notAfter,
                issuer: subject,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions,
                issuerPrivateKey: privateKey
            )
            return Issued(
                certificatePEM: try certificate.serializeAsPEM().pemString + "\n", keyPEM: key.pemRepresentation + "\n")
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError.issueFailed(name: name, reason: "\(error)")
        }
    }

    func issueLeaf(name: String, request: CertificateRequest, ca: Pair) throws -> Issued {
        do {
            let key = P256.Signing.PrivateKey()
            let privateKey = Certificate.PrivateKey(key)
            let subject = try Self.distinguishedName(commonName: request.commonName, organization: request.organization)
            var generalNames: [GeneralName] = []
            var seenDNS = Set<String>()
            for dns in request.dnsNames where seenDNS.insert(dns.lowercased()).inserted {
                generalNames.append(.dnsName(dns))
            }
            var seenIPs = Set<[UInt8]>()
            for ip in request.ipAddresses {
                guard let bytes = IPAddress.parse(ip) else {
                    throw PKIError.invalidRequest(
                        name: name, reason: "\(ip.debugDescription) is not an IPv4 or IPv6 address")
                }
                if seenIPs.insert(bytes).inserted {
                    generalNames.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes))))
                }
            }
            var usages: [ExtendedKeyUsage.Usage] = []
            if request.usage.needsServerAuth { usages.append(.serverAuth) }
            if request.usage.needsClientAuth { usages.append(.clientAuth) }
            let authorityKeyIdentifier =
                ((try? ca.certificate.extensions.subjectKeyIdentifier) ?? nil)?.keyIdentifier
                ?? SubjectKeyIdentifier(hash: ca.certificate.publicKey).keyIdentifier
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage(usages)
                if !generalNames.isEmpty {
                    SubjectAlternativeNames(generalNames)
                }
                SubjectKeyIdentifier(hash: privateKey.publicKey)
                AuthorityKeyIdentifier(keyIdentifier: authorityKeyIdentifier)
            }
            let window = validityWindow(days: request.validityDays)
            let certificate = try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: privateKey.publicKey,
                notValidBefore: window.notBefore,
                notValidAfter: window.notAfter,
                issuer: ca.certificate.subject,
                subject: subject,
                signatureAlgorithm: Self.signatureAlgorithm(for: ca.key),
                extensions: extensions,
                issuerPrivateKey: ca.key
            )
            return Issued(
                certificatePEM: try certificate.serializeAsPEM().pemString + "\n", keyPEM: key.pemRepresentation + "\n")
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError.issueFailed(name: name, reason: "\(error)")
        }
    }
}
