"""A lab with a real 3-member TLS etcd and the stand-ins installed the way Cairn installs them.

For the lab suites also: lab_suite (skip an unusable lab, or fail under CAIRN_REQUIRE_LAB=1),
LabTestCase (a time limit on every test), wait_until (every wait has a deadline and reports the last
state it saw), and LabEnv's known states (reset_kubernetes, leave, devices) with which each test
sets up what it needs itself instead of relying on an earlier test.

Used by the lab tests (test_lab_*.py) and handy by hand:
    python3 -c 'import sys; sys.path.insert(0, "lab/k8s/tests"); import labenv; labenv.LabEnv().setup()'
"""
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LAB = os.path.join(REPO, "scripts", "lab")
LAB_K8S = os.path.join(REPO, "scripts", "lab-k8s")
MIRROR_TOOL = os.path.join(REPO, "scripts", "lab-mirror")
K8S_VERSION = "1.36.4"
ETCD_VERSION = "3.6.14"      # Debian's 3.4.23 behind the mirror's wrapper (lab/k8s/etcd)
LAB_ROOT = os.environ.get("CAIRN_LAB_ROOT", "/srv/cairn-lab")

KUBEADM_DROPIN = """# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/local/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
"""

KUBELET_UNIT = """[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/local/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=2

[Install]
WantedBy=multi-user.target
"""

CONTAINERD_UNIT = """[Unit]
Description=containerd container runtime
After=network.target

[Service]
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
"""


def lab_available():
    """(ok, reason) - the lab tests need root and scripts/lab."""
    if os.geteuid() != 0:
        return False, "lab tests need root (namespaces, losetup)"
    if not os.access(LAB, os.X_OK):
        return False, "scripts/lab is missing"
    if not shutil.which("openssl"):
        return False, "openssl is missing"
    return True, ""


# ---------------------------------------------------------------- skipping, time limits, waiting

def lab_required():
    """CAIRN_REQUIRE_LAB=1 (scripts/test sets it): an unusable lab fails the lab tests instead of skipping them."""
    return os.environ.get("CAIRN_REQUIRE_LAB") == "1"


def skip_unless(ok, why):
    """Class decorator like unittest.skipUnless(ok, why), except under CAIRN_REQUIRE_LAB=1: there every
    test of the class FAILS with `why` (the class's own setUpClass/tearDownClass are not run)."""
    def decorate(cls):
        if ok:
            return cls
        if not lab_required():
            return unittest.skip(why)(cls)
        msg = "CAIRN_REQUIRE_LAB=1, so this test must run, but it cannot: %s" % why

        def setUp(self):
            self.fail(msg)
        cls.setUpClass = classmethod(lambda c: None)
        cls.tearDownClass = classmethod(lambda c: None)
        cls.setUp = setUp
        return cls
    return decorate


def lab_suite(cls):
    """Class decorator for the lab suites: skipped when the lab is unusable (lab_available()), failed
    instead under CAIRN_REQUIRE_LAB=1."""
    ok, why = lab_available()
    return skip_unless(ok, why)(cls)


class TimeLimitExceeded(AssertionError):
    """Raised (by SIGALRM) in the main thread when a test or a setup step overran its time limit."""


class time_limit:
    """A hard limit on wall-clock time, so that a hang fails instead of blocking forever.

    As a context manager: `with time_limit(600, "lab setup"): ...` raises TimeLimitExceeded in the main
    thread after 600 s (whatever it is blocked in: a subprocess is killed by subprocess.run on the way
    out). As a decorator on a test method: `@time_limit(900)` sets that test's limit for LabTestCase."""

    def __init__(self, seconds, what="this step"):
        self.seconds, self.what = int(seconds), what
        self.armed = False

    def __call__(self, fn):
        fn.time_limit = self.seconds
        return fn

    def _expired(self, signum, frame):
        raise TimeLimitExceeded("%s exceeded its time limit of %d s (a hang?)" % (self.what, self.seconds))

    def __enter__(self):
        if threading.current_thread() is threading.main_thread() and self.seconds > 0:
            self.old = signal.signal(signal.SIGALRM, self._expired)
            signal.alarm(self.seconds)
            self.armed = True
        return self

    def __exit__(self, *exc):
        if self.armed:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, self.old)
            self.armed = False
        return False


