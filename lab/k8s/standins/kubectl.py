"""kubectl stand-in: real HTTPS to the kubeconfig's server (through the load balancer), kubectl's
flag names, output formats and error wording for the verbs Cairn uses."""
import copy
import json
import os
import sys
import time

import yaml

import jsonpath
import labelsel as sel
from apiclient import ApiError, Client, ConnError, KubeConfig
from common import Fatal, age, k8s_version, parse_duration, yaml_dump
from resources import BUILTINS, Resource, crd_resource

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

GLOBAL_FLAGS = {"kubeconfig": "str", "namespace": "str", "n": "str", "context": "str", "request-timeout": "str",
                "v": "str", "server": "str", "s": "str", "insecure-skip-tls-verify": "bool", "help": "bool",
                "h": "bool"}
SHORT = {"n": "namespace", "o": "output", "l": "selector", "A": "all-namespaces", "f": "filename", "c": "container",
         "i": "stdin", "t": "tty", "w": "watch", "R": "recursive", "s": "server", "h": "help", "q": "quiet",
         "p": "patch"}


class Usage(Fatal):
    pass


def parse(argv, spec, cmd):
    spec = dict(GLOBAL_FLAGS, **spec)
    opts, pos = {}, []
    i = 0
    dashdash = None
    while i < len(argv):
        a = argv[i]
        if a == "--":
            dashdash = argv[i + 1:]
            break
        if a.startswith("--"):
            name, eq, val = a[2:].partition("=")
        elif a.startswith("-") and len(a) > 1 and not a[1].isdigit():
            name, eq, val = a[1], ("=" if len(a) > 2 else ""), a[2:].lstrip("=")
            long = SHORT.get(name)
            if long and long in spec:
                name = long
            elif name not in spec:
                raise Usage("error: unknown shorthand flag: '%s' in %s\nSee 'kubectl %s --help' for usage." % (
                    name, a, cmd))
        else:
            pos.append(a)
            i += 1
            continue
        if name == "n":
            name = "namespace"
        if name == "s":
            name = "server"
        if name not in spec:
            raise Usage("error: unknown flag: --%s\nSee 'kubectl %s --help' for usage." % (name, cmd))
        kind = spec[name]
        if kind == "bool":
            opts[name] = (val.lower() not in ("false", "0")) if eq else True
        else:
            if not eq:
                i += 1
                if i >= len(argv):
                    raise Usage("error: flag needs an argument: --%s\nSee 'kubectl %s --help' for usage." % (name, cmd))
                val = argv[i]
            if kind == "list":
                opts.setdefault(name, []).append(val)
            else:
                opts[name] = val
        i += 1
    return opts, pos, dashdash


def out(s=""):
    sys.stdout.write(s + "\n")


def err(s):
    sys.stderr.write(s.rstrip("\n") + "\n")


def server_error(e, prefix=""):
    if isinstance(e, ConnError):
        return str(e)
    reason = e.reason or {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
                          422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
                          503: "ServiceUnavailable"}.get(e.code, "")
    if e.code == 401:
        return "error: You must be logged in to the server (Unauthorized)"
    msg = prefix + e.message
    return "Error from server (%s): %s" % (reason, msg) if reason else "Error from server: %s" % msg


class Ctx:
    def __init__(self, opts):
        self.opts = opts
        path = opts.get("kubeconfig") or (os.environ.get("KUBECONFIG") or "").split(":")[0] or \
            os.path.expanduser("~/.kube/config")
        if not os.path.exists(path):
            if opts.get("server"):
                raise Fatal("error: the lab's kubectl needs a kubeconfig")
            raise Fatal("The connection to the server localhost:8080 was refused - did you specify the right host or "
                        "port?")
        self.kc = KubeConfig(path)
        if opts.get("server"):
            self.kc.server = opts["server"]
        if opts.get("insecure-skip-tls-verify"):
            self.kc.cluster["insecure-skip-tls-verify"] = True
        timeout = parse_duration(opts.get("request-timeout", "0") or "0") or 30
        self.client = Client.from_kubeconfig(kc=self.kc, timeout=timeout,
                                             user_agent="kubectl/v%s (linux/amd64)" % k8s_version())
        self.ns = opts.get("namespace") or self.kc.namespace
        self._resources = None

    def resources(self):
        if self._resources is None:
            rs = []
            try:
                core = self.client.get("/api/v1")
                groups = self.client.get("/apis")
            except ApiError as e:
                raise Fatal(server_error(e))
            except ConnError as e:
                raise Fatal(str(e))
            for r in core.get("resources") or []:
                if "/" not in r["name"]:
                    rs.append(Resource("", "v1", r["name"], r["kind"], r["namespaced"], r.get("shortNames") or [],
                                       singular=r.get("singularName"), categories=r.get("categories") or []))
            for g in groups.get("groups") or []:
                gv = g["preferredVersion"]["groupVersion"]
                try:
                    lst = self.client.get("/apis/" + gv)
                except (ApiError, ConnError):
                    continue
                for r in lst.get("resources") or []:
                    if "/" not in r["name"]:
                        rs.append(Resource(g["name"], gv.split("/")[1], r["name"], r["kind"], r["namespaced"],
                                           r.get("shortNames") or [], singular=r.get("singularName"),
                                           versions=[v["version"] for v in g["versions"]],
                                           categories=r.get("categories") or []))
            self._resources = rs
        return self._resources

    def resolve(self, name):
        n = name.lower()
        plural, _, group = n.partition(".")
        cands = []
        for r in self.resources():
            if group and r.group != group:
                continue
            if plural in (r.plural, r.singular, r.kind.lower()) or plural in r.short:
                cands.append(r)
        if not cands:
            raise Fatal('error: the server doesn\'t have a resource type "%s"' % name)
        # core and apps first, then built-in groups before CRD groups (kubectl's discovery priority):
        # networkpolicies is networking.k8s.io's, not Calico's crd.projectcalico.org
        builtin = {r.group for r in BUILTINS}
        cands.sort(key=lambda r: (r.group not in ("", "apps"), r.group not in builtin, r.group))
        return cands[0]

    def by_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        for r in self.resources():
            if r.group == group and r.kind == kind and version in r.versions:
                return r
        return None

    def path(self, res, ns, name=None, sub=None, version=None):
        p = res.base_path(ns if res.namespaced else None, version)
        if name:
            p += "/" + name
        if sub:
            p += "/" + sub
        return p


def obj_name(res, obj):
    g = "." + res.group if res.group else ""
    return "%s%s/%s" % (res.kind.lower(), g, obj["metadata"]["name"])


# ------------------------------------------------------------------ printing

def node_status(n):
    ready = next((c for c in n.get("status", {}).get("conditions") or [] if c["type"] == "Ready"), None)
    s = "Unknown" if ready is None or ready["status"] == "Unknown" else ("Ready" if ready["status"] == "True" else "NotReady")
    if n.get("spec", {}).get("unschedulable"):
        s += ",SchedulingDisabled"
    return s


