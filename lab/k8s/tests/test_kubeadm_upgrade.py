"""kubeadm upgrade as kubeadm 1.35-1.37 refuse it (no lab needed): the version policy of
`kubeadm upgrade apply` (policy.go: mandatory errors, and the skippable ones --force bypasses) with
kubeadm's words, refused in the preflight phase before anything in the cluster is written; version
arguments; the manifests an upgrade renders into its own folder; the add-on phase waiting for every
control-plane instance. (The whole upgrade against running API servers is for the lab tests.)"""
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
import kubeadm_upgrade as ku
from patching import kubernetes, patched  # noqa: E402


class ReadOnlyClient:
    """A cluster that must not be written to."""
    def __init__(self, pods=()):
        self.writes = []
        self.pods = list(pods)

    def get(self, path, query=None):
        if path == "/api/v1/namespaces/kube-system/pods":
            return {"items": self.pods}
        raise AssertionError("unexpected GET " + path)

    def put(self, path, body):
        self.writes.append(("PUT", path))

    def post(self, path, body):
        self.writes.append(("POST", path))


def apiserver_pod(node, version):
    return {"spec": {"nodeName": node, "containers": [{"name": "kube-apiserver",
                                                        "image": "registry.k8s.io/kube-apiserver:" + version}]}}


class PolicyTests(unittest.TestCase):
    def test_one_minor_at_a_time(self):
        mandatory, skippable = ku.policy_errors("v1.37.1", "v1.35.9", "v1.37.1", ["v1.35.9"])
        self.assertEqual(mandatory, ['Specified version to upgrade to "v1.37.1" is too high; kubeadm can upgrade only 1 '
                                     'minor version at a time'])
        self.assertEqual(skippable, [])

    def test_downgrade_of_two_minors_and_below_the_minimum(self):
        mandatory, _ = ku.policy_errors("v1.35.0", "v1.37.1", "v1.37.1", ["v1.37.1"])
        self.assertIn('Specified version to downgrade to "v1.35.0" is too low; kubeadm can downgrade only 1 minor '
                      'version at a time', mandatory)
        self.assertTrue(any(m.startswith('Specified version to upgrade to "v1.35.0" is equal to or lower than the '
                                         'minimum supported version') for m in mandatory))

    def test_kubeadm_older_than_the_target(self):
        mandatory, _ = ku.policy_errors("v1.36.5", "v1.35.9", "v1.35.9", [])
        self.assertEqual(mandatory, ['Specified version to upgrade to "v1.36.5" is at least one minor release higher '
                                     'than the kubeadm minor release (36 > 35). Such an upgrade is not supported'])
        mandatory, skippable = ku.policy_errors("v1.36.5", "v1.35.9", "v1.36.4", [])
        self.assertEqual(mandatory, [])
        self.assertEqual(skippable, ['Specified version to upgrade to "v1.36.5" is higher than the kubeadm version '
                                     '"v1.36.4". Upgrade kubeadm first using the tool you used to install kubeadm'])

    def test_kubeadm_newer_than_the_target_and_old_kubelets(self):
        _, skippable = ku.policy_errors("v1.36.5", "v1.36.1", "v1.37.1", ["v1.32.3", "v1.36.1"])
        self.assertEqual(skippable, ["Kubeadm version v1.37.1 can only be used to upgrade to Kubernetes version 1.37",
                                     "There are kubelets in this cluster that are too old that have these versions "
                                     "[v1.32.3]"])
        self.assertEqual(ku.policy_errors("v1.36.5", "v1.35.9", "v1.36.5", ["v1.35.9", "v1.33.0"]), ([], []))

    def test_version_arguments(self):
        self.assertEqual(ku.normalize("1.36.4"), "v1.36.4")
        self.assertEqual(ku.normalize("v1.37.1"), "v1.37.1")
        with self.assertRaises(common.Fatal) as cm:
            ku.normalize("soon")
        self.assertEqual(cm.exception.msg, 'couldn\'t parse Kubernetes version "soon": illegal version string "soon"')
        with self.assertRaises(common.Fatal) as cm:
            ku.normalize("stable")
        self.assertIn("https://dl.k8s.io/release/stable.txt", cm.exception.msg)


class ApplyRefusalTests(unittest.TestCase):
    def apply(self, argv, cluster, kubeadm_version):
        client = ReadOnlyClient()
        fakes = dict(client_for=lambda path: client, fetch_cluster_configuration=lambda c: {},
                     root_check=lambda ignore: None, cluster_health=lambda c, cc, ignore: None,
                     cluster_version=lambda c: cluster, kubelet_versions=lambda c: {cluster: ["node1"]},
                     confirm=lambda *a: None, pull_images_lines=lambda cc: None,
                     static_pod_upgrade=lambda *a, **k: self.fail("the control plane was touched"))
        with kubernetes(kubeadm_version.lstrip("v")), patched(ku, **fakes), \
                contextlib.redirect_stdout(io.StringIO()) as out:
            try:
                ku.cmd_apply(argv)
            except common.Fatal as e:
                self.assertEqual(client.writes, [])
                return e.msg, out.getvalue()
        self.fail("kubeadm upgrade apply %s succeeded" % " ".join(argv))

    def test_skipping_a_minor_is_refused_in_preflight_before_anything_changes(self):
        msg, out = self.apply(["v1.37.1", "--yes"], "v1.35.9", "v1.37.1")
        self.assertEqual(msg, 'error execution phase preflight: the version argument is invalid due to these fatal '
                              'errors:\n\n\t- Specified version to upgrade to "v1.37.1" is too high; kubeadm can upgrade '
                              'only 1 minor version at a time\n\nPlease fix the misalignments highlighted above and try '
                              'upgrading again\n' + kubeadm.TRACE_HINT)
        self.assertIn("[upgrade/versions] Cluster version: v1.35.9\n[upgrade/versions] kubeadm version: v1.37.1\n", out)

    def test_skippable_errors_need_force(self):
        msg, _ = self.apply(["v1.36.5", "--yes"], "v1.35.9", "v1.36.4")
        self.assertTrue(msg.startswith("error execution phase preflight: the version argument is invalid due to these "
                                       "errors:\n\n\t- Specified version to upgrade to \"v1.36.5\" is higher than the "
                                       "kubeadm version \"v1.36.4\""), msg)
        self.assertIn("\nCan be bypassed if you pass the --force flag\n", msg)

    def test_a_version_is_required(self):
        with contextlib.redirect_stdout(io.StringIO()), self.assertRaises(common.Fatal) as cm:
            ku.cmd_apply(["--yes"])
        self.assertTrue(cm.exception.msg.startswith("missing one or more required arguments. Required arguments: "
                                                    "[version]"))

    def test_unknown_subcommand(self):
        with self.assertRaises(common.Fatal) as cm:
            ku.main(["upgrade-all"])
        self.assertTrue(cm.exception.msg.startswith('unknown command "upgrade-all" for "kubeadm upgrade"'))


