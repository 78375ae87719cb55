"""The kubelet stand-in as Kubernetes 1.35-1.37 behave (no lab needed): it refuses cgroup v1 unless
its configuration has failCgroupV1: false, --pod-infra-container-image is an unknown flag since 1.35,
and kubeadm's feature gates (some removed in 1.35-1.37, none ever the kubelet's) are unrecognized.
Run in-process, with the cgroup check and the stand-in's state directories swapped per test."""
import contextlib
import io
import os
import shutil
import tempfile
import unittest

import yaml

import _path  # noqa: F401
import kubelet
from patching import patched  # noqa: E402


def run_kubelet(argv, cgroup2=True):
    err = io.StringIO()
    state = tempfile.mkdtemp(prefix="kubelet-state-")     # not the machine's /run and /var/log
    try:
        with patched(kubelet, cgroup_v2=lambda: cgroup2, PODS_DIR=os.path.join(state, "pods"),
                     LOG_DIR=os.path.join(state, "log"), IMAGES_FILE=os.path.join(state, "images")), \
                contextlib.redirect_stderr(err):
            rc = kubelet.main(argv)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return rc, err.getvalue()




class KubeletTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kubelet-test-")
        # a CRI socket that is not there: a kubelet that gets past its checks stops at the runtime
        self.cri = "unix://" + os.path.join(self.tmp, "no.sock")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def config(self, **fields):
        cfg = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
               "cgroupDriver": "systemd", "failSwapOn": False}
        cfg.update(fields)
        path = os.path.join(self.tmp, "config.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)
        return path

    def test_refuses_cgroup_v1_unless_configured_not_to(self):
        rc, err = run_kubelet(["--config=" + self.config(), "--container-runtime-endpoint=" + self.cri],
                              cgroup2=False)
        self.assertEqual(rc, 1)
        self.assertIn('run.go:72] "command failed" err="failed to validate kubelet configuration, error: kubelet is '
                      'configured to not run on a host using cgroup v1. cgroup v1 support is unsupported and will be '
                      'removed in a future release, path: &TypeMeta{Kind:,APIVersion:,}"', err)
        rc, err = run_kubelet(["--config=" + self.config(failCgroupV1=False),
                               "--container-runtime-endpoint=" + self.cri], cgroup2=False)
        self.assertEqual(rc, 1)
        self.assertNotIn("configured to not run", err)
        self.assertIn("cgroup v1 detected. cgroup v1 support is unsupported", err)
        self.assertIn("validate CRI v1 runtime API", err)        # it went on, to the runtime
        rc, err = run_kubelet(["--config=" + self.config(), "--container-runtime-endpoint=" + self.cri])
        self.assertNotIn("cgroup v1", err)
        self.assertIn("validate CRI v1 runtime API", err)

    def test_pod_infra_container_image_is_an_unknown_flag(self):
        rc, err = run_kubelet(["--config=" + self.config(), "--pod-infra-container-image=registry.k8s.io/pause:3.10"])
        self.assertEqual(rc, 1)
        self.assertIn('"command failed" err="failed to parse kubelet flag: unknown flag: --pod-infra-container-image"',
                      err)

    def test_kubeadms_gates_are_unknown_to_the_kubelet(self):
        for gate in ("WaitForAllControlPlaneComponents", "ControlPlaneKubeletLocalMode", "NodeLocalCRISocket",
                     "PublicKeysECDSA"):
            rc, err = run_kubelet(["--config=" + self.config(), "--feature-gates=%s=true" % gate])
            self.assertEqual(rc, 1)
            self.assertIn("failed to set feature gates from initial flags-based config: unrecognized feature gate: "
                          + gate, err)
            rc, err = run_kubelet(["--config=" + self.config(featureGates={gate: True})])
            self.assertIn("unrecognized feature gate: " + gate, err)
        # any other gate name passes (the stand-in does not know the kubelet's own list)
        rc, err = run_kubelet(["--config=" + self.config(featureGates={"KubeletTracing": True}),
                               "--container-runtime-endpoint=" + self.cri])
        self.assertNotIn("unrecognized feature gate", err)


if __name__ == "__main__":
    unittest.main()
