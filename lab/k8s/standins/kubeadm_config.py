"""Strict decoding of kubeadm configuration files: kubeadm.k8s.io/v1beta4, and v1beta3 (deprecated:
read with a warning by kubeadm 1.35 and 1.36, removed in 1.37).

The schemas mirror kubeadm's Go types (json tags); errors use the wording of
sigs.k8s.io/yaml + encoding/json strict decoding as kubeadm prints it.
"""
import ipaddress
import re

import yaml

from common import Fatal, parse_duration, parse_version

GROUP = "kubeadm.k8s.io"

# --- schema language ------------------------------------------------------------------
# ("struct", GoName, {jsonField: spec})  ("list", spec)  ("map", valueSpec)
# "string" "int32" "bool" "duration" "time" "any"


def S(name, fields):
    return ("struct", name, fields)


def L(spec):
    return ("list", spec)


def M(spec):
    return ("map", spec)


def arg_struct(ver):
    return S("Arg", {"name": "string", "value": "string"})


def env_struct():
    return S("EnvVar", {"name": "string", "value": "string", "valueFrom": "any"})


def hostpath_struct():
    return S("HostPathMount", {"name": "string", "hostPath": "string", "mountPath": "string",
                               "readOnly": "bool", "pathType": "string"})


def taint_struct():
    return S("Taint", {"key": "string", "value": "string", "effect": "string", "timeAdded": "time"})


def bootstrap_token():
    return S("BootstrapToken", {"token": "string", "description": "string", "ttl": "duration",
                                "expires": "time", "usages": L("string"), "groups": L("string")})


def api_endpoint():
    return S("APIEndpoint", {"advertiseAddress": "string", "bindPort": "int32"})


def patches():
    return S("Patches", {"directory": "string"})


def v1beta4_schemas():
    arg = arg_struct("v1beta4")
    args = L(arg)
    comp = {"extraArgs": args, "extraEnvs": L(env_struct()), "extraVolumes": L(hostpath_struct())}
    node_reg = S("NodeRegistrationOptions", {
        "name": "string", "criSocket": "string", "taints": L(taint_struct()), "kubeletExtraArgs": args,
        "ignorePreflightErrors": L("string"), "imagePullPolicy": "string", "imagePullSerial": "bool"})
    timeouts = S("Timeouts", {k: "duration" for k in (
        "controlPlaneComponentHealthCheck", "kubeletHealthCheck", "kubernetesAPICall", "etcdAPICall",
        "tlsBootstrap", "discovery", "upgradeManifests")})
    image_meta = {"imageRepository": "string", "imageTag": "string"}
    init = S("InitConfiguration", {
        "apiVersion": "string", "kind": "string",
        "bootstrapTokens": L(bootstrap_token()), "dryRun": "bool", "nodeRegistration": node_reg,
        "localAPIEndpoint": api_endpoint(), "certificateKey": "string", "skipPhases": L("string"),
        "patches": patches(), "timeouts": timeouts})
    cluster = S("ClusterConfiguration", {
        "apiVersion": "string", "kind": "string",
        "etcd": S("Etcd", {
            "local": S("LocalEtcd", dict(image_meta, dataDir="string", extraArgs=args, extraEnvs=L(env_struct()),
                                         serverCertSANs=L("string"), peerCertSANs=L("string"))),
            "external": S("ExternalEtcd", {"endpoints": L("string"), "caFile": "string", "certFile": "string",
                                           "keyFile": "string"})}),
        "networking": S("Networking", {"serviceSubnet": "string", "podSubnet": "string", "dnsDomain": "string"}),
        "kubernetesVersion": "string", "controlPlaneEndpoint": "string",
        "apiServer": S("APIServer", dict(comp, certSANs=L("string"))),
        "controllerManager": S("ControlPlaneComponent", dict(comp)),
        "scheduler": S("ControlPlaneComponent", dict(comp)),
        "dns": S("DNS", dict(image_meta, disabled="bool")),
        "proxy": S("Proxy", {"disabled": "bool"}),
        "certificatesDir": "string", "imageRepository": "string", "featureGates": M("bool"),
        "clusterName": "string", "encryptionAlgorithm": "string",
        "certificateValidityPeriod": "duration", "caCertificateValidityPeriod": "duration"})
    join = S("JoinConfiguration", {
        "apiVersion": "string", "kind": "string",
        "dryRun": "bool", "nodeRegistration": node_reg, "caCertPath": "string",
        "discovery": S("Discovery", {
            "bootstrapToken": S("BootstrapTokenDiscovery", {
                "token": "string", "apiServerEndpoint": "string", "caCertHashes": L("string"),
                "unsafeSkipCAVerification": "bool"}),
            "file": S("FileDiscovery", {"kubeConfigPath": "string", "kubeConfig": "any"}),
            "tlsBootstrapToken": "string"}),
        "controlPlane": S("JoinControlPlane", {"localAPIEndpoint": api_endpoint(), "certificateKey": "string"}),
        "skipPhases": L("string"), "patches": patches(), "timeouts": timeouts})
    reset = S("ResetConfiguration", {
        "apiVersion": "string", "kind": "string", "cleanupTmpDir": "bool", "certificatesDir": "string",
        "criSocket": "string", "dryRun": "bool", "force": "bool", "ignorePreflightErrors": L("string"),
        "skipPhases": L("string"), "unmountFlags": L("string")})
    return {"InitConfiguration": init, "ClusterConfiguration": cluster, "JoinConfiguration": join,
            "ResetConfiguration": reset}


