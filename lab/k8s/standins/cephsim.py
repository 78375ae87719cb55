"""Ceph simulation: the cluster state Rook would produce (computed by the controller-manager from
the Rook deployments, the devices the kubelets report and the pools), and the `ceph` CLI answers for
`kubectl exec deploy/rook-ceph-tools -- ceph ...` (shapes follow Ceph's JSON output).

Placement groups are placed like CRUSH places them (per PG, `size` distinct failure domains among
the OSDs that are "in", by a deterministic straw hash) and remember which OSDs hold a complete copy.
When the mapping changes (`ceph osd out`, a new OSD) the missing copies are backfilled from a live
copy; that takes time (/etc/cairn-lab/ceph-recovery-seconds on the host of the controller-manager
that computes, default 30 s; each PG finishes between half and all of it): the PG is
`active+remapped+backfill_wait` then `+backfilling`, with `undersized+degraded` while it has fewer
live copies than it had, and `active+clean` once every copy is in place (copies left on OSDs that
are no longer mapped are dropped then). A PG with no live copy is `down` (copies on down OSDs) or
`incomplete` (every copy was on purged OSDs: the data is lost). Pools hold no objects (the files
of volumes are kept apart, per PG, by volumedata.py), so no object counts are simulated; a PG is
taken to hold data once it has been active+clean (before that, OSDs that join it are complete at
once: a cluster being built waits for no backfill).

`ceph osd out|in|down|purge|safe-to-destroy|ok-to-stop` are answered (the mutating ones write the
ConfigMap rook-ceph-lab-osdmap, which the next computation reads), with Ceph's words (mgr
DaemonServer.cc, mon OSDMonitor.cc as read for this lab)."""
import hashlib
import json
import os
import re
import time
import uuid

import volumedata
from common import LAB_STATE, rfc3339

PG_NUM = 32
OSDMAP_CM = "rook-ceph-lab-osdmap"
RECOVERY_KNOB = os.path.join(LAB_STATE, "ceph-recovery-seconds")
DEFAULT_RECOVERY = 30.0
# Ceph's state names in the order pg_state_string prints them (the subset the lab uses)
STATE_ORDER = ["active", "clean", "down", "undersized", "degraded", "remapped", "backfill_wait", "backfilling",
               "incomplete", "peered"]


def recovery_seconds():
    """How long a backfill takes (the lab's knob; scripts/lab-k8s fault LAB HOST ceph-recovery SECONDS)."""
    try:
        with open(RECOVERY_KNOB) as f:
            return max(0.0, float(f.read().strip()))
    except (OSError, ValueError):
        return DEFAULT_RECOVERY


def _straw(*parts):
    return int(hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:12], 16)


def crush_map(pgid, size, failure_domain, in_osds):
    """The OSDs CRUSH maps a PG to: `size` distinct hosts (failureDomain host), zones (failureDomain
    zone: Rook puts each OSD under its node's topology.kubernetes.io/zone) or OSDs, among the OSDs
    that are in (whether up or not: down ones leave a hole in the up set)."""
    if failure_domain in ("host", "zone"):
        domains = sorted({o[failure_domain] for o in in_osds},
                         key=lambda d: -_straw(pgid, failure_domain, d))[:size]
        return [max((o for o in in_osds if o[failure_domain] == d), key=lambda o: _straw(pgid, "osd", o["id"]))["id"]
                for d in domains]
    return [o["id"] for o in sorted(in_osds, key=lambda o: -_straw(pgid, "osd", o["id"]))[:size]]


def state_string(flags):
    return "+".join(f for f in STATE_ORDER if f in flags)


def _plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def _avail(d):
    return (d.get("status") or {}).get("availableReplicas", 0) >= 1


