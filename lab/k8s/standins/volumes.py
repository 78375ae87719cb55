"""Volume provisioning in the kube-controller-manager stand-in: what Rook's CSI RBD provisioner and
the persistent-volume controller do together for a claim.

A Pending PersistentVolumeClaim whose StorageClass (named, or the default class when it names
none) has a `*.rbd.csi.ceph.com` provisioner gets a PersistentVolume (`pvc-<uid>`) and is Bound —
but only when the simulated Ceph cluster in the class's `clusterID` namespace could create the
image: the CephCluster exists, its mons have quorum, and the class's pool exists with every
placement group active. Otherwise the claim stays Pending with a `ProvisioningFailed` event that
says why, as the external provisioner reports it. Claims with `volumeBindingMode:
WaitForFirstConsumer` classes are left to the first pod, as the real controller does (no pod
scheduling on volumes is simulated: they stay Pending). A deleted claim's volume is deleted when
its reclaim policy is Delete (and the garbage collector then deletes its files, the ConfigMap
volumedata.py keeps, which the volume owns).
"""
import json
import uuid

from apiclient import ApiError
from common import rfc3339

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def storage_class(classes, claim):
    name = (claim.get("spec") or {}).get("storageClassName")
    if name:
        return classes.get(name)
    defaults = [c for c in classes.values() if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"]
    return defaults[0] if len(defaults) == 1 else None


def ceph_refusal(kcm, parameters):
    """Why the RBD image cannot be created now, or None when it can."""
    ns, pool = parameters.get("clusterID", ""), parameters.get("pool", "")
    try:
        cm = kcm.c.get("/api/v1/namespaces/%s/configmaps/rook-ceph-lab-status" % ns)
    except ApiError:
        return "rpc error: code = InvalidArgument desc = failed to fetch monitor list using clusterID (%s): " \
               "missing configuration for cluster ID %s" % (ns, ns)
    data = cm.get("data") or {}
    status = json.loads(data.get("status.json") or "{}")
    pools = {p["pool_name"]: p for p in json.loads(data.get("pools.json") or "[]")}
    if not status.get("quorum_names"):
        return "rpc error: code = Internal desc = failed to connect to the cluster: rados: ret=-110, " \
               "Connection timed out (no monitor quorum)"
    if pool not in pools:
        return "rpc error: code = NotFound desc = pool %s not found: rados: ret=-2, No such file or directory" % pool
    state = pools[pool].get("pg_state", "unknown")
    if not state.startswith("active"):
        return "rpc error: code = DeadlineExceeded desc = context deadline exceeded (pool %s placement groups %s)" % (
            pool, state)
    return None


def event(kcm, claim, reason, message, kind="Warning"):
    ns, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
    ev_name = "%s.%s" % (name, reason.lower())
    body = {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": ev_name, "namespace": ns},
            "involvedObject": {"kind": "PersistentVolumeClaim", "namespace": ns, "name": name,
                               "uid": claim["metadata"].get("uid")},
            "reason": reason, "message": message, "type": kind, "count": 1,
            "source": {"component": "rook-ceph.rbd.csi.ceph.com_csi-rbdplugin-provisioner"},
            "firstTimestamp": rfc3339(), "lastTimestamp": rfc3339()}
    path = "/api/v1/namespaces/%s/events" % ns
    try:
        current = kcm.c.get(path + "/" + ev_name)
        if current.get("message") == message:
            return
        current.update(message=message, lastTimestamp=rfc3339(), count=int(current.get("count", 1)) + 1)
        kcm.c.put(path + "/" + ev_name, current)
    except ApiError:
        try:
            kcm.c.post(path, body)
        except ApiError:
            pass


def provision(kcm, claim, sc):
    ns, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
    spec = claim.get("spec") or {}
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
    pv_name = "pvc-" + (claim["metadata"].get("uid") or str(uuid.uuid4()))
    params = sc.get("parameters") or {}
    image = str(uuid.uuid4())
    pv = {"apiVersion": "v1", "kind": "PersistentVolume",
          "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": sc["provisioner"]}},
          "spec": {"capacity": {"storage": size}, "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
                   "storageClassName": sc["metadata"]["name"], "volumeMode": spec.get("volumeMode", "Filesystem"),
                   "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": ns, "name": name,
                                "uid": claim["metadata"].get("uid")},
                   "csi": {"driver": sc["provisioner"], "fsType": params.get("csi.storage.k8s.io/fstype", "ext4"),
                           "volumeHandle": "0001-0009-%s-0000000000000001-%s" % (params.get("clusterID", ""), image),
                           # where the image is, as ceph-csi records it (volumedata.py reads the pool)
                           "volumeAttributes": {"clusterID": params.get("clusterID", ""),
                                                "pool": params.get("pool", ""), "imageName": "csi-vol-" + image}}},
          "status": {"phase": "Bound"}}
    try:
        kcm.c.post("/api/v1/persistentvolumes", pv)
    except ApiError as e:
        if e.code != 409:
            raise
    claim.setdefault("spec", {})["volumeName"] = pv_name
    claim["spec"].setdefault("storageClassName", sc["metadata"]["name"])
    claim["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
    path = "/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (ns, name)
    claim = kcm.c.put(path, claim)
    claim["status"] = {"phase": "Bound", "accessModes": pv["spec"]["accessModes"], "capacity": {"storage": size}}
    kcm.put_status(path, claim)
    event(kcm, claim, "ProvisioningSucceeded", "Successfully provisioned volume %s" % pv_name, kind="Normal")


def sync(kcm):
    claims = kcm.list("/api/v1/persistentvolumeclaims")
    pending = [c for c in claims if not c["metadata"].get("deletionTimestamp") and
               (c.get("status") or {}).get("phase") != "Bound"]
    classes = {c["metadata"]["name"]: c for c in kcm.list("/apis/storage.k8s.io/v1/storageclasses")} if pending else {}
    for claim in pending:
        sc = storage_class(classes, claim)
        if sc is None or not str(sc.get("provisioner", "")).endswith(".rbd.csi.ceph.com"):
            continue
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer":
            continue
        refusal = ceph_refusal(kcm, sc.get("parameters") or {})
        if refusal:
            event(kcm, claim, "ProvisioningFailed", "failed to provision volume with StorageClass \"%s\": %s" % (
                sc["metadata"]["name"], refusal))
            continue
        provision(kcm, claim, sc)
    live = {(c["metadata"]["namespace"], c["metadata"]["name"], c["metadata"].get("uid")) for c in claims}
    for pv in kcm.list("/api/v1/persistentvolumes"):
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        if not ref or (ref.get("namespace"), ref.get("name"), ref.get("uid")) in live:
            continue
        if (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy", "Delete") == "Delete":
            try:
                kcm.c.delete("/api/v1/persistentvolumes/" + pv["metadata"]["name"])
            except ApiError:
                pass
