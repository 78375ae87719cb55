"""Label selectors: the string form (?labelSelector=) and metav1.LabelSelector objects."""
import re


class SelectorError(ValueError):
    pass


def parse(s):
    """'a=b,c!=d,e in (x,y),!f,g' -> list of (key, op, values)."""
    reqs = []
    if not s:
        return reqs
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in parts:
        p = p.strip()
        if not p:
            continue
        m = re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", p)
        if m:
            reqs.append((m.group(1), m.group(2), [v.strip() for v in m.group(3).split(",") if v.strip()]))
            continue
        m = re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)", p)
        if m:
            op = "!=" if m.group(2) == "!=" else "="
            reqs.append((m.group(1), op, [m.group(3)]))
            continue
        m = re.fullmatch(r"!\s*([\w./-]+)", p)
        if m:
            reqs.append((m.group(1), "!", []))
            continue
        m = re.fullmatch(r"([\w./-]+)", p)
        if m:
            reqs.append((m.group(1), "exists", []))
            continue
        raise SelectorError("unable to parse requirement: found '%s', expected: identifier" % p)
    return reqs


def matches(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and (not has or v != vals[0]):
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and (not has or v not in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
    return True


def match_label_selector(sel, labels):
    """metav1.LabelSelector (matchLabels + matchExpressions). An empty selector matches everything;
    None matches nothing."""
    if sel is None:
        return False
    labels = labels or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        if not match_expression(e, labels):
            return False
    return True


def match_expression(e, labels):
    key, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
    has = key in labels
    if op == "In":
        return has and labels[key] in vals
    if op == "NotIn":
        return not has or labels[key] not in vals
    if op == "Exists":
        return has
    if op == "DoesNotExist":
        return not has
    if op in ("Gt", "Lt"):
        try:
            a, b = int(labels.get(key, "")), int(vals[0])
        except (ValueError, IndexError):
            return False
        return a > b if op == "Gt" else a < b
    return False


def selector_string(sel):
    parts = ["%s=%s" % (k, v) for k, v in sorted((sel or {}).get("matchLabels", {}).items())]
    for e in (sel or {}).get("matchExpressions") or []:
        op = e.get("operator")
        if op == "In":
            parts.append("%s in (%s)" % (e["key"], ",".join(e.get("values") or [])))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (e["key"], ",".join(e.get("values") or [])))
        elif op == "Exists":
            parts.append(e["key"])
        elif op == "DoesNotExist":
            parts.append("!" + e["key"])
    return ",".join(parts)


def field_matches(fsel, obj):
    """fieldSelector subset: metadata.name, metadata.namespace, spec.nodeName, status.phase."""
    for key, op, vals in parse(fsel):
        cur = obj
        for p in key.split("."):
            cur = cur.get(p) if isinstance(cur, dict) else None
        cur = "" if cur is None else str(cur)
        if op == "=" and cur != vals[0]:
            return False
        if op == "!=" and cur == vals[0]:
            return False
    return True