def _node_lost(node):
    """A node whose Ready condition is False or Unknown: its network is taken to be gone, so its
    daemons miss their heartbeats and Ceph marks them down (real Ceph: after osd_heartbeat_grace;
    the lab: when the node controller marks the Node NotReady, 40 s without a heartbeat). A node
    with no Ready condition yet counts as present. Deviation: a node whose kubelet alone stopped
    keeps its daemons up in a real cluster."""
    for c in ((node or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") != "True"
    return False


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


def compute(kcm, cl, ns, deps, placed, mon_count, messages, osdmap=None, prev_pgs=None, t=None, recovery=None):
    """The Ceph cluster state. osdmap: the ConfigMap rook-ceph-lab-osdmap's {"out": {id: time},
    "purged": {id: time}}; prev_pgs: the placement groups of the previous computation (their copies and
    backfills); t: now (time.time()); recovery: seconds a backfill takes."""
    t = time.time() if t is None else t
    recovery = recovery_seconds() if recovery is None else recovery
    osdmap = osdmap or {}
    out_at = {int(k): v for k, v in (osdmap.get("out") or {}).items()}
    purged_at = {int(k): v for k, v in (osdmap.get("purged") or {}).items()}
    prev_pgs = prev_pgs or {}
    fsid = str(uuid.UUID(cl["metadata"]["uid"])) if cl["metadata"].get("uid") else str(uuid.uuid4())
    by_name = {d["metadata"]["name"]: d for d in deps}
    nodes = {n["metadata"]["name"]: n for n in kcm.nodes}
    mons_up = [mid for mid, where in placed if _avail(by_name.get("rook-ceph-mon-" + mid, {}))
               and not _node_lost(nodes.get(where))]
    num_mons = len(placed)
    quorum = num_mons > 0 and len(mons_up) > num_mons // 2
    mgrs = [d for n, d in by_name.items() if n.startswith("rook-ceph-mgr-")]
    mgr_up = [d for d in mgrs if _avail(d)]
    osds = []
    for n, d in sorted(by_name.items()):
        if not n.startswith("rook-ceph-osd-") or n.startswith("rook-ceph-osd-prepare"):
            continue
        oid = int(n.rsplit("-", 1)[1])
        if oid in purged_at:
            continue          # purged: gone from the OSD map (a deployment left behind cannot rejoin)
        node = d["spec"]["template"]["spec"].get("nodeSelector", {}).get("kubernetes.io/hostname")
        dev = (d["metadata"].get("annotations") or {}).get("lab.cairn.dev/device", "")
        size = int((d["metadata"].get("annotations") or {}).get("lab.cairn.dev/size", "0") or 0)
        up = _avail(d) and not _osd_down_fault(nodes.get(node), dev, oid) and not _node_lost(nodes.get(node))
        labels = (nodes.get(node) or {}).get("metadata", {}).get("labels") or {}
        osds.append({"id": oid, "host": node, "zone": labels.get("topology.kubernetes.io/zone") or node,
                     "device": dev, "size": size, "up": up, "in": oid not in out_at})
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
    by_id = {o["id"]: o for o in osds}
    in_osds = [o for o in osds if o["in"]]
    states = {}
    pgs = {}
    pool_objects = []
    no_redundancy = []
    pool_info = []
    for i, p in enumerate(pools):
        size = p["size"]
        if size == 1 and p["requireSafe"]:
            msg = ("failed to create pool \"%s\": error creating replicated pool: pool size 1 is not allowed when "
                   "requireSafeReplicaSize is true" % p["name"])
            pool_objects.append(dict(p, ok=False, message=msg))
            continue
        pool_objects.append(dict(p, ok=True, message=""))
        min_size = size - size // 2
        pool_states = []
        for n in range(p["pg_num"]):
            pgid = "%d.%x" % (i + 1, n)
            pg = place_pg(pgid, size, min_size, p["failureDomain"], in_osds, by_id, prev_pgs.get(pgid), purged_at,
                          t, recovery)
            pg["pool"] = p["name"]
            pgs[pgid] = pg
            states[pg["state"]] = states.get(pg["state"], 0) + 1
            pool_states.append(pg["state"])
        if size == 1:
            no_redundancy.append(p["name"])
        inactive_states = [st for st in pool_states if not st.startswith("active")]
        pool_info.append({"pool_id": i + 1, "pool_name": p["name"], "size": size, "min_size": min_size,
                          "pg_num": p["pg_num"], "pgp_num": p["pg_num"], "crush_rule": "%s_%s" % (
                              p["name"], p["failureDomain"]), "failure_domain": p["failureDomain"],
                          "type": "replicated",
                          "pg_state": inactive_states[0] if inactive_states else (
                              pool_states[0] if len(set(pool_states)) == 1 else "active")})
    pg_health(pgs, pools, check)
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
        "osdmap": {"epoch": 5 + 2 * len(osds) + len(down) + 2 * len(out_at) + 2 * len(purged_at),
                   "num_osds": len(osds), "num_up_osds": len(up_osds),
                   "osd_up_since": int(time.time()) - 60, "num_in_osds": len(in_osds),
                   "osd_in_since": int(time.time()) - 60,
                   "num_remapped_pgs": len([g for g in pgs.values() if "remapped" in g["state"]])},
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
                               "reweight": 1 if o["in"] else 0, "primary_affinity": 1})
        hid -= 1
    ceph_detail = {k: v.get("detail", []) for k, v in checks.items()}
    return {"ceph": dict(ceph, _detail=ceph_detail), "pools": pool_info, "tree": {"nodes": tree_nodes, "stray": []},
            "quorum": quorum, "pool_objects": pool_objects, "pgs": pgs,
            "osds": [{k: o[k] for k in ("id", "host", "up", "in", "device")} for o in osds]}