def pod_status_text(p):
    st = p.get("status") or {}
    if p["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for cs in st.get("containerStatuses") or []:
        w = (cs.get("state") or {}).get("waiting")
        if w and w.get("reason"):
            return w["reason"]
    return st.get("reason") or st.get("phase") or "Pending"


def table(res, items, wide=False, all_ns=False, show_labels=False, no_headers=False, prefix=""):
    k = res.kind
    rows = []
    if k == "Node":
        hdr = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] + (["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE",
                                                               "KERNEL-VERSION", "CONTAINER-RUNTIME"] if wide else [])
        for n in items:
            roles = sorted(l.split("/", 1)[1] for l in (n["metadata"].get("labels") or {})
                           if l.startswith("node-role.kubernetes.io/")) or ["<none>"]
            info = n.get("status", {}).get("nodeInfo") or {}
            row = [n["metadata"]["name"], node_status(n), ",".join(roles), age(n["metadata"].get("creationTimestamp")),
                   info.get("kubeletVersion", "")]
            if wide:
                ip = next((a["address"] for a in n.get("status", {}).get("addresses") or []
                           if a["type"] == "InternalIP"), "<none>")
                row += [ip, "<none>", info.get("osImage", ""), info.get("kernelVersion", ""),
                        info.get("containerRuntimeVersion", "")]
            rows.append(row)
    elif k == "Pod":
        hdr = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
                                                               if wide else [])
        for p in items:
            cs = p.get("status", {}).get("containerStatuses") or []
            n = len(p["spec"].get("containers") or [])
            ready = len([c for c in cs if c.get("ready")])
            restarts = sum(c.get("restartCount", 0) for c in cs)
            row = [p["metadata"]["name"], "%d/%d" % (ready, n), pod_status_text(p), str(restarts),
                   age(p["metadata"].get("creationTimestamp"))]
            if wide:
                row += [p.get("status", {}).get("podIP") or "<none>", p["spec"].get("nodeName") or "<none>",
                        "<none>", "<none>"]
            rows.append(row)
    elif k == "Deployment":
        hdr = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
        for d in items:
            st = d.get("status") or {}
            rows.append([d["metadata"]["name"], "%d/%d" % (st.get("readyReplicas", 0), d["spec"].get("replicas", 0)),
                         str(st.get("updatedReplicas", 0)), str(st.get("availableReplicas", 0)),
                         age(d["metadata"].get("creationTimestamp"))])
    elif k == "ReplicaSet":
        hdr = ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
        for d in items:
            st = d.get("status") or {}
            rows.append([d["metadata"]["name"], str(d["spec"].get("replicas", 0)), str(st.get("replicas", 0)),
                         str(st.get("readyReplicas", 0)), age(d["metadata"].get("creationTimestamp"))])
    elif k == "DaemonSet":
        hdr = ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]
        for d in items:
            st = d.get("status") or {}
            ns_ = ",".join("%s=%s" % kv for kv in sorted(((d["spec"].get("template") or {}).get("spec") or {}).get(
                "nodeSelector", {}).items())) or "<none>"
            rows.append([d["metadata"]["name"], str(st.get("desiredNumberScheduled", 0)),
                         str(st.get("currentNumberScheduled", 0)), str(st.get("numberReady", 0)),
                         str(st.get("updatedNumberScheduled", 0)), str(st.get("numberAvailable", 0)), ns_,
                         age(d["metadata"].get("creationTimestamp"))])
    elif k == "StatefulSet":
        hdr = ["NAME", "READY", "AGE"]
        for d in items:
            st = d.get("status") or {}
            rows.append([d["metadata"]["name"], "%d/%d" % (st.get("readyReplicas", 0), d["spec"].get("replicas", 0)),
                         age(d["metadata"].get("creationTimestamp"))])
    elif k == "Service":
        hdr = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
        for s in items:
            sp = s.get("spec") or {}
            ing = ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            ext = ",".join(i.get("ip") or i.get("hostname", "") for i in ing) or (
                "<pending>" if sp.get("type") == "LoadBalancer" else "<none>")
            ports = ",".join("%s%s/%s" % (p.get("port"), (":%s" % p["nodePort"]) if p.get("nodePort") else "",
                                          p.get("protocol", "TCP")) for p in sp.get("ports") or []) or "<none>"
            rows.append([s["metadata"]["name"], sp.get("type", "ClusterIP"), sp.get("clusterIP", "<none>"), ext, ports,
                         age(s["metadata"].get("creationTimestamp"))])
    elif k == "PodDisruptionBudget":
        hdr = ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"]
        for d in items:
            sp = d.get("spec") or {}
            rows.append([d["metadata"]["name"], str(sp.get("minAvailable", "N/A")), str(sp.get("maxUnavailable", "N/A")),
                         str((d.get("status") or {}).get("disruptionsAllowed", 0)),
                         age(d["metadata"].get("creationTimestamp"))])
    elif k == "Namespace":
        hdr = ["NAME", "STATUS", "AGE"]
        for d in items:
            rows.append([d["metadata"]["name"], (d.get("status") or {}).get("phase", "Active"),
                         age(d["metadata"].get("creationTimestamp"))])
    elif k == "ConfigMap":
        hdr = ["NAME", "DATA", "AGE"]
        for d in items:
            rows.append([d["metadata"]["name"], str(len(d.get("data") or {}) + len(d.get("binaryData") or {})),
                         age(d["metadata"].get("creationTimestamp"))])
    elif k == "Secret":
        hdr = ["NAME", "TYPE", "DATA", "AGE"]
        for d in items:
            rows.append([d["metadata"]["name"], d.get("type", "Opaque"), str(len(d.get("data") or {})),
                         age(d["metadata"].get("creationTimestamp"))])
    else:
        cols = printer_columns(res)
        hdr = ["NAME"] + [c["name"].upper() for c in cols] + ["AGE"] if not cols or not any(
            c["name"].lower() == "age" for c in cols) else ["NAME"] + [c["name"].upper() for c in cols]
        for d in items:
            row = [d["metadata"]["name"]]
            for c in cols:
                if c["name"].lower() == "age":
                    row.append(age(d["metadata"].get("creationTimestamp")))
                    continue
                try:
                    v = jsonpath.render("{%s}" % c["jsonPath"], d)
                except jsonpath.JSONPathError:
                    v = ""
                row.append(v)
            if hdr[-1] == "AGE" and (not cols or not any(c["name"].lower() == "age" for c in cols)):
                row.append(age(d["metadata"].get("creationTimestamp")))
            rows.append(row)
    if prefix:
        # kubectl names rows kind.group/name when several resource types are listed
        rows = [[prefix + r[0]] + r[1:] for r in rows]
    if all_ns and res.namespaced:
        hdr = ["NAMESPACE"] + hdr
        rows = [[items[i]["metadata"].get("namespace", "")] + r for i, r in enumerate(rows)]
    if show_labels:
        hdr = hdr + ["LABELS"]
        rows = [r + [",".join("%s=%s" % kv for kv in sorted((items[i]["metadata"].get("labels") or {}).items()))
                     or "<none>"] for i, r in enumerate(rows)]
    widths = [max([len(hdr[c])] + [len(r[c]) for r in rows]) for c in range(len(hdr))]
    lines = [] if no_headers else ["   ".join(h.ljust(widths[c]) for c, h in enumerate(hdr)).rstrip()]
    for r in rows:
        lines.append("   ".join(v.ljust(widths[c]) for c, v in enumerate(r)).rstrip())
    return "\n".join(lines)