def v1beta3_schemas():
    args = M("string")
    comp = {"extraArgs": args, "extraVolumes": L(hostpath_struct())}
    node_reg = S("NodeRegistrationOptions", {
        "name": "string", "criSocket": "string", "taints": L(taint_struct()), "kubeletExtraArgs": M("string"),
        "ignorePreflightErrors": L("string"), "imagePullPolicy": "string"})
    image_meta = {"imageRepository": "string", "imageTag": "string"}
    init = S("InitConfiguration", {
        "apiVersion": "string", "kind": "string", "bootstrapTokens": L(bootstrap_token()),
        "nodeRegistration": node_reg, "localAPIEndpoint": api_endpoint(), "certificateKey": "string",
        "skipPhases": L("string"), "patches": patches()})
    cluster = S("ClusterConfiguration", {
        "apiVersion": "string", "kind": "string",
        "etcd": S("Etcd", {
            "local": S("LocalEtcd", dict(image_meta, dataDir="string", extraArgs=args,
                                         serverCertSANs=L("string"), peerCertSANs=L("string"))),
            "external": S("ExternalEtcd", {"endpoints": L("string"), "caFile": "string", "certFile": "string",
                                           "keyFile": "string"})}),
        "networking": S("Networking", {"serviceSubnet": "string", "podSubnet": "string", "dnsDomain": "string"}),
        "kubernetesVersion": "string", "controlPlaneEndpoint": "string",
        "apiServer": S("APIServer", dict(comp, certSANs=L("string"), timeoutForControlPlane="duration")),
        "controllerManager": S("ControlPlaneComponent", dict(comp)),
        "scheduler": S("ControlPlaneComponent", dict(comp)),
        "dns": S("DNS", dict(image_meta)),
        "certificatesDir": "string", "imageRepository": "string", "featureGates": M("bool"),
        "clusterName": "string"})
    join = S("JoinConfiguration", {
        "apiVersion": "string", "kind": "string", "nodeRegistration": node_reg, "caCertPath": "string",
        "discovery": S("Discovery", {
            "bootstrapToken": S("BootstrapTokenDiscovery", {
                "token": "string", "apiServerEndpoint": "string", "caCertHashes": L("string"),
                "unsafeSkipCAVerification": "bool"}),
            "file": S("FileDiscovery", {"kubeConfigPath": "string"}),
            "tlsBootstrapToken": "string", "timeout": "duration"}),
        "controlPlane": S("JoinControlPlane", {"localAPIEndpoint": api_endpoint(), "certificateKey": "string"}),
        "skipPhases": L("string"), "patches": patches()})
    return {"InitConfiguration": init, "ClusterConfiguration": cluster, "JoinConfiguration": join}


SCHEMAS = {"v1beta4": v1beta4_schemas(), "v1beta3": v1beta3_schemas()}

