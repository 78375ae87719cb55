"""Ceph simulation: the cluster state Rook would produce (computed by the controller-manager from
the Rook deployments, the devices the kubelets report and the pools), and the `ceph` CLI answers for
`kubectl exec deploy/rook-ceph-tools -- ceph ...` (shapes follow Ceph's JSON output)."""
import json
import re
import time
import uuid

from common import rfc3339

PG_NUM = 32


def _avail(d):
    return (d.get("status") or {}).get("availableReplicas", 0) >= 1


def _osd_down_fault(node, dev_path, oid):
    v = ((node or {}).get("metadata", {}).get("annotations") or {}).get("lab.cairn.dev/osd-down")
    if v is None:
        return False
    items = [x.strip() for x in v.replace(",", "\n").splitlines() if x.strip()]
    if not items or "all" in items:
        return True
    name = dev_path.rsplit("/", 1)[-1]
    return any(x in (dev_path, name, "osd.%d" % oid, str(oid)) for x in items)


def collect_pools(kcm, ns):
    out = []
    try:
        bps = kcm.c.get("/apis/ceph.rook.io/v1/namespaces/%s/cephblockpools" % ns)["items"]
    except Exception:  # noqa: BLE001
        bps = []
    for p in bps:
        spec = p.get("spec") or {}
        rep = spec.get("replicated") or {}
        out.append({"name": spec.get("name") or p["metadata"]["name"], "size": int(rep.get("size", 3)),
                    "failureDomain": spec.get("failureDomain", "host"),
                    "requireSafe": rep.get("requireSafeReplicaSize", True),
                    "pg_num": int((spec.get("parameters") or {}).get("pg_num", PG_NUM)), "obj": p,
                    "path": "/apis/ceph.rook.io/v1/namespaces/%s/cephblockpools/%s" % (ns, p["metadata"]["name"])})
    try:
        fss = kcm.c.get("/apis/ceph.rook.io/v1/namespaces/%s/cephfilesystems" % ns)["items"]
    except Exception:  # noqa: BLE001
        fss = []
    for fs in fss:
        spec = fs.get("spec") or {}
        name = fs["metadata"]["name"]
        pools = [("%s-metadata" % name, spec.get("metadataPool") or {})]
        for i, dp in enumerate(spec.get("dataPools") or []):
            pools.append(("%s-%s" % (name, dp.get("name") or "data%d" % i), dp))
        for pn, ps in pools:
            rep = ps.get("replicated") or {}
            out.append({"name": pn, "size": int(rep.get("size", 3)), "failureDomain": ps.get("failureDomain", "host"),
                        "requireSafe": rep.get("requireSafeReplicaSize", True), "pg_num": PG_NUM, "obj": fs,
                        "path": "/apis/ceph.rook.io/v1/namespaces/%s/cephfilesystems/%s" % (ns, name)})
    return out