CRD_CACHE = {}


def printer_columns(res):
    return getattr(res, "_columns", None) or []


def print_objects(ctx, res, objs, fmt, single, opts):
    if fmt in ("json", "yaml"):
        if single and len(objs) == 1:
            data = objs[0]
        else:
            data = {"apiVersion": "v1", "items": objs, "kind": "List", "metadata": {"resourceVersion": ""}}
        if fmt == "json":
            out(json.dumps(data, indent=4))
        else:
            sys.stdout.write(yaml_dump(data))
        return
    if fmt == "name":
        for o in objs:
            out(obj_name(res, o))
        return
    if fmt and (fmt.startswith("jsonpath=") or fmt.startswith("jsonpath-as-json=") or fmt.startswith("jsonpath=")):
        tmpl = fmt.split("=", 1)[1]
        data = objs[0] if single and len(objs) == 1 else {"apiVersion": "v1", "items": objs, "kind": "List",
                                                            "metadata": {"resourceVersion": ""}}
        try:
            sys.stdout.write(jsonpath.render(tmpl, data))
        except jsonpath.JSONPathError as e:
            raise Fatal('error: error executing jsonpath "%s": Error executing template: %s. Printing more information '
                        'for debugging the template:\n\ttemplate was:\n\t\t%s\n\tobject given to jsonpath engine was:\n'
                        '\t\t%s\n' % (tmpl, e, tmpl, json.dumps(data)[:2000]))
        return
    if fmt and fmt.startswith("custom-columns="):
        specs = [c.split(":", 1) for c in fmt.split("=", 1)[1].split(",")]
        rows = [[h for h, _ in specs]]
        for o in objs:
            rows.append([jsonpath.render("{%s}" % p, o) or "<none>" for _, p in specs])
        w = [max(len(r[i]) for r in rows) for i in range(len(specs))]
        for r in rows:
            out("   ".join(v.ljust(w[i]) for i, v in enumerate(r)).rstrip())
        return
    if fmt not in (None, "", "wide"):
        raise Fatal('error: unable to match a printer suitable for the output format "%s", allowed formats are: '
                    'custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,'
                    'jsonpath-file,name,template,templatefile,wide,yaml' % fmt)
    if not objs:
        if opts.get("_ns_scope"):
            err("No resources found in %s namespace." % opts["_ns_scope"])
        else:
            err("No resources found")
        return
    prefix = (res.kind.lower() + ("." + res.group if res.group else "") + "/") if opts.get("_kind_prefix") else ""
    text = table(res, objs, wide=fmt == "wide", all_ns=opts.get("all-namespaces"), show_labels=opts.get("show-labels"),
                 no_headers=opts.get("no-headers"), prefix=prefix)
    out(text)


# ------------------------------------------------------------------ get

def parse_targets(ctx, pos):
    """['deploy', 'a', 'b'] | ['deploy/a', 'svc/b'] | ['pods,svc'] -> [(res, name or None)]"""
    if not pos:
        raise Fatal("error: Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed "
                    "description of that resource (e.g. kubectl explain pods).\nSee 'kubectl get -h' for help and "
                    "examples")
    if "/" in pos[0]:
        out_ = []
        for p in pos:
            if "/" not in p:
                raise Fatal("error: there is no need to specify a resource type as a separate argument when passing "
                            "arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of "
                            "'kubectl get resource resource/<resource_name>'")
            t, n = p.split("/", 1)
            out_.append((ctx.resolve(t), n))
        return out_
    types = [ctx.resolve(t) for t in pos[0].split(",")]
    names = pos[1:]
    if names and len(types) > 1:
        return [(t, n) for t in types for n in names]
    if names:
        return [(types[0], n) for n in names]
    return [(t, None) for t in types]


def attach_columns(ctx, res):
    if False:
        pass


def cmd_get(argv):
    opts, pos, _ = parse(argv, {"output": "str", "o": "str", "selector": "str", "l": "str", "all-namespaces": "bool",
                                "A": "bool", "raw": "str", "field-selector": "str", "show-labels": "bool",
                                "no-headers": "bool", "ignore-not-found": "bool", "watch": "bool",
                                "chunk-size": "str", "sort-by": "str", "show-kind": "bool"}, "get")
    fmt = opts.get("output")
    ctx = Ctx(opts)
    if opts.get("raw"):
        try:
            status, data = ctx.client.raw("GET", opts["raw"])
        except ConnError as e:
            raise Fatal(str(e))
        if status >= 400:
            try:
                st = json.loads(data)
                e = ApiError(status, st)
                raise Fatal(server_error(e))
            except ValueError:
                reason = {500: "InternalServerError", 404: "NotFound", 403: "Forbidden"}.get(status, "")
                body = data.decode(errors="replace")
                raise Fatal('Error from server (%s): an error on the server ("%s") has prevented the request from '
                            'succeeding' % (reason, body.replace("\n", "\\n")) if status >= 500 else
                            "Error from server (%s): %s" % (reason, body.strip()))
        sys.stdout.write(data.decode(errors="replace"))
        if data and not data.endswith(b"\n"):
            sys.stdout.write("\n")
        return 0
    targets = parse_targets(ctx, pos)
    all_ns = opts.get("all-namespaces")
    ns = None if all_ns else ctx.ns
    rc = 0
    single = len(targets) == 1 and targets[0][1] is not None
    collected = []
    groups = {}
    for res, name in targets:
        try:
            if name:
                o = ctx.client.get(ctx.path(res, ns or ctx.ns, name))
                collected.append((res, o))
            else:
                lst = ctx.client.get(ctx.path(res, ns), query={"labelSelector": opts.get("selector"),
                                                                "fieldSelector": opts.get("field-selector")})
                for o in lst.get("items") or []:
                    o.setdefault("apiVersion", res.api_version)
                    o.setdefault("kind", res.kind)
                    collected.append((res, o))
                groups.setdefault(res.plural, res)
        except ApiError as e:
            if e.code == 404 and opts.get("ignore-not-found"):
                continue
            err(server_error(e))
            rc = 1
        except ConnError as e:
            raise Fatal(str(e))
    if fmt in (None, "", "wide"):
        by = {}
        order = []
        for res, o in collected:
            if res.plural not in by:
                order.append(res)
            by.setdefault(res.plural, []).append(o)
        if not collected and rc == 0 and not opts.get("ignore-not-found"):
            opts["_ns_scope"] = None if all_ns or not targets[0][0].namespaced else ns
            print_objects(ctx, targets[0][0], [], fmt, single, opts)
        load_columns(ctx, order)
        opts["_kind_prefix"] = len(order) > 1 or len(set(r.plural for r, _ in targets)) > 1
        for i, res in enumerate(order):
            if i:
                out("")
            print_objects(ctx, res, by[res.plural], fmt, single, opts)
        return rc
    if collected:
        print_objects(ctx, collected[0][0], [o for _, o in collected], fmt, single, opts)
    elif not single:
        print_objects(ctx, targets[0][0], [], fmt, False, opts)
    return rc