GO_TYPE = {"string": "string", "int32": "int32", "bool": "bool", "duration": "v1.Duration", "time": "v1.Time",
           "any": "interface {}"}


def go_type_name(spec, ver):
    if isinstance(spec, str):
        return GO_TYPE[spec]
    if spec[0] == "struct":
        return "%s.%s" % (ver, spec[1])
    if spec[0] == "list":
        return "[]" + go_type_name(spec[1], ver)
    if spec[0] == "map":
        return "map[string]" + go_type_name(spec[1], ver)
    return "?"


def json_kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


class DecodeError(Exception):
    pass


def _decode(value, spec, path, struct_name, ver, unknown, type_errors):
    """Walk `value` against `spec`; collect unknown fields (dotted paths) and type errors."""
    if value is None:
        return
    if spec == "any":
        return
    field_path = ".".join(path)
    if isinstance(spec, str):
        ok = {"string": lambda v: isinstance(v, str),
              "int32": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "bool": lambda v: isinstance(v, bool),
              "duration": lambda v: isinstance(v, str),
              "time": lambda v: isinstance(v, str)}[spec](value)
        if not ok:
            type_errors.append("json: cannot unmarshal %s into Go struct field %s.%s of type %s" % (
                json_kind(value), struct_name, field_path, GO_TYPE[spec]))
            return
        if spec == "duration":
            try:
                parse_duration(value)
            except ValueError as e:
                type_errors.append(str(e))
        return
    kind = spec[0]
    if kind == "struct":
        if not isinstance(value, dict):
            type_errors.append("json: cannot unmarshal %s into Go struct field %s.%s of type %s" % (
                json_kind(value), struct_name, field_path, go_type_name(spec, ver)))
            return
        for k, v in value.items():
            sub = spec[2].get(k)
            if sub is None:
                unknown.append(".".join(path + [str(k)]))
                continue
            _decode(v, sub, path + [k], spec[1], ver, unknown, type_errors)
    elif kind == "list":
        if not isinstance(value, list):
            type_errors.append("json: cannot unmarshal %s into Go struct field %s.%s of type %s" % (
                json_kind(value), struct_name, field_path, go_type_name(spec, ver)))
            return
        for i, item in enumerate(value):
            _decode(item, spec[1], path, struct_name, ver, unknown, type_errors)
    elif kind == "map":
        if not isinstance(value, dict):
            type_errors.append("json: cannot unmarshal %s into Go struct field %s.%s of type %s" % (
                json_kind(value), struct_name, field_path, go_type_name(spec, ver)))
            return
        for k, v in value.items():
            _decode(v, spec[1], path, struct_name, ver, unknown, type_errors)


def gvk_text(group, version, kind):
    return 'schema.GroupVersionKind{Group:"%s", Version:"%s", Kind:"%s"}' % (group, version, kind)


# kubeadm's validateSupportedVersion: API versions it no longer reads, and the last kubeadm that did.
OLD_API_VERSIONS = {"v1alpha1": "v1.11", "v1alpha2": "v1.12", "v1alpha3": "v1.14", "v1beta1": "v1.15",
                    "v1beta2": "v1.22"}
# v1beta3 was removed in kubeadm 1.37 (PR #136016, CHANGELOG-1.37); 1.35 and 1.36 read it with a
# deprecation warning. That 1.37 answers it like the other removed versions, naming v1.36, follows
# kubeadm's pattern for removed versions; the 1.37 source itself was not read.
V1BETA3_LAST = (1, 36)


