import CLibSSH2
import COpenSSLExit
import Foundation

/// Process-wide libssh2 initialisation. libssh2 must be initialised once before any session
/// exists and never de-initialised while sessions live; a `static let` gives exactly that
/// (Swift runs the initialiser once, thread-safely). SIGPIPE is ignored for the same reason
/// every SSH client ignores it: a peer closing a socket must be an error, not process death.
enum LibSSH2 {
    static let initialised: Bool = {
        signal(SIGPIPE, SIG_IGN)
        cairn_openssl_without_atexit()
        return libssh2_init(0) == 0
    }()

    static func ensureInitialised() {
        precondition(initialised, "libssh2_init failed")
    }

    /// libssh2's own description of the last error on `session`.
    static func lastError(_ session: OpaquePointer?) -> (code: Int32, message: String) {
        guard let session else { return (0, "no session") }
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &message, &length, 0)
        guard let message, length > 0 else { return (code, Self.describe(code)) }
        let text = String(decoding: UnsafeRawBufferPointer(start: message, count: Int(length)), as: UTF8.self)
        return (code, text)
    }

    /// Words for libssh2's error codes, for the cases where it gives no message.
    static func describe(_ code: Int32) -> String {
        switch code {
        case LIBSSH2_ERROR_SOCKET_NONE: return "no socket"
        case LIBSSH2_ERROR_BANNER_RECV: return "no SSH banner received"
        case LIBSSH2_ERROR_BANNER_SEND: return "cannot send SSH banner"
        case LIBSSH2_ERROR_KEX_FAILURE: return "key exchange failed"
        case LIBSSH2_ERROR_SOCKET_SEND: return "sending on the socket failed"
        case LIBSSH2_ERROR_SOCKET_DISCONNECT: return "the server closed the connection"
        case LIBSSH2_ERROR_PROTO: return "SSH protocol error"
        case LIBSSH2_ERROR_FILE: return "key file could not be read or decrypted"
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED: return "the server refused the credentials"
        case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED: return "the server refused the key's signature"
        case LIBSSH2_ERROR_CHANNEL_FAILURE: return "the server refused to open a channel"
        case LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED: return "the server denied the channel request"
        case LIBSSH2_ERROR_SOCKET_RECV: return "receiving on the socket failed"
        case LIBSSH2_ERROR_TIMEOUT: return "timed out"
        case LIBSSH2_ERROR_EAGAIN: return "would block"
        default: return "libssh2 error \(code)"
        }
    }
}

/// The SHA-256 fingerprint of a host key in OpenSSH's notation (`SHA256:…`, base64 without padding).
func openSSHFingerprint(_ hash: [UInt8]) -> String {
    var b64 = Data(hash).base64EncodedString()
    while b64.hasSuffix("=") { b64.removeLast() }
    return "SHA256:" + b64
}