def compute(kcm, cl, ns, deps, placed, mon_count, messages):
    fsid = str(uuid.UUID(cl["metadata"]["uid"])) if cl["metadata"].get("uid") else str(uuid.uuid4())
    by_name = {d["metadata"]["name"]: d for d in deps}
    nodes = {n["metadata"]["name"]: n for n in kcm.nodes}
    mons_up = [mid for mid, _ in placed if _avail(by_name.get("rook-ceph-mon-" + mid, {}))]
    num_mons = len(placed)
    quorum = num_mons > 0 and len(mons_up) > num_mons // 2
    mgrs = [d for n, d in by_name.items() if n.startswith("rook-ceph-mgr-")]
    mgr_up = [d for d in mgrs if _avail(d)]
    osds = []
    for n, d in sorted(by_name.items()):
        if not n.startswith("rook-ceph-osd-") or n.startswith("rook-ceph-osd-prepare"):
            continue
        oid = int(n.rsplit("-", 1)[1])
        node = d["spec"]["template"]["spec"].get("nodeSelector", {}).get("kubernetes.io/hostname")
        dev = (d["metadata"].get("annotations") or {}).get("lab.cairn.dev/device", "")
        size = int((d["metadata"].get("annotations") or {}).get("lab.cairn.dev/size", "0") or 0)
        up = _avail(d) and not _osd_down_fault(nodes.get(node), dev, oid)
        osds.append({"id": oid, "host": node, "device": dev, "size": size, "up": up})
    osds.sort(key=lambda o: o["id"])
    up_osds = [o for o in osds if o["up"]]
    hosts_up = {o["host"] for o in up_osds}
    checks = {}

    def check(name, sev, msg, count=1, detail=()):
        checks[name] = {"severity": sev, "summary": {"message": msg, "count": count}, "muted": False,
                        "detail": [{"message": d} for d in detail]}
    if num_mons and len(mons_up) < num_mons:
        down = [mid for mid, _ in placed if mid not in mons_up]
        check("MON_DOWN", "HEALTH_WARN", "%d/%d mons down, quorum %s" % (len(down), num_mons, ",".join(mons_up)),
              len(down), ["mon.%s (rank %d) addr is down (out of quorum)" % (m, "abcdefgh".index(m)) for m in down])
    if not mgr_up:
        check("MGR_DOWN", "HEALTH_WARN", "no active mgr")
    down = [o for o in osds if not o["up"]]
    if down:
        check("OSD_DOWN", "HEALTH_WARN", "%d osds down" % len(down), len(down),
              ["osd.%d (root=default,host=%s) is down" % (o["id"], o["host"]) for o in down])
        dead_hosts = sorted({o["host"] for o in down} - hosts_up)
        if dead_hosts:
            n = len([o for o in down if o["host"] in dead_hosts])
            check("OSD_HOST_DOWN", "HEALTH_WARN", "%d host%s (%d osds) down" % (
                len(dead_hosts), "" if len(dead_hosts) == 1 else "s", n), len(dead_hosts),
                ["host %s (root=default) (%d osds) is down" % (h, len([o for o in down if o["host"] == h]))
                 for h in dead_hosts])
    if len(osds) < 3:
        check("TOO_FEW_OSDS", "HEALTH_WARN", "OSD count %d < osd_pool_default_size 3" % len(osds))
    pools = collect_pools(kcm, ns)
    states = {}
    inactive = undersized = 0
    pool_objects = []
    no_redundancy = []
    pool_info = []
    for i, p in enumerate(pools):
        size = p["size"]
        ok, msg = True, ""
        if size == 1 and p["requireSafe"]:
            ok, msg = False, ("failed to create pool \"%s\": error creating replicated pool: pool size 1 is not allowed "
                              "when requireSafeReplicaSize is true" % p["name"])
            pool_objects.append(dict(p, ok=ok, message=msg))
            continue
        pool_objects.append(dict(p, ok=True, message=""))
        min_size = size - size // 2
        domains = len(hosts_up) if p["failureDomain"] == "host" else len(up_osds)
        if not up_osds:
            st = "unknown"
            inactive += p["pg_num"]
        elif domains >= size:
            st = "active+clean"
        elif domains >= min_size:
            st = "active+undersized"
            undersized += p["pg_num"]
        else:
            st = "undersized+peered"
            inactive += p["pg_num"]
            undersized += p["pg_num"]
        states[st] = states.get(st, 0) + p["pg_num"]
        if size == 1:
            no_redundancy.append(p["name"])
        pool_info.append({"pool_id": i + 1, "pool_name": p["name"], "size": size, "min_size": min_size,
                          "pg_num": p["pg_num"], "pgp_num": p["pg_num"], "crush_rule": "%s_%s" % (
                              p["name"], p["failureDomain"]), "failure_domain": p["failureDomain"],
                          "type": "replicated", "pg_state": st})
    if inactive:
        check("PG_AVAILABILITY", "HEALTH_WARN", "Reduced data availability: %d pgs inactive" % inactive, inactive)
    if undersized:
        check("PG_DEGRADED", "HEALTH_WARN", "Degraded data redundancy: %d pgs undersized" % undersized, undersized)
    if no_redundancy:
        check("POOL_NO_REDUNDANCY", "HEALTH_WARN", "%d pool(s) have no replicas configured" % len(no_redundancy),
              len(no_redundancy))
    status = "HEALTH_OK"
    if checks:
        status = "HEALTH_ERR" if any(c["severity"] == "HEALTH_ERR" for c in checks.values()) else "HEALTH_WARN"
    total = sum(o["size"] for o in up_osds)
    used = len(up_osds) * 27 * 1024 * 1024
    t = rfc3339()
    ceph = {
        "fsid": fsid,
        "health": {"status": status, "checks": {k: {kk: vv for kk, vv in v.items() if kk != "detail"}
                                                for k, v in checks.items()}, "mutes": []},
        "election_epoch": 2 * max(1, num_mons) + 2, "quorum": [i for i, (m, _) in enumerate(placed) if m in mons_up],
        "quorum_names": list(mons_up), "quorum_age": 120,
        "monmap": {"epoch": max(1, num_mons), "min_mon_release_name": "tentacle", "num_mons": num_mons},
        "osdmap": {"epoch": 5 + 2 * len(osds) + len(down), "num_osds": len(osds), "num_up_osds": len(up_osds),
                   "osd_up_since": int(time.time()) - 60, "num_in_osds": len(osds), "osd_in_since": int(time.time()) - 60,
                   "num_remapped_pgs": 0},
        "pgmap": {"pgs_by_state": [{"state_name": k, "count": v} for k, v in sorted(states.items())],
                  "num_pgs": sum(states.values()), "num_pools": len(pool_info), "num_objects": 0, "data_bytes": 0,
                  "bytes_used": used, "bytes_avail": max(0, total - used), "bytes_total": total},
        "fsmap": {"epoch": 1, "by_rank": [], "up:standby": 0},
        "mgrmap": {"available": bool(mgr_up), "num_standbys": max(0, len(mgr_up) - 1),
                   "modules": ["dashboard", "iostat", "nfs", "prometheus", "restful"], "services": {}},
        "servicemap": {"epoch": 1, "modified": t, "services": {}},
        "progress_events": {}}
    tree_nodes = [{"id": -1, "name": "default", "type": "root", "type_id": 11, "children": []}]
    hid = -2
    for h in sorted({o["host"] for o in osds}):
        mine = [o for o in osds if o["host"] == h]
        tree_nodes[0]["children"].append(hid)
        tree_nodes.append({"id": hid, "name": h, "type": "host", "type_id": 1, "pool_weights": {},
                           "children": [o["id"] for o in mine]})
        for o in mine:
            tree_nodes.append({"id": o["id"], "device_class": "hdd", "name": "osd.%d" % o["id"], "type": "osd",
                               "type_id": 0, "crush_weight": round(o["size"] / 2 ** 40, 5), "depth": 2,
                               "pool_weights": {}, "exists": 1, "status": "up" if o["up"] else "down",
                               "reweight": 1, "primary_affinity": 1})
        hid -= 1
    ceph_detail = {k: v.get("detail", []) for k, v in checks.items()}
    return {"ceph": dict(ceph, _detail=ceph_detail), "pools": pool_info, "tree": {"nodes": tree_nodes, "stray": []},
            "quorum": quorum, "pool_objects": pool_objects}


