"""Lab test of the add-on manifests in the lab's artifact mirror (lab/k8s/manifests, stand-ins for the
upstream manifests that Cairn's add-on phases fetch by URL).

A 3-host lab (1 control plane, 2 workers) with a real TLS etcd and the stand-ins, set up with
labenv.LabEnv. Every manifest is taken from the mirror, checked against the mirror's SHA256SUMS,
pushed to the first control-plane host and applied there the way Cairn does:
`kubectl apply --server-side --field-manager=cairn --force-conflicts -f FILE`. Then: Calico makes
the nodes Ready and tigerastatus calico Available; MetalLB's webhook refuses a pool until its
controller is available, then a LoadBalancer Service gets an address; Traefik's and Gateway API's
CRDs establish; ingress-nginx's admission Jobs complete and its controller gets an LB address;
Rook (3 mons on distinct nodes, OSDs on loop devices) reaches HEALTH_OK and the toolbox answers.

Every test sets up what it needs itself (the ensure_* helpers: idempotent, so in the usual order they
find it done), so any test runs alone or in any order, e.g.
    python3 -m unittest -v test_lab_addons.LabAddonManifests.test_05_ingress_nginx_jobs_complete_and_controller_gets_lb_ip
A test whose subject is installing an add-on (Calico, MetalLB, Rook) starts the cluster over when
an earlier test installed it already.

Skipped (with the reason) when not root or when scripts/lab is missing; under CAIRN_REQUIRE_LAB=1
they fail instead. Every test runs under a time limit and every wait has a deadline. The lab is
named k8sadd (k8sadd-PID when another run holds that name); CAIRN_LAB_KEEP=1 keeps it. About 3-4
minutes.
"""
import hashlib
import json
import os
import subprocess
import unittest

import labenv
from labenv import LabEnv

LAB_K8S = os.path.join(labenv.REPO, "scripts", "lab-k8s")
POD_SUBNET = "10.244.0.0/16"      # labenv.init_config's networking.podSubnet
ADMIN = "/etc/kubernetes/admin.conf"

CALICO = "raw.githubusercontent.com/projectcalico/calico/v3.33.1/manifests/"
METALLB = "raw.githubusercontent.com/metallb/metallb/v0.16.2/config/manifests/metallb-native.yaml"
TRAEFIK = "raw.githubusercontent.com/traefik/traefik/v3.7.16/docs/content/reference/dynamic-configuration/"
GATEWAY = "github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/standard-install.yaml"
NGINX = "raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.15.1/deploy/static/provider/cloud/deploy.yaml"
ROOK = "raw.githubusercontent.com/rook/rook/v1.20.6/deploy/examples/"
MANIFESTS = [CALICO + "operator-crds.yaml", CALICO + "tigera-operator.yaml", METALLB,
             TRAEFIK + "kubernetes-crd-definition-v1.yml", TRAEFIK + "kubernetes-crd-rbac.yml", GATEWAY, NGINX] + \
    [ROOK + f for f in ("crds.yaml", "common.yaml", "csi-operator.yaml", "operator.yaml", "toolbox.yaml")]

# what Cairn renders itself (not part of the mirror)
INSTALLATION = """apiVersion: operator.tigera.io/v1
kind: Installation
metadata:
  name: default
spec:
  calicoNetwork:
    ipPools:
    - cidr: %s
      encapsulation: VXLAN
      blockSize: 26
      natOutgoing: Enabled
""" % POD_SUBNET

POOL = """apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: cairn-pool
  namespace: metallb-system
spec:
  addresses:
  - 10.99.251.10-10.99.251.20
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: cairn-l2
  namespace: metallb-system
spec:
  ipAddressPools: [cairn-pool]
"""

LB_SERVICE = """apiVersion: v1
kind: Namespace
metadata:
  name: lbtest
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo
  namespace: lbtest
spec:
  replicas: 1
  selector:
    matchLabels: {app: echo}
  template:
    metadata:
      labels: {app: echo}
    spec:
      containers:
      - name: echo
        image: registry.k8s.io/e2e-test-images/agnhost:2.53
---
apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: lbtest
spec:
  type: LoadBalancer
  selector: {app: echo}
  ports:
  - port: 80
    targetPort: 8080
"""

