"""Add-on simulations, run by the kube-controller-manager leader on every sync:

* Calico (operator route): once the tigera-operator Deployment is available and an Installation
  exists, create calico-system/calico-node (DaemonSet) and calico-kube-controllers; TigeraStatus
  objects report Available/Progressing/Degraded. The kubelet stand-in installs the CNI config on a
  node when a calico-node pod runs there, which makes the node Ready.
* MetalLB: LoadBalancer Services get an address from an IPAddressPool only while the MetalLB
  controller is available and an L2Advertisement/BGPAdvertisement covers the pool. (The webhook race
  is in the API server: pools are refused until the webhook service has a ready pod.)
* Rook/Ceph: see rook_sync; the computed `ceph status` is kept in ConfigMap rook-ceph-lab-status.
"""
import base64
import copy
import ipaddress
import json
import os
import re
import uuid

import yaml

import sched_core
import labelsel as sel
from apiclient import ApiError
from common import log, rfc3339


def available(kcm, deployments, ns=None, name=None, labels=None):
    for d in deployments:
        md = d["metadata"]
        if ns and md.get("namespace") != ns:
            continue
        if name and md["name"] != name:
            continue
        if labels and any((md.get("labels") or {}).get(k) != v for k, v in labels.items()):
            continue
        if (d.get("status") or {}).get("availableReplicas", 0) >= 1:
            return d
    return None


def crd_exists(kcm, name):
    try:
        kcm.c.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name)
        return True
    except ApiError:
        return False


def list_cr(kcm, group, version, plural):
    try:
        return kcm.c.get("/apis/%s/%s/%s" % (group, version, plural))["items"]
    except ApiError:
        return []


def ensure(kcm, coll, obj):
    """Create obj if missing (by name); returns the live object."""
    name = obj["metadata"]["name"]
    try:
        return kcm.c.get("%s/%s" % (coll, name))
    except ApiError as e:
        if e.code != 404:
            raise
    try:
        return kcm.c.post(coll, obj)
    except ApiError as e:
        log("addons", "creating %s/%s: %s", coll, name, e.message)
        return None


def set_status(kcm, path, obj, status):
    if json.dumps(obj.get("status") or {}, sort_keys=True) == json.dumps(status, sort_keys=True):
        return
    obj["status"] = status
    try:
        kcm.c.put(path + "/status", obj)
    except ApiError as e:
        if e.code == 404:
            try:
                kcm.c.put(path, obj)
            except ApiError:
                pass


def sync(kcm):
    deps = kcm.list("/apis/apps/v1/deployments")
    for fn in (calico_sync, metallb_sync, rook_sync):
        try:
            fn(kcm, deps)
        except ApiError as e:
            log("addons", "%s: %s", fn.__name__, e.message)


# ------------------------------------------------------------------ Calico

def cluster_pod_subnet(kcm):
    try:
        cm = kcm.c.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
        cc = yaml.safe_load(cm["data"]["ClusterConfiguration"]) or {}
        return (cc.get("networking") or {}).get("podSubnet")
    except (ApiError, KeyError, yaml.YAMLError):
        return None


# the Calico release each tigera-operator image deploys (the operator has it built in). The tags the
# lab's Calico v3.32.4 and v3.33.1 manifests use are guesses (not verified; see their headers).
OPERATOR_CALICO = {"v1.36.7": "v3.29.3", "v1.38.0": "v3.30.0", "v1.40.0": "v3.31.0", "v1.42.10": "v3.32.4",
                   "v1.43.1": "v3.33.1"}