# ------------------------------------------------------------------ the ceph CLI

def _fmt(args):
    fmt, rest = None, []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-f", "--format"):
            fmt = args[i + 1] if i + 1 < len(args) else None
            i += 2
            continue
        if a.startswith("--format="):
            fmt = a.split("=", 1)[1]
        elif a in ("--connect-timeout",):
            i += 2
            continue
        else:
            rest.append(a)
        i += 1
    return fmt, rest


def _dump(obj, fmt):
    if fmt == "json-pretty":
        return json.dumps(obj, indent=4) + "\n"
    return json.dumps(obj, separators=(",", ":")) + "\n"


def health_text(st, detail=False):
    h = st["health"]
    if h["status"] == "HEALTH_OK":
        return "HEALTH_OK\n"
    msgs = [c["summary"]["message"] for c in h["checks"].values()]
    if not detail:
        return "%s %s\n" % (h["status"], "; ".join(msgs))
    lines = ["%s %s" % (h["status"], "; ".join(msgs))]
    for name, c in h["checks"].items():
        lines.append("[%s] %s: %s" % ("WRN" if c["severity"] == "HEALTH_WARN" else "ERR", name, c["summary"]["message"]))
        for d in (st.get("_detail") or {}).get(name) or []:
            lines.append("    " + d["message"])
    return "\n".join(lines) + "\n"