CEPH_CLUSTER = """apiVersion: ceph.rook.io/v1
kind: CephCluster
metadata:
  name: rook-ceph
  namespace: rook-ceph
spec:
  cephVersion:
    image: quay.io/ceph/ceph:v20.2.4
  dataDirHostPath: /var/lib/rook
  mon:
    count: 3
    allowMultiplePerNode: false
  mgr:
    count: 2
  placement:
    all:
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
  storage:
    useAllNodes: false
    useAllDevices: false
    nodes:
%s---
apiVersion: ceph.rook.io/v1
kind: CephBlockPool
metadata:
  name: replicapool
  namespace: rook-ceph
spec:
  failureDomain: host
  replicated:
    size: 3
    requireSafeReplicaSize: true
"""


STORAGE_CLASS_AND_CLAIMS = """apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: missing-pool
provisioner: rook-ceph.rbd.csi.ceph.com
parameters: {clusterID: rook-ceph, pool: nopool}
reclaimPolicy: Delete
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: rook-ceph-block
provisioner: rook-ceph.rbd.csi.ceph.com
parameters: {clusterID: rook-ceph, pool: replicapool}
reclaimPolicy: Delete
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: probe, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: rook-ceph-block
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: stuck, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: missing-pool
  resources: {requests: {storage: 1Gi}}
"""


