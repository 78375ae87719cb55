"""Ceph health computation, the ceph CLI shapes and the volumes' data path (no lab needed)."""
import hashlib
import json
import os
import unittest

import _path  # noqa: F401
import cephsim
import controllers
import volumedata
from store import StatusError


class FakeClient:
    def __init__(self, pools):
        self.pools = pools

    def get(self, path):
        if path.endswith("cephblockpools"):
            return {"items": self.pools}
        return {"items": []}


class FakeKCM:
    def __init__(self, nodes, pools):
        self.nodes = nodes
        self.c = FakeClient(pools)


def dep(name, node, avail=True, dev="/dev/loop0", size=1 << 30):
    return {"metadata": {"name": name, "annotations": {"lab.cairn.dev/device": dev, "lab.cairn.dev/size": str(size)}},
            "spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/hostname": node}}}},
            "status": {"availableReplicas": 1 if avail else 0}}


def node(name, osd_down=None, zone=None):
    ann = {} if osd_down is None else {"lab.cairn.dev/osd-down": osd_down}
    labels = {} if zone is None else {"topology.kubernetes.io/zone": zone}
    return {"metadata": {"name": name, "annotations": ann, "labels": labels}}


POOL = {"metadata": {"name": "replicapool"}, "spec": {"failureDomain": "host", "replicated": {"size": 3}}}
CL = {"metadata": {"uid": "0f7e5cf4-3b52-4c4e-9a63-33c2e5b9d1aa"}}
MONS = [("a", "n1"), ("b", "n2"), ("c", "n3")]


def deps(osd_hosts):
    d = [dep("rook-ceph-mon-" + m, n) for m, n in MONS] + [dep("rook-ceph-mgr-a", "n1")]
    for i, h in enumerate(osd_hosts):
        d.append(dep("rook-ceph-osd-%d" % i, h, dev="/dev/loop%d" % i))
    return d


class CephTests(unittest.TestCase):
    def compute(self, osd_hosts, nodes=None, pools=(POOL,), mons_down=()):
        ds = deps(osd_hosts)
        for d in ds:
            if d["metadata"]["name"] in ["rook-ceph-mon-" + m for m in mons_down]:
                d["status"]["availableReplicas"] = 0
        kcm = FakeKCM(nodes or [node("n1"), node("n2"), node("n3")], list(pools))
        return cephsim.compute(kcm, CL, "rook-ceph", ds, MONS, 3, [])

    def test_health_ok_with_three_osd_hosts(self):
        st = self.compute(["n1", "n2", "n3"])
        c = st["ceph"]
        self.assertEqual(c["health"]["status"], "HEALTH_OK")
        self.assertEqual(c["quorum_names"], ["a", "b", "c"])
        self.assertEqual((c["osdmap"]["num_osds"], c["osdmap"]["num_up_osds"], c["osdmap"]["num_in_osds"]), (3, 3, 3))
        self.assertEqual(c["pgmap"]["pgs_by_state"], [{"state_name": "active+clean", "count": 32}])

    def test_zone_failure_domain_puts_each_copy_in_another_zone(self):
        zoned = [node("n1", zone="a"), node("n2", zone="a"), node("n3", zone="b"), node("n4", zone="c")]
        pool = {"metadata": {"name": "replicapool"}, "spec": {"failureDomain": "zone", "replicated": {"size": 3}}}
        st = self.compute(["n1", "n2", "n3", "n4"], nodes=zoned, pools=(pool,))
        self.assertEqual(st["ceph"]["health"]["status"], "HEALTH_OK")
        zone_of = {o["id"]: {"n1": "a", "n2": "a", "n3": "b", "n4": "c"}[o["host"]] for o in st["osds"]}
        for pg in st["pgs"].values():
            self.assertEqual(sorted(zone_of[o] for o in pg["acting"]), ["a", "b", "c"])
        # two zones cannot hold three copies apart
        two = [node("n1", zone="a"), node("n2", zone="a"), node("n3", zone="b")]
        st = self.compute(["n1", "n2", "n3"], nodes=two, pools=(pool,))
        self.assertEqual(st["ceph"]["health"]["status"], "HEALTH_WARN")

    def test_too_few_osd_hosts_for_pool_size(self):
        st = self.compute(["n3", "n3", "n3"])
        h = st["ceph"]["health"]
        self.assertEqual(h["status"], "HEALTH_WARN")
        self.assertIn("PG_AVAILABILITY", h["checks"])
        self.assertEqual(h["checks"]["PG_DEGRADED"]["summary"]["message"], "Degraded data redundancy: 32 pgs undersized")

    def test_osd_down_fault(self):
        st = self.compute(["n1", "n2", "n3"], nodes=[node("n1"), node("n2"), node("n3", "all")])
        h = st["ceph"]["health"]
        self.assertEqual(h["checks"]["OSD_DOWN"]["summary"]["message"], "1 osds down")
        self.assertEqual(h["checks"]["OSD_HOST_DOWN"]["summary"]["message"], "1 host (1 osds) down")
        self.assertEqual(st["ceph"]["osdmap"]["num_up_osds"], 2)

    def test_mon_down_and_cli(self):
        st = self.compute(["n1", "n2", "n3"], mons_down=["c"])
        self.assertEqual(st["ceph"]["health"]["checks"]["MON_DOWN"]["summary"]["message"], "1/3 mons down, quorum a,b")
        out, err, rc = cephsim.ceph_cli(st, ["status", "-f", "json"])
        self.assertEqual(rc, 0)
        self.assertNotIn("_detail", json.loads(out))
        out, _, _ = cephsim.ceph_cli(st, ["health"])
        self.assertTrue(out.startswith("HEALTH_WARN 1/3 mons down, quorum a,b"))
        out, _, rc = cephsim.ceph_cli(st, ["osd", "pool", "get", "replicapool", "size"])
        self.assertEqual((out, rc), ("size: 3\n", 0))
        _, err, rc = cephsim.ceph_cli(st, ["osd", "pool", "get", "nope", "size"])
        self.assertEqual((err, rc), ("Error ENOENT: unrecognized pool 'nope'\n", 2))

    def test_no_quorum(self):
        st = self.compute(["n1"], mons_down=["b", "c"])
        self.assertFalse(st["quorum"])