def place_pg(pgid, size, min_size, failure_domain, in_osds, by_id, prev, purged_at, t, recovery):
    """One placement group now: its up set (CRUSH), the OSDs holding a complete copy, a backfill in
    progress, and its state. `prev` is what the previous computation left ({"holders", "peak",
    "target", "since", "done"}), None for a new PG (created on its up set: an empty pool is complete)."""
    raw = crush_map(pgid, size, failure_domain, in_osds)
    up = [o for o in raw if by_id[o]["up"]]
    if not (prev or {}).get("created"):
        prev = {"holders": list(up), "peak": len(up), "created": bool(up)}
    # a copy on an OSD purged before now is gone; whether a backfill that should have finished before
    # the purge could read from it is decided with the purge time below
    all_holders = [int(o) for o in prev.get("holders") or []]
    holders = [o for o in all_holders if o not in purged_at and o in by_id]
    alive = [o for o in holders if by_id[o]["up"]]
    missing = [o for o in up if o not in holders]
    target, since, done = prev.get("target"), prev.get("since"), prev.get("done")
    created = prev.get("created", False) or bool(up)
    if missing and not prev.get("clean_once"):
        # the lab's model of data: a PG holds data only once it has been active+clean (nothing writes to
        # the pools of a cluster being built), so the OSDs that join while it was never clean need no
        # backfill: its first complete set is there at once
        holders = sorted(set(holders) | set(up))
        alive = [o for o in holders if by_id[o]["up"]]
        missing = []
    if missing and sorted(up) != target:
        target, since = sorted(up), t
        done = t + recovery * (0.5 + 0.5 * (_straw(pgid, "backfill") % 1000) / 1000.0)
    if missing and done is not None and t >= done:
        # finished if a copy could be read until then: a live holder, or one purged only after it
        sources = [o for o in all_holders if (o in alive) or (o in purged_at and purged_at[o] >= done)]
        if sources:
            holders = sorted(set(alive) | set(up))
            alive = [o for o in holders if o in by_id and by_id[o]["up"]]
            missing = []
    flags = set()
    if not missing:
        acting = list(up)
        target = since = done = None
    else:
        acting = list(alive)          # pg_temp: the old copies serve while the new ones fill
        flags.add("remapped")
    n = len(acting)
    peak = min(size, max(int(prev.get("peak", 0)), 0))
    if n == 0:
        if holders:
            state = "down"                            # copies exist, on down OSDs only
        elif created and (all_holders or prev.get("lost")):
            state = "incomplete"                      # every copy was on OSDs purged since: the data is lost
        else:
            state = "unknown"                         # no OSD to map it to
    else:
        if n >= min_size:
            flags.add("active")
        else:
            flags.add("peered")
        if n < size:
            flags.add("undersized")
        if n < peak:
            flags.add("degraded")
        if not missing and n == size and "degraded" not in flags:
            flags.add("clean")
        if missing and alive:
            half = since + (done - since) / 2.0
            flags.add("backfilling" if t >= half else "backfill_wait")
        state = state_string(flags)
    if not missing:
        if "clean" in flags:
            holders = list(up)                        # a clean PG drops the copies it no longer maps
        peak = max(peak, min(size, n))
    return {"state": state, "up": up, "acting": acting, "holders": sorted(holders), "peak": peak,
            "target": target, "since": since, "done": done, "created": created, "lost": state == "incomplete",
            "clean_once": bool(prev.get("clean_once")) or "clean" in state.split("+")}