def load_columns(ctx, resources):
    for res in resources:
        if res.group in ("", "apps", "policy", "batch", "rbac.authorization.k8s.io", "storage.k8s.io",
                         "networking.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
                         "coordination.k8s.io", "certificates.k8s.io", "scheduling.k8s.io", "discovery.k8s.io"):
            continue
        try:
            crd = ctx.client.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s.%s" % (res.plural,
                                                                                                     res.group))
            v = next((v for v in crd["spec"].get("versions") or [] if v["name"] == res.version), {})
            res._columns = v.get("additionalPrinterColumns") or []
        except (ApiError, ConnError):
            res._columns = []


# ------------------------------------------------------------------ apply / create / delete

def read_manifests(files, recursive=False):
    docs = []
    for f in files:
        if f == "-":
            text, src = sys.stdin.read(), "STDIN"
            paths = [(src, text)]
        elif os.path.isdir(f):
            paths = []
            for root, dirs, names in os.walk(f):
                for n in sorted(names):
                    if n.endswith((".yaml", ".yml", ".json")):
                        p = os.path.join(root, n)
                        with open(p) as fh:
                            paths.append((p, fh.read()))
                if not recursive:
                    break
        else:
            if f.startswith(("http://", "https://")):
                raise Fatal('error: unable to read URL "%s", server reported: the Cairn lab has no internet' % f)
            if not os.path.exists(f):
                raise Fatal('error: the path "%s" does not exist' % f)
            with open(f) as fh:
                paths = [(f, fh.read())]
        for src, text in paths:
            try:
                for d in yaml.safe_load_all(text):
                    if d is None:
                        continue
                    if not isinstance(d, dict) or not d.get("kind") or not d.get("apiVersion"):
                        raise Fatal("error: error validating \"%s\": error validating data: [apiVersion not set, kind "
                                    "not set]; if you choose to ignore these errors, turn validation off with "
                                    "--validate=false" % src)
                    if d["kind"] == "List":
                        for item in d.get("items") or []:
                            docs.append((src, item))
                    else:
                        docs.append((src, d))
            except yaml.YAMLError as e:
                raise Fatal("error: error parsing %s: error converting YAML to JSON: yaml: %s" % (src, e))
    return docs


def _mapping(ctx, src, d, ns_flag):
    res = ctx.by_kind(d["apiVersion"], d["kind"])
    name = (d.get("metadata") or {}).get("name", "")
    ns = (d.get("metadata") or {}).get("namespace") or ns_flag
    if res is None:
        ctx._resources = None  # a CRD applied earlier in the same run may have registered the kind
        res = ctx.by_kind(d["apiVersion"], d["kind"])
    if res is None:
        raise Fatal('error: resource mapping not found for name: "%s" namespace: "%s" from "%s": no matches for kind '
                    '"%s" in version "%s"\nensure CRDs are installed first' % (
                        name, ns if ns else "", src, d["kind"], d["apiVersion"]))
    if res.namespaced:
        md_ns = (d.get("metadata") or {}).get("namespace")
        if md_ns and ns_flag and md_ns != ns_flag and ctx.opts.get("namespace"):
            raise Fatal("error: the namespace from the provided object \"%s\" does not match the namespace \"%s\". You "
                        "must pass '--namespace=%s' to perform this operation." % (md_ns, ns_flag, md_ns))
    return res, name, (ns if res.namespaced else None)


def cmd_apply(argv):
    opts, pos, _ = parse(argv, {"filename": "list", "f": "list", "server-side": "bool", "field-manager": "str",
                                "force-conflicts": "bool", "output": "str", "o": "str", "dry-run": "str",
                                "recursive": "bool", "R": "bool", "validate": "str", "prune": "bool",
                                "selector": "str", "l": "str", "wait": "bool", "overwrite": "bool",
                                "force": "bool", "timeout": "str"}, "apply")
    files = opts.get("filename") or []
    if not files:
        raise Fatal("error: must specify one of -f and -k\n\nerror: no objects passed to apply")
    if pos:
        raise Fatal("error: Unexpected args: %s\nSee 'kubectl apply -h' for help and examples" % pos)
    ctx = Ctx(opts)
    docs = read_manifests(files, opts.get("recursive"))
    if not docs:
        raise Fatal("error: no objects passed to apply")
    ssa = opts.get("server-side")
    manager = opts.get("field-manager") or ("kubectl" if ssa else "kubectl-client-side-apply")
    dry = opts.get("dry-run") in ("server", "client", "true")
    rc = 0
    for src, d in docs:
        try:
            res, name, ns = _mapping(ctx, src, d, ctx.ns)
        except Fatal as e:
            err(e.msg)
            rc = 1
            continue
        if not name:
            err('error: error when retrieving current configuration of:\nResource: "%s", GroupVersionKind: "%s"\n'
                'Name: "", Namespace: "%s"\nfrom server for: "%s": resource name may not be empty' % (
                    res.plural, d["apiVersion"], ns or "", src))
            rc = 1
            continue
        if res.namespaced:
            d.setdefault("metadata", {})["namespace"] = ns
        path = ctx.path(res, ns, name)
        try:
            if ssa:
                q = {"fieldManager": manager, "force": "true" if opts.get("force-conflicts") else None}
                if dry:
                    q["dryRun"] = "All"
                ctx.client.patch(path, yaml_dump(d), "apply", query=q)
                out("%s serverside-applied%s" % (obj_name(res, d), " (server dry run)" if dry else ""))
            else:
                out(client_side_apply(ctx, res, path, ns, d, manager, dry))
        except ApiError as e:
            if e.code == 409 and ssa and "Apply failed" in e.message:
                err("error: %s\nPlease review the fields above--they currently have other managers. Here\nare the "
                    "ways you can resolve this warning:\n* If you intend to manage all of these fields, please re-run "
                    "the apply\n  command with the `--force-conflicts` flag.\n* If you do not intend to manage all of "
                    "the fields, please edit your\n  manifest to remove references to the fields that should keep "
                    "their\n  current managers.\n* You may co-own fields by updating your manifest to match the "
                    "existing\n  value; in this case, you'll become the manager if the other manager(s)\n  stop "
                    "managing the field (remove it from their configuration).\nSee "
                    "https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts" % e.message)
            else:
                err(server_error(e, 'error when %s "%s": ' % ("applying patch" if False else "creating", src)
                                 if e.code != 409 else ""))
            rc = 1
        except ConnError as e:
            err(str(e))
            rc = 1
    return rc


