"""kubeadm stand-in: init, join, reset, token, certs certificate-key, init phase upload-certs, version.

Writes what kubeadm writes (PKI, kubeconfigs, static pod manifests, kubelet config), really checks
the external etcd with the given certificates, and talks to the API server stand-in like kubeadm
talks to a real one (admin.conf -> controlPlaneEndpoint)."""
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import yaml

import kubeadm_certs
import kubeadm_config as kc
import pki
from apiclient import ApiError, Client, ConnError, KubeConfig, kubeconfig_dict
from common import (Fatal, build_info, cgroup_filesystem, format_duration, k8s_minor, k8s_version, parse_duration,
                    parse_version, rand_str, read_file, rfc3339, write_file, yaml_dump, now, parse_time,
                    local_addresses, hostname, FAULT_DIR, LAB_STATE, RUN_DIR)
from etcdclient import check_endpoint

KDIR = "/etc/kubernetes"
MANIFESTS = KDIR + "/manifests"
KUBELET_DIR = "/var/lib/kubelet"
TRACE_HINT = "To see the stack trace of this error execute with --v=5 or higher"
CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
CP_LABELS = ["node-role.kubernetes.io/control-plane", "node.kubernetes.io/exclude-from-external-load-balancers"]
DEFAULT_CRI = "unix:///var/run/containerd/containerd.sock"
INIT_PHASES = ["preflight", "certs", "kubeconfig", "etcd", "control-plane", "kubelet-start", "wait-control-plane",
               "upload-config", "upload-certs", "mark-control-plane", "bootstrap-token", "kubelet-finalize", "addon",
               "show-join-command"]
# `kubeadm join`'s phases since ControlPlaneKubeletLocalMode went GA (1.35): the control-plane-join/etcd
# sub-phase became the top-level etcd-join, run after kubelet-start, and kubelet-wait-bootstrap always
# runs (kubernetes PR #125582; versions.md, 1.35).
JOIN_PHASES = ["preflight", "control-plane-prepare", "control-plane-prepare/download-certs",
               "control-plane-prepare/certs", "control-plane-prepare/kubeconfig", "control-plane-prepare/control-plane",
               "kubelet-start", "etcd-join", "kubelet-wait-bootstrap", "wait-control-plane", "control-plane-join",
               "control-plane-join/mark-control-plane"]
# What each kubeadm minor deploys besides the control plane (versions.md: 1.35 pause 3.10.1 and
# CoreDNS 1.12.4; 1.36 pause 3.10.2 (#138199), CoreDNS 1.14.2; 1.37 CoreDNS 1.14.3, etcd 3.7.0). The
# local etcd images only name what `kubeadm config images list` prints: the lab runs external etcd.
IMAGES = {35: {"pause": "3.10.1", "coredns": "v1.12.4", "etcd": "3.6.6-0"},
          36: {"pause": "3.10.2", "coredns": "v1.14.2", "etcd": "3.6.11-0"},
          37: {"pause": "3.10.2", "coredns": "v1.14.3", "etcd": "3.7.0-0"}}
# kubeadm's MinExternalEtcdVersion (constants.go, as stored: "3.5.24-0"); its ExternalEtcdVersion
# preflight refuses an external etcd older than that.
MIN_EXTERNAL_ETCD = "3.5.24-0"


def images():
    return IMAGES[k8s_minor()]


class PhaseError(Fatal):
    def __init__(self, phase, msg):
        super().__init__("error execution phase %s: %s\n%s" % (phase, msg, TRACE_HINT))