class LabTestCase(unittest.TestCase):
    """Base of the lab test classes: every test runs under a time limit (TIME_LIMIT seconds, or what
    @time_limit(N) on the test method says); overrunning it fails the test with TimeLimitExceeded."""
    TIME_LIMIT = 600

    def setUp(self):
        super().setUp()
        method = getattr(self, self._testMethodName)
        limit = time_limit(getattr(method, "time_limit", self.TIME_LIMIT), self.id())
        limit.__enter__()
        self.addCleanup(limit.__exit__, None, None, None)   # registered first: runs after every other cleanup


def _short(value, limit=3000):
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit // 3] + " ... " + text[-2 * limit // 3:]


def wait_until(probe, timeout, what, interval=1.0, done=bool):
    """Call probe() until done(its value) holds and return that value; fail (AssertionError) after
    `timeout` seconds, saying what was waited for and the last value probe() gave (or what it raised).

    Wait for exactly what the caller then asserts: let probe() return the state and done() check all of
    it, so that a state that only partly holds is waited out instead of failing the assertions."""
    end = time.monotonic() + timeout
    n = 0
    while True:
        n += 1
        try:
            last = probe()
            if done(last):
                return last
            seen = last
        except TimeLimitExceeded:
            raise
        except Exception as e:  # noqa: BLE001 - a probe failing now (API down, object not there yet) is a state too
            seen = "probe raised %s: %s" % (type(e).__name__, e)
        if time.monotonic() > end:
            raise AssertionError("timed out after %g s (%d tries) waiting for %s; last state seen: %s" % (
                timeout, n, what, _short(seen)))
        time.sleep(interval)


_LOCKS = []


def claim_lab_name(base):
    """`base` (e.g. k8st) unless another test run holds it; then base-PID. Held until exit."""
    import fcntl
    os.makedirs("/run/cairn-lab", exist_ok=True)
    for name in (base, "%s-%d" % (base, os.getpid() % 100000)):
        f = open("/run/cairn-lab/tests-%s.lock" % name, "w")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        _LOCKS.append(f)
        return name
    raise RuntimeError("no free lab name for %s" % base)


class CmdError(Exception):
    def __init__(self, cmd, rc, out, err):
        super().__init__("%s -> rc=%d\nstdout: %s\nstderr: %s" % (cmd, rc, out[-3000:], err[-3000:]))
        self.rc, self.out, self.err = rc, out, err


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return "Result(rc=%d, out=%r, err=%r)" % (self.rc, self.out[-2000:], self.err[-2000:])


