"""The lab's etcd (lab/k8s/etcd/etcdlab.py): Debian's etcd 3.4.23 serving as 3.6.14 / 3.7.2.

Part one runs the wrapper in front of a fake "real etcd" that prints what it was started with, to
check the translation of the claimed release's flags and variables for 3.4.23. Part two starts the
real etcd through the wrapper on 127.0.0.1 (TLS, ephemeral ports) and checks what Cairn and the
kubeadm stand-in read back: `etcd --version`, etcdctl's endpoint status, kubeadm's external etcd
version check. No lab needed; needs Debian's etcd."""
import importlib.machinery
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import _path  # noqa: F401
import labenv

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HAVE_ETCD = os.path.exists("/usr/bin/etcd") and os.path.exists("/usr/bin/etcdctl")

# /etc/etcd.env as Cairn renders it for etcd 3.6+ (Sources/CairnPhases/Etcd/EtcdLayout.swift), minus TLS
CAIRN_ENV = {"ETCD_NAME": "m1", "ETCD_HEARTBEAT_INTERVAL": "250", "ETCD_ELECTION_TIMEOUT": "5000",
             "ETCD_QUOTA_BACKEND_BYTES": "2147483648", "ETCD_SNAPSHOT_COUNT": "10000",
             "ETCD_AUTO_COMPACTION_RETENTION": "8", "ETCD_INITIAL_CLUSTER_STATE": "new",
             "ETCD_FEATURE_GATES": "CompactHashCheck=true,InitialCorruptCheck=true"}


