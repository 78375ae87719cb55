"""The data path of the lab's Ceph RBD volumes: `kubectl exec` of `tee`, `cat`, `sha256sum`, `rm` and
`sync` in a pod whose container mounts a PersistentVolumeClaim bound to a volume of Rook's RBD
provisioner (volumes.py), answered from the simulated Ceph cluster (cephsim.py).

A simulation, not a filesystem: there is no block device and nothing is mounted. A volume is a flat
set of files kept in ConfigMap `rook-ceph-lab-volume-<pv name>` in the Ceph cluster's namespace
(the PV's clusterID; key `files.json`: name -> base64), owned by the PV so that the garbage
collector deletes it with the volume. The 3 API servers share it through etcd.

Ceph's part: the whole volume sits in one placement group of its pool (a hash of the PV name modulo
the pool's PG count; real RBD images stripe over many). I/O works while that PG is active and the
mons have quorum; otherwise it blocks as RBD does, for up to IO_WAIT seconds, then fails with
EIO. A PG that is incomplete lost every copy: the volume's files are dropped (its I/O keeps
failing, since the lab's incomplete PGs never become active again). Any other state keeps the
files exactly, as at least one complete copy exists.

Errors use coreutils' words and exit codes. Paths outside any volume are answered as if they do
not exist (the container's own filesystem is not simulated); subdirectories of a volume do not
exist either (no mkdir)."""
import base64
import hashlib
import json
import posixpath
import time

from store import StatusError

PROGRAMS = ("tee", "cat", "sha256sum", "rm", "sync")
DATA_CM_PREFIX = "rook-ceph-lab-volume-"
STATUS_CM = "rook-ceph-lab-status"
IO_WAIT = 10.0          # how long blocked I/O waits for its PG before EIO (the lab's choice)
POLL = 0.5
# a ConfigMap holds at most 1 MiB: the volume's files (base64 in JSON) must fit, whatever the PVC says
MAX_BYTES = 512 * 1024

ENOENT = "No such file or directory"
EISDIR = "Is a directory"
EIO = "Input/output error"
EROFS = "Read-only file system"
ENOSPC = "No space left on device"

# short and long options each program accepts (their effect, if any, is in the program below)
OPTIONS = {"tee": ({"a": "append", "i": "ignore-interrupts", "p": "p"}, {"append", "ignore-interrupts"}),
           "cat": ({"u": "u"}, set()),
           "sha256sum": ({"b": "binary", "t": "text"}, {"binary", "text"}),
           "rm": ({"f": "force", "v": "verbose"}, {"force", "verbose"}),
           "sync": ({}, set())}


# ------------------------------------------------------------------ pure parts

def volume_pg(pv_name, pool, pgs):
    """The placement group holding the volume: a deterministic pick among the pool's PGs (the ids
    cephsim keeps in pgs.json), or None when the pool has none."""
    ids = sorted((k for k, g in pgs.items() if g.get("pool") == pool), key=_pg_key)
    if not ids:
        return None
    return ids[int(hashlib.sha256(pv_name.encode()).hexdigest()[:8], 16) % len(ids)]


def _pg_key(pgid):
    pool, n = pgid.split(".")
    return int(pool), int(n, 16)


def io_state(status_data, pool, pv_name):
    """('ok', 'blocked' or 'lost', the PG id) for the volume's I/O, from the data of ConfigMap
    rook-ceph-lab-status."""
    pgs = json.loads((status_data or {}).get("pgs.json") or "{}")
    pgid = volume_pg(pv_name, pool, pgs)
    ceph = json.loads((status_data or {}).get("status.json") or "{}")
    quorum = ceph.get("quorum_names") or []
    if pgid is None or len(quorum) <= (ceph.get("monmap") or {}).get("num_mons", 0) // 2:
        return "blocked", pgid      # (no quorum: nothing can be read, not even the PG map)
    state = pgs[pgid].get("state", "unknown").split("+")
    if "incomplete" in state:
        return "lost", pgid
    return ("ok" if "active" in state else "blocked"), pgid


def parse_args(prog, args):
    """(flags, operands, error text) the way getopt_long splits them for `prog`."""
    shorts, longs = OPTIONS[prog]
    flags, operands = set(), []
    rest = list(args)
    while rest:
        a = rest.pop(0)
        if a == "--":
            operands += rest
            break
        if a.startswith("--"):
            name = a[2:].split("=", 1)[0]
            match = [x for x in longs if x.startswith(name)]
            if len(match) != 1:
                return None, None, "%s: unrecognized option '%s'\nTry '%s --help' for more information.\n" % (
                    prog, a, prog)
            flags.add(match[0])
        elif a.startswith("-") and a != "-":
            for ch in a[1:]:
                if ch not in shorts:
                    return None, None, "%s: invalid option -- '%s'\nTry '%s --help' for more information.\n" % (
                        prog, ch, prog)
                flags.add(shorts[ch])
        else:
            operands.append(a)
    return flags, operands, None