def calico_version(op):
    for c in (((op.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []:
        tag = (c.get("image") or "").rsplit(":", 1)[-1]
        if tag in OPERATOR_CALICO:
            return OPERATOR_CALICO[tag]
    return "v3.29.3"


def calico_ippools(kcm, pools, owner):
    """The operator writes the Installation's pools as crd.projectcalico.org IPPools (when the CRD is there)."""
    if not crd_exists(kcm, "ippools.crd.projectcalico.org"):
        return
    for i, p in enumerate(pools):
        cidr = p.get("cidr", "")
        v6 = ":" in cidr
        name = p.get("name") or ("default-ipv6-ippool" if v6 else "default-ipv4-ippool" if i == 0 else
                                 "default-ipv4-ippool-%d" % i)
        enc = p.get("encapsulation", "IPIP")
        ensure(kcm, "/apis/crd.projectcalico.org/v1/ippools", {
            "apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
            "metadata": {"name": name, "ownerReferences": owner},
            "spec": {"cidr": cidr, "blockSize": p.get("blockSize", 122 if v6 else 26),
                     "ipipMode": {"IPIP": "Always", "IPIPCrossSubnet": "CrossSubnet"}.get(enc, "Never"),
                     "vxlanMode": {"VXLAN": "Always", "VXLANCrossSubnet": "CrossSubnet"}.get(enc, "Never"),
                     "natOutgoing": p.get("natOutgoing", "Enabled") == "Enabled",
                     "nodeSelector": p.get("nodeSelector", "all()"),
                     "disableBGPExport": p.get("disableBGPExport", False), "allowedUses": ["Workload", "Tunnel"]}})


def tigera_condition(typ, status, reason, msg):
    return {"type": typ, "status": status, "reason": reason, "message": msg, "lastTransitionTime": rfc3339(),
            "observedGeneration": 1}


def calico_sync(kcm, deps):
    op = available(kcm, deps, name="tigera-operator")
    if not op:
        return
    installs = list_cr(kcm, "operator.tigera.io", "v1", "installations")
    inst = next((i for i in installs if i["metadata"]["name"] == "default"), None)
    if inst is None:
        return
    spec = inst.get("spec") or {}
    registry = (spec.get("registry") or "docker.io/").rstrip("/") + "/"
    version = calico_version(op)
    degraded = None
    pod_subnet = cluster_pod_subnet(kcm)
    pools = ((spec.get("calicoNetwork") or {}).get("ipPools") or [])
    if pod_subnet:
        nets = [ipaddress.ip_network(s.strip()) for s in pod_subnet.split(",")]
        for p in pools:
            try:
                cidr = ipaddress.ip_network(p.get("cidr", ""))
            except ValueError:
                degraded = "IP pool %s has an invalid CIDR" % p.get("cidr")
                break
            if not any(cidr.version == n.version and cidr.subnet_of(n) for n in nets):
                degraded = ("Could not resolve CalicoNetwork IPPool and kubeadm configuration: IPPool %s is not within "
                            "the platform's configured pod network CIDR(s) [%s]" % (p.get("cidr"), pod_subnet))
                break
    ts_ok = crd_exists(kcm, "tigerastatuses.operator.tigera.io")
    if degraded:
        if ts_ok:
            tigera_status(kcm, "calico", False, degraded)
        return
    ensure(kcm, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "calico-system", "labels": {"name": "calico-system", "pod-security.kubernetes.io/enforce": "privileged"}}})
    owner = [{"apiVersion": "operator.tigera.io/v1", "kind": "Installation", "name": "default",
              "uid": inst["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    calico_ippools(kcm, pools, owner)
    node_labels = {"k8s-app": "calico-node"}
    ensure(kcm, "/apis/apps/v1/namespaces/calico-system/daemonsets", {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "calico-node", "namespace": "calico-system", "ownerReferences": owner},
        "spec": {"selector": {"matchLabels": node_labels}, "template": {"metadata": {"labels": node_labels}, "spec": {
            "hostNetwork": True, "priorityClassName": "system-node-critical", "serviceAccountName": "calico-node",
            "nodeSelector": {"kubernetes.io/os": "linux"}, "tolerations": [
                {"key": "CriticalAddonsOnly", "operator": "Exists"}, {"effect": "NoSchedule", "operator": "Exists"},
                {"effect": "NoExecute", "operator": "Exists"}],
            "initContainers": [{"name": "install-cni", "image": registry + "calico/cni:" + version}],
            "containers": [{"name": "calico-node", "image": registry + "calico/node:" + version}]}}}})
    kc_labels = {"k8s-app": "calico-kube-controllers"}
    ensure(kcm, "/apis/apps/v1/namespaces/calico-system/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "calico-kube-controllers", "namespace": "calico-system", "ownerReferences": owner},
        "spec": {"replicas": 1, "selector": {"matchLabels": kc_labels}, "template": {"metadata": {"labels": kc_labels},
                 "spec": {"serviceAccountName": "calico-kube-controllers", "nodeSelector": {"kubernetes.io/os": "linux"},
                          "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                          {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                          "containers": [{"name": "calico-kube-controllers",
                                          "image": registry + "calico/kube-controllers:" + version}]}}}})
    try:
        ds = kcm.c.get("/apis/apps/v1/namespaces/calico-system/daemonsets/calico-node")
    except ApiError:
        return
    st = ds.get("status") or {}
    want = st.get("desiredNumberScheduled", 0)
    ok_nodes = st.get("numberAvailable", 0)
    kc = available(kcm, kcm.list("/apis/apps/v1/namespaces/calico-system/deployments"), name="calico-kube-controllers")
    ready = want > 0 and ok_nodes >= want and kc is not None
    msg = "" if ready else ("DaemonSet \"calico-system/calico-node\" is not available (awaiting %d)" % (want - ok_nodes)
                            if ok_nodes < want or want == 0 else
                            "Deployment \"calico-system/calico-kube-controllers\" is not available")
    if ts_ok:
        tigera_status(kcm, "calico", ready, msg, progressing=not ready)
        tigera_status(kcm, "ippools", True, "")
    inst_status = {"variant": "Calico", "calicoVersion": version, "mtu": 1450,
                   "computed": spec, "conditions": [tigera_condition("Ready", "True" if ready else "False",
                                                                     "AllObjectsAvailable" if ready else "ResourceNotReady",
                                                                     "All Objects are available" if ready else msg)]}
    set_status(kcm, "/apis/operator.tigera.io/v1/installations/default", inst, inst_status)


