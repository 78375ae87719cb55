"""OpenAPI schemas for the API server stand-in: the Kubernetes definitions of the lab's minor (from
the kubernetes-validate wheel, baked into the zipapp by scripts/lab-mirror as
openapi-definitions.json.gz) and the CRDs' openAPIV3Schema; the /openapi/v3 documents kubectl reads
(to learn that the server validates fields itself) and the validation of request bodies.

Validation follows the real server:
- built-in kinds: unknown fields are a strict decoding error under fieldValidation=Strict
  (`strict decoding error: unknown field "spec.x"`), else dropped (Warn: with a warning); a wrong
  type is a JSON decoding error; `required` fields missing are `Required value`.
- custom resources: the structural schema prunes unknown fields (or rejects them under Strict),
  and the value validations (type, enum, pattern, bounds, lengths, items, required) answer 422 with
  the apiextensions wording; `default`s are applied.
- server-side apply: an unknown field makes the typed patch fail (`.spec.x: field not declared in
  schema`), whatever fieldValidation says.
"""
import copy
import gzip
import json
import os
import pkgutil
import re

_DEFS = None
_RELEASE = None


def _load_raw():
    path = os.environ.get("CAIRN_LAB_OPENAPI_DEFINITIONS")
    if path:
        with open(path, "rb") as f:
            data = f.read()
    else:
        try:
            data = pkgutil.get_data("common", "openapi-definitions.json.gz")
        except (OSError, ImportError):
            data = None
        if not data:
            return {}
        data = gzip.decompress(data)
    return json.loads(data).get("$defs", {})


def _ref_name(ref):
    return ref.rsplit("/", 1)[-1]


INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def _normalize(node):
    """JSON-Schema shape of kubernetes-validate -> OpenAPI shape (single types, component refs)."""
    if isinstance(node, list):
        return [_normalize(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "$ref":
            out["$ref"] = "#/components/schemas/" + _ref_name(v)
        elif k == "type" and isinstance(v, list):
            types = [t for t in v if t != "null"]
            if len(types) == 1:
                out["type"] = types[0]
        elif k in ("properties", "patternProperties"):
            out[k] = {p: _normalize(s) for p, s in v.items()}
        else:
            out[k] = _normalize(v)
    return out


def definitions():
    """{name: OpenAPI schema} of the built-in kinds (empty when no schemas are baked in)."""
    global _DEFS
    if _DEFS is None:
        raw = _load_raw()
        defs = {n: _normalize(s) for n, s in raw.items()}
        if INT_OR_STRING in defs:
            defs[INT_OR_STRING] = {"type": "string", "format": "int-or-string",
                                   "description": raw[INT_OR_STRING].get("description", "")}
        if QUANTITY in defs:
            defs[QUANTITY] = {"type": "string", "description": raw[QUANTITY].get("description", "")}
        _DEFS = defs
    return _DEFS


def definition_for(group, version, kind):
    """The definition name of a built-in kind, or None."""
    for name, s in definitions().items():
        for gvk in s.get("x-kubernetes-group-version-kind") or []:
            if gvk.get("group", "") == group and gvk.get("version") == version and gvk.get("kind") == kind:
                return name
    return None


_GVK_CACHE = {}


def builtin_schema(group, version, kind):
    key = (group, version, kind)
    if key not in _GVK_CACHE:
        _GVK_CACHE[key] = definition_for(group, version, kind)
    name = _GVK_CACHE[key]
    return {"$ref": "#/components/schemas/" + name} if name else None


# ---------------------------------------------------------------------------- CRD schemas

def crd_version_schema(crd, version):
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("name") == version:
            return ((v.get("schema") or {}).get("openAPIV3Schema")) or None
    return None


# ---------------------------------------------------------------------------- validation

class Problems:
    """What one validation found."""

    def __init__(self):
        self.unknown = []       # (go-style path 'spec.x', smd-style path '.spec.x')
        self.decode = []        # Go JSON decoding errors (built-ins, wrong types)
        self.typed = []         # structured-merge-diff typing errors ('.spec.x: expected ...')
        self.field = []         # field.Error strings ('spec.x: Required value')

    def __bool__(self):
        return bool(self.unknown or self.decode or self.typed or self.field)


class _Path:
    __slots__ = ("go", "smd")

    def __init__(self, go="", smd=""):
        self.go, self.smd = go, smd

    def field(self, name):
        return _Path(name if not self.go else "%s.%s" % (self.go, name), "%s.%s" % (self.smd, name))

    def index(self, i, item, schema):
        keys = schema.get("x-kubernetes-list-map-keys") if schema.get("x-kubernetes-list-type") == "map" else None
        if not keys and schema.get("x-kubernetes-patch-merge-key") and schema.get("x-kubernetes-list-type") != "atomic":
            keys = [schema["x-kubernetes-patch-merge-key"]]
        if keys and isinstance(item, dict):
            smd = "%s[%s]" % (self.smd, ",".join('%s=%s' % (k, json.dumps(item.get(k))) for k in keys
                                                   if k in item))
        elif schema.get("x-kubernetes-list-type") == "set":
            smd = "%s[=%s]" % (self.smd, json.dumps(item))
        else:
            smd = "%s[%d]" % (self.smd, i)
        return _Path("%s[%d]" % (self.go, i), smd)

    def key(self, k):
        return _Path("%s.%s" % (self.go, k) if self.go else k, "%s.%s" % (self.smd, k))


def _go_type(schema):
    t, f = schema.get("type"), schema.get("format")
    if t == "integer":
        return f if f in ("int32", "int64") else "int"
    if t == "number":
        return "float64"
    if t == "boolean":
        return "bool"
    if t == "array":
        return "[]"
    if t == "object":
        return "map[string]interface {}"
    return "string"


def _json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _go_value_kind(v):
    return {"string": "string", "integer": "number", "number": "number", "boolean": "bool", "array": "array",
            "object": "object", "null": "null"}[_json_type(v)]


def _quote(v):
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    return json.dumps(v)


class Validator:
    """Walks a value against a schema (built-in: component refs into the definitions; CRD: a structural
    schema). With prune=True unknown fields are removed from the value in place."""

    def __init__(self, defs=None, prune=False, crd=False, defaults=False):
        self.defs = defs if defs is not None else definitions()
        self.prune = prune
        self.crd = crd
        self.defaults = defaults
        self.p = Problems()

    def resolve(self, schema):
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 20:
            name = _ref_name(schema["$ref"])
            base = self.defs.get(name) or {}
            extra = {k: v for k, v in schema.items() if k not in ("$ref", "description")}
            schema = dict(base, **extra) if extra else base
            seen += 1
        if isinstance(schema, dict) and "allOf" in schema and "type" not in schema and "properties" not in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for s in schema["allOf"]:
                s = self.resolve(s)
                for k, v in s.items():
                    merged.setdefault(k, v)
            schema = merged
        return schema or {}

    def walk(self, value, schema, path, struct=""):
        own = _ref_name(schema["$ref"]).rsplit(".", 1)[-1] if isinstance(schema, dict) and \
            isinstance(schema.get("$ref"), str) else ""
        schema = self.resolve(schema)
        if not schema:
            return
        if value is None:
            if self.crd and not schema.get("nullable") and schema.get("type"):
                self.p.field.append("%s: Invalid value: \"null\": %s in body must be of type %s: \"null\"" % (
                    path.go, path.go, schema["type"]))
            return
        if schema.get("x-kubernetes-int-or-string") or schema.get("format") == "int-or-string":
            if not isinstance(value, (int, str)) or isinstance(value, bool):
                self._type_error(value, "integer or string" if self.crd else "string", path, struct, schema)
            return
        if self._is_quantity(schema):
            if not isinstance(value, (int, float, str)) or isinstance(value, bool):
                self._type_error(value, "string", path, struct, schema)
            return
        t = schema.get("type")
        if t and not self._type_ok(value, t):
            self._type_error(value, t, path, struct, schema)
            return
        if self.crd:
            self._values(value, schema, path)
        if t == "object" or (not t and isinstance(value, dict) and ("properties" in schema or
                                                                      "additionalProperties" in schema)):
            if not isinstance(value, dict):
                return
            props = schema.get("properties")
            addl = schema.get("additionalProperties")
            preserve = schema.get("x-kubernetes-preserve-unknown-fields")
            if self.crd and self.defaults and props:
                for k, s in props.items():
                    s = self.resolve(s)
                    if k not in value and "default" in s:
                        value[k] = copy.deepcopy(s["default"])
            for req in schema.get("required") or []:
                if req not in value:
                    self.p.field.append("%s: Required value" % path.field(req).go)
            for k in list(value):
                if props is not None and k in props:
                    self.walk(value[k], props[k], path.field(k), own or struct)
                elif isinstance(addl, dict):
                    self.walk(value[k], addl, path.key(k), struct)
                elif addl is True or preserve or (props is None and addl is None):
                    continue
                else:
                    self.p.unknown.append((path.field(k).go, path.field(k).smd))
                    if self.prune:
                        del value[k]
        elif t == "array" or (not t and isinstance(value, list) and "items" in schema):
            if not isinstance(value, list):
                return
            items = schema.get("items")
            if items is None:
                return
            for i, item in enumerate(value):
                self.walk(item, items, path.index(i, item, schema), struct)

    @staticmethod
    def _is_quantity(schema):
        return schema.get("description", "").startswith("Quantity is a fixed-point representation")

    @staticmethod
    def _type_ok(value, t):
        j = _json_type(value)
        if t == "number":
            return j in ("integer", "number")
        if t == "integer":
            return j == "integer" or (j == "number" and float(value).is_integer())
        return j == t

    def _type_error(self, value, t, path, struct, schema):
        j = _json_type(value)
        if self.crd:
            self.p.field.append('%s: Invalid value: "%s": %s in body must be of type %s: "%s"' % (
                path.go, j, path.go, t, j))
        else:
            self.p.decode.append("json: cannot unmarshal %s into Go struct field %s%s of type %s" % (
                _go_value_kind(value), (struct + ".") if struct else "", path.go, _go_type(schema)))
        expected = {"integer": "numeric (int or float)", "number": "numeric (int or float)", "boolean": "bool",
                    "object": "map", "array": "list", "string": "string"}.get(t, t)
        self.p.typed.append("%s: expected %s, got %s" % (path.smd, expected, _json_type(value) if j != "object"
                                                          else "map"))

    def _values(self, value, schema, path):
        """apiextensions value validations (CRDs only)."""
        f = self.p.field
        g = path.go
        if "enum" in schema and value not in schema["enum"]:
            f.append("%s: Unsupported value: %s: supported values: %s" % (
                g, _quote(value), ", ".join(_quote(e) for e in schema["enum"])))
        if isinstance(value, str):
            if "pattern" in schema and not re.search(schema["pattern"], value):
                f.append("%s: Invalid value: %s: %s in body should match '%s'" % (g, _quote(value), g, schema["pattern"]))
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                f.append("%s: Too long: may not be more than %d bytes" % (g, schema["maxLength"]))
            if "minLength" in schema and len(value) < schema["minLength"]:
                f.append("%s: Invalid value: %s: %s in body should be at least %d chars long" % (
                    g, _quote(value), g, schema["minLength"]))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema:
                lo = schema["minimum"]
                if value < lo or (schema.get("exclusiveMinimum") and value == lo):
                    f.append("%s: Invalid value: %s: %s in body should be greater than %s%s" % (
                        g, _quote(value), g, "" if schema.get("exclusiveMinimum") else "or equal to ", lo))
            if "maximum" in schema:
                hi = schema["maximum"]
                if value > hi or (schema.get("exclusiveMaximum") and value == hi):
                    f.append("%s: Invalid value: %s: %s in body should be less than %s%s" % (
                        g, _quote(value), g, "" if schema.get("exclusiveMaximum") else "or equal to ", hi))
        if isinstance(value, list):
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                f.append("%s: Too many: %d: must have at most %d items" % (g, len(value), schema["maxItems"]))
            if "minItems" in schema and len(value) < schema["minItems"]:
                f.append("%s: Invalid value: %d: %s in body should have at least %d items" % (
                    g, len(value), g, schema["minItems"]))
        if isinstance(value, dict):
            if "maxProperties" in schema and len(value) > schema["maxProperties"]:
                f.append("%s: Too many: %d: must have at most %d items" % (g, len(value), schema["maxProperties"]))
            if "minProperties" in schema and len(value) < schema["minProperties"]:
                f.append("%s: Invalid value: %d: %s in body should have at least %d properties" % (
                    g, len(value), g, schema["minProperties"]))


def _root_schema_for_cr(schema):
    """A CR's root: apiVersion, kind and metadata are always allowed."""
    s = dict(schema or {"type": "object"})
    props = dict(s.get("properties") or {})
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    props["metadata"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    s["properties"] = props
    s.setdefault("type", "object")
    return s


def validate(res, obj, prune=True, defaults=True):
    """Problems of `obj` (a full object of resource `res`); prunes unknown fields when asked."""
    if res.crd is not None:
        schema = crd_version_schema(res.crd, res.version)
        if schema is None:
            return Problems()
        v = Validator(defs={}, prune=prune, crd=True, defaults=defaults)
        body = {k: x for k, x in obj.items() if k != "metadata"}
        v.walk(body, _root_schema_for_cr(schema), _Path())
        for k in list(obj):
            if k != "metadata" and k not in body:
                del obj[k]
        return v.p
    ref = builtin_schema(res.group, res.version, res.kind)
    if ref is None:
        return Problems()
    v = Validator(prune=prune)
    md = obj.get("metadata")
    managed = md.pop("managedFields", None) if isinstance(md, dict) else None
    try:
        v.walk(obj, ref, _Path(), res.kind)
    finally:
        if managed is not None:
            md["managedFields"] = managed
    return v.p


def typed_patch_errors(res, patch):
    """structured-merge-diff's typing of an apply patch: unknown fields and wrong types."""
    probe = copy.deepcopy(patch)
    p = validate(res, probe, prune=False, defaults=False)
    errs = ["%s: field not declared in schema" % smd for _, smd in p.unknown]
    errs += p.typed
    return errs


# ---------------------------------------------------------------------------- documents

def _op(gvk, verb, params=(), body_ref=None, resp_ref=None):
    op = {"operationId": verb + gvk["kind"], "x-kubernetes-action": verb,
          "x-kubernetes-group-version-kind": gvk, "parameters": list(params),
          "responses": {"200": {"description": "OK"}}}
    if body_ref:
        op["requestBody"] = {"content": {"*/*": {"schema": {"$ref": body_ref}}}, "required": True}
    if resp_ref:
        op["responses"]["200"]["content"] = {"application/json": {"schema": {"$ref": resp_ref}}}
    return op


def _q(name, t="string"):
    return {"name": name, "in": "query", "schema": {"type": t, "uniqueItems": True}}


WRITE_PARAMS = [_q("dryRun"), _q("fieldManager"), _q("fieldValidation")]


def _collect_refs(schema, defs, out):
    if isinstance(schema, dict):
        r = schema.get("$ref")
        if isinstance(r, str):
            n = _ref_name(r)
            if n not in out and n in defs:
                out[n] = defs[n]
                _collect_refs(defs[n], defs, out)
        for v in schema.values():
            _collect_refs(v, defs, out)
    elif isinstance(schema, list):
        for v in schema:
            _collect_refs(v, defs, out)


def gv_document(resources, group, version, k8s_version):
    """The OpenAPI v3 document of one group-version: paths with their operations (PATCH takes
    fieldValidation) and the schemas they use."""
    defs = definitions()
    paths, schemas = {}, {}
    root = "/apis/%s/%s" % (group, version) if group else "/api/%s" % version
    for r in resources:
        if r.group != group or version not in r.versions:
            continue
        gvk = {"group": group, "version": version, "kind": r.kind}
        if r.crd is not None:
            name = "%s.%s.%s" % (".".join(reversed(group.split("."))), version, r.kind)
            s = copy.deepcopy(crd_version_schema(r.crd, version) or {"type": "object",
                                                                      "x-kubernetes-preserve-unknown-fields": True})
            s = _root_schema_for_cr(s)
            s["properties"]["metadata"] = {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
            s["x-kubernetes-group-version-kind"] = [gvk]
            schemas[name] = s
            _collect_refs(s, defs, schemas)
        else:
            name = definition_for(group, version, r.kind)
            if name:
                schemas[name] = defs[name]
                _collect_refs(defs[name], defs, schemas)
        ref = "#/components/schemas/" + name if name else None
        ns_part = "/namespaces/{namespace}" if r.namespaced else ""
        coll = "%s%s/%s" % (root, ns_part, r.plural)
        item = coll + "/{name}"
        paths[coll] = {"get": _op(gvk, "list"), "post": _op(gvk, "post", WRITE_PARAMS, ref, ref)}
        paths[item] = {"get": _op(gvk, "get", (), None, ref), "put": _op(gvk, "put", WRITE_PARAMS, ref, ref),
                       "patch": _op(gvk, "patch", WRITE_PARAMS + [_q("force", "boolean")], None, ref),
                       "delete": _op(gvk, "delete")}
        for sub in r.subresources:
            if sub == "status":
                paths[item + "/status"] = {"get": _op(gvk, "get", (), None, ref),
                                           "patch": _op(gvk, "patch", WRITE_PARAMS, None, ref),
                                           "put": _op(gvk, "put", WRITE_PARAMS, ref, ref)}
    info = {"title": "Kubernetes", "version": "v" + k8s_version}
    return {"openapi": "3.0.0", "info": info, "paths": paths, "components": {"schemas": schemas}}
