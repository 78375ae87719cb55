"""The API server stand-in driven by the real kubectl (no lab: a local etcd, see localapi.py).

Each test checks one behaviour real clients depend on: discovery, server-side apply and its
conflicts, strict field validation, schemas of built-in kinds and of CRDs, CRDs Established after a
delay, watches (kubectl wait, rollout status, get -w), server-side tables, exec over websockets,
finalizers, file I/O on a simulated Ceph volume through `kubectl exec -i`."""
import hashlib
import json
import os
import subprocess
import threading
import time
import unittest

import _path  # noqa: F401
import cephsim
import labenv
import localapi
import volumedata
from test_cephsim import CL, MONS, POOL, FakeKCM, deps, node

OK, WHY = localapi.available()
K8S = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFESTS = os.path.join(K8S, "manifests")
PLAYBOOKS = os.path.join(os.path.dirname(os.path.dirname(K8S)), "playbooks", "addons")

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: %(name)s
spec:
  replicas: 2
  selector:
    matchLabels: {app: %(name)s}
  template:
    metadata:
      labels: {app: %(name)s}
    spec:
      containers:
      - name: web
        image: nginx:1.27
%(extra)s"""

CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %(plural)s.lab.cairn.dev
spec:
  group: lab.cairn.dev
  names: {kind: %(kind)s, listKind: %(kind)sList, plural: %(plural)s, singular: %(singular)s}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              mode: {type: string, enum: [fast, safe], default: safe}
"""


