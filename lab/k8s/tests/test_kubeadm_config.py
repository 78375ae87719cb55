"""Strict kubeadm configuration decoding and validation (no lab needed)."""
import unittest

import _path  # noqa: F401
import kubeadm
import kubeadm_config as kc
from common import Fatal

INIT = """apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
  ttl: 24h0m0s
localAPIEndpoint: {advertiseAddress: 10.99.1.1, bindPort: 6443}
nodeRegistration:
  name: node1
  criSocket: unix:///var/run/containerd/containerd.sock
  taints: []
  kubeletExtraArgs:
  - {name: node-ip, value: 10.99.1.1}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.36.4
controlPlaneEndpoint: 10.99.1.254:6443
networking: {podSubnet: 10.244.0.0/16, serviceSubnet: 10.96.0.0/12, dnsDomain: cluster.local}
etcd:
  external:
    endpoints: [https://10.99.1.1:2379]
    caFile: /etc/kubernetes/pki/etcd/ca.crt
    certFile: /etc/kubernetes/pki/apiserver-etcd-client.crt
    keyFile: /etc/kubernetes/pki/apiserver-etcd-client.key
apiServer:
  certSANs: [10.99.1.254, api.lab.example]
  extraArgs:
  - {name: audit-log-maxage, value: "7"}
"""


class DecodeTests(unittest.TestCase):
    def load(self, text, **kw):
        return kc.load_documents(text, **kw)

    def assertFails(self, text, *fragments, **kw):
        with self.assertRaises(Fatal) as cm:
            docs = self.load(text, **kw)
            kubeadm.validate_init(docs.get("InitConfiguration", {}), docs.get("ClusterConfiguration", {}))
        self.assertTrue(fragments, "assertFails needs the expected error text")
        for f in fragments:
            self.assertIn(f, cm.exception.msg)
        return cm.exception.msg

    def test_valid_v1beta4_init_and_cluster(self):
        docs = self.load(INIT)
        self.assertEqual(set(docs), {"InitConfiguration", "ClusterConfiguration"})
        kubeadm.validate_init(docs["InitConfiguration"], docs["ClusterConfiguration"])

    def test_unknown_field_is_rejected_with_kubeadm_wording(self):
        self.assertFails(INIT.replace("  certSANs:", "  certSans:"),
                         'error unmarshaling configuration schema.GroupVersionKind{Group:"kubeadm.k8s.io", '
                         'Version:"v1beta4", Kind:"ClusterConfiguration"}: strict decoding error: unknown field '
                         '"apiServer.certSans"')

    def test_v1beta3_is_rejected(self):
        text = INIT.replace("v1beta4", "v1beta3")
        # v1beta3 has map extraArgs: the list form fails to decode like kubeadm's JSON decoder
        self.assertFails(text, 'Version:"v1beta3", Kind:"InitConfiguration"}: json: cannot unmarshal array into Go '
                               'struct field NodeRegistrationOptions.nodeRegistration.kubeletExtraArgs of type '
                               'map[string]string')

    def test_v1beta3_is_deprecated_in_1_35_and_1_36_and_removed_in_1_37(self):
        text = """apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.36.4
"""
        for version in ("1.35.9", "1.36.4"):
            warnings = []
            docs = self.load(text, kubeadm_version=version, warnings=warnings)
            self.assertIn("ClusterConfiguration", docs)
            self.assertEqual(warnings, ['W your configuration file uses a deprecated API spec: '
                                        '"kubeadm.k8s.io/v1beta3" (kind: "ClusterConfiguration"). Please use '
                                        "'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which "
                                        "will write the new, similar spec using a newer API version."])
        self.assertFails(text, 'your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta3" (kind: '
                               '"ClusterConfiguration"). Please use kubeadm v1.36 instead',
                         kubeadm_version="1.37.1")
        # and v1beta4 is fine everywhere
        for version in ("1.35.9", "1.36.4", "1.37.1"):
            self.assertIn("InitConfiguration", self.load(INIT, kubeadm_version=version))

    def test_map_extra_args_in_v1beta4(self):
        self.assertFails(INIT.replace("  extraArgs:\n  - {name: audit-log-maxage, value: \"7\"}",
                                      "  extraArgs:\n    audit-log-maxage: \"7\""),
                         "json: cannot unmarshal object into Go struct field APIServer.apiServer.extraArgs of type "
                         "[]v1beta4.Arg")

    def test_wrong_kind_and_version(self):
        self.assertFails("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfig\n",
                         'no kind "InitConfig" is registered for version "kubeadm.k8s.io/v1beta4"')
        self.assertFails("apiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\n",
                         'your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta2" (kind: '
                         '"InitConfiguration"). Please use kubeadm v1.22 instead')
        self.assertFails("kind: InitConfiguration\n", "kind and apiVersion is mandatory information")

    def test_unknown_group_is_ignored_with_warning(self):
        w = []
        docs = kc.load_documents(INIT + "---\napiVersion: example.com/v1\nkind: Foo\n", warnings=w)
        self.assertIn("InitConfiguration", docs)
        self.assertTrue(any("Ignored configuration document" in x for x in w))

    def test_bad_token_and_address(self):
        self.assertFails(INIT.replace("abcdef.0123456789abcdef", "abc.def"),
                         'bootstrapTokens[0].token: Invalid value: "abc.def"')
        self.assertFails(INIT.replace("advertiseAddress: 10.99.1.1", "advertiseAddress: 10.99.1"),
                         'localAPIEndpoint.advertiseAddress: Invalid value: "10.99.1": cannot parse IP address')

    def test_bad_subnet_and_cri_socket(self):
        self.assertFails(INIT.replace("serviceSubnet: 10.96.0.0/12", "serviceSubnet: 10.96.0.1/12"),
                         'networking.serviceSubnet: Invalid value: "10.96.0.1/12": couldn\'t parse subnet')
        self.assertFails(INIT.replace("criSocket: unix://", "criSocket: "), "nodeRegistration.criSocket")

    def validate(self, text, version):
        docs = self.load(text, kubeadm_version=version)
        errs = []
        kc.validate_cluster(docs["ClusterConfiguration"], errs, version)
        return errs

    def test_feature_gates_removed_per_release(self):
        gated = lambda gate: INIT + "featureGates:\n  %s: true\n" % gate     # noqa: E731
        # (release that no longer knows it, gate)
        for removed_in, gate in ((35, "WaitForAllControlPlaneComponents"), (36, "ControlPlaneKubeletLocalMode"),
                                 (37, "NodeLocalCRISocket"), (37, "PublicKeysECDSA")):
            for minor in (35, 36, 37):
                errs = self.validate(gated(gate), "1.%d.0" % minor)
                if minor >= removed_in:
                    self.assertEqual(errs, ['featureGates: Invalid value: map[string]bool{"%s":true}: %s is not a '
                                            'valid feature name.' % (gate, gate)], (gate, minor))
                else:
                    self.assertEqual(errs, [], (gate, minor))
        self.assertEqual(self.validate(gated("EtcdLearnerMode"), "1.37.1"), [])

    def test_duration_type(self):
        self.assertFails(INIT.replace("ttl: 24h0m0s", "ttl: 24"), "json: cannot unmarshal number into Go struct "
                                                                  "field BootstrapToken.bootstrapTokens.ttl")
        self.assertFails(INIT.replace("ttl: 24h0m0s", "ttl: 1day"), 'time: invalid duration "1day"')