def tigera_status(kcm, name, available_, message, progressing=False):
    coll = "/apis/operator.tigera.io/v1/tigerastatuses"
    obj = ensure(kcm, coll, {"apiVersion": "operator.tigera.io/v1", "kind": "TigeraStatus", "metadata": {"name": name},
                             "spec": {}})
    if obj is None:
        return
    degraded = not available_ and not progressing
    prev = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}

    def c(typ, status, reason, msg):
        p = prev.get(typ)
        d = tigera_condition(typ, status, reason, msg)
        if p and p.get("status") == status:
            d["lastTransitionTime"] = p.get("lastTransitionTime", d["lastTransitionTime"])
        return d
    conds = [c("Available", "True" if available_ else "False", "AllObjectsAvailable" if available_ else
               "ResourceNotReady", "All objects available" if available_ else message),
             c("Progressing", "True" if progressing else "False", "ResourceNotReady" if progressing else
               "AllObjectsAvailable", message if progressing else "All objects available"),
             c("Degraded", "True" if degraded else "False", "ResourceReadError" if degraded else "AllObjectsAvailable",
               message if degraded else "All objects available")]
    set_status(kcm, "%s/%s" % (coll, name), obj, {"conditions": conds})


# ------------------------------------------------------------------ MetalLB

def pool_ranges(pool):
    out = []
    for a in (pool.get("spec") or {}).get("addresses") or []:
        try:
            if "-" in a:
                lo, hi = [ipaddress.ip_address(x.strip()) for x in a.split("-", 1)]
            else:
                n = ipaddress.ip_network(a, strict=False)
                lo, hi = n.network_address, n.broadcast_address
                if n.prefixlen < 31 and (pool.get("spec") or {}).get("avoidBuggyIPs"):
                    lo, hi = lo + 1, hi - 1
            out.append((lo, hi))
        except ValueError:
            continue
    return out


def pool_advertised(pool, advs):
    for adv in advs:
        spec = adv.get("spec") or {}
        names = spec.get("ipAddressPools") or []
        sels = spec.get("ipAddressPoolSelectors") or []
        if not names and not sels:
            return True
        if pool["metadata"]["name"] in names:
            return True
        if any(sel.match_label_selector(s, pool["metadata"].get("labels")) for s in sels):
            return True
    return False