class LabEnv:
    def __init__(self, name="k8st", hosts=3, k8s_version=K8S_VERSION):
        self.name = name
        self.nhosts = hosts
        self.version = k8s_version
        self.dir = os.path.join(LAB_ROOT, name)
        self.work = tempfile.mkdtemp(prefix="cairn-k8s-%s-" % name)
        self.mirror = os.path.join(self.work, "mirror")
        self.hosts = []  # [(name, ip)]

    # --- running things ---
    def _run(self, argv, input=None, timeout=300, check=True):
        p = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise CmdError(" ".join(argv[-3:]), p.returncode, p.stdout, p.stderr)
        return Result(p.returncode, p.stdout, p.stderr)

    def sh(self, host, cmd, input=None, timeout=300, check=True):
        """Run a shell command inside lab host `host` (all its namespaces)."""
        return self._run([LAB, "exec", self.name, host, "--", "/bin/bash", "-c", cmd], input, timeout, check)

    def ctl(self, cmd, input=None, timeout=300, check=True):
        """Run a shell command in the controller network namespace (where Cairn runs)."""
        return self._run([LAB, "run", "--", "/bin/bash", "-c", cmd], input, timeout, check)

    def kubectl(self, args, input=None, timeout=120, check=False):
        """The mirror's (real) kubectl in the controller namespace, with the lab's admin.conf and a discovery
        cache of this lab's own (labs of other roots may reuse the same addresses)."""
        k = os.path.join(self.mirror, "dl.k8s.io/release/v%s/bin/linux/amd64/kubectl" % self.version)
        return self.ctl("KUBECACHEDIR=%s %s --kubeconfig %s %s" % (self.work + "/kube-cache", k, self.work + "/admin.conf",
                                                                  args), input, timeout, check)

    def put(self, host, path, data, mode="0644"):
        self.sh(host, "mkdir -p %s && cat > %s && chmod %s %s" % (
            shlex.quote(os.path.dirname(path)), shlex.quote(path), mode, shlex.quote(path)), input=data)

    def parallel(self, fn, items):
        errs = []

        def run(i):
            try:
                fn(i)
            except Exception as e:  # noqa: BLE001
                errs.append(e)
        ts = [threading.Thread(target=run, args=(i,)) for i in items]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errs:
            raise errs[0]

    # --- lab lifecycle ---
    def up(self):
        if os.path.exists(self.dir):
            self._run([LAB, "down", self.name], check=False, timeout=120)
        self._run([LAB, "up", self.name, "--hosts", str(self.nhosts)], timeout=180)
        with open(os.path.join(self.dir, "hosts.tsv")) as f:
            rows = [l.rstrip("\n").split("\t") for l in f.readlines()[1:]]
        self.hosts = [(r[0], r[1]) for r in rows]
        # /opt/cni/bin is per-node state: older labs shared /opt with the real machine
        for h, _ in self.hosts:
            self.sh(h, "mountpoint -q /opt || { mkdir -p /var/lib/cairn-lab-opt && "
                       "mount --bind /var/lib/cairn-lab-opt /opt; }")

    def down(self):
        self._run([LAB, "down", self.name], check=False, timeout=180)
        shutil.rmtree(self.work, ignore_errors=True)

    def build_mirror(self):
        self._run([MIRROR_TOOL, self.mirror, "--k8s-version", self.version, "--etcd-version", ETCD_VERSION], timeout=300)

    # --- etcd (what Cairn's etcd phase does, by hand) ---
    def etcd_pki(self):
        d = os.path.join(self.work, "pki")
        os.makedirs(d, exist_ok=True)
        o = lambda *a: self._run(["openssl"] + list(a), timeout=60)
        o("ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", d + "/ca.key")
        o("req", "-x509", "-new", "-key", d + "/ca.key", "-subj", "/CN=etcd-ca", "-days", "365", "-out", d + "/ca.crt")
        for name, ip in self.hosts:
            self.sign(d, name, "/CN=%s" % name, "serverAuth,clientAuth",
                      "DNS:%s,DNS:localhost,IP:%s,IP:127.0.0.1" % (name, ip))
        self.sign(d, "apiserver-etcd-client", "/O=system:masters/CN=kube-apiserver-etcd-client", "clientAuth", None)
        return d

    def sign(self, d, base, subj, eku, san, ca="ca"):
        ext = os.path.join(d, base + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=%s\n" % eku + ("subjectAltName=%s\n" % san if san else ""))
        o = lambda *a: self._run(["openssl"] + list(a), timeout=60)
        o("ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "%s/%s.key" % (d, base))
        csr = self._run(["openssl", "req", "-new", "-key", "%s/%s.key" % (d, base), "-subj", subj]).out
        self._run(["openssl", "x509", "-req", "-CA", "%s/%s.crt" % (d, ca), "-CAkey", "%s/%s.key" % (d, ca),
                   "-CAcreateserial", "-days", "365", "-extfile", ext, "-out", "%s/%s.crt" % (d, base)], input=csr)

    def etcd_endpoints(self):
        return ["https://%s:2379" % ip for _, ip in self.hosts[:3]]

    def setup_etcd(self):
        d = self.etcd_pki()
        top = "etcd-v%s-linux-amd64" % ETCD_VERSION
        tarball = os.path.join(self.mirror, "github.com/etcd-io/etcd/releases/download/v%s/%s.tar.gz" % (
            ETCD_VERSION, top))
        members = self.hosts[:3]
        cluster = ",".join("%s=https://%s:2380" % (n, ip) for n, ip in members)

        def one(member):
            name, ip = member
            with open(tarball, "rb") as f:
                data = f.read()
            p = subprocess.run([LAB, "exec", self.name, name, "--", "/bin/bash", "-c",
                                "mkdir -p /etc/etcd/pki /usr/local/bin && tar -C /usr/local/bin --strip-components=1 -xzf - "
                                "%s/etcd %s/etcdctl %s/etcdutl" % (top, top, top)],
                               input=data, capture_output=True, timeout=60)
            if p.returncode:
                raise CmdError("install etcd", p.returncode, p.stdout.decode(), p.stderr.decode())
            for f in ("ca.crt", name + ".crt", name + ".key"):
                with open(os.path.join(d, f)) as fh:
                    self.put(name, "/etc/etcd/pki/" + f, fh.read(), "0600")
            unit = ("[Unit]\nDescription=etcd\nAfter=network.target\n\n[Service]\nType=simple\n"
                    "ExecStart=/usr/local/bin/etcd --name %(n)s --data-dir /var/lib/etcd "
                    "--listen-client-urls https://%(ip)s:2379,https://127.0.0.1:2379 "
                    "--advertise-client-urls https://%(ip)s:2379 --listen-peer-urls https://%(ip)s:2380 "
                    "--initial-advertise-peer-urls https://%(ip)s:2380 --initial-cluster %(c)s "
                    "--initial-cluster-state new --initial-cluster-token %(lab)s "
                    "--heartbeat-interval 250 --election-timeout 2500 "
                    "--client-cert-auth --trusted-ca-file /etc/etcd/pki/ca.crt --cert-file /etc/etcd/pki/%(n)s.crt "
                    "--key-file /etc/etcd/pki/%(n)s.key --peer-client-cert-auth --peer-trusted-ca-file "
                    "/etc/etcd/pki/ca.crt --peer-cert-file /etc/etcd/pki/%(n)s.crt --peer-key-file "
                    "/etc/etcd/pki/%(n)s.key\nRestart=always\nRestartSec=1\n\n[Install]\n"
                    "WantedBy=multi-user.target\n" % {"n": name, "ip": ip, "c": cluster, "lab": self.name})
            self.put(name, "/etc/systemd/system/etcd.service", unit)
            self.sh(name, "systemctl enable etcd >/dev/null 2>&1; systemctl start etcd")
        self.parallel(one, members)
        self.distribute_etcd_client_certs()
        self.wait_etcd()

    def distribute_etcd_client_certs(self, hosts=None):
        d = os.path.join(self.work, "pki")
        for name, _ in self.hosts[:3] if hosts is None else hosts:
            with open(d + "/ca.crt") as f:
                self.put(name, "/etc/kubernetes/pki/etcd/ca.crt", f.read())
            for ext, mode in (("crt", "0644"), ("key", "0600")):
                with open("%s/apiserver-etcd-client.%s" % (d, ext)) as f:
                    self.put(name, "/etc/kubernetes/pki/apiserver-etcd-client." + ext, f.read(), mode)

    def etcdctl(self, host, args, check=True):
        return self.sh(host, "ETCDCTL_API=3 /usr/local/bin/etcdctl --endpoints %s --cacert /etc/etcd/pki/ca.crt "
                             "--cert /etc/etcd/pki/%s.crt --key /etc/etcd/pki/%s.key %s" % (
                                 ",".join(self.etcd_endpoints()), host, host, args), check=check, timeout=60)

    def wait_etcd(self, timeout=60):
        def health():
            r = self.etcdctl(self.hosts[0][0], "endpoint health -w json", check=False)
            return r, (json.loads(r.out) if r.rc == 0 else [])

        def healthy(state):
            r, eps = state
            return r.rc == 0 and len(eps) == len(self.etcd_endpoints()) and all(e["health"] for e in eps)
        wait_until(health, timeout, "every etcd member healthy", interval=0.5, done=healthy)

    # --- Kubernetes binaries, the way Cairn installs them ---
    def pause_image(self):
        """The sandbox image of the release (Cairn's SupportedVersions.pauseImage)."""
        return "registry.k8s.io/pause:" + ("3.10.1" if self.version.startswith("1.35.") else "3.10.2")

    def install_k8s(self, hosts=None):
        base = os.path.join(self.mirror, "dl.k8s.io/release/v%s/bin/linux/amd64" % self.version)
        gh = os.path.join(self.mirror, "github.com")
        crictl = ".".join(self.version.split(".")[:2]) + ".0"

        def one(h):
            name = h[0]
            self.push(name, base + "/kubeadm", "/usr/local/bin/kubeadm")
            self.push(name, base + "/kubelet", "/usr/local/bin/kubelet")
            self.push(name, base + "/kubectl", "/usr/local/bin/kubectl")
            self.push(name, gh + "/opencontainers/runc/releases/download/v1.4.3/runc.amd64", "/usr/local/bin/runc")
            self.untar(name, gh + "/containerd/containerd/releases/download/v2.3.4/containerd-2.3.4-linux-amd64.tar.gz",
                       "/usr/local")
            self.untar(name, gh + "/containernetworking/plugins/releases/download/v1.9.1/"
                       "cni-plugins-linux-amd64-v1.9.1.tgz", "/opt/cni/bin")
            self.untar(name, gh + "/kubernetes-sigs/cri-tools/releases/download/v%s/crictl-v%s-linux-amd64.tar.gz" % (
                crictl, crictl), "/usr/local/bin")
            self.put(name, "/etc/systemd/system/containerd.service", CONTAINERD_UNIT)
            # like Cairn: the systemd cgroup driver and the release's pause image pinned in containerd
            self.sh(name, "mkdir -p /etc/containerd && /usr/local/bin/containerd config default | sed "
                          "-e 's/SystemdCgroup = false/SystemdCgroup = true/' -e \"s|sandbox = '.*'|sandbox = "
                          "'%s'|\" > /etc/containerd/config.toml" % self.pause_image())
            self.put(name, "/etc/crictl.yaml", "runtime-endpoint: unix:///run/containerd/containerd.sock\n")
            self.put(name, "/etc/systemd/system/kubelet.service", KUBELET_UNIT)
            self.put(name, "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", KUBEADM_DROPIN)
            self.sh(name, "sysctl -qw net.ipv4.ip_forward=1 && systemctl daemon-reload && "
                          "systemctl enable containerd kubelet >/dev/null 2>&1; systemctl start containerd; "
                          "systemctl start kubelet; true", timeout=120)
        self.parallel(one, hosts or self.hosts)

    def push(self, host, src, dest, mode="0755"):
        with open(src, "rb") as f:
            data = f.read()
        p = subprocess.run([LAB, "exec", self.name, host, "--", "/bin/bash", "-c",
                            "mkdir -p %s && cat > %s.tmp && chmod %s %s.tmp && mv %s.tmp %s" % (
                                os.path.dirname(dest), dest, mode, dest, dest, dest)],
                           input=data, capture_output=True, timeout=60)
        if p.returncode:
            raise CmdError("push " + dest, p.returncode, p.stdout.decode(), p.stderr.decode())

    def untar(self, host, src, dest):
        with open(src, "rb") as f:
            data = f.read()
        p = subprocess.run([LAB, "exec", self.name, host, "--", "/bin/bash", "-c",
                            "mkdir -p %s && tar -C %s -xzf -" % (dest, dest)], input=data, capture_output=True,
                           timeout=60)
        if p.returncode:
            raise CmdError("untar " + src, p.returncode, p.stdout.decode(), p.stderr.decode())

    # --- kubeadm configuration as Cairn renders it ---
    def init_config(self, host_index=0, cp_endpoint=None, extra_cluster="", extra_init="", token="abcdef.0123456789abcdef",
                    cert_key=None, api_version="kubeadm.k8s.io/v1beta4"):
        name, ip = self.hosts[host_index]
        cpe = cp_endpoint or "%s:6443" % self.hosts[0][1]
        eps = "\n".join("    - %s" % e for e in self.etcd_endpoints())
        ck = "certificateKey: %s\n" % cert_key if cert_key else ""
        return """apiVersion: %(av)s
kind: InitConfiguration
bootstrapTokens:
- token: %(token)s
  ttl: 24h0m0s
localAPIEndpoint:
  advertiseAddress: %(ip)s
  bindPort: 6443
nodeRegistration:
  name: %(name)s
  criSocket: unix:///var/run/containerd/containerd.sock
  kubeletExtraArgs:
  - name: node-ip
    value: %(ip)s
%(ck)s%(extra_init)s---
apiVersion: %(av)s
kind: ClusterConfiguration
kubernetesVersion: v%(ver)s
controlPlaneEndpoint: "%(cpe)s"
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
  dnsDomain: cluster.local
etcd:
  external:
    endpoints:
%(eps)s
    caFile: /etc/kubernetes/pki/etcd/ca.crt
    certFile: /etc/kubernetes/pki/apiserver-etcd-client.crt
    keyFile: /etc/kubernetes/pki/apiserver-etcd-client.key
apiServer:
  certSANs:
  - %(cpe_host)s
  extraArgs:
  - name: audit-log-maxage
    value: "7"
%(extra_cluster)s""" % {"av": api_version, "token": token, "ip": ip, "name": name, "ver": self.version, "cpe": cpe,
                        "eps": eps, "cpe_host": cpe.split(":")[0], "extra_cluster": extra_cluster,
                        "extra_init": extra_init, "ck": ck}

    def kubeadm_init(self, host_index=0, config=None, flags="--upload-certs", check=True, timeout=300):
        name, _ = self.hosts[host_index]
        self.put(name, "/etc/kubernetes/kubeadm-init.yaml", config or self.init_config(host_index))
        r = self.sh(name, "kubeadm init --config /etc/kubernetes/kubeadm-init.yaml %s" % flags, check=check,
                    timeout=timeout)
        if r.rc == 0:
            admin = self.sh(name, "cat /etc/kubernetes/admin.conf").out
            with open(self.work + "/admin.conf", "w") as f:
                f.write(admin)
        return r

    def ca_hash(self):
        return self.sh(self.hosts[0][0], "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey "
                                         "-pubin -outform der | sha256sum | cut -d' ' -f1").out.strip()

    def wait(self, fn, timeout=60, interval=1.0, what="condition", done=bool):
        """wait_until(fn, timeout, what, interval, done)."""
        return wait_until(fn, timeout, what, interval=interval, done=done)

    # --- known states, so that each test can set up what it needs itself ---
    def log(self, msg):
        """Progress of the set-up helpers (on stderr: visible next to unittest's -v lines)."""
        sys.stderr.write("[lab %s] %s\n" % (self.name, msg))
        sys.stderr.flush()

    def kubeadm_leftovers(self, host):
        """What kubeadm init/join, a CNI or the fault knobs left on `host` (empty: as after install_k8s)."""
        return self.sh(host, "ls -d /etc/kubernetes/*.conf /etc/kubernetes/manifests/* /var/lib/kubelet/* "
                             "/etc/cni/net.d/* /etc/cairn-lab/faults/* /etc/cairn-lab/swaps "
                             "/etc/cairn-lab/image-pull-seconds 2>/dev/null; true").out.split()

    def etcd_keys(self, limit=5):
        """A few keys in etcd (Kubernetes keeps its objects under /registry/)."""
        r = self.etcdctl(self.hosts[0][0], 'get "" --from-key --keys-only --limit %d' % limit)
        return [k for k in r.out.split() if k]

    def is_pristine(self):
        """Nothing of Kubernetes on any host and in etcd: the state right after setup_etcd + install_k8s."""
        left = {h: self.kubeadm_leftovers(h) for h, _ in self.hosts}
        keys = self.etcd_keys()
        dirty = {h: l for h, l in left.items() if l}
        if dirty or keys:
            self.log("not pristine: hosts %s, etcd keys %s" % (dirty, keys))
            return False
        return True

    def reset_kubernetes(self):
        """Back to the state right after setup_etcd + install_k8s: `kubeadm reset -f` on every host, CNI
        configuration and fault knobs removed, kubelet and containerd running (unconfigured), etcd emptied,
        the API server's etcd client certificates (which kubeadm reset deletes) put back. The hosts'
        storage devices (scripts/lab-k8s devices) are kept."""
        self.log("resetting Kubernetes on every host and emptying etcd")

        def one(name):
            self.sh(name, "kubeadm reset -f >/dev/null 2>&1; rm -rf /etc/cni/net.d /etc/cairn-lab/faults "
                          "/etc/cairn-lab/swaps /etc/cairn-lab/image-pull-seconds /opt/cni/bin/calico "
                          "/opt/cni/bin/calico-ipam; sysctl -qw net.ipv4.ip_forward=1; systemctl start containerd; "
                          "systemctl start kubelet; true", timeout=180)
        self.parallel(one, [h for h, _ in self.hosts])
        for name, _ in self.hosts[:3]:
            self.sh(name, "systemctl start etcd")
        self.wait_etcd(120)
        self.etcdctl(self.hosts[0][0], 'del "" --from-key')
        self.distribute_etcd_client_certs()
        try:
            os.unlink(os.path.join(self.work, "admin.conf"))
        except OSError:
            pass
        left = {h: self.kubeadm_leftovers(h) for h, _ in self.hosts}
        keys = self.etcd_keys()
        if any(left.values()) or keys:
            raise AssertionError("reset left state behind: hosts %s, etcd keys %s" % (left, keys))

    def is_member(self, host, control_plane=False):
        """`host` has joined (or initialized) a cluster: kubelet.conf, and for a control plane the API
        server's static pod manifest."""
        files = "/etc/kubernetes/kubelet.conf" + (" /etc/kubernetes/manifests/kube-apiserver.yaml"
                                                   if control_plane else "")
        return self.sh(host, "for f in %s; do test -s $f || exit 1; done" % files, check=False).rc == 0

    def leave(self, host):
        """`kubeadm reset -f` on `host` and its Node object deleted (if the API answers): the host as after
        install_k8s again."""
        self.log("%s leaves the cluster (kubeadm reset, Node deleted)" % host)
        # the kubelet back on, unconfigured, as after install_k8s (systemctl says it failed: it has no config yet)
        self.sh(host, "kubeadm reset -f && { systemctl start kubelet; true; }", timeout=180)
        # kubeadm reset deleted /etc/kubernetes/pki, with the etcd client certificates setup_etcd put there
        self.distribute_etcd_client_certs([h for h in self.hosts[:3] if h[0] == host])
        if os.path.exists(os.path.join(self.work, "admin.conf")):
            self.kubectl("delete node %s --ignore-not-found" % host)

    # --- storage devices (scripts/lab-k8s devices) ---
    def devices(self, host):
        out = self._run([LAB_K8S, "devices", self.name, host, "list"], timeout=120).out
        return [l.split("\t")[2] for l in out.splitlines() if l.strip()]

    def add_devices(self, host, n, size="256M"):
        out = self._run([LAB_K8S, "devices", self.name, host, "add", str(n), "--size", size], timeout=120).out.split()
        if len(out) != n:
            raise AssertionError("devices add %d on %s printed %r" % (n, host, out))
        return out

    def remove_devices(self, host):
        self._run([LAB_K8S, "devices", self.name, host, "remove"], timeout=120)

    def get_json(self, args):
        r = self.kubectl(args + " -o json")
        if r.rc != 0:
            return None
        return json.loads(r.out)

    def node_ready(self, name):
        n = self.get_json("get node %s" % name)
        if not n:
            return False
        return any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions") or [])
