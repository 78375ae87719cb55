import CairnCore
import Crypto
import Foundation
import SwiftASN1
import X509

/// The state of a CA in the store, for `cairn plan` and for `ensureCA`.
public enum CAStatus: Sendable, Equatable {
    case missing
    case valid(notAfter: Date)
    /// Still valid, but ends within the renewal threshold.
    case expiring(daysLeft: Int)
    /// Past its end date: nothing it signs is trusted any more.
    case expired(notAfter: Date)
    /// The files exist but cannot be used; the reason is for people.
    case unreadable(reason: String)
}

/// Whether a leaf certificate in the store can be reused for a request.
public enum CertificateStatus: Sendable, Equatable {
    case missing
    case valid
    /// The reason is for people and precise: `missing SAN 10.0.0.5`, `expires in 12 days`,
    /// `not signed by the current etcd CA`, `key does not match the certificate`, …
    case needsReissue(reason: String)
}

/// What `ensure`/`ensureCA` changed; `nil` from them means "reused untouched".
public enum PKIChange: Sendable, Equatable, CustomStringConvertible {
    case created
    case reissued(reason: String)

    public var description: String {
        switch self {
        case .created: return "created"
        case .reissued(let reason): return "reissued (\(reason))"
        }
    }
}

/// The operator's PKI: a directory (mode 0700) of `NAME.crt` (0644) and `NAME.key` (0600) PEM files.
///
/// `status` functions are read-only (for `cairn plan`); `ensure` functions reuse what is valid
/// untouched — same bytes, same modification time — and otherwise write a new key and
/// certificate, each atomically (temporary file, then rename). Keys are ECDSA P-256.
public struct PKIStore: Sendable {
    /// A certificate ending within this many days is reissued (leaves) or reported (CAs).
    public static let defaultRenewalThresholdDays = 30
    /// notBefore is set this far in the past, so hosts whose clock is a little behind accept it.
    public static let clockSkewAllowance: TimeInterval = 5 * 60

    public let directory: URL
    let now: @Sendable () -> Date

    public init(directory: URL, now: @escaping @Sendable () -> Date = Date.init) {
        self.directory = directory
        self.now = now
    }

    public func certificateURL(_ name: String) -> URL { directory.appendingPathComponent("\(name).crt") }
    public func keyURL(_ name: String) -> URL { directory.appendingPathComponent("\(name).key") }

    // MARK: - Status (read-only)

    public func status(ofCA name: String, renewalThresholdDays: Int = PKIStore.defaultRenewalThresholdDays) -> CAStatus
    {
        guard Self.isValidName(name) else {
            return .unreadable(reason: "\(name.debugDescription) is not a valid file name")
        }
        let pair: Pair
        switch load(name) {
        case .missing: return .missing
        case .failed(let reason): return .unreadable(reason: reason)
        case .loaded(let loaded): pair = loaded
        }
        if let problem = Self.caProblem(pair) { return .unreadable(reason: problem) }
        let current = now()
        let notAfter = pair.certificate.notValidAfter
        if notAfter <= current { return .expired(notAfter: notAfter) }
        let days = Self.daysLeft(until: notAfter, from: current)
        if days < renewalThresholdDays { return .expiring(daysLeft: days) }
        return .valid(notAfter: notAfter)
    }

