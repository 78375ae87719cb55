/// The one place where a value becomes a word of a POSIX shell command line.
///
/// Every value that reaches a remote shell — inventory names, addresses, paths,
/// file contents passed as arguments — goes through `ShellQuote.quote`.
/// Words made only of characters that no shell treats specially are left bare
/// so that plans stay readable; everything else is single-quoted, with embedded
/// single quotes closed, escaped and reopened (`'` → `'\''`).
public enum ShellQuote {
    /// Characters that are never special to sh, bash, dash or zsh in any position.
    /// `=` is not among them, so that no quoted word can ever read as an assignment,
    /// and neither is `~` (tilde expansion at the start of a word).
    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"),
            UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "@"), UInt8(ascii: "%"),
            UInt8(ascii: "+"):
            return true
        default:
            return false
        }
    }

    /// Quotes one word. The result, read by a POSIX shell, is exactly `word`.
    /// A NUL byte cannot be carried by any shell word; callers must reject such values
    /// (`RemoteCommand.validate()` does).
    public static func quote(_ word: String) -> String {
        let bytes = Array(word.utf8)
        if !bytes.isEmpty, bytes.allSatisfy(isPlain) {
            return word
        }
        var out = "'"
        for character in word.unicodeScalars {
            if character == "'" {
                out += "'\\''"
            } else {
                out.unicodeScalars.append(character)
            }
        }
        out += "'"
        return out
    }

    /// Quotes and joins words with single spaces.
    public static func join(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }
}
