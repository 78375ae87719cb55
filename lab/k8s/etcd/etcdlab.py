#!/usr/bin/python3
"""etcd, etcdctl and etcdutl of the Cairn lab's artifact mirror: Debian's REAL etcd 3.4.23 serving
under the name of the release the mirror claims (3.6.14, 3.7.2).

This machine has no etcd newer than Debian's 3.4.23, so scripts/lab-mirror packs this one file
three times into etcd-vX.Y.Z-linux-amd64.tar.gz, with SETTINGS filled in. What it does:

  etcd     `--version` prints the claimed version (in real etcd's format, the rest of the lines from
           the real binary). Otherwise it reads the flags and ETCD_* variables the way the claimed
           release would (a flag it does not define fails like etcd does; an unknown variable is
           a warning and ignored; feature gates are checked against the claimed release's gates),
           translates what 3.4.23 calls differently (3.6 renamed the --experimental-* flags and
           turned some into feature gates) and drops, with a line on stderr, what 3.4.23 cannot
           do. Then it execs the real /usr/bin/etcd with argv[0] carrying the claimed version,
           which etcd publishes in the "cmdline" of its /debug/vars: that is how etcdctl below and
           the kubeadm stand-in learn, over the network, which version each member claims.
  etcdctl  `version` claims; `endpoint status` reports each member's claimed version; `snapshot
           status|restore` fail (3.6 removed them from etcdctl); everything else is the real one.
  etcdutl  (3.4 has none) `version`; `snapshot status|restore` and `defrag --data-dir` through
           the real etcdctl 3.4.23, which has them.

Standard library only: it runs on the lab's hosts with Debian's /usr/bin/python3.
"""
import json
import os
import re
import ssl
import subprocess
import sys
import time
from urllib.parse import urlsplit

# Filled in by scripts/lab-mirror (json): claimed, real, realEtcd, realEtcdctl, flags (the claimed
# minor's flag names), gates (its feature gates), renamed (3.6's --experimental-* renames:
# old -> new name or "feature-gates=Gate"), realFlags (what the real binary defines).
SETTINGS = None

MARK = "cairn-lab claims v"
MARK_RE = re.compile(r"cairn-lab claims v([0-9]+\.[0-9]+\.[0-9]+)")


def settings():
    if SETTINGS is None:
        sys.stderr.write("etcdlab: SETTINGS missing (this file is a template; scripts/lab-mirror fills it in)\n")
        sys.exit(1)
    return SETTINGS


def minor(version):
    return ".".join(version.split(".")[:2])


def note(msg):
    """One line on stderr (the journal), marked as the lab's, not etcd's."""
    sys.stderr.write("cairn-lab etcd %s (Debian's %s underneath): %s\n" % (
        settings()["claimed"], settings()["real"], msg))
    sys.stderr.flush()


def zap(level, msg, **fields):
    """A line in the shape of etcd's zap JSON logger (3.5+ logs JSON by default)."""
    entry = {"level": level, "ts": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()), "msg": msg}
    entry.update(fields)
    sys.stderr.write(json.dumps(entry) + "\n")
    sys.stderr.flush()


# ------------------------------------------------------------------------------- etcd

class Translation:
    def __init__(self):
        self.args = []          # for the real etcd
        self.env = {}           # ETCD_* for the real etcd
        self.renamed = []
        self.dropped = []


def real_name(flag, s):
    """The real binary's name for a flag the claimed release defines, or None."""
    if flag in s["realFlags"]:
        return flag
    for old, new in s["renamed"].items():
        if new == flag and old in s["realFlags"]:
            return old
    return None


def gate_flags(value, s, where):
    """feature-gates=A=true,B=false -> [(real flag, value)]; exits like etcd on an unknown gate."""
    out = []
    for pair in [p for p in value.split(",") if p.strip()]:
        name, eq, val = pair.partition("=")
        name = name.strip()
        if not eq:
            fail_value(where, value, "missing bool value for %s" % name)
        if name not in s["gates"]:
            # component-base's wording, which etcd's own featuregate package (3.6+) keeps
            fail_value(where, value, "unrecognized feature gate: %s" % name)
        real = None
        for old, new in s["renamed"].items():
            if new == "feature-gates=" + name and old in s["realFlags"]:
                real = old
        out.append((name, real, val.strip()))
    return out


def fail_value(where, value, why):
    # etcd: an invalid value of a flag or of its ETCD_* variable ends start-up (wording of
    # pkg/flags as far as known; not verified against a 3.6 binary).
    if where.startswith("ETCD_"):
        sys.stderr.write('invalid value "%s" for %s: %s\n' % (value, where, why))
    else:
        sys.stderr.write('invalid value "%s" for flag -%s: %s\n' % (value, where, why))
    sys.exit(1)


