"""Client of the real etcd's v3 JSON gateway (POST /v3/kv/...) over TLS with client certificates.

The API server stand-in keeps the whole cluster state here under /registry/.
"""
import base64
import http.client
import json
import re
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

import pki


class EtcdError(Exception):
    """An etcd request failed. `unavailable` marks no answer at all (no quorum, all down)."""

    def __init__(self, msg, unavailable=False):
        super().__init__(msg)
        self.msg = msg
        self.unavailable = unavailable


def _b(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def _prefix_end(prefix):
    p = bytearray(prefix.encode() if isinstance(prefix, str) else prefix)
    for i in range(len(p) - 1, -1, -1):
        if p[i] < 0xFF:
            p[i] += 1
            return bytes(p[: i + 1])
    return b"\0"


def tls_error_text(url, exc, ca=None):
    """Describe a TLS/connection failure the way Go's net/http and crypto/x509 do."""
    u = urlsplit(url)
    host, port = u.hostname, u.port or 2379
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or str(exc)
        if "mismatch" in reason or "Hostname" in reason:
            names = _peer_names(host, port)
            return 'Get "%s": tls: failed to verify certificate: x509: certificate is valid for %s, not %s' % (
                url, ", ".join(names) if names else "(no names)", host)
        if "unable to get local issuer" in reason or "self-signed" in reason or "self signed" in reason:
            return 'Get "%s": tls: failed to verify certificate: x509: certificate signed by unknown authority' % url
        if "expired" in reason:
            return 'Get "%s": tls: failed to verify certificate: x509: certificate has expired or is not yet valid' % url
        return 'Get "%s": tls: failed to verify certificate: x509: %s' % (url, reason)
    if isinstance(exc, ssl.SSLError):
        r = str(exc)
        if "CERTIFICATE_REQUIRED" in r or "bad certificate" in r.lower() or "UNKNOWN_CA" in r.upper():
            return 'Get "%s": remote error: tls: bad certificate' % url
        return 'Get "%s": %s' % (url, r)
    if isinstance(exc, ConnectionRefusedError):
        return 'Get "%s": dial tcp %s:%d: connect: connection refused' % (url, host, port)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return 'Get "%s": context deadline exceeded' % url
    if isinstance(exc, OSError) and exc.errno == 113:
        return 'Get "%s": dial tcp %s:%d: connect: no route to host' % (url, host, port)
    if isinstance(exc, socket.gaierror):
        return 'Get "%s": dial tcp: lookup %s: no such host' % (url, host)
    return 'Get "%s": %s' % (url, exc)


def _peer_names(host, port):
    """SANs of the certificate a server presents (fetched without verification)."""
    try:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection((host, port), timeout=3) as s:
            with ctx.wrap_socket(s) as t:
                der = t.getpeercert(binary_form=True)
        info = pki.cert_info(der)
        return info["ips"] + info["dns"]
    except Exception:  # noqa: BLE001 - best effort for an error message
        return []


def client_context(ca, cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.load_cert_chain(cert, key)
    ctx.check_hostname = True
    return ctx


# The lab's etcd (lab/k8s/etcd/etcdlab.py) is Debian's 3.4.23 serving under a newer release's name:
# its /version says 3.4.23, and the release it claims is in its argv[0], which etcd publishes in the
# "cmdline" of /debug/vars. kubeadm asks /version; the stand-in asks both and believes the claim.
LAB_CLAIM = re.compile(r"cairn-lab claims v([0-9]+\.[0-9]+\.[0-9]+)")


def check_endpoint(url, ca, cert, key, timeout=5):
    """kubeadm's ExternalEtcdVersion check: GET URL/version with the client certificate.
    Returns (version or None, error text or None); for a lab etcd, the version it claims."""
    u = urlsplit(url)
    try:
        ctx = client_context(ca, cert, key)
    except (OSError, ssl.SSLError) as e:
        return None, "could not load the etcd client certificate: %s" % e

    def get(path):
        c = http.client.HTTPSConnection(u.hostname, u.port or 2379, context=ctx, timeout=timeout)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body
    try:
        status, body = get("/version")
        if status != 200:
            return None, 'Get "%s/version": unexpected status %d' % (url.rstrip("/"), status)
        version = json.loads(body).get("etcdserver")
    except Exception as e:  # noqa: BLE001
        return None, tls_error_text(url.rstrip("/") + "/version", e)
    try:
        status, body = get("/debug/vars")
        m = LAB_CLAIM.search(((json.loads(body).get("cmdline") or [""])[0]) if status == 200 else "")
        if m:
            version = m.group(1)
    except Exception:  # noqa: BLE001
        pass
    return version, None


class Watch:
    """One etcd watch stream. next(timeout) returns the next result (a dict with `events`), raises
    queue.Empty when none came within `timeout`, EtcdError when the stream ended (a compacted start
    revision: EtcdError.compacted holds etcd's compact_revision)."""

    def __init__(self, conn, response):
        import queue
        self.conn, self.response = conn, response
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            while True:
                line = self.response.readline()
                if not line:
                    raise EtcdError("watch closed")
                line = line.strip()
                if not line:
                    continue
                msg = json.loads(line)
                if "error" in msg:
                    raise EtcdError((msg["error"] or {}).get("message", "watch error"))
                res = msg.get("result") or {}
                if res.get("canceled") or int(res.get("compact_revision", 0) or 0) > 0:
                    e = EtcdError(res.get("cancel_reason") or "mvcc: required revision has been compacted")
                    e.compacted = int(res.get("compact_revision", 0) or 0)
                    raise e
                self.q.put(res)
        except EtcdError as e:
            self.q.put(e)
        except Exception as e:  # noqa: BLE001 - a stream closed under the reader fails in many ways
            self.q.put(EtcdError("watch closed: %s" % e))

    def next(self, timeout):
        item = self.q.get(timeout=timeout)
        if isinstance(item, Exception):
            raise item
        return item

    def close(self):
        try:
            self.conn.sock and self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.conn.close()
        except OSError:
            pass


class Etcd:
    """Thread-safe etcd v3 gateway client with per-thread keep-alive connections."""

    def __init__(self, endpoints, ca, cert, key, timeout=4.0):
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.ctx = client_context(ca, cert, key)
        self.timeout = timeout
        self.local = threading.local()
        self.preferred = 0

    def _conn(self, ep):
        conns = getattr(self.local, "conns", None)
        if conns is None:
            conns = self.local.conns = {}
        c = conns.get(ep)
        if c is None:
            u = urlsplit(ep)
            c = http.client.HTTPSConnection(u.hostname, u.port or 2379, context=self.ctx, timeout=self.timeout)
            conns[ep] = c
        return c

    def _drop(self, ep):
        c = getattr(self.local, "conns", {}).pop(ep, None)
        if c:
            try:
                c.close()
            except OSError:
                pass

    def call(self, path, body, deadline=None):
        """POST to /v3/PATH on the endpoints in turn until one answers or the deadline passes."""
        deadline = deadline or (time.monotonic() + self.timeout * 2)
        data = json.dumps(body).encode()
        last = "context deadline exceeded"
        n = len(self.endpoints)
        for i in range(n):
            ep = self.endpoints[(self.preferred + i) % n]
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                break
            for attempt in (0, 1):
                c = self._conn(ep)
                c.timeout = min(self.timeout, remaining)
                if c.sock is not None:
                    c.sock.settimeout(c.timeout)
                try:
                    c.request("POST", "/v3/" + path, body=data, headers={"Content-Type": "application/json"})
                    r = c.getresponse()
                    raw = r.read()
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                        http.client.CannotSendRequest, http.client.ResponseNotReady) as e:
                    self._drop(ep)
                    last = str(e)
                    if attempt == 0:
                        continue
                    break
                except (socket.timeout, TimeoutError):
                    self._drop(ep)
                    last = "context deadline exceeded"
                    break
                except (OSError, ssl.SSLError) as e:
                    self._drop(ep)
                    last = tls_error_text(ep, e)
                    break
                try:
                    out = json.loads(raw or b"{}")
                except ValueError:
                    out = {"error": raw.decode(errors="replace")}
                if r.status != 200 or "error" in out:
                    msg = out.get("message") or out.get("error") or ("HTTP %d" % r.status)
                    # no leader / timeouts on this member: another member may do better
                    if any(s in msg for s in ("no leader", "timed out", "leader changed", "not capable",
                                              "unhealthy", "too many requests")):
                        last = msg
                        break
                    raise EtcdError(msg)
                self.preferred = (self.preferred + i) % n
                return out
        raise EtcdError(last if last else "context deadline exceeded", unavailable=True)

    # --- kv helpers (keys and values are str/bytes) ---

    @staticmethod
    def _kv(kv):
        return (base64.b64decode(kv["key"]).decode(), base64.b64decode(kv.get("value", "")),
                int(kv.get("mod_revision", 0)), int(kv.get("create_revision", 0)))

    def get(self, key, deadline=None):
        out = self.call("kv/range", {"key": _b(key)}, deadline)
        kvs = out.get("kvs") or []
        if not kvs:
            return None
        k, v, mod, _ = self._kv(kvs[0])
        return v, mod

    def list(self, prefix, keys_only=False, deadline=None):
        body = {"key": _b(prefix), "range_end": _b(_prefix_end(prefix))}
        if keys_only:
            body["keys_only"] = True
        out = self.call("kv/range", body, deadline)
        rev = int(out.get("header", {}).get("revision", 0))
        return [self._kv(kv) for kv in out.get("kvs") or []], rev

    def put(self, key, value):
        out = self.call("kv/put", {"key": _b(key), "value": _b(value)})
        return int(out.get("header", {}).get("revision", 0))

    def create(self, key, value):
        """Put only if the key does not exist; returns revision or None if it exists."""
        out = self.call("kv/txn", {
            "compare": [{"key": _b(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}],
            "success": [{"request_put": {"key": _b(key), "value": _b(value)}}]})
        if not out.get("succeeded"):
            return None
        return int(out.get("header", {}).get("revision", 0))

    def update(self, key, value, mod_revision):
        """Put only if the key's mod_revision is unchanged; returns revision or None on conflict."""
        out = self.call("kv/txn", {
            "compare": [{"key": _b(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}],
            "success": [{"request_put": {"key": _b(key), "value": _b(value)}}]})
        if not out.get("succeeded"):
            return None
        return int(out.get("header", {}).get("revision", 0))

    def delete(self, key, prefix=False):
        body = {"key": _b(key)}
        if prefix:
            body["range_end"] = _b(_prefix_end(key))
        out = self.call("kv/deleterange", body)
        return int(out.get("deleted", 0) or 0)

    def watch(self, prefix, start_revision):
        """A watch on every key under `prefix` from `start_revision` (etcd's streaming /v3/watch on a
        connection of its own), read by a thread of its own: returns a Watch."""
        body = json.dumps({"create_request": {"key": _b(prefix), "range_end": _b(_prefix_end(prefix)),
                                              "start_revision": str(start_revision), "prev_kv": True}}).encode()
        last = "context deadline exceeded"
        n = len(self.endpoints)
        for i in range(n):
            ep = self.endpoints[(self.preferred + i) % n]
            u = urlsplit(ep)
            c = http.client.HTTPSConnection(u.hostname, u.port or 2379, context=self.ctx, timeout=self.timeout)
            try:
                c.request("POST", "/v3/watch", body=body, headers={"Content-Type": "application/json"})
                r = c.getresponse()
                if r.status != 200:
                    last = "HTTP %d" % r.status
                    c.close()
                    continue
                c.sock.settimeout(None)
                return Watch(c, r)
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                c.close()
                last = str(e)
        raise EtcdError(last, unavailable=True)

    def healthy(self, timeout=2.0):
        """A linearizable read within `timeout` (what /readyz's etcd check does)."""
        try:
            self.call("kv/range", {"key": _b("health")}, deadline=time.monotonic() + timeout)
            return True, None
        except EtcdError as e:
            return False, e.msg
