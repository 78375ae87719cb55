"""Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for, with the columns of
the real API server's printers (pkg/printers/internalversion) for the kinds the lab serves, a CRD's
additionalPrinterColumns, and the default (Name, Created At / Age) for the rest."""
import jsonpath
from common import age, parse_time, now
import labelsel as sel


def _col(name, t="string", fmt="", desc="", priority=0):
    return {"name": name, "type": t, "format": fmt, "description": desc, "priority": priority}


NAME = _col("Name", "string", "name", "Name must be unique within a namespace.")
AGE = _col("Age", "string", "", "CreationTimestamp is a timestamp representing the server time when this object "
           "was created.")


def _conds(obj):
    return {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []}


def _node(o, wide):
    conds = _conds(o)
    ready = conds.get("Ready")
    status = ["Ready" if ready and ready.get("status") == "True" else
              ("NotReady" if ready and ready.get("status") == "False" else "Unknown")]
    if (o.get("spec") or {}).get("unschedulable"):
        status.append("SchedulingDisabled")
    labels = o["metadata"].get("labels") or {}
    roles = sorted(k[len("node-role.kubernetes.io/"):] for k in labels if k.startswith("node-role.kubernetes.io/"))
    if "kubernetes.io/role" in labels:
        roles.append(labels["kubernetes.io/role"])
    info = (o.get("status") or {}).get("nodeInfo") or {}
    addrs = {a.get("type"): a.get("address") for a in (o.get("status") or {}).get("addresses") or []}
    return [",".join(status), ",".join(r for r in roles if r) or "<none>", age(o["metadata"].get("creationTimestamp")),
            info.get("kubeletVersion", ""), addrs.get("InternalIP", "<none>"), addrs.get("ExternalIP", "<none>"),
            info.get("osImage", "<unknown>"), info.get("kernelVersion", "<unknown>"),
            info.get("containerRuntimeVersion", "<unknown>")]


