"""kube-controller-manager stand-in: leader-elected loop of simplified controllers (node lifecycle,
node IPAM, deployment, replicaset, daemonset, statefulset, garbage collector, bootstrap signer, token
cleaner, disruption) plus the add-on simulations (Calico, MetalLB, Rook/Ceph) in addons.py."""
import base64
import copy
import hashlib
import importlib
import ipaddress
import json
import time

import leader
import sched_core
import labelsel as sel
from apiclient import ApiError, Client, ConnError
from common import Fatal, k8s_version, log, now, parse_time, rfc3339, slow_delay

FLAGS = {"allocate-node-cidrs", "authentication-kubeconfig", "authorization-kubeconfig", "bind-address",
         "client-ca-file", "cluster-cidr", "cluster-name", "cluster-signing-cert-file", "cluster-signing-key-file",
         "controllers", "kubeconfig", "leader-elect", "requestheader-client-ca-file", "root-ca-file",
         "service-account-private-key-file", "service-cluster-ip-range", "use-service-account-credentials", "v",
         "node-cidr-mask-size", "node-monitor-grace-period", "node-monitor-period", "feature-gates",
         "terminated-pod-gc-threshold", "secure-port", "profiling", "cluster-signing-duration",
         "configure-cloud-routes", "concurrent-deployment-syncs", "leader-elect-lease-duration",
         "leader-elect-renew-deadline", "leader-elect-retry-period"}

ALPHA = "bcdfghjklmnpqrstvwxz2456789"
GRACE = 40.0


def short_hash(obj, n=10):
    h = int(hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest(), 16)
    s = ""
    for _ in range(n):
        s += ALPHA[h % len(ALPHA)]
        h //= len(ALPHA)
    return s


def cond(obj, typ):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == typ), None)


def pod_ready(p):
    c = cond(p, "Ready")
    return bool(c and c.get("status") == "True")


def active(p):
    return not p["metadata"].get("deletionTimestamp") and (p.get("status") or {}).get("phase") not in (
        "Succeeded", "Failed")


def owned_by(obj, owner):
    return any(o.get("uid") == owner["metadata"]["uid"] for o in obj["metadata"].get("ownerReferences") or [])


