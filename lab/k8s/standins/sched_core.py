"""Scheduling decisions of the kube-scheduler stand-in (pure functions, unit-tested without a lab).

Filters, in the default profile's order: NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts,
PodTopologySpread (DoNotSchedule), InterPodAffinity (required terms). Messages follow the real
scheduler's FitError text."""
import labelsel as sel


def tolerates(tolerations, taint):
    for t in tolerations or []:
        eff = t.get("effect")
        if eff and eff != taint.get("effect"):
            continue
        op = t.get("operator", "Equal")
        if op == "Exists":
            if not t.get("key") or t.get("key") == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def untolerated_taint(pod_spec, node, extra_tolerations=()):
    tols = list(pod_spec.get("tolerations") or []) + list(extra_tolerations)
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not tolerates(tols, taint):
            return taint
    return None


def node_selector_match(pod_spec, node):
    labels = node["metadata"].get("labels") or {}
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    req = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = req.get("nodeSelectorTerms")
    if terms:
        ok = False
        for term in terms:
            exprs = term.get("matchExpressions") or []
            fields = term.get("matchFields") or []
            if all(sel.match_expression(e, labels) for e in exprs) and all(
                    sel.match_expression(f, {"metadata.name": node["metadata"]["name"]}) for f in fields):
                ok = True
                break
        if not ok:
            return False
    return True


def host_ports(pod_spec):
    out = set()
    for c in pod_spec.get("containers") or []:
        for p in c.get("ports") or []:
            hp = p.get("hostPort")
            if hp:
                out.add((p.get("protocol", "TCP"), int(hp)))
    if pod_spec.get("hostNetwork"):
        for c in pod_spec.get("containers") or []:
            for p in c.get("ports") or []:
                if p.get("containerPort"):
                    out.add((p.get("protocol", "TCP"), int(p["containerPort"])))
    return out


def _term_namespaces(term, pod_ns):
    return set(term.get("namespaces") or []) or {pod_ns}


def _active(p):
    return not p["metadata"].get("deletionTimestamp") and (p.get("status") or {}).get("phase") not in (
        "Succeeded", "Failed")