def decode_document(doc, kubeadm_version=None, warnings=None):
    """Validate one document strictly; returns (kind, version, doc) or raises Fatal with kubeadm's wording."""
    api = doc.get("apiVersion") if isinstance(doc, dict) else None
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if not api or not kind:
        raise Fatal("invalid configuration for GroupVersionKind %s, Kind=%s: kind and apiVersion is mandatory "
                    "information that must be specified" % (api or "/", kind or ""))
    group, _, version = str(api).rpartition("/")
    if group != GROUP:
        if group in ("kubelet.config.k8s.io", "kubeproxy.config.k8s.io"):
            return kind, version, doc
        if warnings is not None:
            warnings.append("[config] WARNING: Ignored configuration document with GroupVersionKind %s, Kind=%s"
                            % (api, kind))
        return None, None, None
    kv = parse_version(kubeadm_version or "1.36.0")
    old = OLD_API_VERSIONS.get(version)
    if version == "v1beta3" and kv[:2] > V1BETA3_LAST:
        old = "v%d.%d" % V1BETA3_LAST
    if old:
        raise Fatal("your configuration file uses an old API spec: \"%s\" (kind: \"%s\"). Please use kubeadm %s "
                    "instead and run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which "
                    "will write the new, similar spec using a newer API version." % (api, kind, old))
    schemas = SCHEMAS.get(version)
    if schemas is None or kind not in schemas:
        raise Fatal('no kind "%s" is registered for version "%s" in scheme '
                    '"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"' % (kind, api))
    unknown, type_errors = [], []
    _decode(doc, schemas[kind], [], kind, version, unknown, type_errors)
    prefix = "error unmarshaling configuration %s: " % gvk_text(GROUP, version, kind)
    if type_errors:
        raise Fatal(prefix + type_errors[0])
    if unknown:
        # Real kubeadm prints this as a warning and ignores the field; the lab's stand-in refuses
        # it, because for Cairn an unknown field is always a bug.
        raise Fatal(prefix + "strict decoding error: " + ", ".join('unknown field "%s"' % u for u in unknown))
    if version == "v1beta3" and warnings is not None:
        # klog.Warningf in validateSupportedVersion
        warnings.append("W your configuration file uses a deprecated API spec: \"%s\" (kind: \"%s\"). Please use "
                        "'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the "
                        "new, similar spec using a newer API version." % (api, kind))
    return kind, version, doc


def load_documents(text, kubeadm_version=None, warnings=None):
    """Split a multi-document YAML file and decode each document; returns {kind: doc}."""
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as e:
        raise Fatal("error converting YAML to JSON: yaml: %s" % str(e).replace("\n", " "))
    out = {}
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise Fatal("couldn't get version/kind; json parse error: json: cannot unmarshal %s into Go value of "
                        "type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string "
                        "\"json:\\\"kind,omitempty\\\"\" }" % json_kind(doc))
        kind, version, d = decode_document(doc, kubeadm_version, warnings)
        if kind is None:
            continue
        if kind in out:
            raise Fatal("duplicate %s document in configuration" % kind)
        out[kind] = d
    return out


# --- validation (kubeadm's ValidateInitConfiguration etc., the parts Cairn can get wrong) ---

TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
RFC1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# kubeadm's own feature gates (ClusterConfiguration.featureGates), per minor (shared/reference/
# versions.md): WaitForAllControlPlaneComponents removed in 1.35 (#134781); ControlPlaneKubeletLocalMode
# GA in 1.35, removed in 1.36 (#135773); NodeLocalCRISocket GA in 1.36, removed in 1.37 (#138645);
# PublicKeysECDSA removed in 1.37 (#136016). Whether EtcdLearnerMode and RootlessControlPlane are
# still there was not verified: they stay accepted.
FEATURE_GATES = {
    35: {"EtcdLearnerMode", "PublicKeysECDSA", "RootlessControlPlane", "ControlPlaneKubeletLocalMode",
         "NodeLocalCRISocket"},
    36: {"EtcdLearnerMode", "PublicKeysECDSA", "RootlessControlPlane", "NodeLocalCRISocket"},
    37: {"EtcdLearnerMode", "RootlessControlPlane"},
}
# Gates no kubeadm in the window knows (what a kubelet stand-in also refuses: they were never kubelet's).
REMOVED_KUBEADM_GATES = {"WaitForAllControlPlaneComponents": 35, "ControlPlaneKubeletLocalMode": 36,
                         "NodeLocalCRISocket": 37, "PublicKeysECDSA": 37}


def feature_gates(kubeadm_version):
    return FEATURE_GATES.get(parse_version(kubeadm_version)[1], set())


def _invalid(field, value, detail):
    return '%s: Invalid value: "%s": %s' % (field, value, detail)


def validate_cidr(field, value, errs):
    for part in str(value).split(","):
        try:
            ipaddress.ip_network(part.strip(), strict=True)
        except ValueError:
            errs.append(_invalid(field, value, "couldn't parse subnet"))
            return


