"""Shared helpers of the Cairn lab's Kubernetes stand-ins (lab infrastructure, not shipped).

Everything here runs under Debian's /usr/bin/python3 with python3-yaml only.
"""
import base64
import datetime
import json
import os
import random
import re
import socket
import string
import sys
import time

import yaml

LAB_STATE = "/etc/cairn-lab"            # per-host lab knobs (faults, devices), written by scripts/lab-k8s
FAULT_DIR = LAB_STATE + "/faults"
RUN_DIR = "/run/cairn-lab-k8s"          # pids of static pods (tmpfs: gone on reboot, like containers)
BUILD_INFO = None


class Fatal(Exception):
    """An error that ends the command with a message and an exit code."""

    def __init__(self, msg, code=1):
        super().__init__(msg)
        self.msg = msg
        self.code = code


def build_info():
    """Version information baked into the program by scripts/lab-mirror (build_info.json)."""
    global BUILD_INFO
    if BUILD_INFO is None:
        info = {"kubernetesVersion": "1.36.4", "containerdVersion": "2.3.4", "runcVersion": "1.4.3",
                "crictlVersion": "1.36.0", "cniVersion": "1.9.1"}
        try:
            import pkgutil
            data = pkgutil.get_data("common", "build_info.json")
            if data:
                info.update(json.loads(data))
        except (OSError, ValueError, ImportError):
            pass
        BUILD_INFO = info
    return BUILD_INFO


def k8s_version():
    """The Kubernetes release this program is. A static pod the kubelet stand-in runs is the release
    of its manifest's image tag (registry.k8s.io/kube-apiserver:v1.36.4 -> 1.36.4: the kubelet exports
    it as CAIRN_LAB_IMAGE_VERSION), whatever release the kubelet itself is: an image, not the kubelet
    binary, decides what a container runs."""
    image = os.environ.get("CAIRN_LAB_IMAGE_VERSION", "")
    if parse_version(image):
        return image
    return build_info()["kubernetesVersion"]


def k8s_minor():
    return parse_version(k8s_version())[1]


def parse_version(v):
    """'v1.32.4' or '1.32.4' -> (1, 32, 4); None if not a version."""
    m = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?", str(v).strip())
    return tuple(int(x) for x in m.groups()) if m else None


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(t=None):
    t = t or now()
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s):
    if not s:
        return None
    s = s.replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(s)
    except ValueError:
        return None