def pg_health(pgs, pools, check):
    """PG_AVAILABILITY and PG_DEGRADED as PGMap::get_health_checks words them (the detail lines of
    down and incomplete PGs are from memory of Ceph's output, not checked against a release)."""
    inactive = [g for g in pgs.values() if not g["state"].startswith("active")]
    if inactive:
        reasons = [_plural(len(inactive), "pg") + " inactive"]
        detail = []
        for word in ("down", "incomplete", "unknown"):
            these = sorted((k for k, g in pgs.items() if word in g["state"].split("+")), key=_pg_key)
            if these:
                reasons.append(_plural(len(these), "pg") + " " + word)
            for k in these:
                g = pgs[k]
                if word == "incomplete":
                    pool = next((p for p in pools if p["name"] == g["pool"]), {})
                    size = pool.get("size", 3)
                    detail.append("pg %s is incomplete, acting [%s] (reducing pool %s min_size from %d may help; search "
                                  "ceph.com/docs for 'incomplete')" % (k, ",".join(map(str, g["up"])), g["pool"],
                                                                      size - size // 2))
                elif word == "down":
                    detail.append("pg %s is down, acting [%s]" % (k, ",".join(map(str, g["up"]))))
        check("PG_AVAILABILITY", "HEALTH_WARN", "Reduced data availability: " + ", ".join(reasons), len(inactive),
              detail)
    degraded = [g for g in pgs.values() if "degraded" in g["state"].split("+")]
    undersized = [g for g in pgs.values() if "undersized" in g["state"].split("+")]
    if degraded or undersized:
        parts = ([_plural(len(degraded), "pg") + " degraded"] if degraded else []) + \
            ([_plural(len(undersized), "pg") + " undersized"] if undersized else [])
        check("PG_DEGRADED", "HEALTH_WARN", "Degraded data redundancy: " + ", ".join(parts),
              len(set(map(id, degraded)) | set(map(id, undersized))))


def _pg_key(pgid):
    pool, n = pgid.split(".")
    return int(pool), int(n, 16)


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
              "    osd: %d osds: %d up, %d in%s" % (o["num_osds"], o["num_up_osds"], o["num_in_osds"],
                                                 "; %d remapped pgs" % o["num_remapped_pgs"]
                                                 if o.get("num_remapped_pgs") else ""), "",
              "  data:", "    pools:   %d pools, %d pgs" % (p["num_pools"], p["num_pgs"]),
              "    objects: 0 objects, 0 B",
              "    usage:   %d MiB used, %d MiB / %d MiB avail" % (p["bytes_used"] >> 20, p["bytes_avail"] >> 20,
                                                                  p["bytes_total"] >> 20),
              "    pgs:     %s" % (", ".join("%d %s" % (s["count"], s["state_name"]) for s in p["pgs_by_state"])
                                   or "")]
    return "\n".join(lines) + "\n"


EBUSY, EAGAIN, EINVAL, EPERM = 16, 11, 22, 1


def _osd_ids(words):
    """OSDMap::parse_osd_id_list: osd.N or N -> ids, or an error text."""
    ids = []
    for w in words:
        n = w[4:] if w.startswith("osd.") else w
        if not n.isdigit():
            return None, "Error EINVAL: invalid osd id %s\n" % w
        ids.append(int(n))
    return ids, None


def _safe_to_destroy(state, ids):
    """DaemonServer's check for `osd safe-to-destroy|destroy|purge`: (rc, message, sets)."""
    pgs = state.get("pgs") or {}
    osds = {o["id"]: o for o in state.get("osds") or []}
    unknown = [g for g in pgs.values() if g["state"] == "unknown"]
    sets = {"safe_to_destroy": [], "active": [], "missing_stats": [], "stored_pgs": []}
    if unknown:
        return EAGAIN, "%d pgs have unknown state; cannot draw any conclusions" % len(unknown), sets
    all_clean = all({"active", "clean"} <= set(g["state"].split("+")) for g in pgs.values())
    affected = 0
    for i in ids:
        if i not in osds:
            sets["safe_to_destroy"].append(i)
            continue
        acting = len([g for g in pgs.values() if i in g["acting"]])
        up_not_acting = len([g for g in pgs.values() if i in g["up"] and i not in g["acting"]])
        if acting or up_not_acting:
            sets["active"].append(i)
            affected += acting + up_not_acting
            continue
        if not all_clean:
            if not osds[i]["up"]:
                sets["missing_stats"].append(i)
                continue
            if any(i in g["holders"] for g in pgs.values()):
                sets["stored_pgs"].append(i)
                continue
        sets["safe_to_destroy"].append(i)
    j = lambda xs: ",".join(str(x) for x in sorted(xs))
    if not (sets["active"] or sets["missing_stats"] or sets["stored_pgs"]):
        return 0, "OSD(s) %s are safe to destroy without reducing data durability." % j(ids), sets
    msg = ""
    if sets["safe_to_destroy"]:
        msg += "OSD(s) %s are safe to destroy without reducing data durability. " % j(sets["safe_to_destroy"])
    if sets["active"]:
        msg += "OSD(s) %s have %d pgs currently mapped to them. " % (j(sets["active"]), affected)
    if sets["missing_stats"]:
        msg += ("OSD(s) %s have no reported stats, and not all PGs are active+clean; we cannot draw any conclusions. "
                % j(sets["missing_stats"]))
    if sets["stored_pgs"]:
        msg += ("OSD(s) %s last reported they still store some PG data, and not all PGs are active+clean; we cannot "
                "be sure they aren't still needed." % j(sets["stored_pgs"]))
    return (EBUSY if sets["active"] or sets["stored_pgs"] else EAGAIN), msg, sets


def _err(rc, msg):
    name = {EBUSY: "EBUSY", EAGAIN: "EAGAIN", EINVAL: "EINVAL", EPERM: "EPERM", 2: "ENOENT"}[rc]
    return "Error %s: %s\n" % (name, msg.rstrip())


def osd_command(state, words, fmt, osdmap, now):
    """`ceph osd out|in|down|purge|safe-to-destroy|ok-to-stop`; out/in/purge change `osdmap` (the
    ConfigMap rook-ceph-lab-osdmap's data) and mark it "_changed"."""
    verb = words[1]
    flags = {w for w in words[2:] if w.startswith("--")}
    ids, err = _osd_ids([w for w in words[2:] if not w.startswith("--") and not w.startswith("-")])
    if err:
        return "", err, EINVAL
    osds = {o["id"]: o for o in state.get("osds") or []}
    outs = osdmap.setdefault("out", {})
    purged = osdmap.setdefault("purged", {})
    if verb in ("out", "in", "down"):
        if not ids:
            return "", _err(EINVAL, "must specify one or more OSDs"), EINVAL   # (the lab's words)
        msgs = []
        for i in ids:
            if i not in osds:
                msgs.append("osd.%d does not exist. " % i)
            elif verb == "out":
                if str(i) in outs:
                    msgs.append("osd.%d is already out. " % i)
                else:
                    outs[str(i)] = now
                    osdmap["_changed"] = True
                    msgs.append("marked out osd.%d. " % i)
            elif verb == "in":
                if str(i) not in outs:
                    msgs.append("osd.%d is already in. " % i)
                else:
                    del outs[str(i)]
                    osdmap["_changed"] = True
                    msgs.append("marked in osd.%d. " % i)
            else:
                # a running OSD daemon reports itself up again at once: no lasting effect in the lab
                msgs.append(("marked down osd.%d. " if osds[i]["up"] else "osd.%d is already down. ") % i)
        return "", "".join(msgs).rstrip() + "\n", 0
    if verb == "safe-to-destroy":
        if not ids:
            return "", _err(EINVAL, "must specify one or more OSDs"), EINVAL
        rc, msg, sets = _safe_to_destroy(state, ids)
        if fmt and fmt.startswith("json") and not (rc == EAGAIN and not any(sets.values())):
            return _dump({"safe_to_destroy": sets["safe_to_destroy"], "active": sets["active"],
                          "missing_stats": sets["missing_stats"], "stored_pgs": sets["stored_pgs"]}, fmt), "", 0
        return "", (msg + "\n" if rc == 0 else _err(rc, msg)), rc
    if verb == "ok-to-stop":
        if not ids:
            return "", _err(EINVAL, "must specify one or more OSDs"), EINVAL
        pgs = state.get("pgs") or {}
        unknown = [g for g in pgs.values() if g["state"] == "unknown"]
        if unknown:
            return "", _err(EAGAIN, "%d pgs have unknown state; cannot draw any conclusions" % len(unknown)), EAGAIN
        sizes = {p["pool_name"]: p["min_size"] for p in state.get("pools") or []}
        bad, degraded, ok = [], [], 0
        for k in sorted(pgs, key=_pg_key):
            g = pgs[k]
            hit = [i for i in ids if i in g["acting"]]
            if not hit:
                ok += 1
                continue
            left = [o for o in g["acting"] if o not in ids]
            if not g["state"].startswith("active") or len(left) < sizes.get(g["pool"], 2):
                bad.append(k)
            else:
                ok += 1
                degraded.append(k)
        report = {"ok_to_stop": not bad, "osds": sorted(set(ids)), "num_ok_pgs": ok, "num_not_ok_pgs": len(bad)}
        if bad:
            report["bad_become_inactive"] = bad
        if degraded:
            report["ok_become_degraded"] = degraded
        body = json.dumps(report, separators=(",", ":")) + "\n"
        if bad:
            return body, _err(EBUSY, "unsafe to stop osd(s) at this time (%d PGs are or would become offline)" %
                              len(bad)), EBUSY
        return body, "", 0
    if verb == "purge":
        if len(ids) != 1:
            return "", _err(EINVAL, "must specify OSD id"), EINVAL
        i = ids[0]
        force = "--force" in flags or "--yes-i-really-mean-it" in flags
        rc, msg, _ = _safe_to_destroy(state, ids)
        if rc and not force:
            return "", _err(rc, msg + "\nYou can proceed by passing --force, but be warned that this will likely mean "
                            "real, permanent data loss."), rc
        if i not in osds:
            return "", "osd.%d does not exist\n" % i, 0
        if osds[i]["up"]:
            return "", _err(EBUSY, "osd.%d is not `down`." % i), EBUSY
        purged[str(i)] = now
        outs.pop(str(i), None)
        osdmap["_changed"] = True
        return "", "purged osd.%d\n" % i, 0
    return None


def ceph_cli(state, args, osdmap=None, now=None):
    """-> (stdout, stderr, rc). `osdmap`: the data of ConfigMap rook-ceph-lab-osdmap, changed in place by
    `ceph osd out|in|purge` (then marked "_changed")."""
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
    if words[:2] in (["osd", "out"], ["osd", "in"], ["osd", "down"], ["osd", "purge"], ["osd", "safe-to-destroy"],
                     ["osd", "ok-to-stop"]):
        return osd_command(state, words, fmt, osdmap if osdmap is not None else {}, time.time() if now is None else now)
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
                lines.append(" %-2d  hdd    %.5f          %-10s %-7s %.5f  1.00000" % (
                    n["id"], n["crush_weight"], n["name"], n["status"], n.get("reweight", 1)))
        return "\n".join(lines) + "\n", "", 0
    if words[:2] == ["osd", "stat"]:
        o = st["osdmap"]
        if fmt and fmt.startswith("json"):
            return _dump({"epoch": o["epoch"], "num_osds": o["num_osds"], "num_up_osds": o["num_up_osds"],
                          "num_in_osds": o["num_in_osds"], "num_remapped_pgs": o.get("num_remapped_pgs", 0)}, fmt), "", 0
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
                "detail>]\nosd pool get <pool> <var>\nosd tree\nosd stat\nosd out <ids>...\nosd purge <id> "
                "[--force] [--yes-i-really-mean-it]\nosd safe-to-destroy <ids>...\nosd ok-to-stop <ids>...\n"
                "Error EINVAL: invalid command\n"), 22