def out(msg=""):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def warn(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# ------------------------------------------------------------------ flag parsing (cobra-like)

def parse_args(argv, spec, cmd):
    """spec: {flag: 'bool'|'str'|'list'}; returns (opts, positional). Unknown flags fail like cobra."""
    opts, pos = {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            pos.extend(argv[i + 1:])
            break
        if a.startswith("-") and a != "-":
            name, eq, val = a.lstrip("-").partition("=")
            if a.startswith("--") is False and len(name) == 1 and name not in spec:
                raise Fatal("unknown shorthand flag: '%s' in %s\n%s" % (name, a, TRACE_HINT))
            if name not in spec:
                raise Fatal("unknown flag: --%s\n%s" % (name, TRACE_HINT))
            kind = spec[name]
            if kind == "bool":
                opts[name] = (val.lower() != "false") if eq else True
            else:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise Fatal("flag needs an argument: --%s\n%s" % (name, TRACE_HINT))
                    val = argv[i]
                if kind == "list":
                    opts.setdefault(name, []).extend(v for v in val.split(",") if v)
                else:
                    opts[name] = val
        else:
            pos.append(a)
        i += 1
    return opts, pos


# ------------------------------------------------------------------ config loading

def load_init_config(path):
    text = read_file(path)
    if text is None:
        raise Fatal("unable to read config from \"%s\" : open %s: no such file or directory\n%s" % (path, path, TRACE_HINT))
    warnings = []
    docs = kc.load_documents(text, k8s_version(), warnings=warnings)
    for w in warnings:
        warn(w)
    if "JoinConfiguration" in docs:
        warn("[config] WARNING: Ignored configuration document with GroupVersionKind kubeadm.k8s.io/v1beta4, "
             "Kind=JoinConfiguration")
    ic = docs.get("InitConfiguration", {})
    cc = docs.get("ClusterConfiguration", {})
    return ic, cc, docs.get("KubeletConfiguration"), docs.get("KubeProxyConfiguration")


def validate_init(ic, cc):
    errs = []
    for i, t in enumerate(ic.get("bootstrapTokens") or []):
        tok = t.get("token")
        if tok is not None and not kc.TOKEN_RE.match(tok):
            errs.append('bootstrapTokens[%d].token: Invalid value: "%s": the bootstrap token "%s" was not of the '
                        'form "[a-z0-9]{6}.[a-z0-9]{16}"' % (i, tok, tok))
    kc.validate_node_registration(ic.get("nodeRegistration") or {}, errs)
    kc.validate_api_endpoint(ic.get("localAPIEndpoint") or {}, errs)
    kc.validate_certificate_key("certificateKey", ic.get("certificateKey"), errs)
    kc.validate_cluster(cc, errs, k8s_version())
    if errs:
        raise Fatal("\n".join(errs) + "\n" + TRACE_HINT)


def default_address():
    addrs = local_addresses()
    if not addrs:
        raise Fatal("unable to select an IP from default routes.")
    return addrs[0]


def endpoint_parts(ep, default_port):
    if not ep:
        return None, None
    if ep.count(":") == 1:
        h, p = ep.split(":")
        return h, int(p)
    return ep, default_port


class Node:
    """Everything init/join compute about this node."""

    def __init__(self, ic, cc, join=False):
        self.cc = kc.defaulted_cluster(cc, k8s_version())
        nr = ic.get("nodeRegistration") or {}
        self.name = nr.get("name") or hostname()
        self.cri = nr.get("criSocket") or DEFAULT_CRI
        self.taints = nr.get("taints")
        self.kubelet_args = kc.kv_args(nr.get("kubeletExtraArgs"))
        self.ignore = set(nr.get("ignorePreflightErrors") or [])
        ep = ic.get("localAPIEndpoint") or {}
        self.advertise = ep.get("advertiseAddress") or default_address()
        self.port = int(ep.get("bindPort") or 6443)
        self.pki_dir = self.cc["certificatesDir"]
        cpe = self.cc.get("controlPlaneEndpoint")
        h, p = endpoint_parts(cpe, self.port)
        self.cpe_host = h or self.advertise
        self.cpe_port = p or self.port
        self.timeouts = {k: parse_duration(v) for k, v in (ic.get("timeouts") or {}).items()}

    @property
    def server(self):
        return "https://%s:%d" % (self.cpe_host, self.cpe_port)

    @property
    def local_server(self):
        return "https://%s:%d" % (self.advertise, self.port)

    def service_ip(self, n=1):
        net = ipaddress.ip_network(self.cc["networking"]["serviceSubnet"].split(",")[0])
        return str(net.network_address + n)

    def timeout(self, name, default):
        return self.timeouts.get(name, default)


# ------------------------------------------------------------------ preflight

def port_in_use(port):
    # Like kubeadm's net.Listen: Go sets SO_REUSEADDR, so connections in TIME_WAIT (left by a
    # server that just stopped) do not make the port look taken.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def swap_on():
    override = os.path.join(LAB_STATE, "swaps")
    text = read_file(override) if os.path.exists(override) else read_file("/proc/swaps", "")
    return len([l for l in (text or "").splitlines() if l.strip()]) > 1


def cri_check(endpoint):
    path = endpoint[len("unix://"):] if endpoint.startswith("unix://") else endpoint
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect(path)
        s.sendall(b'{"method":"Version"}\n')
        data = s.makefile().readline()
        s.close()
        json.loads(data)
        return None
    except (OSError, ValueError) as e:
        what = "no such file or directory" if isinstance(e, FileNotFoundError) else \
            "connection refused" if isinstance(e, ConnectionRefusedError) else str(e)
        return ('container runtime is not running: output: time="%s" level=fatal msg="validate service connection: '
                'validate CRI v1 runtime API for endpoint \\"%s\\": rpc error: code = Unavailable desc = connection '
                'error: desc = \\"transport: Error while dialing: dial unix %s: connect: %s\\""\n, error: exit status 1'
                % (rfc3339(), endpoint, path, what))


def run_preflight(node, checks, ignore, phase="preflight"):
    """checks: list of (name, fn -> None|error text|('warning', text))."""
    out("[preflight] Running pre-flight checks")
    run_checks(checks, {i.lower() for i in ignore} | {i.lower() for i in node.ignore}, phase)


def run_checks(checks, ignored, phase="preflight"):
    """The checks' errors, as warnings where ignored (`all` ignores every one), else fatal together."""
    errors = []
    for name, fn in checks:
        r = fn()
        if not r:
            continue
        if isinstance(r, tuple):
            warn("\t[WARNING %s]: %s" % (name, r[1]))
            continue
        if "all" in ignored or name.lower() in ignored:
            warn("\t[WARNING %s]: %s" % (name, r))
            continue
        errors.append("\t[ERROR %s]: %s" % (name, r))
    if errors:
        raise Fatal("error execution phase %s: [preflight] Some fatal errors occurred:\n%s\n[preflight] If you know "
                    "what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`\n%s" % (
                        phase, "\n".join(errors), TRACE_HINT))


def file_available(path):
    name = "FileAvailable-" + path.replace("/", "-")
    return name, (lambda: "%s already exists" % path if os.path.exists(path) else None)


def port_check(port):
    return "Port-%d" % port, (lambda: "Port %d is in use" % port if port_in_use(port) else None)


def common_checks(node):
    return [
        ("IsPrivilegedUser", lambda: None if os.geteuid() == 0 else "user is not running as root"),
        ("NumCPU", lambda: None if (os.cpu_count() or 1) >= 2 else
         "the number of available CPUs %d is less than the required 2" % os.cpu_count()),
        ("CRI", lambda: cri_check(node.cri)),
        ("Swap", lambda: "running with swap on is not supported. Please disable swap" if swap_on() else None),
        ("FileContent--proc-sys-net-ipv4-ip_forward", lambda: None if (read_file(
            "/proc/sys/net/ipv4/ip_forward", "0").strip() == "1") else
         "/proc/sys/net/ipv4/ip_forward contents are not set to 1"),
        ("Service-Kubelet", lambda: kubelet_enabled_warning()),
        ("Hostname", lambda: hostname_check(node.name)),
        ("SystemVerification", system_verification),
    ]


def system_verification():
    """The part of kubeadm's SystemVerification (k8s.io/system-validators) the lab can fail: with a
    kubelet of 1.35 or newer, cgroup v1 is an error (system-validators v1.12.1, kubernetes #134744);
    the wording is the validator's, as kubeadm 1.35 prints it."""
    if cgroup_filesystem() == "cgroup2fs":
        return None
    out("[preflight] The system verification failed. Printing the output from the verification:")
    out("KERNEL_VERSION: %s" % os.uname().release)
    out("OS: Linux")
    return ("cgroups v1 support is deprecated and will be removed in a future release. Please migrate to cgroups v2. "
            "To explicitly enable cgroups v1 support for kubelet v1.35 or newer, you must set the kubelet "
            "configuration option 'FailCgroupV1' to 'false'. You must also explicitly skip this validation. For more "
            "information, see https://git.k8s.io/enhancements/keps/sig-node/5573-remove-cgroup-v1")


def sandbox_image_check(node):
    """kubeadm's warning when the runtime's sandbox (pause) image is not the release's (checks.go)."""
    want = "registry.k8s.io/pause:" + images()["pause"]
    try:
        have = cri_info(node.cri).get("config", {}).get("sandboxImage")
    except (OSError, ValueError):
        return
    if have and have != want:
        warn('W%s %7d checks.go:846] detected that the sandbox image "%s" of the container runtime is inconsistent '
             'with that used by kubeadm.It is recommended to use "%s" as the CRI sandbox image.' % (
                 time.strftime("%m%d %H:%M:%S.000000"), os.getpid(), have, want))


def cri_info(endpoint):
    path = endpoint[len("unix://"):] if endpoint.startswith("unix://") else endpoint
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(path)
    s.sendall(b'{"method":"Info"}\n')
    data = s.makefile().readline()
    s.close()
    return json.loads(data)


def kubelet_enabled_warning():
    try:
        r = subprocess.run(["systemctl", "is-enabled", "kubelet.service"], capture_output=True, text=True, timeout=20)
        if r.stdout.strip() != "enabled":
            return ("warning", "kubelet service is not enabled, please run 'systemctl enable kubelet.service'")
    except (OSError, subprocess.TimeoutExpired):
        return ("warning", "kubelet service is not enabled, please run 'systemctl enable kubelet.service'")
    return None


def hostname_check(name):
    try:
        socket.gethostbyname(name)
    except OSError:
        return ("warning", 'hostname "%s" could not be reached' % name)
    return None


def external_etcd_checks(cc):
    ext = (cc.get("etcd") or {}).get("external") or {}
    checks = []

    def files():
        for k in ("caFile", "certFile", "keyFile"):
            p = ext.get(k)
            if p and not os.path.exists(p):
                return "%s doesn't exist" % p
        return None

    def versions():
        if files():
            return None
        errs = []
        minimum = parse_version(MIN_EXTERNAL_ETCD)
        for ep in ext.get("endpoints") or []:
            # the version the endpoint reports; for the lab's etcd, the release it claims
            v, err = check_endpoint(ep, ext.get("caFile"), ext.get("certFile"), ext.get("keyFile"))
            if err:
                errs.append(err)
            elif parse_version(v or "") is None:
                # (kubeadm wraps the semver library's reason, left out here)
                errs.append('couldn\'t parse external etcd version "%s"' % v)
            elif parse_version(v) < minimum:   # "3.5.24-0" sorts before 3.5.24: 3.5.24 itself passes
                errs.append("this version of kubeadm only supports external etcd version >= %s. Current version: %s"
                            % (MIN_EXTERNAL_ETCD, v))
        return "\n".join(errs) if errs else None
    checks.append(("ExternalEtcdClientCertificates", files))
    checks.append(("ExternalEtcdVersion", versions))
    return checks


# ------------------------------------------------------------------ PKI and kubeconfigs

def cert_path(node, name):
    return os.path.join(node.pki_dir, name)


def ensure_ca(node, base, cn):
    crt, key = cert_path(node, base + ".crt"), cert_path(node, base + ".key")
    if os.path.exists(crt) and os.path.exists(key):
        out("[certs] Using existing %s certificate authority" % base)
        return
    if os.path.exists(crt) and not os.path.exists(key):
        raise PhaseError("certs/" + base, "failure loading %s certificate authority: couldn't load the private key "
                         "file %s: open %s: no such file or directory" % (base, key, key))
    out("[certs] Generating \"%s\" certificate and key" % base)
    pki.gen_key(key, node.cc.get("encryptionAlgorithm", "RSA-2048"))
    pki.self_signed_ca(key, crt, cn)


def ensure_leaf(node, base, ca, cn, orgs=(), sans=(), server=False, client=False):
    crt, key = cert_path(node, base + ".crt"), cert_path(node, base + ".key")
    ca_crt, ca_key = cert_path(node, ca + ".crt"), cert_path(node, ca + ".key")
    if os.path.exists(crt) and os.path.exists(key):
        if not pki.verify(ca_crt, crt):
            raise PhaseError("certs/" + base, "certificate %s is not signed by corresponding CA" % base)
        if sans:
            info = pki.cert_info(crt)
            have = set(info["dns"]) | set(info["ips"])
            for s in sans:
                if s not in have:
                    raise PhaseError("certs/" + base, "certificate %s is invalid: x509: certificate is valid for %s, "
                                     "not %s" % (base, ", ".join(info["dns"] + info["ips"]), s))
        out("[certs] Using existing %s certificate and key on disk" % base)
        return
    out("[certs] Generating \"%s\" certificate and key" % base)
    if sans:
        dns, ips = pki.split_sans(sans)
        out("[certs] %s serving cert is signed for DNS names [%s] and IPs [%s]" % (base, " ".join(dns), " ".join(ips)))
    pki.gen_key(key, node.cc.get("encryptionAlgorithm", "RSA-2048"))
    pki.sign(ca_crt, ca_key, key, crt, cn, orgs, sans, server=server, client=client,
             lifetime=kubeadm_certs.leaf_lifetime(node.cc))


def apiserver_sans(node):
    domain = node.cc["networking"]["dnsDomain"]
    sans = [node.name, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc." + domain, node.service_ip(1), node.advertise]
    if node.cc.get("controlPlaneEndpoint"):
        sans.append(node.cpe_host)
    sans += list((node.cc.get("apiServer") or {}).get("certSANs") or [])
    return list(dict.fromkeys(sans))


def phase_certs(node, have_ca=False):
    out('[certs] Using certificateDir folder "%s"' % node.pki_dir)
    os.makedirs(node.pki_dir, exist_ok=True)
    ensure_ca(node, "ca", "kubernetes")
    ensure_leaf(node, "apiserver", "ca", "kube-apiserver", (), apiserver_sans(node), server=True)
    # No organization since kubernetes PR #138957 (in 1.37, and 1.35.5+/1.36.1+): the API server's
    # kubelet client gets its rights from the kubeadm:apiserver-kubelet-client ClusterRoleBinding.
    ensure_leaf(node, "apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client", (), client=True)
    ensure_ca(node, "front-proxy-ca", "front-proxy-ca")
    ensure_leaf(node, "front-proxy-client", "front-proxy-ca", "front-proxy-client", client=True)
    out("[certs] External etcd mode: Skipping etcd/ca certificate authority generation")
    out("[certs] External etcd mode: Skipping etcd/server certificate generation")
    out("[certs] External etcd mode: Skipping etcd/peer certificate generation")
    out("[certs] External etcd mode: Skipping etcd/healthcheck-client certificate generation")
    out("[certs] External etcd mode: Skipping apiserver-etcd-client certificate generation")
    if os.path.exists(cert_path(node, "sa.key")) and os.path.exists(cert_path(node, "sa.pub")):
        out("[certs] Using the existing \"sa\" key")
    else:
        out('[certs] Generating "sa" key and public key')
        pki.sa_keypair(cert_path(node, "sa.key"), cert_path(node, "sa.pub"))


def write_kubeconfig(node, fname, server, cn, orgs):
    path = os.path.join(KDIR, fname)
    ca = cert_path(node, "ca.crt")
    if os.path.exists(path):
        try:
            k = KubeConfig(path)
            if k.server != server:
                raise PhaseError("kubeconfig", 'a kubeconfig file "%s" exists already but has an unexpected API Server '
                                 'URL: expected: %s, got: %s' % (path, server, k.server))
            out('[kubeconfig] Using existing kubeconfig file: "%s"' % path)
            return
        except Fatal as e:
            if isinstance(e, PhaseError):
                raise
    out('[kubeconfig] Writing "%s" kubeconfig file' % fname)
    tmpkey = path + ".key.tmp"
    pki.gen_key(tmpkey, node.cc.get("encryptionAlgorithm", "RSA-2048"))
    crt = pki.sign(ca, cert_path(node, "ca.key"), tmpkey, None, cn, orgs, client=True,
                   lifetime=kubeadm_certs.leaf_lifetime(node.cc))
    key = read_file(tmpkey, binary=True)
    os.unlink(tmpkey)
    user = {"admin.conf": "kubernetes-admin", "super-admin.conf": "kubernetes-super-admin"}.get(fname, cn)
    d = kubeconfig_dict(server, read_file(ca, binary=True), user, crt, key)
    write_file(path, yaml_dump(d), 0o600)


def phase_kubeconfig(node, control_plane=True, super_admin=True):
    out('[kubeconfig] Using kubeconfig folder "%s"' % KDIR)
    write_kubeconfig(node, "admin.conf", node.server, "kubernetes-admin", ["kubeadm:cluster-admins"])
    if super_admin:
        write_kubeconfig(node, "super-admin.conf", node.server, "kubernetes-super-admin", ["system:masters"])
    # ControlPlaneKubeletLocalMode (GA in 1.35): a control-plane kubelet talks to its own API server
    # (kubernetes PRs #125582, #125780, #129956).
    write_kubeconfig(node, "kubelet.conf", node.local_server, "system:node:" + node.name, ["system:nodes"])
    write_kubeconfig(node, "controller-manager.conf", node.local_server, "system:kube-controller-manager", [])
    write_kubeconfig(node, "scheduler.conf", node.local_server, "system:kube-scheduler", [])


# ------------------------------------------------------------------ static pod manifests

def merge_args(defaults, extra):
    """kubeadm: extra args override defaults by name; duplicates in extra are kept."""
    names = {n for n, _ in extra}
    args = [(n, v) for n, v in defaults if n not in names] + list(extra)
    args.sort(key=lambda a: a[0])
    return ["--%s=%s" % (n, v) for n, v in args]


def static_pod(name, image, command, port, host, scheme="HTTPS", path_live="/livez", annotations=None, volumes=()):
    probe = lambda p: {"failureThreshold": 8, "httpGet": {"host": host, "path": p, "port": port, "scheme": scheme},
                       "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 15}
    c = {"command": command, "image": image, "imagePullPolicy": "IfNotPresent", "name": name,
         "livenessProbe": probe(path_live), "startupProbe": dict(probe(path_live), failureThreshold=24),
         "resources": {"requests": {"cpu": "250m" if name == "kube-apiserver" else "200m" if
                                    name == "kube-controller-manager" else "100m"}},
         "volumeMounts": [{"mountPath": m, "name": n, "readOnly": True} for n, _, m in volumes]}
    if name == "kube-apiserver":
        c["readinessProbe"] = dict(probe("/readyz"), failureThreshold=3, periodSeconds=1)
    md = {"labels": {"component": name, "tier": "control-plane"}, "name": name, "namespace": "kube-system"}
    if annotations:
        md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"containers": [c], "hostNetwork": True, "priority": 2000001000,
                     "priorityClassName": "system-node-critical",
                     "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                     "volumes": [{"hostPath": {"path": h, "type": "DirectoryOrCreate"}, "name": n}
                                 for n, h, _ in volumes]},
            "status": {}}


def phase_control_plane(node, mdir=None, say=None):
    """The static pod manifests of this node; `kubeadm upgrade` renders them into another folder
    (`mdir`) without init's lines (`say`)."""
    cc = node.cc
    repo = cc.get("imageRepository", "registry.k8s.io")
    ver = cc["kubernetesVersion"]
    ext = cc["etcd"]["external"]
    p = node.pki_dir
    mdir = mdir or MANIFESTS
    say = say or out
    os.makedirs(mdir, exist_ok=True)
    say('[control-plane] Using manifest folder "%s"' % mdir)
    domain = cc["networking"]["dnsDomain"]
    api_defaults = [
        ("advertise-address", node.advertise), ("allow-privileged", "true"), ("authorization-mode", "Node,RBAC"),
        ("client-ca-file", p + "/ca.crt"), ("enable-admission-plugins", "NodeRestriction"),
        ("enable-bootstrap-token-auth", "true"), ("etcd-cafile", ext.get("caFile", "")),
        ("etcd-certfile", ext.get("certFile", "")), ("etcd-keyfile", ext.get("keyFile", "")),
        ("etcd-servers", ",".join(ext.get("endpoints") or [])),
        ("kubelet-client-certificate", p + "/apiserver-kubelet-client.crt"),
        ("kubelet-client-key", p + "/apiserver-kubelet-client.key"),
        ("kubelet-preferred-address-types", "InternalIP,ExternalIP,Hostname"),
        ("proxy-client-cert-file", p + "/front-proxy-client.crt"), ("proxy-client-key-file", p + "/front-proxy-client.key"),
        ("requestheader-allowed-names", "front-proxy-client"), ("requestheader-client-ca-file", p + "/front-proxy-ca.crt"),
        ("requestheader-extra-headers-prefix", "X-Remote-Extra-"), ("requestheader-group-headers", "X-Remote-Group"),
        ("requestheader-username-headers", "X-Remote-User"), ("secure-port", str(node.port)),
        ("service-account-issuer", "https://kubernetes.default.svc." + domain),
        ("service-account-key-file", p + "/sa.pub"), ("service-account-signing-key-file", p + "/sa.key"),
        ("service-cluster-ip-range", cc["networking"]["serviceSubnet"]),
        ("tls-cert-file", p + "/apiserver.crt"), ("tls-private-key-file", p + "/apiserver.key")]
    vols = [("ca-certs", "/etc/ssl/certs", "/etc/ssl/certs"), ("k8s-certs", p, p)]
    say('[control-plane] Creating static Pod manifest for "kube-apiserver"')
    m = static_pod("kube-apiserver", "%s/kube-apiserver:%s" % (repo, ver),
                   ["kube-apiserver"] + merge_args(api_defaults, kc.kv_args(cc["apiServer"].get("extraArgs"))),
                   node.port, node.advertise,
                   annotations={"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint":
                                "%s:%d" % (node.advertise, node.port)}, volumes=vols)
    write_file(mdir + "/kube-apiserver.yaml", yaml_dump(m), 0o600)
    kcm_defaults = [
        ("authentication-kubeconfig", KDIR + "/controller-manager.conf"),
        ("authorization-kubeconfig", KDIR + "/controller-manager.conf"), ("bind-address", "127.0.0.1"),
        ("client-ca-file", p + "/ca.crt"), ("cluster-name", cc.get("clusterName", "kubernetes")),
        ("cluster-signing-cert-file", p + "/ca.crt"), ("cluster-signing-key-file", p + "/ca.key"),
        ("controllers", "*,bootstrapsigner,tokencleaner"), ("kubeconfig", KDIR + "/controller-manager.conf"),
        ("leader-elect", "true"), ("requestheader-client-ca-file", p + "/front-proxy-ca.crt"),
        ("root-ca-file", p + "/ca.crt"), ("service-account-private-key-file", p + "/sa.key"),
        ("service-cluster-ip-range", cc["networking"]["serviceSubnet"]), ("use-service-account-credentials", "true")]
    if cc["networking"].get("podSubnet"):
        kcm_defaults += [("allocate-node-cidrs", "true"), ("cluster-cidr", cc["networking"]["podSubnet"])]
    say('[control-plane] Creating static Pod manifest for "kube-controller-manager"')
    m = static_pod("kube-controller-manager", "%s/kube-controller-manager:%s" % (repo, ver),
                   ["kube-controller-manager"] + merge_args(kcm_defaults, kc.kv_args(
                       cc["controllerManager"].get("extraArgs"))), 10257, "127.0.0.1", path_live="/healthz",
                   volumes=vols + [("kubeconfig", KDIR + "/controller-manager.conf", KDIR + "/controller-manager.conf")])
    write_file(mdir + "/kube-controller-manager.yaml", yaml_dump(m), 0o600)
    sch_defaults = [("authentication-kubeconfig", KDIR + "/scheduler.conf"),
                    ("authorization-kubeconfig", KDIR + "/scheduler.conf"), ("bind-address", "127.0.0.1"),
                    ("kubeconfig", KDIR + "/scheduler.conf"), ("leader-elect", "true")]
    say('[control-plane] Creating static Pod manifest for "kube-scheduler"')
    m = static_pod("kube-scheduler", "%s/kube-scheduler:%s" % (repo, ver),
                   ["kube-scheduler"] + merge_args(sch_defaults, kc.kv_args(cc["scheduler"].get("extraArgs"))),
                   10259, "127.0.0.1", path_live="/healthz",
                   volumes=[("kubeconfig", KDIR + "/scheduler.conf", KDIR + "/scheduler.conf")])
    write_file(mdir + "/kube-scheduler.yaml", yaml_dump(m), 0o600)


# ------------------------------------------------------------------ kubelet

def kubelet_config(node, user_cfg=None):
    cfg = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"cacheTTL": "0s", "enabled": True},
                           "x509": {"clientCAFile": node.pki_dir + "/ca.crt"}},
        "authorization": {"mode": "Webhook", "webhook": {"cacheAuthorizedTTL": "0s", "cacheUnauthorizedTTL": "0s"}},
        "cgroupDriver": "systemd", "clusterDNS": [node.service_ip(10)],
        "clusterDomain": node.cc["networking"]["dnsDomain"], "containerRuntimeEndpoint": "",
        "cpuManagerReconcilePeriod": "0s", "crashLoopBackOff": {}, "evictionPressureTransitionPeriod": "0s",
        "fileCheckFrequency": "0s", "healthzBindAddress": "127.0.0.1", "healthzPort": 10248,
        "httpCheckFrequency": "0s", "imageMaximumGCAge": "0s", "imageMinimumGCAge": "0s",
        "logging": {"flushFrequency": 0, "options": {"json": {"infoBufferSize": "0"}, "text": {"infoBufferSize": "0"}},
                    "verbosity": 0},
        "memorySwap": {}, "nodeStatusReportFrequency": "0s", "nodeStatusUpdateFrequency": "0s",
        "rotateCertificates": True, "runtimeRequestTimeout": "0s", "shutdownGracePeriod": "0s",
        "shutdownGracePeriodCriticalPods": "0s", "staticPodPath": MANIFESTS, "streamingConnectionIdleTimeout": "0s",
        "syncFrequency": "0s", "volumeStatsAggPeriod": "0s"}
    if user_cfg:
        for k, v in user_cfg.items():
            if k not in ("apiVersion", "kind"):
                cfg[k] = v
    return cfg


