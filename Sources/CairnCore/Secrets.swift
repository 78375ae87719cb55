import Foundation

/// A secret value (join token, certificate key, password). Its description never shows
/// the value, so interpolating it into a log line or an error cannot leak it.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// Scrubs known secret values out of any text before it is shown or written.
///
/// Secrets are registered as soon as Cairn learns them (generated tokens, keys read
/// from a host); every output path — progress, logs, journal, reports, error texts —
/// passes through `redact`. Also hides the body of PEM private keys whatever registered.
public final class Redactor: @unchecked Sendable {
    private let lock = NSLock()
    private var secrets: Set<String> = []

    public init() {}

    public func register(_ secret: String) {
        // Very short values would redact ordinary words; nothing Cairn generates is that short.
        guard secret.count >= 6 else { return }
        lock.lock()
        defer { lock.unlock() }
        secrets.insert(secret)
    }

    public func register(_ secret: Secret) { register(secret.value) }

    public func redact(_ text: String) -> String {
        lock.lock()
        let known = secrets
        lock.unlock()
        var out = text
        // Longest first, so a secret containing another is replaced whole.
        for secret in known.sorted(by: { $0.count > $1.count }) where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return Self.redactPrivateKeyBlocks(out)
    }

    static func redactPrivateKeyBlocks(_ text: String) -> String {
        guard text.contains("PRIVATE KEY-----") else { return text }
        var result = ""
        var inKey = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.contains("-----BEGIN") && line.contains("PRIVATE KEY-----") {
                inKey = true
                result += line + "\n<redacted>\n"
                continue
            }
            if inKey {
                if line.contains("-----END") {
                    inKey = false
                    result += line + "\n"
                }
                continue
            }
            result += line + "\n"
        }
        if !text.hasSuffix("\n") { result.removeLast() }
        return result
    }
}
