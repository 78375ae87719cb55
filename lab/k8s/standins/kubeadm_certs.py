"""kubeadm certs check-expiration | renew: what kubeadm's renewal manager does
(cmd/kubeadm/app/cmd/certs.go, phases/certs/renewal/manager.go, as read for this lab), on the PKI
the kubeadm stand-in writes. Also the lifetime of the certificates kubeadm issues, with the lab's
knob that makes them short-lived (/etc/cairn-lab/cert-lifetime) so that expiry can be tested."""
import base64
import json
import os
import re
import tempfile

import yaml

import pki
from apiclient import ApiError, ConnError, Client
from common import (Fatal, LAB_STATE, now, parse_duration, read_file, write_file, yaml_dump)

KDIR = "/etc/kubernetes"
TRACE_HINT = "To see the stack trace of this error execute with --v=5 or higher"
DEFAULT_VALIDITY = 8760 * 3600          # ClusterConfiguration.certificateValidityPeriod default (v1beta4)
LIFETIME_KNOB = os.path.join(LAB_STATE, "cert-lifetime")

# The certificates kubeadm manages with external etcd (certsphase.GetCertsWithoutEtcd plus the
# kubeconfig files, kubelet.conf excluded: the kubelet rotates its own), with the long names that
# `renew` prints. Listed, like Manager.Certificates(), sorted by name.
#   (name, kind, file base, CA, long name)
EXTERNAL_ETCD_CERTS = [
    ("admin.conf", "kubeconfig", "admin.conf", "ca",
     "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself"),
    ("apiserver", "pki", "apiserver", "ca", "certificate for serving the Kubernetes API"),
    ("apiserver-kubelet-client", "pki", "apiserver-kubelet-client", "ca",
     "certificate for the API server to connect to kubelet"),
    ("controller-manager.conf", "kubeconfig", "controller-manager.conf", "ca",
     "certificate embedded in the kubeconfig file for the controller manager to use"),
    ("front-proxy-client", "pki", "front-proxy-client", "front-proxy-ca", "certificate for the front proxy client"),
    ("scheduler.conf", "kubeconfig", "scheduler.conf", "ca",
     "certificate embedded in the kubeconfig file for the scheduler manager to use"),
    ("super-admin.conf", "kubeconfig", "super-admin.conf", "ca",
     "certificate embedded in the kubeconfig file for the super-admin"),
]
# With local (stacked) etcd, which is kubeadm's default when it has no configuration to read, the
# etcd certificates are expected too. The lab never has them: they show as !MISSING!.
LOCAL_ETCD_CERTS = [
    ("apiserver-etcd-client", "pki", "apiserver-etcd-client", "etcd-ca",
     "certificate the apiserver uses to access etcd"),
    ("etcd-healthcheck-client", "pki", "etcd/healthcheck-client", "etcd-ca",
     "certificate for liveness probes to healthcheck etcd"),
    ("etcd-peer", "pki", "etcd/peer", "etcd-ca", "certificate for etcd nodes to communicate with each other"),
    ("etcd-server", "pki", "etcd/server", "etcd-ca", "certificate for serving etcd"),
]
CAS = {"ca": "ca", "front-proxy-ca": "front-proxy-ca", "etcd-ca": "etcd/ca"}


def out(msg=""):
    import sys
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------ lifetime

def parse_lifetime(text):
    """A Go duration (2160h0m0s, 90m) or days (60d): seconds. Raises ValueError."""
    text = (text or "").strip()
    m = re.fullmatch(r"(\d+)d", text)
    if m:
        return int(m.group(1)) * 86400
    sec = parse_duration(text)
    if sec <= 0:
        raise ValueError('time: invalid duration "%s"' % text)
    return int(sec)


