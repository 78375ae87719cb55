"""kubelet stand-in: runs as the kubelet systemd service, starts the static pods of
/etc/kubernetes/manifests as processes (the API server, controller-manager and scheduler stand-ins),
does the TLS bootstrap, registers the Node, and reports pod status for pods bound to it."""
import base64
import hashlib
import json
import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

import pki
from apiclient import ApiError, Client, ConnError, KubeConfig, kubeconfig_dict
from common import (Fatal, LAB_STATE, RUN_DIR, cgroup_v2, fault, k8s_version, log, read_file, rfc3339, slow_delay,
                    write_file, yaml_dump, hostname, local_addresses, parse_time, now, build_info)

# The kubelet's flags the stand-in accepts; any other is an unknown flag, as for the real kubelet.
# --pod-infra-container-image is not among them: deprecated in 1.34 ("will be removed in 1.35"),
# removed in 1.35 (kubernetes #133779); the sandbox image is set in containerd.
FLAGS = {"bootstrap-kubeconfig", "kubeconfig", "config", "container-runtime-endpoint", "node-ip",
         "hostname-override", "node-labels", "register-with-taints", "v",
         "cgroup-driver", "fail-swap-on", "runtime-request-timeout", "image-service-endpoint", "root-dir",
         "cert-dir", "provider-id", "cloud-provider", "max-pods", "resolv-conf", "cluster-dns", "cluster-domain",
         "rotate-certificates", "feature-gates", "system-reserved", "kube-reserved", "eviction-hard",
         "node-status-update-frequency", "read-only-port", "anonymous-auth", "authorization-mode", "client-ca-file",
         "allowed-unsafe-sysctls", "seccomp-default", "register-node", "cpu-manager-policy"}
PODS_DIR = os.path.join(RUN_DIR, "pods")
LOG_DIR = "/var/log/cairn-lab-k8s"
COMPONENTS = {"kube-apiserver", "kube-controller-manager", "kube-scheduler"}
IMAGES_FILE = "/var/lib/kubelet/cairn-lab-images"


def image_pull_seconds():
    """Time a first pull of an image takes on a node (default 2s; /etc/cairn-lab/image-pull-seconds)."""
    v = read_file(os.path.join(LAB_STATE, "image-pull-seconds"))
    try:
        return float(v.strip()) if v else 2.0
    except ValueError:
        return 2.0


def fail(msg):
    sys.stderr.write('E%s %7d run.go:72] "command failed" err="%s"\n' % (
        time.strftime("%m%d %H:%M:%S.000000"), os.getpid(), msg.replace('"', '\\"')))
    sys.stderr.flush()
    return 1


class FlagError(Exception):
    pass


# Feature gates the kubelet refuses as unknown. The stand-in has no list of the kubelet's own gates
# (it accepts any other name); these are kubeadm's gates, which no kubelet ever had, among them the
# ones kubeadm removed in 1.35-1.37 (WaitForAllControlPlaneComponents, ControlPlaneKubeletLocalMode,
# NodeLocalCRISocket, PublicKeysECDSA): passing them to the kubelet is a mistake worth catching.
NOT_KUBELET_GATES = {"WaitForAllControlPlaneComponents", "ControlPlaneKubeletLocalMode", "NodeLocalCRISocket",
                     "PublicKeysECDSA", "EtcdLearnerMode", "RootlessControlPlane"}


def check_feature_gates(gates):
    """component-base's SetFromMap, as the kubelet wraps it (cmd/kubelet/app/server.go)."""
    for name in sorted(gates or {}):
        if name in NOT_KUBELET_GATES:
            return "failed to set feature gates from initial flags-based config: unrecognized feature gate: %s" % name
    return None


def parse_flags(argv):
    """pflag's parsing; an error is returned the way the kubelet reports it (run.go: "command failed")."""
    flags = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--"):
            raise FlagError('failed to parse kubelet flag: unknown command "%s" for "kubelet"' % a)
        name, eq, val = a[2:].partition("=")
        if name not in FLAGS:
            raise FlagError("failed to parse kubelet flag: unknown flag: --%s" % name)
        if not eq:
            if name in ("fail-swap-on", "rotate-certificates", "register-node", "anonymous-auth", "seccomp-default"):
                val = "true"
            else:
                i += 1
                val = argv[i] if i < len(argv) else ""
        flags[name] = val
        i += 1
    return flags


def swap_on():
    override = os.path.join(LAB_STATE, "swaps")
    text = read_file(override) if os.path.exists(override) else read_file("/proc/swaps", "")
    return len([l for l in (text or "").splitlines() if l.strip()]) > 1


def cri_call(endpoint, method, **kw):
    path = endpoint[len("unix://"):] if endpoint.startswith("unix://") else endpoint
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall((json.dumps(dict(kw, method=method)) + "\n").encode())
    data = s.makefile().readline()
    s.close()
    return json.loads(data)


# ------------------------------------------------------------------ static pods

def manifest_hash(path):
    return hashlib.sha256(read_file(path, "", binary=True) or b"").hexdigest()[:16]


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()[0]
        return st != "Z"
    except (OSError, IndexError):
        return False


