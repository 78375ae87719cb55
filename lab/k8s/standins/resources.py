"""The built-in resource types the API server stand-in serves, and lookup helpers."""

# (group, version, plural, Kind, namespaced, shortNames, subresources)
BUILTIN = [
    ("", "v1", "namespaces", "Namespace", False, ["ns"], ["status"]),
    ("", "v1", "nodes", "Node", False, ["no"], ["status", "proxy"]),
    ("", "v1", "pods", "Pod", True, ["po"], ["status", "exec", "log", "eviction", "binding"]),
    ("", "v1", "services", "Service", True, ["svc"], ["status"]),
    ("", "v1", "endpoints", "Endpoints", True, ["ep"], []),
    ("", "v1", "configmaps", "ConfigMap", True, ["cm"], []),
    ("", "v1", "secrets", "Secret", True, [], []),
    ("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"], []),
    ("", "v1", "events", "Event", True, ["ev"], []),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], ["status"]),
    ("", "v1", "persistentvolumes", "PersistentVolume", False, ["pv"], ["status"]),
    ("", "v1", "limitranges", "LimitRange", True, ["limits"], []),
    ("", "v1", "resourcequotas", "ResourceQuota", True, ["quota"], ["status"]),
    ("apps", "v1", "deployments", "Deployment", True, ["deploy"], ["status", "scale"]),
    ("apps", "v1", "replicasets", "ReplicaSet", True, ["rs"], ["status", "scale"]),
    ("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], ["status"]),
    ("apps", "v1", "statefulsets", "StatefulSet", True, ["sts"], ["status", "scale"]),
    ("apps", "v1", "controllerrevisions", "ControllerRevision", True, [], []),
    ("batch", "v1", "jobs", "Job", True, [], ["status"]),
    ("batch", "v1", "cronjobs", "CronJob", True, ["cj"], ["status"]),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], ["status"]),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False, ["crd", "crds"],
     ["status"]),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True, [], []),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, [], []),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, [], []),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, [], []),
    ("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration",
     False, [], []),
    ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration",
     False, [], []),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ["sc"], []),
    ("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False, [], []),
    ("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest", False, ["csr"],
     ["status", "approval"]),
    ("coordination.k8s.io", "v1", "leases", "Lease", True, [], []),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True, ["ing"], ["status"]),
    ("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False, [], []),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ["netpol"], []),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, ["pc"], []),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, [], []),
    ("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False, [], []),
]

SINGULAR_OVERRIDES = {"endpoints": "endpoints", "ingresses": "ingress", "ingressclasses": "ingressclass",
                      "storageclasses": "storageclass", "priorityclasses": "priorityclass",
                      "runtimeclasses": "runtimeclass", "poddisruptionbudgets": "poddisruptionbudget",
                      "networkpolicies": "networkpolicy"}


class Resource:
    __slots__ = ("group", "version", "plural", "kind", "namespaced", "short", "subresources", "singular",
                 "crd", "versions", "categories", "_columns")

    def __init__(self, group, version, plural, kind, namespaced, short=(), subresources=(), singular=None,
                 crd=None, versions=None, categories=()):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short = list(short)
        self.subresources = list(subresources)
        self.singular = singular or SINGULAR_OVERRIDES.get(plural) or kind.lower()
        self.crd = crd
        self.versions = versions or [version]
        self.categories = list(categories)
        self._columns = None

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def group_resource(self):
        """'deployments.apps', 'pods' - as in API error messages."""
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural

    def base_path(self, ns=None, version=None):
        v = version or self.version
        root = "/apis/%s/%s" % (self.group, v) if self.group else "/api/%s" % v
        if self.namespaced and ns:
            return "%s/namespaces/%s/%s" % (root, ns, self.plural)
        return "%s/%s" % (root, self.plural)

    def etcd_prefix(self):
        if self.group == "" and self.plural == "nodes":
            return "/registry/minions/"
        if self.group in ("", "apps", "batch", "policy"):
            return "/registry/%s/" % self.plural
        return "/registry/%s/%s/" % (self.group, self.plural)

    def key(self, ns, name):
        if self.namespaced:
            return "%s%s/%s" % (self.etcd_prefix(), ns, name)
        return self.etcd_prefix() + name

    def to_discovery(self):
        d = {"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced, "kind": self.kind,
             "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}
        if self.short:
            d["shortNames"] = list(self.short)
        if self.categories:
            d["categories"] = list(self.categories)
        return d


BUILTINS = [Resource(g, v, p, k, n, s, sub) for (g, v, p, k, n, s, sub) in BUILTIN]


def crd_resource(crd):
    """A Resource for a stored CustomResourceDefinition (served version = storage or first served)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    if not versions:
        return None
    storage = next((v for v in versions if v.get("storage")), versions[0])
    subs = []
    if (storage.get("subresources") or {}).get("status") is not None:
        subs.append("status")
    if (storage.get("subresources") or {}).get("scale") is not None:
        subs.append("scale")
    return Resource(spec.get("group", ""), storage["name"], names.get("plural", ""), names.get("kind", ""),
                    spec.get("scope", "Namespaced") == "Namespaced", names.get("shortNames") or [], subs,
                    singular=names.get("singular") or names.get("kind", "").lower(), crd=crd,
                    versions=[v["name"] for v in versions], categories=names.get("categories") or [])


class Registry:
    """Built-ins plus CRDs; lookups by (group, version, plural) and by kind."""

    def __init__(self, crds=()):
        self.resources = list(BUILTINS)
        for crd in crds:
            if not _crd_established(crd):
                continue
            r = crd_resource(crd)
            if r and r.plural:
                self.resources.append(r)

    def by_path(self, group, version, plural):
        for r in self.resources:
            if r.group == group and r.plural == plural and version in r.versions:
                return r
        return None

    def by_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        for r in self.resources:
            if r.group == group and r.kind == kind and version in r.versions:
                return r
        return None

    def groups(self):
        out = {}
        for r in self.resources:
            if r.group:
                out.setdefault(r.group, [])
                for v in r.versions:
                    if v not in out[r.group]:
                        out[r.group].append(v)
        return out

    def resolve(self, name):
        """kubectl-style resolution of 'deploy', 'deployments.apps', 'cephclusters.ceph.rook.io', 'node'."""
        name = name.lower()
        plural, _, group = name.partition(".")
        cands = []
        for r in self.resources:
            if group and r.group != group and not r.group.startswith(group):
                continue
            if plural in (r.plural, r.singular, r.kind.lower()) or plural in r.short:
                cands.append(r)
        if not cands:
            return None
        # prefer the core and apps groups, then built-in groups over CRDs (networkpolicies is
        # networking.k8s.io, not Calico's crd.projectcalico.org), like kubectl's priority
        cands.sort(key=lambda r: (r.group not in ("", "apps"), r.crd is not None, r.group))
        return cands[0]


def _crd_established(crd):
    """Only Established CRDs are served (the API server's establishing loop sets the condition)."""
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])