def anti_affinity_ok(pod, node, nodes_by_name, pods):
    spec = pod["spec"]
    terms = (((spec.get("affinity") or {}).get("podAntiAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or [])
    labels = node["metadata"].get("labels") or {}
    for term in terms:
        key = term.get("topologyKey")
        if key not in labels:
            continue
        nss = _term_namespaces(term, pod["metadata"].get("namespace"))
        for p in pods:
            if not _active(p) or not p["spec"].get("nodeName") or p["metadata"].get("uid") == pod["metadata"].get("uid"):
                continue
            if p["metadata"].get("namespace") not in nss:
                continue
            if not sel.match_label_selector(term.get("labelSelector") or {}, p["metadata"].get("labels")):
                continue
            other = nodes_by_name.get(p["spec"]["nodeName"])
            if other and (other["metadata"].get("labels") or {}).get(key) == labels[key]:
                return False
    return True


def existing_anti_affinity_ok(pod, node, nodes_by_name, pods):
    """Symmetry: existing pods' required anti-affinity terms that match the incoming pod."""
    labels = node["metadata"].get("labels") or {}
    for p in pods:
        if not _active(p) or not p["spec"].get("nodeName"):
            continue
        terms = (((p["spec"].get("affinity") or {}).get("podAntiAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution") or [])
        for term in terms:
            key = term.get("topologyKey")
            if pod["metadata"].get("namespace") not in _term_namespaces(term, p["metadata"].get("namespace")):
                continue
            if not sel.match_label_selector(term.get("labelSelector") or {}, pod["metadata"].get("labels")):
                continue
            other = nodes_by_name.get(p["spec"]["nodeName"])
            if other and key in labels and (other["metadata"].get("labels") or {}).get(key) == labels[key]:
                return False
    return True


def affinity_ok(pod, node, nodes_by_name, pods):
    spec = pod["spec"]
    terms = (((spec.get("affinity") or {}).get("podAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or [])
    labels = node["metadata"].get("labels") or {}
    for term in terms:
        key = term.get("topologyKey")
        nss = _term_namespaces(term, pod["metadata"].get("namespace"))
        matching = [p for p in pods if _active(p) and p["spec"].get("nodeName") and
                    p["metadata"].get("namespace") in nss and
                    sel.match_label_selector(term.get("labelSelector") or {}, p["metadata"].get("labels"))]
        if not matching:
            # the first pod of a group may match its own affinity term
            if sel.match_label_selector(term.get("labelSelector") or {}, pod["metadata"].get("labels")):
                continue
            return False
        if not any((nodes_by_name.get(p["spec"]["nodeName"], {}).get("metadata", {}).get("labels") or {}).get(key)
                   == labels.get(key) and key in labels for p in matching):
            return False
    return True


def spread_ok(pod, node, nodes, pods):
    """PodTopologySpread, DoNotSchedule constraints. Returns None or a failure reason."""
    spec = pod["spec"]
    for c in spec.get("topologySpreadConstraints") or []:
        if c.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule":
            continue
        key = c.get("topologyKey")
        labels = node["metadata"].get("labels") or {}
        if key not in labels:
            return "node(s) didn't match pod topology spread constraints (missing required label)"
        selector = dict(c.get("labelSelector") or {})
        match_keys = c.get("matchLabelKeys") or []
        if match_keys:
            ml = dict(selector.get("matchLabels") or {})
            for k in match_keys:
                if k in (pod["metadata"].get("labels") or {}):
                    ml[k] = pod["metadata"]["labels"][k]
            selector["matchLabels"] = ml
        honor_affinity = c.get("nodeAffinityPolicy", "Honor") == "Honor"
        honor_taints = c.get("nodeTaintsPolicy", "Ignore") == "Honor"
        domains = {}
        for n in nodes:
            nl = n["metadata"].get("labels") or {}
            if key not in nl:
                continue
            if honor_affinity and not node_selector_match(spec, n):
                continue
            if honor_taints and untolerated_taint(spec, n):
                continue
            domains.setdefault(nl[key], 0)
        node_domain = {n["metadata"]["name"]: (n["metadata"].get("labels") or {}).get(key) for n in nodes}
        for p in pods:
            if not _active(p) or not p["spec"].get("nodeName"):
                continue
            if p["metadata"].get("namespace") != pod["metadata"].get("namespace"):
                continue
            if p["metadata"].get("uid") == pod["metadata"].get("uid"):
                continue
            if not sel.match_label_selector(selector, p["metadata"].get("labels")):
                continue
            d = node_domain.get(p["spec"]["nodeName"])
            if d in domains:
                domains[d] += 1
        if labels[key] not in domains:
            domains[labels[key]] = 0
        self_match = 1 if sel.match_label_selector(selector, pod["metadata"].get("labels")) else 0
        min_count = min(domains.values()) if domains else 0
        min_domains = c.get("minDomains")
        if min_domains and len(domains) < int(min_domains):
            min_count = 0
        skew = domains[labels[key]] + self_match - min_count
        if skew > int(c.get("maxSkew", 1)):
            return "node(s) didn't match pod topology spread constraints"
    return None


def filter_node(pod, node, nodes, nodes_by_name, pods):
    """None when the pod fits the node, else the (first) reason, as in the scheduler's FitError."""
    spec = pod["spec"]
    if (node.get("spec") or {}).get("unschedulable"):
        if not tolerates(spec.get("tolerations"), {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
            return "node(s) were unschedulable"
    t = untolerated_taint(spec, node)
    if t:
        return "node(s) had untolerated taint {%s: %s}" % (t.get("key"), t.get("value", ""))
    if not node_selector_match(spec, node):
        return "node(s) didn't match Pod's node affinity/selector"
    want = host_ports(spec)
    if want:
        used = set()
        for p in pods:
            if _active(p) and p["spec"].get("nodeName") == node["metadata"]["name"] and \
                    p["metadata"].get("uid") != pod["metadata"].get("uid"):
                used |= host_ports(p["spec"])
        if want & used:
            return "node(s) didn't have free ports for the requested pod ports"
    r = spread_ok(pod, node, nodes, pods)
    if r:
        return r
    if not affinity_ok(pod, node, nodes_by_name, pods):
        return "node(s) didn't match pod affinity rules"
    if not anti_affinity_ok(pod, node, nodes_by_name, pods):
        return "node(s) didn't match pod anti-affinity rules"
    if not existing_anti_affinity_ok(pod, node, nodes_by_name, pods):
        return "node(s) didn't satisfy existing pods anti-affinity rules"
    return None


def score(pod, node, pods, nodes_by_name):
    """Lower is better: spread pods of the same owner, honour preferred anti-affinity."""
    owner = [o.get("uid") for o in pod["metadata"].get("ownerReferences") or []]
    same = 0
    here = [p for p in pods if _active(p) and p["spec"].get("nodeName") == node["metadata"]["name"]]
    for p in here:
        if owner and [o.get("uid") for o in p["metadata"].get("ownerReferences") or []] == owner:
            same += 10
    prefs = (((pod["spec"].get("affinity") or {}).get("podAntiAffinity") or {})
             .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
    labels = node["metadata"].get("labels") or {}
    for w in prefs:
        term = w.get("podAffinityTerm") or {}
        key = term.get("topologyKey")
        for p in pods:
            if not _active(p) or not p["spec"].get("nodeName"):
                continue
            if not sel.match_label_selector(term.get("labelSelector") or {}, p["metadata"].get("labels")):
                continue
            other = nodes_by_name.get(p["spec"]["nodeName"])
            if other and key in labels and (other["metadata"].get("labels") or {}).get(key) == labels[key]:
                same += int(w.get("weight", 1))
    return same + len(here) * 0.01


def schedule(pod, nodes, pods):
    """-> (node name, None) or (None, FitError message)."""
    by_name = {n["metadata"]["name"]: n for n in nodes}
    fits, reasons = [], {}
    for n in nodes:
        r = filter_node(pod, n, nodes, by_name, pods)
        if r is None:
            fits.append(n)
        else:
            reasons[r] = reasons.get(r, 0) + 1
    if fits:
        fits.sort(key=lambda n: (score(pod, n, pods, by_name), n["metadata"]["name"]))
        return fits[0]["metadata"]["name"], None
    total = len(nodes)
    if total == 0:
        return None, "no nodes available to schedule pods"
    parts = ", ".join(sorted("%d %s" % (c, r) for r, c in reasons.items()))  # FitError sorts the strings
    return None, ("0/%d nodes are available: %s. preemption: 0/%d nodes are available: %d Preemption is not helpful "
                  "for scheduling." % (total, parts, total, total))