class VersionTests(unittest.TestCase):
    def test_skew_and_the_lab_window(self):
        self.assertEqual(kc.check_kubernetes_version("v1.36.4", "1.36.4")[0], "v1.36.4")
        self.assertEqual(kc.check_kubernetes_version("v1.35.9", "1.36.4")[0], "v1.35.9")
        self.assertEqual(kc.check_kubernetes_version(None, "1.37.1")[0], "v1.37.1")
        with self.assertRaises(Fatal) as cm:
            kc.check_kubernetes_version("v1.34.1", "1.36.4")
        self.assertIn("this version of kubeadm only supports deploying clusters with the control plane version >= "
                      "1.35.0. Current version: v1.34.1", cm.exception.msg)
        v, warnings = kc.check_kubernetes_version("v1.37.1", "1.36.4")
        self.assertTrue(warnings)
        with self.assertRaises(Fatal) as cm:
            kc.check_kubernetes_version("v1.34.3", "1.35.9")
        self.assertIn("v1.35.x-v1.37.x only", cm.exception.msg)
        with self.assertRaises(Fatal):
            kc.check_kubernetes_version("v1.38.0", "1.37.1")
        with self.assertRaises(Fatal):
            kc.check_kubernetes_version("stable", "1.36.4")


class JoinConfigTests(unittest.TestCase):
    def test_flag_form(self):
        opts, pos = kubeadm.parse_args(["10.99.1.254:6443", "--token", "abcdef.0123456789abcdef",
                                        "--discovery-token-ca-cert-hash", "sha256:" + "a" * 64, "--control-plane",
                                        "--certificate-key", "b" * 64, "--apiserver-advertise-address", "10.99.1.2"],
                                       kubeadm.JOIN_FLAGS, "join")
        jc = kubeadm.join_config(opts, pos)
        kubeadm.validate_join(jc)
        self.assertEqual(jc["controlPlane"]["localAPIEndpoint"]["advertiseAddress"], "10.99.1.2")

    def test_missing_hash_is_unsafe(self):
        opts, pos = kubeadm.parse_args(["10.99.1.254:6443", "--token", "abcdef.0123456789abcdef"],
                                       kubeadm.JOIN_FLAGS, "join")
        with self.assertRaises(Fatal) as cm:
            kubeadm.validate_join(kubeadm.join_config(opts, pos))
        self.assertIn("using token-based discovery without caCertHashes can be unsafe", cm.exception.msg)

    def test_config_and_flags_do_not_mix(self):
        opts, pos = kubeadm.parse_args(["--config", "/x.yaml", "--token", "abcdef.0123456789abcdef"],
                                       kubeadm.JOIN_FLAGS, "join")
        with self.assertRaises(Fatal) as cm:
            kubeadm.join_config(opts, pos)
        self.assertIn("can not mix '--config' with arguments [token]", cm.exception.msg)

    def test_unknown_flag(self):
        with self.assertRaises(Fatal) as cm:
            kubeadm.parse_args(["--bogus"], kubeadm.INIT_FLAGS, "init")
        self.assertIn("unknown flag: --bogus", cm.exception.msg)

    def test_jws_roundtrip(self):
        sig = kubeadm.jws_sign("content", "abcdef", "0123456789abcdef")
        self.assertTrue(kubeadm.jws_verify("content", "abcdef", "0123456789abcdef", sig))
        self.assertFalse(kubeadm.jws_verify("content", "abcdef", "0123456789abcdeX", sig))


if __name__ == "__main__":
    unittest.main()
