"""kube-apiserver stand-in: TLS on --advertise-address/--bind-address:--secure-port, state in the
real external etcd, a REST API shaped like Kubernetes' (enough for the real kubectl, the kubeadm
stand-in, the kubelet and the simulated controllers: discovery, OpenAPI, validation, server-side
apply, watches, tables, exec over websockets), /livez /readyz /healthz from the etcd connection."""
import base64
import copy
import ipaddress
import json
import os
import random
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

import objects
import openapi
import tables
import wsexec
import labelsel as sel
from common import Fatal, log, parse_time, now, rfc3339, k8s_version, parse_version, gen_name_suffix
from etcdclient import Etcd, EtcdError
from resources import Registry
from store import Store, StatusError, not_found, etcd_failure

# Flags of kube-apiserver that kubeadm writes or operators commonly add. Anything else fails at
# start like the real binary ("Error: unknown flag: --x"), so the static pod crash-loops.
KNOWN_FLAGS = set("""
advertise-address allow-privileged authorization-mode authorization-config authentication-config client-ca-file
enable-admission-plugins disable-admission-plugins enable-bootstrap-token-auth etcd-cafile etcd-certfile
etcd-keyfile etcd-servers etcd-prefix kubelet-client-certificate kubelet-client-key kubelet-preferred-address-types
proxy-client-cert-file proxy-client-key-file requestheader-allowed-names requestheader-client-ca-file
requestheader-extra-headers-prefix requestheader-group-headers requestheader-username-headers secure-port
bind-address service-account-issuer service-account-key-file service-account-signing-key-file
service-cluster-ip-range tls-cert-file tls-private-key-file tls-cipher-suites tls-min-version
audit-log-path audit-log-maxage audit-log-maxbackup audit-log-maxsize audit-policy-file audit-log-format
encryption-provider-config event-ttl feature-gates default-not-ready-toleration-seconds
default-unreachable-toleration-seconds max-requests-inflight max-mutating-requests-inflight
profiling anonymous-auth oidc-issuer-url oidc-client-id oidc-username-claim oidc-groups-claim
oidc-username-prefix oidc-groups-prefix oidc-ca-file service-node-port-range runtime-config
v logtostderr storage-backend storage-media-type request-timeout min-request-timeout
etcd-compaction-interval etcd-count-metric-poll-period apiserver-count endpoint-reconciler-type
kubelet-certificate-authority kubelet-timeout goaway-chance shutdown-delay-duration
strict-transport-security-directives cors-allowed-origins external-hostname api-audiences
service-account-lookup service-account-max-token-expiration enable-aggregator-routing
""".split())


def parse_flags(args, known=KNOWN_FLAGS, prog="kube-apiserver"):
    flags = {}
    for a in args:
        if not a.startswith("--"):
            raise Fatal("Error: unknown command \"%s\" for \"%s\"" % (a, prog))
        name, eq, val = a[2:].partition("=")
        if name not in known:
            raise Fatal("Error: unknown flag: --%s" % name)
        flags[name] = val if eq else "true"
    return flags


# ------------------------------------------------------------------------------ helpers

def peer_identity(sock):
    """(user, groups) from a verified client certificate, or None."""
    try:
        cert = sock.getpeercert()
    except (ValueError, OSError):
        return None
    if not cert:
        return None
    cn, orgs = None, []
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                cn = v
            elif k == "organizationName":
                orgs.append(v)
    return cn, orgs