def write_kubelet_files(node, cfg_text):
    """kubeadm-flags.env, config.yaml and instance-config.yaml. Since 1.35 kubeadm writes no
    --pod-infra-container-image (kubernetes #133778: the kubelet flag is gone, #133779), and with
    NodeLocalCRISocket (beta and on in 1.35, GA in 1.36, always in 1.37) the CRI socket lives in
    /var/lib/kubelet/instance-config.yaml, patched into config.yaml, instead of a flag and a Node
    annotation (KEP-4656, kubernetes #128031)."""
    out('[kubelet-start] Writing kubelet environment file with flags to file "%s/kubeadm-flags.env"' % KUBELET_DIR)
    args = [("node-ip", node.advertise)]
    if node.name != hostname():
        args.append(("hostname-override", node.name))
    names = {n for n, _ in node.kubelet_args}
    args = [a for a in args if a[0] not in names] + node.kubelet_args
    flags = " ".join("--%s=%s" % a for a in args)
    write_file(KUBELET_DIR + "/kubeadm-flags.env", 'KUBELET_KUBEADM_ARGS="%s"\n' % flags, 0o644)
    instance = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                "containerRuntimeEndpoint": node.cri}
    write_file(KUBELET_DIR + "/instance-config.yaml", yaml_dump(instance), 0o644)
    cfg = yaml.safe_load(cfg_text) or {}
    cfg["containerRuntimeEndpoint"] = node.cri
    out('[kubelet-start] Writing kubelet configuration to file "%s/config.yaml"' % KUBELET_DIR)
    write_file(KUBELET_DIR + "/config.yaml", yaml_dump(cfg), 0o644)


