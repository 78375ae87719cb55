"""The kubeadm stand-in as kubeadm 1.35-1.37 behave (no lab needed): SystemVerification on cgroup v1,
the kubelet files (no --pod-infra-container-image, the CRI socket in instance-config.yaml), a
control-plane kubelet talking to its own API server, the RBAC of the API server's kubelet client,
the join phases, images and the sandbox image warning per release. (The configuration API and
feature gates: test_kubeadm_config.py; the external etcd version: test_etcd_wrapper.py.)"""
import contextlib
import io
import os
import shutil
import tempfile
import unittest

import yaml

import _path  # noqa: F401
import common
import kubeadm
from patching import kubernetes, patched  # noqa: E402


class KubeadmTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kubeadm-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_system_verification_refuses_cgroup_v1(self):
        with patched(kubeadm, cgroup_filesystem=lambda: "tmpfs"), contextlib.redirect_stdout(io.StringIO()) as out:
            msg = kubeadm.system_verification()
        self.assertIn("[preflight] The system verification failed.", out.getvalue())
        self.assertTrue(msg.startswith("cgroups v1 support is deprecated and will be removed in a future release. "
                                       "Please migrate to cgroups v2. To explicitly enable cgroups v1 support for "
                                       "kubelet v1.35 or newer, you must set the kubelet configuration option "
                                       "'FailCgroupV1' to 'false'."), msg)
        with patched(kubeadm, cgroup_filesystem=lambda: "cgroup2fs"):
            self.assertIsNone(kubeadm.system_verification())
        self.assertIn("SystemVerification", dict(kubeadm.common_checks(self.addressed_node())))

    @staticmethod
    def addressed_node():
        # An address given: the namespace these tests run in may lack a default route for a moment
        # while another lab is set up or torn down (kubeadm's default-address lookup would fail).
        return kubeadm.Node({"localAPIEndpoint": {"advertiseAddress": "10.0.0.1"}}, {})

    def test_preflight_fails_with_the_cgroup_error(self):
        node = self.addressed_node()
        with patched(kubeadm, cgroup_filesystem=lambda: "tmpfs"), contextlib.redirect_stdout(io.StringIO()):
            with self.assertRaises(common.Fatal) as cm:
                kubeadm.run_preflight(node, [("SystemVerification", kubeadm.system_verification)], [])
        self.assertIn("\t[ERROR SystemVerification]: cgroups v1 support is deprecated", cm.exception.msg)

    def node(self, cri="unix:///var/run/containerd/containerd.sock"):
        return kubeadm.Node({"nodeRegistration": {"name": "node1", "criSocket": cri, "kubeletExtraArgs": [
            {"name": "node-ip", "value": "10.99.1.1"}]}, "localAPIEndpoint": {"advertiseAddress": "10.99.1.1"}},
            {"controlPlaneEndpoint": "10.99.1.250:6443"})

    def test_kubelet_files_without_pod_infra_and_with_the_instance_config(self):
        with patched(kubeadm, KUBELET_DIR=self.tmp), contextlib.redirect_stdout(io.StringIO()):
            kubeadm.write_kubelet_files(self.node(), yaml.safe_dump({"apiVersion": "kubelet.config.k8s.io/v1beta1",
                                                                     "kind": "KubeletConfiguration",
                                                                     "containerRuntimeEndpoint": ""}))
        with open(os.path.join(self.tmp, "kubeadm-flags.env")) as f:
            flags = f.read()
        self.assertNotIn("pod-infra-container-image", flags)
        self.assertNotIn("container-runtime-endpoint", flags)
        self.assertIn("--node-ip=10.99.1.1", flags)
        with open(os.path.join(self.tmp, "instance-config.yaml")) as f:
            instance = yaml.safe_load(f)
        self.assertEqual(instance, {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                                    "containerRuntimeEndpoint": "unix:///var/run/containerd/containerd.sock"})
        with open(os.path.join(self.tmp, "config.yaml")) as f:
            self.assertEqual(yaml.safe_load(f)["containerRuntimeEndpoint"],
                             "unix:///var/run/containerd/containerd.sock")

    def test_control_plane_kubelet_talks_to_its_own_api_server(self):
        node = self.node()
        self.assertEqual(node.server, "https://10.99.1.250:6443")
        self.assertEqual(node.local_server, "https://10.99.1.1:6443")
        written = {}
        with patched(kubeadm, write_kubeconfig=lambda n, fname, server, cn, orgs: written.update({fname: server})), \
                contextlib.redirect_stdout(io.StringIO()):
            kubeadm.phase_kubeconfig(node)
        self.assertEqual(written["kubelet.conf"], "https://10.99.1.1:6443")
        self.assertEqual(written["admin.conf"], "https://10.99.1.250:6443")

    def test_init_talks_to_its_own_api_server_from_1_37(self):
        seen = []
        with patched(kubeadm, admin_client=lambda server=None, **kw: seen.append(server)):
            for version in ("1.35.9", "1.36.4", "1.37.1"):
                with kubernetes(version):
                    kubeadm.init_client(self.node())
        self.assertEqual(seen, [None, None, "https://10.99.1.1:6443"])     # None: admin.conf's server

    def test_rbac_for_the_api_servers_kubelet_client(self):
        bindings = {b["metadata"]["name"]: b for b in kubeadm.rbac_bindings()}
        b = bindings["kubeadm:apiserver-kubelet-client"]
        self.assertEqual(b["roleRef"]["name"], "system:kubelet-api-admin")
        self.assertEqual(b["subjects"], [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                                          "name": "kube-apiserver-kubelet-client"}])
        self.assertEqual(bindings["kubeadm:cluster-admins"]["subjects"][0]["name"], "kubeadm:cluster-admins")
        # and the certificate no longer carries a group
        made = []
        record = lambda node, base, ca, cn, orgs=(), *a, **kw: made.append((base, tuple(orgs)))   # noqa: E731
        with patched(kubeadm, ensure_leaf=record, ensure_ca=lambda *a: None), \
                patched(kubeadm.pki, sa_keypair=lambda *a: None), \
                contextlib.redirect_stdout(io.StringIO()):
            node = self.node()
            node.pki_dir = self.tmp
            kubeadm.phase_certs(node)
        self.assertIn(("apiserver-kubelet-client", ()), made)

    def test_join_phases_since_1_35(self):
        self.assertIn("etcd-join", kubeadm.JOIN_PHASES)
        self.assertIn("kubelet-wait-bootstrap", kubeadm.JOIN_PHASES)
        self.assertNotIn("control-plane-join/etcd", kubeadm.JOIN_PHASES)
        with self.assertRaises(common.Fatal) as cm:
            kubeadm.main(["join", "phase", "control-plane-join", "etcd"])
        self.assertIn('unknown command "etcd" for "kubeadm join phase control-plane-join"', cm.exception.msg)

    def test_images_and_the_sandbox_warning_per_release(self):
        for version, pause, coredns in (("1.35.9", "3.10.1", "v1.12.4"), ("1.36.4", "3.10.2", "v1.14.2"),
                                        ("1.37.1", "3.10.2", "v1.14.3")):
            with kubernetes(version), contextlib.redirect_stdout(io.StringIO()) as out:
                kubeadm.main(["config", "images", "list", "--kubernetes-version", "v" + version])
            listed = out.getvalue().split()
            self.assertIn("registry.k8s.io/pause:" + pause, listed)
            self.assertIn("registry.k8s.io/coredns/coredns:" + coredns, listed)
            self.assertIn("registry.k8s.io/kube-apiserver:v" + version, listed)
            for have, warned in (("registry.k8s.io/pause:" + pause, False), ("registry.k8s.io/pause:3.10", True)):
                info = {"config": {"sandboxImage": have}}
                with kubernetes(version), patched(kubeadm, cri_info=lambda ep: info), \
                        contextlib.redirect_stderr(io.StringIO()) as err:
                    kubeadm.sandbox_image_check(self.node())
                self.assertEqual('of the container runtime is inconsistent with that used by kubeadm.It is '
                                 'recommended to use "registry.k8s.io/pause:%s" as the CRI sandbox image.' % pause
                                 in err.getvalue(), warned, (version, have))

    def test_kubeadm_version_per_build(self):
        with kubernetes("1.37.1"), contextlib.redirect_stdout(io.StringIO()) as out:
            kubeadm.main(["version", "-o", "short"])
        self.assertEqual(out.getvalue().strip(), "v1.37.1")


if __name__ == "__main__":
    unittest.main()