def status_ok(details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if details:
        s["details"] = details
    return s


def bad_request(msg):
    return StatusError(400, "BadRequest", msg)


def invalid(res_kind, group, name, causes):
    gk = "%s.%s" % (res_kind, group) if group else res_kind
    text = causes[0] if len(causes) == 1 else "[%s]" % ", ".join(causes)
    msg = '%s "%s" is invalid: %s' % (gk, name, text)
    return StatusError(422, "Invalid", msg, {"name": name, "group": group, "kind": res_kind, "causes": [
        {"reason": "FieldValueInvalid", "message": c.split(": ", 1)[-1], "field": c.split(": ", 1)[0]}
        for c in causes]})


ADMIN_GROUPS = {"system:masters", "kubeadm:cluster-admins"}
COMPONENT_USERS = {"system:kube-controller-manager", "system:kube-scheduler", "system:kube-proxy"}


class API:
    def __init__(self, flags):
        self.flags = flags
        self.version = k8s_version()
        ep = [e for e in flags.get("etcd-servers", "").split(",") if e]
        if not ep:
            raise Fatal("Error: [--etcd-servers must be specified]")
        self.etcd = Etcd(ep, flags.get("etcd-cafile"), flags.get("etcd-certfile"), flags.get("etcd-keyfile"))
        self.store = Store(self.etcd)
        self.service_cidr = ipaddress.ip_network(flags.get("service-cluster-ip-range", "10.96.0.0/12").split(",")[0])
        self.advertise = flags.get("advertise-address")
        self.health = (False, "not checked", 0.0)
        self.health_lock = threading.Lock()
        self.ca_crt = flags.get("client-ca-file")
        self.ca_key = os.path.join(os.path.dirname(self.ca_crt or "/etc/kubernetes/pki/ca.crt"), "ca.key")
        self.node_port_range = (30000, 32767)

    # --- health ---
    def etcd_health(self):
        with self.health_lock:
            ok, why, at = self.health
            if time.monotonic() - at < 1.0:
                return ok, why
        ok, why = self.etcd.healthy(timeout=2.0)
        with self.health_lock:
            self.health = (ok, why, time.monotonic())
        return ok, why

    def bootstrap(self):
        """Default namespaces and the kubernetes Service (retried until etcd answers)."""
        ns_res = self.store.registry().by_path("", "v1", "namespaces")
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            if self.store.get(ns_res, None, ns) is None:
                try:
                    self.store.create(ns_res, None, self.default_namespace({"metadata": {"name": ns}}))
                except StatusError:
                    pass
        svc = self.store.registry().by_path("", "v1", "services")
        if self.store.get(svc, "default", "kubernetes") is None:
            ip = str(self.service_cidr.network_address + 1)
            try:
                self.store.create(svc, "default", {
                    "metadata": {"name": "kubernetes", "namespace": "default",
                                 "labels": {"component": "apiserver", "provider": "kubernetes"}},
                    "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "sessionAffinity": "None",
                             "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                        "targetPort": int(self.flags.get("secure-port", 6443))}],
                             "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"},
                    "status": {"loadBalancer": {}}})
            except StatusError:
                pass
        self.register_endpoint()

    def register_endpoint(self):
        if not self.advertise:
            return
        ep_res = self.store.registry().by_path("", "v1", "endpoints")
        for _ in range(5):
            cur = self.store.get(ep_res, "default", "kubernetes")
            port = int(self.flags.get("secure-port", 6443))
            if cur is None:
                try:
                    self.store.create(ep_res, "default", {
                        "metadata": {"name": "kubernetes", "namespace": "default"},
                        "subsets": [{"addresses": [{"ip": self.advertise}],
                                     "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]})
                    return
                except StatusError:
                    continue
            addrs = (cur.get("subsets") or [{}])[0].get("addresses") or []
            if any(a.get("ip") == self.advertise for a in addrs):
                return
            addrs.append({"ip": self.advertise})
            cur["subsets"] = [{"addresses": sorted(addrs, key=lambda a: a["ip"]),
                               "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]
            try:
                self.store.update(ep_res, "default", "kubernetes", cur, cur["metadata"]["resourceVersion"])
                return
            except StatusError:
                continue

    # --- authentication / authorization ---
    def authenticate(self, handler):
        auth = handler.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            tok = auth[7:].strip()
            ident = self.bootstrap_token_identity(tok)
            if ident is None:
                raise StatusError(401, "Unauthorized", "Unauthorized")
            return ident
        ident = peer_identity(handler.connection)
        if ident:
            return ident
        return "system:anonymous", ["system:unauthenticated"]

    def bootstrap_token_identity(self, tok):
        import re
        m = re.fullmatch(r"([a-z0-9]{6})\.([a-z0-9]{16})", tok)
        if not m:
            return None
        sec = self.store.get(self.store.registry().by_path("", "v1", "secrets"), "kube-system",
                             "bootstrap-token-" + m.group(1))
        if not sec:
            return None
        import base64
        data = {k: base64.b64decode(v).decode() for k, v in (sec.get("data") or {}).items()}
        data.update(sec.get("stringData") or {})
        if data.get("token-secret") != m.group(2) or data.get("usage-bootstrap-authentication") != "true":
            return None
        exp = parse_time(data.get("expiration"))
        if exp and exp < now():
            return None
        groups = [g for g in data.get("auth-extra-groups", "").split(",") if g] + ["system:bootstrappers",
                                                                                  "system:authenticated"]
        return "system:bootstrap:" + m.group(1), groups

    def authorize(self, user, groups, verb, res, ns, name, sub, path):
        if set(groups) & ADMIN_GROUPS or "system:nodes" in groups or user in COMPONENT_USERS:
            return
        if user.startswith("system:serviceaccount:"):
            return
        allowed = False
        if "system:bootstrappers" in groups and res is not None:
            if res.plural == "certificatesigningrequests" and verb in ("create", "get", "list", "watch"):
                allowed = True
            elif res.plural == "configmaps" and verb == "get" and (ns, name) in (
                    ("kube-system", "kubeadm-config"), ("kube-system", "kubelet-config"),
                    ("kube-public", "cluster-info"), ("kube-system", "kube-proxy")):
                allowed = True
            elif res.plural == "secrets" and verb == "get" and (ns, name) == ("kube-system", "kubeadm-certs"):
                allowed = True
            elif res.plural == "nodes" and verb == "get":
                allowed = True
        if res is not None and res.plural == "configmaps" and verb == "get" and (ns, name) == (
                "kube-public", "cluster-info"):
            allowed = True
        if allowed:
            return
        if res is None:
            raise StatusError(403, "Forbidden", 'forbidden: User "%s" cannot %s path "%s"' % (user, verb, path))
        scope = ('in the namespace "%s"' % ns) if ns else "at the cluster scope"
        resource = res.plural + ("/" + sub if sub else "")
        what = '%s "%s" is forbidden' % (res.group_resource, name) if name else "%s is forbidden" % res.group_resource
        raise StatusError(403, "Forbidden", '%s: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
            what, user, verb, resource, res.group, scope), {"name": name or "", "group": res.group, "kind": res.plural})

    # --- defaulting and admission ---
    def default_namespace(self, obj):
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        return obj

    def allocate_cluster_ip(self, want=None):
        svc_res = self.store.registry().by_path("", "v1", "services")
        items, _ = self.store.list(svc_res)
        used = {s.get("spec", {}).get("clusterIP") for s in items}
        if want:
            ip = ipaddress.ip_address(want)
            if ip not in self.service_cidr:
                raise StatusError(422, "Invalid", 'Service "x" is invalid: spec.clusterIPs: Invalid value: []string{"%s"}: '
                                  'failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range '
                                  'of valid IPs is %s' % (want, want, want, self.service_cidr))
            if want in used:
                raise StatusError(422, "Invalid", 'Service "x" is invalid: spec.clusterIPs: Invalid value: []string{"%s"}: '
                                  'failed to allocate IP %s: provided IP is already allocated' % (want, want))
            return want
        n = self.service_cidr.num_addresses
        r = random.Random()
        for _ in range(200):
            ip = str(self.service_cidr.network_address + r.randint(11, min(n - 2, 65000)))
            if ip not in used:
                return ip
        raise StatusError(500, "InternalError", "failed to allocate a serviceIP: range is full")

    def allocate_node_port(self, used):
        r = random.Random()
        for _ in range(500):
            p = r.randint(*self.node_port_range)
            if p not in used:
                used.add(p)
                return p
        raise StatusError(500, "InternalError", "range is full")

    def defaults(self, res, obj, old=None):
        k = res.kind
        spec = obj.setdefault("spec", {}) if k not in ("ConfigMap", "Secret", "Namespace", "Endpoints", "Event",
                                                       "ServiceAccount", "ClusterRole", "Role", "RoleBinding",
                                                       "ClusterRoleBinding", "ValidatingWebhookConfiguration",
                                                       "MutatingWebhookConfiguration", "StorageClass", "Lease",
                                                       "PriorityClass", "CSIDriver", "IngressClass",
                                                       "EndpointSlice", "RuntimeClass") else None
        if k == "Namespace":
            self.default_namespace(obj)
        elif k == "Pod":
            spec.setdefault("restartPolicy", "Always")
            spec.setdefault("schedulerName", "default-scheduler")
            spec.setdefault("serviceAccountName", "default")
            spec.setdefault("dnsPolicy", "ClusterFirst")
            spec.setdefault("terminationGracePeriodSeconds", 30)
            tol = spec.setdefault("tolerations", [])
            for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
                if not any(t.get("key") == key and t.get("effect") in (None, "", "NoExecute") for t in tol):
                    tol.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
            for c in spec.get("containers") or []:
                c.setdefault("imagePullPolicy", "Always" if str(c.get("image", "")).endswith(":latest")
                             or ":" not in str(c.get("image", "")).split("/")[-1] else "IfNotPresent")
            if old is None:
                obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif k == "Service":
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            if old is not None and old.get("spec", {}).get("clusterIP"):
                spec["clusterIP"] = old["spec"]["clusterIP"]
                spec["clusterIPs"] = old["spec"].get("clusterIPs", [spec["clusterIP"]])
            elif spec.get("clusterIP") != "None":
                spec["clusterIP"] = self.allocate_cluster_ip(spec.get("clusterIP"))
                spec["clusterIPs"] = [spec["clusterIP"]]
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            if spec["type"] in ("NodePort", "LoadBalancer"):
                spec.setdefault("externalTrafficPolicy", "Cluster")
                used = set()
                oldports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                            for p in ((old or {}).get("spec") or {}).get("ports") or []}
                for p in spec.get("ports") or []:
                    p.setdefault("protocol", "TCP")
                    p.setdefault("targetPort", p.get("port"))
                    if not p.get("nodePort"):
                        p["nodePort"] = oldports.get((p.get("port"), p["protocol"])) or self.allocate_node_port(used)
            for p in spec.get("ports") or []:
                p.setdefault("protocol", "TCP")
                p.setdefault("targetPort", p.get("port"))
            if old is None:
                obj["status"] = {"loadBalancer": {}}
        elif k == "Deployment":
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", {"type": "RollingUpdate",
                                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
        elif k == "StatefulSet":
            spec.setdefault("replicas", 1)
            spec.setdefault("podManagementPolicy", "OrderedReady")
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        elif k == "DaemonSet":
            spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                               "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}})
        elif k == "CustomResourceDefinition":
            # NamesAccepted at once; Established only after the establishing loop (establish_crds) has
            # seen the CRD for a moment: until then its kinds are not served, as on a real server.
            names = spec.get("names") or {}
            st = obj.setdefault("status", {}) if old is None else obj.setdefault("status", copy.deepcopy(
                old.get("status") or {}))
            st["acceptedNames"] = names
            stored = list(st.get("storedVersions") or [])
            for v in spec.get("versions") or []:
                if v.get("storage") and v["name"] not in stored:
                    stored.append(v["name"])
            st["storedVersions"] = stored
            if old is None:
                st["conditions"] = [{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                                     "message": "no conflicts found", "lastTransitionTime": rfc3339()},
                                    {"type": "Established", "status": "False", "reason": "Installing",
                                     "message": "the initial names have been accepted",
                                     "lastTransitionTime": rfc3339()}]
        return obj

    def validate(self, res, obj, old=None):
        k = res.kind
        name = obj["metadata"].get("name", "")
        if k in ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"):
            spec = obj.get("spec") or {}
            selector = spec.get("selector")
            if not selector:
                raise invalid(k, res.group, name, ["spec.selector: Required value"])
            tl = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if not sel.match_label_selector(selector, tl):
                raise invalid(k, res.group, name, [
                    "spec.template.metadata.labels: Invalid value: map[string]string{%s}: `selector` does not match "
                    "template `labels`" % ", ".join('"%s":"%s"' % kv for kv in sorted(tl.items()))])
            if not (((spec.get("template") or {}).get("spec") or {}).get("containers")):
                raise invalid(k, res.group, name, ["spec.template.spec.containers: Required value"])
            if old is not None and (old.get("spec") or {}).get("selector") != selector:
                raise invalid(k, res.group, name, [
                    "spec.selector: Invalid value: v1.LabelSelector{...}: field is immutable"])
        if k == "Pod" and not (obj.get("spec") or {}).get("containers"):
            raise invalid(k, res.group, name, ["spec.containers: Required value"])
        if k == "Service":
            t = (obj.get("spec") or {}).get("type")
            if t not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
                raise invalid(k, res.group, name, ['spec.type: Unsupported value: "%s": supported values: '
                                                   '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"' % t])
            if old is not None and old.get("spec", {}).get("clusterIP") and \
                    obj["spec"].get("clusterIP") not in (None, old["spec"]["clusterIP"]):
                raise invalid(k, res.group, name, ["spec.clusterIPs[0]: Invalid value: []string{\"%s\"}: may not "
                                                   "change once set" % obj["spec"].get("clusterIP")])

    def check_schema(self, res, obj, directive, handler=None, applied=False):
        dups = [] if applied else (getattr(handler, "_dups", None) or [])
        """The OpenAPI schema of the kind (built-in) or of the CRD version: a wrong type or (Strict) an
        unknown field refuses the request as the real server's decoder does; unknown fields are
        otherwise dropped (Warn: with a warning); CRD value validations and required fields: 422."""
        p = openapi.validate(res, obj, prune=True, defaults=True)
        name = (obj.get("metadata") or {}).get("name", "")
        head = '%s in version "%s" cannot be handled as a %s: ' % (res.kind, res.version, res.kind)
        if p.decode and res.crd is None and not applied:
            raise bad_request(head + p.decode[0])
        if (p.unknown or dups) and not applied:
            texts = ['duplicate field "%s"' % d for d in dups] + ['unknown field "%s"' % go for go, _ in p.unknown]
            if directive == "Strict":
                raise bad_request(head + "strict decoding error: " + ", ".join(texts))
            if directive == "Warn" and handler is not None:
                for t in texts:
                    handler.warn(t)
        if p.unknown:
            log("apiserver", "pruned unknown fields of %s %s: %s", res.kind, name, ", ".join(g for g, _ in p.unknown))
        field = [e for e in p.field if res.crd is not None or not e.startswith("status")]
        if field:
            raise invalid(res.kind, res.group, name, field)

    def check_webhooks(self, res, obj, operation):
        """Validating/mutating webhooks with failurePolicy Fail need a ready pod behind their service."""
        reg = self.store.registry()
        hooks = []
        for plural in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
            r = reg.by_path("admissionregistration.k8s.io", "v1", plural)
            items, _ = self.store.list(r)
            for cfg in items:
                for wh in cfg.get("webhooks") or []:
                    hooks.append(wh)
        ns = obj["metadata"].get("namespace")
        for wh in hooks:
            if not self.webhook_matches(wh, res, operation, ns):
                continue
            if wh.get("failurePolicy", "Fail") == "Ignore":
                continue
            cc = wh.get("clientConfig") or {}
            svc_ref = cc.get("service")
            if not svc_ref:
                continue
            sns, sname = svc_ref.get("namespace"), svc_ref.get("name")
            port = svc_ref.get("port", 443)
            url = "https://%s.%s.svc:%d%s?timeout=%ds" % (sname, sns, port, svc_ref.get("path", ""),
                                                          wh.get("timeoutSeconds", 10))
            verb = "Post"
            svc = self.store.get(reg.by_path("", "v1", "services"), sns, sname)
            if svc is None:
                raise StatusError(500, "InternalError", 'Internal error occurred: failed calling webhook "%s": failed '
                                  'to call webhook: %s "%s": service "%s" not found' % (wh.get("name"), verb, url, sname))
            pods, _ = self.store.list(reg.by_path("", "v1", "pods"), sns)
            selector = (svc.get("spec") or {}).get("selector") or {}
            ready = [p for p in pods if selector and all((p["metadata"].get("labels") or {}).get(a) == b
                                                        for a, b in selector.items()) and pod_ready(p)]
            if not ready:
                raise StatusError(500, "InternalError", 'Internal error occurred: failed calling webhook "%s": failed '
                                  'to call webhook: %s "%s": dial tcp %s:%d: connect: connection refused' % (
                                      wh.get("name"), verb, url, svc["spec"].get("clusterIP", ""), port))
            # the webhook answers: MetalLB-style validation of address pools
            if res.kind == "IPAddressPool" and "metallb" in (wh.get("name") or ""):
                self.validate_metallb_pool(wh, obj)

    def validate_metallb_pool(self, wh, obj):
        for a in (obj.get("spec") or {}).get("addresses") or []:
            ok = True
            try:
                if "-" in a:
                    lo, hi = [ipaddress.ip_address(x.strip()) for x in a.split("-", 1)]
                    ok = lo <= hi
                else:
                    ipaddress.ip_network(a, strict=False)
            except ValueError:
                ok = False
            if not ok:
                raise StatusError(400, "BadRequest", 'admission webhook "%s" denied the request: invalid CIDR "%s" in '
                                  'pool %s' % (wh.get("name"), a, obj["metadata"].get("name")))

    @staticmethod
    def webhook_matches(wh, res, operation, ns):
        for rule in wh.get("rules") or []:
            groups = rule.get("apiGroups") or []
            ops = rule.get("operations") or []
            resources = rule.get("resources") or []
            versions = rule.get("apiVersions") or []
            if "*" not in groups and res.group not in groups:
                continue
            if "*" not in ops and operation not in ops:
                continue
            if "*" not in resources and res.plural not in resources:
                continue
            if "*" not in versions and not set(versions) & set(res.versions):
                continue
            nsel = wh.get("namespaceSelector")
            if nsel and ns and not sel.match_label_selector(nsel, {"kubernetes.io/metadata.name": ns}):
                continue
            return True
        return False

    # --- exec (no containers exist: answers come from the simulations) ---
    def exec_target(self, ns, name, query):
        """(pod, container) an exec goes to; refused like the kubelet when the container is not running."""
        pod = self.store.get(self.store.registry().by_path("", "v1", "pods"), ns, name)
        if pod is None:
            raise not_found(self.store.registry().by_path("", "v1", "pods"), name)
        container = (query.get("container") or [None])[0]
        names = [c["name"] for c in pod["spec"].get("containers") or []]
        if container and container not in names:
            raise bad_request('container %s is not valid for pod %s' % (container, name))
        container = container or names[0]
        if pod.get("status", {}).get("phase") != "Running" or not any(
                cs.get("name") == container and "running" in (cs.get("state") or {})
                for cs in pod.get("status", {}).get("containerStatuses") or []):
            raise bad_request('unable to upgrade connection: container not found ("%s")' % container)
        return pod, container

    def exec_pod(self, ns, name, query, stdin=b"", pod=None, container=None):
        if pod is None:
            pod, container = self.exec_target(ns, name, query)
        cmd = query.get("command") or []
        import cephsim
        return cephsim.exec_in_pod(self.store, pod, container, cmd, stdin)


OPENAPI_CACHE = {}
TABLE_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
DISCOVERY_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
ALL_CATEGORY = {"Pod", "Service", "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "CronJob",
                "ReplicationController", "HorizontalPodAutoscaler"}
GROUP_ORDER = ["", "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
               "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io", "policy",
               "rbac.authorization.k8s.io", "storage.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
               "scheduling.k8s.io", "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io",
               "flowcontrol.apiserver.k8s.io"]


def version_priority(v):
    """Kubernetes' version ordering: GA before beta before alpha, higher first."""
    import re
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (3, 0, 0, v)
    return ({None: 0, "beta": 1, "alpha": 2}[m.group(2)], -int(m.group(1)), -int(m.group(3) or 0), v)


def subresource_kind(r, sub):
    if sub == "scale":
        return {"group": "autoscaling", "version": "v1", "kind": "Scale"}, ["get", "patch", "update"]
    if sub == "eviction":
        return {"group": "policy", "version": "v1", "kind": "Eviction"}, ["create"]
    if sub == "binding":
        return {"group": "", "version": "v1", "kind": "Binding"}, ["create"]
    if sub in ("exec", "attach", "portforward"):
        return {"group": "", "version": "v1", "kind": "Pod" + {"exec": "ExecOptions", "attach": "AttachOptions",
                                                                 "portforward": "PortForwardOptions"}[sub]}, \
            ["create", "get"]
    if sub == "log":
        return {"group": "", "version": "v1", "kind": "Pod"}, ["get"]
    if sub == "proxy":
        return {"group": "", "version": "v1", "kind": "NodeProxyOptions"}, ["create", "delete", "get", "patch", "update"]
    if sub == "approval":
        return {"group": r.group, "version": r.version, "kind": r.kind}, ["get", "patch", "update"]
    return {"group": r.group, "version": r.version, "kind": r.kind}, ["get", "patch", "update"]


def crd_hash(reg, group, version):
    import hashlib
    h = hashlib.sha512()
    for r in reg.resources:
        if r.group == group and version in r.versions and r.crd is not None:
            h.update(json.dumps(r.crd.get("spec"), sort_keys=True).encode())
    h.update(group.encode() + b"/" + version.encode())
    return h.hexdigest()[:128].upper()


class _DupDict(dict):
    """A JSON object that remembers the keys it saw twice (the last value wins, as in Go)."""

    def __init__(self, pairs):
        super().__init__()
        self.dups = []
        for k, v in pairs:
            if k in self:
                self.dups.append(k)
            self[k] = v


def duplicate_json_fields(obj, path=""):
    out = []
    if isinstance(obj, _DupDict):
        out += ["%s.%s" % (path, k) if path else k for k in obj.dups]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += duplicate_json_fields(v, "%s.%s" % (path, k) if path else k)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += duplicate_json_fields(v, "%s[%d]" % (path, i))
    return out


def client_gone(sock):
    """Has the client of a streaming answer (a watch) closed its connection? It sends nothing more."""
    import select
    try:
        r, _, _ = select.select([sock], [], [], 0)
        if not r:
            return False
        return sock.recv(1) == b""
    except ssl.SSLWantReadError:
        return False
    except (OSError, ValueError):
        return True


def duplicate_yaml_keys(raw):
    """[(line, key)] of keys repeated within one mapping of a YAML (or JSON) document."""
    out = []

    def walk(node):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for k, v in node.value:
                key = getattr(k, "value", None)
                if key in seen:
                    out.append((k.start_mark.line + 1, key))
                seen.add(key)
                walk(v)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                walk(v)
    try:
        walk(yaml.compose(raw, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        pass
    return out


def pod_ready(p):
    for c in (p.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


# ------------------------------------------------------------------------------ HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-lab"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, code, obj, content_type="application/json"):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", gen_name_suffix(8))
        for w in getattr(self, "_warnings", None) or []:
            self.send_header("Warning", '299 - %s' % json.dumps(w))
        self.end_headers()
        self.wfile.write(data)

    def warn(self, text):
        self._warnings = (getattr(self, "_warnings", None) or []) + [text]

    def accepts_table(self):
        return "as=Table" in (self.headers.get("Accept") or "")

    def send_object(self, code, res, obj, q):
        """An object, or a one-row Table when the client asked for one."""
        if self.accepts_table() and obj.get("kind") == res.kind:
            inc = (q.get("includeObject") or ["PartialObjectMetadata"])[0]
            return self.send_json(code, tables.table(res, [obj], inc), TABLE_TYPE)
        return self.send_json(code, obj)

    def send_text(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        if getattr(self, "_body", None) is None:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    data += self.rfile.read(size)
                    self.rfile.readline()
                self._body = data
            else:
                n = int(self.headers.get("Content-Length") or 0)
                self._body = self.rfile.read(n) if n else b""
        return self._body

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        api = self.server.api
        self._body = None
        self._warnings = None
        self.body()   # always consume the body: the connection is kept alive
        try:
            u = urlsplit(self.path)
            q = parse_qs(u.query, keep_blank_values=True)
            parts = [p for p in u.path.split("/") if p]
            if parts and parts[0] in ("livez", "readyz", "healthz"):
                return self.health(parts, q)
            user, groups = api.authenticate(self)
            if parts == ["version"]:
                return self.send_json(200, version_info(api))
            if parts and parts[0] in ("api", "apis"):
                return self.resource_request(method, parts, q, user, groups, u.path)
            if parts[:2] == ["openapi", "v3"]:
                self.query_hash = (q.get("hash") or [""])[0]
                return self.openapi_v3(parts[2:])
            if parts == ["openapi", "v2"]:
                return self.openapi_v2()
            if parts == ["metrics"]:
                return self.send_text(200, "")
            api.authorize(user, groups, method.lower(), None, None, None, None, u.path)
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        except StatusError as e:
            self.send_json(e.code, e.status())
        except EtcdError as e:
            err = etcd_failure(e)
            self.send_json(err.code, err.status())
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            err = StatusError(500, "InternalError", "Internal error occurred: %s" % e)
            try:
                self.send_json(500, err.status())
            except OSError:
                pass

    def health(self, parts, q):
        api = self.server.api
        kind = parts[0]
        ok, why = api.etcd_health()
        checks = [("ping", True), ("log", True), ("etcd", ok)]
        if kind == "readyz":
            checks += [("etcd-readiness", ok), ("informer-sync", True), ("poststarthook/start-apiserver-admission-initializer", True),
                       ("poststarthook/bootstrap-controller", True), ("shutdown", True)]
        if len(parts) > 1:
            name = "/".join(parts[1:])
            for n, good in checks:
                if n == name:
                    return self.send_text(200 if good else 500, "ok" if good else "internal server error: %s\n" % why)
            return self.send_text(404, "404 page not found\n")
        failed = [n for n, good in checks if not good]
        if "verbose" in q or failed:
            lines = ["[%s]%s %s" % ("+" if good else "-", n, "ok" if good else "failed: reason withheld")
                     for n, good in checks]
            if failed:
                lines.append("%s check failed" % kind)
                return self.send_text(500, "\n".join(lines) + "\n")
            lines.append("%s check passed" % kind)
            return self.send_text(200, "\n".join(lines) + "\n")
        return self.send_text(200, "ok")

    # --- discovery ---
    def discovery(self, parts):
        reg = self.server.api.store.registry(refresh=True)
        if parts == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "%s:%s" % (self.server.api.advertise,
                                                                         self.server.api.flags.get("secure-port", "6443"))}]}
        if parts == ["apis"]:
            groups = []
            for g, vs in sorted(reg.groups().items()):
                gv = [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in vs]
                groups.append({"name": g, "versions": gv, "preferredVersion": gv[0]})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        if len(parts) == 2 and parts[0] == "apis":
            vs = reg.groups().get(parts[1])
            if not vs:
                return None
            gv = [{"groupVersion": "%s/%s" % (parts[1], v), "version": v} for v in vs]
            return {"kind": "APIGroup", "apiVersion": "v1", "name": parts[1], "versions": gv, "preferredVersion": gv[0]}
        group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
        rs = [r for r in reg.resources if r.group == group and version in r.versions]
        if not rs:
            return None
        lst = []
        for r in rs:
            d = r.to_discovery()
            cats = r.categories or (["all"] if r.kind in ALL_CATEGORY else [])
            if cats:
                d["categories"] = cats
            lst.append(d)
            for s in r.subresources:
                kind, verbs = subresource_kind(r, s)
                lst.append({"name": "%s/%s" % (r.plural, s), "singularName": "", "namespaced": r.namespaced,
                            "group": kind["group"], "version": kind["version"], "kind": kind["kind"],
                            "verbs": verbs})
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": "%s/%s" % (group, version) if group else version, "resources": lst}

    def aggregated_discovery(self, parts):
        """apidiscovery.k8s.io/v2 APIGroupDiscoveryList of /api or /apis (one answer instead of a
        request per group-version)."""
        reg = self.server.api.store.registry(refresh=True)
        core = parts == ["api"]
        groups = {}
        for r in reg.resources:
            if (r.group == "") != core:
                continue
            for v in r.versions:
                groups.setdefault(r.group, {}).setdefault(v, []).append(r)
        items = []
        order = sorted(groups, key=lambda g: (g not in GROUP_ORDER, GROUP_ORDER.index(g) if g in GROUP_ORDER else 0, g))
        for g in order:
            versions = []
            for v in sorted(groups[g], key=version_priority):
                rs = []
                for r in sorted(groups[g][v], key=lambda r: r.plural):
                    d = {"resource": r.plural, "responseKind": {"group": r.group, "version": v, "kind": r.kind},
                         "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular,
                         "verbs": sorted(VERBS)}
                    if r.short:
                        d["shortNames"] = list(r.short)
                    cats = r.categories or (["all"] if r.kind in ALL_CATEGORY else [])
                    if cats:
                        d["categories"] = cats
                    subs = []
                    for sub in r.subresources:
                        kind, verbs = subresource_kind(r, sub)
                        subs.append({"subresource": sub, "responseKind": kind, "verbs": verbs})
                    if subs:
                        d["subresources"] = subs
                    rs.append(d)
                versions.append({"version": v, "resources": rs, "freshness": "Current"})
            items.append({"metadata": {"name": g, "creationTimestamp": None}, "versions": versions})
        return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
                "items": items}

    def openapi_v2(self):
        """A minimal OpenAPI v2 document (swagger 2.0, no definitions) as the protobuf kubectl asks for:
        kubectl reads it only to validate kinds the v3 documents do not describe (a CR whose CRD is
        applied in the same file), and without a definition it leaves those to the server."""
        def field(num, data):
            data = data.encode() if isinstance(data, str) else data
            return bytes([num << 3 | 2, len(data)]) + data
        info = field(1, "Kubernetes") + field(2, "v" + self.server.api.version)
        doc = field(1, "2.0") + field(2, info) + field(8, b"")
        if "protobuf" in (self.headers.get("Accept") or ""):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(doc)))
            self.end_headers()
            return self.wfile.write(doc)
        return self.send_json(200, {"swagger": "2.0", "info": {"title": "Kubernetes",
                                                               "version": "v" + self.server.api.version},
                                    "paths": {}, "definitions": {}})

    def openapi_v3(self, rest):
        api = self.server.api
        reg = api.store.registry(refresh=True)
        gvs = {}
        for r in reg.resources:
            for v in r.versions:
                gvs["apis/%s/%s" % (r.group, v) if r.group else "api/%s" % v] = (r.group, v)
        if not rest:
            paths = {}
            for key, (g, v) in sorted(gvs.items()):
                h = crd_hash(reg, g, v)
                paths[key] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (key, h)}
            return self.send_json(200, {"paths": paths})
        key = "/".join(rest)
        if key not in gvs:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        g, v = gvs[key]
        h = crd_hash(reg, g, v)
        data = OPENAPI_CACHE.get((key, h))
        if data is None:
            data = json.dumps(openapi.gv_document(reg.resources, g, v, api.version)).encode()
            OPENAPI_CACHE[(key, h)] = data
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.query_hash == h:
            # the hashed URL never changes its content: clients keep it (kubectl's disk cache)
            self.send_header("Cache-Control", "public, immutable")
            self.send_header("Expires", (now() + __import__("datetime").timedelta(days=365)).strftime(
                "%a, %d %b %Y %H:%M:%S GMT"))
            self.send_header("Etag", '"%s"' % h)
        self.end_headers()
        self.wfile.write(data)

    def resource_request(self, method, parts, q, user, groups, path):
        api = self.server.api
        store = api.store
        if (parts[0] == "api" and len(parts) <= 2) or (parts[0] == "apis" and len(parts) <= 3):
            if len(parts) == 1 and "as=APIGroupDiscoveryList" in (self.headers.get("Accept") or "") and \
                    "v=v2;" in (self.headers.get("Accept") or "") + ";":
                return self.send_json(200, self.aggregated_discovery(parts), DISCOVERY_TYPE)
            d = self.discovery(parts)
            if d is None:
                raise StatusError(404, "NotFound", "the server could not find the requested resource")
            return self.send_json(200, d)
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        else:
            group, version, rest = parts[1], parts[2], parts[3:]
        ns = name = sub = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            ns, plural, tail = rest[1], rest[2], rest[3:]
        else:
            plural, tail = rest[0], rest[1:]
        if tail:
            name = tail[0]
            sub = "/".join(tail[1:]) or None
        reg = store.registry()
        res = reg.by_path(group, version, plural)
        if res is None:
            res = store.registry(refresh=True).by_path(group, version, plural)
        if res is None:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        if not res.namespaced and ns:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        watching = (q.get("watch") or ["false"])[0] in ("true", "1")
        verb = {"GET": "get" if name else ("watch" if watching else "list"), "POST": "create", "PUT": "update",
                "PATCH": "patch", "DELETE": "delete"}[method]
        api.authorize(user, groups, verb, res, ns, name, sub, path)
        if sub and sub not in res.subresources:
            raise StatusError(404, "NotFound", "the server could not find the requested resource")
        manager = (q.get("fieldManager") or [None])[0]
        dry = "All" in (q.get("dryRun") or [])
        self._q = q
        if method == "GET" and not name:
            match = self.matcher(q)
            if watching:
                return self.watch(res, ns, q, match)
            items, rev = store.list(res, ns)
            items = [i for i in items if match(i)]
            items.sort(key=lambda i: (i["metadata"].get("namespace", ""), i["metadata"]["name"]))
            if self.accepts_table():
                inc = (q.get("includeObject") or ["PartialObjectMetadata"])[0]
                return self.send_json(200, tables.table(res, items, inc, str(rev)), TABLE_TYPE)
            return self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                                        "metadata": {"resourceVersion": str(rev)}, "items": items})
        if name and sub in ("exec", "attach") and method in ("GET", "POST"):
            return self.exec_stream(ns, name, q)
        if method == "GET":
            if sub == "log":
                return self.send_text(200, "(the Cairn lab runs no containers; no logs)\n")
            obj = store.get(res, ns, name)
            if obj is None:
                raise not_found(res, name)
            if sub == "scale":
                return self.send_json(200, scale_of(res, obj))
            return self.send_object(200, res, obj, q)
        if method == "POST":
            if name and sub == "eviction":
                return self.send_json(201, self.evict(res, ns, name))
            if name and sub == "binding":
                body = json.loads(self.body() or b"{}")
                return self.send_json(201, self.bind(res, ns, name, body))
            body = self.parse_body()
            return self.send_json(201, self.create(res, ns, body, manager, user, dry))
        if method == "PUT":
            body = self.parse_body()
            return self.send_json(200, self.update(res, ns, name, sub, body, manager, dry))
        if method == "PATCH":
            return self.send_json(200, self.patch(res, ns, name, sub, q, manager, dry))
        if method == "DELETE":
            if not name:
                raise StatusError(405, "MethodNotAllowed", "deletecollection is not supported by the lab API server")
            obj = store.get(res, ns, name)
            if obj is None:
                raise not_found(res, name)
            opts = self.parse_body() if self.body() else {}
            policy = opts.get("propagationPolicy") or (q.get("propagationPolicy") or [None])[0]
            pre = (opts.get("preconditions") or {})
            if pre.get("uid") and pre["uid"] != obj["metadata"].get("uid"):
                raise StatusError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": Precondition failed: '
                                  'UID in precondition: %s, UID in object meta: %s' % (
                                      res.group_resource, name, pre["uid"], obj["metadata"].get("uid")))
            if policy not in (None, "Background", "Foreground", "Orphan"):
                raise invalid("DeleteOptions", "meta.k8s.io", "", ['propagationPolicy: Unsupported value: "%s": '
                                                                   'supported values: "Foreground", "Background", '
                                                                   '"Orphan", "nil"' % policy])
            fins = list(obj["metadata"].get("finalizers") or [])
            if policy == "Foreground" and "foregroundDeletion" not in fins:
                fins.append("foregroundDeletion")
            elif policy == "Orphan" and "orphan" not in fins:
                fins.append("orphan")
            if fins and res.kind != "Namespace":
                # finalizers: the object stays, marked, until every finalizer is gone (Store.update
                # deletes it then)
                if obj["metadata"].get("deletionTimestamp") and fins == obj["metadata"].get("finalizers"):
                    return self.send_object(200, res, obj, q)
                obj["metadata"].setdefault("deletionTimestamp", rfc3339())
                obj["metadata"].setdefault("deletionGracePeriodSeconds", 0)
                obj["metadata"]["finalizers"] = fins
                if dry:
                    return self.send_object(200, res, obj, q)
                out = store.update(res, ns, name, obj, obj["metadata"]["resourceVersion"])
                return self.send_object(200, res, out, q)
            if dry:
                return self.send_json(200, obj)
            if res.kind == "Namespace":
                if name in ("default", "kube-system", "kube-public", "kube-node-lease"):
                    raise StatusError(403, "Forbidden", 'namespaces "%s" is forbidden: this namespace may not be '
                                      'deleted' % name)
                store.delete_namespace_contents(name)
            if res.kind == "CustomResourceDefinition":
                r = store.registry().by_kind("%s/%s" % (obj["spec"]["group"], res.version), "")
                cr = next((x for x in store.registry().resources if x.crd and
                           x.crd["metadata"]["name"] == name), None)
                if cr is not None:
                    api.etcd.delete(cr.etcd_prefix(), prefix=True)
            store.delete(res, ns, name)
            store.registry(refresh=True)
            if res.kind in ("Pod", "Namespace"):
                return self.send_json(200, obj)
            return self.send_json(200, status_ok({"name": name, "group": res.group, "kind": res.plural,
                                                  "uid": obj["metadata"].get("uid")}))

    def matcher(self, q):
        ls = (q.get("labelSelector") or [""])[0]
        fs = (q.get("fieldSelector") or [""])[0]
        try:
            reqs = sel.parse(ls)
            sel.parse(fs)
        except sel.SelectorError as e:
            raise bad_request(str(e))
        return lambda i: sel.matches(reqs, i["metadata"].get("labels")) and (not fs or sel.field_matches(fs, i))

    # --- watch ---
    def chunk(self, obj):
        data = json.dumps(obj).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, res, ns, q, match):
        """A watch from etcd's watch of the resource's keys: ADDED/MODIFIED/DELETED events as client-go
        decodes them (objects that stop or start matching the selectors are DELETED/ADDED), BOOKMARKs
        when asked, initial events for resourceVersion unset/0 or sendInitialEvents=true."""
        import queue
        api = self.server.api
        store = api.store
        rv = (q.get("resourceVersion") or [""])[0]
        initial = (q.get("sendInitialEvents") or [""])[0] == "true"
        bookmarks = (q.get("allowWatchBookmarks") or [""])[0] == "true"
        timeout = float((q.get("timeoutSeconds") or ["0"])[0] or 0) or random.uniform(1800, 3600)
        as_table = self.accepts_table()
        inc = (q.get("includeObject") or ["PartialObjectMetadata"])[0]
        prefix = res.etcd_prefix() + (ns + "/" if res.namespaced and ns else "")
        events = []
        if rv in ("", "0") or initial:
            items, rev = store.list(res, ns)
            events = [("ADDED", i) for i in sorted(items, key=lambda i: (i["metadata"].get("namespace", ""),
                                                                         i["metadata"]["name"])) if match(i)]
            start = rev + 1
        else:
            try:
                start = int(rv) + 1
            except ValueError:
                raise bad_request('invalid resource version: "%s"' % rv)
        try:
            stream = api.etcd.watch(prefix, start)
        except EtcdError as e:
            raise etcd_failure(e)
        self.send_response(200)
        self.send_header("Content-Type", TABLE_TYPE if as_table else "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Audit-Id", gen_name_suffix(8))
        self.end_headers()
        self.close_connection = True
        last_rv = start - 1

        def emit(kind, obj):
            if as_table and kind != "BOOKMARK" and kind != "ERROR":
                obj = tables.table(res, [obj], inc)
                obj["metadata"] = {"resourceVersion": obj["rows"][0]["object"]["metadata"].get("resourceVersion")
                                   if inc != "None" else ""}
            self.chunk({"type": kind, "object": obj})

        def bookmark(extra=None):
            md = {"resourceVersion": str(last_rv)}
            if extra:
                md["annotations"] = extra
            self.chunk({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version,
                                                       "metadata": md}})
        try:
            for kind, obj in events:
                emit(kind, obj)
            if initial and bookmarks:
                bookmark({"k8s.io/initial-events-end": "true"})
            end = time.monotonic() + timeout
            next_bookmark = time.monotonic() + 10
            while time.monotonic() < end:
                try:
                    result = stream.next(timeout=1.0)
                except queue.Empty:
                    if client_gone(self.connection):
                        break
                    if bookmarks and time.monotonic() >= next_bookmark:
                        bookmark()
                        next_bookmark = time.monotonic() + 10
                    continue
                except EtcdError as e:
                    if getattr(e, "compacted", 0):
                        self.chunk({"type": "ERROR", "object": {
                            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": "too old resource version: %s (%d)" % (rv, e.compacted), "reason": "Expired",
                            "code": 410}})
                    break
                for ev in result.get("events") or []:
                    kv = ev.get("kv") or {}
                    key = base64.b64decode(kv.get("key", "")).decode()
                    rest = key[len(res.etcd_prefix()):]
                    if (res.namespaced and rest.count("/") != 1) or (not res.namespaced and "/" in rest):
                        continue
                    mod = int(kv.get("mod_revision", 0))
                    last_rv = mod
                    prev = ev.get("prev_kv")
                    old = store._decode(base64.b64decode(prev["value"]), prev.get("mod_revision", 0)) \
                        if prev and prev.get("value") else None
                    if ev.get("type") == "DELETE":
                        if old is not None and match(old):
                            old["metadata"]["resourceVersion"] = str(mod)
                            emit("DELETED", old)
                        continue
                    new = store._decode(base64.b64decode(kv.get("value", "")), mod)
                    was, now_ = old is not None and match(old), match(new)
                    if now_:
                        emit("MODIFIED" if was else "ADDED", new)
                    elif was:
                        emit("DELETED", new)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            stream.close()

    # --- exec ---
    def exec_stream(self, ns, name, q):
        api = self.server.api
        protocol = wsexec.choose_protocol(self.headers) if wsexec.is_upgrade(self.headers) else None
        pod, container = api.exec_target(ns, name, q)
        argv = q.get("command") or []
        if protocol is None:
            if "SPDY" in (self.headers.get("Upgrade") or ""):
                raise bad_request("the lab's API server speaks websockets (v5.channel.k8s.io) only, not SPDY")
            out, err, rc = api.exec_pod(ns, name, q)
            if isinstance(out, bytes):
                out = out.decode(errors="replace")
            return self.send_json(200, {"stdout": out, "stderr": err, "exitCode": rc})

        def run(stdin):
            out, err, rc = api.exec_pod(ns, name, q, stdin=stdin, pod=pod, container=container)
            # the volumes' programs answer bytes (cat of a binary file), the other simulations text
            return out if isinstance(out, bytes) else out.encode(), err.encode(), rc, argv
        want_stdin = (q.get("stdin") or [""])[0] in ("true", "1")
        wsexec.serve(self, protocol, run, want_stdin)

    def parse_body(self):
        raw = self.body()
        self._dups = []
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype == "application/vnd.kubernetes.protobuf":
            import k8sproto
            try:
                return k8sproto.decode(raw)
            except (k8sproto.ProtoError, KeyError, UnicodeDecodeError, IndexError):
                raise StatusError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                  "accepted media types include: application/json, application/yaml")
        try:
            if not raw:
                return {}
            obj = json.loads(raw, object_pairs_hook=_DupDict)
            self._dups = duplicate_json_fields(obj)
            return obj
        except ValueError:
            try:
                return yaml.safe_load(raw) or {}
            except yaml.YAMLError as e:
                raise bad_request("the body of the request was in an unknown format: %s" % e)

    def check_kind(self, res, body):
        if body.get("kind") and body.get("kind") != res.kind:
            raise bad_request('the API version in the data (%s) does not match the expected API version (%s)' % (
                body.get("apiVersion"), res.api_version))

    def create(self, res, ns, body, manager, user, dry=False):
        api = self.server.api
        store = api.store
        self.check_kind(res, body)
        md = body.setdefault("metadata", {})
        if not md.get("name"):
            if md.get("generateName"):
                md["name"] = md["generateName"] + gen_name_suffix()
            else:
                raise invalid(res.kind, res.group, "", ["metadata.name: Required value: name or generateName is required"])
        if res.namespaced:
            if md.get("namespace") and md["namespace"] != ns:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the "
                                  "request")
            nsr = store.registry().by_path("", "v1", "namespaces")
            nso = store.get(nsr, None, ns)
            if nso is None:
                raise StatusError(404, "NotFound", 'namespaces "%s" not found' % ns,
                                  {"name": ns, "kind": "namespaces"})
        md.pop("resourceVersion", None)
        md.pop("uid", None)
        md.pop("managedFields", None)
        if res.kind == "CertificateSigningRequest":
            body = self.sign_csr(body, user)
        api.check_schema(res, body, self.directive(), self)
        api.defaults(res, body)
        api.validate(res, body)
        api.check_webhooks(res, body, "CREATE")
        objects.record_update(None, body, manager or self.default_manager(), res.api_version)
        if dry:
            return body
        obj = store.create(res, ns, body)
        if res.kind == "CustomResourceDefinition":
            store.registry(refresh=True)
        return obj

    def directive(self):
        """fieldValidation of the request (kubectl sends Strict; the server's default is Warn)."""
        v = (getattr(self, "_q", {}).get("fieldValidation") or [""])[0]
        if v not in ("", "Ignore", "Warn", "Strict"):
            raise bad_request('fieldValidation: Unsupported value: "%s": supported values: "Ignore", "Strict", '
                              '"Warn"' % v)
        return v or "Warn"

    def default_manager(self):
        ua = self.headers.get("User-Agent", "unknown")
        return ua.split("/")[0]

    def update(self, res, ns, name, sub, body, manager, dry=False):
        api = self.server.api
        store = api.store
        old = store.get(res, ns, name)
        if old is None:
            raise not_found(res, name)
        if sub == "scale":
            obj = copy.deepcopy(old)
            obj["spec"]["replicas"] = int((body.get("spec") or {}).get("replicas", 0))
            obj["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            objects.record_update(old, obj, manager or self.default_manager(), res.api_version)
            if dry:
                return scale_of(res, obj)
            return scale_of(res, store.update(res, ns, name, obj, old["metadata"]["resourceVersion"]))
        rv = (body.get("metadata") or {}).get("resourceVersion")
        new = copy.deepcopy(body)
        md = new.setdefault("metadata", {})
        for k in ("uid", "creationTimestamp", "generation"):
            if k in old["metadata"]:
                md[k] = old["metadata"][k]
            else:
                md.pop(k, None)
        md["name"] = name
        if sub == "status":
            new = copy.deepcopy(old)
            new["status"] = body.get("status", {})
        elif "status" in res.subresources:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
            if objects.spec_changed(old, new):
                md["generation"] = old["metadata"].get("generation", 1) + 1
            api.check_schema(res, new, self.directive(), self)
            api.defaults(res, new, old)
            api.validate(res, new, old)
            api.check_webhooks(res, new, "UPDATE")
        else:
            api.check_schema(res, new, self.directive(), self)
            api.defaults(res, new, old)
            api.validate(res, new, old)
        if "managedFields" not in md and "managedFields" in old["metadata"]:
            md["managedFields"] = old["metadata"]["managedFields"]
        objects.record_update(old, new, manager or self.default_manager(), res.api_version)
        if dry:
            return new
        return store.update(res, ns, name, new, rv or old["metadata"]["resourceVersion"])

    def patch(self, res, ns, name, sub, q, manager, dry=False):
        api = self.server.api
        store = api.store
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        raw = self.body()
        for attempt in range(5):
            old = store.get(res, ns, name)
            if ctype == "application/apply-patch+yaml":
                return self.apply(res, ns, name, sub, raw, q, manager, old, dry)
            if old is None:
                raise not_found(res, name)
            try:
                patch = json.loads(raw or b"{}")
            except ValueError:
                raise bad_request("error decoding patch: invalid JSON")
            base = scale_of(res, old) if sub == "scale" else old
            try:
                if ctype == "application/json-patch+json":
                    new = objects.json_patch(base, patch)
                elif ctype == "application/strategic-merge-patch+json":
                    if res.crd is not None:
                        raise StatusError(415, "UnsupportedMediaType", "the body of the request was in an unknown "
                                          "format - accepted media types include: application/json-patch+json, "
                                          "application/merge-patch+json, application/apply-patch+yaml")
                    new = objects.strategic_merge_patch(base, patch)
                else:
                    new = objects.merge_patch(base, patch)
            except objects.PatchError as e:
                raise StatusError(422, "Invalid", str(e))
            if sub == "scale":
                obj = copy.deepcopy(old)
                obj["spec"]["replicas"] = int(new.get("spec", {}).get("replicas", 0))
                if obj["spec"]["replicas"] != old["spec"].get("replicas"):
                    obj["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
                objects.record_update(old, obj, manager or self.default_manager(), res.api_version)
                try:
                    out = obj if dry else store.update(res, ns, name, obj, old["metadata"]["resourceVersion"])
                    return scale_of(res, out)
                except StatusError as e:
                    if e.reason == "Conflict" and attempt < 4:
                        continue
                    raise
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            if sub == "status":
                obj = copy.deepcopy(old)
                obj["status"] = new.get("status", {})
                new = obj
            else:
                if "status" in res.subresources:
                    if "status" in old:
                        new["status"] = old["status"]
                if objects.spec_changed(old, new):
                    new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
                api.check_schema(res, new, self.directive(), self)
                api.defaults(res, new, old)
                api.validate(res, new, old)
            objects.record_update(old, new, manager or self.default_manager(), res.api_version)
            try:
                return new if dry else store.update(res, ns, name, new, old["metadata"]["resourceVersion"])
            except StatusError as e:
                if e.reason == "Conflict" and attempt < 4:
                    continue
                raise

    def apply(self, res, ns, name, sub, raw, q, manager, old, dry=False):
        api = self.server.api
        store = api.store
        if not manager:
            raise StatusError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                              'is required for apply patch')
        try:
            applied = yaml.safe_load(raw) or {}
        except yaml.YAMLError as e:
            raise bad_request("error decoding YAML: %s" % e)
        if applied.get("kind") and applied["kind"] != res.kind:
            raise bad_request("the kind in the applied object (%s) does not match %s" % (applied["kind"], res.kind))
        if (applied.get("metadata") or {}).get("name") not in (None, name):
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (
                applied["metadata"]["name"], name))
        force = (q.get("force") or ["false"])[0] == "true"
        if not isinstance(applied, dict):
            raise bad_request("error decoding YAML: the applied object is not a map")
        if (applied.get("metadata") or {}).get("managedFields") is not None:
            raise bad_request("metadata.managedFields must be nil")
        if applied.get("apiVersion") and applied["apiVersion"] != res.api_version:
            raise bad_request("Incorrect version specified in apply patch. Specified patch version: %s, expected: %s" % (
                applied["apiVersion"], res.api_version))
        typed = openapi.typed_patch_errors(res, applied)
        if typed:
            what = "%s/%s; %s, Kind=%s" % (ns or "", name, res.api_version if res.group else "/" + res.version,
                                          res.kind)
            text = typed[0] if len(typed) == 1 else "errors:\n  " + "\n  ".join(typed)
            raise StatusError(500, "", "failed to create typed patch object (%s): %s" % (what, text))
        if self.directive() in ("Strict", "Warn"):
            dups = duplicate_yaml_keys(raw)
            if dups and self.directive() == "Strict":
                raise bad_request("error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n"
                                  + "\n".join("  line %d: key %s already set in map" % (ln, json.dumps(k))
                                               for ln, k in dups))
            for ln, k in dups:
                self.warn("line %d: key %s already set in map" % (ln, json.dumps(k)))
        if sub == "status":
            if old is None:
                raise not_found(res, name)
            new = copy.deepcopy(old)
            new["status"] = objects.merge_patch(old.get("status") or {}, applied.get("status") or {})
            return new if dry else store.update(res, ns, name, new, old["metadata"]["resourceVersion"])
        if old is None:
            applied.setdefault("metadata", {})["name"] = name
            body = copy.deepcopy(applied)
            objects.server_side_apply(None, applied, manager, force, res.api_version)
            mf = objects.server_side_apply(None, applied, manager, force, res.api_version)["metadata"]["managedFields"]
            body["metadata"]["managedFields"] = mf
            obj = self.create_applied(res, ns, body, dry)
            return obj
        try:
            new = objects.server_side_apply(old, applied, manager, force, res.api_version)
        except objects.ApplyConflict as e:
            raise StatusError(409, "Conflict", e.message(), {"name": name, "group": res.group, "kind": res.plural,
                                                             "causes": [{"reason": "FieldManagerConflict",
                                                                         "message": "conflict with %s" % e.who(c),
                                                                         "field": c[1]} for c in e.conflicts]})
        if "status" in res.subresources and "status" in old:
            new["status"] = old["status"]
        if objects.spec_changed(old, new):
            new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        api.check_schema(res, new, self.directive(), self, applied=True)
        api.defaults(res, new, old)
        api.validate(res, new, old)
        api.check_webhooks(res, new, "UPDATE")
        if dry:
            return new
        return store.update(res, ns, name, new, old["metadata"]["resourceVersion"])

    def create_applied(self, res, ns, body, dry):
        api = self.server.api
        store = api.store
        md = body["metadata"]
        if res.namespaced:
            if store.get(store.registry().by_path("", "v1", "namespaces"), None, ns) is None:
                raise StatusError(404, "NotFound", 'namespaces "%s" not found' % ns, {"name": ns, "kind": "namespaces"})
        mf = md.get("managedFields")
        api.check_schema(res, body, self.directive(), self, applied=True)
        api.defaults(res, body)
        api.validate(res, body)
        api.check_webhooks(res, body, "CREATE")
        md["managedFields"] = mf
        if dry:
            return body
        obj = store.create(res, ns, body)
        if res.kind == "CustomResourceDefinition":
            store.registry(refresh=True)
        return obj

    def sign_csr(self, body, user):
        """The csrsigner + csrapproving controllers, collapsed: node client CSRs from bootstrap tokens
        or nodes are approved and signed at once with the cluster CA."""
        import base64
        import pki
        api = self.server.api
        spec = body.get("spec") or {}
        req = base64.b64decode(spec.get("request", ""))
        cn, orgs = pki.csr_subject(req)
        signer = spec.get("signerName")
        if signer != "kubernetes.io/kube-apiserver-client-kubelet" or not (cn or "").startswith("system:node:") or \
                orgs != ["system:nodes"]:
            body["status"] = {}
            return body
        if not os.path.exists(api.ca_key):
            body["status"] = {}
            return body
        crt = pki.sign(api.ca_crt, api.ca_key, None, None, cn, orgs, client=True, csr=req)
        body["status"] = {"certificate": base64.b64encode(crt).decode(), "conditions": [
            {"type": "Approved", "status": "True", "reason": "AutoApproved",
             "message": "Auto approving kubelet client certificate after SubjectAccessReview.",
             "lastUpdateTime": rfc3339(), "lastTransitionTime": rfc3339()}]}
        spec["username"] = user
        return body

    def bind(self, res, ns, name, body):
        store = self.server.api.store
        pod = store.get(res, ns, name)
        if pod is None:
            raise not_found(res, name)
        if pod["spec"].get("nodeName"):
            raise StatusError(409, "Conflict", 'Operation cannot be fulfilled on pods/binding "%s": pod %s is already '
                              'assigned to node "%s"' % (name, name, pod["spec"]["nodeName"]))
        pod["spec"]["nodeName"] = (body.get("target") or {}).get("name")
        conds = [c for c in pod.get("status", {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": rfc3339()})
        pod.setdefault("status", {})["conditions"] = conds
        store.update(res, ns, name, pod, pod["metadata"]["resourceVersion"])
        return status_ok()

    def evict(self, res, ns, name):
        store = self.server.api.store
        reg = store.registry()
        pod = store.get(res, ns, name)
        if pod is None:
            raise not_found(res, name)
        pdbs, _ = store.list(reg.by_path("policy", "v1", "poddisruptionbudgets"), ns)
        pods, _ = store.list(res, ns)
        for pdb in pdbs:
            if not sel.match_label_selector(pdb["spec"].get("selector") or {}, pod["metadata"].get("labels")):
                continue
            # As the disruption controller counts: a pod being deleted (an earlier eviction's,
            # still terminating) is neither expected nor healthy, so two evictions in a row cannot
            # both spend the one disruption a budget allows.
            matching = [p for p in pods if not p["metadata"].get("deletionTimestamp") and
                        sel.match_label_selector(pdb["spec"].get("selector") or {}, p["metadata"].get("labels"))]
            healthy = len([p for p in matching if pod_ready(p)])
            allowed = disruptions_allowed(pdb, len(matching), healthy)
            if allowed <= 0 and pod_ready(pod):
                raise StatusError(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption "
                                  "budget.", {"causes": [{"reason": "DisruptionBudget",
                                                          "message": "The disruption budget %s needs %d healthy pods "
                                                          "and has %d currently" % (pdb["metadata"]["name"],
                                                                                    healthy - allowed, healthy)}]})
        store.delete(res, ns, name)
        return status_ok()


def pct(v, total, round_up):
    if isinstance(v, str) and v.endswith("%"):
        import math
        x = int(v[:-1]) * total / 100.0
        return int(math.ceil(x)) if round_up else int(math.floor(x))
    return int(v)


def disruptions_allowed(pdb, expected, healthy):
    spec = pdb.get("spec") or {}
    if spec.get("minAvailable") is not None:
        desired = pct(spec["minAvailable"], expected, True)
    elif spec.get("maxUnavailable") is not None:
        desired = expected - pct(spec["maxUnavailable"], expected, True)
    else:
        desired = expected
    return max(0, healthy - desired)


def scale_of(res, obj):
    spec = obj.get("spec") or {}
    st = obj.get("status") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": obj["metadata"]["name"], "namespace": obj["metadata"].get("namespace"),
                         "resourceVersion": obj["metadata"].get("resourceVersion"), "uid": obj["metadata"].get("uid")},
            "spec": {"replicas": spec.get("replicas", 0)},
            "status": {"replicas": st.get("replicas", 0),
                       "selector": sel.selector_string(spec.get("selector"))}}


def version_info(api):
    v = api.version
    maj, mino, _ = parse_version(v)
    return {"major": str(maj), "minor": str(mino), "emulationMajor": str(maj), "emulationMinor": str(mino),
            "gitVersion": "v" + v, "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean", "buildDate": "2025-04-22T16:01:00Z", "goVersion": "go1.23.8",
            "compiler": "gc", "platform": "linux/amd64"}


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, ctx, api):
        self.ctx = ctx
        self.api = api
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(30)
        try:
            return self.ctx.wrap_socket(sock, server_side=True), addr
        except (ssl.SSLError, OSError):
            sock.close()
            raise OSError("TLS handshake failed")

    def handle_error(self, request, client_address):
        pass


