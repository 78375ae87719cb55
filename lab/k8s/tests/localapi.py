"""The lab's API server stand-in on this machine (no lab hosts): a real etcd on 127.0.0.1 with TLS,
the API server with a cluster CA, an admin kubeconfig, and the real kubectl of the lab's Kubernetes
version (from the wheel cache scripts/setup fills). For the API tests (test_apiserver.py) and by hand:

    python3 lab/k8s/tests/localapi.py        # prints KUBECONFIG=... and waits; Ctrl-C or SIGTERM stops it
    (--until-stdin-closes: also stops when its stdin closes, as when the test that started it ends)
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import _path  # noqa: F401
import pki

HERE = os.path.dirname(os.path.abspath(__file__))
K8S = os.path.dirname(HERE)
sys.path.insert(0, K8S)
import labwheels  # noqa: E402

STANDINS = os.path.join(K8S, "standins")
K8S_VERSION = os.environ.get("CAIRN_LAB_K8S_VERSION", "1.36.4")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available():
    """(ok, why): needs Debian's etcd, openssl and the wheels of scripts/setup."""
    if not os.path.exists("/usr/bin/etcd"):
        return False, "needs Debian's etcd (/usr/bin/etcd; scripts/setup installs it)"
    if not shutil.which("openssl"):
        return False, "needs openssl"
    try:
        labwheels.kubectl_binary(labwheels.kubectl_for(K8S_VERSION)[0])
        labwheels.schema_for(K8S_VERSION)
    except labwheels.WheelError as e:
        return False, str(e)
    return True, ""