def lab_lifetime():
    """The lab's knob (scripts/lab-k8s fault LAB HOST cert-lifetime 60d): while the file
    /etc/cairn-lab/cert-lifetime exists, every leaf certificate the kubeadm stand-in issues on this host
    (init, join, certs renew, the renewal during upgrade) is valid for that long instead of
    certificateValidityPeriod, so that a cluster whose certificates expire soon is built in minutes.
    CAs are not affected. Real kubeadm has no such knob."""
    text = read_file(LIFETIME_KNOB)
    if text is None:
        return None
    try:
        return parse_lifetime(text)
    except ValueError:
        raise Fatal("the Cairn lab's certificate lifetime knob %s holds %r: give a duration like 720h or 60d"
                    % (LIFETIME_KNOB, text.strip()))


def leaf_lifetime(cc=None):
    """Seconds a new leaf certificate is valid: the lab's knob, else ClusterConfiguration
    .certificateValidityPeriod (v1beta4; default 8760h)."""
    knob = lab_lifetime()
    if knob is not None:
        return knob
    v = (cc or {}).get("certificateValidityPeriod")
    if v:
        try:
            return int(parse_duration(v))
        except ValueError:
            pass
    return DEFAULT_VALIDITY


# ------------------------------------------------------------------ the certificates of this host

class Handler:
    def __init__(self, name, kind, base, ca, long_name, pki_dir, kdir):
        self.name, self.kind, self.base, self.ca, self.long_name = name, kind, base, ca, long_name
        self.pki_dir, self.kdir = pki_dir, kdir

    @property
    def path(self):
        if self.kind == "kubeconfig":
            return os.path.join(self.kdir, self.base)
        return os.path.join(self.pki_dir, self.base + ".crt")

    @property
    def key_path(self):
        return os.path.join(self.pki_dir, self.base + ".key")

    def ca_paths(self):
        base = CAS[self.ca]
        return os.path.join(self.pki_dir, base + ".crt"), os.path.join(self.pki_dir, base + ".key")

    def exists(self):
        if self.kind == "kubeconfig":
            return self.certificate() is not None
        return os.path.exists(self.path) and os.path.exists(self.key_path)

    def certificate(self):
        """PEM of the certificate (for a kubeconfig: the embedded client certificate), or None."""
        if self.kind == "pki":
            return read_file(self.path, binary=True)
        text = read_file(self.path)
        if text is None:
            return None
        try:
            kc = yaml.safe_load(text) or {}
            users = kc.get("users") or []
            data = (users[0].get("user") or {}).get("client-certificate-data") if users else None
            return base64.b64decode(data) if data else None
        except (yaml.YAMLError, ValueError, AttributeError, IndexError):
            return None

    def externally_managed(self):
        """kubeadm's external CA mode: the CA certificate without its key."""
        crt, key = self.ca_paths()
        return os.path.exists(crt) and not os.path.exists(key)

    def renew(self, algorithm, lifetime):
        """A new key and a certificate with the same subject, SANs and usages (kubeadm's certToConfig),
        signed by the local CA, valid from now for `lifetime` seconds."""
        d = pki.cert_details(self.certificate())
        ca_crt, ca_key = self.ca_paths()
        fd, tmpkey = tempfile.mkstemp(prefix="cairn-lab-renew-", dir=os.path.dirname(self.path))
        os.close(fd)
        try:
            pki.gen_key(tmpkey, algorithm)
            crt = pki.sign(ca_crt, ca_key, tmpkey, None, d["cn"], d["orgs"], d["dns"] + d["ips"],
                           server=d["server"], client=d["client"], lifetime=lifetime)
            key = read_file(tmpkey, binary=True)
        finally:
            os.unlink(tmpkey)
        if self.kind == "pki":
            write_file(self.key_path, key, 0o600)
            write_file(self.path, crt, 0o644)
            return
        kc = yaml.safe_load(read_file(self.path)) or {}
        user = kc["users"][0].setdefault("user", {})
        user["client-certificate-data"] = base64.b64encode(crt).decode()
        user["client-key-data"] = base64.b64encode(key).decode()
        write_file(self.path, yaml_dump(kc), 0o600)