def server_context(cert, key, client_ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def main(args):
    flags = parse_flags(args)
    api = API(flags)
    if flags.get("image-version"):
        api.version = flags["image-version"]
    port = int(flags.get("secure-port", 6443))
    bind = flags.get("bind-address") or "0.0.0.0"
    ctx = server_context(flags["tls-cert-file"], flags["tls-private-key-file"], flags.get("client-ca-file"))
    try:
        srv = TLSServer((bind, port), Handler, ctx, api)
    except OSError as e:
        raise Fatal('Error: failed to create listener: failed to listen on %s:%d: listen tcp %s:%d: bind: %s' % (
            bind, port, bind, port, e.strerror.lower() if e.strerror else e))
    log("apiserver", "Serving securely on %s:%d", bind, port)

    def boot():
        while True:
            try:
                api.bootstrap()
                log("apiserver", "bootstrap objects in place")
                return
            except (StatusError, EtcdError) as e:
                log("apiserver", "waiting for etcd: %s", e)
                time.sleep(2)
    threading.Thread(target=boot, daemon=True).start()
    threading.Thread(target=establish_crds, args=(api,), daemon=True).start()
    srv.serve_forever()


CRD_ESTABLISH_SECONDS = float(os.environ.get("CAIRN_LAB_CRD_ESTABLISH_SECONDS", "1.5"))


def establish_crds(api):
    """apiextensions' establishing controller: a CRD whose names are accepted becomes Established a
    moment after it is first seen (its kinds are served from then on; before, a client applying the
    CRD and its objects in one go gets `no matches for kind`, as on a real cluster)."""
    seen = {}
    while True:
        time.sleep(0.3)
        try:
            res = api.store.registry().by_path("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            items, _ = api.store.list(res)
        except (StatusError, EtcdError):
            continue
        now_ = time.monotonic()
        for crd in items:
            uid = crd["metadata"].get("uid")
            conds = (crd.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conds):
                seen.pop(uid, None)
                continue
            first = seen.setdefault(uid, now_)
            if now_ - first < CRD_ESTABLISH_SECONDS:
                continue
            conds = [c for c in conds if c.get("type") != "Established"] + [
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": rfc3339()}]
            crd.setdefault("status", {})["conditions"] = conds
            try:
                api.store.update(res, None, crd["metadata"]["name"], crd, crd["metadata"]["resourceVersion"])
                api.store.registry(refresh=True)
            except (StatusError, EtcdError):
                pass