class OsdRemovalTests(unittest.TestCase):
    """`ceph osd out`, backfill over time, safe-to-destroy and purge (DaemonServer.cc's words), with
    four OSD hosts and a pool of size 3 (failure domain host)."""
    HOSTS = ["n1", "n2", "n3", "n4"]

    def setUp(self):
        self.osdmap, self.pgs, self.down = {}, {}, set()

    def compute(self, t, recovery=10.0):
        ds = deps(self.HOSTS)
        for d in ds:
            if d["metadata"]["name"] in ["rook-ceph-osd-%d" % i for i in self.down]:
                d["status"]["availableReplicas"] = 0
        kcm = FakeKCM([node(h) for h in self.HOSTS], [POOL])
        st = cephsim.compute(kcm, CL, "rook-ceph", ds, MONS, 3, [], osdmap=self.osdmap, prev_pgs=self.pgs, t=t,
                             recovery=recovery)
        self.pgs = json.loads(json.dumps(st["pgs"]))        # what the ConfigMap keeps between computations
        return st

    def states(self, st):
        return {s["state_name"]: s["count"] for s in st["ceph"]["pgmap"]["pgs_by_state"]}

    def cli(self, st, *args, now=0.0):
        return cephsim.ceph_cli(st, list(args), self.osdmap, now=now)

    def test_out_backfills_over_time_then_safe_to_destroy_and_purge(self):
        st = self.compute(0.0)
        self.assertEqual(self.states(st), {"active+clean": 32})
        on3 = len([g for g in st["pgs"].values() if 3 in g["up"]])
        self.assertGreater(on3, 0)
        self.assertEqual(self.cli(st, "osd", "out", "osd.3", now=1.0), ("", "marked out osd.3.\n", 0))
        self.assertEqual(self.cli(st, "osd", "out", "3")[1], "osd.3 is already out.\n")
        st = self.compute(1.0)
        self.assertEqual(st["ceph"]["osdmap"]["num_in_osds"], 3)
        self.assertEqual(self.states(st), {"active+clean": 32 - on3, "active+remapped+backfill_wait": on3})
        self.assertEqual(st["ceph"]["osdmap"]["num_remapped_pgs"], on3)
        self.assertEqual(st["ceph"]["health"]["status"], "HEALTH_OK")      # remapped, not degraded: no warning
        out, err, rc = self.cli(st, "osd", "safe-to-destroy", "osd.3")
        self.assertEqual((out, err, rc), ("", "Error EBUSY: OSD(s) 3 have %d pgs currently mapped to them.\n" % on3,
                                          16))
        out, err, rc = self.cli(st, "osd", "purge", "3")    # (--yes-i-really-mean-it would be --force for the mgr)
        self.assertEqual(rc, 16)
        self.assertTrue(err.endswith("\nYou can proceed by passing --force, but be warned that this will likely "
                                     "mean real, permanent data loss.\n"), err)
        self.assertEqual(self.osdmap.get("purged") or {}, {})
        st = self.compute(6.0)                                              # half way: some are backfilling
        self.assertTrue(any("backfilling" in k for k in self.states(st)), self.states(st))
        st = self.compute(11.0)
        self.assertEqual(self.states(st), {"active+clean": 32})
        self.assertTrue(all(3 not in g["holders"] for g in st["pgs"].values()))
        self.assertEqual(self.cli(st, "osd", "safe-to-destroy", "osd.3"),
                         ("", "OSD(s) 3 are safe to destroy without reducing data durability.\n", 0))
        self.assertEqual(self.cli(st, "osd", "purge", "3", "--yes-i-really-mean-it"),
                         ("", "Error EBUSY: osd.3 is not `down`.\n", 16))
        self.down.add(3)                                                    # the OSD deployment scaled to 0
        st = self.compute(12.0)
        self.assertEqual(self.cli(st, "osd", "purge", "osd.3", "--yes-i-really-mean-it", now=12.0),
                         ("", "purged osd.3\n", 0))
        st = self.compute(13.0)
        self.assertEqual((st["ceph"]["osdmap"]["num_osds"], st["ceph"]["health"]["status"]), (3, "HEALTH_OK"))
        self.assertEqual(self.states(st), {"active+clean": 32})
        self.assertNotIn("osd.3", [n["name"] for n in st["tree"]["nodes"]])

    def test_a_down_osd_leaves_pgs_degraded_and_purging_it_unsafely_loses_nothing_while_copies_remain(self):
        self.compute(0.0)
        self.down.add(0)
        st = self.compute(1.0)
        h = st["ceph"]["health"]
        self.assertEqual(h["status"], "HEALTH_WARN")
        self.assertTrue(h["checks"]["PG_DEGRADED"]["summary"]["message"].startswith("Degraded data redundancy: "))
        # down: in no PG's up or acting set, and no stats: the mgr cannot tell
        self.assertEqual(self.cli(st, "osd", "safe-to-destroy", "0"),
                         ("", "Error EAGAIN: OSD(s) 0 have no reported stats, and not all PGs are active+clean; we "
                              "cannot draw any conclusions.\n", 11))
        # --force purges it; the PGs backfill from the two live copies
        self.assertEqual(self.cli(st, "osd", "purge", "0", "--force", now=1.0), ("", "purged osd.0\n", 0))
        self.compute(2.0)
        st = self.compute(20.0)
        self.assertEqual(self.states(st), {"active+clean": 32})

    def test_purging_every_copy_makes_pgs_incomplete(self):
        self.compute(0.0)
        for i in (0, 1, 2, 3):
            self.down.add(i)
        st = self.compute(1.0)
        self.assertTrue(all(g["state"] == "down" for g in st["pgs"].values()), self.states(st))
        for i in (0, 1, 2, 3):
            self.assertEqual(self.cli(st, "osd", "purge", str(i), "--force", now=1.0)[2], 0)
        st = self.compute(2.0)
        self.assertEqual(st["ceph"]["osdmap"]["num_osds"], 0)
        self.assertEqual(self.states(st), {"incomplete": 32})
        self.assertIn("32 pgs incomplete", st["ceph"]["health"]["checks"]["PG_AVAILABILITY"]["summary"]["message"])

    def test_osds_joining_a_new_cluster_need_no_backfill(self):
        self.HOSTS = ["n1", "n2", "n3"]
        self.down = {1, 2}
        st = self.compute(0.0)
        self.assertEqual(self.states(st), {"undersized+peered": 32})
        self.down = set()
        st = self.compute(1.0)
        self.assertEqual(self.states(st), {"active+clean": 32})
        self.down = {2}                                     # once clean, a PG holds data: a host lost
        st = self.compute(2.0)
        self.assertEqual(self.states(st), {"active+undersized+degraded": 32})
        self.down = set()                                   # and back: its copies are still there
        st = self.compute(3.0)
        self.assertEqual(self.states(st), {"active+clean": 32})

    def test_exec_in_the_toolbox_keeps_the_osdmap_in_a_configmap(self):
        st = self.compute(0.0)
        cms = {"rook-ceph-lab-status": {"metadata": {"name": "rook-ceph-lab-status", "resourceVersion": "1"}, "data": {
            "status.json": json.dumps(st["ceph"]), "pools.json": json.dumps(st["pools"]),
            "tree.json": json.dumps(st["tree"]), "pgs.json": json.dumps(st["pgs"]), "osds.json": json.dumps(st["osds"])}}}

        class Store:
            def registry(self):
                return self

            def by_path(self, group, version, plural):
                return plural

            def get(self, res, ns, name):
                return json.loads(json.dumps(cms[name])) if name in cms else None

            def create(self, res, ns, obj):
                cms[obj["metadata"]["name"]] = dict(obj, metadata=dict(obj["metadata"], resourceVersion="2"))

            def update(self, res, ns, name, obj, expect_rv=None):
                assert expect_rv == cms[name]["metadata"]["resourceVersion"]
                cms[name] = obj

        pod = {"metadata": {"namespace": "rook-ceph"}}
        self.assertEqual(cephsim.exec_in_pod(Store(), pod, "toolbox", ["ceph", "osd", "out", "osd.2"]),
                         ("", "marked out osd.2.\n", 0))
        self.assertEqual(list(json.loads(cms[cephsim.OSDMAP_CM]["data"]["osdmap.json"])["out"]), ["2"])
        self.assertEqual(cephsim.exec_in_pod(Store(), pod, "toolbox", ["ceph", "osd", "in", "2"]),
                         ("", "marked in osd.2.\n", 0))
        self.assertEqual(json.loads(cms[cephsim.OSDMAP_CM]["data"]["osdmap.json"])["out"], {})
        out, _, rc = cephsim.exec_in_pod(Store(), pod, "toolbox", ["ceph", "osd", "stat", "-f", "json"])
        self.assertEqual((rc, json.loads(out)["num_in_osds"]), (0, 4))

    def test_cli_errors(self):
        st = self.compute(0.0)
        self.assertEqual(self.cli(st, "osd", "out", "osd.x"), ("", "Error EINVAL: invalid osd id osd.x\n", 22))
        self.assertEqual(self.cli(st, "osd", "out", "9"), ("", "osd.9 does not exist.\n", 0))
        self.assertEqual(self.cli(st, "osd", "purge", "1", "2")[2], 22)
        self.assertEqual(self.cli(st, "osd", "in", "1"), ("", "osd.1 is already in.\n", 0))
        self.assertEqual(self.osdmap.get("_changed"), None)
        out, err, rc = self.cli(st, "osd", "ok-to-stop", "1")
        self.assertEqual(rc, 0)
        self.assertTrue(json.loads(out)["ok_to_stop"])