def pod_status_reason(p):
    st = p.get("status") or {}
    reason = st.get("reason") or st.get("phase") or "Pending"
    if p["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for cs in st.get("initContainerStatuses") or []:
        state = cs.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason") not in (None, "PodInitializing"):
            return "Init:" + state["waiting"]["reason"]
    for cs in reversed(st.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif "terminated" in state:
            t = state["terminated"]
            reason = "Signal:%d" % t["signal"] if t.get("signal") else "ExitCode:%d" % t.get("exitCode", 0)
    return reason


def _pod(o, wide):
    st = o.get("status") or {}
    spec = o.get("spec") or {}
    total = len(spec.get("containers") or [])
    ready = sum(1 for cs in st.get("containerStatuses") or [] if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount") or 0) for cs in st.get("containerStatuses") or [])
    return ["%d/%d" % (ready, total), pod_status_reason(o), str(restarts) if restarts else "0",
            age(o["metadata"].get("creationTimestamp")), st.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
            st.get("nominatedNodeName") or "<none>", "<none>"]


def _images(tpl):
    cs = ((tpl or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _deployment(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _images(spec.get("template"))
    return ["%d/%d" % (st.get("readyReplicas") or 0, spec.get("replicas", 1)), st.get("updatedReplicas") or 0,
            st.get("availableReplicas") or 0, age(o["metadata"].get("creationTimestamp")), names, images,
            sel.selector_string(spec.get("selector")) or "<none>"]


def _replicaset(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _images(spec.get("template"))
    return [spec.get("replicas", 1), st.get("replicas") or 0, st.get("readyReplicas") or 0,
            age(o["metadata"].get("creationTimestamp")), names, images,
            sel.selector_string(spec.get("selector")) or "<none>"]


def _daemonset(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    ns = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector") or {}
    names, images = _images(spec.get("template"))
    return [st.get("desiredNumberScheduled") or 0, st.get("currentNumberScheduled") or 0, st.get("numberReady") or 0,
            st.get("updatedNumberScheduled") or 0, st.get("numberAvailable") or 0,
            ",".join("%s=%s" % kv for kv in sorted(ns.items())) or "<none>",
            age(o["metadata"].get("creationTimestamp")), names, images,
            sel.selector_string(spec.get("selector")) or "<none>"]


def _statefulset(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _images(spec.get("template"))
    return ["%d/%d" % (st.get("readyReplicas") or 0, spec.get("replicas", 1)),
            age(o["metadata"].get("creationTimestamp")), names, images]


def _service(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    t = spec.get("type", "ClusterIP")
    ext = ",".join(i.get("ip") or i.get("hostname") or "" for i in (st.get("loadBalancer") or {}).get("ingress") or [])
    if t == "LoadBalancer" and not ext:
        ext = "<pending>"
    if t == "ExternalName":
        ext = spec.get("externalName", "")
    ports = []
    for p in spec.get("ports") or []:
        s = "%s/%s" % (p.get("port"), p.get("protocol", "TCP"))
        if p.get("nodePort"):
            s = "%s:%s/%s" % (p.get("port"), p["nodePort"], p.get("protocol", "TCP"))
        ports.append(s)
    return [t, spec.get("clusterIP") or "<none>", ext or "<none>", ",".join(ports) or "<none>",
            age(o["metadata"].get("creationTimestamp")),
            ",".join("%s=%s" % kv for kv in sorted((spec.get("selector") or {}).items())) or "<none>"]


def _namespace(o, wide):
    return [(o.get("status") or {}).get("phase", "Active"), age(o["metadata"].get("creationTimestamp"))]


def _configmap(o, wide):
    return [len(o.get("data") or {}) + len(o.get("binaryData") or {}), age(o["metadata"].get("creationTimestamp"))]


def _secret(o, wide):
    return [o.get("type", "Opaque"), len(o.get("data") or {}), age(o["metadata"].get("creationTimestamp"))]


def _job(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    conds = _conds(o)
    if conds.get("Complete", {}).get("status") == "True":
        status = "Complete"
    elif conds.get("Failed", {}).get("status") == "True":
        status = "Failed"
    elif o["metadata"].get("deletionTimestamp"):
        status = "Terminating"
    elif conds.get("Suspended", {}).get("status") == "True":
        status = "Suspended"
    else:
        status = "Running"
    comp = spec.get("completions")
    completions = "%d/%d" % (st.get("succeeded") or 0, comp) if comp is not None else "%d/1 of %d" % (
        st.get("succeeded") or 0, spec.get("parallelism", 1))
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    duration = ""
    if start:
        secs = int(((end or now()) - start).total_seconds())
        duration = "%ds" % secs if secs < 120 else "%dm" % (secs // 60)
    names, images = _images(spec.get("template"))
    return [status, completions, duration, age(o["metadata"].get("creationTimestamp")), names, images,
            sel.selector_string(spec.get("selector")) or "<none>"]


def _pvc(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    cap = (st.get("capacity") or {}).get("storage", "")
    modes = ",".join({"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                      "ReadWriteOncePod": "RWOP"}.get(m, m) for m in st.get("accessModes") or [])
    return [st.get("phase", "Pending"), spec.get("volumeName", ""), cap, modes, spec.get("storageClassName") or "",
            "<unset>", age(o["metadata"].get("creationTimestamp")), spec.get("volumeMode", "Filesystem")]


def _pv(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    modes = ",".join({"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                      "ReadWriteOncePod": "RWOP"}.get(m, m) for m in spec.get("accessModes") or [])
    ref = spec.get("claimRef") or {}
    claim = "%s/%s" % (ref.get("namespace"), ref.get("name")) if ref else ""
    return [(spec.get("capacity") or {}).get("storage", ""), modes, spec.get("persistentVolumeReclaimPolicy", ""),
            st.get("phase", ""), claim, spec.get("storageClassName", ""), "<unset>", st.get("reason", ""),
            age(o["metadata"].get("creationTimestamp")), spec.get("volumeMode", "Filesystem")]


def _storageclass(o, wide):
    ann = o["metadata"].get("annotations") or {}
    name = o["metadata"]["name"]
    if ann.get("storageclass.kubernetes.io/is-default-class") == "true":
        name += " (default)"
    return [o.get("provisioner", ""), o.get("reclaimPolicy", "Delete"), o.get("volumeBindingMode", "Immediate"),
            bool(o.get("allowVolumeExpansion", False)), age(o["metadata"].get("creationTimestamp"))], name


def _event(o, wide):
    inv = o.get("involvedObject") or {}
    last = o.get("lastTimestamp") or o.get("eventTime") or o["metadata"].get("creationTimestamp")
    return [age(last), o.get("type", ""), o.get("reason", ""),
            "%s/%s" % ((inv.get("kind") or "").lower(), inv.get("name", "")), o.get("message", "")]


def _endpoints(o, wide):
    eps = []
    for s in o.get("subsets") or []:
        for a in s.get("addresses") or []:
            for p in s.get("ports") or [{}]:
                eps.append("%s:%s" % (a.get("ip"), p.get("port")) if p.get("port") else a.get("ip"))
    text = ",".join(eps[:3]) + (" + %d more..." % (len(eps) - 3) if len(eps) > 3 else "")
    return [text or "<none>", age(o["metadata"].get("creationTimestamp"))]


def _serviceaccount(o, wide):
    return [len(o.get("secrets") or []), age(o["metadata"].get("creationTimestamp"))]


def _pdb(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    return [str(spec["minAvailable"]) if "minAvailable" in spec else "N/A",
            str(spec["maxUnavailable"]) if "maxUnavailable" in spec else "N/A", st.get("disruptionsAllowed") or 0,
            age(o["metadata"].get("creationTimestamp"))]


def _lease(o, wide):
    return [(o.get("spec") or {}).get("holderIdentity", ""), age(o["metadata"].get("creationTimestamp"))]


def _ingress(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    hosts = ",".join(r.get("host", "*") for r in spec.get("rules") or []) or "*"
    addr = ",".join(i.get("ip") or i.get("hostname") or "" for i in (st.get("loadBalancer") or {}).get("ingress") or [])
    return [spec.get("ingressClassName") or "<none>", hosts, addr, "80" + (", 443" if spec.get("tls") else ""),
            age(o["metadata"].get("creationTimestamp"))]


def _csr(o, wide):
    spec = o.get("spec") or {}
    conds = [c.get("type") for c in (o.get("status") or {}).get("conditions") or []]
    if (o.get("status") or {}).get("certificate"):
        conds.append("Issued")
    return [age(o["metadata"].get("creationTimestamp")), spec.get("signerName", ""), spec.get("username", ""),
            "<none>", ",".join(conds) or "Pending"]


def _ipc(o, wide):
    return [o.get("spec", {}).get("controller", ""), "<none>", age(o["metadata"].get("creationTimestamp"))]


I = "integer"
PRINTERS = {
    "Node": ([_col("Status"), _col("Roles"), AGE, _col("Version"), _col("Internal-IP", priority=1),
              _col("External-IP", priority=1), _col("OS-Image", priority=1), _col("Kernel-Version", priority=1),
              _col("Container-Runtime", priority=1)], _node),
    "Pod": ([_col("Ready"), _col("Status"), _col("Restarts", "string"), AGE, _col("IP", priority=1),
             _col("Node", priority=1), _col("Nominated Node", priority=1), _col("Readiness Gates", priority=1)], _pod),
    "Deployment": ([_col("Ready"), _col("Up-to-date", I), _col("Available", I), AGE, _col("Containers", priority=1),
                    _col("Images", priority=1), _col("Selector", priority=1)], _deployment),
    "ReplicaSet": ([_col("Desired", I), _col("Current", I), _col("Ready", I), AGE, _col("Containers", priority=1),
                    _col("Images", priority=1), _col("Selector", priority=1)], _replicaset),
    "DaemonSet": ([_col("Desired", I), _col("Current", I), _col("Ready", I), _col("Up-to-date", I),
                   _col("Available", I), _col("Node Selector"), AGE, _col("Containers", priority=1),
                   _col("Images", priority=1), _col("Selector", priority=1)], _daemonset),
    "StatefulSet": ([_col("Ready"), AGE, _col("Containers", priority=1), _col("Images", priority=1)], _statefulset),
    "Service": ([_col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), AGE,
                 _col("Selector", priority=1)], _service),
    "Namespace": ([_col("Status"), AGE], _namespace),
    "ConfigMap": ([_col("Data", I), AGE], _configmap),
    "Secret": ([_col("Type"), _col("Data", I), AGE], _secret),
    "Job": ([_col("Status"), _col("Completions"), _col("Duration"), AGE, _col("Containers", priority=1),
             _col("Images", priority=1), _col("Selector", priority=1)], _job),
    "PersistentVolumeClaim": ([_col("Status"), _col("Volume"), _col("Capacity"), _col("Access Modes"),
                               _col("StorageClass"), _col("VolumeAttributesClass"), AGE,
                               _col("VolumeMode", priority=1)], _pvc),
    "PersistentVolume": ([_col("Capacity"), _col("Access Modes"), _col("Reclaim Policy"), _col("Status"),
                          _col("Claim"), _col("StorageClass"), _col("VolumeAttributesClass"), _col("Reason"), AGE,
                          _col("VolumeMode", priority=1)], _pv),
    "StorageClass": ([_col("Provisioner"), _col("ReclaimPolicy"), _col("VolumeBindingMode"),
                      _col("AllowVolumeExpansion", "boolean"), AGE], _storageclass),
    "Endpoints": ([_col("Endpoints"), AGE], _endpoints),
    "ServiceAccount": ([_col("Secrets", I), AGE], _serviceaccount),
    "PodDisruptionBudget": ([_col("Min Available"), _col("Max Unavailable"), _col("Allowed Disruptions", I), AGE],
                            _pdb),
    "Lease": ([_col("Holder"), AGE], _lease),
    "Ingress": ([_col("Class"), _col("Hosts"), _col("Address"), _col("Ports"), AGE], _ingress),
    "IngressClass": ([_col("Controller"), _col("Parameters"), AGE], _ipc),
    "CertificateSigningRequest": ([AGE, _col("SignerName"), _col("Requestor"), _col("RequestedDuration"),
                                   _col("Condition")], _csr),
}
# Events: kubectl's columns have no Name column first.
EVENT_COLUMNS = [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")]


def partial(obj):
    md = dict(obj.get("metadata") or {})
    md.pop("managedFields", None)
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": md}


def _crd_columns(res):
    for v in (res.crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == res.version:
            return v.get("additionalPrinterColumns") or []
    return []


def table(res, objs, include="PartialObjectMetadata", rv=None):
    """A Table of `objs` (all of kind res.kind)."""
    rows = []
    if res.kind == "Event":
        cols = [NAME] + EVENT_COLUMNS
        cols[0] = dict(NAME, priority=1)
    elif res.kind in PRINTERS:
        cols = [NAME] + PRINTERS[res.kind][0]
    elif res.crd is not None:
        extra = _crd_columns(res)
        cols = [NAME] + [_col(c["name"], c.get("type", "string"), c.get("format", ""), c.get("description", ""),
                              c.get("priority", 0)) for c in extra]
        if not any(c.get("jsonPath") == ".metadata.creationTimestamp" for c in extra):
            cols.append(AGE)
    else:
        cols = [NAME, _col("Created At", "date", "", "CreationTimestamp is a timestamp representing the server "
                                                         "time when this object was created.")]
    for o in objs:
        name = o["metadata"].get("name", "")
        if res.kind == "Event":
            cells = [name] + _event(o, True)
        elif res.kind in PRINTERS:
            out = PRINTERS[res.kind][1](o, True)
            if isinstance(out, tuple):
                out, name = out
            cells = [name] + out
        elif res.crd is not None:
            cells = [name]
            for c in _crd_columns(res):
                try:
                    v = jsonpath.render("{%s}" % c.get("jsonPath", ""), o)
                except jsonpath.JSONPathError:
                    v = None
                if c.get("type") == "date" and v:
                    v = age(v)
                elif c.get("type") == "integer" and v not in (None, ""):
                    v = int(v) if v.lstrip("-").isdigit() else v
                cells.append(v if v != "" else None)
            if not any(c.get("jsonPath") == ".metadata.creationTimestamp" for c in _crd_columns(res)):
                cells.append(age(o["metadata"].get("creationTimestamp")))
        else:
            cells = [name, o["metadata"].get("creationTimestamp")]
        row = {"cells": cells[:len(cols)]}
        if include == "Object":
            row["object"] = o
        elif include != "None":
            row["object"] = partial(o)
        rows.append(row)
    md = {"resourceVersion": rv} if rv else {}
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": md, "columnDefinitions": cols, "rows": rows}