    public func status(
        of name: String,
        request: CertificateRequest,
        caName: String,
        renewalThresholdDays: Int = PKIStore.defaultRenewalThresholdDays
    ) -> CertificateStatus {
        guard Self.isValidName(name) else {
            return .needsReissue(reason: "\(name.debugDescription) is not a valid file name")
        }
        if let problem = Self.requestProblem(request) { return .needsReissue(reason: problem) }
        let pair: Pair
        switch load(name) {
        case .missing: return .missing
        case .failed(let reason): return .needsReissue(reason: reason)
        case .loaded(let loaded): pair = loaded
        }
        let certificate = pair.certificate
        if certificate.publicKey != pair.key.publicKey {
            return .needsReissue(reason: "key does not match the certificate")
        }

        let caLabel = Self.caLabel(caName)
        guard Self.isValidName(caName), case .loaded(let ca) = load(caName) else {
            return .needsReissue(reason: "the \(caLabel) is missing or unreadable")
        }
        if certificate.issuer != ca.certificate.subject
            || !ca.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
        {
            return .needsReissue(reason: "not signed by the current \(caLabel)")
        }

        var reasons: [String] = []
        let current = now()
        if certificate.notValidAfter <= current {
            reasons.append("expired")
        } else if certificate.notValidBefore > current {
            reasons.append("not valid before \(PKIError.format(certificate.notValidBefore))")
        } else {
            let days = Self.daysLeft(until: certificate.notValidAfter, from: current)
            if days < renewalThresholdDays {
                reasons.append(
                    days == 0
                        ? "expires in less than a day" : days == 1 ? "expires in 1 day" : "expires in \(days) days")
            }
        }

        let subject = Self.subjectNames(certificate.subject)
        if subject.commonName != request.commonName {
            reasons.append(
                "common name is \(subject.commonName.map { "\"\($0)\"" } ?? "missing"), needs \"\(request.commonName)\""
            )
        }
        if subject.organization != request.organization {
            let has = subject.organization.map { "\"\($0)\"" } ?? "missing"
            let wants = request.organization.map { "\"\($0)\"" } ?? "none"
            reasons.append("organization is \(has), needs \(wants)")
        }

        let usages = (try? certificate.extensions.extendedKeyUsage).flatMap { $0 }.map(Array.init) ?? []
        var neededUsages: [String] = []
        if request.usage.needsServerAuth && !usages.contains(.serverAuth) { neededUsages.append("serverAuth") }
        if request.usage.needsClientAuth && !usages.contains(.clientAuth) { neededUsages.append("clientAuth") }
        if !neededUsages.isEmpty {
            reasons.append("wrong usage (needs \(neededUsages.joined(separator: ", ")))")
        }

        let missing = Self.missingSANs(certificate, request: request)
        if missing.count == 1 {
            reasons.append("missing SAN \(missing[0])")
        } else if missing.count > 1 {
            reasons.append("missing SANs \(missing.joined(separator: ", "))")
        }

        return reasons.isEmpty ? .valid : .needsReissue(reason: reasons.joined(separator: "; "))
    }

    // MARK: - Ensure (writes)

    /// Creates the CA if it does not exist; reuses it untouched otherwise (also when it is
    /// near its end: replacing a CA is the operator's decision). Throws rather than replace a
    /// CA that exists but is unreadable or expired.
    @discardableResult
    public func ensureCA(
        name: String,
        commonName: String,
        validityDays: Int = CertificateRequest.defaultCAValidityDays
    ) throws -> PKIChange? {
        try Self.checkName(name)
        switch status(ofCA: name) {
        case .valid, .expiring:
            return nil
        case .expired(let notAfter):
            throw PKIError.caExpired(name: name, notAfter: notAfter, directory: directory.path)
        case .unreadable(let reason):
            throw PKIError.caUnreadable(name: name, path: certificateURL(name).path, reason: reason)
        case .missing:
            break
        }
        guard !commonName.isEmpty, validityDays > 0 else {
            throw PKIError.invalidRequest(name: name, reason: "a CA needs a common name and a positive validity")
        }
        let issued = try issueCA(name: name, commonName: commonName, validityDays: validityDays)
        try write(name: name, issued: issued)
        return .created
    }

    /// Reuses a valid certificate untouched; otherwise issues a new key and certificate signed
    /// by `caName`, which must exist (see `ensureCA`).
    @discardableResult
    public func ensure(
        _ name: String,
        request: CertificateRequest,
        caName: String,
        renewalThresholdDays: Int = PKIStore.defaultRenewalThresholdDays
    ) throws -> PKIChange? {
        try Self.checkName(name)
        try Self.checkName(caName)
        if let problem = Self.requestProblem(request) {
            throw PKIError.invalidRequest(name: name, reason: problem)
        }
        let change: PKIChange
        switch status(of: name, request: request, caName: caName, renewalThresholdDays: renewalThresholdDays) {
        case .valid:
            try tightenKeyMode(name)
            return nil
        case .missing:
            change = .created
        case .needsReissue(let reason):
            change = .reissued(reason: reason)
        }
        let ca = try loadCA(caName)
        let issued = try issueLeaf(name: name, request: request, ca: ca)
        try write(name: name, issued: issued)
        return change
    }

    // MARK: - Reading

    public func pem(of name: String) throws -> (certificate: String, key: String) {
        try Self.checkName(name)
        return (try readText(name, certificateURL(name)), try readText(name, keyURL(name)))
    }

    public func caCertificatePEM(_ name: String) throws -> String {
        try Self.checkName(name)
        return try readText(name, certificateURL(name))
    }

    /// `sha256:<hex>` of the certificate's DER SubjectPublicKeyInfo — the form of kubeadm's
    /// `--discovery-token-ca-cert-hash`. Works for any key type (a kubeadm CA is RSA).
    public static func spkiSHA256(ofCertificatePEM pem: String) throws -> String {
        do {
            let document = try PEMDocument(pemString: pem)
            guard document.discriminator == "CERTIFICATE" else {
                throw PKIError.unreadable(
                    name: "certificate", path: "<PEM>",
                    reason: "expected a CERTIFICATE, found \(document.discriminator)")
            }
            let spki = try subjectPublicKeyInfoDER(certificateDER: document.derBytes)
            return "sha256:" + SHA256Digest.hex(of: Data(spki))
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError.unreadable(name: "certificate", path: "<PEM>", reason: "not a PEM certificate (\(error))")
        }
    }

    /// The exact DER bytes of TBSCertificate.subjectPublicKeyInfo, as they are in the certificate.
    static func subjectPublicKeyInfoDER(certificateDER: [UInt8]) throws -> ArraySlice<UInt8> {
        let root = try DER.parse(certificateDER)
        guard case .constructed(let certificateNodes) = root.content,
            let tbs = certificateNodes.first(where: { _ in true }),
            case .constructed(let tbsNodes) = tbs.content
        else {
            throw PKIError.unreadable(name: "certificate", path: "<PEM>", reason: "not an X.509 certificate")
        }
        var fields = Array(tbsNodes)
        // version [0] EXPLICIT is optional (absent in v1 certificates).
        if let first = fields.first, first.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
            fields.removeFirst()
        }
        // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
        guard fields.count > 5, fields[5].identifier == .sequence else {
            throw PKIError.unreadable(name: "certificate", path: "<PEM>", reason: "no SubjectPublicKeyInfo")
        }
        return fields[5].encodedBytes
    }
}
