"""Leader election on coordination.k8s.io Leases, and the components' HTTPS /healthz."""
import os
import socket
import ssl
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from apiclient import ApiError, ConnError
from common import Fatal, log, parse_time, now, rfc3339

LEASE = 15


class Elector:
    def __init__(self, client, name):
        self.client = client
        self.name = name
        self.identity = "%s_%s" % (socket.gethostname(), uuid.uuid4())
        self.leading = False
        self.path = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/" + name

    def ensure(self):
        try:
            cur = self.client.get(self.path)
        except ApiError as e:
            if e.code != 404:
                raise
            cur = None
        t = now()
        if cur is None:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": "kube-system"},
                    "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": LEASE,
                             "acquireTime": rfc3339(t).replace("Z", ".000000Z"),
                             "renewTime": rfc3339(t).replace("Z", ".000000Z"), "leaseTransitions": 0}}
            try:
                self.client.post("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", body)
                self._became()
                return True
            except ApiError:
                return False
        spec = cur.get("spec") or {}
        holder = spec.get("holderIdentity")
        renew = parse_time((spec.get("renewTime") or "").replace(".000000Z", "Z"))
        expired = renew is None or (t - renew).total_seconds() > spec.get("leaseDurationSeconds", LEASE)
        if holder != self.identity and not expired:
            self.leading = False
            return False
        if holder != self.identity:
            spec["leaseTransitions"] = spec.get("leaseTransitions", 0) + 1
            spec["acquireTime"] = rfc3339(t).replace("Z", ".000000Z")
        spec["holderIdentity"] = self.identity
        spec["renewTime"] = rfc3339(t).replace("Z", ".000000Z")
        spec["leaseDurationSeconds"] = LEASE
        cur["spec"] = spec
        try:
            self.client.put(self.path, cur)
        except ApiError:
            self.leading = False
            return False
        if not self.leading:
            self._became()
        return True

    def _became(self):
        self.leading = True
        log(self.name, "successfully acquired lease kube-system/%s", self.name)


class _H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        ok = self.path.split("?")[0] in ("/healthz", "/livez", "/readyz")
        body = b"ok" if ok else b"404 page not found\n"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_healthz(port, bind="127.0.0.1"):
    d = "/run/cairn-lab-k8s/tls"
    os.makedirs(d, exist_ok=True)
    crt, key = os.path.join(d, "%d.crt" % port), os.path.join(d, "%d.key" % port)
    if not os.path.exists(crt):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", crt, "-subj", "/CN=localhost@%d" % int(time.time()),
                        "-days", "365"], capture_output=True, check=True)
    try:
        srv = ThreadingHTTPServer((bind, port), _H)
    except OSError as e:
        raise Fatal("failed to create listener: failed to listen on %s:%d: listen tcp %s:%d: bind: %s" % (
            bind, port, bind, port, (e.strerror or str(e)).lower()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv
