"""Validates Kubernetes objects (YAML files) the way a real cluster would refuse them, without a
cluster: built-in kinds with kubernetes-validate in strict mode (the Kubernetes OpenAPI schemas of
the given minor; an unknown field is an error), custom kinds against the openAPIV3Schema of their
CRD in lab/k8s/manifests (structural: a field the schema does not declare is an error, as
fieldValidation=Strict answers; its required fields too: Cairn creates its custom objects whole). Used by Cairn's render check (Tests/CairnPhasesTests/
RenderedObjectsSchemaTests.swift) on every object Cairn renders.

    python3 lab/k8s/schemacheck.py --k8s-version 1.32.4 FILE.yaml...

Prints one line per problem (`FILE: Kind/name: path: message`) and exits 1 if there is any; 0 when
every object passes. A kind with neither a built-in schema nor a CRD is a problem too.

kubernetes-validate's schemas are read from its pinned wheel (lab/k8s/wheels.txt, downloaded by
scripts/setup); its code is not imported (its dependencies are not on the lab machine's Debian
python3): `builtin_errors` does what its `validate` does. Runs with Debian's python3, PyYAML and
jsonschema (4.10: python3-yaml, python3-jsonschema; scripts/setup installs them) or a newer jsonschema.
"""
import argparse
import json
import os
import re
import sys
import zipfile

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFESTS = os.path.join(HERE, "manifests")
sys.path.insert(0, HERE)
import labwheels  # noqa: E402


class Schemas:
    """kubernetes-validate's strict schemas (`kubernetes-json-schema/v1.MM.0-local-strict/`), read
    from its pinned wheel; each file parsed once."""

    def __init__(self):
        version = next(v for p, v in labwheels.pins() if p == "kubernetes-validate")
        self.zip = zipfile.ZipFile(labwheels._wheel("kubernetes-validate", version))
        self.releases = sorted({int(m.group(1)) for m in (re.match(
            r"kubernetes_validate/kubernetes-json-schema/v1\.(\d+)\.0-local-strict/_definitions\.json$", n)
            for n in self.zip.namelist()) if m})
        self.cache = {}

    def release(self, k8s_version):
        """kubernetes-validate's rule: the latest release not newer than the version's minor."""
        minor = int(k8s_version.lstrip("v").split(".")[1])
        older = [r for r in self.releases if r <= minor]
        if not older or minor > self.releases[-1]:
            raise SystemExit("kubernetes-validate has no schemas for Kubernetes %s" % k8s_version)
        return "v1.%d.0-local-strict" % older[-1]

    def read(self, release, name):
        """The parsed schema file, or None when there is none (no such kind)."""
        key = (release, name)
        if key not in self.cache:
            try:
                data = self.zip.read("kubernetes_validate/kubernetes-json-schema/%s/%s" % key)
            except KeyError:
                data = None
            self.cache[key] = json.loads(data) if data is not None else None
        return self.cache[key]


def crds():
    """{(group, kind): CRD} of every CRD in the lab's manifests."""
    out = {}
    for dirpath, _, files in os.walk(MANIFESTS):
        for name in files:
            with open(os.path.join(dirpath, name)) as f:
                for d in yaml.safe_load_all(f):
                    if d and d.get("kind") == "CustomResourceDefinition":
                        out[(d["spec"]["group"], d["spec"]["names"]["kind"])] = d
    return out


def json_schema(node):
    """A structural openAPIV3Schema as JSON Schema: objects with declared properties refuse any other
    field unless x-kubernetes-preserve-unknown-fields says otherwise; int-or-string and nullable."""
    if isinstance(node, list):
        return [json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k in ("properties", "patternProperties"):
            out[k] = {p: json_schema(s) for p, s in v.items()}
        elif k.startswith("x-kubernetes-") or k in ("nullable", "format", "description", "example"):
            continue
        else:
            out[k] = json_schema(v)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (node.get("type") == "object" and not node.get("x-kubernetes-preserve-unknown-fields")
            and "additionalProperties" not in node):
        out["additionalProperties"] = False
    return out


def crd_schema(crd, version):
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            root = json_schema(v["schema"]["openAPIV3Schema"])
            props = dict(root.get("properties") or {})
            props.update(apiVersion={"type": "string"}, kind={"type": "string"}, metadata={"type": "object"})
            return dict(root, properties=props)
    return None


def problems(path, obj, k8s_version, schemas, known_crds):
    name = "%s/%s" % (obj.get("kind"), (obj.get("metadata") or {}).get("name"))
    group, _, version = obj.get("apiVersion", "").rpartition("/")
    crd = known_crds.get((group, obj.get("kind")))
    if crd is not None:
        schema = crd_schema(crd, version)
        if schema is None:
            return ["%s: %s: the CRD %s serves no version %s" % (path, name, crd["metadata"]["name"], version)]
        errors = jsonschema.Draft7Validator(schema).iter_errors(obj)
    else:
        errors = builtin_errors(obj, k8s_version, schemas)
        if errors is None:
            return ["%s: %s: no built-in schema of %s and no CRD" % (path, name, obj.get("apiVersion"))]
    return ["%s: %s: %s: %s" % (path, name, ".".join(map(str, e.path)) or "(root)", e.message)
            for e in sorted(errors, key=lambda e: [str(p) for p in e.path])]


def builtin_errors(obj, k8s_version, schemas):
    """What kubernetes_validate.validate(obj, k8s_version, strict=True) checks (its schema files, its
    release rule, its file naming), every error rather than the first, less `required`: Cairn applies
    server-side, and an apply configuration may name only the fields it owns (CoreDNS's adjusts
    kubeadm's Deployment); the merged object is the server's to check. None: no such kind."""
    release = schemas.release(k8s_version)
    # rbac.authorization.k8s.io/v1 -> rbac-v1, v1 -> v1
    api_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", obj["apiVersion"])
    schema = schemas.read(release, "%s-%s.json" % (obj["kind"].lower(), api_version))
    if schema is None:
        return None
    defs = schemas.read(release, "_definitions.json")
    try:  # jsonschema 4.18 and later resolve references through `referencing`
        from referencing import Registry, Resource
        refs = {"registry": Resource.from_contents(defs) @ (Resource.from_contents(schema) @ Registry())}
    except ImportError:  # Debian 12's 4.10
        refs = {"resolver": jsonschema.RefResolver(schema["$id"], schema, store={defs["$id"]: defs})}
    validator = jsonschema.validators.Draft202012Validator(schema, **refs)
    return [e for e in validator.iter_errors(obj) if e.validator != "required"]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k8s-version", required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    schemas, known = Schemas(), crds()
    found, checked = [], 0
    for path in args.files:
        with open(path) as f:
            for obj in yaml.safe_load_all(f):
                if obj:
                    checked += 1
                    found += problems(path, obj, args.k8s_version, schemas, known)
    for line in found:
        print(line)
    print("%d objects checked against Kubernetes %s: %d problems" % (checked, args.k8s_version, len(found)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
