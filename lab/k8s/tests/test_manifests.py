"""The add-on manifests of the lab mirror (lab/k8s/manifests: stand-ins for upstream manifests) are
well-formed and carry what the simulated controllers key on. No lab needed."""
import os
import unittest

import yaml

import _path  # noqa: F401

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "manifests")
# The add-on releases Cairn offers (Sources/CairnPhases/Addons/*.swift), at the URLs it fetches
CALICO = ["v3.33.1", "v3.32.4"]
METALLB = ["v0.16.2", "v0.16.1"]
TRAEFIK = ["v3.7.16", "v3.8.0"]
GATEWAY = {"v3.7.16": "v1.5.1", "v3.8.0": "v1.6.1"}      # Gateway API per Traefik (Ingress.swift)
R = "raw.githubusercontent.com/"
TRAEFIK_DIR = "/docs/content/reference/dynamic-configuration/"
EXPECTED = (
    [R + "projectcalico/calico/%s/manifests/%s" % (v, f) for v in CALICO
     for f in ("operator-crds.yaml", "tigera-operator.yaml")]
    + [R + "metallb/metallb/%s/config/manifests/metallb-native.yaml" % v for v in METALLB]
    + [R + "traefik/traefik/%s%s%s" % (v, TRAEFIK_DIR, f) for v in TRAEFIK
       for f in ("kubernetes-crd-definition-v1.yml", "kubernetes-crd-rbac.yml")]
    + ["github.com/kubernetes-sigs/gateway-api/releases/download/%s/standard-install.yaml" % g
       for g in sorted(set(GATEWAY.values()))]
    + [R + "kubernetes/ingress-nginx/controller-v1.15.1/deploy/static/provider/cloud/deploy.yaml"]
    + [R + "rook/rook/v1.20.6/deploy/examples/" + f
       for f in ("crds.yaml", "common.yaml", "csi-operator.yaml", "operator.yaml", "toolbox.yaml")]
)
ROOK = R + "rook/rook/v1.20.6/deploy/examples/"


def load(rel):
    with open(os.path.join(ROOT, rel)) as f:
        text = f.read()
    return text, [d for d in yaml.safe_load_all(text) if d]


def find(docs, kind, name, ns=None):
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name and d["metadata"].get("namespace") == ns:
            return d
    raise AssertionError("no %s %s/%s" % (kind, ns, name))


# CRDs of the kinds Cairn renders itself: written with the fields of their projects' API references
SCHEMA_CRDS = {"installations.operator.tigera.io", "ipaddresspools.metallb.io", "l2advertisements.metallb.io",
               "cephclusters.ceph.rook.io", "cephblockpools.ceph.rook.io", "gatewayclasses.gateway.networking.k8s.io"}