def client_side_apply(ctx, res, path, ns, d, manager, dry):
    q = {"fieldManager": manager}
    if dry:
        q["dryRun"] = "All"
    new = copy.deepcopy(d)
    applied = json.dumps(d, sort_keys=True, separators=(",", ":"))
    new.setdefault("metadata", {}).setdefault("annotations", {})[LAST_APPLIED] = applied + "\n"
    try:
        live = ctx.client.get(path)
    except ApiError as e:
        if e.code != 404:
            raise
        coll = ctx.path(res, ns)
        ctx.client.post(coll, new, query=q)
        return "%s created%s" % (obj_name(res, d), " (server dry run)" if dry else "")
    last = {}
    try:
        last = json.loads((live["metadata"].get("annotations") or {}).get(LAST_APPLIED) or "{}")
    except ValueError:
        pass
    patch = three_way(last, d, live)
    patch.setdefault("metadata", {}).setdefault("annotations", {})[LAST_APPLIED] = applied + "\n"
    if (live["metadata"].get("annotations") or {}).get(LAST_APPLIED, "").strip() == applied and \
            not _differs(d, live):
        return "%s unchanged" % obj_name(res, d)
    ptype = "merge" if res.group not in ("", "apps", "batch", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
                                         "storage.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
                                         "scheduling.k8s.io", "coordination.k8s.io") else "strategic"
    ctx.client.patch(path, patch, ptype, query=q)
    return "%s configured%s" % (obj_name(res, d), " (server dry run)" if dry else "")


def _differs(want, live):
    if isinstance(want, dict):
        if not isinstance(live, dict):
            return True
        return any(_differs(v, live.get(k)) for k, v in want.items() if k not in ("status",))
    return want != live


def three_way(last, new, live):
    """Fields in last-applied but not in new are deleted (null); new values are set."""
    patch = {}
    for k, v in new.items():
        if k == "status":
            continue
        lv = live.get(k) if isinstance(live, dict) else None
        if isinstance(v, dict) and isinstance(lv, dict):
            sub = three_way((last or {}).get(k) or {}, v, lv)
            if sub:
                patch[k] = sub
        elif v != lv:
            patch[k] = v
    for k in (last or {}):
        if k not in new and k != "status":
            patch[k] = None
    return patch


def cmd_create(argv):
    if argv and argv[0] in ("namespace", "ns"):
        opts, pos, _ = parse(argv[1:], {"dry-run": "str", "output": "str", "o": "str"}, "create namespace")
        ctx = Ctx(opts)
        try:
            ctx.client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": pos[0]}})
        except ApiError as e:
            raise Fatal(server_error(e))
        out("namespace/%s created" % pos[0])
        return 0
    opts, pos, _ = parse(argv, {"filename": "list", "f": "list", "dry-run": "str", "output": "str", "o": "str",
                                "save-config": "bool", "validate": "str"}, "create")
    ctx = Ctx(opts)
    rc = 0
    for src, d in read_manifests(opts.get("filename") or []):
        try:
            res, name, ns = _mapping(ctx, src, d, ctx.ns)
            ctx.client.post(ctx.path(res, ns), d)
            out("%s created" % obj_name(res, d))
        except Fatal as e:
            err(e.msg)
            rc = 1
        except ApiError as e:
            err(server_error(e, 'error when creating "%s": ' % src))
            rc = 1
    return rc


def cmd_delete(argv):
    opts, pos, _ = parse(argv, {"filename": "list", "f": "list", "ignore-not-found": "bool", "wait": "str",
                                "selector": "str", "l": "str", "all": "bool", "grace-period": "str", "force": "bool",
                                "timeout": "str", "cascade": "str", "now": "bool", "all-namespaces": "bool",
                                "A": "bool", "recursive": "bool", "R": "bool"}, "delete")
    ctx = Ctx(opts)
    targets = []
    if opts.get("filename"):
        for src, d in read_manifests(opts["filename"], opts.get("recursive")):
            try:
                res, name, ns = _mapping(ctx, src, d, ctx.ns)
            except Fatal as e:
                err(e.msg)
                continue
            targets.append((res, ns, name))
    else:
        for res, name in parse_targets(ctx, pos):
            ns = ctx.ns if res.namespaced else None
            if name:
                targets.append((res, ns, name))
            elif opts.get("selector") or opts.get("all"):
                items = ctx.client.get(ctx.path(res, ns), query={"labelSelector": opts.get("selector")})["items"]
                targets += [(res, ns, o["metadata"]["name"]) for o in items]
            else:
                raise Fatal("error: resource(s) were provided, but no name was specified")
    rc = 0
    for res, ns, name in targets:
        try:
            ctx.client.delete(ctx.path(res, ns, name))
            out('%s "%s" deleted%s' % (res.kind.lower() + ("." + res.group if res.group else ""), name,
                                       (" from %s namespace" % ns) if ns and False else ""))
        except ApiError as e:
            if e.code == 404 and opts.get("ignore-not-found"):
                continue
            err(server_error(e))
            rc = 1
    return rc


# ------------------------------------------------------------------ rollout / wait / scale

def rollout_state(kind, o):
    """(done, message) like kubectl's rollout status viewers."""
    name = o["metadata"]["name"]
    st = o.get("status") or {}
    spec = o.get("spec") or {}
    gen, obs = o["metadata"].get("generation", 0), st.get("observedGeneration", 0)
    if kind == "Deployment":
        if gen > obs:
            return False, "Waiting for deployment spec update to be observed..."
        for c in st.get("conditions") or []:
            if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
                raise Fatal('error: deployment "%s" exceeded its progress deadline' % name)
        want = spec.get("replicas", 1)
        upd = st.get("updatedReplicas", 0)
        if upd < want:
            return False, 'Waiting for deployment "%s" rollout to finish: %d out of %d new replicas have been updated...' % (
                name, upd, want)
        if st.get("replicas", 0) > upd:
            return False, 'Waiting for deployment "%s" rollout to finish: %d old replicas are pending termination...' % (
                name, st.get("replicas", 0) - upd)
        if st.get("availableReplicas", 0) < upd:
            return False, 'Waiting for deployment "%s" rollout to finish: %d of %d updated replicas are available...' % (
                name, st.get("availableReplicas", 0), upd)
        return True, 'deployment "%s" successfully rolled out' % name
    if kind == "DaemonSet":
        if gen > obs:
            return False, "Waiting for daemon set spec update to be observed..."
        want = st.get("desiredNumberScheduled", 0)
        if st.get("updatedNumberScheduled", 0) < want:
            return False, 'Waiting for daemon set "%s" rollout to finish: %d out of %d new pods have been updated...' % (
                name, st.get("updatedNumberScheduled", 0), want)
        if st.get("numberAvailable", 0) < want:
            return False, 'Waiting for daemon set "%s" rollout to finish: %d of %d updated pods are available...' % (
                name, st.get("numberAvailable", 0), want)
        return True, 'daemon set "%s" successfully rolled out' % name
    if kind == "StatefulSet":
        if gen > obs:
            return False, "Waiting for statefulset spec update to be observed..."
        want = spec.get("replicas", 1)
        if st.get("readyReplicas", 0) < want:
            return False, "Waiting for %d pods to be ready..." % (want - st.get("readyReplicas", 0))
        return True, "statefulset rolling update complete %d pods at revision %s..." % (
            want, st.get("updateRevision", name))
    raise Fatal('error: no status viewer has been implemented for %s' % kind)