def age(ts):
    """kubectl-style age of an RFC3339 timestamp: 5s, 3m, 2h, 4d."""
    t = parse_time(ts)
    if not t:
        return "<unknown>"
    d = int((now() - t).total_seconds())
    if d < 0:
        d = 0
    if d < 120:
        return "%ds" % d
    if d < 600:
        return "%dm%ds" % (d // 60, d % 60) if d % 60 else "%dm" % (d // 60)
    if d < 3 * 3600:
        return "%dm" % (d // 60)
    if d < 8 * 3600:
        h, m = d // 3600, (d % 3600) // 60
        return "%dh%dm" % (h, m) if m else "%dh" % h
    if d < 2 * 86400:
        return "%dh" % (d // 3600)
    return "%dd" % (d // 86400)


_DUR = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")


def parse_duration(s):
    """Go time.ParseDuration subset -> seconds (float). Raises ValueError like Go's wording."""
    if isinstance(s, (int, float)):
        return float(s)
    s = str(s).strip()
    if s in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    mult = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    for m in _DUR.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * mult[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise ValueError('time: invalid duration "%s"' % s)
    return total


def format_duration(sec):
    """Go's Duration.String for whole seconds: 24h0m0s, 2h0m0s, 4m0s, 30s."""
    sec = int(sec)
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    if h:
        return "%dh%dm%ds" % (h, m, s)
    if m:
        return "%dm%ds" % (m, s)
    return "%ds" % s


def rand_str(n, alphabet=string.ascii_lowercase + string.digits):
    r = random.SystemRandom()
    return "".join(r.choice(alphabet) for _ in range(n))


def gen_name_suffix(n=5):
    # like k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable digits
    return rand_str(n, "bcdfghjklmnpqrstvwxz2456789")


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def unb64(s):
    return base64.b64decode(s)


def read_file(path, default=None, binary=False):
    try:
        with open(path, "rb" if binary else "r") as f:
            return f.read()
    except OSError:
        return default


def write_file(path, data, mode=0o644):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def yaml_load_all(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper, data):
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def yaml_dump(obj):
    return yaml.dump(obj, Dumper=_Dumper, default_flow_style=False, sort_keys=True)


def log(component, msg, *args):
    """klog-like line on stderr: I1121 10:07:01.123456   1234 component] msg"""
    t = datetime.datetime.now()
    line = "I%s %7d %s] %s" % (t.strftime("%m%d %H:%M:%S.%f"), os.getpid(), component,
                                (msg % args) if args else msg)
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def sd_notify(msg="READY=1"):
    """Tell systemd (or systemctl3.py) we are ready, when started as Type=notify."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.connect(addr)
        s.sendall(msg.encode())
        s.close()
        return True
    except OSError:
        return False


def fault(name, default=None):
    """Content of the fault flag file /etc/cairn-lab/faults/NAME (None if not set)."""
    v = read_file(os.path.join(FAULT_DIR, name))
    return v.strip() if v is not None else default


def slow_delay():
    """Seconds a 'slow host' fault adds to each kubelet action."""
    v = fault("slow")
    if v is None:
        return 0.0
    try:
        return parse_duration(v) if v else 5.0
    except ValueError:
        return 5.0


CGROUP2_SUPER_MAGIC = 0x63677270
TMPFS_MAGIC = 0x01021994


def cgroup_filesystem(path="/sys/fs/cgroup"):
    """The type of the file system at /sys/fs/cgroup, by statfs(2)'s f_type like the kubelet's
    IsCgroup2UnifiedMode and `stat -fc %T`: "cgroup2fs" on a cgroup v2 host, "tmpfs" where v1
    hierarchies are mounted under it (legacy or hybrid), else the magic number in hex."""
    import ctypes
    import ctypes.util

    class Statfs(ctypes.Structure):
        _fields_ = [("f_type", ctypes.c_long), ("f_rest", ctypes.c_long * 15)]
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    buf = Statfs()
    if libc.statfs(path.encode(), ctypes.byref(buf)) != 0:
        return ""
    return {CGROUP2_SUPER_MAGIC: "cgroup2fs", TMPFS_MAGIC: "tmpfs"}.get(buf.f_type & 0xFFFFFFFF, hex(buf.f_type))


def cgroup_v2():
    return cgroup_filesystem() == "cgroup2fs"


def local_addresses():
    """IPv4 addresses of this host (its network namespace)."""
    out = []
    try:
        import subprocess
        r = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, timeout=5)
        for line in r.stdout.splitlines():
            parts = line.split()
            if "inet" in parts:
                a = parts[parts.index("inet") + 1].split("/")[0]
                if not a.startswith("127."):
                    out.append(a)
    except (OSError, ValueError):
        pass
    return out


def hostname():
    return socket.gethostname().lower()


def deep_merge(base, over):
    """Merge dict `over` into a copy of `base` (dicts recursively, everything else replaced)."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return over
    out = dict(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif k in out and isinstance(out[k], dict) and isinstance(v, dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def get_path(obj, *path, default=None):
    cur = obj
    for p in path:
        if isinstance(cur, dict):
            cur = cur.get(p)
        elif isinstance(cur, list) and isinstance(p, int) and -len(cur) <= p < len(cur):
            cur = cur[p]
        else:
            return default
        if cur is None:
            return default
    return cur


def json_dumps(obj, indent=None):
    return json.dumps(obj, indent=indent, sort_keys=False)