class StaticPodTests(unittest.TestCase):
    def test_manifests_for_the_target_are_rendered_into_their_own_folder_silently(self):
        tmp = tempfile.mkdtemp(prefix="kubeadm-upgrade-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cc = kubeadm.kc.defaulted_cluster({"kubernetesVersion": "v1.37.1", "controlPlaneEndpoint": "10.99.1.250:6443",
                                           "certificatesDir": tmp + "/pki",
                                           "etcd": {"external": {"endpoints": ["https://10.99.1.1:2379"],
                                                                 "caFile": "/x/ca.crt", "certFile": "/x/c.crt",
                                                                 "keyFile": "/x/c.key"}}}, "1.37.1")
        node = kubeadm.Node({"nodeRegistration": {"name": "node1"},
                             "localAPIEndpoint": {"advertiseAddress": "10.99.1.1"}}, cc)
        said = []
        with kubernetes("1.37.1"), contextlib.redirect_stdout(io.StringIO()) as out:
            kubeadm.phase_control_plane(node, mdir=tmp + "/new", say=said.append)
        self.assertEqual(out.getvalue(), "")
        self.assertEqual(said[0], '[control-plane] Using manifest folder "%s/new"' % tmp)
        self.assertEqual(sorted(os.listdir(tmp + "/new")), ["kube-apiserver.yaml", "kube-controller-manager.yaml",
                                                           "kube-scheduler.yaml"])
        with open(tmp + "/new/kube-apiserver.yaml") as f:
            m = yaml.safe_load(f)
        self.assertEqual(m["spec"]["containers"][0]["image"], "registry.k8s.io/kube-apiserver:v1.37.1")

    def test_this_nodes_manifests_rendered_again_are_equal(self):
        # what `upgrade apply|node` renders for this node from kubeadm-config and the kube-apiserver
        # manifest's advertise-address annotation equals what init/join wrote: nothing is restarted
        # when the version does not change ("Current and new manifests of X are equal, skipping upgrade")
        tmp = tempfile.mkdtemp(prefix="kubeadm-upgrade-test-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cc = kubeadm.kc.defaulted_cluster({"kubernetesVersion": "v1.36.4", "controlPlaneEndpoint": "10.99.1.250:6443",
                                           "certificatesDir": tmp + "/pki",
                                           "apiServer": {"extraArgs": [{"name": "audit-log-maxage", "value": "7"}]},
                                           "etcd": {"external": {"endpoints": ["https://10.99.1.1:2379"],
                                                                 "caFile": "/x/ca.crt", "certFile": "/x/c.crt",
                                                                 "keyFile": "/x/c.key"}}}, "1.36.4")
        node = kubeadm.Node({"nodeRegistration": {"name": "node1"},
                             "localAPIEndpoint": {"advertiseAddress": "10.99.1.7", "bindPort": 6443}}, cc)
        with kubernetes("1.36.4"), patched(kubeadm, MANIFESTS=tmp + "/manifests"), \
                patched(ku, MANIFESTS=tmp + "/manifests"), contextlib.redirect_stdout(io.StringIO()):
            kubeadm.phase_control_plane(node)
            again = ku.this_node(cc)
            kubeadm.phase_control_plane(again, mdir=tmp + "/new", say=lambda _m: None)
        for comp in ku.COMPONENTS:
            with open("%s/manifests/%s.yaml" % (tmp, comp)) as a, open("%s/new/%s.yaml" % (tmp, comp)) as b:
                self.assertEqual(a.read(), b.read(), comp)

    def test_addons_wait_for_every_control_plane_instance(self):
        client = ReadOnlyClient([apiserver_pod("node1", "v1.36.5"), apiserver_pod("node2", "v1.35.9"),
                                 apiserver_pod("node3", "v1.35.9")])
        self.assertEqual(ku.unupgraded_control_planes(client, "node1"), ["node2", "node3"])
        with contextlib.redirect_stdout(io.StringIO()) as out:
            ku.addon_phase(client, {}, "node1", True)
        self.assertEqual(out.getvalue(), "[upgrade/addon] Skipping upgrade of addons because control plane instances "
                                         "[node2 node3] have not been upgraded\n")
        self.assertEqual(client.writes, [])
        with self.assertRaises(common.Fatal) as cm:
            ku.unupgraded_control_planes(client, "node9")
        self.assertIn("cannot find kube-apiserver image for current control plane instance node9", cm.exception.msg)


if __name__ == "__main__":
    unittest.main()