def cmd_rollout(argv):
    if not argv or argv[0] != "status":
        raise Fatal("error: the lab's kubectl implements 'rollout status' only")
    opts, pos, _ = parse(argv[1:], {"timeout": "str", "watch": "bool", "w": "bool", "revision": "str"}, "rollout status")
    ctx = Ctx(opts)
    targets = parse_targets(ctx, pos)
    timeout = parse_duration(opts.get("timeout", "0") or "0")
    watch = opts.get("watch", True)
    for res, name in targets:
        if res.kind not in ("Deployment", "DaemonSet", "StatefulSet"):
            raise Fatal('error: no status viewer has been implemented for %s' % res.kind)
        end = time.monotonic() + timeout if timeout else None
        last = None
        while True:
            try:
                o = ctx.client.get(ctx.path(res, ctx.ns, name))
            except ApiError as e:
                raise Fatal(server_error(e))
            except ConnError as e:
                raise Fatal(str(e))
            done, msg = rollout_state(res.kind, o)
            if done:
                out(msg)
                break
            if msg != last:
                out(msg)
                last = msg
            if not watch:
                break
            if end and time.monotonic() >= end:
                raise Fatal("error: timed out waiting for the condition")
            time.sleep(1)
    return 0


def cmd_wait(argv):
    opts, pos, _ = parse(argv, {"for": "list", "timeout": "str", "selector": "str", "l": "str", "all": "bool",
                                "all-namespaces": "bool", "A": "bool", "filename": "list", "f": "list"}, "wait")
    ctx = Ctx(opts)
    conds = opts.get("for") or []
    if not conds:
        raise Fatal("error: --for must be specified")
    timeout = parse_duration(opts.get("timeout", "30s"))
    if pos and "/" not in pos[0] and len(pos) == 1 and (opts.get("selector") or opts.get("all")):
        res = ctx.resolve(pos[0])
        items = ctx.client.get(ctx.path(res, ctx.ns), query={"labelSelector": opts.get("selector")})["items"]
        if not items:
            raise Fatal("error: no matching resources found")
        targets = [(res, o["metadata"]["name"]) for o in items]
    else:
        targets = parse_targets(ctx, pos)
    end = time.monotonic() + timeout
    for res, name in targets:
        for cond in conds:
            rname = "%s/%s" % (res.plural + ("." + res.group if res.group else ""), name)
            while True:
                try:
                    o = ctx.client.get(ctx.path(res, ctx.ns, name))
                except ApiError as e:
                    if cond == "delete" and e.code == 404:
                        break
                    raise Fatal(server_error(e))
                except ConnError as e:
                    raise Fatal(str(e))
                if cond.startswith("condition="):
                    c = cond[len("condition="):]
                    ctype, _, want = c.partition("=")
                    want = want or "True"
                    if any(x.get("type", "").lower() == ctype.lower() and str(x.get("status")).lower() == want.lower()
                           for x in (o.get("status") or {}).get("conditions") or []):
                        out("%s condition met" % obj_name(res, o))
                        break
                elif cond.startswith("jsonpath="):
                    expr = cond[len("jsonpath="):]
                    path, _, want = expr.rpartition("=") if "}=" in expr or "=" in expr.lstrip("{") else (expr, "", "")
                    path = path.strip("'\"")
                    if not path.startswith("{"):
                        path = "{" + path + "}"
                    if jsonpath.render(path, o) == want.strip("'\""):
                        out("%s condition met" % obj_name(res, o))
                        break
                elif cond != "delete":
                    raise Fatal('error: unrecognized condition: "%s"' % cond)
                if time.monotonic() >= end:
                    raise Fatal("error: timed out waiting for the condition on %s" % rname)
                time.sleep(0.5)
    return 0


def cmd_scale(argv):
    opts, pos, _ = parse(argv, {"replicas": "str", "current-replicas": "str", "timeout": "str", "selector": "str",
                                "l": "str", "filename": "list", "f": "list"}, "scale")
    if "replicas" not in opts:
        raise Fatal("error: required flag(s) \"replicas\" not set")
    ctx = Ctx(opts)
    for res, name in parse_targets(ctx, pos):
        if "scale" not in ("scale",) or res.kind not in ("Deployment", "StatefulSet", "ReplicaSet"):
            raise Fatal('error: no objects passed to scale %s' % res.kind)
        try:
            ctx.client.patch(ctx.path(res, ctx.ns, name, "scale"), {"spec": {"replicas": int(opts["replicas"])}},
                             "merge", query={"fieldManager": "kubectl-scale"})
        except ApiError as e:
            raise Fatal(server_error(e))
        out("%s/%s scaled" % (res.kind.lower() + ("." + res.group if res.group else ""), name))
    return 0


# ------------------------------------------------------------------ label / annotate / taint / cordon / drain

def cmd_label(argv, field="labels", verb="label"):
    opts, pos, _ = parse(argv, {"overwrite": "bool", "selector": "str", "l": "str", "all": "bool", "list": "bool",
                                "dry-run": "str"}, verb)
    ctx = Ctx(opts)
    if not pos:
        raise Fatal("error: one or more resources must be specified as <resource> <name> or <resource>/<name>")
    kv = [p for p in pos if "=" in p or p.endswith("-")]
    rest = [p for p in pos if p not in kv]
    if not kv:
        raise Fatal("error: at least one %s update is required" % verb.replace("annotate", "annotation"))
    targets = parse_targets(ctx, rest)
    for res, name in targets:
        path = ctx.path(res, ctx.ns, name)
        try:
            o = ctx.client.get(path)
        except ApiError as e:
            raise Fatal(server_error(e))
        cur = o["metadata"].get(field) or {}
        patch = {}
        for item in kv:
            if item.endswith("-") and "=" not in item:
                patch[item[:-1]] = None
                continue
            k, v = item.split("=", 1)
            if k in cur and cur[k] != v and not opts.get("overwrite"):
                raise Fatal("error: '%s' already has a value (%s), and --overwrite is false" % (k, cur[k]))
            patch[k] = v
        ctx.client.patch(path, {"metadata": {field: patch}}, "merge", query={"fieldManager": "kubectl-" + verb})
        out("%s %s" % (obj_name(res, o), "labeled" if verb == "label" else "annotated"))
    return 0