class FakeStore:
    """The API server's store over a dict: resourceVersions, conflicts and 404s like store.Store."""

    def __init__(self):
        self.objs, self.rv = {}, 1

    def registry(self):
        return self

    def by_path(self, group, version, plural):
        return plural

    def get(self, res, ns, name):
        o = self.objs.get((res, ns, name))
        return json.loads(json.dumps(o)) if o else None

    def put(self, res, ns, obj):
        self.rv += 1
        obj = json.loads(json.dumps(obj))
        md = obj.setdefault("metadata", {})
        md.update(resourceVersion=str(self.rv), namespace=ns) if ns else md.update(resourceVersion=str(self.rv))
        md.setdefault("uid", "uid-" + md["name"])
        self.objs[(res, ns, md["name"])] = obj
        return obj

    def create(self, res, ns, obj):
        if (res, ns, obj["metadata"]["name"]) in self.objs:
            raise StatusError(409, "AlreadyExists", "exists")
        return self.put(res, ns, obj)

    def update(self, res, ns, name, obj, expect_rv=None):
        cur = self.objs.get((res, ns, name))
        if cur is None:
            raise StatusError(404, "NotFound", "not found")
        if expect_rv is not None and cur["metadata"]["resourceVersion"] != expect_rv:
            raise StatusError(409, "Conflict", "modified")
        return self.put(res, ns, obj)

    def delete(self, res, ns, name):
        if self.objs.pop((res, ns, name), None) is None:
            raise StatusError(404, "NotFound", "not found")


