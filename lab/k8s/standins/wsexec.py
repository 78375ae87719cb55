"""The streaming side of `kubectl exec`: the server end of RFC 6455 websockets speaking Kubernetes'
channel protocols (v5.channel.k8s.io, falling back to v4/v3/v2/channel.k8s.io), as the API server
offers them since 1.30 (kubectl's default for exec and attach).

Each binary message starts with its channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error (a
metav1.Status as JSON: Success, or Failure with reason NonZeroExitCode and the exit code as the
cause), 4 resize; v5 adds 255 "close channel" (payload: the channel closed). No compression, no
fragmentation from this side; the client's frames are masked (as RFC 6455 requires of clients).
"""
import base64
import hashlib
import json
import socket
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
             "channel.k8s.io"]
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def is_upgrade(headers):
    return "websocket" in (headers.get("Upgrade") or "").lower() and \
        "upgrade" in (headers.get("Connection") or "").lower()


def choose_protocol(headers):
    offered = [p.strip() for p in (headers.get("Sec-WebSocket-Protocol") or "").split(",") if p.strip()]
    for p in PROTOCOLS:
        if p in offered:
            return p
    return None


def accept_key(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def frame(payload, opcode=0x2):
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def read_frame(rfile):
    """(opcode, payload) of the next client frame, or (None, b'') at EOF."""
    h = rfile.read(2)
    if len(h) < 2:
        return None, b""
    opcode = h[0] & 0x0F
    masked = h[1] & 0x80
    n = h[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", rfile.read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", rfile.read(8))[0]
    mask = rfile.read(4) if masked else b""
    data = rfile.read(n)
    if masked:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return opcode, data


def exit_status(code, argv):
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: error executing command [%s], exit code %d" % (
                " ".join(argv), code),
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def serve(handler, protocol, run, want_stdin):
    """Answer the upgrade on `handler` (a BaseHTTPRequestHandler) and run `run(stdin_bytes)` ->
    (stdout, stderr, exit code, argv). Closes the connection afterwards."""
    h = handler
    h.send_response(101, "Switching Protocols")
    h.send_header("Upgrade", "websocket")
    h.send_header("Connection", "Upgrade")
    h.send_header("Sec-WebSocket-Accept", accept_key(h.headers.get("Sec-WebSocket-Key", "")))
    h.send_header("Sec-WebSocket-Protocol", protocol)
    h.end_headers()
    h.wfile.flush()
    h.close_connection = True
    stdin = b""
    try:
        h.connection.settimeout(30)
        if want_stdin:
            while True:
                op, data = read_frame(h.rfile)
                if op is None or op == 0x8:
                    break
                if op == 0x9:
                    h.wfile.write(frame(data, 0xA))
                    continue
                if op in (0x1, 0x2) and data:
                    if data[0] == STDIN:
                        stdin += data[1:]
                    elif data[0] == CLOSE and data[1:2] == bytes([STDIN]):
                        break
        out, err, code, argv = run(stdin)
        send = h.wfile.write
        if protocol in ("v4.channel.k8s.io", "v5.channel.k8s.io"):
            # v4+ clients wait for the data channels before reading the status
            pass
        if out:
            send(frame(bytes([STDOUT]) + out))
        if err:
            send(frame(bytes([STDERR]) + err))
        if protocol in ("v4.channel.k8s.io", "v5.channel.k8s.io"):
            send(frame(bytes([ERROR]) + json.dumps(exit_status(code, argv)).encode()))
        elif code != 0:
            send(frame(bytes([ERROR]) + ("command terminated with non-zero exit code: exit code %d" % code).encode()))
        send(frame(struct.pack("!H", 1000), 0x8))
        h.wfile.flush()
        # wait (briefly) for the client's close frame before closing the socket
        h.connection.settimeout(5)
        for _ in range(16):
            op, _ = read_frame(h.rfile)
            if op is None or op == 0x8:
                break
    except (OSError, socket.timeout, struct.error):
        pass