def metallb_sync(kcm, deps):
    ctrl = available(kcm, deps, ns="metallb-system", labels={"component": "controller"})
    if not ctrl:
        return
    # the controller makes the speakers' memberlist key (the speaker pods mount it: until it exists
    # they stay in ContainerCreating)
    ensure(kcm, "/api/v1/namespaces/%s/secrets" % ctrl["metadata"]["namespace"], {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "memberlist", "namespace": ctrl["metadata"]["namespace"]},
        "data": {"secretkey": base64.b64encode(os.urandom(128)).decode()}})
    pools = list_cr(kcm, "metallb.io", "v1beta1", "ipaddresspools")
    advs = list_cr(kcm, "metallb.io", "v1beta1", "l2advertisements") + \
        list_cr(kcm, "metallb.io", "v1beta1", "bgpadvertisements")
    pools = [p for p in pools if p["metadata"].get("namespace") == ctrl["metadata"]["namespace"]]
    usable = [p for p in pools if pool_advertised(p, [a for a in advs if a["metadata"].get("namespace") ==
                                                      ctrl["metadata"]["namespace"]])]
    svcs = kcm.list("/api/v1/services")
    used = set()
    for s in svcs:
        for ing in ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            if ing.get("ip"):
                used.add(ing["ip"])
    for s in svcs:
        spec = s.get("spec") or {}
        if spec.get("type") != "LoadBalancer":
            continue
        if spec.get("loadBalancerClass") and spec["loadBalancerClass"] != "metallb":
            continue
        if ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            continue
        ann = s["metadata"].get("annotations") or {}
        want = ann.get("metallb.universe.tf/loadBalancerIPs") or ann.get("metallb.io/loadBalancerIPs") or \
            spec.get("loadBalancerIP")
        pool_name = ann.get("metallb.universe.tf/address-pool") or ann.get("metallb.io/address-pool")
        cands = [p for p in usable if (not pool_name or p["metadata"]["name"] == pool_name)]
        if not pool_name:
            cands = [p for p in cands if (p.get("spec") or {}).get("autoAssign", True)]
        ip = None
        if want:
            w = ipaddress.ip_address(want.split(",")[0].strip())
            if any(lo <= w <= hi for p in usable for lo, hi in pool_ranges(p)) and str(w) not in used:
                ip = str(w)
        else:
            for p in cands:
                for lo, hi in pool_ranges(p):
                    cur = lo
                    while cur <= hi:
                        if str(cur) not in used:
                            ip = str(cur)
                            break
                        cur += 1
                    if ip:
                        break
                if ip:
                    break
        if not ip:
            continue
        used.add(ip)
        s["status"] = {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}
        try:
            kcm.c.put("/api/v1/namespaces/%s/services/%s/status" % (s["metadata"]["namespace"], s["metadata"]["name"]), s)
            log("metallb", "assigned %s to %s/%s", ip, s["metadata"]["namespace"], s["metadata"]["name"])
        except ApiError:
            pass


# ------------------------------------------------------------------ Rook / Ceph

MON_IDS = "abcdefghijklmnopqrstuvwxyz"


def placement_tolerations(spec, role):
    pl = spec.get("placement") or {}
    return list((pl.get("all") or {}).get("tolerations") or []) + list((pl.get(role) or {}).get("tolerations") or [])


def eligible_nodes(kcm, spec, role):
    tol = placement_tolerations(spec, role)
    out = []
    for n in kcm.nodes:
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in (n.get("status") or {}).get("conditions") or [])
        if not ready or (n.get("spec") or {}).get("unschedulable"):
            continue
        if sched_core.untolerated_taint({"tolerations": tol}, n):
            continue
        out.append(n)
    return sorted(out, key=lambda n: n["metadata"]["name"])


def node_devices(node):
    try:
        return json.loads((node["metadata"].get("annotations") or {}).get("lab.cairn.dev/devices") or "[]")
    except ValueError:
        return []


def device_matches(want, dev):
    w = want if want.startswith("/") else "/dev/" + want
    return w == dev["path"] or want == dev["name"] or w.endswith("/" + dev["name"]) and w.startswith("/dev/disk/")


