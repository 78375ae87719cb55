import Crypto
import Foundation

/// SHA-256 as lowercase hex, the form `sha256sum` prints and checksum tables use.
public enum SHA256Digest {
    public static func hex(of data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    public static func hex(of text: String) -> String {
        hex(of: Data(text.utf8))
    }
}
