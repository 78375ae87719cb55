import CLibSSH2
import Foundation

/// Copies bytes both ways between a local socket (the target session's transport) and a
/// `direct-tcpip` channel on the bastion session, until either side closes.
struct TunnelPump {
    let raw: RawSession
    let channel: RawSession.Channel
    let localFD: Int32

    func run() {
        _ = fcntl(localFD, F_SETFL, fcntl(localFD, F_GETFL) | O_NONBLOCK)
        var toRemote = [UInt8]()
        var toLocal = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 32768)
        var localClosed = false
        var remoteClosed = false

        defer {
            close(localFD)
            channel.abandon()
            raw.shutdown()
        }

        while true {
            var progress = false

            // local → channel
            if toRemote.isEmpty && !localClosed {
                let n = recv(localFD, &buffer, buffer.count, 0)
                if n > 0 {
                    toRemote.append(contentsOf: buffer[0..<n])
                    progress = true
                } else if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    localClosed = true
                }
            }
            if !toRemote.isEmpty {
                let n = toRemote.withUnsafeBytes { rawBytes in
                    libssh2_channel_write_ex(
                        channel.pointer, 0, rawBytes.baseAddress?.assumingMemoryBound(to: CChar.self), rawBytes.count)
                }
                if n > 0 {
                    toRemote.removeFirst(n)
                    progress = true
                } else if n != Int(LIBSSH2_ERROR_EAGAIN) {
                    return
                }
            }

            // channel → local
            if toLocal.isEmpty && !remoteClosed {
                let n = buffer.withUnsafeMutableBytes { rawBytes in
                    libssh2_channel_read_ex(
                        channel.pointer, 0, rawBytes.baseAddress?.assumingMemoryBound(to: CChar.self), rawBytes.count)
                }
                if n > 0 {
                    toLocal.append(contentsOf: buffer[0..<n])
                    progress = true
                } else if n == 0 && channel.atEOF {
                    remoteClosed = true
                } else if n < 0 && n != Int(LIBSSH2_ERROR_EAGAIN) {
                    remoteClosed = true
                }
            }
            if !toLocal.isEmpty {
                let n = toLocal.withUnsafeBytes { rawBytes in
                    send(localFD, rawBytes.baseAddress, rawBytes.count, Int32(MSG_NOSIGNAL))
                }
                if n > 0 {
                    toLocal.removeFirst(n)
                    progress = true
                } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    return
                }
            }

            if (localClosed && toRemote.isEmpty) || (remoteClosed && toLocal.isEmpty) { return }
            if progress { continue }

            // Sleep until either side can move, or a keepalive is due on the bastion session.
            guard let session = raw.session else { return }
            var secondsToNext: Int32 = 0
            _ = libssh2_keepalive_send(session, &secondsToNext)
            let directions = libssh2_session_block_directions(session)
            var sshEvents = Int16(POLLIN)
            if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { sshEvents |= Int16(POLLOUT) }
            var localEvents: Int16 = 0
            if toRemote.isEmpty && !localClosed { localEvents |= Int16(POLLIN) }
            if !toLocal.isEmpty { localEvents |= Int16(POLLOUT) }
            var fds = [
                pollfd(fd: raw.socket, events: sshEvents, revents: 0),
                pollfd(fd: localFD, events: localEvents, revents: 0),
            ]
            let timeout = secondsToNext > 0 ? Int32(secondsToNext) * 1000 : 5000
            _ = poll(&fds, 2, timeout)
        }
    }
}