def restart_kubelet():
    out("[kubelet-start] Starting the kubelet")
    try:
        r = subprocess.run(["systemctl", "restart", "kubelet"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            warn("[kubelet-start] WARNING: unable to start the kubelet service: [%s]" % r.stderr.strip())
            warn("[kubelet-start] Please ensure kubelet is reloaded and running manually.")
    except (OSError, subprocess.TimeoutExpired) as e:
        warn("[kubelet-start] WARNING: unable to start the kubelet service: [%s]" % e)


def wait_kubelet_healthy(timeout):
    out("[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to %s" %
        format_duration(timeout))
    import urllib.request
    end = time.monotonic() + timeout
    t0 = time.monotonic()
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen("http://127.0.0.1:10248/healthz", timeout=2) as r:
                if r.status == 200:
                    out("[kubelet-check] The kubelet is healthy after %.9fs" % (time.monotonic() - t0))
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise Fatal("[kubelet-check] The kubelet is not healthy after %s\n\nUnfortunately, an error has occurred, likely "
                "caused by:\n\t- The kubelet is not running\n\t- The kubelet is unhealthy due to a misconfiguration of "
                "the node in some way (required cgroups disabled)\n\nIf you are on a systemd-powered system, you can "
                "try to troubleshoot the error with the following commands:\n\t- 'systemctl status kubelet'\n\t- "
                "'journalctl -xeu kubelet'\n\nerror execution phase wait-control-plane: failed while waiting for the "
                "kubelet: kubelet is not healthy after %s\n%s" % (format_duration(timeout), format_duration(timeout),
                                                                 TRACE_HINT))


def wait_apiserver(node, timeout, phase="wait-control-plane"):
    out("[api-check] Waiting for a healthy API server. This can take up to %s" % format_duration(timeout))
    import ssl
    import http.client
    ctx = ssl.create_default_context(cafile=cert_path(node, "ca.crt"))
    end = time.monotonic() + timeout
    t0 = time.monotonic()
    last = ""
    while time.monotonic() < end:
        try:
            c = http.client.HTTPSConnection(node.advertise, node.port, context=ctx, timeout=3)
            c.request("GET", "/livez")
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status == 200:
                out("[api-check] The API server is healthy after %.9fs" % (time.monotonic() - t0))
                return
            last = body.decode(errors="replace")
        except (OSError, http.client.HTTPException) as e:
            last = str(e)
        time.sleep(0.5)
    raise Fatal("[api-check] The API server is not healthy after %s\n\nUnfortunately, an error has occurred, likely "
                "caused by:\n\t- The kubelet is not running\n\t- The API server static Pod cannot start or cannot "
                "reach etcd\n\nerror execution phase %s: failed while waiting for the control plane to start: "
                "kube-apiserver check failed at https://%s:%d/livez: %s\n%s" % (
                    format_duration(timeout), phase, node.advertise, node.port, last.strip()[:300], TRACE_HINT))


# ------------------------------------------------------------------ API helpers

def admin_client(path=KDIR + "/admin.conf", timeout=10, server=None):
    kc = KubeConfig(path)
    if server:
        kc.server = server
    return Client.from_kubeconfig(kc=kc, timeout=timeout, user_agent="kubeadm/v%s (linux/amd64)" % k8s_version())


def init_client(node):
    """The client `kubeadm init` works with after the control plane is up: through admin.conf's server
    (the controlPlaneEndpoint), and since 1.37 against the node's own API server, so that a load
    balancer may come up later (kubernetes PR #138449, versions.md; admin.conf itself is unchanged)."""
    return admin_client(server=node.local_server if k8s_minor() >= 37 else None)


def api_call(phase, what, fn, timeout=60):
    """Retry `fn` for up to `timeout` seconds (kubernetesAPICall); fail with the last error."""
    end = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except (ConnError, ApiError) as e:
            if isinstance(e, ApiError) and e.code in (400, 401, 403, 404, 409, 422):
                raise PhaseError(phase, "%s: %s" % (what, e.message))
            if time.monotonic() >= end:
                raise PhaseError(phase, "%s: %s" % (what, e))
            time.sleep(1)


def upsert(client, path, obj):
    name = obj["metadata"]["name"]
    try:
        return client.post(path, obj)
    except ApiError as e:
        if e.code != 409:
            raise
        cur = client.get("%s/%s" % (path, name))
        obj["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
        return client.put("%s/%s" % (path, name), obj)


def rbac_bindings():
    """The ClusterRoleBindings kubeadm init makes for its own credentials: the admin group (since 1.29)
    and, since kubernetes PR #138957 (1.37; backported to 1.35.5 and 1.36.1), the API server's kubelet
    client, whose certificate no longer carries an organization, bound to system:kubelet-api-admin."""
    def crb(name, role, kind, subject):
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": subject}]}
    return [crb("kubeadm:cluster-admins", "cluster-admin", "Group", "kubeadm:cluster-admins"),
            crb("kubeadm:apiserver-kubelet-client", "system:kubelet-api-admin", "User",
                "kube-apiserver-kubelet-client")]


def configmap(ns, name, data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


def token_secret(token_id, secret, ttl, usages=("signing", "authentication"),
                 groups=("system:bootstrappers:kubeadm:default-node-token",), description=None, extra=None):
    data = {"token-id": token_id, "token-secret": secret}
    if ttl:
        data["expiration"] = rfc3339(now() + __import__("datetime").timedelta(seconds=ttl))
    for u in usages:
        data["usage-bootstrap-" + u] = "true"
    if groups:
        data["auth-extra-groups"] = ",".join(groups)
    if description:
        data["description"] = description
    if extra:
        data.update(extra)
    return {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
            "metadata": {"name": "bootstrap-token-" + token_id, "namespace": "kube-system"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def new_token():
    return "%s.%s" % (rand_str(6), rand_str(16))


def create_tokens(client, tokens):
    made = []
    for t in tokens:
        tok = t.get("token") or new_token()
        tid, sec = tok.split(".")
        ttl = parse_duration(t.get("ttl", "24h0m0s"))
        s = token_secret(tid, sec, ttl, t.get("usages") or ("signing", "authentication"),
                         t.get("groups") or ("system:bootstrappers:kubeadm:default-node-token",), t.get("description"))
        upsert(client, "/api/v1/namespaces/kube-system/secrets", s)
        made.append(tok)
    return made


def cluster_info(server, ca_pem):
    kcfg = {"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "", "cluster": {"certificate-authority-data": base64.b64encode(ca_pem).decode(),
                                                  "server": server}}],
            "contexts": None, "current-context": "", "users": None}
    return yaml_dump(kcfg)


CERT_FILES = [("ca.crt", "ca.crt"), ("ca.key", "ca.key"), ("sa.key", "sa.key"), ("sa.pub", "sa.pub"),
              ("front-proxy-ca.crt", "front-proxy-ca.crt"), ("front-proxy-ca.key", "front-proxy-ca.key")]


def external_etcd_files(cc):
    ext = (cc.get("etcd") or {}).get("external") or {}
    out = []
    if ext.get("caFile"):
        out.append(("external-etcd-ca.crt", ext["caFile"]))
        out.append(("external-etcd.crt", ext["certFile"]))
        out.append(("external-etcd.key", ext["keyFile"]))
    return out


def upload_certs(client, node_cc, pki_dir, key):
    """Secret kube-system/kubeadm-certs, encrypted with the certificate key, owned by a 2h token."""
    out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    tid, sec = new_token().split(".")
    owner = token_secret(tid, sec, 2 * 3600, usages=(), groups=(),
                         description="Proxy for managing TTL for the kubeadm-certs secret")
    created = client.post("/api/v1/namespaces/kube-system/secrets", owner)
    data = {}
    for name, rel in CERT_FILES:
        p = os.path.join(pki_dir, rel)
        if os.path.exists(p):
            data[name] = base64.b64encode(pki.encrypt(key, read_file(p, binary=True))).decode()
    for name, p in external_etcd_files(node_cc):
        if os.path.exists(p):
            data[name] = base64.b64encode(pki.encrypt(key, read_file(p, binary=True))).decode()
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "kubeadm-certs", "namespace": "kube-system",
                           "ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "controller": True,
                                                "blockOwnerDeletion": True, "name": created["metadata"]["name"],
                                                "uid": created["metadata"]["uid"]}]},
              "data": data}
    upsert(client, "/api/v1/namespaces/kube-system/secrets", secret)


def wait_node(client, name, timeout):
    def get():
        try:
            return client.get("/api/v1/nodes/" + name)
        except ApiError as e:
            if e.code == 404:
                return None
            raise
        except ConnError:
            return None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        n = get()
        if n:
            return n
        time.sleep(0.5)
    return None


def mark_control_plane(client, node, phase="mark-control-plane"):
    out("[mark-control-plane] Marking the node %s as control-plane by adding the labels: [%s]" % (
        node.name, " ".join(CP_LABELS)))
    taints = node.taints if node.taints is not None else [CP_TAINT]
    out("[mark-control-plane] Marking the node %s as control-plane by adding the taints [%s]" % (
        node.name, " ".join("%s:%s" % (t["key"], t["effect"]) for t in taints)))
    patch_node(client, node.name, {k: "" for k in CP_LABELS}, taints, phase)