class VolumeDataTests(unittest.TestCase):
    """`kubectl exec` of tee/cat/sha256sum/rm/sync on a pod's Ceph volume (volumedata.py): the
    volume's files live while its placement group does, with four OSD hosts and a pool of size 3."""
    HOSTS = ["n1", "n2", "n3", "n4"]
    PV = "pvc-3b6f0c1e-8d2a-4f7e-b1c4-5a9e2d7f6c10"

    def setUp(self):
        self.store, self.pgs, self.osdmap, self.down = FakeStore(), {}, {}, set()
        self.slept = 0.0
        self.store.put("persistentvolumes", "", {"metadata": {"name": self.PV}, "spec": {
            "storageClassName": "ceph-block", "csi": {"driver": "rook-ceph.rbd.csi.ceph.com", "volumeAttributes": {
                "clusterID": "rook-ceph", "pool": "replicapool"}}}})
        self.store.put("persistentvolumeclaims", "drill", {"metadata": {"name": "data"},
                                                           "spec": {"volumeName": self.PV}})
        self.pod = {"metadata": {"name": "drill", "namespace": "drill"}, "spec": {
            "volumes": [{"name": "vol", "persistentVolumeClaim": {"claimName": "data"}}],
            "containers": [{"name": "c", "image": "quay.io/ceph/ceph:v20.2.4", "command": ["sleep", "infinity"],
                            "volumeMounts": [{"name": "vol", "mountPath": "/data"}]}]}}
        self.compute(0.0)

    def compute(self, t, mons_down=()):
        """The controller-manager's Ceph computation, written to rook-ceph-lab-status."""
        ds = deps(self.HOSTS)
        for d in ds:
            if d["metadata"]["name"] in ["rook-ceph-osd-%d" % i for i in self.down] + [
                    "rook-ceph-mon-" + m for m in mons_down]:
                d["status"]["availableReplicas"] = 0
        kcm = FakeKCM([node(h) for h in self.HOSTS], [POOL])
        st = cephsim.compute(kcm, CL, "rook-ceph", ds, MONS, 3, [], osdmap=self.osdmap, prev_pgs=self.pgs, t=t,
                             recovery=10.0)
        self.pgs = json.loads(json.dumps(st["pgs"]))
        self.store.put("configmaps", "rook-ceph", {"metadata": {"name": "rook-ceph-lab-status"}, "data": {
            "status.json": json.dumps(st["ceph"]), "pgs.json": json.dumps(st["pgs"])}})
        return st

    def pg(self):
        return self.pgs[volumedata.volume_pg(self.PV, "replicapool", self.pgs)]

    def hosts_of_pg(self):
        return sorted({self.HOSTS[o] for o in self.pg()["acting"]})     # OSD N is on HOSTS[N] (deps)

    def exec(self, *cmd, stdin=b""):
        """volumedata's answer, on a fake clock that sleeping advances."""
        def sleep(s):
            self.slept += s
        return volumedata.run(self.store, self.pod, "c", list(cmd), stdin, sleep=sleep, clock=lambda: self.slept)

    def data_cm(self):
        return self.store.get("configmaps", "rook-ceph", volumedata.DATA_CM_PREFIX + self.PV)

    def test_volume_pg_is_a_deterministic_pg_of_the_pool(self):
        pgid = volumedata.volume_pg(self.PV, "replicapool", self.pgs)
        self.assertEqual(pgid, volumedata.volume_pg(self.PV, "replicapool", json.loads(json.dumps(self.pgs))))
        self.assertEqual(self.pgs[pgid]["pool"], "replicapool")
        self.assertIsNone(volumedata.volume_pg(self.PV, "nopool", self.pgs))
        picks = {volumedata.volume_pg("pvc-%d" % i, "replicapool", self.pgs) for i in range(64)}
        self.assertGreater(len(picks), 8)                                   # spread over the pool

    def test_write_then_checksum_and_cat(self):
        blob = os.urandom(64 * 1024)
        # as the API server calls it
        self.assertEqual(cephsim.exec_in_pod(self.store, self.pod, "c", ["tee", "/data/cairn-drill.bin"], blob),
                         (blob, "", 0))
        want = "%s  /data/cairn-drill.bin\n" % hashlib.sha256(blob).hexdigest()
        self.assertEqual(cephsim.exec_in_pod(self.store, self.pod, "c", ["/usr/bin/sha256sum",
                                                                          "/data/cairn-drill.bin"]),
                         (want.encode(), "", 0))
        self.assertEqual(self.exec("cat", "/data/cairn-drill.bin"), (blob, "", 0))
        self.assertEqual(self.exec("sync"), (b"", "", 0))
        self.assertEqual(self.slept, 0.0)                                   # active+clean: no waiting
        cm = self.data_cm()
        self.assertEqual(cm["metadata"]["ownerReferences"][0]["kind"], "PersistentVolume")
        self.assertEqual(cm["data"]["pg"], volumedata.volume_pg(self.PV, "replicapool", self.pgs))
        self.assertEqual(self.exec("tee", "-a", "/data/cairn-drill.bin", stdin=b"x")[2], 0)
        self.assertEqual(self.exec("cat", "/data/cairn-drill.bin")[0], blob + b"x")
        self.assertEqual(self.exec("rm", "-f", "/data/cairn-drill.bin"), (b"", "", 0))
        self.assertEqual(self.exec("cat", "/data/cairn-drill.bin"),
                         (b"", "cat: /data/cairn-drill.bin: No such file or directory\n", 1))

    def test_missing_files_and_paths_outside_the_volume(self):
        self.assertEqual(self.exec("sha256sum", "/data/x"), (b"", "sha256sum: /data/x: No such file or directory\n", 1))
        self.assertEqual(self.exec("sha256sum", "/etc/x"), (b"", "sha256sum: /etc/x: No such file or directory\n", 1))
        self.assertEqual(self.exec("tee", "/data/sub/x", stdin=b"a"),
                         (b"a", "tee: /data/sub/x: No such file or directory\n", 1))
        self.assertEqual(self.exec("cat", "/data"), (b"", "cat: /data: Is a directory\n", 1))
        self.assertEqual(self.exec("rm", "-f", "/data/x"), (b"", "", 0))
        self.assertEqual(self.exec("rm", "/data/x"), (b"", "rm: cannot remove '/data/x': No such file or directory\n",
                                                      1))
        self.assertEqual(self.exec("sync", "/data/x"),
                         (b"", "sync: error opening '/data/x': No such file or directory\n", 1))
        self.assertEqual(self.exec("tee", "-z", "/data/x")[1:], ("tee: invalid option -- 'z'\nTry 'tee --help' for "
                                                                 "more information.\n", 1))
        self.assertIsNone(self.data_cm())                                   # nothing written

    def test_checksum_survives_one_host_down_and_writes_go_on(self):
        blob = os.urandom(64 * 1024)
        self.exec("tee", "/data/cairn-drill.bin", stdin=blob)
        host = self.hosts_of_pg()[0]
        self.down = {self.HOSTS.index(host)}
        self.compute(1.0)
        self.assertEqual(self.pg()["state"], "active+undersized+degraded")
        out, err, rc = self.exec("sha256sum", "/data/cairn-drill.bin")
        self.assertEqual((out.split()[0].decode(), rc), (hashlib.sha256(blob).hexdigest(), 0))
        self.assertEqual(self.exec("tee", "/data/second.bin", stdin=b"2")[2], 0)
        self.assertEqual(self.slept, 0.0)

    def test_io_error_after_waiting_while_the_pg_is_not_active(self):
        blob = os.urandom(1024)
        self.exec("tee", "/data/cairn-drill.bin", stdin=blob)
        self.down = {self.HOSTS.index(h) for h in self.hosts_of_pg()[:2]}   # min_size 2 not met
        self.compute(1.0)
        self.assertEqual(self.pg()["state"], "undersized+degraded+peered")
        self.assertEqual(self.exec("sha256sum", "/data/cairn-drill.bin"),
                         (b"", "sha256sum: /data/cairn-drill.bin: Input/output error\n", 1))
        self.assertGreaterEqual(self.slept, volumedata.IO_WAIT)            # blocked first, as RBD does
        self.assertEqual(self.exec("tee", "/data/x", stdin=b"a"), (b"a", "tee: /data/x: Input/output error\n", 1))
        self.down = set()                                                   # the hosts are back: all there
        self.compute(2.0)
        self.assertEqual(self.exec("cat", "/data/cairn-drill.bin"), (blob, "", 0))

    def test_no_mon_quorum_blocks_io(self):
        self.compute(1.0, mons_down=("b", "c"))
        self.assertEqual(self.exec("cat", "/data/x")[1:], ("cat: /data/x: Input/output error\n", 1))

    def test_files_are_gone_when_the_pg_is_incomplete(self):
        self.exec("tee", "/data/cairn-drill.bin", stdin=b"data")
        for i in range(len(self.HOSTS)):
            self.down.add(i)
        st = self.compute(1.0)
        for i in range(len(self.HOSTS)):
            self.assertEqual(cephsim.ceph_cli(st, ["osd", "purge", str(i), "--force"], self.osdmap, now=1.0)[2], 0)
        self.compute(2.0)
        self.assertEqual(self.pg()["state"], "incomplete")
        # I/O to an incomplete PG blocks (it never becomes active again in the lab): an I/O error
        self.assertEqual(self.exec("sha256sum", "/data/cairn-drill.bin")[1:],
                         ("sha256sum: /data/cairn-drill.bin: Input/output error\n", 1))
        self.assertIsNone(self.data_cm())
        # were the PG recreated empty (`ceph osd force-create-pg`, not simulated), the file is gone
        pgid = volumedata.volume_pg(self.PV, "replicapool", self.pgs)
        self.pgs[pgid]["state"] = "active+clean"
        cm = self.store.get("configmaps", "rook-ceph", "rook-ceph-lab-status")
        cm["data"]["pgs.json"] = json.dumps(self.pgs)
        self.store.put("configmaps", "rook-ceph", cm)
        self.assertEqual(self.exec("sha256sum", "/data/cairn-drill.bin")[1:],
                         ("sha256sum: /data/cairn-drill.bin: No such file or directory\n", 1))

    def test_read_only_mount_and_space(self):
        self.pod["spec"]["containers"][0]["volumeMounts"][0]["readOnly"] = True
        self.assertEqual(self.exec("tee", "/data/x", stdin=b"a")[1:], ("tee: /data/x: Read-only file system\n", 1))
        del self.pod["spec"]["containers"][0]["volumeMounts"][0]["readOnly"]
        big = b"0" * (volumedata.MAX_BYTES + 1)
        self.assertEqual(self.exec("tee", "/data/x", stdin=big)[1:], ("tee: /data/x: No space left on device\n", 1))

    def test_pods_without_a_claim_keep_the_old_answers(self):
        pod = {"metadata": {"name": "p", "namespace": "drill"}, "spec": {"containers": [{"name": "c"}]}}
        out, err, rc = cephsim.exec_in_pod(self.store, pod, "c", ["tee", "/data/x"], b"a")
        self.assertEqual((out, rc), ("", 126))
        self.assertIn('exec: "tee": executable file not found in $PATH', err)

    def test_garbage_collector_deletes_the_data_of_a_deleted_volume(self):
        self.exec("tee", "/data/x", stdin=b"a")
        cm = self.data_cm()
        deleted = []

        class Client:
            def get(self, path):
                if path == "/api/v1/configmaps":
                    return {"items": [cm]}
                return {"items": []}                                        # the PV is gone

            def delete(self, url):
                deleted.append(url)
        controllers.KCM(Client(), {}).garbage_collect()
        self.assertEqual(deleted, ["/api/v1/namespaces/rook-ceph/configmaps/" + cm["metadata"]["name"]])


if __name__ == "__main__":
    unittest.main()


class LostNodeTests(unittest.TestCase):
    """A NotReady node's Ceph daemons count as down (its network is taken to be gone)."""

    def test_ready_unknown_and_missing_conditions(self):
        def node(status):
            return {"status": {"conditions": [{"type": "Ready", "status": status}]}}
        self.assertFalse(cephsim._node_lost(node("True")))
        self.assertTrue(cephsim._node_lost(node("Unknown")))
        self.assertTrue(cephsim._node_lost(node("False")))
        self.assertFalse(cephsim._node_lost({"status": {}}))
        self.assertFalse(cephsim._node_lost(None))