class StaticPods:
    def __init__(self, kubelet):
        self.k = kubelet
        self.dir = kubelet.static_dir
        os.makedirs(PODS_DIR, exist_ok=True)
        os.makedirs(LOG_DIR, exist_ok=True)
        self.procs = {}   # name -> Popen (our children), for reaping
        self.backoff = {}

    def state(self, name):
        t = read_file(os.path.join(PODS_DIR, name))
        if not t:
            return None
        try:
            return json.loads(t)
        except ValueError:
            return None

    def running(self):
        out = {}
        for n in os.listdir(PODS_DIR):
            st = self.state(n)
            if st and pid_alive(st["pid"]):
                out[n] = st
        return out

    def stop(self, name, st=None):
        st = st or self.state(name)
        if st:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(st["pid"], sig)
                except OSError:
                    pass
                for _ in range(30):
                    if not pid_alive(st["pid"]):
                        break
                    self.reap()
                    time.sleep(0.1)
                if not pid_alive(st["pid"]):
                    break
        try:
            os.unlink(os.path.join(PODS_DIR, name))
        except OSError:
            pass

    def reap(self):
        for n, p in list(self.procs.items()):
            if p.poll() is not None:
                del self.procs[n]

    def start(self, name, path, h):
        now_t = time.monotonic()
        b = self.backoff.get(name, (0, 0.0))
        if now_t < b[1]:
            return
        self_path = program_snapshot(os.path.realpath(sys.argv[0]))
        logf = open(os.path.join(LOG_DIR, name + ".log"), "ab")
        p = subprocess.Popen([sys.executable, self_path, "__static-pod", path], stdin=subprocess.DEVNULL,
                             stdout=logf, stderr=logf, start_new_session=True, close_fds=True)
        logf.close()
        self.procs[name] = p
        restarts = b[0]
        write_file(os.path.join(PODS_DIR, name), json.dumps({"pid": p.pid, "hash": h, "manifest": path,
                                                             "started": rfc3339(), "restarts": restarts}))
        # crash-loop back-off like the kubelet: 10s doubling to 5m (shortened: 2s doubling to 20s)
        self.backoff[name] = (restarts + 1, now_t + min(20.0, 2.0 * (2 ** min(restarts, 4))))
        log("kubelet", "started static pod %s (pid %d)", name, p.pid)

    def sync(self):
        self.reap()
        want = {}
        if os.path.isdir(self.dir):
            for f in sorted(os.listdir(self.dir)):
                if f.startswith(".") or not f.endswith((".yaml", ".yml", ".json")):
                    continue
                path = os.path.join(self.dir, f)
                try:
                    m = yaml.safe_load(read_file(path, ""))
                    name = m["metadata"]["name"]
                except Exception:  # noqa: BLE001
                    continue
                want[name] = (path, manifest_hash(path), m)
        for n in os.listdir(PODS_DIR):
            st = self.state(n)
            if n not in want:
                self.stop(n, st)
        for name, (path, h, m) in want.items():
            if name == "kube-apiserver" and fault("apiserver-stop") is not None:
                st = self.state(name)
                if st and pid_alive(st["pid"]):
                    log("kubelet", "fault apiserver-stop: stopping %s", name)
                    self.stop(name, st)
                continue
            st = self.state(name)
            if st and pid_alive(st["pid"]) and st.get("hash") == h:
                self.backoff[name] = (st.get("restarts", 0), self.backoff.get(name, (0, 0.0))[1]) \
                    if time.monotonic() < self.backoff.get(name, (0, 0.0))[1] + 60 else (0, 0.0)
                continue
            if st and pid_alive(st["pid"]):
                self.stop(name, st)
                self.backoff.pop(name, None)
            self.start(name, path, h)
        return want


def program_snapshot(path):
    """A private, unchanging copy of the program a static pod runs (a container runs its image, not
    the kubelet's binary): replacing /usr/local/bin/kubelet during an upgrade must not touch running
    pods, and a zipapp swapped under a running Python breaks its later imports. Copies live on the
    tmpfs /run, in a folder named by content, like unpacked image layers."""
    import zipfile
    try:
        if not zipfile.is_zipfile(path):
            return path      # run from a source directory or file (tests): nothing to snapshot
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return path
    # under its own name: the stand-ins are one multi-call program that acts by the name it runs as
    snap = os.path.join(RUN_DIR, "programs", hashlib.sha256(data).hexdigest()[:16], os.path.basename(path))
    if not os.path.exists(snap):
        try:
            write_file(snap, data, 0o755)
        except OSError:
            return path
    return snap


def run_static_pod(path):
    """Child process: become the component named by the manifest's container command."""
    m = yaml.safe_load(read_file(path, ""))
    c = m["spec"]["containers"][0]
    cmd = list(c.get("command") or []) + list(c.get("args") or [])
    image = c.get("image", "")
    tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
    if tag.startswith("v"):
        os.environ["CAIRN_LAB_IMAGE_VERSION"] = tag[1:]
    comp = os.path.basename(cmd[0]) if cmd else ""
    log("static-pod", "%s: %s", m["metadata"]["name"], " ".join(cmd))
    if comp == "kube-apiserver":
        import apiserver
        return apiserver.main(cmd[1:])
    if comp == "kube-controller-manager":
        import controllers
        return controllers.main_kcm(cmd[1:])
    if comp == "kube-scheduler":
        import scheduler
        return scheduler.main(cmd[1:])
    # any other static pod: a container that only exists (its image's program is not simulated)
    while True:
        time.sleep(3600)


# ------------------------------------------------------------------ health endpoints