def translate(flag, value, source, t, s):
    """Place one setting the claimed release accepts into the real etcd's flags or environment."""
    def put(name, val):
        if source == "env":
            t.env["ETCD_" + name.upper().replace("-", "_")] = val
        else:
            t.args.append("--%s=%s" % (name, val))
    if flag == "feature-gates":
        for gate, real, val in gate_flags(value, s, "ETCD_FEATURE_GATES" if source == "env" else flag):
            if real:
                put(real, val)
                t.renamed.append("%s=%s -> --%s=%s" % (gate, val, real, val))
            else:
                t.dropped.append("feature gate %s=%s" % (gate, val))
        return
    if flag.startswith("experimental-") and flag in s["renamed"]:
        # 3.6 still reads its deprecated --experimental-* names (3.7 no longer defines them) and
        # warns; this wording is the lab's, not verified against a 3.6 binary.
        zap("warn", "--%s is deprecated in %s and will be decommissioned in %s; use %s instead" % (
            flag, minor(s["claimed"]), "3.7", s["renamed"][flag]))
    real = real_name(flag, s)
    if real is None:
        t.dropped.append("--%s" % flag)
        return
    if real != flag:
        t.renamed.append("--%s -> --%s" % (flag, real))
    put(real, value)


def parse_flags(argv):
    """Go's flag syntax: -name, --name, -name=value, --name value; returns [(name, value|None)]."""
    out = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("-") or a in ("-", "--"):
            out.append((None, a))
            i += 1
            continue
        name, eq, value = a.lstrip("-").partition("=")
        if not eq:
            if i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                value = argv[i + 1]
                i += 1
            else:
                value = None
        out.append((name, value))
        i += 1
    return out


def etcd_main(argv):
    s = settings()
    parsed = parse_flags(argv)
    names = [n for n, _ in parsed if n]
    if "version" in names:
        real = subprocess.run([s["realEtcd"], "--version"], capture_output=True, text=True).stdout.splitlines()
        sys.stdout.write("\n".join(["etcd Version: %s" % s["claimed"]] + real[1:]) + "\n")
        return 0
    if argv[:1] in (["gateway"], ["grpc-proxy"]) or "help" in names or "h" in names:
        os.execv(s["realEtcd"], [s["realEtcd"]] + argv)
    t = Translation()
    for name, value in parsed:
        if name is None:
            sys.stderr.write("'%s' is not a valid flag\n" % value)
            return 2
        if name not in s["flags"]:
            # Go's flag package, as etcd prints it (checked against the real 3.4.23)
            sys.stderr.write("flag provided but not defined: -%s\n" % name)
            sys.stderr.write("Usage:\n\n  etcd [flags]\n    Start an etcd server.\n")
            return 2
        translate(name, "true" if value is None else value, "args", t, s)
    given = {n for n in names}
    for key, value in sorted(os.environ.items()):
        if not key.startswith("ETCD_") or key in ("ETCD_UNSUPPORTED_ARCH",):
            continue
        flag = key[len("ETCD_"):].lower().replace("_", "-")
        if flag not in s["flags"]:
            zap("warn", "unrecognized environment variable", **{"environment-variable": "%s=%s" % (key, value)})
            continue
        if flag in given:
            # fatal in etcd (3.4.23's words checked; 3.5+ logs the same through zap)
            zap("fatal", "conflicting environment variable is shadowed by corresponding command-line flag "
                "(either unset environment variable or disable flag)", **{"environment-variable": key})
            return 1
        translate(flag, value, "env", t, s)
    if t.renamed:
        note("renamed for 3.4: " + ", ".join(t.renamed))
    if t.dropped:
        note("dropped (3.4.23 cannot do it): " + ", ".join(t.dropped))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
    env.update(t.env)
    argv0 = "etcd[%s%s]" % (MARK, s["claimed"])
    os.execve(s["realEtcd"], [argv0] + t.args, env)


# ---------------------------------------------------------------------------- etcdctl

def ctl_option(argv, name, env):
    """The value of --name (or its ETCDCTL_ variable) in an etcdctl command line."""
    for i, a in enumerate(argv):
        if a == "--" + name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--%s=" % name):
            return a.split("=", 1)[1]
    return env.get("ETCDCTL_" + name.upper().replace("-", "_"))


def claimed_version(endpoint, cacert, cert, key, timeout=2.0):
    """The version a lab etcd member claims, from the argv[0] it publishes on /debug/vars."""
    import http.client
    try:
        u = urlsplit(endpoint if "://" in endpoint else "https://" + endpoint)
        if u.scheme == "https":
            ctx = ssl.create_default_context(cafile=cacert) if cacert else ssl.create_default_context()
            ctx.check_hostname = False
            if cert:
                ctx.load_cert_chain(cert, key or cert)
            c = http.client.HTTPSConnection(u.hostname, u.port or 2379, context=ctx, timeout=timeout)
        else:
            c = http.client.HTTPConnection(u.hostname, u.port or 2379, timeout=timeout)
        c.request("GET", "/debug/vars")
        r = c.getresponse()
        body = r.read()
        c.close()
        cmdline = json.loads(body).get("cmdline") or [""]
        m = MARK_RE.search(cmdline[0])
        return m.group(1) if m else None
    except (OSError, ValueError, ssl.SSLError, http.client.HTTPException):
        return None


def write_format(argv):
    for i, a in enumerate(argv):
        if a in ("-w", "--write-out") and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--write-out=") or a.startswith("-w="):
            return a.split("=", 1)[1]
    return "simple"