@labenv.lab_suite
class LabAddonManifests(labenv.LabTestCase):
    TIME_LIMIT = 900        # per test; one that must first rebuild the cluster (run alone) takes a while
    env = None

    @classmethod
    def setUpClass(cls):
        with labenv.time_limit(1200, "LabAddonManifests.setUpClass"):
            cls.env = e = LabEnv(name=labenv.claim_lab_name("k8sadd"), hosts=3)
            cls.addClassCleanup(cls.cleanup)       # runs even when setUpClass fails half-way
            e.build_mirror()
            e.up()
            e.setup_etcd()
            e.install_k8s()
            cls.n1, cls.n2, cls.n3 = [h for h, _ in e.hosts]
            cls.build_cluster()

    @classmethod
    def build_cluster(cls):
        """kubeadm init on node1, node2 and node3 join as workers."""
        e = cls.env
        e.log("kubeadm init on %s, workers join" % cls.n1)
        r = e.kubeadm_init(0, check=False, timeout=420)
        if r.rc != 0:
            raise AssertionError("kubeadm init failed: %r" % r)
        ca_hash = e.ca_hash()
        e.parallel(lambda i: cls.join_worker(i, ca_hash), [1, 2])
        e.sh(cls.n1, "mkdir -p /var/lib/cairn/addons")

    @classmethod
    def join_worker(cls, i, ca_hash):
        e = cls.env
        name, ip = e.hosts[i]
        cfg = """apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: %s:6443
    token: abcdef.0123456789abcdef
    caCertHashes: [sha256:%s]
nodeRegistration:
  name: %s
  criSocket: unix:///var/run/containerd/containerd.sock
  kubeletExtraArgs:
  - {name: node-ip, value: %s}
""" % (e.hosts[0][1], ca_hash, name, ip)
        e.put(name, "/etc/kubernetes/kubeadm-join.yaml", cfg)
        r = e.sh(name, "kubeadm join --config /etc/kubernetes/kubeadm-join.yaml", check=False, timeout=420)
        if r.rc != 0:
            raise AssertionError("kubeadm join on %s failed: %r" % (name, r))

    @classmethod
    def cleanup(cls):
        if cls.env is None or os.environ.get("CAIRN_LAB_KEEP") == "1":
            return
        # loop devices are machine-wide: detach ours before the lab goes
        subprocess.run([LAB_K8S, "devices", cls.env.name, "all", "remove"], capture_output=True, timeout=120)
        cls.env.down()

    # --- helpers: Cairn's way of applying an upstream manifest ---
    def mirror_file(self, rel):
        """The file's path in the mirror, after checking it against the mirror's SHA256SUMS."""
        path = os.path.join(self.env.mirror, rel)
        with open(os.path.join(self.env.mirror, "SHA256SUMS")) as f:
            sums = dict(reversed(l.split("  ", 1)) for l in f.read().splitlines())
        self.assertIn(rel, sums)
        with open(path, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), sums[rel], rel)
        return path

    def kubectl(self, args, input=None, timeout=180):
        """kubectl on the first control-plane host with admin.conf, as Cairn runs it."""
        return self.env.sh(self.n1, "kubectl --kubeconfig %s %s" % (ADMIN, args), input=input, timeout=timeout,
                           check=False)

    def apply_file(self, remote):
        return self.kubectl("apply --server-side --field-manager=cairn --force-conflicts -f " + remote)

    def apply_manifest(self, rel):
        src = self.mirror_file(rel)
        remote = "/var/lib/cairn/addons/" + rel.replace("/", "_")
        self.env.push(self.n1, src, remote, "0644")
        return self.apply_file(remote)

    def apply_text(self, name, text):
        remote = "/var/lib/cairn/addons/" + name
        self.env.put(self.n1, remote, text)
        return self.apply_file(remote)

    def set_pull_seconds(self, seconds):
        """How long the kubelets take for a first image pull (docs/lab-k8s.md); None: the default (2s)."""
        cmd = ("echo %s > /etc/cairn-lab/image-pull-seconds" % seconds if seconds is not None else
               "rm -f /etc/cairn-lab/image-pull-seconds")
        self.env.parallel(lambda h: self.env.sh(h, "mkdir -p /etc/cairn-lab && " + cmd), [h for h, _ in self.env.hosts])

    def kjson(self, args):
        r = self.kubectl(args + " -o json")
        if r.rc != 0:
            return None
        try:
            return json.loads(r.out)
        except ValueError:
            return None

    def wait(self, fn, timeout, what, interval=2.0, done=bool):
        return labenv.wait_until(fn, timeout, what, interval=interval, done=done)

    def applied(self, r, *names):
        self.assertTrue(names, "applied() needs the objects to look for")
        self.assertEqual(r.rc, 0, r)
        for n in names:
            self.assertIn(n + " serverside-applied", r.out)

    def ready_conditions(self):
        """{node: its Ready condition (or None)}."""
        nodes = (self.kjson("get nodes") or {}).get("items") or []
        return {n["metadata"]["name"]: next((c for c in (n.get("status") or {}).get("conditions") or []
                                             if c["type"] == "Ready"), None) for n in nodes}

    # --- the state each test needs, set up idempotently (a test never relies on an earlier one) ---
    def ensure_cluster(self):
        """node1 the control plane, node2 and node3 workers, the three Nodes registered, the API answering."""
        e = self.env
        names = sorted([self.n1, self.n2, self.n3])
        if not (e.is_member(self.n1, control_plane=True) and e.is_member(self.n2) and e.is_member(self.n3)):
            if not e.is_pristine():
                e.reset_kubernetes()
            self.build_cluster()
        self.wait(lambda: self.kubectl("get --raw /readyz"), 120, "the API server's /readyz ok",
                  done=lambda r: r.rc == 0 and r.out.strip() == "ok")
        self.wait(lambda: sorted(self.ready_conditions()), 60, "Nodes %s registered" % names,
                  done=lambda n: n == names)

    def start_over(self, why):
        self.env.log("%s: starting over" % why)
        self.env.reset_kubernetes()
        self.build_cluster()

    def calico_present(self):
        e = self.env
        cni = any(f.startswith("/etc/cni/net.d/") for h, _ in e.hosts for f in e.kubeadm_leftovers(h))
        return cni or self.kjson("get installation default") is not None

    def ensure_calico(self):
        """Calico installed, every node Ready, tigerastatus calico Available."""
        self.ensure_cluster()
        self.applied(self.apply_manifest(CALICO + "operator-crds.yaml"),
                     "customresourcedefinition.apiextensions.k8s.io/installations.operator.tigera.io")
        self.crds_established(["installations.operator.tigera.io", "tigerastatuses.operator.tigera.io"])
        self.applied(self.apply_manifest(CALICO + "tigera-operator.yaml"), "deployment.apps/tigera-operator")
        self.applied(self.apply_text("installation.yaml", INSTALLATION), "installation.operator.tigera.io/default")
        names = [self.n1, self.n2, self.n3]
        self.wait(self.ready_conditions, 300, "all nodes Ready", interval=3,
                  done=lambda cs: sorted(cs) == sorted(names) and all(c and c["status"] == "True" for c in cs.values()))
        self.wait(lambda: self.kjson("get tigerastatus calico"), 180, "tigerastatus calico Available",
                  done=lambda ts: self.tigera_conditions(ts).get("Available") == "True")

    @staticmethod
    def tigera_conditions(ts):
        return {c["type"]: c["status"] for c in ((ts or {}).get("status") or {}).get("conditions") or []}

    def ensure_metallb(self):
        """MetalLB installed with the pool; its controller and speakers rolled out."""
        self.ensure_calico()
        self.applied(self.apply_manifest(METALLB), "deployment.apps/controller")
        r = self.kubectl("-n metallb-system rollout status deploy/controller --timeout=180s", timeout=240)
        self.assertEqual(r.rc, 0, r)
        self.wait(lambda: self.apply_text("metallb-pool.yaml", POOL), 60, "pool accepted", done=lambda r: r.rc == 0)
        r = self.kubectl("-n metallb-system rollout status ds/speaker --timeout=120s")
        self.assertEqual(r.rc, 0, r)

    def ensure_no_devices(self):
        """No storage device on any host, and the kubelets report none."""
        e = self.env
        for h, _ in e.hosts:
            if e.devices(h):
                e.remove_devices(h)
            self.assertEqual(e.devices(h), [], h)

        def reported():
            out = {}
            for n in (self.kjson("get nodes") or {}).get("items") or []:
                ann = n["metadata"].get("annotations") or {}
                out[n["metadata"]["name"]] = json.loads(ann.get("lab.cairn.dev/devices") or "[]")
            return out
        self.wait(reported, 60, "the kubelets to report no devices",
                  done=lambda st: len(st) == 3 and not any(st.values()))

    def crds_established(self, names):
        r = self.kubectl("wait --for=condition=Established --timeout=60s " + " ".join("crd/" + n for n in names))
        self.assertEqual(r.rc, 0, r)

    # --- the mirror ---
    def test_01_mirror_serves_the_stand_in_manifests(self):
        self.assertEqual(len(MANIFESTS), 12)
        for rel in MANIFESTS:
            with open(self.mirror_file(rel)) as f:
                head = f.read(400)
            self.assertTrue(head.startswith("# Cairn lab STAND-IN for the upstream manifest\n"), rel)
            self.assertIn("https://" + rel, head)

    # --- Calico (operator route) ---
    def test_02_calico_makes_nodes_ready(self):
        if self.calico_present():
            self.start_over("Calico already installed")
        self.ensure_cluster()
        names = sorted([self.n1, self.n2, self.n3])
        # a kubelet reports its Ready condition on its first status update after registering
        conds = self.wait(self.ready_conditions, 60, "every node's Ready condition reported (False: no CNI)",
                          done=lambda cs: sorted(cs) == names and all(c is not None for c in cs.values()))
        self.assertEqual(sorted(conds), names)
        for n, ready in conds.items():
            self.assertEqual(ready["status"], "False", n)
        self.applied(self.apply_manifest(CALICO + "operator-crds.yaml"),
                     "customresourcedefinition.apiextensions.k8s.io/installations.operator.tigera.io",
                     "customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org")
        self.crds_established(["installations.operator.tigera.io", "apiservers.operator.tigera.io",
                               "tigerastatuses.operator.tigera.io", "ippools.crd.projectcalico.org"])
        self.applied(self.apply_manifest(CALICO + "tigera-operator.yaml"), "namespace/tigera-operator",
                     "deployment.apps/tigera-operator")
        self.applied(self.apply_text("installation.yaml", INSTALLATION), "installation.operator.tigera.io/default")
        self.wait(self.ready_conditions, 300, "all nodes Ready", interval=3,
                  done=lambda cs: sorted(cs) == names and all(c and c["status"] == "True" for c in cs.values()))

        def calico():
            pool = (self.kjson("get ippools.crd.projectcalico.org default-ipv4-ippool") or {}).get("spec") or {}
            return {"tigerastatus": self.tigera_conditions(self.kjson("get tigerastatus calico")),
                    "calicoVersion": ((self.kjson("get installation default") or {}).get("status") or {})
                    .get("calicoVersion"),
                    "pool": (pool.get("cidr"), pool.get("vxlanMode"), pool.get("blockSize"), pool.get("natOutgoing"))}
        want = {"tigerastatus": {"Available": "True", "Progressing": "False", "Degraded": "False"},
                "calicoVersion": "v3.33.1", "pool": (POD_SUBNET, "Always", 26, True)}
        st = self.wait(calico, 180, "tigerastatus calico Available (not Progressing, not Degraded), Installation "
                       "status calicoVersion v3.33.1, IPPool default-ipv4-ippool", done=lambda st: st == want)
        self.assertEqual(st["tigerastatus"]["Available"], "True")
        self.assertEqual((st["tigerastatus"]["Progressing"], st["tigerastatus"]["Degraded"]), ("False", "False"))
        self.assertEqual(st["calicoVersion"], "v3.33.1")
        self.assertEqual(st["pool"], (POD_SUBNET, "Always", 26, True))
        r = self.kubectl("-n calico-system rollout status ds/calico-node --timeout=120s")
        self.assertEqual(r.rc, 0, r)
        # Calico's NetworkPolicy CRD does not shadow the built-in networkpolicies (kubectl's priority)
        self.applied(self.apply_text("netpol.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                                                    "metadata: {name: deny, namespace: default}\n"
                                                    "spec: {podSelector: {}, policyTypes: [Ingress]}\n"),
                     "networkpolicy.networking.k8s.io/deny")
        r = self.kubectl("get networkpolicy deny -o jsonpath='{.apiVersion}'")
        self.assertEqual(r.out.strip(), "networking.k8s.io/v1", r)

    # --- MetalLB ---
    def test_03_metallb_webhook_race_then_lb_ip(self):
        # the race needs MetalLB's images new to the nodes and no MetalLB yet
        if self.kjson("get namespace metallb-system") is not None:
            self.start_over("MetalLB already installed")
        self.ensure_calico()
        # a slow first pull of MetalLB's images keeps the race visible on a fast or a loaded machine alike
        self.set_pull_seconds(8)
        self.addCleanup(self.set_pull_seconds, None)
        self.applied(self.apply_manifest(METALLB), "namespace/metallb-system", "deployment.apps/controller",
                     "daemonset.apps/speaker", "service/metallb-webhook-service",
                     "validatingwebhookconfiguration.admissionregistration.k8s.io/metallb-webhook-configuration")
        # right after the manifest, the pool hits the webhook before the controller is ready
        r = self.apply_text("metallb-pool.yaml", POOL)
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn('Internal error occurred: failed calling webhook "ipaddresspoolvalidationwebhook.metallb.io": '
                      'failed to call webhook: Post "https://metallb-webhook-service.metallb-system.svc:443/'
                      'validate-metallb-io-v1beta1-ipaddresspool?timeout=10s"', r.out + r.err)
        self.assertIsNone(self.kjson("-n metallb-system get ipaddresspool cairn-pool"))
        r = self.kubectl("-n metallb-system rollout status deploy/controller --timeout=180s", timeout=240)
        self.assertEqual(r.rc, 0, r)
        self.set_pull_seconds(None)
        # Cairn's retry: accepted once a Ready controller pod backs the webhook
        self.wait(lambda: self.apply_text("metallb-pool.yaml", POOL), 60, "pool accepted", done=lambda r: r.rc == 0)
        r = self.kubectl("-n metallb-system rollout status ds/speaker --timeout=120s")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.apply_text("lb-service.yaml", LB_SERVICE).rc, 0)
        ip = self.wait(lambda: self.kubectl("-n lbtest get svc echo -o jsonpath='{.status.loadBalancer.ingress[0].ip}'")
                       .out.strip(), 60, "LB IP")
        self.assertEqual(ip, "10.99.251.10")

    # --- Traefik CRDs/RBAC and Gateway API ---
    def test_04_traefik_and_gateway_api_crds_establish(self):
        self.ensure_cluster()
        self.applied(self.apply_manifest(TRAEFIK + "kubernetes-crd-definition-v1.yml"),
                     "customresourcedefinition.apiextensions.k8s.io/ingressroutes.traefik.io")
        self.applied(self.apply_manifest(TRAEFIK + "kubernetes-crd-rbac.yml"),
                     "clusterrole.rbac.authorization.k8s.io/traefik-ingress-controller",
                     "clusterrolebinding.rbac.authorization.k8s.io/traefik-ingress-controller")
        self.applied(self.apply_manifest(GATEWAY),
                     "customresourcedefinition.apiextensions.k8s.io/gateways.gateway.networking.k8s.io")
        self.crds_established(["%s.traefik.io" % p for p in (
            "ingressroutes", "ingressroutetcps", "ingressrouteudps", "middlewares", "middlewaretcps",
            "serverstransports", "serverstransporttcps", "tlsoptions", "tlsstores", "traefikservices")] +
            ["%s.gateway.networking.k8s.io" % p for p in (
                "gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants")])
        objs = """apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata: {name: strip, namespace: default}
spec:
  stripPrefix: {prefixes: [/api]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: traefik}
spec:
  controllerName: traefik.io/gateway-controller
"""
        self.applied(self.apply_text("traefik-objs.yaml", objs), "middleware.traefik.io/strip",
                     "gatewayclass.gateway.networking.k8s.io/traefik")
        self.assertEqual(self.kjson("get gatewayclass traefik")["spec"]["controllerName"],
                         "traefik.io/gateway-controller")

    # --- ingress-nginx ---
    def test_05_ingress_nginx_jobs_complete_and_controller_gets_lb_ip(self):
        # the controller's LoadBalancer Service needs MetalLB; the Ingress goes to namespace lbtest (Service echo)
        self.ensure_metallb()
        self.assertEqual(self.apply_text("lb-service.yaml", LB_SERVICE).rc, 0)
        self.applied(self.apply_manifest(NGINX), "namespace/ingress-nginx", "deployment.apps/ingress-nginx-controller",
                     "job.batch/ingress-nginx-admission-create", "job.batch/ingress-nginx-admission-patch",
                     "ingressclass.networking.k8s.io/nginx",
                     "validatingwebhookconfiguration.admissionregistration.k8s.io/ingress-nginx-admission")
        r = self.kubectl("-n ingress-nginx wait --for=condition=complete --timeout=180s "
                         "job/ingress-nginx-admission-create job/ingress-nginx-admission-patch", timeout=240)
        self.assertEqual(r.rc, 0, r)
        sec = self.kjson("-n ingress-nginx get secret ingress-nginx-admission")
        self.assertEqual(sorted(sec["data"]), ["ca", "cert", "key"])
        wh = self.kjson("get validatingwebhookconfiguration ingress-nginx-admission")
        self.assertEqual(wh["webhooks"][0]["clientConfig"]["caBundle"], sec["data"]["ca"])
        r = self.kubectl("-n ingress-nginx rollout status deploy/ingress-nginx-controller --timeout=180s", timeout=240)
        self.assertEqual(r.rc, 0, r)
        ip = self.wait(lambda: self.kubectl("-n ingress-nginx get svc ingress-nginx-controller -o "
                                            "jsonpath='{.status.loadBalancer.ingress[0].ip}'").out.strip(), 60,
                       "ingress-nginx LB IP")
        self.assertTrue(ip.startswith("10.99.251."), ip)
        ing = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: echo, namespace: lbtest}
