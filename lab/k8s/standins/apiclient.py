"""HTTPS client of the API server stand-in, configured from a kubeconfig (like client-go)."""
import base64
import http.client
import json
import os
import socket
import ssl
import tempfile
import threading
import time
from urllib.parse import urlencode, urlsplit

import yaml

from common import Fatal


class ApiError(Exception):
    def __init__(self, code, status, msg=None):
        self.code = code
        self.status = status if isinstance(status, dict) else {}
        self.reason = self.status.get("reason", "")
        self.message = msg or self.status.get("message") or ("HTTP %d" % code)
        super().__init__(self.message)


class ConnError(Exception):
    """No HTTP answer: connection refused, TLS failure, timeout."""


def _tmpfile(data):
    fd, p = tempfile.mkstemp(prefix="cairn-lab-kc-")
    os.write(fd, data)
    os.close(fd)
    return p


class KubeConfig:
    def __init__(self, path=None, data=None):
        self.path = path
        if data is None:
            try:
                with open(path) as f:
                    data = yaml.safe_load(f)
            except FileNotFoundError:
                raise Fatal('stat %s: no such file or directory' % path)
            except yaml.YAMLError as e:
                raise Fatal("error loading config file \"%s\": %s" % (path, e))
        self.data = data or {}
        ctx_name = self.data.get("current-context")
        ctxs = {c["name"]: c.get("context", {}) for c in self.data.get("contexts") or []}
        clusters = {c["name"]: c.get("cluster", {}) for c in self.data.get("clusters") or []}
        users = {u["name"]: u.get("user", {}) for u in self.data.get("users") or []}
        ctx = ctxs.get(ctx_name) or (next(iter(ctxs.values())) if ctxs else {})
        self.cluster = clusters.get(ctx.get("cluster"), {})
        self.user = users.get(ctx.get("user"), {})
        self.namespace = ctx.get("namespace") or "default"
        self.server = self.cluster.get("server")
        if not self.server:
            raise Fatal("invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER "
                        "environment variable")

    def _bytes(self, obj, key):
        if obj.get(key + "-data"):
            return base64.b64decode(obj[key + "-data"])
        if obj.get(key):
            p = obj[key]
            if self.path and not os.path.isabs(p):
                p = os.path.join(os.path.dirname(self.path), p)
            with open(p, "rb") as f:
                return f.read()
        return None

    def ssl_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.cluster.get("insecure-skip-tls-verify"):
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            ca = self._bytes(self.cluster, "certificate-authority")
            if ca:
                ctx.load_verify_locations(cadata=ca.decode())
            else:
                ctx.load_default_certs()
        cert = self._bytes(self.user, "client-certificate")
        key = self._bytes(self.user, "client-key")
        if cert and key:
            cp, kp = _tmpfile(cert), _tmpfile(key)
            try:
                ctx.load_cert_chain(cp, kp)
            finally:
                os.unlink(cp)
                os.unlink(kp)
        return ctx

    def token(self):
        return self.user.get("token")


class Client:
    def __init__(self, server, ctx, token=None, timeout=10.0, user_agent="kubectl/v1.32.4 (linux/amd64)"):
        u = urlsplit(server)
        self.server = server.rstrip("/")
        self.host = u.hostname
        self.port = u.port or 443
        self.ctx = ctx
        self.token = token
        self.timeout = timeout
        self.ua = user_agent
        self.local = threading.local()

    @classmethod
    def from_kubeconfig(cls, path=None, kc=None, **kw):
        kc = kc or KubeConfig(path)
        c = cls(kc.server, kc.ssl_context(), token=kc.token(), **kw)
        c.kubeconfig = kc
        return c

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=self.timeout)
            self.local.conn = c
        return c

    def _drop(self):
        c = getattr(self.local, "conn", None)
        self.local.conn = None
        if c:
            try:
                c.close()
            except OSError:
                pass

    def raw(self, method, path, body=None, content_type="application/json", query=None, timeout=None):
        """Returns (status, bytes). Raises ConnError when there is no HTTP answer."""
        if query:
            q = {k: v for k, v in query.items() if v is not None and v != ""}
            if q:
                path = path + ("&" if "?" in path else "?") + urlencode(q, doseq=True)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        headers = {"User-Agent": self.ua, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        for attempt in (0, 1):
            c = self._conn()
            c.timeout = timeout or self.timeout
            if c.sock is not None:
                c.sock.settimeout(c.timeout)
            try:
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                return r.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady) as e:
                self._drop()
                if attempt == 0:
                    continue
                raise ConnError(self._describe(e, method, path))
            except (OSError, ssl.SSLError) as e:
                self._drop()
                raise ConnError(self._describe(e, method, path))
        raise ConnError("unreachable")

    def _describe(self, e, method, path):
        url = self.server + path.split("?")[0]
        if isinstance(e, ssl.SSLCertVerificationError):
            reason = e.verify_message or str(e)
            if "mismatch" in reason:
                return ('Get "%s": tls: failed to verify certificate: x509: certificate is not valid for %s'
                        % (url, self.host))
            return 'Get "%s": tls: failed to verify certificate: x509: certificate signed by unknown authority' % url
        if isinstance(e, ConnectionRefusedError):
            return "The connection to the server %s:%d was refused - did you specify the right host or port?" % (
                self.host, self.port)
        if isinstance(e, (socket.timeout, TimeoutError)):
            return 'Get "%s": net/http: TLS handshake timeout' % url if "handshake" in str(e) else \
                'Get "%s": context deadline exceeded (Client.Timeout exceeded while awaiting headers)' % url
        if isinstance(e, OSError) and e.errno == 113:
            return 'Get "%s": dial tcp %s:%d: connect: no route to host' % (url, self.host, self.port)
        return 'Get "%s": %s' % (url, e)

    def request(self, method, path, body=None, content_type="application/json", query=None, timeout=None):
        status, data = self.raw(method, path, body, content_type, query, timeout)
        try:
            obj = json.loads(data) if data else {}
        except ValueError:
            obj = {"message": data.decode(errors="replace").strip()}
        if status >= 400:
            raise ApiError(status, obj, obj.get("message") if isinstance(obj, dict) else None)
        return obj

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, patch_type="merge", **kw):
        ct = {"merge": "application/merge-patch+json", "strategic": "application/strategic-merge-patch+json",
              "json": "application/json-patch+json", "apply": "application/apply-patch+yaml"}[patch_type]
        return self.request("PATCH", path, body, content_type=ct, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def get_or_none(self, path):
        try:
            return self.get(path)
        except ApiError as e:
            if e.code == 404:
                return None
            raise


def wait_until(fn, timeout, interval=0.5):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() >= end:
            return None
        time.sleep(interval)


def kubeconfig_dict(server, ca_pem, user, cert_pem=None, key_pem=None, token=None, cluster="kubernetes"):
    u = {}
    if cert_pem:
        u["client-certificate-data"] = base64.b64encode(cert_pem).decode()
        u["client-key-data"] = base64.b64encode(key_pem).decode()
    if token:
        u["token"] = token
    ctx = "%s@%s" % (user, cluster)
    return {"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": cluster, "cluster": {"certificate-authority-data": base64.b64encode(ca_pem).decode(),
                                                        "server": server}}],
            "contexts": [{"name": ctx, "context": {"cluster": cluster, "user": user}}],
            "current-context": ctx,
            "users": [{"name": user, "user": u}]}