def patch_node(client, name, labels, taints, phase):
    if wait_node(client, name, 240) is None:
        raise PhaseError(phase, 'error patching node "%s" through apiserver: timed out waiting for the condition' % name)
    for _ in range(20):
        try:
            n = client.get("/api/v1/nodes/" + name)
            n["metadata"].setdefault("labels", {}).update(labels)
            cur = n["spec"].get("taints") or []
            for t in taints or []:
                t = {k: v for k, v in t.items() if v not in (None, "")}
                if not any(c.get("key") == t["key"] and c.get("effect") == t.get("effect") for c in cur):
                    cur.append(t)
            n["spec"]["taints"] = cur
            client.put("/api/v1/nodes/" + name, n)
            return
        except ApiError as e:
            if e.code != 409:
                raise PhaseError(phase, str(e))
        except ConnError:
            pass
        time.sleep(0.5)


# ------------------------------------------------------------------ addons (CoreDNS, kube-proxy)

def coredns_objects(node):
    ip = node.service_ip(10)
    domain = node.cc["networking"]["dnsDomain"]
    repo = node.cc.get("imageRepository", "registry.k8s.io")
    labels = {"k8s-app": "kube-dns"}
    corefile = (".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n    kubernetes %s in-addr.arpa "
                "ip6.arpa {\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n"
                "    prometheus :9153\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n    cache 30 "
                "{\n       disable success %s\n       disable denial %s\n    }\n    loop\n    reload\n    loadbalance\n}\n"
                % (domain, domain, domain))
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
           "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                    "template": {"metadata": {"labels": labels}, "spec": {
                        "priorityClassName": "system-cluster-critical", "serviceAccountName": "coredns",
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                            {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchExpressions": [
                                {"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]},
                                "topologyKey": "kubernetes.io/hostname"}}]}},
                        "containers": [{"name": "coredns", "image": "%s/coredns/coredns:%s" % (repo, images()["coredns"]),
                                        "args": ["-conf", "/etc/coredns/Corefile"],
                                        "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                                                  {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                                                  {"containerPort": 9153, "name": "metrics", "protocol": "TCP"}]}]}}}}
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "kube-dns", "namespace": "kube-system",
                        "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                   "kubernetes.io/name": "CoreDNS"}},
           "spec": {"clusterIP": ip, "selector": labels, "ports": [
               {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
               {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
               {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]}}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", "namespace": "kube-system"}}
    return [("/api/v1/namespaces/kube-system/configmaps", configmap("kube-system", "coredns", {"Corefile": corefile})),
            ("/api/v1/namespaces/kube-system/serviceaccounts", sa),
            ("/apis/apps/v1/namespaces/kube-system/deployments", dep),
            ("/api/v1/namespaces/kube-system/services", svc)]


def kube_proxy_objects(node, kp_cfg):
    repo = node.cc.get("imageRepository", "registry.k8s.io")
    labels = {"k8s-app": "kube-proxy"}
    cfg = {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
           "clusterCIDR": node.cc["networking"].get("podSubnet", ""), "mode": ""}
    if kp_cfg:
        cfg.update({k: v for k, v in kp_cfg.items() if k not in ("apiVersion", "kind")})
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": labels},
          "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
              "hostNetwork": True, "priorityClassName": "system-node-critical", "serviceAccountName": "kube-proxy",
              "nodeSelector": {"kubernetes.io/os": "linux"}, "tolerations": [{"operator": "Exists"}],
              "containers": [{"name": "kube-proxy", "image": "%s/kube-proxy:%s" % (
                  repo, node.cc["kubernetesVersion"]),
                  "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                              "--hostname-override=$(NODE_NAME)"]}]}}}}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "kube-proxy", "namespace": "kube-system"}}
    return [("/api/v1/namespaces/kube-system/configmaps", configmap("kube-system", "kube-proxy",
                                                                    {"config.conf": yaml_dump(cfg)})),
            ("/api/v1/namespaces/kube-system/serviceaccounts", sa),
            ("/apis/apps/v1/namespaces/kube-system/daemonsets", ds)]


# ------------------------------------------------------------------ init

INIT_FLAGS = {"config": "str", "upload-certs": "bool", "skip-phases": "list", "ignore-preflight-errors": "list",
              "certificate-key": "str", "v": "str", "skip-token-print": "bool", "skip-certificate-key-print": "bool",
              "dry-run": "bool", "help": "bool", "h": "bool"}


def cmd_init(argv):
    if argv and argv[0] == "phase":
        return cmd_init_phase(argv[1:])
    opts, pos = parse_args(argv, INIT_FLAGS, "init")
    if pos:
        raise Fatal('unknown command "%s" for "kubeadm init"\n%s' % (pos[0], TRACE_HINT))
    if not opts.get("config"):
        raise Fatal("the lab's kubeadm stand-in needs --config (Cairn always renders a config file)\n" + TRACE_HINT)
    if opts.get("dry-run"):
        raise Fatal("--dry-run is not supported by the lab's kubeadm stand-in")
    ic, cc, kubelet_user, kp_user = load_init_config(opts["config"])
    validate_init(ic, cc)
    ver, vwarn = kc.check_kubernetes_version(cc.get("kubernetesVersion"), k8s_version())
    cc = dict(cc)
    cc["kubernetesVersion"] = ver
    if not (cc.get("etcd") or {}).get("external"):
        raise Fatal("the Cairn lab's kubeadm stand-in supports external etcd only (etcd.external in the "
                    "ClusterConfiguration); stacked etcd is not simulated")
    node = Node(ic, cc)
    skip = set(opts.get("skip-phases") or []) | set(ic.get("skipPhases") or [])
    ignore = opts.get("ignore-preflight-errors") or []
    for w in vwarn:
        warn(w)
    out("[init] Using Kubernetes version: %s" % ver)
    if "preflight" not in skip:
        checks = common_checks(node) + [
            port_check(node.port), port_check(10259), port_check(10257),
            file_available(MANIFESTS + "/kube-apiserver.yaml"),
            file_available(MANIFESTS + "/kube-controller-manager.yaml"),
            file_available(MANIFESTS + "/kube-scheduler.yaml"), port_check(10250)] + external_etcd_checks(node.cc)
        run_preflight(node, checks, ignore)
        out("[preflight] Pulling images required for setting up a Kubernetes cluster")
        out("[preflight] This might take a minute or two, depending on the speed of your internet connection")
        out("[preflight] You can also perform this action beforehand using 'kubeadm config images pull'")
        sandbox_image_check(node)
    if "certs" not in skip:
        phase_certs(node)
    if "kubeconfig" not in skip:
        phase_kubeconfig(node)
    out("[etcd] External etcd mode: Skipping etcd manifest generation" if "etcd" not in skip else "")
    if "control-plane" not in skip:
        phase_control_plane(node)
    cfg_text = yaml_dump(kubelet_config(node, kubelet_user))
    if "kubelet-start" not in skip:
        write_kubelet_files(node, cfg_text)
        restart_kubelet()
    if "wait-control-plane" not in skip:
        out('[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from '
            'directory "%s"' % MANIFESTS)
        wait_kubelet_healthy(node.timeout("kubeletHealthCheck", 240))
        wait_apiserver(node, node.timeout("controlPlaneComponentHealthCheck", 240))
    client = init_client(node)
    api_timeout = node.timeout("kubernetesAPICall", 60)
    if "upload-config" not in skip:
        out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace')
        stored = {k: v for k, v in node.cc.items()}
        api_call("upload-config/kubeadm", "error uploading the kubeadm ClusterConfiguration", lambda: upsert(
            client, "/api/v1/namespaces/kube-system/configmaps",
            configmap("kube-system", "kubeadm-config", {"ClusterConfiguration": yaml_dump(stored)})), api_timeout)
        out('[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the '
            'kubelets in the cluster')
        api_call("upload-config/kubelet", "error creating kubelet configuration ConfigMap", lambda: upsert(
            client, "/api/v1/namespaces/kube-system/configmaps",
            configmap("kube-system", "kubelet-config", {"kubelet": cfg_text})), api_timeout)
    cert_key = None
    if opts.get("upload-certs") and "upload-certs" not in skip:
        cert_key = opts.get("certificate-key") or ic.get("certificateKey") or os.urandom(32).hex()
        api_call("upload-certs", "error uploading certs", lambda: upload_certs(client, node.cc, node.pki_dir, cert_key),
                 api_timeout)
        if not opts.get("skip-certificate-key-print"):
            out("[upload-certs] Using certificate key:")
            out(cert_key)
    else:
        out("[upload-certs] Skipping phase. Please see --upload-certs")
    if "mark-control-plane" not in skip:
        mark_control_plane(client, node)
    tokens = []
    if "bootstrap-token" not in skip:
        out("[bootstrap-token] Using token: %s" % ((ic.get("bootstrapTokens") or [{}])[0].get("token") or "<generated>"))
        out("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles")
        tokens = api_call("bootstrap-token", "error updating or creating token",
                          lambda: create_tokens(client, ic.get("bootstrapTokens") or [{}]), api_timeout)
        for binding in rbac_bindings():
            api_call("bootstrap-token", "unable to create ClusterRoleBinding", lambda b=binding: upsert(
                client, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", b), api_timeout)
        out('[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace')
        ca_pem = read_file(cert_path(node, "ca.crt"), binary=True)
        api_call("bootstrap-token", "error creating cluster-info ConfigMap", lambda: upsert(
            client, "/api/v1/namespaces/kube-public/configmaps",
            configmap("kube-public", "cluster-info", {"kubeconfig": cluster_info(node.server, ca_pem)})), api_timeout)
    if "kubelet-finalize" not in skip:
        out('[kubelet-finalize] Updating "/etc/kubernetes/kubelet.conf" to point to a rotatable kubelet client '
            'certificate and key')
    if "addon" not in skip:
        objs = []
        if "addon/coredns" not in skip and not (node.cc.get("dns") or {}).get("disabled"):
            objs += coredns_objects(node)
            out("[addons] Applied essential addon: CoreDNS")
        if "addon/kube-proxy" not in skip and not (node.cc.get("proxy") or {}).get("disabled"):
            objs += kube_proxy_objects(node, kp_user)
            out("[addons] Applied essential addon: kube-proxy")
        for path, obj in objs:
            api_call("addon", "unable to create %s" % obj["kind"], lambda p=path, o=obj: upsert(client, p, o),
                     api_timeout)
    if "show-join-command" not in skip:
        show_join(node, tokens[0] if tokens else None, cert_key, opts.get("skip-token-print"))
    return 0


def show_join(node, token, cert_key, skip_token=False):
    ca_hash = pki.ca_cert_hash(cert_path(node, "ca.crt"))
    tok = token if token and not skip_token else "<value withheld>"
    ep = "%s:%d" % (node.cpe_host, node.cpe_port)
    out("\nYour Kubernetes control-plane has initialized successfully!\n\nTo start using your cluster, you need to run "
        "the following as a regular user:\n\n  mkdir -p $HOME/.kube\n  sudo cp -i /etc/kubernetes/admin.conf "
        "$HOME/.kube/config\n  sudo chown $(id -u):$(id -g) $HOME/.kube/config\n\nAlternatively, if you are the root "
        "user, you can run:\n\n  export KUBECONFIG=/etc/kubernetes/admin.conf\n\nYou should now deploy a pod network "
        "to the cluster.\nRun \"kubectl apply -f [podnetwork].yaml\" with one of the options listed at:\n  "
        "https://kubernetes.io/docs/concepts/cluster-administration/addons/\n")
    if node.cc.get("controlPlaneEndpoint"):
        out("You can now join any number of control-plane nodes running the following command on each as root:\n")
        line = "  kubeadm join %s --token %s \\\n\t--discovery-token-ca-cert-hash %s \\\n\t--control-plane" % (
            ep, tok, ca_hash)
        if cert_key:
            line += " --certificate-key %s" % cert_key
        out(line + "\n")
        if cert_key:
            out("Please note that the certificate-key gives access to cluster sensitive data, keep it secret!\nAs a "
                "safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use\n\"kubeadm init "
                "phase upload-certs --upload-certs\" to reload certs afterward.\n")
    out("Then you can join any number of worker nodes by running the following on each as root:\n")
    out("kubeadm join %s --token %s \\\n\t--discovery-token-ca-cert-hash %s " % (ep, tok, ca_hash))


def cmd_init_phase(argv):
    if not argv:
        raise Fatal("the lab's kubeadm stand-in implements only 'kubeadm init phase upload-certs'")
    if argv[0] != "upload-certs":
        raise Fatal("the lab's kubeadm stand-in implements only 'kubeadm init phase upload-certs', not \"%s\"" % argv[0])
    opts, pos = parse_args(argv[1:], {"upload-certs": "bool", "certificate-key": "str", "config": "str",
                                      "kubeconfig": "str", "skip-certificate-key-print": "bool", "v": "str"},
                           "upload-certs")
    if not opts.get("upload-certs"):
        out("[upload-certs] Skipping phase. Please see --upload-certs")
        return 0
    key = opts.get("certificate-key")
    cc = None
    if opts.get("config"):
        ic, cc, _, _ = load_init_config(opts["config"])
        key = key or ic.get("certificateKey")
    client = admin_client(opts.get("kubeconfig") or KDIR + "/admin.conf")
    if cc is None:
        try:
            cm = client.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
            cc = yaml.safe_load(cm["data"]["ClusterConfiguration"])
        except (ApiError, ConnError) as e:
            raise PhaseError("upload-certs", "unable to fetch the kubeadm-config ConfigMap: %s" % e)
    key = key or os.urandom(32).hex()
    errs = []
    kc.validate_certificate_key("certificateKey", key, errs)
    if errs:
        raise Fatal(errs[0])
    try:
        upload_certs(client, cc, cc.get("certificatesDir", KDIR + "/pki"), key)
    except (ApiError, ConnError) as e:
        raise PhaseError("upload-certs", "error uploading certs: %s" % e)
    if not opts.get("skip-certificate-key-print"):
        out("[upload-certs] Using certificate key:")
        out(key)
    return 0


# ------------------------------------------------------------------ join

JOIN_FLAGS = {"config": "str", "token": "str", "discovery-token": "str", "tls-bootstrap-token": "str",
              "discovery-token-ca-cert-hash": "list", "discovery-token-unsafe-skip-ca-verification": "bool",
              "control-plane": "bool", "certificate-key": "str", "apiserver-advertise-address": "str",
              "apiserver-bind-port": "str", "node-name": "str", "cri-socket": "str", "ignore-preflight-errors": "list",
              "skip-phases": "list", "v": "str", "discovery-file": "str", "dry-run": "bool", "help": "bool"}


def join_config(opts, pos):
    if opts.get("config"):
        mixed = sorted(k for k in opts if k not in ("config", "ignore-preflight-errors", "skip-phases", "v", "dry-run"))
        if mixed or pos:
            raise Fatal("can not mix '--config' with arguments %s\n%s" % ("[" + " ".join(mixed + (
                ["discovery-token-apiserver"] if pos else [])) + "]", TRACE_HINT))
        text = read_file(opts["config"])
        if text is None:
            raise Fatal("unable to read config from \"%s\" : open %s: no such file or directory" % (
                opts["config"], opts["config"]))
        warnings = []
        docs = kc.load_documents(text, k8s_version(), warnings=warnings)
        for w in warnings:
            warn(w)
        for k in docs:
            if k in ("InitConfiguration", "ClusterConfiguration"):
                warn("[config] WARNING: Ignored configuration document with GroupVersionKind kubeadm.k8s.io/v1beta4, "
                     "Kind=%s" % k)
        jc = docs.get("JoinConfiguration")
        if jc is None:
            raise Fatal("no JoinConfiguration found in %s\n%s" % (opts["config"], TRACE_HINT))
        return jc
    if not pos:
        raise Fatal("discovery: Invalid value: \"\": bootstrapToken or file must be set\n" + TRACE_HINT)
    tok = opts.get("discovery-token") or opts.get("token")
    jc = {"discovery": {"bootstrapToken": {"apiServerEndpoint": pos[0], "token": tok,
                                           "caCertHashes": opts.get("discovery-token-ca-cert-hash") or [],
                                           "unsafeSkipCAVerification": bool(
                                               opts.get("discovery-token-unsafe-skip-ca-verification"))},
                        "tlsBootstrapToken": opts.get("tls-bootstrap-token") or opts.get("token")},
          "nodeRegistration": {}}
    if opts.get("node-name"):
        jc["nodeRegistration"]["name"] = opts["node-name"]
    if opts.get("cri-socket"):
        jc["nodeRegistration"]["criSocket"] = opts["cri-socket"]
    if opts.get("control-plane"):
        cp = {"localAPIEndpoint": {}}
        if opts.get("apiserver-advertise-address"):
            cp["localAPIEndpoint"]["advertiseAddress"] = opts["apiserver-advertise-address"]
        if opts.get("apiserver-bind-port"):
            cp["localAPIEndpoint"]["bindPort"] = int(opts["apiserver-bind-port"])
        if opts.get("certificate-key"):
            cp["certificateKey"] = opts["certificate-key"]
        jc["controlPlane"] = cp
    return jc


def validate_join(jc):
    errs = []
    bt = (jc.get("discovery") or {}).get("bootstrapToken")
    if not bt and not (jc.get("discovery") or {}).get("file"):
        errs.append('discovery: Invalid value: "": bootstrapToken or file must be set')
    if bt:
        tok = bt.get("token") or (jc.get("discovery") or {}).get("tlsBootstrapToken")
        if not tok:
            errs.append('discovery.bootstrapToken.token: Invalid value: "": the bootstrap token is invalid')
        elif not kc.TOKEN_RE.match(tok):
            errs.append('discovery.bootstrapToken.token: Invalid value: "%s": the bootstrap token "%s" was not of the '
                        'form "[a-z0-9]{6}.[a-z0-9]{16}"' % (tok, tok))
        if not bt.get("caCertHashes") and not bt.get("unsafeSkipCAVerification"):
            errs.append('discovery.bootstrapToken: Invalid value: "": using token-based discovery without caCertHashes '
                        'can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass '
                        '--discovery-token-unsafe-skip-ca-verification flag to continue')
        for h in bt.get("caCertHashes") or []:
            if not re.fullmatch(r"sha256:[0-9a-f]{64}", h):
                errs.append('discovery.bootstrapToken.caCertHashes: Invalid value: "%s": invalid hash "%s", expected '
                            '"format:value"' % (h, h) if ":" not in h else
                            'discovery.bootstrapToken.caCertHashes: Invalid value: "%s": the hash "%s" is not a valid '
                            'sha256 hash (it must be 64 hex characters)' % (h, h))
        if not bt.get("apiServerEndpoint"):
            errs.append('discovery.bootstrapToken.apiServerEndpoint: Invalid value: "": the API server endpoint must '
                        'be set')
    kc.validate_node_registration(jc.get("nodeRegistration") or {}, errs)
    cp = jc.get("controlPlane")
    if cp:
        kc.validate_api_endpoint(cp.get("localAPIEndpoint") or {}, errs, "controlPlane.localAPIEndpoint")
        kc.validate_certificate_key("controlPlane.certificateKey", cp.get("certificateKey"), errs)
    if errs:
        raise Fatal("\n".join(errs) + "\n" + TRACE_HINT)


def jws_verify(content, token_id, secret, sig):
    """Detached JWS (HS256) as the bootstrapsigner writes into cluster-info."""
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode())
    header = header.rstrip(b"=")
    payload = base64.urlsafe_b64encode(content.encode()).rstrip(b"=")
    mac = hmac.new(secret.encode(), header + b"." + payload, hashlib.sha256).digest()
    want = header.decode() + ".." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return hmac.compare_digest(want, sig)


def jws_sign(content, token_id, secret):
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode())
    header = header.rstrip(b"=")
    payload = base64.urlsafe_b64encode(content.encode()).rstrip(b"=")
    mac = hmac.new(secret.encode(), header + b"." + payload, hashlib.sha256).digest()
    return header.decode() + ".." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def discover(jc):
    """Token discovery: fetch cluster-info without trusting the server, check the JWS signature made
    with the token and the CA pin; returns (server, ca_pem)."""
    import ssl
    bt = jc["discovery"]["bootstrapToken"]
    ep = bt["apiServerEndpoint"]
    tok = bt.get("token") or jc["discovery"].get("tlsBootstrapToken")
    tid, tsec = tok.split(".")
    timeout = parse_duration((jc.get("timeouts") or {}).get("discovery", "5m0s"))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    cl = Client("https://" + ep, ctx, timeout=10)
    end = time.monotonic() + timeout
    last = ""
    while True:
        try:
            cm = cl.get("/api/v1/namespaces/kube-public/configmaps/cluster-info")
            data = cm.get("data") or {}
            content = data.get("kubeconfig", "")
            sig = data.get("jws-kubeconfig-" + tid)
            if not sig:
                last = ('token id "%s" is invalid for this cluster or it has expired. Use "kubeadm token create" on the '
                        'control-plane node to create a new valid token' % tid)
            elif not jws_verify(content, tid, tsec, sig):
                last = "failed to verify JWS signature of received cluster info object, can't trust this API Server"
            else:
                kcfg = yaml.safe_load(content)
                cluster = kcfg["clusters"][0]["cluster"]
                ca_pem = base64.b64decode(cluster["certificate-authority-data"])
                if not bt.get("unsafeSkipCAVerification"):
                    h = pki.ca_cert_hash(ca_pem)
                    if h not in bt.get("caCertHashes") or []:
                        raise PhaseError("preflight", "couldn't validate the identity of the API Server: cluster CA "
                                         "found in cluster-info ConfigMap is invalid: none of the public keys \"%s\" "
                                         "are pinned" % h)
                out("[discovery] Cluster info signature and contents are valid and TLS certificate validates against "
                    "pinned roots, will use API Server \"%s\"" % ep)
                return cluster["server"], ca_pem
        except ApiError as e:
            last = e.message
        except ConnError as e:
            last = str(e)
        if time.monotonic() >= end:
            raise PhaseError("preflight", "couldn't validate the identity of the API Server: failed to request the "
                             "cluster-info ConfigMap: %s" % last if "token id" not in last and "JWS" not in last else
                             "couldn't validate the identity of the API Server: %s" % last)
        warn("[discovery] Failed to connect to API Server \"%s\": %s" % (ep, last))
        time.sleep(2)


def cmd_join_phase(argv):
    if argv[:2] == ["control-plane-join", "etcd"]:
        # 1.35 made etcd-join a phase of its own (ControlPlaneKubeletLocalMode GA); cobra's answer to
        # the old sub-phase is reconstructed, not verified against a 1.35 kubeadm.
        raise Fatal('unknown command "etcd" for "kubeadm join phase control-plane-join"\n%s' % TRACE_HINT)
    raise Fatal("the lab's kubeadm stand-in implements no 'kubeadm join phase' subcommands (phases of join: %s)" %
                ", ".join(JOIN_PHASES))


def cmd_join(argv):
    if argv[:1] == ["phase"]:
        return cmd_join_phase(argv[1:])
    opts, pos = parse_args(argv, JOIN_FLAGS, "join")
    jc = join_config(opts, pos)
    validate_join(jc)
    tok = jc["discovery"]["bootstrapToken"].get("token") or jc["discovery"].get("tlsBootstrapToken")
    cp = jc.get("controlPlane")
    nr = jc.get("nodeRegistration") or {}
    name = nr.get("name") or hostname()
    cri = nr.get("criSocket") or DEFAULT_CRI
    ignore = opts.get("ignore-preflight-errors") or []
    skip = set(opts.get("skip-phases") or []) | set(jc.get("skipPhases") or [])
    pseudo = Node({"nodeRegistration": nr, "localAPIEndpoint": (cp or {}).get("localAPIEndpoint") or {}},
                  {"networking": {}})
    if "preflight" not in skip:
        checks = common_checks(pseudo) + [
            file_available(KDIR + "/kubelet.conf"), file_available(KDIR + "/bootstrap-kubelet.conf"),
            port_check(10250), file_available(KDIR + "/pki/ca.crt")]
        if cp:
            checks += [port_check(pseudo.port), port_check(10259), port_check(10257),
                       file_available(MANIFESTS + "/kube-apiserver.yaml"),
                       file_available(MANIFESTS + "/kube-controller-manager.yaml"),
                       file_available(MANIFESTS + "/kube-scheduler.yaml")]
        run_preflight(pseudo, checks, ignore)
    server, ca_pem = discover(jc)
    import ssl
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    client = Client(server, ctx, token=tok, timeout=10, user_agent="kubeadm/v%s (linux/amd64)" % k8s_version())
    out('[preflight] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
    out("[preflight] Use 'kubeadm init phase upload-config --config your-config.yaml' to re-upload it.")
    try:
        cm = client.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
        kcfg = client.get("/api/v1/namespaces/kube-system/configmaps/kubelet-config")
    except ApiError as e:
        raise PhaseError("preflight", "unable to fetch the kubeadm-config ConfigMap: %s" % e.message)
    except ConnError as e:
        raise PhaseError("preflight", "unable to fetch the kubeadm-config ConfigMap: %s" % e)
    cc = yaml.safe_load(cm["data"]["ClusterConfiguration"])
    ic_like = {"nodeRegistration": dict(nr, name=name, criSocket=cri),
               "localAPIEndpoint": (cp or {}).get("localAPIEndpoint") or {}}
    if cp is None:
        ic_like["localAPIEndpoint"] = {"advertiseAddress": default_address()}
    node = Node(ic_like, cc, join=True)
    node.timeouts = {k: parse_duration(v) for k, v in (jc.get("timeouts") or {}).items()}
    try:
        existing = client.get("/api/v1/nodes/" + name)
    except ApiError:
        existing = None
    except ConnError:
        existing = None
    if existing:
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in
                    existing.get("status", {}).get("conditions") or [])
        if ready:
            raise PhaseError("kubelet-start", 'a Node with name "%s" and status "Ready" already exists in the cluster. '
                             'You must delete the existing Node or change the name of this new joining Node' % name)
    if cp:
        out("[preflight] Running pre-flight checks before initializing the new control plane instance")
        run_preflight(node, external_etcd_checks(cc), ignore, phase="preflight")
        out("[preflight] Pulling images required for setting up a Kubernetes cluster")
        sandbox_image_check(node)
        out("[download-certs] Downloading the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace")
        key = cp.get("certificateKey")
        if not key:
            raise PhaseError("control-plane-prepare/download-certs", "error downloading certs: certificate key not "
                             "provided (--certificate-key)")
        try:
            sec = client.get("/api/v1/namespaces/kube-system/secrets/kubeadm-certs")
        except ApiError as e:
            if e.code == 404:
                raise PhaseError("control-plane-prepare/download-certs", "error downloading certs: error downloading "
                                 "the secret: Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace. "
                                 "This Secret might have expired. Please, run `kubeadm init phase upload-certs "
                                 "--upload-certs` on a control plane to generate a new one")
            raise PhaseError("control-plane-prepare/download-certs", "error downloading certs: error downloading the "
                             "secret: %s" % e.message)
        files = {}
        for k, v in (sec.get("data") or {}).items():
            try:
                files[k] = pki.decrypt(key, base64.b64decode(v))
            except Fatal as e:
                raise PhaseError("control-plane-prepare/download-certs", "error downloading certs: error decoding "
                                 "secret data with provided key: %s" % e.msg)
        ext = external_etcd_files(cc)
        dest = dict(CERT_FILES)
        for k, data in files.items():
            if k in dest:
                write_file(os.path.join(node.pki_dir, dest[k]), data, 0o600 if k.endswith(".key") else 0o644)
            else:
                for n, p in ext:
                    if n == k:
                        write_file(p, data, 0o600 if k.endswith(".key") else 0o644)
        out("[certs] Using certificateDir folder \"%s\"" % node.pki_dir)
        phase_certs(node)
        phase_kubeconfig(node, super_admin=False)
        os.unlink(KDIR + "/kubelet.conf")   # the kubelet gets its own through the TLS bootstrap
        phase_control_plane(node)
    else:
        os.makedirs(node.pki_dir, exist_ok=True)
        write_file(os.path.join(node.pki_dir, "ca.crt"), ca_pem, 0o644)
    # kubelet-start: bootstrap kubeconfig + config, restart. A control-plane node bootstraps against
    # its own API server (ControlPlaneKubeletLocalMode, GA in 1.35), a worker against the endpoint.
    out("[kubelet-start] Writing kubelet configuration to file \"%s/config.yaml\"" % KUBELET_DIR)
    write_file(KDIR + "/bootstrap-kubelet.conf", yaml_dump(kubeconfig_dict(
        node.local_server if cp else server, ca_pem, "tls-bootstrap-token-user",
        token=jc["discovery"].get("tlsBootstrapToken") or tok)), 0o600)
    if not os.path.exists(os.path.join(node.pki_dir, "ca.crt")):
        write_file(os.path.join(node.pki_dir, "ca.crt"), ca_pem, 0o644)
    write_kubelet_files(node, kcfg["data"]["kubelet"])
    restart_kubelet()
    if cp and "etcd-join" not in skip:
        # etcd-join: nothing to do with external etcd (kubeadm's words; in 1.35+ output it comes here,
        # between starting the kubelet and the kubelet check)
        out("[control-plane-join] Using external etcd - no local stacked instance added")
    # kubelet-wait-bootstrap
    wait_kubelet_healthy(node.timeout("kubeletHealthCheck", 240))
    out("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
    end = time.monotonic() + node.timeout("tlsBootstrap", 300)
    while not os.path.exists(KDIR + "/kubelet.conf"):
        if time.monotonic() > end:
            raise PhaseError("kubelet-wait-bootstrap", "timed out waiting for the condition")
        time.sleep(0.5)
    try:
        os.unlink(KDIR + "/bootstrap-kubelet.conf")
    except OSError:
        pass
    if cp:
        wait_apiserver(node, node.timeout("controlPlaneComponentHealthCheck", 240), phase="wait-control-plane")
        admin = admin_client()
        mark_control_plane(admin, node, "control-plane-join/mark-control-plane")
        out("\nThis node has joined the cluster and a new control plane instance was created:\n\n* Certificate signing "
            "request was sent to apiserver and approval was received.\n* The Kubelet was informed of the new secure "
            "connection details.\n* Control plane label and taint were applied to the new node.\n* The Kubernetes control "
            "plane instances scaled up.\n\nTo start administering your cluster from this node, you need to run the "
            "following as a regular user:\n\n\tmkdir -p $HOME/.kube\n\tsudo cp -i /etc/kubernetes/admin.conf "
            "$HOME/.kube/config\n\tsudo chown $(id -u):$(id -g) $HOME/.kube/config\n\nRun 'kubectl get nodes' to see "
            "this node join the cluster.\n")
    else:
        if node.taints:
            kcn = Client.from_kubeconfig(KDIR + "/kubelet.conf")
            patch_node(kcn, node.name, {}, node.taints, "kubelet-start")
        out("\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was "
            "received.\n* The Kubelet was informed of the new secure connection details.\n\nRun 'kubectl get nodes' on "
            "the control-plane to see this node join the cluster.\n")
    return 0


# ------------------------------------------------------------------ reset, token, certs, version

def stop_static_pods():
    d = os.path.join(RUN_DIR, "pods")
    for f in os.listdir(d) if os.path.isdir(d) else []:
        try:
            pid = int(read_file(os.path.join(d, f), "0").split()[0])
            os.killpg(pid, 15)
        except (OSError, ValueError, IndexError):
            pass
    time.sleep(0.5)
    for f in os.listdir(d) if os.path.isdir(d) else []:
        try:
            pid = int(read_file(os.path.join(d, f), "0").split()[0])
            os.killpg(pid, 9)
        except (OSError, ValueError, IndexError):
            pass
        try:
            os.unlink(os.path.join(d, f))
        except OSError:
            pass


def cmd_reset(argv):
    opts, pos = parse_args(argv, {"force": "bool", "f": "bool", "v": "str", "cri-socket": "str",
                                  "ignore-preflight-errors": "list", "skip-phases": "list", "config": "str",
                                  "cert-dir": "str", "cleanup-tmp-dir": "bool", "kubeconfig": "str"}, "reset")
    if not (opts.get("force") or opts.get("f")):
        sys.stdout.write("[reset] Are you sure you want to proceed? [y/N]: ")
        sys.stdout.flush()
        ans = sys.stdin.readline().strip().lower()
        if ans not in ("y", "yes"):
            raise Fatal("error execution phase preflight: won't proceed; the user didn't answer (Y|y) in order to "
                        "continue\n" + TRACE_HINT)
    out("[preflight] Running pre-flight checks")
    if not os.path.exists(KDIR + "/admin.conf"):
        warn("W [reset] Unable to fetch the kubeadm-config ConfigMap from cluster: failed to get config map: open "
             "/etc/kubernetes/admin.conf: no such file or directory")
    out("[reset] Deleted contents of the etcd data directory: /var/lib/etcd" if False else
        "[reset] No etcd config found. Assuming external etcd")
    out("[reset] Please, manually reset etcd to prevent further issues")
    out("[reset] Stopping the kubelet service")
    subprocess.run(["systemctl", "stop", "kubelet"], capture_output=True, timeout=60)
    out("[reset] Unmounting mounted directories in \"/var/lib/kubelet\"")
    out("[reset] Deleting contents of directories: [%s %s %s]" % (MANIFESTS, KUBELET_DIR, KDIR + "/pki"))
    stop_static_pods()
    for d in (MANIFESTS, KUBELET_DIR, KDIR + "/pki"):
        if os.path.isdir(d):
            for e in os.listdir(d):
                p = os.path.join(d, e)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    try:
                        os.unlink(p)
                    except OSError:
                        pass
    removed = []
    for f in ("admin.conf", "super-admin.conf", "kubelet.conf", "bootstrap-kubelet.conf", "controller-manager.conf",
              "scheduler.conf"):
        p = os.path.join(KDIR, f)
        if os.path.exists(p):
            os.unlink(p)
        removed.append(p)
    out("[reset] Deleting files: [%s]" % " ".join(removed))
    out("\nThe reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d\n\nThe reset "
        "process does not reset or clean up iptables rules or IPVS tables.\nIf you wish to reset iptables, you must do "
        "so manually by using the \"iptables\" command.\n\nIf your cluster was setup to utilize IPVS, run ipvsadm "
        "--clear (or similar)\nto reset your system's IPVS tables.\n\nThe reset process does not clean your kubeconfig "
        "files and you must remove them manually.\nPlease, check the contents of the $HOME/.kube/config file.")
    return 0


def cmd_token(argv):
    if not argv:
        raise Fatal("the lab's kubeadm stand-in implements 'kubeadm token create|list|delete'")
    sub, rest = argv[0], argv[1:]
    opts, pos = parse_args(rest, {"print-join-command": "bool", "ttl": "str", "description": "str", "usages": "list",
                                  "groups": "list", "kubeconfig": "str", "certificate-key": "str", "config": "str",
                                  "v": "str", "o": "str", "output": "str"}, "token")
    client = admin_client(opts.get("kubeconfig") or KDIR + "/admin.conf")
    if sub == "create":
        tok = pos[0] if pos else new_token()
        if not kc.TOKEN_RE.match(tok):
            raise Fatal('the bootstrap token "%s" was not of the form "[a-z0-9]{6}.[a-z0-9]{16}"' % tok)
        ttl = parse_duration(opts.get("ttl", "24h0m0s"))
        try:
            create_tokens(client, [{"token": tok, "ttl": opts.get("ttl", "24h0m0s"), "description": opts.get(
                "description"), "usages": opts.get("usages"), "groups": opts.get("groups")}])
        except (ApiError, ConnError) as e:
            raise Fatal("failed to create or update bootstrap token with name bootstrap-token-%s: %s" % (
                tok.split(".")[0], e))
        if opts.get("print-join-command"):
            kcfg = KubeConfig(opts.get("kubeconfig") or KDIR + "/admin.conf")
            ca = kcfg._bytes(kcfg.cluster, "certificate-authority")
            ep = kcfg.server.split("://", 1)[1]
            line = "kubeadm join %s --token %s --discovery-token-ca-cert-hash %s " % (ep, tok, pki.ca_cert_hash(ca))
            if opts.get("certificate-key"):
                line += "--control-plane --certificate-key %s " % opts["certificate-key"]
            out(line)
        else:
            out(tok)
        return 0
    if sub == "list":
        items = client.get("/api/v1/namespaces/kube-system/secrets")["items"]
        out("TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION"
            "                                                EXTRA GROUPS")
        for s in items:
            if s.get("type") != "bootstrap.kubernetes.io/token":
                continue
            d = {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
            exp = parse_time(d.get("expiration"))
            ttl = format_duration(max(0, (exp - now()).total_seconds())) if exp else "<forever>"
            usages = ",".join(sorted(k[len("usage-bootstrap-"):] for k, v in d.items()
                                     if k.startswith("usage-bootstrap-") and v == "true")) or "<none>"
            out("%s.%s   %-11s %-22s %-24s %-58s %s" % (d.get("token-id"), d.get("token-secret"), ttl,
                                                       d.get("expiration", "<never>"), usages,
                                                       d.get("description", "<none>"), d.get("auth-extra-groups", "")))
        return 0
    if sub == "delete":
        for t in pos:
            tid = t.split(".")[0]
            try:
                client.delete("/api/v1/namespaces/kube-system/secrets/bootstrap-token-" + tid)
            except ApiError as e:
                raise Fatal("failed to delete bootstrap token \"%s\": %s" % (tid, e.message))
            out('bootstrap token "%s" deleted' % tid)
        return 0
    raise Fatal('unknown command "%s" for "kubeadm token"' % sub)


def cmd_certs(argv):
    if argv[:1] == ["certificate-key"]:
        out(os.urandom(32).hex())
        return 0
    return kubeadm_certs.cmd_certs(argv, parse_args)


def cmd_upgrade(argv):
    import kubeadm_upgrade
    return kubeadm_upgrade.main(argv)


def cmd_config(argv):
    """kubeadm config images list|pull (the lab has no registry: pulls succeed without network)."""
    if argv[:1] != ["images"] or argv[1:2] not in (["list"], ["pull"]):
        raise Fatal("the lab's kubeadm stand-in implements only 'kubeadm config images list|pull'")
    opts, pos = parse_args(argv[2:], {"config": "str", "kubernetes-version": "str", "image-repository": "str",
                                      "cri-socket": "str", "v": "str", "o": "str", "output": "str"}, "images")
    cc = {}
    if opts.get("config"):
        _, cc, _, _ = load_init_config(opts["config"])
    ver, _ = kc.check_kubernetes_version(opts.get("kubernetes-version") or cc.get("kubernetesVersion"), k8s_version())
    repo = opts.get("image-repository") or cc.get("imageRepository") or "registry.k8s.io"
    pinned = images()
    found = ["%s/%s:%s" % (repo, c, ver) for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler",
                                                   "kube-proxy")]
    found += ["%s/coredns/coredns:%s" % (repo, pinned["coredns"]), "%s/pause:%s" % (repo, pinned["pause"])]
    if not (cc.get("etcd") or {}).get("external"):
        found.append("%s/etcd:%s" % (repo, pinned["etcd"]))
    for i in found:
        out(("[config/images] Pulled %s" % i) if argv[1] == "pull" else i)
    return 0


def cmd_version(argv):
    opts, pos = parse_args(argv, {"o": "str", "output": "str", "v": "str"}, "version")
    v = "v" + k8s_version()
    fmt = opts.get("o") or opts.get("output") or ""
    maj, mi = v[1:].split(".")[:2]
    info = {"major": maj, "minor": mi, "gitVersion": v, "gitCommit": "0" * 40, "gitTreeState": "clean",
            "buildDate": "2025-04-22T15:59:40Z", "goVersion": "go1.23.8", "compiler": "gc", "platform": "linux/amd64"}
    if fmt == "short":
        out(v)
    elif fmt == "json":
        out(json.dumps({"clientVersion": info}, indent=2))
    elif fmt == "yaml":
        out(yaml_dump({"clientVersion": info}).rstrip())
    elif fmt:
        raise Fatal('invalid output format: %s' % fmt)
    else:
        out("kubeadm version: &version.Info{Major:\"%s\", Minor:\"%s\", GitVersion:\"%s\", GitCommit:\"%s\", "
            "GitTreeState:\"clean\", BuildDate:\"%s\", GoVersion:\"go1.23.8\", Compiler:\"gc\", "
            "Platform:\"linux/amd64\"}" % (maj, mi, v, info["gitCommit"], info["buildDate"]))
    return 0


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        out("kubeadm (Cairn lab stand-in): init, join, reset, token, certs certificate-key|check-expiration|renew, "
            "init phase upload-certs, upgrade plan|apply|node, config images, version")
        return 0
    cmd, rest = argv[0], argv[1:]
    fn = {"init": cmd_init, "join": cmd_join, "reset": cmd_reset, "token": cmd_token, "certs": cmd_certs,
          "version": cmd_version, "config": cmd_config, "upgrade": cmd_upgrade}.get(cmd)
    if fn is None:
        raise Fatal('unknown command "%s" for "kubeadm"\nRun \'kubeadm --help\' for usage.' % cmd)
    return fn(rest)
