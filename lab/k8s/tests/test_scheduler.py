"""Scheduling rules of the kube-scheduler / DaemonSet stand-ins (no lab needed)."""
import unittest

import _path  # noqa: F401
import sched_core

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node(name, taints=(), labels=None, unschedulable=False):
    lab = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    lab.update(labels or {})
    return {"metadata": {"name": name, "labels": lab}, "spec": {"taints": list(taints), "unschedulable": unschedulable}}


def pod(name, labels=None, node_name=None, **spec):
    s = {"containers": [{"name": "c", "image": "x"}]}
    s.update(spec)
    if node_name:
        s["nodeName"] = node_name
    return {"metadata": {"name": name, "namespace": "default", "uid": name, "labels": labels or {}}, "spec": s,
            "status": {"phase": "Running" if node_name else "Pending"}}


ANTI = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "ing"}}, "topologyKey": "kubernetes.io/hostname"}]}}
CP_TOL = [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]


class SchedulerTests(unittest.TestCase):
    def setUp(self):
        self.nodes = [node("cp1", [CP_TAINT]), node("cp2", [CP_TAINT]), node("w1")]

    def test_control_plane_taint_needs_toleration(self):
        n, msg = sched_core.schedule(pod("p"), self.nodes[:2], [])
        self.assertIsNone(n)
        self.assertEqual(msg, "0/2 nodes are available: 2 node(s) had untolerated taint "
                              "{node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: 2 "
                              "Preemption is not helpful for scheduling.")
        n, _ = sched_core.schedule(pod("p", tolerations=CP_TOL), self.nodes[:2], [])
        self.assertIn(n, ("cp1", "cp2"))

    def test_not_ready_taint_blocks(self):
        nodes = [node("w1", [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}])]
        n, msg = sched_core.schedule(pod("p"), nodes, [])
        self.assertIsNone(n)
        self.assertIn("untolerated taint {node.kubernetes.io/not-ready: }", msg)

    def test_node_selector(self):
        n, msg = sched_core.schedule(pod("p", nodeSelector={"disk": "ssd"}), self.nodes, [])
        self.assertIsNone(n)
        self.assertIn("1 node(s) didn't match Pod's node affinity/selector", msg)
        self.assertIn("2 node(s) had untolerated taint", msg)

    def test_unsatisfiable_required_anti_affinity(self):
        existing = [pod("ing-1", {"app": "ing"}, "w1")]
        n, msg = sched_core.schedule(pod("ing-2", {"app": "ing"}, affinity=ANTI), self.nodes, existing)
        self.assertIsNone(n)
        self.assertEqual(msg, "0/3 nodes are available: 1 node(s) didn't match pod anti-affinity rules, 2 "
                              "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
        n, _ = sched_core.schedule(pod("ing-2", {"app": "ing"}, affinity=ANTI, tolerations=CP_TOL), self.nodes,
                                   existing)
        self.assertIn(n, ("cp1", "cp2"))

    def test_topology_spread_counts_tainted_domains(self):
        # nodeTaintsPolicy defaults to Ignore: tainted control-plane nodes are domains with 0 pods
        spread = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                   "labelSelector": {"matchLabels": {"app": "dns"}}}]
        existing = [pod("dns-1", {"app": "dns"}, "w1")]
        n, msg = sched_core.schedule(pod("dns-2", {"app": "dns"}, topologySpreadConstraints=spread), self.nodes,
                                     existing)
        self.assertIsNone(n)
        self.assertIn("1 node(s) didn't match pod topology spread constraints", msg)
        honored = [dict(spread[0], nodeTaintsPolicy="Honor")]
        n, _ = sched_core.schedule(pod("dns-2", {"app": "dns"}, topologySpreadConstraints=honored), self.nodes,
                                   existing)
        self.assertEqual(n, "w1")

    def test_schedule_anyway_is_ignored(self):
        spread = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                   "labelSelector": {"matchLabels": {"app": "dns"}}}]
        n, _ = sched_core.schedule(pod("dns-2", {"app": "dns"}, topologySpreadConstraints=spread), self.nodes,
                                   [pod("dns-1", {"app": "dns"}, "w1")])
        self.assertEqual(n, "w1")

    def test_host_ports_conflict(self):
        ports = [{"name": "c", "image": "x", "ports": [{"containerPort": 80, "hostPort": 80}]}]
        n, msg = sched_core.schedule(pod("b", containers=ports), [node("w1")], [pod("a", node_name="w1",
                                                                                   containers=ports)])
        self.assertIsNone(n)
        self.assertIn("didn't have free ports for the requested pod ports", msg)

    def test_cordoned_node(self):
        n, msg = sched_core.schedule(pod("p"), [node("w1", unschedulable=True)], [])
        self.assertIn("1 node(s) were unschedulable", msg)

    def test_spreads_replicas(self):
        owner = [{"uid": "rs1"}]
        a = pod("a", node_name="w1")
        a["metadata"]["ownerReferences"] = owner
        b = pod("b")
        b["metadata"]["ownerReferences"] = owner
        n, _ = sched_core.schedule(b, [node("w1"), node("w2")], [a])
        self.assertEqual(n, "w2")

    def test_daemonset_toleration_helpers(self):
        self.assertTrue(sched_core.tolerates([{"operator": "Exists"}], CP_TAINT))
        self.assertFalse(sched_core.tolerates([{"key": "x", "operator": "Exists"}], CP_TAINT))
        self.assertTrue(sched_core.tolerates([{"key": CP_TAINT["key"], "effect": "NoSchedule"}], CP_TAINT))


if __name__ == "__main__":
    unittest.main()
