"""Ceph health computation and the ceph CLI shapes (no lab needed)."""
import json
import unittest

import _path  # noqa: F401
import cephsim


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


def node(name, osd_down=None):
    ann = {} if osd_down is None else {"lab.cairn.dev/osd-down": osd_down}
    return {"metadata": {"name": name, "annotations": ann}}


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


if __name__ == "__main__":
    unittest.main()