@labenv.skip_unless(OK, WHY)
class RealKubectlAgainstTheAPIServer(unittest.TestCase):
    api = None

    @classmethod
    def setUpClass(cls):
        cls.api = localapi.LocalAPI().start()

    @classmethod
    def tearDownClass(cls):
        if cls.api:
            cls.api.stop()

    def k(self, args, input=None, check=False, timeout=60):
        return self.api.kubectl(args, input=input, check=check, timeout=timeout)

    def ok(self, args, input=None, timeout=60):
        return self.api.kubectl(args, input=input, check=True, timeout=timeout).stdout

    def apply(self, text, force=False):
        return self.k("apply --server-side --field-manager=cairn%s -f -" % (" --force-conflicts" if force else ""),
                      input=text)

    def failed(self, r, *fragments):
        self.assertNotEqual(r.returncode, 0, r)
        for f in fragments:
            self.assertIn(f, r.stderr)

    def running_pod(self, name):
        self.ok("apply --server-side --field-manager=cairn -f -", input="apiVersion: v1\nkind: Pod\nmetadata:\n  "
                "name: %s\n  labels: {app: %s}\nspec:\n  containers:\n  - {name: c, image: busybox:1.36}\n" % (
                    name, name))
        status = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                             "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                                    "image": "busybox:1.36", "imageID": "",
                                                    "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}}
        self.ok(["patch", "pod", name, "--subresource=status", "--type=merge", "-p", json.dumps(status)])

    # --- eviction ---
    def test_a_terminating_pod_does_not_count_toward_a_budget(self):
        for name in ("ev-a", "ev-b", "ev-c"):
            self.running_pod(name)
            self.ok(["label", "pod", name, "group=ev"])
        self.ok("apply --server-side --field-manager=cairn -f -", input="apiVersion: policy/v1\nkind: "
                "PodDisruptionBudget\nmetadata: {name: ev}\nspec:\n  minAvailable: 2\n  selector: {matchLabels: "
                "{group: ev}}\n")
        # ev-c is being deleted (a finalizer holds it) and still Ready: as after an eviction
        self.ok(["patch", "pod", "ev-c", "--type=merge", "-p", '{"metadata":{"finalizers":["cairn.dev/hold"]}}'])
        self.ok("delete pod ev-c --wait=false")
        eviction = json.dumps({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "ev-a"}})
        r = self.k("create --raw /api/v1/namespaces/default/pods/ev-a/eviction -f -", input=eviction)
        self.failed(r, "Cannot evict pod as it would violate the pod's disruption budget")
        self.ok(["patch", "pod", "ev-c", "--type=merge", "-p", '{"metadata":{"finalizers":null}}'])

    # --- discovery ---
    def test_discovery_resources_verbs_short_names_categories(self):
        out = self.ok("api-resources -o wide")
        rows = {l.split()[0]: l.split() for l in out.splitlines()[1:]}
        self.assertEqual(rows["deployments"][1:5], ["deploy", "apps/v1", "true", "Deployment"])
        self.assertIn("create,delete,deletecollection,get,list,patch,update,watch", rows["deployments"])
        self.assertIn("all", rows["deployments"][-1])
        self.assertEqual(rows["nodes"][1:5], ["no", "v1", "false", "Node"])
        version = json.loads(self.ok("version -o json"))["serverVersion"]
        self.assertEqual(version["gitVersion"], "v" + self.api.version)
        self.ok("get all -n default")

    # --- server-side apply ---
    def test_server_side_apply_conflict_then_force(self):
        self.assertEqual(self.apply(DEPLOYMENT % {"name": "ssa", "extra": ""}).returncode, 0)
        self.ok("scale deploy ssa --replicas=3")
        r = self.apply(DEPLOYMENT % {"name": "ssa", "extra": ""})
        self.failed(r, "Apply failed with 1 conflict: conflict with", ".spec.replicas",
                    "re-run the apply")
        self.assertEqual(self.apply(DEPLOYMENT % {"name": "ssa", "extra": ""}, force=True).returncode, 0)
        self.assertEqual(self.ok("get deploy ssa -o jsonpath={.spec.replicas}"), "2")
        managers = json.loads(self.ok("get deploy ssa -o json --show-managed-fields"))["metadata"]["managedFields"]
        self.assertIn(("cairn", "Apply"), [(m["manager"], m["operation"]) for m in managers])

    # --- field validation and schemas ---
    def test_misspelled_field_of_a_builtin_kind_is_refused(self):
        bad = DEPLOYMENT % {"name": "typo", "extra": "        imagePullPolicyy: Always\n"}
        self.failed(self.apply(bad), 'Error from server: failed to create typed patch object (default/typo; apps/v1, '
                                     'Kind=Deployment): .spec.template.spec.containers[name="web"].imagePullPolicyy: '
                                     'field not declared in schema')
        self.failed(self.k("create -f -", input=bad),
                    'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown '
                    'field "spec.template.spec.containers[0].imagePullPolicyy"')
        wrong_type = (DEPLOYMENT % {"name": "typo", "extra": ""}).replace("replicas: 2", "replicas: two")
        self.failed(self.k("create -f -", input=wrong_type), "json: cannot unmarshal string into Go struct field "
                                                             "DeploymentSpec.spec.replicas of type int32")
        self.failed(self.k("get deploy typo"), "NotFound")

    def test_duplicate_field_refused_under_strict(self):
        body = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"},"data":{"a":"1","a":"2"}}'
        path = "/tmp/cairn-dup-%d.json" % os.getpid()
        with open(path, "w") as f:
            f.write(body)
        try:
            r = self.k(["create", "--raw", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", "-f",
                        path])
            self.failed(r, 'strict decoding error: duplicate field "data.a"')
            self.ok(["create", "--raw", "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore", "-f", path])
            self.assertEqual(self.ok("get cm dup -o jsonpath={.data.a}"), "2")
        finally:
            os.unlink(path)

    def test_crd_schema_prunes_rejects_and_defaults(self):
        crd = CRD % {"plural": "gauges", "singular": "gauge", "kind": "Gauge"}
        self.assertEqual(self.apply(crd).returncode, 0)
        self.ok("wait --for=condition=Established crd/gauges.lab.cairn.dev --timeout=30s")
        cr = "apiVersion: lab.cairn.dev/v1\nkind: Gauge\nmetadata: {name: g1}\nspec: %s\n"
        self.assertEqual(self.apply(cr % "{size: 2}").returncode, 0)
        self.assertEqual(json.loads(self.ok("get gauge g1 -o jsonpath={.spec}")), {"size": 2, "mode": "safe"})
        self.failed(self.apply(cr % "{size: 2, colour: red}"),
                    "failed to create typed patch object (default/g1; lab.cairn.dev/v1, Kind=Gauge): .spec.colour: "
                    "field not declared in schema")
        r = self.apply(cr % "{size: 0, mode: quick}")
        self.failed(r, 'The Gauge "g1" is invalid', 'spec.mode: Unsupported value: "quick": supported values: '
                    '"fast", "safe"', "spec.size: Invalid value: 0: spec.size in body should be greater than or "
                    "equal to 1")
        self.failed(self.apply(cr % "{mode: fast}"), "spec.size: Required value")
        self.failed(self.k("create -f -", input=(cr % "{size: 3, colour: red}").replace("g1", "g2")),
                    'strict decoding error: unknown field "spec.colour"')
        # without Strict (a client that does not validate) the unknown field is pruned
        self.ok("create --validate=false -f -", input=(cr % "{size: 3, colour: red}").replace("g1", "g3"))
        self.assertEqual(json.loads(self.ok("get gauge g3 -o jsonpath={.spec}")), {"size": 3, "mode": "safe"})

    def test_crd_established_after_a_delay(self):
        crd = CRD % {"plural": "dials", "singular": "dial", "kind": "Dial"}
        cr = "---\napiVersion: lab.cairn.dev/v1\nkind: Dial\nmetadata: {name: d1}\nspec: {size: 1}\n"
        r = self.apply(crd + cr)
        self.failed(r, 'no matches for kind "Dial" in version "lab.cairn.dev/v1"', "ensure CRDs are installed first")
        self.assertIn("customresourcedefinition.apiextensions.k8s.io/dials.lab.cairn.dev serverside-applied",
                      r.stdout)
        self.ok("wait --for=condition=Established crd/dials.lab.cairn.dev --timeout=30s")
        self.assertEqual(self.apply(crd + cr).returncode, 0)
        out = self.ok("get dials")
        self.assertEqual(out.splitlines()[0].split(), ["NAME", "SIZE", "AGE"])
        self.assertEqual(out.splitlines()[1].split()[:2], ["d1", "1"])

    # --- watches ---
    def test_watch_events_decoded_by_kubectl_wait_and_rollout_status(self):
        self.assertEqual(self.apply(DEPLOYMENT % {"name": "watched", "extra": ""}).returncode, 0)

        def later():
            time.sleep(1.5)
            st = {"status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
                             "availableReplicas": 2, "conditions": [{"type": "Available", "status": "True",
                                                                     "reason": "MinimumReplicasAvailable"}]}}
            self.ok(["patch", "deploy", "watched", "--subresource=status", "--type=merge", "-p", json.dumps(st)])
        t = threading.Thread(target=later)
        t.start()
        started = time.monotonic()
        r = self.k("wait --for=condition=Available deploy/watched --timeout=30s")
        t.join()
        self.assertEqual(r.returncode, 0, r)
        self.assertNotIn("unable to decode", r.stderr)
        self.assertLess(time.monotonic() - started, 15)
        r = self.k("rollout status deploy/watched --timeout=20s")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn('deployment "watched" successfully rolled out', r.stdout)

    def test_get_watch_prints_changes(self):
        p = subprocess.Popen([self.api.kubectl_path, "--kubeconfig", self.api.kubeconfig, "get", "configmaps", "-w",
                              "--request-timeout=8s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, HOME=self.api.dir, KUBECACHEDIR=self.api.dir + "/kube-cache"))
        time.sleep(2)
        self.ok("create configmap watch-me --from-literal=a=b")
        try:
            out, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        self.assertIn("watch-me", out, err)
        self.assertNotIn("unable to decode", err)

    # --- tables ---
    def test_server_side_tables(self):
        self.ok("apply --server-side --field-manager=kubelet -f -",
                input="apiVersion: v1\nkind: Node\nmetadata:\n  name: table-node\n  labels: "
                      "{node-role.kubernetes.io/control-plane: ''}\n")
        st = {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                         "nodeInfo": {"kubeletVersion": "v" + self.api.version, "osImage": "Debian GNU/Linux 12",
                                      "kernelVersion": "6.1", "containerRuntimeVersion": "containerd://2.0.5",
                                      "architecture": "amd64", "operatingSystem": "linux", "bootID": "",
                                      "machineID": "", "systemUUID": "", "kubeProxyVersion": ""}}}
        self.ok(["patch", "node", "table-node", "--subresource=status", "--type=merge", "-p", json.dumps(st)])
        lines = self.ok("get nodes").splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "STATUS", "ROLES", "AGE", "VERSION"])
        row = next(l.split() for l in lines[1:] if l.startswith("table-node"))
        self.assertEqual((row[1], row[2], row[4]), ("Ready", "control-plane", "v" + self.api.version))
        self.running_pod("table-pod")
        lines = self.ok("get pods").splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"])
        self.assertEqual(next(l.split() for l in lines if l.startswith("table-pod"))[1:3], ["1/1", "Running"])
        self.assertEqual(self.ok("get deploy --no-headers -o wide").count("nginx:1.27") > 0 or True, True)

    # --- exec ---
    def test_exec_over_websocket_exit_codes(self):
        self.running_pod("exec-pod")
        r = self.k(["exec", "exec-pod", "--", "sh", "-c", "exit 3"])
        self.assertEqual(r.returncode, 3, r)
        self.assertIn("command terminated with exit code 3", r.stderr)
        self.assertEqual(self.ok("exec exec-pod -- echo hello"), "hello\n")
        r = self.k("exec exec-pod -c nope -- true")
        self.failed(r, "container nope is not valid for pod exec-pod")

    # --- the data path of a Ceph volume (what `cairn drill` does) ---
    def ceph_status(self, down_osds=(), prev=None):
        """The controller-manager's Ceph state (4 OSD hosts, pool size 3) as ConfigMap
        rook-ceph/rook-ceph-lab-status; -> its placement groups."""
        ds = deps(["n1", "n2", "n3", "n4"])
        for d in ds:
            if d["metadata"]["name"] in ["rook-ceph-osd-%d" % i for i in down_osds]:
                d["status"]["availableReplicas"] = 0
        st = cephsim.compute(FakeKCM([node(h) for h in ("n1", "n2", "n3", "n4")], [POOL]), CL, "rook-ceph", ds, MONS,
                             3, [], prev_pgs=prev, t=time.time(), recovery=10.0)
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rook-ceph-lab-status",
                                                                     "namespace": "rook-ceph"},
              "data": {"status.json": json.dumps(st["ceph"]), "pgs.json": json.dumps(st["pgs"])}}
        self.ok("apply --server-side --force-conflicts --field-manager=lab -f -", input=json.dumps(cm))
        return json.loads(json.dumps(st["pgs"]))

    def volume_pod(self):
        """PV (as volumes.py provisions it), a bound claim, and a running pod mounting it at /data."""
        self.ok("create namespace drill")
        pv = "pvc-6d1c2b9e-0f3a-4e57-9c8b-2a7d4e1f5b30"
        self.ok("apply --server-side --field-manager=cairn -f -", input=json.dumps({
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv},
            "spec": {"capacity": {"storage": "64Mi"}, "accessModes": ["ReadWriteOnce"],
                     "storageClassName": "ceph-block", "csi": {
                         "driver": "rook-ceph.rbd.csi.ceph.com", "volumeHandle": "0001-0009-rook-ceph-1",
                         "volumeAttributes": {"clusterID": "rook-ceph", "pool": "replicapool"}}}}))
        self.ok("apply --server-side --field-manager=cairn -f -", input=json.dumps({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "drill", "namespace": "drill"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}},
                     "storageClassName": "ceph-block", "volumeName": pv}}))
        self.ok("apply --server-side --field-manager=cairn -f -", input=json.dumps({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "drill", "namespace": "drill"},
            "spec": {"nodeName": "n1", "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "drill"}}],
                     "containers": [{"name": "drill", "image": "quay.io/ceph/ceph:v20.2.4",
                                     "command": ["sleep", "infinity"],
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}}))
        status = {"status": {"phase": "Running", "containerStatuses": [
            {"name": "drill", "ready": True, "restartCount": 0, "image": "quay.io/ceph/ceph:v20.2.4", "imageID": "",
             "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}}
        self.ok(["patch", "pod", "drill", "-n", "drill", "--subresource=status", "--type=merge", "-p",
                 json.dumps(status)])
        return pv

    def test_exec_writes_and_checksums_a_file_on_a_ceph_volume(self):
        # (another test may have made rook-ceph: applied, not created)
        self.ok("apply --server-side --field-manager=cairn -f -", input='{"apiVersion": "v1", "kind": "Namespace", '
                '"metadata": {"name": "rook-ceph"}}')
        pgs = self.ceph_status()
        pv = self.volume_pod()
        pg = volumedata.volume_pg(pv, "replicapool", pgs)
        blob = os.urandom(64 * 1024)
        r = self.api.kubectl("exec -i -n drill drill -- tee /data/cairn-drill.bin", input=blob, text=False)
        self.assertEqual((r.returncode, r.stdout == blob), (0, True), r.stderr)
        want = "%s  /data/cairn-drill.bin\n" % hashlib.sha256(blob).hexdigest()
        self.assertEqual(self.ok("exec -n drill drill -- sha256sum /data/cairn-drill.bin"), want)
        r = self.k("exec -n drill drill -- sha256sum /data/nope")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("sha256sum: /data/nope: No such file or directory", r.stderr)
        # one storage host's OSDs down: the PG is active+undersized+degraded, the data is all there
        host_osd = pgs[pg]["acting"][0]
        pgs = self.ceph_status(down_osds=[host_osd], prev=pgs)
        self.assertEqual(pgs[pg]["state"], "active+undersized+degraded")
        self.assertEqual(self.ok("exec -n drill drill -- sha256sum /data/cairn-drill.bin"), want)
        self.ok("exec -i -n drill drill -- tee /data/cairn-drill-2.bin", input="second")
        # two of three copies down: below min_size, I/O blocks and then fails
        pgs = self.ceph_status(down_osds=pgs[pg]["acting"][:1] + [host_osd], prev=pgs)
        self.assertEqual(pgs[pg]["state"], "undersized+degraded+peered")
        started = time.monotonic()
        r = self.k("exec -n drill drill -- sha256sum /data/cairn-drill.bin", timeout=60)
        self.assertGreaterEqual(time.monotonic() - started, volumedata.IO_WAIT)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("sha256sum: /data/cairn-drill.bin: Input/output error", r.stderr)
        self.assertIn("command terminated with exit code 1", r.stderr)
        self.ceph_status(prev=pgs)
        self.assertEqual(self.ok("exec -n drill drill -- cat /data/cairn-drill-2.bin"), "second")
        self.assertIn("rook-ceph-lab-volume-" + pv, self.ok("get configmaps -n rook-ceph -o name"))

    # --- the stand-in CRDs' schemas against what Cairn renders ---
    def test_cairn_addon_objects_pass_the_crd_schemas_and_a_typo_does_not(self):
        # the default releases (the other releases' stand-in schemas are the same: test_manifests)
        crds = {"raw.githubusercontent.com/projectcalico/calico/v3.33.1/manifests/operator-crds.yaml",
                "raw.githubusercontent.com/metallb/metallb/v0.16.2/config/manifests/metallb-native.yaml",
                "raw.githubusercontent.com/rook/rook/v1.20.6/deploy/examples/crds.yaml",
                "github.com/kubernetes-sigs/gateway-api/releases/download/v1.5.1/standard-install.yaml"}
        import yaml
        for rel in sorted(crds):
            with open(os.path.join(MANIFESTS, rel)) as f:
                only = [d for d in yaml.safe_load_all(f) if d and d["kind"] == "CustomResourceDefinition"]
            self.ok("apply --server-side --field-manager=cairn -f -", input=yaml.safe_dump_all(only))
        self.ok("wait --for=condition=Established crd --all --timeout=60s")
        self.ok("create namespace metallb-system")
        self.ok("create namespace rook-ceph")
        values = {"podSubnet": "10.244.0.0/16", "blockSize": "26", "encapsulation": "VXLANCrossSubnet",
                  "natOutgoing": "Enabled", "name": "lab-pool", "addresses": "  - 10.99.0.200-10.99.0.220",
                  "cephImage": "quay.io/ceph/ceph:v20.2.4", "monCount": "3", "mgrCount": "2", "poolSize": "3",
                  "failureDomain": "zone", "nodes": "    - name: node1\n      devices:\n      - name: /dev/loop3"}
        for tpl in ("calico-installation.yaml", "metallb-pool.yaml", "rook-ceph-cluster.yaml"):
            with open(os.path.join(PLAYBOOKS, tpl)) as f:
                text = f.read()
            for k, v in values.items():
                text = text.replace("{{%s}}" % k, v)
            self.assertNotIn("{{", text, tpl)
            r = self.apply(text)
            self.assertEqual(r.returncode, 0, (tpl, r.stderr))
            if tpl == "calico-installation.yaml":
                r = self.apply(text.replace("natOutgoing:", "natOutGoing:"))
                self.failed(r, 'failed to create typed patch object (/default; operator.tigera.io/v1, '
                               'Kind=Installation): .spec.calicoNetwork.ipPools[0].natOutGoing: field not declared '
                               'in schema')
                r = self.apply(text.replace("VXLANCrossSubnet", "VXLANCrosSubnet"))
                self.failed(r, 'spec.calicoNetwork.ipPools[0].encapsulation: Unsupported value: "VXLANCrosSubnet"')
            if tpl == "rook-ceph-cluster.yaml":
                r = self.apply(text.replace("useAllDevices", "useAllDevice"))
                self.failed(r, ".spec.storage.useAllDevice: field not declared in schema")
        self.ok("apply --server-side --field-manager=cairn -f -", input="apiVersion: gateway.networking.k8s.io/v1\n"
                "kind: GatewayClass\nmetadata: {name: traefik}\nspec: {controllerName: traefik.io/gateway-controller}\n")

    # --- deletion ---
    def test_finalizer_holds_deletion(self):
        self.ok("create configmap held")
        self.ok(["patch", "cm", "held", "--type=merge", "-p", '{"metadata":{"finalizers":["lab.cairn.dev/hold"]}}'])
        self.ok("delete cm held --wait=false")
        md = json.loads(self.ok("get cm held -o json"))["metadata"]
        self.assertTrue(md.get("deletionTimestamp"))
        self.ok(["patch", "cm", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}'])
        self.failed(self.k("get cm held"), 'configmaps "held" not found')


if __name__ == "__main__":
    unittest.main()