# ------------------------------------------------------------------ volumes of a pod

class Volume:
    """One mounted RBD volume: its files in the data ConfigMap, and its placement group's state."""

    def __init__(self, store, pv, read_only, sleep=time.sleep, clock=time.monotonic):
        self.store, self.pv, self.read_only = store, pv, read_only
        self.sleep, self.clock = sleep, clock
        attrs = ((pv.get("spec") or {}).get("csi") or {}).get("volumeAttributes") or {}
        params = self._class_parameters() if not attrs.get("pool") else {}
        self.ns = attrs.get("clusterID") or params.get("clusterID") or "rook-ceph"
        self.pool = attrs.get("pool") or params.get("pool", "")
        self.name = DATA_CM_PREFIX + pv["metadata"]["name"]
        self.io = None            # the outcome of waiting for the PG, once per command
        self.pgid = ""

    def _class_parameters(self):
        # PVs made before volumes.py wrote volumeAttributes: their StorageClass says where they are
        res = self.store.registry().by_path("storage.k8s.io", "v1", "storageclasses")
        sc = self.store.get(res, "", (self.pv.get("spec") or {}).get("storageClassName") or "") if res else None
        return (sc or {}).get("parameters") or {}

    def _cms(self):
        return self.store.registry().by_path("", "v1", "configmaps")

    @staticmethod
    def _decode(cm):
        return {k: base64.b64decode(v) for k, v in json.loads(((cm or {}).get("data") or {}).get(
            "files.json") or "{}").items()}

    def wait_io(self):
        """True when the PG serves I/O now or within IO_WAIT seconds (RBD blocks meanwhile); a lost
        PG drops the files first."""
        if self.io is None:
            deadline = self.clock() + IO_WAIT
            while True:
                st = self.store.get(self._cms(), self.ns, STATUS_CM)
                state, self.pgid = io_state((st or {}).get("data"), self.pool, self.pv["metadata"]["name"])
                if state == "lost":
                    self.drop()
                if state == "ok" or self.clock() >= deadline:
                    break
                self.sleep(POLL)
            self.io = state == "ok"
        return self.io

    def files(self):
        return self._decode(self.store.get(self._cms(), self.ns, self.name))

    def change(self, fn):
        """Apply fn(files) -> error text or None to the files and save them (retried on a conflict:
        three API servers may write at once)."""
        for _ in range(10):
            cm = self.store.get(self._cms(), self.ns, self.name)
            files = self._decode(cm)
            err = fn(files)
            if err:
                return err
            if sum(len(v) for v in files.values()) > MAX_BYTES:
                return ENOSPC
            body = self._body(files)
            try:
                if cm is None:
                    self.store.create(self._cms(), self.ns, body)
                else:
                    cm["data"] = body["data"]
                    self.store.update(self._cms(), self.ns, self.name, cm,
                                      expect_rv=cm["metadata"].get("resourceVersion"))
                return None
            except StatusError as e:
                if e.code != 409:
                    raise
        return EIO

    def _body(self, files):
        md = self.pv["metadata"]
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": self.name, "namespace": self.ns,
                             "labels": {"lab.cairn.dev/volume-data": "true"},
                             "ownerReferences": [{"apiVersion": "v1", "kind": "PersistentVolume", "name": md["name"],
                                                  "uid": md.get("uid", "")}]},
                "data": {"pool": self.pool, "pg": self.pgid or "", "files.json": json.dumps(
                    {k: base64.b64encode(v).decode() for k, v in sorted(files.items())}, sort_keys=True)}}

    def drop(self):
        """The PG lost every copy: the volume's files are gone."""
        try:
            self.store.delete(self._cms(), self.ns, self.name)
        except StatusError as e:
            if e.code != 404:
                raise


def pvc_mounts(store, pod, container, sleep=time.sleep, clock=time.monotonic):
    """{mountPath: Volume} for the container's mounts of PersistentVolumeClaim volumes (None for a
    claim without a bound volume); volumes of other drivers than Ceph's RBD are left out (the lab
    has no data for them)."""
    spec = pod.get("spec") or {}
    claims = {v["name"]: v["persistentVolumeClaim"] for v in spec.get("volumes") or []
              if isinstance(v.get("persistentVolumeClaim"), dict)}
    c = next((c for c in spec.get("containers") or [] if c.get("name") == container), {})
    reg = store.registry()
    out = {}
    for m in c.get("volumeMounts") or []:
        claim_ref = claims.get(m.get("name"))
        if claim_ref is None or m.get("subPath"):
            continue
        claim = store.get(reg.by_path("", "v1", "persistentvolumeclaims"), pod["metadata"]["namespace"],
                          claim_ref.get("claimName", ""))
        pv_name = ((claim or {}).get("spec") or {}).get("volumeName")
        pv = store.get(reg.by_path("", "v1", "persistentvolumes"), "", pv_name) if pv_name else None
        if pv and not str(((pv.get("spec") or {}).get("csi") or {}).get("driver", "")).endswith(".rbd.csi.ceph.com"):
            continue
        path = _abs(m.get("mountPath", "/"))
        out[path] = Volume(store, pv, bool(m.get("readOnly") or claim_ref.get("readOnly")), sleep,
                           clock) if pv else None
    return out