def positional(argv):
    """etcdctl's subcommand words (the arguments that are not flags or flag values)."""
    words, skip = [], False
    takes_value = {"--endpoints", "--cacert", "--cert", "--key", "--user", "--password", "-w", "--write-out",
                   "--dial-timeout", "--command-timeout", "--keepalive-time", "--keepalive-timeout",
                   "--discovery-srv", "--discovery-srv-name"}
    for a in argv:
        if skip:
            skip = False
            continue
        if a.startswith("-"):
            skip = a in takes_value
            continue
        words.append(a)
    return words


def endpoint_status(argv):
    s = settings()
    env = dict(os.environ, ETCDCTL_API="3")
    r = subprocess.run([s["realEtcdctl"]] + argv, capture_output=True, text=True, env=env)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        return r.returncode
    cacert, cert, key = (ctl_option(argv, n, os.environ) for n in ("cacert", "cert", "key"))
    fmt = write_format(argv)
    cache = {}

    def claim(ep):
        if ep not in cache:
            cache[ep] = claimed_version(ep, cacert, cert, key)
        return cache[ep]
    if fmt == "json":
        try:
            entries = json.loads(r.stdout)
        except ValueError:
            sys.stdout.write(r.stdout)
            return 0
        for e in entries:
            v = claim(e.get("Endpoint", ""))
            status = e.get("Status") or {}
            if v:
                status["version"] = v
                # 3.6 added the member's storage version to endpoint status
                status["storageVersion"] = minor(v) + ".0"
        sys.stdout.write(json.dumps(entries, separators=(",", ":")) + "\n")
        return 0
    out = []
    for line in r.stdout.splitlines():
        for ep in re.findall(r"https?://[^\s,|]+", line)[:1]:
            v = claim(ep)
            if v:
                # in a table, the same width, so that it stays aligned
                width = len(s["real"]) if "|" in line else 0
                line = re.sub(r"(?<=[\s|,])%s(?=[\s|,])" % re.escape(s["real"]), v.center(width), line, count=1)
        out.append(line)
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))
    return 0


def etcdctl_main(argv):
    s = settings()
    words = positional(argv)
    if words[:1] == ["version"] or "--version" in argv:
        print("etcdctl version: %s\nAPI version: %s" % (s["claimed"], minor(s["claimed"])))
        return 0
    if words[:2] in (["snapshot", "status"], ["snapshot", "restore"]):
        # etcd 3.6 removed `etcdctl snapshot status|restore` (CHANGELOG-3.6, #13809): etcdutl has
        # them. The real 3.6 etcdctl's exact output for the removed subcommand was not verified.
        sys.stderr.write('Error: unknown command "%s" for "etcdctl snapshot"\n'
                         "Run 'etcdctl snapshot --help' for usage.\n" % words[1])
        return 1
    if words[:2] == ["endpoint", "status"]:
        return endpoint_status(argv)
    os.execve(s["realEtcdctl"], [s["realEtcdctl"]] + argv, dict(os.environ, ETCDCTL_API="3"))


# ---------------------------------------------------------------------------- etcdutl

def etcdutl_main(argv):
    s = settings()
    words = positional(argv)
    if words[:1] == ["version"] or "--version" in argv:
        print("etcdutl version: %s\nAPI version: %s" % (s["claimed"], minor(s["claimed"])))
        return 0
    env = dict(os.environ, ETCDCTL_API="3")
    if words[:2] == ["snapshot", "status"] and write_format(argv) == "json":
        r = subprocess.run([s["realEtcdctl"]] + argv, capture_output=True, text=True, env=env)
        sys.stderr.write(r.stderr)
        if r.returncode != 0:
            sys.stdout.write(r.stdout)
            return r.returncode
        try:
            status = json.loads(r.stdout)
            # etcdutl (3.5+) adds the snapshot's storage version
            status["version"] = minor(s["claimed"]) + ".0"
            sys.stdout.write(json.dumps(status, separators=(",", ":")) + "\n")
        except ValueError:
            sys.stdout.write(r.stdout)
        return 0
    if words[:2] in (["snapshot", "status"], ["snapshot", "restore"]) or words[:1] == ["defrag"]:
        os.execve(s["realEtcdctl"], [s["realEtcdctl"]] + argv, env)
    sys.stderr.write("etcdutl %s: not simulated by the Cairn lab (Debian's etcd %s has no etcdutl; the lab "
                     "offers version, snapshot status|restore, defrag)\n" % (" ".join(words[:2]), s["real"]))
    return 1


def main():
    prog = os.path.basename(sys.argv[0])
    fn = {"etcd": etcd_main, "etcdctl": etcdctl_main, "etcdutl": etcdutl_main}.get(prog)
    if fn is None:
        sys.stderr.write("etcdlab: run me as etcd, etcdctl or etcdutl, not %s\n" % prog)
        return 2
    try:
        rc = fn(sys.argv[1:]) or 0
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        # a reader that went away (`etcd --version | head -1`): quiet, like the Go binaries
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