def exec_in_pod(store, pod, container, cmd, stdin=b""):
    """(stdout, stderr, exit code) of `kubectl exec`: file programs on the pod's Ceph volumes
    (volumedata.py; stdout in bytes), the ceph CLI, a few shell words."""
    if not cmd:
        return "", "error: you must specify at least one command for the container\n", 1
    on_volume = volumedata.run(store, pod, container, cmd, stdin)
    if on_volume is not None:
        return on_volume
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
                     "pgs": json.loads(d.get("pgs.json", "{}")), "osds": json.loads(d.get("osds.json", "[]")),
                     "quorum": bool(ceph.get("quorum_names")) and len(ceph.get("quorum_names") or []) >
                     (ceph.get("monmap") or {}).get("num_mons", 0) // 2}
        res = reg.by_path("", "v1", "configmaps")
        omcm = store.get(res, ns, OSDMAP_CM)
        osdmap = json.loads(((omcm or {}).get("data") or {}).get("osdmap.json") or "{}")
        out, err, rc = ceph_cli(state, cmd[1:], osdmap)
        if osdmap.pop("_changed", False):
            body = {"osdmap.json": json.dumps(osdmap, sort_keys=True)}
            if omcm is None:
                store.create(res, ns, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": OSDMAP_CM, "namespace": ns}, "data": body})
            else:
                omcm["data"] = body
                store.update(res, ns, OSDMAP_CM, omcm, expect_rv=omcm["metadata"].get("resourceVersion"))
        return out, err, rc
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
