/// The strict grammars inventory values must match before Cairn uses them.
///
/// Everything here works on bytes of ASCII so that no Unicode look-alike, control character or
/// shell metacharacter can slip through. A value that fails never reaches a remote command; values
/// that pass are still quoted by `ShellQuote` when they become part of one.
public enum Grammar {
    static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (97...122).contains(byte) || (48...57).contains(byte)
    }

    static func isAlnum(_ byte: UInt8) -> Bool {
        isLowerAlnum(byte) || (65...90).contains(byte)
    }

    /// RFC 1123 label, lowercase: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
    public static func isDNSLabel(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...63).contains(bytes.count), isLowerAlnum(bytes.first!), isLowerAlnum(bytes.last!) else {
            return false
        }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// RFC 1123 hostname, lowercase: labels separated by dots, at most 253 characters.
    /// Kubernetes node names and DNS subdomains follow this rule.
    public static func isDNSSubdomain(_ text: String) -> Bool {
        guard (1...253).contains(text.utf8.count) else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
    }

    /// A DNS name as typed for an address: like `isDNSSubdomain` but case-insensitive.
    public static func isDNSName(_ text: String) -> Bool {
        isDNSSubdomain(text.lowercasedASCII)
    }

    /// An SSH address: an IP address, a DNS name, or an ssh_config `Host` alias
    /// (letters, digits, `.`, `_`, `-`; not starting with `-`, which ssh would read as an option).
    public static func isSSHAddress(_ text: String) -> Bool {
        if IPAddress(text) != nil { return true }
        let bytes = Array(text.utf8)
        // Digits and dots only, or a colon: meant as an IP address, and not a valid one.
        if bytes.allSatisfy({ (48...57).contains($0) || $0 == UInt8(ascii: ".") }) || text.contains(":") {
            return false
        }
        guard (1...253).contains(bytes.count), isAlnum(bytes.first!) || bytes.first == UInt8(ascii: "_") else {
            return false
        }
        return bytes.allSatisfy {
            isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    /// A certificate SAN: an IP address or a DNS name, optionally with a leading `*.` wildcard.
    public static func isSAN(_ text: String) -> Bool {
        if IPAddress(text) != nil { return true }
        if text.hasPrefix("*.") { return isDNSName(String(text.dropFirst(2))) }
        return isDNSName(text)
    }

    /// A Linux user name: `[a-z_][a-z0-9_-]*[$]?`, at most 32 characters.
    public static func isUserName(_ text: String) -> Bool {
        var bytes = Array(text.utf8)
        guard (1...32).contains(bytes.count) else { return false }
        if bytes.last == UInt8(ascii: "$") { bytes.removeLast() }
        guard let first = bytes.first, (97...122).contains(first) || first == UInt8(ascii: "_") else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
    public static func isEnvironmentName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, !(48...57).contains(first), bytes.count <= 255 else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") }
    }

    /// A network interface name as Linux accepts it (at most 15 bytes, no `/`, no spaces).
    public static func isInterfaceName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...15).contains(bytes.count), text != ".", text != ".." else { return false }
        return bytes.allSatisfy {
            isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                || $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: ":")
        }
    }

    /// A block device: `/dev/` then `[A-Za-z0-9/_.-]+`, with no `..` component.
    public static func isDevicePath(_ text: String) -> Bool {
        guard text.hasPrefix("/dev/"), text.utf8.count > 5, text.utf8.count <= 255 else { return false }
        let ok = text.utf8.dropFirst(5).allSatisfy {
            isAlnum($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                || $0 == UInt8(ascii: "-")
        }
        return ok && !text.split(separator: "/").contains("..") && !text.hasSuffix("/")
    }

    /// An absolute path on a host (`/var/lib/etcd`): printable ASCII without shell-special
    /// characters beyond `/._-+@:`, no `..` component.
    public static func isAbsoluteHostPath(_ text: String) -> Bool {
        guard text.hasPrefix("/"), text.utf8.count <= 4096 else { return false }
        let ok = text.utf8.allSatisfy {
            isAlnum($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "@")
                || $0 == UInt8(ascii: ":")
        }
        return ok && !text.split(separator: "/").contains("..")
    }

    /// The name part of a Kubernetes label key, and a non-empty label value:
    /// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
    static func isQualifiedNamePart(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...63).contains(bytes.count), isAlnum(bytes.first!), isAlnum(bytes.last!) else { return false }
        return bytes.allSatisfy {
            isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }

    /// A Kubernetes label (or taint) key: `[prefix/]name`, prefix a DNS subdomain.
    /// Returns nil when valid, or what is wrong.
    public static func labelKeyProblem(_ text: String) -> String? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            return isQualifiedNamePart(parts[0])
                ? nil
                : "\"\(text)\" is not a valid label key: at most 63 characters, letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        case 2:
            if !isDNSSubdomain(String(parts[0])) {
                return "the prefix \"\(parts[0])\" of label key \"\(text)\" is not a lowercase DNS subdomain"
            }
            return isQualifiedNamePart(parts[1])
                ? nil
                : "the name \"\(parts[1])\" of label key \"\(text)\" is not valid: at most 63 characters, letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        default:
            return "\"\(text)\" is not a valid label key: at most one '/' separating a DNS prefix from the name"
        }
    }

    /// A Kubernetes label value: empty, or like the name part of a key.
    public static func isLabelValue(_ text: String) -> Bool {
        text.isEmpty || isQualifiedNamePart(Substring(text))
    }

    /// True when the text holds a control character (C0, DEL or C1).
    public static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }
}

extension String {
    /// Lowercases ASCII letters only, so no Unicode case mapping can change the length or meaning.
    var lowercasedASCII: String {
        String(decoding: utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}

/// "Did you mean" suggestions.
enum Suggest {
    /// Edit distance, capped: returns a value above `limit` as soon as it is certain to exceed it.
    static func distance(_ a: String, _ b: String, limit: Int = 3) -> Int {
        let x = Array(a.lowercasedASCII.utf8)
        let y = Array(b.lowercasedASCII.utf8)
        if abs(x.count - y.count) > limit { return limit + 1 }
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = Array(repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            var rowMin = current[0]
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                rowMin = min(rowMin, current[j])
            }
            if rowMin > limit { return limit + 1 }
            swap(&previous, &current)
        }
        return previous[y.count]
    }

    /// The closest candidate within edit distance 2, or one the word is a prefix of (or that is a
    /// prefix of the word), or one the word names under another spelling (`aliases`).
    static func closest(to word: String, among candidates: [String], aliases: [String: String] = [:]) -> String? {
        let folded = word.lowercasedASCII
        if let alias = aliases[folded] { return alias }
        var best: (String, Int)?
        for candidate in candidates {
            let d = distance(word, candidate, limit: 2)
            if d <= 2, best == nil || d < best!.1 { best = (candidate, d) }
        }
        if let best { return best.0 }
        if folded.count >= 3 {
            let c = candidates.first {
                let lc = $0.lowercasedASCII
                return lc.hasPrefix(folded) || folded.hasPrefix(lc)
            }
            if let c { return c }
        }
        return nil
    }

    static func hint(for word: String, among candidates: [String], aliases: [String: String] = [:]) -> String? {
        closest(to: word, among: candidates, aliases: aliases).map { "did you mean \"\($0)\"?" }
    }
}