spec:
  ingressClassName: nginx
  rules:
  - host: echo.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: echo, port: {number: 80}}}}
"""
        self.wait(lambda: self.apply_text("ingress.yaml", ing), 60, "Ingress accepted by the webhook",
                  done=lambda r: r.rc == 0)

    # --- Rook/Ceph ---
    def test_06_rook_health_ok_with_loop_devices(self):
        e = self.env
        # a CephCluster on exactly these 3 new devices: no Rook yet, no devices yet
        if ((self.kjson("get cephclusters.ceph.rook.io -A") or {}).get("items") or []):
            self.start_over("Rook already installed")
        self.ensure_calico()
        self.ensure_no_devices()
        nodes = ""
        for h, _ in e.hosts:
            out = subprocess.run([LAB_K8S, "devices", e.name, h, "add", "1", "--size", "256M"], capture_output=True,
                                 text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            dev = out.stdout.split()[0]
            self.assertTrue(dev.startswith("/dev/loop"), out.stdout)
            nodes += "    - name: %s\n      devices:\n      - name: %s\n" % (h, dev)
        self.applied(self.apply_manifest(ROOK + "crds.yaml"),
                     "customresourcedefinition.apiextensions.k8s.io/cephclusters.ceph.rook.io")
        self.applied(self.apply_manifest(ROOK + "common.yaml"), "namespace/rook-ceph",
                     "serviceaccount/rook-ceph-system")
        self.applied(self.apply_manifest(ROOK + "csi-operator.yaml"), "deployment.apps/ceph-csi-controller-manager")
        self.applied(self.apply_manifest(ROOK + "operator.yaml"), "configmap/rook-ceph-operator-config",
                     "deployment.apps/rook-ceph-operator")
        self.applied(self.apply_manifest(ROOK + "toolbox.yaml"), "deployment.apps/rook-ceph-tools")
        r = self.kubectl("-n rook-ceph rollout status deploy/rook-ceph-operator --timeout=180s", timeout=240)
        self.assertEqual(r.rc, 0, r)
        self.applied(self.apply_text("cephcluster.yaml", CEPH_CLUSTER % nodes), "cephcluster.ceph.rook.io/rook-ceph",
                     "cephblockpool.ceph.rook.io/replicapool")

        def status():
            r = self.kubectl("-n rook-ceph exec deploy/rook-ceph-tools -- ceph status -f json")
            try:
                return json.loads(r.out) if r.rc == 0 else None
            except ValueError:
                return None
        s = self.wait(status, 300, "ceph HEALTH_OK, mons a b c in quorum, 3 OSDs up and in", interval=3,
                      done=lambda s: bool(s) and s["health"]["status"] == "HEALTH_OK" and
                      s["quorum_names"] == ["a", "b", "c"] and
                      (s["osdmap"]["num_osds"], s["osdmap"]["num_up_osds"], s["osdmap"]["num_in_osds"]) == (3, 3, 3))
        self.assertEqual(s["health"]["status"], "HEALTH_OK")
        self.assertEqual(s["quorum_names"], ["a", "b", "c"])
        self.assertEqual((s["osdmap"]["num_osds"], s["osdmap"]["num_up_osds"], s["osdmap"]["num_in_osds"]), (3, 3, 3))
        mons = self.kjson("-n rook-ceph get deploy -l app=rook-ceph-mon")["items"]
        hosts = sorted(d["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/hostname"] for d in mons)
        self.assertEqual(hosts, sorted([self.n1, self.n2, self.n3]))      # allowMultiplePerNode: false
        self.wait(lambda: ((self.kjson("-n rook-ceph get cephcluster rook-ceph") or {}).get("status") or {})
                  .get("ceph", {}).get("health"), 60, "CephCluster status HEALTH_OK", done=lambda h: h == "HEALTH_OK")
        self.wait(lambda: ((self.kjson("-n rook-ceph get cephblockpool replicapool") or {}).get("status") or {})
                  .get("phase"), 60, "CephBlockPool Ready", done=lambda p: p == "Ready")

        # The CSI provisioner: a claim on the pool binds; one on a missing pool stays Pending and says why.
        self.applied(self.apply_text("pvc.yaml", STORAGE_CLASS_AND_CLAIMS), "persistentvolumeclaim/probe")
        self.wait(lambda: ((self.kjson("get pvc probe") or {}).get("status") or {}).get("phase"), 60,
                  "the claim on replicapool bound", done=lambda p: p == "Bound")
        volume = self.kjson("get pvc probe")["spec"]["volumeName"]
        self.assertTrue(volume)
        self.assertEqual(self.kjson("get pv " + volume)["spec"]["claimRef"]["name"], "probe")
        self.wait(lambda: [ev.get("message") or "" for ev in (self.kjson(
                  "get events --field-selector involvedObject.name=stuck") or {}).get("items", [])], 60,
                  "a ProvisioningFailed event for the claim on a missing pool",
                  done=lambda msgs: any("pool nopool not found" in m for m in msgs))
        stuck = self.kjson("get pvc stuck")
        self.assertIsNotNone(stuck)
        self.assertFalse(stuck["spec"].get("volumeName"), stuck)
        self.assertEqual((stuck.get("status") or {}).get("phase", "Pending"), "Pending")
        self.assertEqual(self.kubectl("delete pvc probe").rc, 0)
        self.wait(lambda: self.kubectl("get pv " + volume), 60, "the released volume deleted (NotFound)",
                  done=lambda r: r.rc != 0 and "NotFound" in r.err)


if __name__ == "__main__":
    unittest.main()
