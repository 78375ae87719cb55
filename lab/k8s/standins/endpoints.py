"""Endpoints controller of the kube-controller-manager stand-in.

For every Service with a selector, the Endpoints object of the same name lists the ready pods that
match it (IP, node, targetRef) under `addresses` and the not-ready ones under `notReadyAddresses`,
with the Service's ports resolved against the pods' named container ports — as the real
endpoints controller does. Services without a selector are left alone (their Endpoints are the
user's). EndpointSlices are not simulated.
"""
import json

from apiclient import ApiError


def pod_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def resolve_port(port, pod):
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for p in container.get("ports") or []:
            if p.get("name") == target:
                return p.get("containerPort")
    return None


def sync(kcm):
    pods = [p for p in kcm.pods if (p.get("status") or {}).get("podIP") and not p["metadata"].get("deletionTimestamp")]
    for service in kcm.list("/api/v1/services"):
        selector = (service.get("spec") or {}).get("selector")
        if not selector:
            continue
        ns, name = service["metadata"]["namespace"], service["metadata"]["name"]
        ready, not_ready, ports = [], [], []
        members = [p for p in pods if p["metadata"]["namespace"] == ns and matches(selector, p["metadata"].get("labels") or {})]
        for pod in members:
            address = {"ip": pod["status"]["podIP"], "nodeName": (pod.get("spec") or {}).get("nodeName"),
                       "targetRef": {"kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"], "uid": pod["metadata"].get("uid")}}
            (ready if pod_ready(pod) else not_ready).append(address)
        for port in (service.get("spec") or {}).get("ports") or []:
            number = resolve_port(port, members[0]) if members else None
            if number:
                ports.append({k: v for k, v in {"name": port.get("name"), "port": number,
                                                "protocol": port.get("protocol", "TCP")}.items() if v is not None})
        key = lambda a: a["ip"]
        subset = {}
        if ready:
            subset["addresses"] = sorted(ready, key=key)
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=key)
        subsets = [dict(subset, ports=ports)] if subset and ports else []
        path = "/api/v1/namespaces/%s/endpoints" % ns
        try:
            current = kcm.c.get(path + "/" + name)
        except ApiError as e:
            if e.code != 404:
                raise
            kcm.c.post(path, {"apiVersion": "v1", "kind": "Endpoints",
                              "metadata": {"name": name, "namespace": ns, "labels": service["metadata"].get("labels") or {}},
                              "subsets": subsets})
            continue
        if json.dumps(current.get("subsets") or [], sort_keys=True) != json.dumps(subsets, sort_keys=True):
            current["subsets"] = subsets
            try:
                kcm.c.put(path + "/" + name, current)
            except ApiError as e:
                if e.code != 409:
                    raise