def cmd_taint(argv):
    opts, pos, _ = parse(argv, {"overwrite": "bool", "selector": "str", "l": "str", "all": "bool"}, "taint")
    ctx = Ctx(opts)
    if len(pos) < 3 or pos[0] not in ("node", "nodes", "no"):
        raise Fatal("error: at least one taint update is required" if len(pos) >= 1 else
                    "error: must provide one or more resources")
    name, specs = pos[1], pos[2:]
    path = "/api/v1/nodes/" + name
    try:
        n = ctx.client.get(path)
    except ApiError as e:
        raise Fatal(server_error(e))
    taints = list(n["spec"].get("taints") or [])
    for s in specs:
        remove = s.endswith("-")
        s = s.rstrip("-")
        kv, _, eff = s.partition(":")
        k, _, v = kv.partition("=")
        if remove:
            before = len(taints)
            taints = [t for t in taints if not (t["key"] == k and (not eff or t.get("effect") == eff))]
            if len(taints) == before:
                raise Fatal('error: taint "%s" not found' % s)
            continue
        if eff not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise Fatal('error: invalid taint spec: %s, unsupported taint effect' % s)
        existing = [t for t in taints if t["key"] == k and t.get("effect") == eff]
        if existing and not opts.get("overwrite"):
            raise Fatal("error: node %s already has %s taint(s) with same effect(s) and --overwrite is false" % (name, k))
        taints = [t for t in taints if not (t["key"] == k and t.get("effect") == eff)]
        t = {"key": k, "effect": eff}
        if v:
            t["value"] = v
        taints.append(t)
    n["spec"]["taints"] = taints
    ctx.client.put(path, n)
    out("node/%s %s" % (name, "untainted" if all(s.endswith("-") for s in specs) else "tainted"))
    return 0


def set_unschedulable(ctx, name, value):
    try:
        n = ctx.client.get("/api/v1/nodes/" + name)
    except ApiError as e:
        raise Fatal(server_error(e))
    if bool(n["spec"].get("unschedulable")) == value:
        return False
    ctx.client.patch("/api/v1/nodes/" + name, {"spec": {"unschedulable": True if value else None}}, "strategic")
    return True


def cmd_cordon(argv, value=True):
    opts, pos, _ = parse(argv, {"selector": "str", "l": "str", "dry-run": "str"}, "cordon" if value else "uncordon")
    ctx = Ctx(opts)
    for name in pos:
        changed = set_unschedulable(ctx, name, value)
        word = "cordoned" if value else "uncordoned"
        out("node/%s %s" % (name, word if changed else "already " + word))
    return 0