def status_text(st):
    h = st["health"]
    o, p = st["osdmap"], st["pgmap"]
    lines = ["  cluster:", "    id:     %s" % st["fsid"], "    health: %s" % h["status"]]
    for c in h["checks"].values():
        lines.append("            %s" % c["summary"]["message"])
    lines += ["", "  services:",
              "    mon: %d daemons, quorum %s (age 2m)" % (st["monmap"]["num_mons"], ",".join(st["quorum_names"])),
              "    mgr: %s" % ("a(active)" if st["mgrmap"]["available"] else "no daemons active"),
              "    osd: %d osds: %d up, %d in" % (o["num_osds"], o["num_up_osds"], o["num_in_osds"]), "",
              "  data:", "    pools:   %d pools, %d pgs" % (p["num_pools"], p["num_pgs"]),
              "    objects: 0 objects, 0 B",
              "    usage:   %d MiB used, %d MiB / %d MiB avail" % (p["bytes_used"] >> 20, p["bytes_avail"] >> 20,
                                                                  p["bytes_total"] >> 20),
              "    pgs:     %s" % (", ".join("%d %s" % (s["count"], s["state_name"]) for s in p["pgs_by_state"])
                                   or "")]
    return "\n".join(lines) + "\n"


def ceph_cli(state, args):
    """-> (stdout, stderr, rc)"""
    fmt, words = _fmt(args)
    if words[:1] in (["version"], ["--version"], ["-v"]):
        # Ceph Tentacle 20.2.4, Rook v1.20.6's default (versions.md); the commit hash is the lab's
        return "ceph version 20.2.4 (%s) tentacle (stable)\n" % ("0" * 40), "", 0
    if state is None:
        return "", ("Error initializing cluster client: ObjectNotFound('RADOS object not found (error calling "
                    "conf_read_file)')\n"), 1
    if not state.get("quorum"):
        time.sleep(2)
        return "", "[errno 110] RADOS timed out (error connecting to the cluster)\n", 1
    st = state["ceph"]
    pools = state["pools"]
    pub = {k: v for k, v in st.items() if not k.startswith("_")}
    if words in (["status"], ["-s"], ["s"]) or words == []:
        return (_dump(pub, fmt) if fmt and fmt.startswith("json") else status_text(st)), "", 0
    if words[:1] == ["health"]:
        detail = words[1:2] == ["detail"]
        if fmt and fmt.startswith("json"):
            h = dict(st["health"])
            if detail:
                h = {"status": h["status"], "checks": {k: dict(v, detail=(st.get("_detail") or {}).get(k, []))
                                                       for k, v in h["checks"].items()}, "mutes": []}
            return _dump(h, fmt), "", 0
        return health_text(st, detail), "", 0
    if words[:3] == ["osd", "pool", "ls"]:
        if fmt and fmt.startswith("json"):
            return _dump([p["pool_name"] for p in pools] if words[3:4] != ["detail"] else pools, fmt), "", 0
        return "".join(p["pool_name"] + "\n" for p in pools), "", 0
    if words[:3] == ["osd", "pool", "get"]:
        if len(words) < 5:
            return "", "Invalid command: missing required parameter var(size|min_size|pg_num|...)\nosd pool get <pool> " \
                       "<var>...\nError EINVAL: invalid command\n", 22
        pool = next((p for p in pools if p["pool_name"] == words[3]), None)
        if pool is None:
            return "", "Error ENOENT: unrecognized pool '%s'\n" % words[3], 2
        var = words[4]
        keys = {"size": pool["size"], "min_size": pool["min_size"], "pg_num": pool["pg_num"],
                "pgp_num": pool["pgp_num"], "crush_rule": pool["crush_rule"]}
        if var == "all":
            if fmt and fmt.startswith("json"):
                return _dump(dict({"pool": pool["pool_name"], "pool_id": pool["pool_id"]}, **keys), fmt), "", 0
            return "".join("%s: %s\n" % kv for kv in keys.items()), "", 0
        if var not in keys:
            return "", "Error EINVAL: invalid var '%s'\n" % var, 22
        if fmt and fmt.startswith("json"):
            return _dump({"pool": pool["pool_name"], "pool_id": pool["pool_id"], var: keys[var]}, fmt), "", 0
        return "%s: %s\n" % (var, keys[var]), "", 0
    if words[:2] == ["osd", "tree"]:
        tree = state["tree"]
        if fmt and fmt.startswith("json"):
            return _dump(tree, fmt), "", 0
        lines = ["ID  CLASS  WEIGHT   TYPE NAME       STATUS  REWEIGHT  PRI-AFF"]
        for n in tree["nodes"]:
            if n["type"] == "root":
                lines.append("%-3d         0.00000  root %s" % (n["id"], n["name"]))
            elif n["type"] == "host":
                lines.append("%-3d         0.00000      host %s" % (n["id"], n["name"]))
            else:
                lines.append(" %-2d  hdd    %.5f          %-10s %-7s 1.00000  1.00000" % (
                    n["id"], n["crush_weight"], n["name"], n["status"]))
        return "\n".join(lines) + "\n", "", 0
    if words[:2] == ["osd", "stat"]:
        o = st["osdmap"]
        if fmt and fmt.startswith("json"):
            return _dump({"epoch": o["epoch"], "num_osds": o["num_osds"], "num_up_osds": o["num_up_osds"],
                          "num_in_osds": o["num_in_osds"], "num_remapped_pgs": 0}, fmt), "", 0
        return "%d osds: %d up (since 60s), %d in (since 60s); epoch: e%d\n" % (
            o["num_osds"], o["num_up_osds"], o["num_in_osds"], o["epoch"]), "", 0
    if words[:2] in (["mon", "stat"], ["quorum_status"]):
        q = {"election_epoch": st["election_epoch"], "quorum": st["quorum"], "quorum_names": st["quorum_names"],
             "quorum_leader_name": (st["quorum_names"] or [""])[0], "quorum_age": st["quorum_age"]}
        if fmt and fmt.startswith("json") or words == ["quorum_status"]:
            return _dump(q, fmt or "json"), "", 0
        return "e%d: %d mons, quorum %s\n" % (st["monmap"]["epoch"], st["monmap"]["num_mons"],
                                             ",".join(st["quorum_names"])), "", 0
    if words[:1] == ["df"]:
        p = st["pgmap"]
        d = {"stats": {"total_bytes": p["bytes_total"], "total_avail_bytes": p["bytes_avail"],
                       "total_used_bytes": p["bytes_used"], "total_used_raw_bytes": p["bytes_used"]},
             "pools": [{"name": x["pool_name"], "id": x["pool_id"], "stats": {"stored": 0, "objects": 0,
                                                                              "max_avail": p["bytes_avail"] // max(
                                                                                  1, x["size"])}} for x in pools]}
        return _dump(d, fmt or "json") if fmt else ("TOTAL %d %d %d\n" % (p["bytes_total"], p["bytes_avail"],
                                                                           p["bytes_used"])), "", 0
    return "", ("no valid command found; 10 closest matches:\nstatus\nhealth [<detail:detail>]\nosd pool ls [<detail:"
                "detail>]\nosd pool get <pool> <var>\nosd tree\nosd stat\nmon stat\nquorum_status\ndf\nversion\n"
                "Error EINVAL: invalid command\n"), 22