def handlers(cc, pki_dir=None, kdir=KDIR):
    pki_dir = pki_dir or cc.get("certificatesDir") or KDIR + "/pki"
    rows = list(EXTERNAL_ETCD_CERTS)
    if not (cc.get("etcd") or {}).get("external"):
        rows += LOCAL_ETCD_CERTS
    return [Handler(*r, pki_dir=pki_dir, kdir=kdir) for r in sorted(rows, key=lambda r: r[0])]


def ca_names(cc):
    return ["ca", "front-proxy-ca"] + ([] if (cc.get("etcd") or {}).get("external") else ["etcd-ca"])


# ------------------------------------------------------------------ configuration

def cluster_configuration(cfg_path, kubeconfig, prefix, cert_dir=None, quiet=False):
    """getInternalCfg: --config if given, else the kubeadm-config ConfigMap, else kubeadm's defaults
    (local etcd). Prints what kubeadm prints while reading the ConfigMap."""
    import kubeadm_config as kc
    from common import k8s_version
    cc = None
    if cfg_path:
        text = read_file(cfg_path)
        if text is None:
            raise Fatal("unable to read config from \"%s\" : open %s: no such file or directory\n%s" % (
                cfg_path, cfg_path, TRACE_HINT))
        docs = kc.load_documents(text, k8s_version(), warnings=[])
        cc = docs.get("ClusterConfiguration") or {}
    else:
        try:
            client = Client.from_kubeconfig(kubeconfig, timeout=10)
            cm = client.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
            if not quiet:
                out('[%s] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...'
                    % prefix)
                out("[%s] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it."
                    % prefix)
                out()
            cc = yaml.safe_load(cm["data"]["ClusterConfiguration"]) or {}
        except (ApiError, ConnError, Fatal, OSError, KeyError, ValueError, yaml.YAMLError):
            if not quiet:
                out("[%s] Error reading configuration from the Cluster. Falling back to default configuration" % prefix)
                out()
            cc = {}
    cc = kc.defaulted_cluster(cc, k8s_version())
    if cert_dir:
        cc["certificatesDir"] = cert_dir
    return cc


# ------------------------------------------------------------------ check-expiration

