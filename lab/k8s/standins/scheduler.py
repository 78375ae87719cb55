"""kube-scheduler stand-in: leader-elected, binds pending pods (see sched_core for the filters)."""
import time

import leader
import sched_core
from apiclient import ApiError, Client, ConnError
from common import Fatal, k8s_version, log, rfc3339, slow_delay

FLAGS = {"authentication-kubeconfig", "authorization-kubeconfig", "bind-address", "kubeconfig", "leader-elect",
         "v", "config", "feature-gates", "secure-port", "profiling", "leader-elect-lease-duration",
         "leader-elect-renew-deadline", "leader-elect-retry-period", "tls-cert-file", "tls-private-key-file"}


def parse_flags(args):
    from apiserver import parse_flags as pf
    return pf(args, FLAGS, "kube-scheduler")


def sync(client):
    nodes = client.get("/api/v1/nodes")["items"]
    pods = client.get("/api/v1/pods")["items"]
    for p in pods:
        if p["spec"].get("nodeName") or p["metadata"].get("deletionTimestamp"):
            continue
        if p["spec"].get("schedulerName", "default-scheduler") != "default-scheduler":
            continue
        node, msg = sched_core.schedule(p, nodes, pods)
        ns, name = p["metadata"]["namespace"], p["metadata"]["name"]
        if node:
            try:
                client.post("/api/v1/namespaces/%s/pods/%s/binding" % (ns, name), {
                    "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, "namespace": ns},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": node}})
                p["spec"]["nodeName"] = node   # later pods in this pass see it
                log("scheduler", "Successfully assigned %s/%s to %s", ns, name, node)
            except ApiError as e:
                log("scheduler", "binding %s/%s: %s", ns, name, e)
            continue
        conds = (p.get("status") or {}).get("conditions") or []
        cur = next((c for c in conds if c.get("type") == "PodScheduled"), None)
        if cur and cur.get("message") == msg:
            continue
        st = dict(p.get("status") or {}, phase="Pending")
        st["conditions"] = [c for c in conds if c.get("type") != "PodScheduled"] + [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": msg,
             "lastProbeTime": None, "lastTransitionTime": rfc3339()}]
        p["status"] = st
        try:
            client.put("/api/v1/namespaces/%s/pods/%s/status" % (ns, name), p)
        except ApiError:
            pass


def main(args):
    flags = parse_flags(args)
    client = Client.from_kubeconfig(flags.get("kubeconfig"), timeout=10,
                                    user_agent="kube-scheduler/v%s (linux/amd64)" % k8s_version())
    leader.serve_healthz(int(flags.get("secure-port", 10259)), flags.get("bind-address", "127.0.0.1"))
    elector = leader.Elector(client, "kube-scheduler")
    while True:
        try:
            if elector.ensure():
                sync(client)
        except (ApiError, ConnError) as e:
            log("scheduler", "%s", e)
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
        time.sleep(1.0 + slow_delay())