def owner_ref(owner, kind, api_version):
    return {"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def set_condition(conds, typ, status, reason, message):
    t = rfc3339()
    out = []
    found = False
    for c in conds or []:
        if c.get("type") == typ:
            found = True
            if c.get("status") == status and c.get("reason") == reason:
                c = dict(c, message=message, lastUpdateTime=c.get("lastUpdateTime", t))
            else:
                c = {"type": typ, "status": status, "reason": reason, "message": message, "lastUpdateTime": t,
                     "lastTransitionTime": t if c.get("status") != status else c.get("lastTransitionTime", t)}
        out.append(c)
    if not found:
        out.append({"type": typ, "status": status, "reason": reason, "message": message, "lastUpdateTime": t,
                    "lastTransitionTime": t})
    return out


def pct(v, total, up):
    import math
    if isinstance(v, str) and v.endswith("%"):
        x = int(v[:-1]) * total / 100.0
        return int(math.ceil(x)) if up else int(math.floor(x))
    return int(v)


class KCM:
    def __init__(self, client, flags):
        self.c = client
        self.flags = flags
        self.cluster_cidr = flags.get("cluster-cidr")
        self.progress = {}

    # --- helpers ---
    def list(self, path):
        return self.c.get(path)["items"]

    def put_status(self, path, obj):
        try:
            self.c.put(path + "/status", obj)
        except ApiError as e:
            if e.code not in (404, 409):
                raise

    def sync(self):
        self.nodes = self.list("/api/v1/nodes")
        self.pods = self.list("/api/v1/pods")
        for fn in (self.node_lifecycle, self.deployments, self.replicasets, self.daemonsets, self.statefulsets,
                   self.garbage_collect, self.tokens, self.disruption):
            try:
                fn()
            except (ApiError, ConnError) as e:
                log("kcm", "%s: %s", fn.__name__, e)
        # The add-on, Job, Endpoints and volume controllers live in their own modules.
        for name in ("addons", "jobs", "endpoints", "volumes"):
            try:
                importlib.import_module(name).sync(self)
            except (ApiError, ConnError) as e:
                log("kcm", "%s: %s", name, e)

    # --- nodes ---
    def node_lifecycle(self):
        used = set()
        for n in self.nodes:
            if n["spec"].get("podCIDR"):
                used.add(n["spec"]["podCIDR"])
        for n in self.nodes:
            name = n["metadata"]["name"]
            changed = False
            ready = cond(n, "Ready")
            hb = parse_time((ready or {}).get("lastHeartbeatTime"))
            status = (ready or {}).get("status", "Unknown")
            if ready and hb and (now() - hb).total_seconds() > GRACE and status != "Unknown":
                for c in n["status"]["conditions"]:
                    c.update({"status": "Unknown", "reason": "NodeStatusUnknown",
                              "message": "Kubelet stopped posting node status.", "lastTransitionTime": rfc3339()})
                self.put_status("/api/v1/nodes/" + name, n)
                n = self.c.get("/api/v1/nodes/" + name)
                status = "Unknown"
            taints = [t for t in n["spec"].get("taints") or []]
            want = []
            if status == "False":
                want = [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
                        {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]
            elif status == "Unknown":
                want = [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
                        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]
            managed = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
            keep = [t for t in taints if t.get("key") not in managed]
            for t in want:
                old = next((x for x in taints if x["key"] == t["key"] and x["effect"] == t["effect"]), None)
                keep.append(old or dict(t, timeAdded=rfc3339()) if t["effect"] == "NoExecute" else old or t)
            if json.dumps(keep, sort_keys=True) != json.dumps(taints, sort_keys=True):
                n["spec"]["taints"] = keep
                changed = True
            if self.flags.get("allocate-node-cidrs") == "true" and self.cluster_cidr and not n["spec"].get("podCIDR"):
                net = ipaddress.ip_network(self.cluster_cidr.split(",")[0])
                size = int(self.flags.get("node-cidr-mask-size", 24))
                for sub in net.subnets(new_prefix=size) if size > net.prefixlen else [net]:
                    if str(sub) not in used:
                        n["spec"]["podCIDR"] = str(sub)
                        n["spec"]["podCIDRs"] = [str(sub)]
                        used.add(str(sub))
                        changed = True
                        break
            if changed:
                try:
                    self.c.put("/api/v1/nodes/" + name, n)
                except ApiError as e:
                    if e.code != 409:
                        raise

    # --- workloads ---
    def make_pod(self, owner, kind, api_version, template, name=None, generate=None, node=None, extra_labels=None):
        meta = copy.deepcopy((template.get("metadata") or {}))
        meta.pop("name", None)
        meta["labels"] = dict(meta.get("labels") or {}, **(extra_labels or {}))
        if name:
            meta["name"] = name
        else:
            meta["generateName"] = generate
        meta["namespace"] = owner["metadata"]["namespace"]
        meta["ownerReferences"] = [owner_ref(owner, kind, api_version)]
        spec = copy.deepcopy(template.get("spec") or {})
        if node:
            spec["nodeName"] = node
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
        try:
            return self.c.post("/api/v1/namespaces/%s/pods" % owner["metadata"]["namespace"], pod)
        except ApiError as e:
            log("kcm", "creating pod for %s %s: %s", kind, owner["metadata"]["name"], e.message)
            return None

    def delete_pod(self, p):
        try:
            self.c.delete("/api/v1/namespaces/%s/pods/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]))
        except ApiError:
            pass

    def deployments(self):
        deps = self.list("/apis/apps/v1/deployments")
        rss = self.list("/apis/apps/v1/replicasets")
        for d in deps:
            ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
            spec = d["spec"]
            want = spec.get("replicas", 1)
            tmpl = spec["template"]
            h = short_hash(tmpl)
            mine = [r for r in rss if r["metadata"].get("namespace") == ns and owned_by(r, d)]
            new = next((r for r in mine if (r["metadata"].get("labels") or {}).get("pod-template-hash") == h), None)
            if new is None:
                t = copy.deepcopy(tmpl)
                t.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
                selector = copy.deepcopy(spec["selector"])
                selector.setdefault("matchLabels", {})["pod-template-hash"] = h
                rev = 1 + max([int((r["metadata"].get("annotations") or {}).get(
                    "deployment.kubernetes.io/revision", "0")) for r in mine] or [0])
                rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                      "metadata": {"name": "%s-%s" % (name, h), "namespace": ns,
                                   "labels": dict(t["metadata"]["labels"]),
                                   "annotations": {"deployment.kubernetes.io/desired-replicas": str(want),
                                                   "deployment.kubernetes.io/max-replicas": str(want + 1),
                                                   "deployment.kubernetes.io/revision": str(rev)},
                                   "ownerReferences": [owner_ref(d, "Deployment", "apps/v1")]},
                      "spec": {"replicas": want, "selector": selector, "template": t}}
                try:
                    new = self.c.post("/apis/apps/v1/namespaces/%s/replicasets" % ns, rs)
                    rss.append(new)
                    mine.append(new)
                except ApiError as e:
                    log("kcm", "replicaset for %s/%s: %s", ns, name, e.message)
                    continue
            elif new["spec"].get("replicas") != want:
                new["spec"]["replicas"] = want
                try:
                    self.c.put("/apis/apps/v1/namespaces/%s/replicasets/%s" % (ns, new["metadata"]["name"]), new)
                except ApiError:
                    pass
            olds = [r for r in mine if r is not new and r["metadata"]["name"] != new["metadata"]["name"]]
            new_avail = (new.get("status") or {}).get("availableReplicas", 0)
            for r in olds:
                if r["spec"].get("replicas", 0) and (new_avail >= want or want == 0):
                    r["spec"]["replicas"] = 0
                    try:
                        self.c.put("/apis/apps/v1/namespaces/%s/replicasets/%s" % (ns, r["metadata"]["name"]), r)
                    except ApiError:
                        pass
            # status
            allrs = [new] + olds
            st = {"observedGeneration": d["metadata"].get("generation", 1),
                  "replicas": sum((r.get("status") or {}).get("replicas", 0) for r in allrs),
                  "updatedReplicas": (new.get("status") or {}).get("replicas", 0),
                  "readyReplicas": sum((r.get("status") or {}).get("readyReplicas", 0) for r in allrs),
                  "availableReplicas": sum((r.get("status") or {}).get("availableReplicas", 0) for r in allrs)}
            st["unavailableReplicas"] = max(0, want - st["availableReplicas"])
            for k in list(st):
                if st[k] == 0 and k != "observedGeneration":
                    del st[k]
            conds = (d.get("status") or {}).get("conditions") or []
            max_unavail = pct((spec.get("strategy") or {}).get("rollingUpdate", {}).get("maxUnavailable", "25%"),
                              want, False)
            avail_ok = st.get("availableReplicas", 0) >= want - max_unavail
            conds = set_condition(conds, "Available", "True" if avail_ok else "False",
                                  "MinimumReplicasAvailable" if avail_ok else "MinimumReplicasUnavailable",
                                  "Deployment has minimum availability." if avail_ok else
                                  "Deployment does not have minimum availability.")
            complete = st.get("updatedReplicas", 0) == want and st.get("availableReplicas", 0) >= want and \
                st.get("replicas", 0) == want
            key = (ns, name, h)
            first = self.progress.setdefault(key, time.monotonic())
            deadline = spec.get("progressDeadlineSeconds", 600)
            if complete:
                conds = set_condition(conds, "Progressing", "True", "NewReplicaSetAvailable",
                                      'ReplicaSet "%s" has successfully progressed.' % new["metadata"]["name"])
            elif time.monotonic() - first > deadline:
                conds = set_condition(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                                      'ReplicaSet "%s" has timed out progressing.' % new["metadata"]["name"])
            else:
                conds = set_condition(conds, "Progressing", "True", "ReplicaSetUpdated",
                                      'ReplicaSet "%s" is progressing.' % new["metadata"]["name"])
            st["conditions"] = conds
            self.update_status("/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, name), d, st)

    def update_status(self, path, obj, st):
        cur = obj.get("status") or {}
        strip = lambda s: json.dumps({k: (v if k != "conditions" else [
            {kk: vv for kk, vv in c.items() if kk not in ("lastUpdateTime", "lastHeartbeatTime")} for c in v])
            for k, v in s.items()}, sort_keys=True)
        if strip(cur) == strip(st):
            return
        obj["status"] = st
        self.put_status(path, obj)

    def replicasets(self):
        for r in self.list("/apis/apps/v1/replicasets"):
            ns, name = r["metadata"]["namespace"], r["metadata"]["name"]
            want = r["spec"].get("replicas", 1)
            mine = [p for p in self.pods if p["metadata"].get("namespace") == ns and owned_by(p, r) and active(p)]
            if len(mine) < want:
                for _ in range(want - len(mine)):
                    p = self.make_pod(r, "ReplicaSet", "apps/v1", r["spec"]["template"], generate=name + "-")
                    if p:
                        self.pods.append(p)
                        mine.append(p)
            elif len(mine) > want:
                mine.sort(key=lambda p: (bool(p["spec"].get("nodeName")), pod_ready(p), p["metadata"]["name"]))
                for p in mine[:len(mine) - want]:
                    self.delete_pod(p)
                mine = mine[len(mine) - want:]
            ready = len([p for p in mine if pod_ready(p)])
            st = {"replicas": len(mine), "fullyLabeledReplicas": len(mine), "readyReplicas": ready,
                  "availableReplicas": ready, "observedGeneration": r["metadata"].get("generation", 1)}
            self.update_status("/apis/apps/v1/namespaces/%s/replicasets/%s" % (ns, name), r, st)

    def daemonsets(self):
        auto_tol = [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
                    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
                    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
                    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
                    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]
        for ds in self.list("/apis/apps/v1/daemonsets"):
            ns, name = ds["metadata"]["namespace"], ds["metadata"]["name"]
            tmpl = ds["spec"]["template"]
            spec = tmpl.get("spec") or {}
            h = short_hash(tmpl)
            tols = list(auto_tol)
            if spec.get("hostNetwork"):
                tols.append({"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                             "effect": "NoSchedule"})
            eligible = []
            for n in self.nodes:
                if not sched_core.node_selector_match(spec, n):
                    continue
                if sched_core.untolerated_taint(dict(spec, tolerations=(spec.get("tolerations") or []) + tols), n):
                    continue
                eligible.append(n["metadata"]["name"])
            mine = [p for p in self.pods if p["metadata"].get("namespace") == ns and owned_by(p, ds) and active(p)]
            by_node = {}
            for p in mine:
                by_node.setdefault(p["spec"].get("nodeName"), []).append(p)
            for node, ps in by_node.items():
                if node not in eligible:
                    for p in ps:
                        self.delete_pod(p)
                elif len(ps) > 1:
                    for p in ps[1:]:
                        self.delete_pod(p)
            t = copy.deepcopy(tmpl)
            t.setdefault("spec", {})["tolerations"] = (spec.get("tolerations") or []) + tols
            for node in eligible:
                if node not in by_node:
                    p = self.make_pod(ds, "DaemonSet", "apps/v1", t, generate=name + "-", node=node,
                                      extra_labels={"controller-revision-hash": h, "pod-template-generation": str(
                                          ds["metadata"].get("generation", 1))})
                    if p:
                        by_node[node] = [p]
            # rolling update: replace one outdated pod at a time when all others are ready
            outdated = [ps[0] for n, ps in by_node.items() if n in eligible and
                        (ps[0]["metadata"].get("labels") or {}).get("controller-revision-hash") != h]
            current = [ps[0] for n, ps in by_node.items() if n in eligible]
            if outdated and all(pod_ready(p) for p in current if p not in outdated):
                self.delete_pod(outdated[0])
            ready = [p for p in current if pod_ready(p)]
            st = {"desiredNumberScheduled": len(eligible), "currentNumberScheduled": len(current),
                  "numberReady": len(ready), "numberAvailable": len(ready),
                  "numberUnavailable": len(eligible) - len(ready), "numberMisscheduled": 0,
                  "updatedNumberScheduled": len([p for p in current if (p["metadata"].get("labels") or {}).get(
                      "controller-revision-hash") == h]), "observedGeneration": ds["metadata"].get("generation", 1)}
            if st["numberAvailable"] == 0:
                del st["numberAvailable"]
            if st["numberUnavailable"] == 0:
                del st["numberUnavailable"]
            self.update_status("/apis/apps/v1/namespaces/%s/daemonsets/%s" % (ns, name), ds, st)

    def statefulsets(self):
        for s in self.list("/apis/apps/v1/statefulsets"):
            ns, name = s["metadata"]["namespace"], s["metadata"]["name"]
            want = s["spec"].get("replicas", 1)
            h = name + "-" + short_hash(s["spec"]["template"])
            mine = {p["metadata"]["name"]: p for p in self.pods if p["metadata"].get("namespace") == ns and
                    owned_by(p, s) and active(p)}
            ordered = s["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
            for i in range(want):
                pn = "%s-%d" % (name, i)
                if pn in mine:
                    if ordered and not pod_ready(mine[pn]):
                        break
                    continue
                t = copy.deepcopy(s["spec"]["template"])
                t.setdefault("spec", {})["hostname"] = pn
                if s["spec"].get("serviceName"):
                    t["spec"]["subdomain"] = s["spec"]["serviceName"]
                p = self.make_pod(s, "StatefulSet", "apps/v1", t, name=pn, extra_labels={
                    "statefulset.kubernetes.io/pod-name": pn, "controller-revision-hash": h,
                    "apps.kubernetes.io/pod-index": str(i)})
                if p:
                    mine[pn] = p
                if ordered:
                    break
            for pn, p in list(mine.items()):
                try:
                    idx = int(pn.rsplit("-", 1)[1])
                except ValueError:
                    continue
                if idx >= want:
                    self.delete_pod(p)
                    del mine[pn]
            ready = len([p for p in mine.values() if pod_ready(p)])
            st = {"replicas": len(mine), "readyReplicas": ready, "currentReplicas": len(mine),
                  "updatedReplicas": len(mine), "availableReplicas": ready, "currentRevision": h, "updateRevision": h,
                  "observedGeneration": s["metadata"].get("generation", 1), "collisionCount": 0}
            self.update_status("/apis/apps/v1/namespaces/%s/statefulsets/%s" % (ns, name), s, st)

    # --- garbage collector ---
    def garbage_collect(self):
        kinds = {}
        paths = {"ReplicaSet": "/apis/apps/v1/replicasets", "Deployment": "/apis/apps/v1/deployments",
                 "DaemonSet": "/apis/apps/v1/daemonsets", "StatefulSet": "/apis/apps/v1/statefulsets",
                 "Secret": "/api/v1/secrets", "Node": "/api/v1/nodes", "Pod": "/api/v1/pods",
                 "Service": "/api/v1/services", "ConfigMap": "/api/v1/configmaps",
                 "PersistentVolume": "/api/v1/persistentvolumes"}
        uids = set()

        def load(kind):
            if kind not in kinds:
                if kind in paths:
                    kinds[kind] = self.list(paths[kind])
                else:
                    kinds[kind] = None
                for o in kinds[kind] or []:
                    uids.add(o["metadata"]["uid"])
            return kinds[kind]
        paths.setdefault("Job", "/apis/batch/v1/jobs")
        # owners being deleted with propagationPolicy Foreground (dependents first) or Orphan
        # (dependents lose their owner reference), then the finalizer goes and the owner with it
        for okind in ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"):
            for owner in load(okind) or []:
                fins = owner["metadata"].get("finalizers") or []
                if not owner["metadata"].get("deletionTimestamp") or not (
                        {"foregroundDeletion", "orphan"} & set(fins)):
                    continue
                left = 0
                for kind in ("Pod", "ReplicaSet"):
                    for o in load(kind) or []:
                        refs = o["metadata"].get("ownerReferences") or []
                        if not any(r.get("uid") == owner["metadata"]["uid"] for r in refs):
                            continue
                        base = paths[kind].rsplit("/", 1)
                        url = "%s/namespaces/%s/%s/%s" % (base[0], o["metadata"]["namespace"], base[1],
                                                          o["metadata"]["name"])
                        try:
                            if "orphan" in fins:
                                keep = [r for r in refs if r.get("uid") != owner["metadata"]["uid"]]
                                self.c.patch(url, {"metadata": {"ownerReferences": keep or None}})
                            else:
                                self.c.delete(url)
                                left += 1
                        except ApiError:
                            left += 1
                if left == 0:
                    base = paths[okind].rsplit("/", 1)
                    url = "%s/namespaces/%s/%s/%s" % (base[0], owner["metadata"]["namespace"], base[1],
                                                      owner["metadata"]["name"])
                    try:
                        self.c.patch(url, {"metadata": {"finalizers": [f for f in fins if f not in (
                            "foregroundDeletion", "orphan")] or None}})
                    except ApiError:
                        pass
        for kind in ("Pod", "ReplicaSet", "Secret", "Deployment", "DaemonSet", "StatefulSet", "Service", "ConfigMap"):
            for o in load(kind) or []:
                refs = o["metadata"].get("ownerReferences") or []
                if not refs:
                    continue
                dangling = True
                for r in refs:
                    if load(r.get("kind")) is None:
                        dangling = False   # owner of a kind we do not track (CRs): keep
                        break
                    if r.get("uid") in uids:
                        dangling = False
                        break
                if dangling:
                    ns = o["metadata"].get("namespace")
                    base = paths[kind]
                    if ns:
                        parts = base.split("/")
                        base = "/".join(parts[:-1]) + "/namespaces/%s/%s" % (ns, parts[-1])
                    try:
                        self.c.delete("%s/%s" % (base, o["metadata"]["name"]))
                        log("kcm", "garbage collector deleted %s %s/%s", kind, ns, o["metadata"]["name"])
                    except ApiError:
                        pass

    # --- bootstrap tokens: token cleaner + bootstrap signer ---
    def tokens(self):
        secrets = self.list("/api/v1/namespaces/kube-system/secrets")
        valid = {}
        for s in secrets:
            if s.get("type") != "bootstrap.kubernetes.io/token":
                continue
            d = {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
            exp = parse_time(d.get("expiration"))
            if exp and exp < now():
                try:
                    self.c.delete("/api/v1/namespaces/kube-system/secrets/" + s["metadata"]["name"])
                    log("kcm", "tokencleaner deleted expired %s", s["metadata"]["name"])
                except ApiError:
                    pass
                continue
            if d.get("usage-bootstrap-signing") == "true":
                valid[d.get("token-id")] = d.get("token-secret")
        try:
            cm = self.c.get("/api/v1/namespaces/kube-public/configmaps/cluster-info")
        except ApiError:
            return
        import kubeadm
        data = dict(cm.get("data") or {})
        content = data.get("kubeconfig", "")
        want = {k: v for k, v in data.items() if not k.startswith("jws-kubeconfig-")}
        for tid, sec in valid.items():
            want["jws-kubeconfig-" + tid] = kubeadm.jws_sign(content, tid, sec)
        if want != data:
            cm["data"] = want
            try:
                self.c.put("/api/v1/namespaces/kube-public/configmaps/cluster-info", cm)
            except ApiError:
                pass

    def disruption(self):
        for pdb in self.list("/apis/policy/v1/poddisruptionbudgets"):
            ns = pdb["metadata"]["namespace"]
            matching = [p for p in self.pods if p["metadata"].get("namespace") == ns and active(p) and
                        sel.match_label_selector(pdb["spec"].get("selector") or {}, p["metadata"].get("labels"))]
            healthy = len([p for p in matching if pod_ready(p)])
            expected = len(matching)
            spec = pdb["spec"]
            if spec.get("minAvailable") is not None:
                desired = pct(spec["minAvailable"], expected, True)
            elif spec.get("maxUnavailable") is not None:
                desired = max(0, expected - pct(spec["maxUnavailable"], expected, True))
            else:
                desired = expected
            allowed = max(0, healthy - desired)
            st = {"currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
                  "disruptionsAllowed": allowed, "observedGeneration": pdb["metadata"].get("generation", 1),
                  "conditions": set_condition((pdb.get("status") or {}).get("conditions"), "DisruptionAllowed",
                                              "True" if allowed > 0 else "False",
                                              "SufficientPods" if allowed > 0 else "InsufficientPods", "")}
            self.update_status("/apis/policy/v1/namespaces/%s/poddisruptionbudgets/%s" % (
                ns, pdb["metadata"]["name"]), pdb, st)


def main_kcm(args):
    from apiserver import parse_flags
    flags = parse_flags(args, FLAGS, "kube-controller-manager")
    client = Client.from_kubeconfig(flags.get("kubeconfig"), timeout=10,
                                    user_agent="kube-controller-manager/v%s (linux/amd64)" % k8s_version())
    leader.serve_healthz(int(flags.get("secure-port", 10257)), flags.get("bind-address", "127.0.0.1"))
    elector = leader.Elector(client, "kube-controller-manager")
    kcm = KCM(client, flags)
    while True:
        try:
            if elector.ensure():
                kcm.sync()
        except (ApiError, ConnError) as e:
            log("kcm", "%s", e)
        except Exception:  # noqa: BLE001
            import traceback
            traceback.print_exc()
        time.sleep(1.0 + slow_delay())