def exec_in_pod(store, pod, container, cmd):
    if not cmd:
        return "", "error: you must specify at least one command for the container\n", 1
    prog = cmd[0].rsplit("/", 1)[-1]
    if prog == "ceph":
        ns = pod["metadata"]["namespace"]
        reg = store.registry()
        cm = store.get(reg.by_path("", "v1", "configmaps"), ns, "rook-ceph-lab-status")
        state = None
        if cm:
            d = cm.get("data") or {}
            ceph = json.loads(d.get("status.json", "{}"))
            state = {"ceph": ceph, "pools": json.loads(d.get("pools.json", "[]")),
                     "tree": json.loads(d.get("tree.json", "{}")),
                     "quorum": bool(ceph.get("quorum_names")) and len(ceph.get("quorum_names") or []) >
                     (ceph.get("monmap") or {}).get("num_mons", 0) // 2}
        return ceph_cli(state, cmd[1:])
    if prog == "true":
        return "", "", 0
    if prog == "false":
        return "", "", 1
    if prog == "echo":
        return " ".join(cmd[1:]) + "\n", "", 0
    if prog == "hostname":
        return pod["metadata"]["name"] + "\n", "", 0
    if prog in ("sh", "bash") and cmd[1:2] == ["-c"] and len(cmd) > 2 and re.fullmatch(r"exit (\d+)", cmd[2].strip()):
        return "", "", int(cmd[2].split()[1])
    if prog in ("sh", "bash") and cmd[1:2] == ["-c"] and len(cmd) > 2 and cmd[2].strip().startswith("ceph "):
        return exec_in_pod(store, pod, container, cmd[2].split())
    return "", ('OCI runtime exec failed: exec failed: unable to start container process: exec: "%s": executable file '
                'not found in $PATH: unknown\n' % cmd[0]), 126