class ManifestTests(unittest.TestCase):
    def test_exactly_the_expected_files_with_the_stand_in_header(self):
        found = sorted(os.path.relpath(os.path.join(dp, f), ROOT) for dp, _, fs in os.walk(ROOT) for f in fs)
        self.assertEqual(found, sorted(EXPECTED))
        for rel in EXPECTED:
            text, docs = load(rel)
            self.assertTrue(text.startswith("# Cairn lab STAND-IN for the upstream manifest\n#   https://%s\n" % rel), rel)
            self.assertTrue(docs, rel)
            for d in docs:
                self.assertIn("apiVersion", d, rel)
                self.assertIn("kind", d, rel)
                self.assertIn("name", d["metadata"], rel)

    def test_crds_are_shaped_like_real_ones(self):
        checked = 0
        for rel in EXPECTED:
            for d in load(rel)[1]:
                if d["kind"] != "CustomResourceDefinition":
                    continue
                checked += 1
                spec = d["spec"]
                self.assertEqual(d["apiVersion"], "apiextensions.k8s.io/v1")
                self.assertEqual(d["metadata"]["name"], "%s.%s" % (spec["names"]["plural"], spec["group"]))
                self.assertIn(spec["scope"], ("Namespaced", "Cluster"))
                self.assertEqual(spec["names"]["listKind"], spec["names"]["kind"] + "List")
                self.assertEqual(sum(1 for v in spec["versions"] if v["storage"]), 1, d["metadata"]["name"])
                for v in spec["versions"]:
                    self.assertTrue(v["served"])
                    schema = v["schema"]["openAPIV3Schema"]
                    if d["metadata"]["name"] in SCHEMA_CRDS:
                        # the kinds Cairn renders: a structural schema that refuses unknown fields in spec
                        self.assertNotIn("x-kubernetes-preserve-unknown-fields", schema, d["metadata"]["name"])
                        self.assertNotIn("x-kubernetes-preserve-unknown-fields", schema["properties"]["spec"])
                        self.assertTrue(schema["properties"]["spec"]["properties"])
                    else:
                        self.assertTrue(schema["x-kubernetes-preserve-unknown-fields"])
        # the Calico, MetalLB, Traefik, Gateway API, Rook and Ceph CSI CRDs: far more than none
        self.assertGreaterEqual(checked, 60)

    def crd_names(self, rel):
        return {d["metadata"]["name"] for d in load(rel)[1] if d["kind"] == "CustomResourceDefinition"}

    def test_calico(self):
        for v, operator in (("v3.33.1", "v1.43.1"), ("v3.32.4", "v1.42.10")):
            crds = self.crd_names(R + "projectcalico/calico/%s/manifests/operator-crds.yaml" % v)
            self.assertTrue({"installations.operator.tigera.io", "apiservers.operator.tigera.io",
                             "tigerastatuses.operator.tigera.io", "ippools.crd.projectcalico.org"} <= crds)
            docs = load(R + "projectcalico/calico/%s/manifests/tigera-operator.yaml" % v)[1]
            find(docs, "Namespace", "tigera-operator")
            dep = find(docs, "Deployment", "tigera-operator", "tigera-operator")
            pod = dep["spec"]["template"]["spec"]
            self.assertEqual(pod["containers"][0]["image"], "quay.io/tigera/operator:" + operator)
            self.assertTrue(pod["hostNetwork"])
            self.assertEqual(sorted(t["effect"] for t in pod["tolerations"] if t.get("operator") == "Exists"
                                    and "key" not in t), ["NoExecute", "NoSchedule"])
            # the lab's operator deploys the Calico release its tag stands for
            import addons
            self.assertEqual(addons.calico_version(dep), v)

    def test_metallb(self):
        for v in METALLB:
            rel = R + "metallb/metallb/%s/config/manifests/metallb-native.yaml" % v
            docs = load(rel)[1]
            ns = find(docs, "Namespace", "metallb-system")
            self.assertEqual(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "privileged")
            self.assertTrue({"%s.metallb.io" % p for p in ("ipaddresspools", "l2advertisements", "bgpadvertisements",
                                                            "bgppeers", "bfdprofiles", "communities",
                                                            "servicel2statuses")} <= self.crd_names(rel))
            ctrl = find(docs, "Deployment", "controller", "metallb-system")
            self.assertEqual(ctrl["metadata"]["labels"], {"app": "metallb", "component": "controller"})
            self.assertEqual(ctrl["spec"]["template"]["spec"]["containers"][0]["image"],
                             "quay.io/metallb/controller:" + v)
            speaker = find(docs, "DaemonSet", "speaker", "metallb-system")
            self.assertEqual(speaker["spec"]["template"]["spec"]["containers"][0]["image"],
                             "quay.io/metallb/speaker:" + v)
            svc = find(docs, "Service", "metallb-webhook-service", "metallb-system")
            tl = ctrl["spec"]["template"]["metadata"]["labels"]
            self.assertTrue(svc["spec"]["selector"])
            self.assertTrue(all(tl.get(k) == val for k, val in svc["spec"]["selector"].items()))
            wh = find(docs, "ValidatingWebhookConfiguration", "metallb-webhook-configuration")
            pools = [w for w in wh["webhooks"] if "ipaddresspools" in w["rules"][0]["resources"]]
            self.assertEqual(len(pools), 1)
            self.assertEqual(pools[0]["failurePolicy"], "Fail")
            self.assertEqual(pools[0]["clientConfig"]["service"]["name"], "metallb-webhook-service")
            # the webhook configuration comes last, after the controller it needs
            self.assertEqual(docs[-1]["kind"], "ValidatingWebhookConfiguration")

    def test_traefik_and_gateway_api(self):
        for v in TRAEFIK:
            base = R + "traefik/traefik/" + v + TRAEFIK_DIR
            self.assertTrue({"%s.traefik.io" % p for p in ("ingressroutes", "middlewares", "tlsoptions",
                                                            "serverstransports", "traefikservices")}
                            <= self.crd_names(base + "kubernetes-crd-definition-v1.yml"))
            docs = load(base + "kubernetes-crd-rbac.yml")[1]
            find(docs, "ClusterRole", "traefik-ingress-controller")
            find(docs, "ClusterRoleBinding", "traefik-ingress-controller")
        common = {"gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants", "backendtlspolicies",
                  "tlsroutes"}
        for g, extra in (("v1.5.1", set()), ("v1.6.1", {"tcproutes"})):
            rel = "github.com/kubernetes-sigs/gateway-api/releases/download/%s/standard-install.yaml" % g
            self.assertEqual({"%s.gateway.networking.k8s.io" % p for p in common | extra}, self.crd_names(rel))
            for d in load(rel)[1]:
                self.assertEqual(d["metadata"]["annotations"]["gateway.networking.k8s.io/bundle-version"], g)
            ref = [d for d in load(rel)[1] if d["metadata"]["name"].startswith("referencegrants.")][0]
            self.assertEqual([v["name"] for v in ref["spec"]["versions"] if v["storage"]], ["v1"])

    def test_ingress_nginx(self):
        docs = load(R + "kubernetes/ingress-nginx/controller-v1.15.1/deploy/static/provider/cloud/deploy.yaml")[1]
        svc = find(docs, "Service", "ingress-nginx-controller", "ingress-nginx")
        self.assertEqual(svc["spec"]["type"], "LoadBalancer")
        self.assertEqual(svc["metadata"]["labels"]["app.kubernetes.io/version"], "1.15.1")
        find(docs, "Service", "ingress-nginx-controller-admission", "ingress-nginx")
        dep = find(docs, "Deployment", "ingress-nginx-controller", "ingress-nginx")
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["image"],
                         "registry.k8s.io/ingress-nginx/controller:v1.15.1")
        find(docs, "IngressClass", "nginx")
        for j in ("create", "patch"):
            job = find(docs, "Job", "ingress-nginx-admission-" + j, "ingress-nginx")
            self.assertIn("kube-webhook-certgen", job["spec"]["template"]["spec"]["containers"][0]["image"])
            self.assertEqual(job["spec"]["template"]["spec"]["restartPolicy"], "OnFailure")
        wh = find(docs, "ValidatingWebhookConfiguration", "ingress-nginx-admission")
        self.assertEqual(wh["webhooks"][0]["failurePolicy"], "Fail")

    def test_rook(self):
        self.assertTrue({"%s.ceph.rook.io" % p for p in ("cephclusters", "cephblockpools", "cephfilesystems",
                                                          "cephobjectstores")} <= self.crd_names(ROOK + "crds.yaml"))
        find(load(ROOK + "common.yaml")[1], "Namespace", "rook-ceph")
        find(load(ROOK + "csi-operator.yaml")[1], "Deployment", "ceph-csi-controller-manager", "rook-ceph")
        docs = load(ROOK + "operator.yaml")[1]
        find(docs, "ConfigMap", "rook-ceph-operator-config", "rook-ceph")
        op = find(docs, "Deployment", "rook-ceph-operator", "rook-ceph")
        self.assertEqual(op["spec"]["template"]["metadata"]["labels"], {"app": "rook-ceph-operator"})
        self.assertEqual(op["spec"]["template"]["spec"]["containers"][0]["image"], "docker.io/rook/ceph:v1.20.6")
        tools = find(load(ROOK + "toolbox.yaml")[1], "Deployment", "rook-ceph-tools", "rook-ceph")
        self.assertEqual(tools["spec"]["template"]["spec"]["containers"][0]["image"], "quay.io/ceph/ceph:v20.2.4")
        import addons
        self.assertEqual(addons.ceph_version("quay.io/ceph/ceph:v20.2.4"), "20.2.4-0")


if __name__ == "__main__":
    unittest.main()