def _abs(path):
    """The absolute, normal form of a path (the container's working directory is taken to be /;
    normpath keeps a leading // that Linux reads as /)."""
    return "/" + posixpath.normpath(posixpath.join("/", path)).lstrip("/")


def locate(mounts, path):
    """(volume, file name) for `path`: name "" is the mount point itself; (None, None) outside any
    volume (or in a subdirectory, which no volume has)."""
    p = _abs(path)
    if p in mounts:
        return mounts[p], ""
    parent, name = posixpath.split(p)
    if parent in mounts:
        return mounts[parent], name
    return None, None


# ------------------------------------------------------------------ the programs

def run(store, pod, container, cmd, stdin=b"", sleep=time.sleep, clock=time.monotonic):
    """(stdout bytes, stderr, exit code) of a coreutils program on the pod's volumes, or None when
    the command is not one (or the container mounts no claim): the caller answers it then."""
    prog = cmd[0].rsplit("/", 1)[-1] if cmd else ""
    if prog not in PROGRAMS:
        return None
    mounts = pvc_mounts(store, pod, container, sleep, clock)
    if not mounts:
        return None
    flags, operands, err = parse_args(prog, cmd[1:])
    if err:
        return b"", err, 1
    return {"tee": tee, "cat": cat, "sha256sum": sha256sum, "rm": rm, "sync": sync}[prog](
        mounts, flags, operands, stdin)


def _reach(mounts, path):
    """(volume, name, error): the volume and file `path` names once its PG serves I/O."""
    vol, name = locate(mounts, path)
    if vol is None and name is None:
        return None, None, ENOENT
    if vol is None or not vol.wait_io():
        return None, None, EIO
    return vol, name, None


def _read(mounts, path):
    """(bytes, error) of a file, as cat and sha256sum read it."""
    vol, name, err = _reach(mounts, path)
    if err:
        return None, err
    if name == "":
        return None, EISDIR
    data = vol.files().get(name)
    return (data, None) if data is not None else (None, ENOENT)


def tee(mounts, flags, operands, stdin):
    errs = []
    for path in operands:
        vol, name, err = _reach(mounts, path)
        if not err:
            err = EISDIR if name == "" else EROFS if vol.read_only else vol.change(
                lambda files, n=name: _write(files, n, stdin, "append" in flags))
        if err:
            errs.append("tee: %s: %s\n" % (path, err))
    return stdin, "".join(errs), 1 if errs else 0


def _write(files, name, data, append):
    files[name] = (files.get(name, b"") if append else b"") + data


def _each_file(prog, mounts, operands, stdin, render):
    """Reads each operand (`-`: stdin, the default) and renders it; coreutils' error per file, exit
    1 when any failed (what cat and sha256sum share)."""
    out, errs = [], []
    for path in operands or ["-"]:
        data, err = (stdin, None) if path == "-" else _read(mounts, path)
        if err:
            errs.append("%s: %s: %s\n" % (prog, path, err))
        else:
            out.append(render(path, data))
    return b"".join(out), "".join(errs), 1 if errs else 0


def cat(mounts, flags, operands, stdin):
    return _each_file("cat", mounts, operands, stdin, lambda path, data: data)


def sha256sum(mounts, flags, operands, stdin):
    mark = "*" if "binary" in flags else " "
    return _each_file("sha256sum", mounts, operands, stdin, lambda path, data: (
        "%s %s%s\n" % (hashlib.sha256(data).hexdigest(), mark, path)).encode())


def rm(mounts, flags, operands, stdin):
    force = "force" in flags
    if not operands:
        return b"", "" if force else "rm: missing operand\nTry 'rm --help' for more information.\n", 0 if force else 1
    out, errs = [], []
    for path in operands:
        vol, name, err = _reach(mounts, path)
        if not err:
            err = EISDIR if name == "" else EROFS if vol.read_only and name in vol.files() else vol.change(
                lambda files, n=name: None if files.pop(n, None) is not None else ENOENT)
        if err == ENOENT and force:
            continue
        if err:
            errs.append("rm: cannot remove '%s': %s\n" % (path, err))
        elif "verbose" in flags:
            out.append(("removed '%s'\n" % path).encode())
    return b"".join(out), "".join(errs), 1 if errs else 0


def sync(mounts, flags, operands, stdin):
    """Nothing is ever dirty (every write above is stored before tee exits): sync returns at once."""
    errs = []
    for path in operands:
        _, err = _read(mounts, path)
        if err and err != EISDIR:
            errs.append("sync: error opening '%s': %s\n" % (path, err))
    return b"", "".join(errs), 1 if errs else 0