def lab_mirror():
    loader = importlib.machinery.SourceFileLoader("lab_mirror", os.path.join(REPO, "scripts", "lab-mirror"))
    spec = importlib.util.spec_from_loader("lab_mirror", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@labenv.skip_unless(HAVE_ETCD, "needs Debian's etcd (etcd-server, etcd-client)")
class TranslationTests(unittest.TestCase):
    """The wrapper in front of a fake real etcd that reports its argv and ETCD_* environment."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="etcdlab-test-")
        cls.mirror = lab_mirror()
        cls.real_flags = cls.mirror.real_etcd_flags()
        fake = os.path.join(cls.tmp, "fake-etcd")
        with open(fake, "w") as f:
            f.write("#!/usr/bin/python3\nimport json, os, sys\nprint(json.dumps({'argv': sys.argv, 'env': "
                    "{k: v for k, v in os.environ.items() if k.startswith('ETCD_')}}))\n")
        os.chmod(fake, 0o755)
        cls.bins = {}
        for claimed in ("3.6.14", "3.7.2"):
            settings = cls.mirror.etcd_settings(claimed, "3.4.23", cls.real_flags)
            settings["realEtcd"] = fake
            d = os.path.join(cls.tmp, claimed)
            os.makedirs(d)
            for n in ("etcd", "etcdctl", "etcdutl"):
                with open(os.path.join(d, n), "wb") as f:
                    f.write(cls.mirror.etcd_wrapper(settings))
                os.chmod(os.path.join(d, n), 0o755)
            cls.bins[claimed] = d

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_etcd(self, claimed, args=(), env=None, prog="etcd"):
        e = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
        e.update(env or {})
        return subprocess.run([os.path.join(self.bins[claimed], prog)] + list(args), env=e, capture_output=True,
                              text=True, timeout=60)

    def started(self, r):
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_cairns_environment_for_3_6(self):
        r = self.run_etcd("3.6.14", env=CAIRN_ENV)
        got = self.started(r)
        self.assertEqual(got["argv"][1:], [])     # (argv[0] is checked against the real etcd below)
        # InitialCorruptCheck has a 3.4 name; CompactHashCheck has none and is dropped, saying so
        self.assertEqual(got["env"]["ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK"], "true")
        self.assertNotIn("ETCD_FEATURE_GATES", got["env"])
        self.assertEqual(got["env"]["ETCD_NAME"], "m1")
        self.assertEqual(got["env"]["ETCD_AUTO_COMPACTION_RETENTION"], "8")
        self.assertIn("dropped (3.4.23 cannot do it): feature gate CompactHashCheck=true", r.stderr)
        self.assertIn("InitialCorruptCheck=true -> --experimental-initial-corrupt-check=true", r.stderr)

    def test_3_6_names_are_translated_to_the_3_4_ones(self):
        got = self.started(self.run_etcd("3.6.14", ["--watch-progress-notify-interval=5s", "--name", "x"]))
        self.assertEqual(got["argv"][1:], ["--experimental-watch-progress-notify-interval=5s", "--name=x"])
        got = self.started(self.run_etcd("3.6.14", env={"ETCD_CORRUPT_CHECK_TIME": "5m"}))
        self.assertEqual(got["env"], {"ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME": "5m"})

    def test_3_6_still_reads_the_deprecated_experimental_flags_with_a_warning(self):
        r = self.run_etcd("3.6.14", ["--experimental-initial-corrupt-check=true"])
        self.assertEqual(self.started(r)["argv"][1:], ["--experimental-initial-corrupt-check=true"])
        self.assertIn("--experimental-initial-corrupt-check is deprecated in 3.6", r.stderr)

    def test_3_7_no_longer_defines_the_experimental_flags(self):
        r = self.run_etcd("3.7.2", ["--experimental-initial-corrupt-check=true"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("flag provided but not defined: -experimental-initial-corrupt-check", r.stderr)
        # ...and ignores their variables with a warning, as etcd does with any unknown ETCD_*
        r = self.run_etcd("3.7.2", env={"ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK": "true", "ETCD_NAME": "m1"})
        self.assertEqual(self.started(r)["env"], {"ETCD_NAME": "m1"})
        self.assertIn('"msg": "unrecognized environment variable"', r.stderr)
        self.assertIn("ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true", r.stderr)
        # the 3.7 environment Cairn renders starts
        got = self.started(self.run_etcd("3.7.2", env=CAIRN_ENV))
        self.assertEqual(got["env"]["ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK"], "true")

    def test_removed_and_unknown_settings(self):
        r = self.run_etcd("3.6.14", env={"ETCD_ENABLE_V2": "true"})     # --enable-v2 is gone in 3.6
        self.assertEqual(self.started(r)["env"], {})
        self.assertIn("ETCD_ENABLE_V2=true", r.stderr)
        r = self.run_etcd("3.6.14", ["--enable-v2=true"])
        self.assertEqual((r.returncode, r.stderr.splitlines()[0]), (2, "flag provided but not defined: -enable-v2"))
        r = self.run_etcd("3.6.14", env={"ETCD_FEATURE_GATES": "InitialCorruptCheck=true,NoSuchGate=true"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("unrecognized feature gate: NoSuchGate", r.stderr)
        # FastLeaseKeepAlive is a 3.7 gate
        self.assertEqual(self.run_etcd("3.6.14", env={"ETCD_FEATURE_GATES": "FastLeaseKeepAlive=true"}).returncode, 1)
        self.assertEqual(self.run_etcd("3.7.2", env={"ETCD_FEATURE_GATES": "FastLeaseKeepAlive=true"}).returncode, 0)

    def test_a_variable_shadowed_by_a_flag_is_fatal(self):
        r = self.run_etcd("3.6.14", ["--name=a"], env={"ETCD_NAME": "b"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("conflicting environment variable is shadowed by corresponding command-line flag", r.stderr)

    def test_client_versions(self):
        self.assertEqual(self.run_etcd("3.6.14", ["version"], prog="etcdctl").stdout,
                         "etcdctl version: 3.6.14\nAPI version: 3.6\n")
        self.assertEqual(self.run_etcd("3.7.2", ["--version"], prog="etcdutl").stdout,
                         "etcdutl version: 3.7.2\nAPI version: 3.7\n")

    def test_etcdctl_has_no_snapshot_status_or_restore_since_3_6(self):
        for sub in ("status", "restore"):
            r = self.run_etcd("3.6.14", ["snapshot", sub, "/tmp/x.db"], prog="etcdctl")
            self.assertEqual(r.returncode, 1)
            self.assertIn('unknown command "%s" for "etcdctl snapshot"' % sub, r.stderr)


@labenv.skip_unless(HAVE_ETCD, "needs Debian's etcd (etcd-server, etcd-client)")
class RealEtcdTests(unittest.TestCase):
    """The real etcd 3.4.23 started through the 3.6.14 wrapper, with TLS, on 127.0.0.1."""

    @classmethod
    def setUpClass(cls):
        import pki
        cls.tmp = tempfile.mkdtemp(prefix="etcdlab-real-")
        t = cls.tmp
        pki.gen_key(t + "/ca.key", "ECDSA-P256")
        pki.self_signed_ca(t + "/ca.key", t + "/ca.crt", "etcd-ca")
        pki.gen_key(t + "/member.key", "ECDSA-P256")
        pki.sign(t + "/ca.crt", t + "/ca.key", t + "/member.key", t + "/member.crt", "m1",
                 sans=["localhost", "127.0.0.1"], server=True, client=True)
        pki.gen_key(t + "/client.key", "ECDSA-P256")
        pki.sign(t + "/ca.crt", t + "/ca.key", t + "/client.key", t + "/client.crt", "kube-apiserver-etcd-client",
                 client=True)
        mirror = lab_mirror()
        settings = mirror.etcd_settings("3.6.14", "3.4.23", mirror.real_etcd_flags())
        cls.bin = os.path.join(t, "bin")
        os.makedirs(cls.bin)
        for n in ("etcd", "etcdctl", "etcdutl"):
            with open(os.path.join(cls.bin, n), "wb") as f:
                f.write(mirror.etcd_wrapper(settings))
            os.chmod(os.path.join(cls.bin, n), 0o755)
        client, peer = free_port(), free_port()
        cls.endpoint = "https://127.0.0.1:%d" % client
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD_")}
        env.update(CAIRN_ENV)
        env.update({"ETCD_DATA_DIR": t + "/data", "ETCD_LISTEN_CLIENT_URLS": cls.endpoint,
                    "ETCD_ADVERTISE_CLIENT_URLS": cls.endpoint,
                    "ETCD_LISTEN_PEER_URLS": "https://127.0.0.1:%d" % peer,
                    "ETCD_INITIAL_ADVERTISE_PEER_URLS": "https://127.0.0.1:%d" % peer,
                    "ETCD_INITIAL_CLUSTER": "m1=https://127.0.0.1:%d" % peer,
                    "ETCD_CERT_FILE": t + "/member.crt", "ETCD_KEY_FILE": t + "/member.key",
                    "ETCD_TRUSTED_CA_FILE": t + "/ca.crt", "ETCD_CLIENT_CERT_AUTH": "true",
                    "ETCD_PEER_CERT_FILE": t + "/member.crt", "ETCD_PEER_KEY_FILE": t + "/member.key",
                    "ETCD_PEER_TRUSTED_CA_FILE": t + "/ca.crt", "ETCD_PEER_CLIENT_CERT_AUTH": "true"})
        cls.log = open(t + "/etcd.log", "w")
        cls.proc = subprocess.Popen([os.path.join(cls.bin, "etcd")], env=env, stdout=cls.log, stderr=cls.log,
                                    start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if cls.ctl("endpoint", "health").returncode == 0:
                return
            time.sleep(0.3)
        raise AssertionError("etcd did not become healthy: " + open(t + "/etcd.log").read()[-2000:])

    @classmethod
    def ctl(cls, *args, prog="etcdctl"):
        return subprocess.run([os.path.join(cls.bin, prog), "--endpoints=" + cls.endpoint, "--cacert=" + cls.tmp +
                               "/ca.crt", "--cert=" + cls.tmp + "/client.crt", "--key=" + cls.tmp + "/client.key",
                               "--dial-timeout=3s", "--command-timeout=5s"] + list(args),
                              capture_output=True, text=True, timeout=60)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "proc", None):
            os.killpg(cls.proc.pid, signal.SIGTERM)
            try:
                cls.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(cls.proc.pid, signal.SIGKILL)
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_it_is_really_3_4_23_started_with_the_translated_settings(self):
        with open(self.tmp + "/etcd.log") as f:
            log = f.read()
        self.assertIn("etcd Version: 3.4.23", log)
        self.assertIn("recognized and used environment variable ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK=true", log)
        self.assertNotIn("ETCD_FEATURE_GATES", log.split("cairn-lab etcd")[-1])

    def test_version_and_the_claim_on_debug_vars(self):
        r = subprocess.run([os.path.join(self.bin, "etcd"), "--version"], capture_output=True, text=True, timeout=60)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "etcd Version: 3.6.14")      # what Cairn's facts read
        real = subprocess.run(["/usr/bin/etcd", "--version"], capture_output=True, text=True).stdout.splitlines()
        self.assertEqual(lines[1:], real[1:])                    # the rest is the real binary's
        import ssl
        import http.client
        ctx = ssl.create_default_context(cafile=self.tmp + "/ca.crt")
        ctx.load_cert_chain(self.tmp + "/client.crt", self.tmp + "/client.key")
        port = int(self.endpoint.rsplit(":", 1)[1])
        for path, check in (("/version", lambda d: self.assertEqual(d["etcdserver"], "3.4.23")),
                            ("/debug/vars", lambda d: self.assertEqual(d["cmdline"][0],
                                                                       "etcd[cairn-lab claims v3.6.14]"))):
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
            c.request("GET", path)
            check(json.loads(c.getresponse().read()))
            c.close()

    def test_endpoint_status_reports_the_claimed_version(self):
        r = self.ctl("endpoint", "status", "-w", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        status = json.loads(r.stdout)
        self.assertEqual(len(status), 1)
        self.assertEqual(status[0]["Endpoint"], self.endpoint)
        self.assertEqual(status[0]["Status"]["version"], "3.6.14")
        self.assertEqual(status[0]["Status"]["storageVersion"], "3.6.0")
        self.assertGreater(status[0]["Status"]["header"]["member_id"], 0)
        r = self.ctl("endpoint", "status")
        self.assertIn(", 3.6.14, ", r.stdout)

    def test_kubeadm_stand_in_checks_the_claimed_version(self):
        import etcdclient
        version, err = etcdclient.check_endpoint(self.endpoint, self.tmp + "/ca.crt", self.tmp + "/client.crt",
                                                 self.tmp + "/client.key")
        self.assertEqual((version, err), ("3.6.14", None))
        import kubeadm
        checks = dict(kubeadm.external_etcd_checks({"etcd": {"external": {
            "endpoints": [self.endpoint], "caFile": self.tmp + "/ca.crt", "certFile": self.tmp + "/client.crt",
            "keyFile": self.tmp + "/client.key"}}}))
        self.assertIsNone(checks["ExternalEtcdVersion"]())

    def test_snapshots_through_etcdutl(self):
        self.assertEqual(self.ctl("put", "k", "v").returncode, 0)
        snap = self.tmp + "/snap.db"
        r = self.ctl("snapshot", "save", snap)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([os.path.join(self.bin, "etcdutl"), "snapshot", "status", snap, "-w", "json"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        status = json.loads(r.stdout)
        self.assertGreaterEqual(status["revision"], 2)
        self.assertEqual(status["version"], "3.6.0")
        r = subprocess.run([os.path.join(self.bin, "etcdutl"), "snapshot", "restore", snap, "--name", "m1",
                            "--initial-cluster", "m1=https://127.0.0.1:2380", "--initial-cluster-token", "t",
                            "--initial-advertise-peer-urls", "https://127.0.0.1:2380", "--data-dir",
                            self.tmp + "/restored"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.isdir(self.tmp + "/restored/member"))


class MinimumTests(unittest.TestCase):
    """kubeadm's ExternalEtcdVersion against what an endpoint reports (no etcd needed)."""

    def check(self, version):
        import kubeadm
        orig = kubeadm.check_endpoint
        kubeadm.check_endpoint = lambda *a, **k: (version, None)
        try:
            with tempfile.NamedTemporaryFile() as f:
                checks = dict(kubeadm.external_etcd_checks({"etcd": {"external": {
                    "endpoints": ["https://10.99.1.1:2379"], "caFile": f.name, "certFile": f.name, "keyFile": f.name}}}))
                return checks["ExternalEtcdVersion"]()
        finally:
            kubeadm.check_endpoint = orig

    def test_minimum_external_etcd(self):
        self.assertIsNone(self.check("3.6.14"))
        self.assertIsNone(self.check("3.5.24"))
        self.assertEqual(self.check("3.4.23"), "this version of kubeadm only supports external etcd version >= "
                                               "3.5.24-0. Current version: 3.4.23")
        self.assertIn("3.5.17", self.check("3.5.17"))


if __name__ == "__main__":
    unittest.main()