def short_human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.ShortHumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60:
        return "%ds" % s
    if s // 60 < 60:
        return "%dm" % (s // 60)
    h = s // 3600
    if h < 24:
        return "%dh" % h
    if h < 24 * 365:
        return "%dd" % (h // 24)
    return "%dy" % (h // 24 // 365)


def tabwrite(lines, minwidth=10, padding=3):
    """Go's text/tabwriter (tabwidth 4, padchar ' ', no flags) for what kubeadm prints: cells end with
    a tab, the text after the last tab is not aligned, an empty line ends a column block."""
    result, block = [], []

    def flush():
        widths = []
        for cells in block:
            for i, c in enumerate(cells[:-1]):
                w = max(minwidth, len(c) + padding)
                if i >= len(widths):
                    widths.append(w)
                else:
                    widths[i] = max(widths[i], w)
        for cells in block:
            result.append("".join(c.ljust(widths[i]) for i, c in enumerate(cells[:-1])) + cells[-1])
        block.clear()
    for line in lines:
        if line == "":
            flush()
            result.append("")
        else:
            block.append(line.split("\t"))
    flush()
    return "\n".join(result)


def expiration_info(cc, pki_dir=None, kdir=KDIR):
    """outputapiv1alpha3.CertificateExpirationInfo."""
    t = now()
    certs, cas = [], []
    for h in handlers(cc, pki_dir, kdir):
        pem = h.certificate() if h.exists() else None
        if pem is None:
            certs.append({"name": h.name, "missing": True})
            continue
        end = pki.cert_details(pem)["notAfter"]
        certs.append({"name": h.name, "expirationDate": end, "residualTime": int((end - t).total_seconds()),
                      "caName": h.ca, "externallyManaged": h.externally_managed(), "missing": False})
    pki_dir = pki_dir or cc["certificatesDir"]
    for name in ca_names(cc):
        crt, key = os.path.join(pki_dir, CAS[name] + ".crt"), os.path.join(pki_dir, CAS[name] + ".key")
        if not os.path.exists(crt):
            cas.append({"name": name, "missing": True})
            continue
        end = pki.cert_details(crt)["notAfter"]
        cas.append({"name": name, "expirationDate": end, "residualTime": int((end - t).total_seconds()),
                    "externallyManaged": not os.path.exists(key), "missing": False})
    return certs, cas


def expiration_text(certs, cas):
    fmt = lambda d: d.strftime("%b %d, %Y %H:%M UTC")
    yes_no = lambda b: "yes" if b else "no"
    lines = ["CERTIFICATE\tEXPIRES\tRESIDUAL TIME\tCERTIFICATE AUTHORITY\tEXTERNALLY MANAGED"]
    for c in certs:
        if c["missing"]:
            lines.append("!MISSING! %s\t\t\t\t" % c["name"])
        else:
            lines.append("%s\t%s\t%s\t%s\t%-8s" % (c["name"], fmt(c["expirationDate"]),
                                                  short_human_duration(c["residualTime"]), c["caName"],
                                                  yes_no(c["externallyManaged"])))
    lines.append("")
    lines.append("CERTIFICATE AUTHORITY\tEXPIRES\tRESIDUAL TIME\tEXTERNALLY MANAGED")
    for c in cas:
        if c["missing"]:
            lines.append("!MISSING! %s\t\t\t" % c["name"])
        else:
            lines.append("%s\t%s\t%s\t%-8s" % (c["name"], fmt(c["expirationDate"]),
                                              short_human_duration(c["residualTime"]), yes_no(c["externallyManaged"])))
    return tabwrite(lines)


def expiration_object(certs, cas):
    def one(c):
        o = {"name": c["name"]}
        if c["missing"]:
            o.update({"expirationDate": None, "residualTime": 0, "externallyManaged": False})
        else:
            o.update({"expirationDate": c["expirationDate"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "residualTime": c["residualTime"], "externallyManaged": c["externallyManaged"]})
            if c.get("caName"):
                o["caName"] = c["caName"]
        o["missing"] = c["missing"]
        return o
    return {"kind": "CertificateExpirationInfo", "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
            "certificates": [one(c) for c in certs], "certificateAuthorities": [one(c) for c in cas]}


def cmd_check_expiration(opts):
    fmt = opts.get("o") or opts.get("output") or "text"
    if fmt not in ("text", "json", "yaml"):
        raise Fatal('unable to match a printer suitable for the output format "%s", allowed formats are: '
                    'json,text,yaml\n%s' % (fmt, TRACE_HINT))
    cc = cluster_configuration(opts.get("config"), opts.get("kubeconfig") or KDIR + "/admin.conf",
                               "check-expiration", opts.get("cert-dir"), quiet=fmt != "text")
    certs, cas = expiration_info(cc)
    if fmt == "text":
        out(expiration_text(certs, cas))
    elif fmt == "json":
        out(json.dumps(expiration_object(certs, cas), indent=4))
    else:
        out(yaml_dump(expiration_object(certs, cas)).rstrip())
    return 0


# ------------------------------------------------------------------ renew

def renew_one(h, cc, prefix=""):
    """renewCert: MISSING!, external CA, or renewed (returns True when renewed)."""
    if not h.exists():
        out("MISSING! %s" % h.long_name)
        return False
    if h.externally_managed():
        out("Detected external %s, %s can't be renewed" % (h.ca, h.long_name))
        return False
    h.renew(cc.get("encryptionAlgorithm", "RSA-2048"), leaf_lifetime(cc))
    return True


def cmd_renew(argv, parse_args):
    spec = {"config": "str", "cert-dir": "str", "kubeconfig": "str", "v": "str", "help": "bool", "h": "bool"}
    names = [r[0] for r in EXTERNAL_ETCD_CERTS + LOCAL_ETCD_CERTS]
    if not argv or argv[0].startswith("-"):
        raise Fatal("the lab's kubeadm stand-in: give `kubeadm certs renew all` or one of: %s" % ", ".join(
            sorted(names)))
    what, rest = argv[0], argv[1:]
    if what != "all" and what not in names:
        raise Fatal('unknown command "%s" for "kubeadm certs renew"\n%s' % (what, TRACE_HINT))
    opts, pos = parse_args(rest, spec, "renew")
    if pos:
        raise Fatal('unknown command "%s" for "kubeadm certs renew %s"' % (pos[0], what))
    cc = cluster_configuration(opts.get("config"), opts.get("kubeconfig") or KDIR + "/admin.conf", "renew",
                               opts.get("cert-dir"))
    hs = handlers(cc)
    if what != "all":
        h = next((x for x in hs if x.name == what), None)
        if h is None:
            # an etcd certificate with external etcd: the subcommand exists (the list is made from a
            # default configuration), the cluster's renewal manager does not know it
            out("MISSING! %s" % next(r[4] for r in LOCAL_ETCD_CERTS if r[0] == what))
            return 0
        if renew_one(h, cc):
            out("%s renewed" % h.long_name)
        return 0
    for h in hs:
        if renew_one(h, cc):
            out("%s renewed" % h.long_name)
    out("\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler "
        "and etcd, so that they can use the new certificates.")
    return 0


def renew_for_component(component, cc, pki_dir=None, kdir=KDIR, printer=out):
    """renewCertsByComponent during `kubeadm upgrade` (external etcd: no etcd client certificate)."""
    names = {"kube-apiserver": ["apiserver", "apiserver-kubelet-client", "front-proxy-client"],
             "kube-controller-manager": ["controller-manager.conf"],
             "kube-scheduler": ["scheduler.conf"]}.get(component, [])
    hs = {h.name: h for h in handlers(cc, pki_dir, kdir)}
    for n in names:
        h = hs[n]
        printer("[upgrade/staticpods] Renewing %s certificate" % n)
        if h.externally_managed():
            printer("[upgrade/staticpods] External CA detected, %s certificate can't be renewed" % n)
            continue
        if not h.exists():
            raise Fatal("failed to renew certificate %s: open %s: no such file or directory" % (n, h.path))
        h.renew(cc.get("encryptionAlgorithm", "RSA-2048"), leaf_lifetime(cc))


def renew_admin_kubeconfigs(cc, pki_dir=None, kdir=KDIR, printer=out):
    """After the static pods, `kubeadm upgrade` renews admin.conf and, where it exists, super-admin.conf
    without a word (staticpods.go, as remembered; the 1.36 check-expiration after an upgrade shows both
    renewed)."""
    hs = {h.name: h for h in handlers(cc, pki_dir, kdir)}
    for n in ("admin.conf", "super-admin.conf"):
        h = hs[n]
        if not h.exists():
            continue
        if h.externally_managed():
            printer("[upgrade/staticpods] External CA detected, %s certificate can't be renewed" % n)
            continue
        h.renew(cc.get("encryptionAlgorithm", "RSA-2048"), leaf_lifetime(cc))


def cmd_certs(argv, parse_args):
    if argv[:1] == ["check-expiration"]:
        opts, pos = parse_args(argv[1:], {"config": "str", "cert-dir": "str", "kubeconfig": "str", "o": "str",
                                          "output": "str", "v": "str", "allow-missing-template-keys": "bool",
                                          "show-managed-fields": "bool"}, "check-expiration")
        if pos:
            raise Fatal('unknown command "%s" for "kubeadm certs check-expiration"' % pos[0])
        return cmd_check_expiration(opts)
    if argv[:1] == ["renew"]:
        return cmd_renew(argv[1:], parse_args)
    raise Fatal("the lab's kubeadm stand-in implements 'kubeadm certs certificate-key|check-expiration|renew'")