def cmd_drain(argv):
    opts, pos, _ = parse(argv, {"ignore-daemonsets": "bool", "delete-emptydir-data": "bool", "force": "bool",
                                "grace-period": "str", "timeout": "str", "selector": "str", "l": "str",
                                "pod-selector": "str", "disable-eviction": "bool", "skip-wait-for-delete-timeout": "str",
                                "delete-local-data": "bool", "dry-run": "str"}, "drain")
    ctx = Ctx(opts)
    timeout = parse_duration(opts.get("timeout", "0s") or "0s") or 1e9
    for name in pos:
        set_unschedulable(ctx, name, True)
        out("node/%s cordoned" % name)
        pods = ctx.client.get("/api/v1/pods", query={"fieldSelector": "spec.nodeName=" + name})["items"]
        ds_pods, evict, errs = [], [], []
        for p in pods:
            if (p["metadata"].get("annotations") or {}).get("kubernetes.io/config.mirror"):
                continue
            owners = p["metadata"].get("ownerReferences") or []
            if any(o.get("kind") == "DaemonSet" for o in owners):
                ds_pods.append(p)
                continue
            if not owners and not opts.get("force"):
                errs.append("cannot delete Pods that declare no controller (use --force to override): %s/%s" % (
                    p["metadata"]["namespace"], p["metadata"]["name"]))
                continue
            evict.append(p)
        if ds_pods and not opts.get("ignore-daemonsets"):
            errs.append("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): %s" % ", ".join(
                "%s/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]) for p in ds_pods))
        if errs:
            raise Fatal("error: unable to drain node \"%s\" due to error: %s, continuing command...\nThere are pending "
                        "nodes to be drained:\n %s\nerror: %s" % (name, "; ".join(errs), name, "\n".join(errs)))
        if ds_pods:
            err("Warning: ignoring DaemonSet-managed Pods: %s" % ", ".join(
                "%s/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]) for p in ds_pods))
        end = time.monotonic() + timeout
        for p in evict:
            out("evicting pod %s/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]))
        pending = list(evict)
        while pending:
            nxt = []
            for p in pending:
                ns, pn = p["metadata"]["namespace"], p["metadata"]["name"]
                try:
                    ctx.client.post("/api/v1/namespaces/%s/pods/%s/eviction" % (ns, pn), {
                        "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pn, "namespace": ns}})
                    out("pod/%s evicted" % pn)
                except ApiError as e:
                    if e.code == 404:
                        out("pod/%s evicted" % pn)
                    elif e.code == 429:
                        err('error when evicting pods/"%s" -n "%s" (will retry after 5s): %s' % (pn, ns, e.message))
                        nxt.append(p)
                    else:
                        raise Fatal(server_error(e))
            pending = nxt
            if pending:
                if time.monotonic() >= end:
                    raise Fatal("There are pending pods in node \"%s\" when an error occurred: error when evicting pods/"
                                "\"%s\" -n \"%s\": global timeout reached: %s\nerror: unable to drain node \"%s\" due to "
                                "error: error when evicting pods/\"%s\" -n \"%s\": global timeout reached: %s" % (
                                    name, pending[0]["metadata"]["name"], pending[0]["metadata"]["namespace"],
                                    opts.get("timeout"), name, pending[0]["metadata"]["name"],
                                    pending[0]["metadata"]["namespace"], opts.get("timeout")))
                time.sleep(min(5, max(0.5, end - time.monotonic())))
        out("node/%s drained" % name)
    return 0


# ------------------------------------------------------------------ exec, version, misc

def cmd_exec(argv):
    opts, pos, cmd = parse(argv, {"container": "str", "c": "str", "stdin": "bool", "i": "bool", "tty": "bool",
                                  "t": "bool", "quiet": "bool", "q": "bool", "pod-running-timeout": "str",
                                  "filename": "list", "f": "list"}, "exec")
    if not pos:
        raise Fatal("error: expected 'exec POD_NAME COMMAND [ARG1] [ARG2] ... [ARGN]'.\nPOD_NAME and COMMAND are "
                    "required arguments for the exec command\nSee 'kubectl exec -h' for help and examples")
    if cmd is None:
        if len(pos) > 1:
            cmd = pos[1:]
        else:
            raise Fatal("error: you must specify at least one command for the container")
    ctx = Ctx(opts)
    target = pos[0]
    if "/" in target:
        t, name = target.split("/", 1)
        res = ctx.resolve(t)
        if res.kind == "Pod":
            pod = name
        else:
            try:
                o = ctx.client.get(ctx.path(res, ctx.ns, name))
            except ApiError as e:
                raise Fatal(server_error(e))
            selector = sel.selector_string((o.get("spec") or {}).get("selector") or {})
            pods = ctx.client.get("/api/v1/namespaces/%s/pods" % ctx.ns, query={"labelSelector": selector})["items"]
            pods.sort(key=lambda p: (p.get("status", {}).get("phase") != "Running", p["metadata"]["name"]))
            if not pods:
                raise Fatal("error: cannot exec into a container in a completed pod; no pods found for %s %s" % (
                    res.kind.lower(), name) if False else "error: timed out waiting for the condition")
            pod = pods[0]["metadata"]["name"]
    else:
        pod = target
    q = {"command": cmd, "stdout": "true", "stderr": "true"}
    if opts.get("container"):
        q["container"] = opts["container"]
    try:
        r = ctx.client.post("/api/v1/namespaces/%s/pods/%s/exec" % (ctx.ns, pod), None, query=q)
    except ApiError as e:
        if e.code == 400:
            raise Fatal("error: %s" % e.message)
        raise Fatal(server_error(e))
    except ConnError as e:
        raise Fatal(str(e))
    sys.stdout.write(r.get("stdout", ""))
    sys.stderr.write(r.get("stderr", ""))
    rc = int(r.get("exitCode", 0))
    if rc:
        err("command terminated with exit code %d" % rc)
    return rc


def cmd_version(argv):
    opts, pos, _ = parse(argv, {"client": "bool", "output": "str", "o": "str", "short": "bool"}, "version")
    v = "v" + k8s_version()
    client = {"major": v[1:].split(".")[0], "minor": v[1:].split(".")[1], "gitVersion": v, "gitCommit": "0" * 40,
              "gitTreeState": "clean", "buildDate": "2025-04-22T16:03:42Z", "goVersion": "go1.23.8", "compiler": "gc",
              "platform": "linux/amd64"}
    data = {"clientVersion": client, "kustomizeVersion": "v5.5.0"}
    if not opts.get("client"):
        try:
            ctx = Ctx(opts)
            data["serverVersion"] = ctx.client.get("/version")
        except (Fatal, ApiError, ConnError) as e:
            if opts.get("output") in ("json", "yaml"):
                pass
            else:
                out("Client Version: %s\nKustomize Version: v5.5.0" % v)
                raise Fatal(str(getattr(e, "msg", e)))
    fmt = opts.get("output")
    if fmt == "json":
        out(json.dumps(data, indent=2))
    elif fmt == "yaml":
        sys.stdout.write(yaml_dump(data))
    else:
        out("Client Version: %s\nKustomize Version: v5.5.0" % v)
        if "serverVersion" in data:
            out("Server Version: %s" % data["serverVersion"]["gitVersion"])
    return 0


def cmd_logs(argv):
    opts, pos, _ = parse(argv, {"container": "str", "c": "str", "follow": "bool", "tail": "str", "previous": "bool",
                                "p": "bool", "all-containers": "bool", "selector": "str", "l": "str"}, "logs")
    out("(the Cairn lab runs no containers; there are no logs)")
    return 0


def cmd_api_resources(argv):
    opts, pos, _ = parse(argv, {"output": "str", "o": "str", "namespaced": "str", "api-group": "str",
                                "no-headers": "bool"}, "api-resources")
    ctx = Ctx(opts)
    rs = ctx.resources()
    if opts.get("output") == "name":
        for r in rs:
            out(r.plural + ("." + r.group if r.group else ""))
        return 0
    out("NAME                                SHORTNAMES   APIVERSION                        NAMESPACED   KIND")
    for r in rs:
        out("%-35s %-12s %-33s %-12s %s" % (r.plural, ",".join(r.short), r.api_version, str(r.namespaced).lower(),
                                             r.kind))
    return 0


def cmd_patch(argv):
    opts, pos, _ = parse(argv, {"type": "str", "patch": "str", "p": "str", "subresource": "str",
                                "dry-run": "str", "output": "str", "o": "str", "field-manager": "str"}, "patch")
    body = opts.get("patch")
    if body is None:
        raise Fatal("error: must specify --patch or --patch-file containing the contents of the patch")
    ptype = opts.get("type", "strategic")
    if ptype not in ("json", "merge", "strategic"):
        raise Fatal('error: --type must be one of [json merge strategic], not "%s"' % ptype)
    try:
        patch = json.loads(body)
    except ValueError:
        try:
            patch = yaml.safe_load(body)
        except yaml.YAMLError as e:
            raise Fatal("error: unable to parse \"%s\": %s" % (body, e))
    ctx = Ctx(opts)
    for res, name in parse_targets(ctx, pos):
        path = ctx.path(res, ctx.ns, name, opts.get("subresource"))
        try:
            before = ctx.client.get(path)
            after = ctx.client.patch(path, patch, ptype, query={"fieldManager": opts.get("field-manager") or
                                                                "kubectl-patch"})
        except ApiError as e:
            raise Fatal(server_error(e))
        same = json.dumps(before.get("spec"), sort_keys=True) == json.dumps(after.get("spec"), sort_keys=True) and \
            json.dumps(before.get("data"), sort_keys=True) == json.dumps(after.get("data"), sort_keys=True) and \
            before["metadata"].get("labels") == after["metadata"].get("labels")
        out("%s %s" % (obj_name(res, after), "patched (no change)" if same else "patched"))
    return 0


COMMANDS = {"get": cmd_get, "apply": cmd_apply, "create": cmd_create, "delete": cmd_delete, "rollout": cmd_rollout,
            "wait": cmd_wait, "scale": cmd_scale, "label": cmd_label,
            "annotate": lambda a: cmd_label(a, "annotations", "annotate"), "taint": cmd_taint, "cordon": cmd_cordon,
            "uncordon": lambda a: cmd_cordon(a, False), "drain": cmd_drain, "exec": cmd_exec, "version": cmd_version,
            "logs": cmd_logs, "api-resources": cmd_api_resources,
            "patch": cmd_patch}


def main(argv):
    # global flags may come before the verb
    pre = []
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        a = argv[i]
        pre.append(a)
        name = a.lstrip("-").split("=")[0]
        if "=" not in a and name in ("kubeconfig", "namespace", "n", "context", "request-timeout", "server", "s", "v"):
            i += 1
            if i < len(argv):
                pre.append(argv[i])
        i += 1
    rest = argv[i:]
    if not rest:
        out("kubectl controls the Kubernetes cluster manager (Cairn lab stand-in).\nCommands: " + " ".join(sorted(COMMANDS)))
        return 0
    verb, args = rest[0], rest[1:]
    fn = COMMANDS.get(verb)
    if fn is None:
        raise Fatal('error: unknown command "%s" for "kubectl"\n\nDid you mean this?\n\t%s\n' % (verb, "get") if False
                    else 'error: unknown command "%s" for "kubectl"' % verb)
    if "--" in args:
        i = args.index("--")
        return fn(args[:i] + pre + args[i:])
    return fn(args + pre)