class LocalAPI:
    def __init__(self, version=K8S_VERSION, extra_flags=()):
        self.etcd_log = self.api_log = None
        self.version = version
        self.extra_flags = list(extra_flags)
        self.dir = tempfile.mkdtemp(prefix="cairn-localapi-")
        self.procs = []
        self.kubectl_path = labwheels.kubectl_binary(labwheels.kubectl_for(version)[0])

    # --- life cycle ---
    def start(self):
        d = self.dir
        pki.gen_key(d + "/ca.key")
        pki.self_signed_ca(d + "/ca.key", d + "/ca.crt", "kubernetes")
        for name, cn, orgs, sans, server, client in (
                ("etcd", "etcd", (), ["localhost", "127.0.0.1"], True, True),
                ("apiserver-etcd-client", "kube-apiserver-etcd-client", (), [], False, True),
                ("apiserver", "kube-apiserver", (), ["kubernetes", "kubernetes.default", "localhost", "127.0.0.1"],
                 True, False),
                ("admin", "kubernetes-admin", ("kubeadm:cluster-admins",), [], False, True)):
            pki.gen_key("%s/%s.key" % (d, name))
            pki.sign(d + "/ca.crt", d + "/ca.key", "%s/%s.key" % (d, name), "%s/%s.crt" % (d, name), cn, orgs, sans,
                     server=server, client=client)
        self.etcd_port, peer = free_port(), free_port()
        self.etcd_log = etcd_log = open(d + "/etcd.log", "w")
        self.procs.append(subprocess.Popen([
            "/usr/bin/etcd", "--name", "local", "--data-dir", d + "/etcd-data",
            "--listen-client-urls", "https://127.0.0.1:%d" % self.etcd_port,
            "--advertise-client-urls", "https://127.0.0.1:%d" % self.etcd_port,
            "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
            "--initial-cluster", "local=http://127.0.0.1:%d" % peer,
            "--client-cert-auth", "--trusted-ca-file", d + "/ca.crt", "--cert-file", d + "/etcd.crt",
            "--key-file", d + "/etcd.key"], stdout=etcd_log, stderr=subprocess.STDOUT))
        self.port = free_port()
        rel, definitions = labwheels.schema_for(self.version)
        with open(d + "/openapi-definitions.json", "wb") as f:
            f.write(definitions)
        env = dict(os.environ, CAIRN_LAB_OPENAPI_DEFINITIONS=d + "/openapi-definitions.json",
                   CAIRN_LAB_K8S_VERSION=self.version, PYTHONPATH=STANDINS)
        flags = ["--advertise-address=127.0.0.1", "--bind-address=127.0.0.1", "--secure-port=%d" % self.port,
                 "--etcd-servers=https://127.0.0.1:%d" % self.etcd_port, "--etcd-cafile=" + d + "/ca.crt",
                 "--etcd-certfile=" + d + "/apiserver-etcd-client.crt",
                 "--etcd-keyfile=" + d + "/apiserver-etcd-client.key", "--client-ca-file=" + d + "/ca.crt",
                 "--tls-cert-file=" + d + "/apiserver.crt", "--tls-private-key-file=" + d + "/apiserver.key",
                 "--service-cluster-ip-range=10.96.0.0/12"] + self.extra_flags
        self.api_log = open(d + "/apiserver.log", "w")
        self.procs.append(subprocess.Popen(
            ["/usr/bin/python3", "-c", "import sys, apiserver; apiserver.main(sys.argv[1:])"] + flags,
            env=env, stdout=self.api_log, stderr=subprocess.STDOUT))
        with open(d + "/ca.crt", "rb") as f:
            ca = f.read()
        with open(d + "/admin.crt", "rb") as f:
            crt = f.read()
        with open(d + "/admin.key", "rb") as f:
            key = f.read()
        self.kubeconfig = d + "/admin.conf"
        b = lambda x: base64.b64encode(x).decode()  # noqa: E731
        with open(self.kubeconfig, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "admin",
                       "clusters": [{"name": "local", "cluster": {"server": "https://127.0.0.1:%d" % self.port,
                                                                  "certificate-authority-data": b(ca)}}],
                       "contexts": [{"name": "admin", "context": {"cluster": "local", "user": "admin"}}],
                       "users": [{"name": "admin", "user": {"client-certificate-data": b(crt),
                                                            "client-key-data": b(key)}}]}, f)
        deadline = time.monotonic() + 60
        while True:
            r = self.kubectl("get --raw /readyz", check=False)
            if r.returncode == 0 and self.kubectl("get ns default -o name", check=False).returncode == 0:
                return self
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                raise RuntimeError("local API server did not come up: %s\n%s" % (r.stderr, self.logs()))
            time.sleep(0.3)

    def logs(self):
        out = []
        for n in ("etcd.log", "apiserver.log"):
            try:
                with open(os.path.join(self.dir, n)) as f:
                    out.append("--- %s\n%s" % (n, f.read()[-3000:]))
            except OSError:
                pass
        return "\n".join(out)

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
        for p in reversed(self.procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in (getattr(self, "etcd_log", None), getattr(self, "api_log", None)):
            if f:
                f.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- clients ---
    def kubectl(self, args, input=None, check=True, timeout=60, text=True):
        """Run the real kubectl; `args` is a string (split like a shell would) or a list; text=False:
        input and output are bytes."""
        import shlex
        argv = [self.kubectl_path, "--kubeconfig", self.kubeconfig] + (shlex.split(args) if isinstance(args, str)
                                                                        else list(args))
        env = dict(os.environ, HOME=self.dir, KUBECACHEDIR=self.dir + "/kube-cache")
        r = subprocess.run(argv, input=input, capture_output=True, text=text, timeout=timeout, env=env)
        if check and r.returncode != 0:
            raise AssertionError("kubectl %s failed (%d): %s%s" % (args, r.returncode, r.stderr, r.stdout))
        return r


if __name__ == "__main__":
    # SIGTERM (a test that started it) or Ctrl-C stops it cleanly. Set explicitly: a process started
    # in the background inherits SIGINT ignored (Python then never raises KeyboardInterrupt), and
    # one started by Swift's Foundation.Process inherits its thread's mask, SIGTERM blocked (etcd
    # and the API server would inherit it too).
    import signal
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))
    if "--until-stdin-closes" in sys.argv[1:]:
        # Started by a test: its end (however it ends) closes our stdin, and that stops us too,
        # so an etcd and an API server are never left behind to load the machine.
        import threading

        def watch_stdin():
            while sys.stdin.buffer.read(4096):
                pass
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch_stdin, daemon=True).start()
    api = LocalAPI()
    try:
        api.start()
        print("KUBECONFIG=%s  (kubectl: %s; logs in %s)" % (api.kubeconfig, api.kubectl_path, api.dir))
        sys.stdout.flush()
        while True:
            time.sleep(3600)
    finally:
        api.stop()