def rook_deployment(cluster, ns, name, labels, node, image, tol):
    owner = [{"apiVersion": "ceph.rook.io/v1", "kind": "CephCluster", "name": cluster["metadata"]["name"],
              "uid": cluster["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels, rook_cluster=ns), "ownerReferences": owner},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "strategy": {"type": "Recreate"},
                     "template": {"metadata": {"labels": dict(labels, rook_cluster=ns)}, "spec": {
                         "nodeSelector": {"kubernetes.io/hostname": node}, "tolerations": tol,
                         "containers": [{"name": labels["app"].replace("rook-ceph-", ""), "image": image}]}}}}


def rook_sync(kcm, deps):
    clusters = list_cr(kcm, "ceph.rook.io", "v1", "cephclusters")
    if not clusters:
        return
    for cl in clusters:
        ns = cl["metadata"]["namespace"]
        op = available(kcm, deps, ns=ns, labels={"app": "rook-ceph-operator"}) or \
            available(kcm, deps, name="rook-ceph-operator")
        path = "/apis/ceph.rook.io/v1/namespaces/%s/cephclusters/%s" % (ns, cl["metadata"]["name"])
        if not op:
            continue
        rook_cluster(kcm, cl, ns, path, [d for d in deps if d["metadata"].get("namespace") == ns])


def ceph_version(image):
    """Rook's status.version.version for a Ceph image: the tag's release, "-0" (20.2.4-0)."""
    tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
    m = re.match(r"v?(\d+\.\d+\.\d+)", tag)
    return (m.group(1) if m else "20.2.4") + "-0"


def rook_cluster(kcm, cl, ns, path, deps):
    import cephsim
    spec = cl.get("spec") or {}
    image = (spec.get("cephVersion") or {}).get("image") or "quay.io/ceph/ceph:v20.2.4"
    mon = spec.get("mon") or {}
    mon_count = int(mon.get("count", 3))
    multi = bool(mon.get("allowMultiplePerNode", False))
    mgr_count = int((spec.get("mgr") or {}).get("count", 1))
    messages = []
    coll = "/apis/apps/v1/namespaces/%s/deployments" % ns
    have = {d["metadata"]["name"]: d for d in deps}
    # what the operator writes before the mons start: their keyring Secret (the toolbox mounts it)
    ensure(kcm, "/api/v1/namespaces/%s/secrets" % ns, {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/rook",
        "metadata": {"name": "rook-ceph-mon", "namespace": ns},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in (
            ("ceph-username", "client.admin"), ("ceph-secret", "AQ" + base64.b64encode(os.urandom(30)).decode()),
            ("fsid", str(uuid.uuid4())), ("mon-secret", "AQ" + base64.b64encode(os.urandom(30)).decode()))}})
    # mons: one per distinct node unless allowMultiplePerNode
    mon_nodes = eligible_nodes(kcm, spec, "mon")
    placed = []
    for i in range(mon_count):
        mid = MON_IDS[i]
        name = "rook-ceph-mon-" + mid
        if name in have:
            placed.append((mid, have[name]["spec"]["template"]["spec"].get("nodeSelector", {}).get(
                "kubernetes.io/hostname")))
            continue
        used = {n for _, n in placed}
        free = [n["metadata"]["name"] for n in mon_nodes if multi or n["metadata"]["name"] not in used]
        if not free:
            messages.append("failed to create cluster: failed to start ceph monitors: failed to assign pods to mons: "
                            "failed to schedule mons: not enough nodes to place %d mons on distinct nodes (%d available; "
                            "set allowMultiplePerNode to true to allow more than one mon per node)" % (
                                mon_count, len(mon_nodes)))
            break
        node = free[0]
        d = ensure(kcm, coll, rook_deployment(cl, ns, name, {"app": "rook-ceph-mon", "mon": mid, "ceph_daemon_id": mid,
                                                             "ceph_daemon_type": "mon"}, node, image,
                                              placement_tolerations(spec, "mon")))
        placed.append((mid, node))
    if placed:
        # the mon endpoints the operator publishes (the toolbox mounts them)
        ensure(kcm, "/api/v1/namespaces/%s/configmaps" % ns, {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rook-ceph-mon-endpoints", "namespace": ns},
            "data": {"data": ",".join("%s=%s:6789" % (mid, node) for mid, node in placed), "maxMonId": str(
                len(placed) - 1), "mapping": json.dumps({"node": {mid: {"Name": node} for mid, node in placed}})}})
    for i in range(mgr_count):
        mid = MON_IDS[i]
        mgr_nodes = eligible_nodes(kcm, spec, "mgr")
        if not mgr_nodes:
            break
        node = mgr_nodes[i % len(mgr_nodes)]["metadata"]["name"]
        ensure(kcm, coll, rook_deployment(cl, ns, "rook-ceph-mgr-" + mid, {"app": "rook-ceph-mgr", "mgr": mid,
                                                                            "ceph_daemon_id": mid,
                                                                            "ceph_daemon_type": "mgr"}, node, image,
                                          placement_tolerations(spec, "mgr")))
    # OSDs from the storage spec and the devices each node's kubelet reports
    storage = spec.get("storage") or {}
    wanted = []   # (node, device dict)
    osd_nodes = {n["metadata"]["name"]: n for n in eligible_nodes(kcm, spec, "osd")}
    all_nodes = {n["metadata"]["name"]: n for n in kcm.nodes}
    filt = storage.get("deviceFilter")
    if storage.get("useAllNodes", False):
        for name, n in sorted(osd_nodes.items()):
            for dev in node_devices(n):
                if storage.get("useAllDevices") or (filt and re.search(filt, dev["name"])) or any(
                        device_matches(d.get("name", ""), dev) for d in storage.get("devices") or []):
                    wanted.append((name, dev))
    for entry in storage.get("nodes") or []:
        name = entry.get("name")
        n = all_nodes.get(name)
        if n is None:
            messages.append('node "%s" in storage.nodes does not exist' % name)
            continue
        devs = node_devices(n)
        f = entry.get("deviceFilter") or filt
        if entry.get("useAllDevices") or (storage.get("useAllDevices") and not entry.get("devices")):
            for dev in devs:
                wanted.append((name, dev))
        for want in entry.get("devices") or []:
            match = next((d for d in devs if device_matches(want.get("name", ""), d)), None)
            if match is None:
                messages.append('osd prepare on node "%s": device "%s" not found (skipping; the lab host has: %s)' % (
                    name, want.get("name"), ", ".join(d["path"] for d in devs) or "no devices"))
                continue
            wanted.append((name, match))
        if f:
            for dev in devs:
                if re.search(f, dev["name"]) and (name, dev) not in wanted:
                    wanted.append((name, dev))
    ids = osd_ids(kcm, ns, wanted)
    try:
        osdmap = json.loads((kcm.c.get("/api/v1/namespaces/%s/configmaps/%s" % (ns, cephsim.OSDMAP_CM)).get(
            "data") or {}).get("osdmap.json") or "{}")
    except ApiError:
        osdmap = {}
    for (node, dev) in wanted:
        oid = ids["%s:%s" % (node, dev["path"])]
        if str(oid) in (osdmap.get("purged") or {}):
            # purged (`ceph osd purge`): Rook makes no new OSD on that device until it is wiped, which the
            # lab does not simulate (a new device is a new OSD)
            continue
        d = rook_deployment(cl, ns, "rook-ceph-osd-%d" % oid, {"app": "rook-ceph-osd", "ceph-osd-id": str(oid),
                                                               "ceph_daemon_id": str(oid), "ceph_daemon_type": "osd"},
                            node, image, placement_tolerations(spec, "osd"))
        d["metadata"]["annotations"] = {"lab.cairn.dev/device": dev["path"], "lab.cairn.dev/size": str(dev["size"])}
        ensure(kcm, coll, d)
    deps = kcm.list(coll)
    try:
        prev = kcm.c.get("/api/v1/namespaces/%s/configmaps/rook-ceph-lab-status" % ns)
        prev_pgs = json.loads((prev.get("data") or {}).get("pgs.json") or "{}")
    except (ApiError, ValueError):
        prev_pgs = {}
    status = cephsim.compute(kcm, cl, ns, deps, placed, mon_count, messages, osdmap=osdmap, prev_pgs=prev_pgs)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rook-ceph-lab-status", "namespace": ns},
          "data": {"status.json": json.dumps(status["ceph"]), "pools.json": json.dumps(status["pools"]),
                   "tree.json": json.dumps(status["tree"]), "pgs.json": json.dumps(status["pgs"], sort_keys=True),
                   "osds.json": json.dumps(status["osds"]), "updated": rfc3339()}}
    try:
        cur = kcm.c.get("/api/v1/namespaces/%s/configmaps/rook-ceph-lab-status" % ns)
        if any(cur.get("data", {}).get(k) != cm["data"][k] for k in ("status.json", "pools.json", "pgs.json",
                                                                      "osds.json", "tree.json")):
            cur["data"] = cm["data"]
            kcm.c.put("/api/v1/namespaces/%s/configmaps/rook-ceph-lab-status" % ns, cur)
    except ApiError:
        try:
            kcm.c.post("/api/v1/namespaces/%s/configmaps" % ns, cm)
        except ApiError:
            pass
    health = status["ceph"]["health"]
    ready = status["quorum"] and not messages
    cl_status = {"phase": "Ready" if ready else "Progressing",
                 "state": "Created" if ready else "Creating",
                 "message": "Cluster created successfully" if ready else "; ".join(messages) or
                 "Configuring Ceph Mons",
                 "ceph": {"health": health["status"], "fsid": status["ceph"]["fsid"], "lastChecked": rfc3339(),
                          "details": {k: {"message": v["summary"]["message"], "severity": v["severity"]}
                                      for k, v in health["checks"].items()},
                          "capacity": {"bytesTotal": status["ceph"]["pgmap"]["bytes_total"],
                                       "bytesAvailable": status["ceph"]["pgmap"]["bytes_avail"],
                                       "bytesUsed": status["ceph"]["pgmap"]["bytes_used"]}},
                 "conditions": [{"type": "Ready" if ready else "Progressing", "status": "True",
                                 "reason": "ClusterCreated" if ready else "ClusterProgressing",
                                 "message": "Cluster created successfully" if ready else "; ".join(messages) or
                                 "Cluster is progressing", "lastHeartbeatTime": cl.get("status", {}).get(
                                     "conditions", [{}])[0].get("lastHeartbeatTime") or rfc3339(),
                                 "lastTransitionTime": rfc3339()}],
                 "version": {"image": image, "version": ceph_version(image)}}
    old = copy.deepcopy(cl.get("status") or {})
    if json.dumps({k: v for k, v in old.items() if k != "conditions"} | {"ceph": {k: v for k, v in (
            old.get("ceph") or {}).items() if k != "lastChecked"}}, sort_keys=True) != json.dumps(
            {k: v for k, v in cl_status.items() if k != "conditions"} | {"ceph": {k: v for k, v in cl_status[
                "ceph"].items() if k != "lastChecked"}}, sort_keys=True):
        set_status(kcm, "/apis/ceph.rook.io/v1/namespaces/%s/cephclusters/%s" % (ns, cl["metadata"]["name"]), cl,
                   cl_status)
    for pool in status["pool_objects"]:
        pst = {"phase": "Ready" if pool["ok"] else "Failure", "observedGeneration": 1}
        if not pool["ok"]:
            pst["info"] = {"message": pool["message"]}
        obj = pool["obj"]
        if (obj.get("status") or {}).get("phase") != pst["phase"]:
            set_status(kcm, pool["path"], obj, pst)


def osd_ids(kcm, ns, wanted):
    path = "/api/v1/namespaces/%s/configmaps/rook-ceph-lab-osd-ids" % ns
    try:
        cm = kcm.c.get(path)
    except ApiError:
        cm = None
    data = dict((cm or {}).get("data") or {})
    nxt = max([int(v) for v in data.values()] + [-1]) + 1
    changed = False
    for node, dev in wanted:
        k = "%s:%s" % (node, dev["path"])
        if k not in data:
            data[k] = str(nxt)
            nxt += 1
            changed = True
    if changed:
        if cm is None:
            kcm.c.post("/api/v1/namespaces/%s/configmaps" % ns, {"apiVersion": "v1", "kind": "ConfigMap",
                                                                 "metadata": {"name": "rook-ceph-lab-osd-ids",
                                                                              "namespace": ns}, "data": data})
        else:
            cm["data"] = data
            kcm.c.put(path, cm)
    return {k: int(v) for k, v in data.items()}
