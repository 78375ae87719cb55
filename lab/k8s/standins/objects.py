"""Object-level semantics shared by the API server and its clients: patches, server-side apply
ownership (managedFields), defaulting."""
import copy
import json

from common import rfc3339

SKIP_META = {"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink",
             "deletionTimestamp", "deletionGracePeriodSeconds", "name", "namespace"}


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_merge_patch(target, patch):
    """Approximation of strategic merge: dicts merge, lists of named objects merge by 'name'
    (containers, env, ports, volumes), '$patch: delete' entries removed, other lists replaced."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder") or k == "$retainKeys":
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and isinstance(out.get(k), list) and v and all(
                isinstance(i, dict) and "name" in i for i in v) and all(
                isinstance(i, dict) and "name" in i for i in out[k]):
            cur = {i["name"]: i for i in out[k]}
            order = [i["name"] for i in out[k]]
            for item in v:
                if item.get("$patch") == "delete":
                    cur.pop(item["name"], None)
                    continue
                if item["name"] in cur:
                    cur[item["name"]] = strategic_merge_patch(cur[item["name"]], item)
                else:
                    cur[item["name"]] = copy.deepcopy(item)
                    order.append(item["name"])
            out[k] = [cur[n] for n in order if n in cur]
        else:
            out[k] = strategic_merge_patch(out.get(k), v)
    return out


class PatchError(ValueError):
    pass


def _ptr(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("invalid JSON pointer \"%s\"" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(target, ops):
    doc = copy.deepcopy(target)
    for op in ops:
        kind, parts = op.get("op"), _ptr(op.get("path", ""))
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent.get(p)
            if parent is None:
                raise PatchError("doc is missing path: \"%s\": missing value" % op.get("path"))
        last = parts[-1] if parts else None
        if kind in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op.get("value"))
                elif kind == "add":
                    parent.insert(int(last), op.get("value"))
                else:
                    parent[int(last)] = op.get("value")
            else:
                if kind == "replace" and last not in parent:
                    raise PatchError("replace operation does not apply: doc is missing key: %s" % op.get("path"))
                parent[last] = op.get("value")
        elif kind == "remove":
            if isinstance(parent, list):
                parent.pop(int(last))
            elif last in parent:
                del parent[last]
            else:
                raise PatchError("remove operation does not apply: doc is missing path: \"%s\"" % op.get("path"))
        elif kind == "test":
            cur = parent[int(last)] if isinstance(parent, list) else parent.get(last)
            if cur != op.get("value"):
                raise PatchError("testing value %s failed" % op.get("path"))
        else:
            raise PatchError("Unexpected kind: %s" % kind)
    return doc


# --- managed fields (server-side apply) ------------------------------------------------

def leaf_paths(obj, prefix=""):
    """{'.spec.replicas': 3, '.metadata.labels.app': 'x', '.spec.template.spec.containers': [...]}"""
    out = {}
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        if prefix == "" and k in ("apiVersion", "kind", "status"):
            continue
        if prefix == ".metadata" and k in SKIP_META:
            continue
        p = "%s.%s" % (prefix, k)
        if isinstance(v, dict) and v:
            out.update(leaf_paths(v, p))
        else:
            out[p] = v
    return out


def to_fieldsv1(paths):
    root = {}
    for p in sorted(paths):
        cur = root
        for part in p[1:].split("."):
            cur = cur.setdefault("f:" + part, {})
    return root


def from_fieldsv1(f, prefix=""):
    out = set()
    for k, v in (f or {}).items():
        if not k.startswith("f:"):
            continue
        p = "%s.%s" % (prefix, k[2:])
        if v:
            out |= from_fieldsv1(v, p)
        else:
            out.add(p)
    return out


def managers(obj):
    """[(manager, operation, set(paths), entry)]"""
    out = []
    for e in (obj.get("metadata") or {}).get("managedFields") or []:
        out.append((e.get("manager"), e.get("operation"), from_fieldsv1(e.get("fieldsV1")), e))
    return out


def set_managers(obj, mgrs, api_version):
    entries = []
    for name, op, paths, _ in mgrs:
        if not paths:
            continue
        entries.append({"manager": name, "operation": op, "apiVersion": api_version, "time": rfc3339(),
                        "fieldsType": "FieldsV1", "fieldsV1": to_fieldsv1(paths)})
    obj.setdefault("metadata", {})["managedFields"] = entries


def _covers(owned, path):
    """Is `path` or one of its prefixes/children owned (list-valued leaves own their subtree)?"""
    if path in owned:
        return True
    for o in owned:
        if path.startswith(o + ".") or o.startswith(path + "."):
            return True
    return False


def _delete_path(obj, path):
    parts = path[1:].split(".")
    cur = obj
    for p in parts[:-1]:
        cur = cur.get(p) if isinstance(cur, dict) else None
        if cur is None:
            return
    if isinstance(cur, dict):
        cur.pop(parts[-1], None)


def _prune_empty(obj):
    if isinstance(obj, dict):
        for k in list(obj):
            if isinstance(obj[k], dict):
                _prune_empty(obj[k])
                if not obj[k] and k not in ("spec", "metadata"):
                    pass
    return obj


class ApplyConflict(Exception):
    """Conflicts with other field managers, worded like the API server's (apiserver's
    fieldmanager: `conflict with "m" using apps/v1: .spec.replicas`; an Apply manager is named
    without its version; several conflicts are grouped per manager, managers sorted)."""

    def __init__(self, conflicts, api_version):
        self.conflicts = conflicts  # [(manager, path)] or [(manager, path, operation, manager's apiVersion)]
        self.api_version = api_version
        super().__init__(self.message())

    def who(self, c):
        m = c[0]
        op = c[2] if len(c) > 2 else "Update"
        version = c[3] if len(c) > 3 and c[3] else self.api_version
        return '"%s"' % m if op == "Apply" else '"%s" using %s' % (m, version)

    def message(self):
        n = len(self.conflicts)
        if n == 1:
            return "Apply failed with 1 conflict: conflict with %s: %s" % (self.who(self.conflicts[0]),
                                                                          self.conflicts[0][1])
        by = {}
        for c in self.conflicts:
            by.setdefault(self.who(c), []).append(c[1])
        parts = []
        for who in sorted(by):
            parts.append("conflicts with %s:" % who)
            parts += ["- %s" % p for p in by[who]]
        return "Apply failed with %d conflicts: %s" % (n, "\n".join(parts))


def server_side_apply(live, applied, manager, force, api_version):
    """Merge `applied` into `live` as field manager `manager`; raises ApplyConflict."""
    new_paths = leaf_paths(applied)
    live_paths = leaf_paths(live) if live else {}
    mgrs = managers(live) if live else []
    conflicts = []
    for name, op, owned, entry in mgrs:
        if name == manager and op == "Apply":
            continue
        for p, v in new_paths.items():
            if p in live_paths and live_paths[p] != v and _covers(owned, p):
                conflicts.append((name, p, op, (entry or {}).get("apiVersion")))
    if conflicts and not force:
        conflicts.sort()
        raise ApplyConflict(conflicts, api_version)
    prev_owned = set()
    for name, op, owned, _ in mgrs:
        if name == manager and op == "Apply":
            prev_owned = owned
    result = copy.deepcopy(live) if live else {}
    # fields this manager applied before, no longer applied and owned by nobody else: removed
    others = set()
    for name, op, owned, _ in mgrs:
        if not (name == manager and op == "Apply"):
            others |= owned
    for p in prev_owned:
        if p not in new_paths and not _covers(others, p):
            _delete_path(result, p)
    result = merge_patch(result, _strip_nulls(applied))
    # ownership: the applier owns its paths; with force, others lose them
    new_mgrs = []
    seen = False
    for name, op, owned, e in mgrs:
        if name == manager and op == "Apply":
            new_mgrs.append((name, op, set(new_paths), e))
            seen = True
        else:
            new_mgrs.append((name, op, {p for p in owned if not any(
                p == q or p.startswith(q + ".") or q.startswith(p + ".") for q in new_paths)}, e))
    if not seen:
        new_mgrs.insert(0, (manager, "Apply", set(new_paths), None))
    set_managers(result, new_mgrs, api_version)
    return result


def _strip_nulls(obj):
    if isinstance(obj, dict):
        return {k: _strip_nulls(v) for k, v in obj.items() if v is not None}
    return obj


def record_update(old, new, manager, api_version):
    """After a non-apply write, give `manager` (operation Update) the leaf paths it changed."""
    if not manager:
        return new
    before = leaf_paths(old) if old else {}
    after = leaf_paths(new)
    changed = {p for p, v in after.items() if before.get(p, object()) != v}
    if not changed:
        if old and "managedFields" in (old.get("metadata") or {}):
            new.setdefault("metadata", {})["managedFields"] = old["metadata"]["managedFields"]
        return new
    mgrs = managers(old) if old else []
    out, seen = [], False
    for name, op, owned, e in mgrs:
        owned = {p for p in owned if p not in changed and not any(p.startswith(c + ".") for c in changed)}
        if name == manager and op == "Update":
            owned |= changed
            seen = True
        out.append((name, op, owned, e))
    if not seen:
        out.append((manager, "Update", changed, None))
    set_managers(new, out, api_version)
    return new


def spec_changed(old, new):
    a = {k: v for k, v in (old or {}).items() if k not in ("metadata", "status", "apiVersion", "kind")}
    b = {k: v for k, v in (new or {}).items() if k not in ("metadata", "status", "apiVersion", "kind")}
    return json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True)