def validate_endpoint(field, ep, errs):
    if not ep:
        return
    host, _, port = ep.rpartition(":") if ":" in ep else (ep, "", "")
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        errs.append(_invalid(field, ep, "port must be a valid number between 1 and 65535, inclusive"))
    h = host or ep
    try:
        ipaddress.ip_address(h)
    except ValueError:
        if not RFC1123.match(h):
            errs.append(_invalid(field, ep, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                                 "characters, '-' or '.', and must start and end with an alphanumeric character"))


def validate_node_registration(nr, errs, prefix="nodeRegistration"):
    name = nr.get("name")
    if name is not None and not RFC1123.match(str(name)):
        errs.append(_invalid(prefix + ".name", name, "a lowercase RFC 1123 subdomain must consist of lower case "
                             "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
                             "character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                             "(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"))
    cri = nr.get("criSocket")
    if cri is not None and not str(cri).startswith("unix://"):
        errs.append(_invalid(prefix + ".criSocket", cri, "unsupported URL scheme, only unix:// is supported on Linux"))
    for i, t in enumerate(nr.get("taints") or []):
        if not t.get("key"):
            errs.append("%s.taints[%d].key: Required value" % (prefix, i))
        if t.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.append('%s.taints[%d].effect: Unsupported value: "%s": supported values: "NoSchedule", '
                        '"PreferNoSchedule", "NoExecute"' % (prefix, i, t.get("effect", "")))
    for i, a in enumerate(nr.get("kubeletExtraArgs") or []):
        if isinstance(a, dict) and not a.get("name"):
            errs.append("%s.kubeletExtraArgs[%d].name: Required value" % (prefix, i))


def validate_api_endpoint(ep, errs, prefix="localAPIEndpoint"):
    addr = ep.get("advertiseAddress")
    if addr is not None:
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            errs.append(_invalid(prefix + ".advertiseAddress", addr, "cannot parse IP address"))
    port = ep.get("bindPort")
    if port is not None and not 0 < int(port) < 65536:
        errs.append(_invalid(prefix + ".bindPort", port, "port number is not valid"))


def validate_certificate_key(field, key, errs):
    if key and not re.fullmatch(r"[0-9a-fA-F]{64}", str(key)):
        errs.append(_invalid(field, key, "certificate key size must be 32 bytes, hex encoded"))


def validate_cluster(cc, errs, kubeadm_version):
    net = cc.get("networking") or {}
    if net.get("serviceSubnet"):
        validate_cidr("networking.serviceSubnet", net["serviceSubnet"], errs)
    if net.get("podSubnet"):
        validate_cidr("networking.podSubnet", net["podSubnet"], errs)
    if net.get("dnsDomain") and not RFC1123.match(net["dnsDomain"]):
        errs.append(_invalid("networking.dnsDomain", net["dnsDomain"], "a lowercase RFC 1123 subdomain must consist "
                             "of lower case alphanumeric characters, '-' or '.'"))
    validate_endpoint("controlPlaneEndpoint", cc.get("controlPlaneEndpoint"), errs)
    etcd = cc.get("etcd") or {}
    if etcd.get("local") and etcd.get("external"):
        errs.append("etcd.local: Invalid value: \"\": etcd.local and etcd.external are mutually exclusive")
    ext = etcd.get("external")
    if ext is not None:
        if not ext.get("endpoints"):
            errs.append("etcd.external.endpoints: Required value: empty etcd.external.endpoints")
        for i, e in enumerate(ext.get("endpoints") or []):
            if not re.match(r"^https?://", str(e)):
                errs.append(_invalid("etcd.external.endpoints", e, "URL parse error: %s" % e))
        files = [bool(ext.get(k)) for k in ("caFile", "certFile", "keyFile")]
        if any(files) and not all(files):
            errs.append(_invalid("etcd.external.caFile", ext.get("caFile", ""),
                                 "caFile, certFile and keyFile must be specified together"))
    known = feature_gates(kubeadm_version)
    for k in (cc.get("featureGates") or {}):
        if k not in known:
            errs.append("featureGates: Invalid value: map[string]bool{\"%s\":%s}: %s is not a valid feature name." %
                        (k, str(cc["featureGates"][k]).lower(), k))
    alg = cc.get("encryptionAlgorithm")
    if alg and alg not in ("RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384"):
        errs.append('encryptionAlgorithm: Unsupported value: "%s": supported values: "ECDSA-P256", "ECDSA-P384", '
                    '"RSA-2048", "RSA-3072", "RSA-4096"' % alg)
    for comp in ("apiServer", "controllerManager", "scheduler"):
        for i, a in enumerate((cc.get(comp) or {}).get("extraArgs") or []):
            if isinstance(a, dict) and not a.get("name"):
                errs.append("%s.extraArgs[%d].name: Required value" % (comp, i))
    for i, s in enumerate((cc.get("apiServer") or {}).get("certSANs") or []):
        try:
            ipaddress.ip_address(s)
        except ValueError:
            if not re.fullmatch(r"(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", str(s)):
                errs.append(_invalid("apiServer.certSANs[%d]" % i, s, "altname is not a valid IP address, DNS label "
                                     "or a DNS label with subdomain wildcards"))


WINDOW = ((1, 35, 0), (1, 38, 0))


def check_kubernetes_version(cc_version, kubeadm_version):
    """kubeadm's NormalizeKubernetesVersion skew rules plus the lab's 1.35-1.37 window."""
    kv = parse_version(kubeadm_version)
    want = cc_version or ("v" + kubeadm_version)
    v = parse_version(want)
    warnings = []
    if v is None:
        if str(want).startswith(("stable", "latest", "ci/")):
            raise Fatal('unable to fetch file. URL: "https://dl.k8s.io/release/%s.txt", status: 0 (the lab has no '
                        'internet: set kubernetesVersion to an explicit version)' % want)
        raise Fatal('couldn\'t parse Kubernetes version "%s": illegal version string "%s"' % (want, want))
    minimum = (kv[0], kv[1] - 1, 0)
    if v < minimum:
        raise Fatal("this version of kubeadm only supports deploying clusters with the control plane version >= "
                    "%d.%d.0. Current version: v%d.%d.%d" % (minimum[0], minimum[1], v[0], v[1], v[2]))
    if v[:2] > kv[:2]:
        if v[1] >= WINDOW[1][1]:
            raise Fatal("this version of kubeadm only supports deploying clusters with the control plane version <= "
                        "v1.%d in the Cairn lab. Current version: v%d.%d.%d" % ((WINDOW[1][1] - 1,) + v))
        warnings.append("W kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. "
                        "Kubernetes version: v%d.%d.%d. Kubeadm version: %d.%d.x" % (v + kv[:2]))
    if not WINDOW[0] <= v < WINDOW[1]:
        raise Fatal("the Cairn lab's stand-ins support Kubernetes v1.%d.x-v1.%d.x only. Current version: v%d.%d.%d" % (
            (WINDOW[0][1], WINDOW[1][1] - 1) + v))
    return "v%d.%d.%d" % v, warnings


def kv_args(lst):
    """v1beta4 extraArgs [{name,value}] -> ordered list of (name, value)."""
    out = []
    for a in lst or []:
        if isinstance(a, dict):
            out.append((a.get("name"), str(a.get("value", ""))))
    return out


def defaulted_cluster(cc, kubeadm_version):
    cc = dict(cc or {})
    net = dict(cc.get("networking") or {})
    net.setdefault("serviceSubnet", "10.96.0.0/12")
    net.setdefault("dnsDomain", "cluster.local")
    cc["networking"] = net
    cc.setdefault("certificatesDir", "/etc/kubernetes/pki")
    cc.setdefault("imageRepository", "registry.k8s.io")
    cc.setdefault("clusterName", "kubernetes")
    cc.setdefault("encryptionAlgorithm", "RSA-2048")
    cc.setdefault("apiServer", {})
    cc.setdefault("controllerManager", {})
    cc.setdefault("scheduler", {})
    cc.setdefault("dns", {})
    cc.setdefault("proxy", {})
    cc["apiVersion"] = GROUP + "/v1beta4"
    cc["kind"] = "ClusterConfiguration"
    return cc