class Healthz(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        body = b"ok"
        self.send_response(200 if self.path.startswith("/healthz") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_health(port, tls_dir=None):
    try:
        if tls_dir:
            srv = ThreadingHTTPServer(("0.0.0.0", port), Healthz)
            crt, key = os.path.join(tls_dir, "kubelet.crt"), os.path.join(tls_dir, "kubelet.key")
            if not (os.path.exists(crt) and os.path.exists(key)):
                pki.gen_key(key, "ECDSA-P256")
                subprocess.run(["openssl", "req", "-x509", "-new", "-key", key, "-subj", "/CN=%s@%d" % (
                    hostname(), int(time.time())), "-days", "365", "-out", crt], capture_output=True, check=True)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(crt, key)
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        else:
            srv = ThreadingHTTPServer(("127.0.0.1", port), Healthz)
    except OSError as e:
        raise Fatal("failed to run Kubelet: listen tcp %s:%d: bind: %s" % ("0.0.0.0" if tls_dir else "127.0.0.1",
                                                                          port, (e.strerror or str(e)).lower()))
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


# ------------------------------------------------------------------ the kubelet

def network_ready():
    """Like the kubelet's CNI check: a config in /etc/cni/net.d whose plugins exist in /opt/cni/bin."""
    d = "/etc/cni/net.d"
    try:
        files = sorted(f for f in os.listdir(d) if f.endswith((".conf", ".conflist", ".json")))
    except OSError:
        files = []
    if not files:
        return False, "cni plugin not initialized"
    for f in files:
        try:
            conf = json.loads(read_file(os.path.join(d, f), "{}"))
        except ValueError:
            continue
        types = [p.get("type") for p in conf.get("plugins") or [conf]]
        missing = [t for t in types if t and not os.path.exists(os.path.join("/opt/cni/bin", t))]
        if missing:
            return False, 'failed to find plugin "%s" in path [/opt/cni/bin]' % missing[0]
        return True, None
    return False, "cni plugin not initialized"


def install_calico_cni():
    """What calico-node's install-cni init container does on the host."""
    os.makedirs("/opt/cni/bin", exist_ok=True)
    for b in ("calico", "calico-ipam"):
        p = os.path.join("/opt/cni/bin", b)
        if not os.path.exists(p):
            write_file(p, "#!/bin/sh\necho '{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"1.0.0\"]}'\n", 0o755)
    conf = {"name": "k8s-pod-network", "cniVersion": "0.3.1", "plugins": [
        {"type": "calico", "log_level": "info", "datastore_type": "kubernetes", "mtu": 0,
         "ipam": {"type": "calico-ipam"}, "policy": {"type": "k8s"},
         "kubernetes": {"kubeconfig": "/etc/cni/net.d/calico-kubeconfig"}},
        {"type": "portmap", "snat": True, "capabilities": {"portMappings": True}},
        {"type": "bandwidth", "capabilities": {"bandwidth": True}}]}
    path = "/etc/cni/net.d/10-calico.conflist"
    if not os.path.exists(path):
        write_file(path, json.dumps(conf, indent=2), 0o644)


def is_calico_node(pod):
    labels = pod["metadata"].get("labels") or {}
    if labels.get("k8s-app") == "calico-node":
        return True
    return any("calico/node" in (c.get("image") or "") for c in pod["spec"].get("containers") or [])


def image_fault(pod):
    v = fault("image-pull")
    if not v:
        return None
    ns, name = pod["metadata"].get("namespace"), pod["metadata"]["name"]
    for line in v.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("image:"):
            ref = line[6:]
            for c in pod["spec"].get("containers") or []:
                if ref in (c.get("image") or ""):
                    return c.get("image")
        elif "/" in line:
            fns, fname = line.split("/", 1)
            if fns == ns and (name == fname or name.startswith(fname + "-")):
                return (pod["spec"].get("containers") or [{}])[0].get("image")
    return None


def block_size(path):
    try:
        st = os.stat(path)
        if stat.S_ISBLK(st.st_mode):
            with open(path, "rb") as f:
                return f.seek(0, 2)
        return st.st_size
    except OSError:
        return None


def lab_devices():
    """Storage devices of this lab host (scripts/lab-k8s devices ... writes /etc/cairn-lab/devices)."""
    out = []
    for line in (read_file(os.path.join(LAB_STATE, "devices"), "") or "").splitlines():
        p = line.strip()
        if not p or p.startswith("#"):
            continue
        size = block_size(p)
        if size is None:
            continue
        out.append({"path": p, "name": os.path.basename(p), "size": size,
                    "type": "block" if stat.S_ISBLK(os.stat(p).st_mode) else "file"})
    return out


class Kubelet:
    def __init__(self, flags, cfg):
        self.flags = flags
        self.cfg = cfg
        self.static_dir = cfg.get("staticPodPath") or "/etc/kubernetes/manifests"
        self.name = (flags.get("hostname-override") or hostname()).lower()
        addrs = local_addresses()
        self.ip = flags.get("node-ip") or (addrs[0] if addrs else "127.0.0.1")
        self.kubeconfig = flags.get("kubeconfig") or "/etc/kubernetes/kubelet.conf"
        self.bootstrap = flags.get("bootstrap-kubeconfig")
        self.cri = flags.get("container-runtime-endpoint") or cfg.get("containerRuntimeEndpoint") or \
            "unix:///var/run/containerd/containerd.sock"
        self.client = None
        self.registered = False
        self.pods = StaticPods(self)
        self.last_status = 0.0
        self.started = rfc3339()
        self.pod_seen = {}
        self.pull_started = {}
        self.mount_events = {}
        self.images = set((read_file(IMAGES_FILE, "") or "").split())

    def save_images(self):
        try:
            write_file(IMAGES_FILE, "\n".join(sorted(self.images)) + "\n", 0o644)
        except OSError:
            pass

    # --- API client / TLS bootstrap ---
    def get_client(self):
        if self.client is not None:
            return self.client
        if os.path.exists(self.kubeconfig):
            try:
                self.client = Client.from_kubeconfig(self.kubeconfig, timeout=8,
                                                     user_agent="kubelet/v%s (linux/amd64)" % k8s_version())
                return self.client
            except (Fatal, OSError, ssl.SSLError) as e:
                log("kubelet", "kubeconfig %s unusable: %s", self.kubeconfig, e)
                return None
        if self.bootstrap and os.path.exists(self.bootstrap):
            self.tls_bootstrap()
        return None

    def tls_bootstrap(self):
        try:
            bk = KubeConfig(self.bootstrap)
            cl = Client.from_kubeconfig(kc=bk, timeout=8)
            d = "/var/lib/kubelet/pki"
            os.makedirs(d, exist_ok=True)
            key = os.path.join(d, "kubelet-client.key.tmp")
            pki.gen_key(key, "ECDSA-P256")
            csr = pki.make_csr(key, "system:node:" + self.name, ["system:nodes"])
            body = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                    "metadata": {"generateName": "csr-"},
                    "spec": {"request": base64.b64encode(csr).decode(), "signerName":
                             "kubernetes.io/kube-apiserver-client-kubelet",
                             "usages": ["digital signature", "client auth"]}}
            r = cl.post("/apis/certificates.k8s.io/v1/certificatesigningrequests", body)
            crt = base64.b64decode((r.get("status") or {}).get("certificate") or "")
            if not crt:
                log("kubelet", "CSR %s not signed", r["metadata"]["name"])
                return
            pem = crt + read_file(key, binary=True)
            ts = time.strftime("%Y-%m-%d-%H-%M-%S")
            cur = os.path.join(d, "kubelet-client-%s.pem" % ts)
            write_file(cur, pem, 0o600)
            os.unlink(key)
            link = os.path.join(d, "kubelet-client-current.pem")
            try:
                os.unlink(link)
            except OSError:
                pass
            os.symlink(cur, link)
            ca = bk._bytes(bk.cluster, "certificate-authority")
            kcfg = kubeconfig_dict(bk.server, ca, "default-auth")
            kcfg["users"][0]["user"] = {"client-certificate": link, "client-key": link}
            kcfg["contexts"][0]["name"] = "default-context"
            kcfg["contexts"][0]["context"] = {"cluster": "default-cluster", "namespace": "default",
                                              "user": "default-auth"}
            kcfg["clusters"][0]["name"] = "default-cluster"
            kcfg["current-context"] = "default-context"
            write_file(self.kubeconfig, yaml_dump(kcfg), 0o600)
            log("kubelet", "TLS bootstrap done: %s", self.kubeconfig)
        except (ApiError, ConnError, Fatal, OSError) as e:
            log("kubelet", "TLS bootstrap failed: %s", e)

    # --- node ---
    def node_object(self):
        labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  "kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux"}
        for kv in (self.flags.get("node-labels") or "").split(","):
            if "=" in kv:
                k, v = kv.split("=", 1)
                labels[k] = v
        taints = []
        for t in (self.flags.get("register-with-taints") or "").split(","):
            if not t:
                continue
            kv, _, eff = t.partition(":")
            k, _, v = kv.partition("=")
            taints.append(dict({"key": k, "effect": eff}, **({"value": v} if v else {})))
        reg = {}
        try:
            reg = json.loads(read_file("/var/lib/kubelet/cairn-lab-registration.json", "{}"))
        except ValueError:
            pass
        ann = {"kubeadm.alpha.kubernetes.io/cri-socket": reg.get("criSocket", self.cri),
               "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}
        if not network_ready()[0] or fault("never-ready") is not None:
            # like the kubelet: register NotReady nodes with the not-ready taint already in place
            taints.append({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
        spec = {}
        if taints:
            spec["taints"] = taints
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.name, "labels": labels, "annotations": ann}, "spec": spec}

    def node_status(self, prev=None):
        ready, why = network_ready()
        msg = None
        if fault("never-ready") is not None:
            ready, msg = False, "PLEG is not healthy: pleg has yet to be successful"
        elif not ready:
            msg = ("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                   "message:Network plugin returns error: %s" % why)
        t = rfc3339()
        prev_conds = {c["type"]: c for c in ((prev or {}).get("status") or {}).get("conditions") or []}

        def cond(typ, status, reason, message):
            p = prev_conds.get(typ)
            lt = p["lastTransitionTime"] if p and p.get("status") == status else t
            return {"type": typ, "status": status, "reason": reason, "message": message, "lastHeartbeatTime": t,
                    "lastTransitionTime": lt}
        mem_kb = 0
        for line in (read_file("/proc/meminfo", "") or "").splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
        cpus = str(os.cpu_count() or 1)
        cap = {"cpu": cpus, "memory": "%dKi" % mem_kb, "pods": "110", "ephemeral-storage": "51474912Ki",
               "hugepages-2Mi": "0"}
        alloc = dict(cap, memory="%dKi" % max(0, mem_kb - 102400))
        uname = os.uname()
        return {
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True" if ready else "False", "KubeletReady" if ready else "KubeletNotReady",
                     "kubelet is posting ready status" if ready else msg)],
            "addresses": [{"type": "InternalIP", "address": self.ip}, {"type": "Hostname", "address": self.name}],
            "capacity": cap, "allocatable": alloc,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"architecture": "amd64", "bootID": read_file("/proc/sys/kernel/random/boot_id", "").strip(),
                         "containerRuntimeVersion": "containerd://%s" % build_info()["containerdVersion"],
                         "kernelVersion": uname.release, "kubeProxyVersion": "", "kubeletVersion": "v" + k8s_version(),
                         "machineID": read_file("/etc/machine-id", "").strip(), "operatingSystem": "linux",
                         "osImage": "Debian GNU/Linux 12 (bookworm)", "systemUUID": read_file(
                             "/etc/machine-id", "").strip()}}

    def sync_node(self, client):
        try:
            cur = client.get("/api/v1/nodes/" + self.name)
        except ApiError as e:
            if e.code != 404:
                raise
            cur = None
        if cur is None:
            if self.registered:
                # Like the kubelet: it registers once (registrationCompleted); a Node deleted later
                # (kubectl delete node) stays deleted until the kubelet restarts, and no mirror pod
                # is made for a node that is not there.
                self.node_gone = True
                log("kubelet", 'Error updating node status, will retry: error getting node "%s": nodes "%s" not '
                    'found', self.name, self.name)
                return
            obj = self.node_object()
            obj["status"] = self.node_status()
            try:
                client.post("/api/v1/nodes", obj)
                log("kubelet", "Successfully registered node %s", self.name)
            except ApiError as e:
                if e.code != 409:
                    raise
            self.registered = True
            return
        self.registered, self.node_gone = True, False
        self.pod_cidr = (cur.get("spec") or {}).get("podCIDR")
        devs = json.dumps(lab_devices(), separators=(",", ":"))
        osd_down = fault("osd-down")
        ann = cur["metadata"].setdefault("annotations", {})
        changed = ann.get("lab.cairn.dev/devices") != devs or ann.get("lab.cairn.dev/osd-down") != osd_down
        if changed:
            ann["lab.cairn.dev/devices"] = devs
            if osd_down is None:
                ann.pop("lab.cairn.dev/osd-down", None)
            else:
                ann["lab.cairn.dev/osd-down"] = osd_down
            client.put("/api/v1/nodes/" + self.name, cur)
            cur = client.get("/api/v1/nodes/" + self.name)
        status = self.node_status(cur)
        old_ready = next((c["status"] for c in (cur.get("status") or {}).get("conditions") or []
                          if c["type"] == "Ready"), None)
        new_ready = next(c["status"] for c in status["conditions"] if c["type"] == "Ready")
        if old_ready != new_ready or time.monotonic() - self.last_status > 10:
            cur["status"] = dict(cur.get("status") or {}, **status)
            client.put("/api/v1/nodes/%s/status" % self.name, cur)
            self.last_status = time.monotonic()

    # --- pods ---
    def sync_pods(self, client):
        pods = client.get("/api/v1/pods", query={"fieldSelector": "spec.nodeName=" + self.name})["items"]
        net_ok, _ = network_ready()
        for p in pods:
            if (p["metadata"].get("annotations") or {}).get("kubernetes.io/config.mirror"):
                continue
            if p["metadata"].get("deletionTimestamp"):
                continue
            want = self.pod_status(p, net_ok, client)
            if want is None:
                continue
            cur = p.get("status") or {}
            if _status_key(cur) == _status_key(want):
                continue
            p["status"] = want
            try:
                client.put("/api/v1/namespaces/%s/pods/%s/status" % (p["metadata"]["namespace"], p["metadata"]["name"]), p)
            except ApiError as e:
                if e.code not in (404, 409):
                    raise
            if is_calico_node(p) and want.get("phase") == "Running":
                install_calico_cni()

    def missing_volumes(self, p, client):
        """[(volume, 'secret "x" not found')] for the Secret and ConfigMap volumes (also projected
        sources) of `p` that do not exist and are not optional: the kubelet cannot mount them."""
        out = []
        ns = p["metadata"]["namespace"]
        for v in p["spec"].get("volumes") or []:
            sources = [v] + [s for s in (v.get("projected") or {}).get("sources") or []]
            for src in sources:
                for kind, key, path in (("secret", "secretName", "secrets"), ("configMap", "name", "configmaps")):
                    ref = src.get(kind)
                    if v is not src and kind == "secret":
                        key = "name"
                    if not isinstance(ref, dict) or ref.get("optional") or not ref.get(key):
                        continue
                    if client.get_or_none("/api/v1/namespaces/%s/%s/%s" % (ns, path, ref[key])) is None:
                        out.append((v.get("name"), '%s "%s" not found' % (kind.lower(), ref[key])))
        return out

    def mount_event(self, client, p, volume, why):
        """kubelet's FailedMount event (one per pod and volume, its count raised on repeats)."""
        ns, name = p["metadata"]["namespace"], p["metadata"]["name"]
        message = 'MountVolume.SetUp failed for volume "%s" : %s' % (volume, why)
        ev = "%s.%s" % (name, hashlib.sha256((volume + why).encode()).hexdigest()[:16])
        path = "/api/v1/namespaces/%s/events" % ns
        now_ = rfc3339()
        try:
            cur = client.get_or_none(path + "/" + ev)
            if cur is None:
                client.post(path, {"apiVersion": "v1", "kind": "Event", "metadata": {"name": ev, "namespace": ns},
                                   "involvedObject": {"kind": "Pod", "namespace": ns, "name": name, "apiVersion": "v1",
                                                      "uid": p["metadata"]["uid"]},
                                   "reason": "FailedMount", "message": message, "type": "Warning", "count": 1,
                                   "source": {"component": "kubelet", "host": self.name},
                                   "reportingComponent": "kubelet", "reportingInstance": self.name,
                                   "firstTimestamp": now_, "lastTimestamp": now_})
            elif (time.monotonic() - self.mount_events.get(ev, 0)) > 30:
                cur.update(count=int(cur.get("count", 1)) + 1, lastTimestamp=now_)
                client.put(path + "/" + ev, cur)
            else:
                return
            self.mount_events[ev] = time.monotonic()
        except ApiError:
            pass

    def pod_status(self, p, net_ok, client=None):
        uid = p["metadata"]["uid"]
        t = rfc3339()
        cur = p.get("status") or {}
        if cur.get("phase") in ("Succeeded", "Failed"):
            return None   # terminal: the containers have exited
        start = cur.get("startTime") or t
        host_net = p["spec"].get("hostNetwork", False)
        containers = p["spec"].get("containers") or []
        base = {"hostIP": self.ip, "hostIPs": [{"ip": self.ip}], "startTime": start,
                "qosClass": cur.get("qosClass", "BestEffort")}
        sched = {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": start}
        bad_image = image_fault(p)
        if bad_image:
            reason = "ImagePullBackOff" if self.pod_seen.get(uid, 0) >= 1 else "ErrImagePull"
            self.pod_seen[uid] = self.pod_seen.get(uid, 0) + 1
            msg = ('Back-off pulling image "%s"' % bad_image if reason == "ImagePullBackOff" else
                   'failed to pull and unpack image "%s": failed to resolve reference "%s": pull access denied, '
                   'repository does not exist or may require authorization' % (bad_image, bad_image))
            return dict(base, phase="Pending", conditions=[
                {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": start},
                {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": start},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [%s]" % " ".join(c["name"] for c in containers),
                 "lastProbeTime": None, "lastTransitionTime": start},
                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [%s]" % " ".join(c["name"] for c in containers),
                 "lastProbeTime": None, "lastTransitionTime": start}, sched],
                containerStatuses=[{"name": c["name"], "image": c.get("image"), "imageID": "", "ready": False,
                                    "restartCount": 0, "started": False,
                                    "state": {"waiting": {"reason": reason if c.get("image") == bad_image or
                                                          True else "PodInitializing", "message": msg}},
                                    "lastState": {}} for c in containers],
                podIP=None if not host_net else self.ip)
        if not host_net and not net_ok and not is_calico_node(p):
            return dict(base, phase="Pending", conditions=[
                {"type": "PodReadyToStartContainers", "status": "False", "lastProbeTime": None, "lastTransitionTime": start},
                {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": start},
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "containers with "
                 "unready status: [%s]" % " ".join(c["name"] for c in containers), "lastProbeTime": None,
                 "lastTransitionTime": start},
                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady", "lastProbeTime": None,
                 "lastTransitionTime": start}, sched],
                containerStatuses=[{"name": c["name"], "image": c.get("image"), "imageID": "", "ready": False,
                                    "restartCount": 0, "started": False,
                                    "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}
                                   for c in containers])
        # Secret and ConfigMap volumes are mounted before the containers start: a missing one keeps
        # the pod in ContainerCreating (with kubelet's FailedMount event) until it exists
        if client is not None and cur.get("phase") != "Running":
            missing_vols = self.missing_volumes(p, client)
            if missing_vols:
                for volume, why in missing_vols:
                    self.mount_event(client, p, volume, why)
                return dict(base, phase="Pending", conditions=[
                    {"type": "PodReadyToStartContainers", "status": "False", "lastProbeTime": None,
                     "lastTransitionTime": start},
                    {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": start},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "containers with "
                     "unready status: [%s]" % " ".join(c["name"] for c in containers), "lastProbeTime": None,
                     "lastTransitionTime": start},
                    {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                     "lastProbeTime": None, "lastTransitionTime": start}, sched],
                    containerStatuses=[{"name": c["name"], "image": c.get("image"), "imageID": "", "ready": False,
                                        "restartCount": 0, "started": False,
                                        "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}
                                       for c in containers])
        # images are "pulled" once per node: a pod with an image new to this node spends
        # IMAGE_PULL_SECONDS in ContainerCreating first (so start-up races stay visible)
        images = [c.get("image") for c in containers + (p["spec"].get("initContainers") or [])]
        missing = [i for i in images if i and i not in self.images]
        if missing and cur.get("phase") != "Running":
            first = self.pull_started.setdefault(uid, time.monotonic())
            if time.monotonic() - first < image_pull_seconds():
                return dict(base, phase="Pending", conditions=[
                    {"type": "PodReadyToStartContainers", "status": "False", "lastProbeTime": None,
                     "lastTransitionTime": start},
                    {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": start},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "lastProbeTime": None,
                     "lastTransitionTime": start},
                    {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
                     "lastProbeTime": None, "lastTransitionTime": start}, sched],
                    containerStatuses=[{"name": c["name"], "image": c.get("image"), "imageID": "", "ready": False,
                                        "restartCount": 0, "started": False,
                                        "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}
                                       for c in containers])
            self.images.update(missing)
            self.save_images()
        self.pull_started.pop(uid, None)
        # running; Ready one sync later (containers start, then readiness probes pass)
        self.pod_seen.pop(uid, None)
        ready = cur.get("phase") == "Running" and not any(
            "waiting" in (cs.get("state") or {}) for cs in cur.get("containerStatuses") or [])
        running_since = next((cs["state"]["running"].get("startedAt") for cs in cur.get("containerStatuses") or []
                              if "running" in (cs.get("state") or {})), t)
        # a readiness probe passes no earlier than its initialDelaySeconds after the container started
        # (the probes themselves always succeed: no process runs)
        if ready and p["spec"].get("restartPolicy", "Always") == "Always":
            started_at = parse_time(running_since)
            for c in containers:
                delay = int(((c.get("readinessProbe") or {}).get("initialDelaySeconds")) or 0)
                if delay and started_at and (now() - started_at).total_seconds() < delay:
                    ready = False
        if ready and p["spec"].get("restartPolicy", "Always") != "Always" and job_fault(p):
            return failed_status(p, base, cur, start, running_since, t,
                                 self.ip if host_net else (cur.get("podIP") or self.pod_ip(p)))
        ip = self.ip if host_net else (cur.get("podIP") or self.pod_ip(p))
        rs = "True" if ready else "False"
        conds = [{"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": start},
                 {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": start},
                 {"type": "Ready", "status": rs, "lastProbeTime": None, "lastTransitionTime": t if ready else start},
                 {"type": "ContainersReady", "status": rs, "lastProbeTime": None, "lastTransitionTime": t if ready else start},
                 sched]
        if ready and p["spec"].get("restartPolicy", "Always") != "Always":
            return completed_status(p, base, cur, start, running_since, t, ip)
        if ready:
            prev = {c["type"]: c for c in cur.get("conditions") or []}
            for c in conds:
                if prev.get(c["type"], {}).get("status") == c["status"]:
                    c["lastTransitionTime"] = prev[c["type"]]["lastTransitionTime"]
        return dict(base, phase="Running", podIP=ip, podIPs=[{"ip": ip}], conditions=conds,
                    containerStatuses=[{"name": c["name"], "image": c.get("image"),
                                        "imageID": "%s@sha256:%s" % (c.get("image", "").rsplit(":", 1)[0],
                                                                    hashlib.sha256(c.get("image", "").encode()).hexdigest()),
                                        "containerID": "containerd://" + hashlib.sha256(
                                            (uid + c["name"]).encode()).hexdigest(),
                                        "ready": ready, "started": True, "restartCount": 0,
                                        "state": {"running": {"startedAt": running_since}}, "lastState": {}}
                                       for c in containers])

    def pod_ip(self, p):
        """An address from the node's podCIDR (assigned by the controller-manager), stable per pod."""
        import ipaddress
        h = int(hashlib.sha256(p["metadata"]["uid"].encode()).hexdigest(), 16)
        cidr = getattr(self, "pod_cidr", None)
        if cidr:
            try:
                net = ipaddress.ip_network(cidr)
                return str(net.network_address + 2 + h % max(1, net.num_addresses - 3))
            except ValueError:
                pass
        return "10.244.%d.%d" % ((h >> 8) % 250 + 1, h % 250 + 2)

    # --- mirror pods for static pods ---
    def sync_mirror_pods(self, client, want):
        if getattr(self, "node_gone", False):
            return
        running = self.pods.running()
        for name, (path, h, m) in want.items():
            ns = m["metadata"].get("namespace", "default")
            mname = "%s-%s" % (name, self.name)
            st = running.get(name)
            pod = json.loads(json.dumps(m))
            pod.pop("status", None)
            md = pod["metadata"]
            md["name"] = mname
            md["namespace"] = ns
            md.setdefault("annotations", {}).update({"kubernetes.io/config.mirror": h, "kubernetes.io/config.source": "file",
                                                     "kubernetes.io/config.hash": h})
            md["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": self.name, "controller": True,
                                      "uid": self.node_uid(client)}]
            pod["spec"]["nodeName"] = self.name
            alive = st is not None
            cname = pod["spec"]["containers"][0]["name"]
            t = rfc3339()
            cs = {"name": cname, "image": pod["spec"]["containers"][0].get("image"), "ready": alive, "started": alive,
                  "restartCount": (st or {}).get("restarts", 0),
                  "state": {"running": {"startedAt": st["started"]}} if alive else
                  {"waiting": {"reason": "CrashLoopBackOff"}}}
            status = {"phase": "Running" if alive else "Pending", "hostIP": self.ip, "podIP": self.ip,
                      "conditions": [{"type": "Ready", "status": "True" if alive else "False", "lastProbeTime": None,
                                      "lastTransitionTime": t}], "containerStatuses": [cs],
                      "qosClass": "Burstable", "startTime": (st or {}).get("started", t)}
            try:
                cur = client.get("/api/v1/namespaces/%s/pods/%s" % (ns, mname))
            except ApiError as e:
                if e.code != 404:
                    raise
                cur = None
            if cur is None:
                try:
                    cur = client.post("/api/v1/namespaces/%s/pods" % ns, pod)
                except ApiError:
                    continue
            if _status_key(cur.get("status") or {}) != _status_key(status) or \
                    (cur["metadata"].get("annotations") or {}).get("kubernetes.io/config.mirror") != h:
                if (cur["metadata"].get("annotations") or {}).get("kubernetes.io/config.mirror") != h:
                    try:
                        client.delete("/api/v1/namespaces/%s/pods/%s" % (ns, mname))
                    except ApiError:
                        pass
                    continue
                cur["status"] = status
                try:
                    client.put("/api/v1/namespaces/%s/pods/%s/status" % (ns, mname), cur)
                except ApiError:
                    pass

    def node_uid(self, client):
        if not getattr(self, "_uid", None):
            try:
                self._uid = client.get("/api/v1/nodes/" + self.name)["metadata"]["uid"]
            except (ApiError, ConnError):
                return ""
        return self._uid

    # --- main loop ---
    def run(self):
        serve_health(10248)
        serve_health(10250, "/var/lib/kubelet/pki")
        log("kubelet", "kubelet stand-in v%s started for node %s (%s)", k8s_version(), self.name, self.ip)
        while True:
            delay = slow_delay()
            if delay:
                time.sleep(delay)
            want = {}
            try:
                want = self.pods.sync()
            except Exception as e:  # noqa: BLE001
                log("kubelet", "static pods: %s", e)
            client = self.get_client()
            if client is not None:
                try:
                    self.sync_node(client)
                    self.sync_pods(client)
                    self.sync_mirror_pods(client, want)
                except (ApiError, ConnError) as e:
                    log("kubelet", "API: %s", e)
                except Exception as e:  # noqa: BLE001
                    import traceback
                    traceback.print_exc()
                    log("kubelet", "sync failed: %s", e)
            time.sleep(1.0)


def terminated_status(p, base, t, start, started, ip, exit_code):
    """A run-to-completion pod (restartPolicy Never/OnFailure, e.g. a Job's) whose containers ran and
    exited with `exit_code` (no process runs in the lab)."""
    uid = p["metadata"]["uid"]
    containers = p["spec"].get("containers") or []
    phase, pod_reason, reason = ("Succeeded", "PodCompleted", "Completed") if exit_code == 0 else \
        ("Failed", "PodFailed", "Error")
    done = {"reason": pod_reason, "lastProbeTime": None, "lastTransitionTime": t}
    return dict(base, phase=phase, podIP=ip, podIPs=[{"ip": ip}], conditions=[
        {"type": "PodReadyToStartContainers", "status": "False", "lastProbeTime": None, "lastTransitionTime": t},
        dict(done, type="Initialized", status="True"), dict(done, type="Ready", status="False"),
        dict(done, type="ContainersReady", status="False"),
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": start}],
        containerStatuses=[{"name": c["name"], "image": c.get("image"),
                            "imageID": "%s@sha256:%s" % (c.get("image", "").rsplit(":", 1)[0],
                                                        hashlib.sha256(c.get("image", "").encode()).hexdigest()),
                            "containerID": "containerd://" + hashlib.sha256((uid + c["name"]).encode()).hexdigest(),
                            "ready": False, "started": False, "restartCount": 0,
                            "state": {"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": started,
                                                     "finishedAt": t}}, "lastState": {}} for c in containers])


def completed_status(p, base, cur, start, started, t, ip):
    """Its containers exited 0 one sync after starting."""
    return terminated_status(p, base, t, start, started, ip, 0)


def job_fault(pod):
    """The `job-fail` fault (scripts/lab-k8s fault LAB NS/NAME job-fail): the pods of Job NS/NAME (or
    of any pod-name prefix) exit 1."""
    v = fault("job-fail")
    if not v:
        return False
    ns, name = pod["metadata"].get("namespace"), pod["metadata"]["name"]
    job = (pod["metadata"].get("labels") or {}).get("batch.kubernetes.io/job-name") or \
        (pod["metadata"].get("labels") or {}).get("job-name")
    for line in v.splitlines():
        line = line.strip()
        if "/" in line:
            fns, fname = line.split("/", 1)
            if fns == ns and (fname == job or name == fname or name.startswith(fname + "-")):
                return True
    return False


def failed_status(p, base, cur, start, started, t, ip):
    """Its container exited 1 (the job-fail fault)."""
    return terminated_status(p, base, t, start, started, ip, 1)


def _status_key(st):
    return json.dumps([st.get("phase"), [(c.get("type"), c.get("status")) for c in st.get("conditions") or []],
                       [(c.get("name"), c.get("ready"), sorted((c.get("state") or {}).keys()),
                         ((c.get("state") or {}).get("waiting") or {}).get("reason"), c.get("restartCount"))
                        for c in st.get("containerStatuses") or []]], sort_keys=True)


def main(argv):
    if argv and argv[0] == "__static-pod":
        return run_static_pod(argv[1])
    if argv and argv[0] in ("--version", "version"):
        print("Kubernetes v" + k8s_version())
        return 0
    try:
        flags = parse_flags(argv)
    except FlagError as e:
        return fail(str(e))
    gates = {}
    for kv in (flags.get("feature-gates") or "").split(","):
        if "=" in kv:
            gates[kv.split("=", 1)[0].strip()] = kv.split("=", 1)[1].strip().lower() == "true"
    err = check_feature_gates(gates)
    if err:
        return fail(err)
    cfg_path = flags.get("config")
    cfg = {}
    if cfg_path:
        text = read_file(cfg_path)
        if text is None:
            return fail("failed to load kubelet config file, path: %s, error: failed to load Kubelet config file %s, "
                        "error failed to read kubelet config file \"%s\", error: open %s: no such file or directory"
                        % (cfg_path, cfg_path, cfg_path, cfg_path))
        try:
            cfg = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            return fail("failed to load kubelet config file, path: %s, error: %s" % (cfg_path, e))
        if cfg.get("kind") != "KubeletConfiguration" or cfg.get("apiVersion") != "kubelet.config.k8s.io/v1beta1":
            return fail('failed to load kubelet config file, path: %s, error: no kind "%s" is registered for version '
                        '"%s"' % (cfg_path, cfg.get("kind"), cfg.get("apiVersion")))
    # the config file's gates go through the same SetFromMap (the wrapping text for this case is
    # assumed to be the flags' one)
    err = check_feature_gates(cfg.get("featureGates"))
    if err:
        return fail(err)
    if not cgroup_v2():
        # failCgroupV1 defaults to true since 1.35 (KEP-5573); the words are the real kubelet's
        # (e.g. RKE2's docs quote "run.go:72] "command failed" err="failed to validate kubelet
        # configuration, error: kubelet is configured to not run on a host using cgroup v1. ...").
        if cfg.get("failCgroupV1", True) is not False:
            return fail("failed to validate kubelet configuration, error: kubelet is configured to not run on a host "
                        "using cgroup v1. cgroup v1 support is unsupported and will be removed in a future release, "
                        "path: &TypeMeta{Kind:,APIVersion:,}")
        # the warning KEP-5573 specifies for a kubelet allowed to run on cgroup v1
        sys.stderr.write("W%s %7d server.go] cgroup v1 detected. cgroup v1 support is unsupported and will be "
                         "removed in a future release. Please migrate to cgroup v2. More information at "
                         "https://git.k8s.io/enhancements/keps/sig-node/5573-cgroup-v1-unsupported\n" % (
                             time.strftime("%m%d %H:%M:%S.000000"), os.getpid()))
    fail_swap = flags.get("fail-swap-on", str(cfg.get("failSwapOn", True))).lower() != "false"
    if fail_swap and swap_on():
        return fail("failed to run Kubelet: running with swap on is not supported, please disable swap or set "
                    "--fail-swap-on flag to false")
    kl = Kubelet(flags, cfg)
    try:
        v = cri_call(kl.cri, "Version")
        info = cri_call(kl.cri, "Info")
    except (OSError, ValueError) as e:
        path = kl.cri[len("unix://"):]
        return fail('failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint '
                    '"%s": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while '
                    'dialing: dial unix %s: connect: %s"' % (kl.cri, path, "no such file or directory"
                                                            if isinstance(e, FileNotFoundError) else e))
    want_driver = cfg.get("cgroupDriver", "cgroupfs")
    have = "systemd" if (info.get("config") or {}).get("systemdCgroup") else "cgroupfs"
    if want_driver != have:
        # kubelet >= 1.31 takes the driver from the runtime (KubeletCgroupDriverFromCRI): only a note
        log("kubelet", "cgroup driver from the CRI runtime: %s (kubelet config says %s)", have, want_driver)
    try:
        kl.run()
    except Fatal as e:
        return fail(e.msg)
    return 0
