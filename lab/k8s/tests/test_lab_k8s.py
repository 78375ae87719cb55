"""Lab tests of the Kubernetes stand-ins: a real 3-member TLS etcd on a 3-host lab, the stand-ins
installed from the mirror the way Cairn installs them, then kubeadm/kubectl exercised, including
every strictness rule of the issue with a deliberately wrong input.

Every test sets up the cluster state it needs itself (the ensure_* helpers: idempotent, so in the
usual order they find the state already there), so any test runs alone or in any order, e.g.
    python3 -m unittest -v test_lab_k8s.LabKubernetes.test_14_fault_osd_down
Tests that need a host without Kubernetes on it (kubeadm init's checks, the joins, Calico making the
nodes Ready) reset the lab's Kubernetes first when an earlier test left it set up.

Skipped (with the reason) when not root or when scripts/lab is missing; under CAIRN_REQUIRE_LAB=1
they fail instead. Every test runs under a time limit (labenv.LabTestCase) and every wait has a
deadline. CAIRN_LAB_KEEP=1 keeps the lab (k8st) after the run. Runtime: a few minutes."""
import json
import os
import subprocess
import time
import unittest

import labenv
from labenv import LAB, LabEnv

MANIFESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manifests")
LAB_K8S = os.path.join(labenv.REPO, "scripts", "lab-k8s")


@labenv.lab_suite
def labenv_time(ts):
    """Seconds since the epoch of an RFC 3339 timestamp of the API."""
    import datetime
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


class LabKubernetes(labenv.LabTestCase):
    TIME_LIMIT = 900        # per test; one that must first rebuild the cluster (run alone) takes a while
    env = None
    lb = None

    @classmethod
    def setUpClass(cls):
        with labenv.time_limit(1200, "LabKubernetes.setUpClass"):
            cls.env = e = LabEnv(name=labenv.claim_lab_name("k8st"), hosts=3)
            e.build_mirror()
            e.up()
            prefix = e.hosts[0][1].rsplit(".", 1)[0]
            cls.vip = prefix + ".254"
            cls.cpe = cls.vip + ":6443"
            cls.lb = subprocess.Popen([LAB, "run", "--", "/usr/bin/python3", os.path.join(os.path.dirname(
                os.path.abspath(__file__)), "tcplb.py"), cls.cpe] + ["%s:6443" % ip for _, ip in e.hosts],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            e.setup_etcd()
            e.install_k8s()
            cls.n1, cls.n2, cls.n3 = [h for h, _ in e.hosts]

    @classmethod
    def tearDownClass(cls):
        if cls.lb:
            cls.lb.terminate()
            cls.lb.wait(10)
        if cls.env and os.environ.get("CAIRN_LAB_KEEP") != "1":
            subprocess.run([LAB_K8S, "devices", cls.env.name, "all", "remove"], capture_output=True, timeout=120)
            cls.env.down()

    # --- helpers ---
    def init_cfg(self, **kw):
        return self.env.init_config(0, cp_endpoint=self.cpe, **kw)

    def init(self, config, flags="--upload-certs", check=False):
        return self.env.kubeadm_init(0, config=config, flags=flags, check=check)

    def assertFailed(self, r, *fragments):
        self.assertTrue(fragments, "assertFailed needs the expected error text")
        self.assertNotEqual(r.rc, 0, r)
        text = r.out + r.err
        for f in fragments:
            self.assertIn(f, text)

    def kubectl(self, args, **kw):
        return self.env.kubectl(args, **kw)

    def kjson(self, args):
        r = self.kubectl(args + " -o json")
        self.assertEqual(r.rc, 0, r)
        return json.loads(r.out)

    def apply(self, *files, server_side=True):
        """kubectl apply of test manifests; a file of CRDs is followed by a wait until they are Established
        (their kinds are served a moment after the CRDs are created, as on a real cluster)."""
        paths = [os.path.join(MANIFESTS, f) if not f.startswith("/") else f for f in files]
        args = " ".join("-f " + p for p in paths)
        r = self.kubectl("apply %s %s" % ("--server-side --field-manager cairn" if server_side else "", args))
        crds = [p for p in paths if p.endswith("-crds.yaml")]
        if r.rc == 0 and crds:
            w = self.kubectl("wait --for=condition=Established --timeout=60s %s" % " ".join("-f " + p for p in crds))
            self.assertEqual(w.rc, 0, w)
        return r

    def apply_text(self, text, server_side=True):
        return self.env.ctl("cat > /tmp/k8st-apply.yaml && KUBECACHEDIR=%s %s --kubeconfig %s apply %s -f "
                            "/tmp/k8st-apply.yaml" % (self.env.work + "/kube-cache", self.kubectl_path(),
                                                      self.env.work + "/admin.conf",
                                                      "--server-side" if server_side else ""),
                            input=text, check=False)

    def kubectl_path(self):
        return os.path.join(self.env.mirror, "dl.k8s.io/release/v%s/bin/linux/amd64/kubectl" % self.env.version)

    def wait(self, fn, timeout=60, what="condition", done=bool, interval=1.0):
        return labenv.wait_until(fn, timeout, what, interval=interval, done=done)

    def ready(self, node):
        return self.env.node_ready(node)

    def node_names(self):
        nodes = self.env.get_json("get nodes")
        return sorted(n["metadata"]["name"] for n in (nodes or {}).get("items") or [])

    def readyz(self, ip):
        """/readyz of the API server on `ip` (not through the load balancer)."""
        return self.env.ctl("curl -sk --max-time 5 https://%s:6443/readyz" % ip, check=False).out.strip()

    # --- the state each test needs, set up idempotently (a test never relies on an earlier one) ---
    def ensure_pristine(self):
        """No Kubernetes anywhere (hosts and etcd), etcd healthy."""
        e = self.env
        if not e.is_pristine():
            e.reset_kubernetes()
        e.wait_etcd(120)

    def ensure_initialized(self):
        """node1 is the first control plane of a cluster behind the load balancer, its API server answers."""
        e = self.env
        if e.is_member(self.n1, control_plane=True):
            if not os.path.exists(e.work + "/admin.conf"):
                with open(e.work + "/admin.conf", "w") as f:
                    f.write(e.sh(self.n1, "cat /etc/kubernetes/admin.conf").out)
        else:
            self.ensure_pristine()
            e.log("kubeadm init on %s" % self.n1)
            r = self.init(self.init_cfg())
            self.assertEqual(r.rc, 0, r)
        e.wait_etcd(120)
        self.wait(lambda: self.readyz(e.hosts[0][1]), 120, "node1's API server /readyz ok", done=lambda o: o == "ok")
        self.wait(lambda: self.kubectl("get --raw /readyz"), 60, "/readyz ok through the load balancer",
                  done=lambda r: r.rc == 0 and r.out.strip() == "ok")

    def upload_certs(self):
        """A fresh kubeadm-certs Secret; returns its certificate key."""
        out = self.env.sh(self.n1, "kubeadm init phase upload-certs --upload-certs").out.strip().splitlines()
        self.assertTrue(out)
        self.assertRegex(out[-1], r"^[0-9a-f]{64}$")
        return out[-1]

    def ensure_member(self, i, control_plane, initialized=False):
        """Host i has joined the cluster (as a control plane or a worker) and its Node object exists."""
        e = self.env
        name = e.hosts[i][0]
        if not initialized:
            self.ensure_initialized()
        if not e.is_member(name, control_plane=control_plane):
            if e.kubeadm_leftovers(name) or name in self.node_names():
                e.leave(name)
            e.log("%s joins as a %s" % (name, "control plane" if control_plane else "worker"))
            r = self.join(i, self.join_cfg(host=i, cp=self.upload_certs() if control_plane else None))
            self.assertEqual(r.rc, 0, r)
        if not initialized:
            self.wait(self.node_names, 60, "Node %s registered" % name, done=lambda names: name in names)
        if control_plane:
            self.wait(lambda: self.readyz(e.hosts[i][1]), 120, "%s's API server /readyz ok" % name,
                      done=lambda o: o == "ok")

    def ensure_not_member(self, i):
        """Host i is not in the cluster: nothing of kubeadm's on it, no Node object for it."""
        e = self.env
        name = e.hosts[i][0]
        if e.is_member(name) or any(not f.startswith("/etc/cni/") for f in e.kubeadm_leftovers(name)) or \
                (os.path.exists(e.work + "/admin.conf") and name in self.node_names()):
            e.leave(name)
        self.assertNotEqual(e.sh(name, "test -e /etc/kubernetes/kubelet.conf", check=False).rc, 0)

    def ensure_members(self):
        """The lab's cluster: node1 and node2 control planes, node3 a worker."""
        self.ensure_initialized()
        self.ensure_member(1, control_plane=True, initialized=True)
        self.ensure_member(2, control_plane=False, initialized=True)
        self.wait(self.node_names, 60, "Nodes node1..node3", done=lambda n: n == [self.n1, self.n2, self.n3])

    def calico_present(self):
        e = self.env
        cni = any(f.startswith("/etc/cni/net.d/") for h, _ in e.hosts for f in e.kubeadm_leftovers(h))
        return cni or (os.path.exists(e.work + "/admin.conf") and
                       self.kubectl("get installation default").rc == 0)

    def ensure_no_cni(self):
        """No CNI on any node (Calico never installed): a full reset if it was."""
        if self.calico_present():
            self.env.log("Calico is installed: starting over")
            self.env.reset_kubernetes()

    def ensure_cluster_ready(self):
        """ensure_members, with Calico installed and every node Ready."""
        self.ensure_members()
        names = [self.n1, self.n2, self.n3]

        def all_ready(conds):
            return sorted(conds) == names and all(c and c["status"] == "True" for c in conds.values())
        if not all_ready(self.ready_conditions(self.env.get_json("get nodes"))):
            for files in (("calico-crds.yaml",), ("calico-operator.yaml", "calico-installation.yaml")):
                r = self.apply(*files)
                self.assertEqual(r.rc, 0, r)
            self.wait(lambda: self.ready_conditions(self.env.get_json("get nodes")), 180, "nodes Ready",
                      done=all_ready)

    def ensure_namespace(self, ns):
        r = self.apply_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n" % ns)
        self.assertEqual(r.rc, 0, r)

    def ensure_absent(self, what, present):
        """Start over (full reset) when `present()`: for tests whose subject is installing `what` first."""
        if os.path.exists(self.env.work + "/admin.conf") and present():
            self.env.log("%s already installed: starting over" % what)
            self.env.reset_kubernetes()

    # --- kubeadm init: strictness ---
    def test_01_init_refuses_v1beta3(self):
        r = self.init(self.init_cfg(api_version="kubeadm.k8s.io/v1beta3"))
        self.assertFailed(r, 'error unmarshaling configuration schema.GroupVersionKind{Group:"kubeadm.k8s.io", '
                             'Version:"v1beta3", Kind:"InitConfiguration"}')
        r = self.init(self.init_cfg(extra_cluster="apiserver: {}\n"))
        self.assertFailed(r, 'strict decoding error: unknown field "apiserver"')

    def test_02_init_checks_external_etcd_for_real(self):
        e = self.env
        self.ensure_pristine()
        ip1 = e.hosts[0][1]
        good = "    - https://%s:2379\n" % ip1
        # wrong SAN: a name that reaches etcd on node1 but is not in its certificate
        e.sh(self.n1, "grep -q etcd-alias /etc/hosts || echo '%s etcd-alias' >> /etc/hosts" % ip1)
        cfg = self.init_cfg().replace(good, "    - https://etcd-alias:2379\n")
        r = self.init(cfg)
        self.assertFailed(r, "[ERROR ExternalEtcdVersion]", 'Get "https://etcd-alias:2379/version": tls: failed to '
                             'verify certificate: x509: certificate is valid for', "not etcd-alias")
        # wrong CA
        e.sh(self.n1, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /tmp/o.key "
                      "-out /etc/kubernetes/pki/etcd/other-ca.crt -subj /CN=other -days 2 2>/dev/null")
        r = self.init(self.init_cfg().replace("caFile: /etc/kubernetes/pki/etcd/ca.crt",
                                              "caFile: /etc/kubernetes/pki/etcd/other-ca.crt"))
        self.assertFailed(r, "x509: certificate signed by unknown authority")
        # wrong endpoint
        r = self.init(self.init_cfg().replace(good, "    - https://%s:2390\n" % ip1))
        self.assertFailed(r, 'dial tcp %s:2390: connect: connection refused' % ip1)
        # missing client key
        r = self.init(self.init_cfg().replace("keyFile: /etc/kubernetes/pki/apiserver-etcd-client.key",
                                              "keyFile: /etc/kubernetes/pki/nope.key"))
        self.assertFailed(r, "[ERROR ExternalEtcdClientCertificates]: /etc/kubernetes/pki/nope.key doesn't exist")
        self.assertEqual(e.sh(self.n1, "ls /etc/kubernetes/manifests 2>/dev/null | wc -l").out.strip(), "0")

    def test_03_preflight_host_checks(self):
        e = self.env
        self.ensure_pristine()
        e.sh(self.n1, "sysctl -qw net.ipv4.ip_forward=0; systemctl stop containerd")
        subprocess.run([LAB_K8S, "fault", e.name, self.n1, "swap-on"], check=True, capture_output=True)
        try:
            r = self.init(self.init_cfg())
            self.assertFailed(r, "[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward "
                                 "contents are not set to 1",
                              "[ERROR Swap]: running with swap on is not supported",
                              "[ERROR CRI]: container runtime is not running",
                              "dial unix /var/run/containerd/containerd.sock: connect: no such file or directory")
        finally:
            subprocess.run([LAB_K8S, "fault", e.name, self.n1, "swap-off"], check=True, capture_output=True)
            e.sh(self.n1, "sysctl -qw net.ipv4.ip_forward=1; systemctl start containerd")

    def test_03_cgroup_v1_host_is_refused(self):
        """A host that looks cgroup v1 (the lab fault): kubeadm's SystemVerification and the kubelet refuse it."""
        e = self.env
        self.ensure_pristine()
        self.assertEqual(e.sh(self.n1, "stat -fc %T /sys/fs/cgroup").out.strip(), "cgroup2fs")
        subprocess.run([LAB_K8S, "fault", e.name, self.n1, "cgroup-v1"], check=True, capture_output=True)
        try:
            self.assertEqual(e.sh(self.n1, "stat -fc %T /sys/fs/cgroup").out.strip(), "tmpfs")
            r = self.init(self.init_cfg())
            self.assertFailed(r, "[ERROR SystemVerification]: cgroups v1 support is deprecated and will be removed in "
                                 "a future release. Please migrate to cgroups v2.")
            self.assertEqual(e.sh(self.n1, "ls /etc/kubernetes/manifests 2>/dev/null | wc -l").out.strip(), "0")
            cfg = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n"
            e.put(self.n1, "/tmp/kubelet-v1.yaml", cfg)
            r = e.sh(self.n1, "/usr/local/bin/kubelet --config=/tmp/kubelet-v1.yaml", check=False, timeout=60)
            self.assertFailed(r, "kubelet is configured to not run on a host using cgroup v1. cgroup v1 support is "
                                 "unsupported and will be removed in a future release")
            e.put(self.n1, "/tmp/kubelet-v1.yaml", cfg + "failCgroupV1: false\nfailSwapOn: false\n")
            r = e.sh(self.n1, "timeout 5 /usr/local/bin/kubelet --config=/tmp/kubelet-v1.yaml "
                              "--container-runtime-endpoint=unix:///nonexistent.sock", check=False, timeout=60)
            self.assertNotIn("configured to not run", r.err)
            self.assertIn("cgroup v1 detected", r.err)
        finally:
            subprocess.run([LAB_K8S, "fault", e.name, self.n1, "cgroup-v2"], check=True, capture_output=True)
            e.sh(self.n1, "rm -f /tmp/kubelet-v1.yaml")
        self.assertEqual(e.sh(self.n1, "stat -fc %T /sys/fs/cgroup").out.strip(), "cgroup2fs")

    def test_04_init_succeeds_and_writes_kubeadm_files(self):
        e = self.env
        self.ensure_pristine()
        r = self.init(self.init_cfg(), check=False)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("Your Kubernetes control-plane has initialized successfully!", r.out)
        self.assertIn("kubeadm join %s --token abcdef.0123456789abcdef" % self.cpe, r.out)
        self.assertRegex(r.out, r"\[upload-certs\] Using certificate key:\n[0-9a-f]{64}\n")
        files = ("/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf "
                 "/etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf "
                 "/etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/manifests/kube-controller-manager.yaml "
                 "/etc/kubernetes/manifests/kube-scheduler.yaml /etc/kubernetes/pki/ca.crt /etc/kubernetes/pki/ca.key "
                 "/etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/sa.key /etc/kubernetes/pki/front-proxy-ca.crt "
                 "/var/lib/kubelet/config.yaml /var/lib/kubelet/kubeadm-flags.env")
        e.sh(self.n1, "for f in %s; do test -s $f || { echo missing $f; exit 1; }; done" % files)
        sans = e.sh(self.n1, "openssl x509 -in /etc/kubernetes/pki/apiserver.crt -noout -ext subjectAltName").out
        for s in ("DNS:kubernetes.default.svc.cluster.local", "IP Address:10.96.0.1", "IP Address:%s" % self.vip,
                  "IP Address:%s" % e.hosts[0][1], "DNS:%s" % self.n1):
            self.assertIn(s, sans)
        self.assertNotIn("IP Address:127.0.0.1", sans)
        subj = e.sh(self.n1, "grep client-certificate-data /etc/kubernetes/admin.conf | awk '{print $2}' | base64 -d | "
                             "openssl x509 -noout -subject").out
        self.assertIn("O = kubeadm:cluster-admins", subj)
        # 1.35+: the kubelet of a control-plane host talks to its own API server; no pause flag, the CRI
        # socket in instance-config.yaml; the API server's kubelet client without an organization, bound
        self.assertIn("server: https://%s:6443" % e.hosts[0][1], e.sh(self.n1, "cat /etc/kubernetes/kubelet.conf").out)
        self.assertNotIn("pod-infra-container-image", e.sh(self.n1, "cat /var/lib/kubelet/kubeadm-flags.env").out)
        self.assertIn("containerRuntimeEndpoint: unix:///var/run/containerd/containerd.sock",
                      e.sh(self.n1, "cat /var/lib/kubelet/instance-config.yaml").out)
        subj = e.sh(self.n1, "openssl x509 -in /etc/kubernetes/pki/apiserver-kubelet-client.crt -noout -subject").out
        self.assertEqual(subj.strip(), "subject=CN = kube-apiserver-kubelet-client")
        crb = self.kjson("get clusterrolebinding kubeadm:apiserver-kubelet-client")
        self.assertEqual(crb["roleRef"]["name"], "system:kubelet-api-admin")
        self.assertNotIn("inconsistent with that used by kubeadm", r.err)   # containerd pins the release's pause
        # through the load balancer, like Cairn's gates
        self.assertEqual(self.kubectl("get --raw /readyz").out.strip(), "ok")
        self.assertEqual(e.ctl("curl -sk https://%s/readyz" % self.cpe).out.strip(), "ok")
        self.assertEqual(e.ctl("curl -sk https://%s:6443/livez" % e.hosts[0][1]).out.strip(), "ok")

    def test_05_second_init_is_refused(self):
        self.ensure_initialized()
        r = self.init(self.init_cfg())
        self.assertFailed(r, "[ERROR Port-6443]: Port 6443 is in use",
                          "[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: "
                          "/etc/kubernetes/manifests/kube-apiserver.yaml already exists",
                          "[ERROR Port-10250]: Port 10250 is in use")

    # --- joins ---
    def join_cfg(self, token="abcdef.0123456789abcdef", ca_hash=None, host=2, cp=None):
        name, ip = self.env.hosts[host]
        cpblock = ""
        if cp:
            cpblock = "controlPlane:\n  certificateKey: \"%s\"\n  localAPIEndpoint:\n    advertiseAddress: %s\n" % (cp, ip)
        return """apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: %s
    token: %s
    caCertHashes: [sha256:%s]
nodeRegistration:
  name: %s
  kubeletExtraArgs:
  - {name: node-ip, value: %s}
%stimeouts:
  discovery: 6s
""" % (self.cpe, token, ca_hash or self.env.ca_hash(), name, ip, cpblock)

    def join(self, host, cfg):
        name = self.env.hosts[host][0]
        self.env.put(name, "/etc/kubernetes/kubeadm-join.yaml", cfg)
        return self.env.sh(name, "kubeadm join --config /etc/kubernetes/kubeadm-join.yaml", check=False, timeout=300)

    def test_06_join_refuses_bad_token_and_hash(self):
        self.ensure_initialized()
        self.ensure_not_member(2)
        r = self.join(2, self.join_cfg(token="zzzzzz.0123456789abcdef"))
        self.assertFailed(r, 'token id "zzzzzz" is invalid for this cluster or it has expired')
        r = self.join(2, self.join_cfg(token="abcdef.0123456789abcdex"))
        self.assertFailed(r, "failed to verify JWS signature of received cluster info object")
        r = self.join(2, self.join_cfg(ca_hash="0" * 64))
        self.assertFailed(r, "cluster CA found in cluster-info ConfigMap is invalid: none of the public keys")
        self.assertNotEqual(self.env.sh(self.n3, "test -e /etc/kubernetes/kubelet.conf", check=False).rc, 0)

    def test_07_control_plane_join_checks_certificate_key(self):
        e = self.env
        self.ensure_initialized()
        self.ensure_not_member(1)
        cert_key = self.upload_certs()      # a valid key of a kubeadm-certs Secret that exists now
        r = self.join(1, self.join_cfg(host=1, cp="1" * 64))
        self.assertFailed(r, "error downloading certs: error decoding secret data with provided key: cipher: "
                             "message authentication failed")
        out = subprocess.run([LAB_K8S, "expire-certificate-key", e.name, self.n1], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.wait(lambda: self.kubectl("-n kube-system get secret kubeadm-certs"), 30,
                  "kubeadm-certs to be garbage collected (NotFound)",
                  done=lambda r: r.rc != 0 and 'secrets "kubeadm-certs" not found' in r.err)
        r = self.join(1, self.join_cfg(host=1, cp=cert_key))
        self.assertFailed(r, 'Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might '
                             'have expired. Please, run `kubeadm init phase upload-certs --upload-certs`')
        key = e.sh(self.n1, "kubeadm init phase upload-certs --upload-certs").out.strip().splitlines()[-1]
        # the plain flag form, as the join command printed by kubeadm
        join = e.sh(self.n1, "kubeadm token create --print-join-command").out.strip()
        self.assertTrue(join.startswith("kubeadm join %s --token " % self.cpe), join)
        r = e.sh(self.n2, "%s --control-plane --certificate-key %s --apiserver-advertise-address %s" % (
            join, key, e.hosts[1][1]), check=False, timeout=300)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("This node has joined the cluster and a new control plane instance was created", r.out)
        # etcd-join (1.35+): after the kubelet starts, before its check; the TLS bootstrap went to node2's own
        # API server, where its kubelet.conf points
        self.assertLess(r.out.index("[kubelet-start] Starting the kubelet"),
                        r.out.index("[control-plane-join] Using external etcd - no local stacked instance added"))
        self.assertLess(r.out.index("Using external etcd"), r.out.index("[kubelet-check] Waiting for a healthy kubelet"))
        self.assertIn("server: https://%s:6443" % e.hosts[1][1], e.sh(self.n2, "cat /etc/kubernetes/kubelet.conf").out)
        n = self.kjson("get node %s" % self.n2)
        self.assertIn("node-role.kubernetes.io/control-plane", n["metadata"]["labels"])
        self.assertIn({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                      [{k: t[k] for k in ("key", "effect")} for t in n["spec"]["taints"]])

    def test_08_worker_join_and_rejoin_refused(self):
        self.ensure_member(1, control_plane=True)
        self.ensure_not_member(2)
        r = self.join(2, self.join_cfg())
        self.assertEqual(r.rc, 0, r)
        r = self.join(2, self.join_cfg())
        self.assertFailed(r, "[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf "
                             "already exists")
        # the join returns once the kubelet has its certificate; its Node object follows
        want = [self.n1, self.n2, self.n3]
        self.wait(self.node_names, 60, "Nodes %s" % want, done=lambda names: names == want)
        nodes = self.kjson("get nodes")
        self.assertEqual(sorted(n["metadata"]["name"] for n in nodes["items"]), want)

    # --- nodes, CNI, workloads ---
    @staticmethod
    def ready_conditions(nodes):
        """{node: its Ready condition (or None)}."""
        return {n["metadata"]["name"]: next((c for c in (n.get("status") or {}).get("conditions") or []
                                             if c["type"] == "Ready"), None) for n in (nodes or {}).get("items") or []}

    def test_09_nodes_ready_only_with_calico(self):
        self.ensure_no_cni()
        self.ensure_members()
        names = [self.n1, self.n2, self.n3]

        def not_ready_for_cni(conds):
            return sorted(conds) == names and all(c and c["status"] == "False" and "cni plugin not initialized" in
                                                  c["message"] for c in conds.values())
        conds = self.wait(lambda: self.ready_conditions(self.kjson("get nodes")), 60,
                          "every node's Ready condition: False, cni plugin not initialized", done=not_ready_for_cni)
        self.assertEqual(sorted(conds), names)
        for n, ready in conds.items():
            self.assertEqual(ready["status"], "False", n)
            self.assertIn("cni plugin not initialized", ready["message"], n)
        r = self.apply("calico-crds.yaml")
        self.assertEqual(r.rc, 0, r)
        r = self.apply("calico-operator.yaml", "calico-installation.yaml")
        self.assertEqual(r.rc, 0, r)
        self.wait(lambda: {n: self.ready(n) for n in names}, 180, "nodes Ready", done=lambda st: all(st.values()))

        def tigera():
            ts = self.env.get_json("get tigerastatus calico")
            return {c["type"]: c["status"] for c in ((ts or {}).get("status") or {}).get("conditions") or []}
        conds = self.wait(tigera, 60, "tigerastatus calico Available", done=lambda c: c.get("Available") == "True")
        self.assertEqual(conds["Available"], "True")
        r = self.kubectl("-n calico-system rollout status ds/calico-node --timeout=60s")
        self.assertEqual(r.rc, 0, r)
        self.assertIn('daemon set "calico-node" successfully rolled out', r.out)
        r = self.kubectl("-n kube-system rollout status deploy/coredns --timeout=90s")
        self.assertEqual(r.rc, 0, r)

    def test_10_unsatisfiable_anti_affinity_stays_pending(self):
        self.ensure_cluster_ready()
        dep = """apiVersion: v1
kind: Namespace
metadata: {name: sched}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: spread, namespace: sched}
spec:
  replicas: 3
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: spread}}
            topologyKey: kubernetes.io/hostname
      containers:
      - {name: c, image: registry.k8s.io/pause:3.10}
"""
        r = self.apply_text(dep)
        self.assertEqual(r.rc, 0, r)
        want = ("0/3 nodes are available: 1 node(s) didn't match pod anti-affinity rules, 2 node(s) had "
                "untolerated taint {node-role.kubernetes.io/control-plane: }")

        def pods():
            return self.kjson("-n sched get pods -l app=spread")["items"]

        def unschedulable(ps):
            return [x for x in ps if x["status"].get("phase") == "Pending" and any(
                c.get("reason") == "Unschedulable" for c in x["status"].get("conditions") or [])]

        def scheduled_msg(x):
            return next((c.get("message") or "" for c in x["status"].get("conditions") or []
                         if c["type"] == "PodScheduled"), "")
        ps = self.wait(pods, 120, "3 pods, 2 of them unschedulable with: " + want,
                       done=lambda ps: len(ps) == 3 and len(unschedulable(ps)) == 2 and
                       all(want in scheduled_msg(x) for x in unschedulable(ps)))
        p = unschedulable(ps)
        self.assertEqual((len(ps), len(p)), (3, 2))
        for x in p:
            self.assertIn(want, scheduled_msg(x))
        r = self.kubectl("-n sched rollout status deploy/spread --timeout=3s")
        self.assertFailed(r, "error: timed out waiting for the condition")

    def test_11_topology_spread_counts_control_plane_domains(self):
        self.ensure_cluster_ready()
        self.ensure_namespace("sched")
        dep = """apiVersion: apps/v1
kind: Deployment
metadata: {name: dns, namespace: sched}
spec:
  replicas: 2
  selector: {matchLabels: {app: dns}}
  template:
    metadata: {labels: {app: dns}}
    spec:
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: DoNotSchedule
        labelSelector: {matchLabels: {app: dns}}
      containers:
      - {name: c, image: registry.k8s.io/pause:3.10}
"""
        r = self.apply_text(dep)
        self.assertEqual(r.rc, 0, r)

        def blocked(pods):
            return [x for x in pods if any("didn't match pod topology spread constraints" in (c.get("message") or "")
                                           for c in x["status"].get("conditions") or [])]
        pods = self.wait(lambda: self.kjson("-n sched get pods -l app=dns")["items"], 120,
                         "a pod blocked by topology spread", done=lambda ps: len(blocked(ps)) >= 1)
        self.assertGreaterEqual(len(blocked(pods)), 1)

    def test_12_metallb_webhook_race_and_lb_ip(self):
        self.ensure_absent("MetalLB", lambda: self.kubectl("get namespace metallb-system").rc == 0)
        self.ensure_cluster_ready()
        self.assertEqual(self.apply("metallb-crds.yaml").rc, 0)
        # the manifest and the pool in one go, as a naive installer would: the pool hits the webhook
        # before the MetalLB controller is ready
        r = self.apply("metallb.yaml", "metallb-pool.yaml")
        self.assertIn("deployment.apps/controller serverside-applied", r.out)
        self.assertFailed(r, 'Internal error occurred: failed calling webhook "ipaddresspoolvalidationwebhook.metallb.io"'
                             ': failed to call webhook: Post "https://metallb-webhook-service.metallb-system.svc:443/'
                             'validate-metallb-io-v1beta1-ipaddresspool?timeout=10s"')
        r = self.kubectl("-n metallb-system rollout status deploy/controller --timeout=60s")
        self.assertEqual(r.rc, 0, r)
        self.wait(lambda: self.apply("metallb-pool.yaml"), 30, "pool accepted", done=lambda r: r.rc == 0)
        self.assertEqual(self.apply("lb-service.yaml", server_side=False).rc, 0)
        ip = self.wait(lambda: self.kubectl("-n demo get svc web -o jsonpath='{.status.loadBalancer.ingress[0].ip}'")
                       .out.strip(), 30, "LB IP")
        self.assertEqual(ip, "10.99.250.10")

    # --- Rook/Ceph ---
    CLUSTER = """apiVersion: ceph.rook.io/v1
kind: CephCluster
metadata: {name: rook-ceph, namespace: rook-ceph}
spec:
  cephVersion: {image: quay.io/ceph/ceph:v20.2.4}
  dataDirHostPath: /var/lib/rook
  mon: {count: 3, allowMultiplePerNode: false}
  mgr: {count: 2}
  placement:
    all:
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
  storage:
    useAllNodes: true
    useAllDevices: true
---
apiVersion: ceph.rook.io/v1
kind: CephBlockPool
metadata: {name: replicapool, namespace: rook-ceph}
spec:
  failureDomain: host
  replicated: {size: 3, requireSafeReplicaSize: true}
"""

    def ceph(self, args):
        return self.kubectl("-n rook-ceph exec deploy/rook-ceph-tools -- ceph " + args)

    def ceph_status(self):
        r = self.ceph("status -f json")
        return json.loads(r.out) if r.rc == 0 else None

    # The OSD layout of test_13's end state (and what test_14 needs): 2 devices on node3, 1 on node1 and node2.
    OSD_LAYOUT = {0: 1, 1: 1, 2: 2}

    @staticmethod
    def osd_counts(s):
        o = (s or {}).get("osdmap") or {}
        return o.get("num_osds"), o.get("num_up_osds"), o.get("num_in_osds")

    @staticmethod
    def cluster_health(cl):
        return (((cl or {}).get("status") or {}).get("ceph") or {}).get("health")

    def healthy_with_osds(self, s, n):
        """HEALTH_OK, 3 mons in quorum, n OSDs all up and in, every PG active+clean."""
        return bool(s) and s["health"]["status"] == "HEALTH_OK" and s["quorum_names"] == ["a", "b", "c"] and \
            self.osd_counts(s) == (n, n, n) and \
            s["pgmap"]["pgs_by_state"] == [{"state_name": "active+clean", "count": 32}]

    def rook_present(self):
        r = self.kubectl("get cephclusters.ceph.rook.io -A -o name")
        return r.rc == 0 and bool(r.out.strip())

    def ensure_devices(self, layout):
        """Exactly layout[i] storage devices on host i (removing a host's devices if it has too many)."""
        e = self.env
        for i, want in sorted(layout.items()):
            name = e.hosts[i][0]
            have = len(e.devices(name))
            if have > want:
                e.remove_devices(name)
                have = 0
            if have < want:
                e.add_devices(name, want - have)
            self.assertEqual(len(e.devices(name)), want, name)
        # Rook places OSDs on the devices the kubelets report (Node annotation): wait until they report these
        want = {e.hosts[i][0]: sorted(e.devices(e.hosts[i][0])) for i in layout}
        self.wait(lambda: {h: self.reported_devices(h) for h in want}, 60, "the kubelets to report devices %s" % want,
                  done=lambda st: st == want)

    def reported_devices(self, node):
        n = self.env.get_json("get node %s" % node)
        ann = ((n or {}).get("metadata") or {}).get("annotations") or {}
        return sorted(d["path"] for d in json.loads(ann.get("lab.cairn.dev/devices") or "[]"))

    def ensure_rook_healthy(self):
        """Rook's CephCluster HEALTH_OK on the OSD_LAYOUT devices (4 OSDs: 2 on node3)."""
        e = self.env
        self.ensure_cluster_ready()
        if self.rook_present() and {i: len(e.devices(h)) for i, (h, _) in enumerate(e.hosts)} != self.OSD_LAYOUT:
            # OSDs of other devices would stay in the OSD map
            self.env.log("Rook runs on other devices than %s: starting over" % self.OSD_LAYOUT)
            e.reset_kubernetes()
            self.ensure_cluster_ready()
        self.ensure_devices(self.OSD_LAYOUT)
        for f in ("rook-crds.yaml", "rook-operator.yaml"):
            r = self.apply(f)
            self.assertEqual(r.rc, 0, r)
        r = self.apply_text(self.CLUSTER)
        self.assertEqual(r.rc, 0, r)
        s = self.wait(self.ceph_status, 240, "ceph HEALTH_OK with 4 OSDs up and in, PGs active+clean",
                      done=lambda s: self.healthy_with_osds(s, 4), interval=2)
        self.assertTrue(self.healthy_with_osds(s, 4), s)

    def test_13_rook_too_few_osd_hosts_then_ok(self):
        e = self.env
        self.ensure_absent("Rook", self.rook_present)
        self.ensure_cluster_ready()
        self.ensure_devices({0: 0, 1: 0, 2: 0})
        self.assertEqual(len(e.add_devices(self.n3, 2)), 2)
        self.assertEqual(self.apply("rook-crds.yaml").rc, 0)
        self.assertEqual(self.apply("rook-operator.yaml").rc, 0)
        r = self.apply_text(self.CLUSTER)
        self.assertEqual(r.rc, 0, r)

        def too_few_osds(s):
            checks = (s or {}).get("health", {}).get("checks") or {}
            return bool(s) and s["osdmap"]["num_osds"] == 2 and s["health"]["status"] == "HEALTH_WARN" and \
                s["quorum_names"] == ["a", "b", "c"] and "PG_AVAILABILITY" in checks and \
                (checks.get("TOO_FEW_OSDS") or {}).get("summary", {}).get("message") == \
                "OSD count 2 < osd_pool_default_size 3"
        # the mons come up one by one: wait for all 3 in quorum (with 2, MON_DOWN alone makes HEALTH_WARN)
        s = self.wait(self.ceph_status, 150, "ceph with 2 OSDs on one host, 3 mons in quorum: HEALTH_WARN with "
                      "TOO_FEW_OSDS and PG_AVAILABILITY", done=too_few_osds, interval=2)
        self.assertEqual(s["osdmap"]["num_osds"], 2)
        self.assertEqual(s["health"]["status"], "HEALTH_WARN")
        self.assertEqual(s["quorum_names"], ["a", "b", "c"])
        self.assertIn("PG_AVAILABILITY", s["health"]["checks"])
        self.assertEqual(s["health"]["checks"]["TOO_FEW_OSDS"]["summary"]["message"],
                         "OSD count 2 < osd_pool_default_size 3")
        self.assertTrue(self.ceph("health").out.startswith("HEALTH_WARN"))
        self.assertEqual(self.ceph("osd pool get replicapool size").out.strip(), "size: 3")
        for h in (self.n1, self.n2):
            self.assertEqual(len(e.add_devices(h, 1)), 1)
        s = self.wait(self.ceph_status, 150, "HEALTH_OK with 4 OSDs up and in, 32 PGs active+clean",
                      done=lambda s: self.healthy_with_osds(s, 4), interval=2)
        self.assertEqual(s["health"]["status"], "HEALTH_OK")
        self.assertEqual(self.osd_counts(s), (4, 4, 4))
        self.assertEqual(s["pgmap"]["pgs_by_state"], [{"state_name": "active+clean", "count": 32}])
        cl = self.wait(lambda: self.env.get_json("-n rook-ceph get cephcluster rook-ceph"), 30,
                       "CephCluster status HEALTH_OK", done=lambda cl: self.cluster_health(cl) == "HEALTH_OK")
        self.assertEqual(self.cluster_health(cl), "HEALTH_OK")

    def test_14_fault_osd_down(self):
        e = self.env
        self.ensure_rook_healthy()
        self.assertEqual(len(e.devices(self.n3)), 2)

        def n3_down(s):
            checks = (s or {}).get("health", {}).get("checks") or {}
            return "OSD_DOWN" in checks and self.osd_counts(s)[:2] == (4, 2) and \
                (checks.get("OSD_HOST_DOWN") or {}).get("summary", {}).get("message") == "1 host (2 osds) down"
        subprocess.run([LAB_K8S, "fault", e.name, self.n3, "osd-down"], check=True, capture_output=True, timeout=120)
        try:
            s = self.wait(self.ceph_status, 60, "OSD_DOWN: node3's 2 of 4 OSDs down, 1 host (2 osds) down",
                          done=n3_down, interval=2)
            self.assertIn("OSD_DOWN", s["health"]["checks"])
            self.assertEqual(s["osdmap"]["num_up_osds"], 2)
            self.assertIn("1 host (2 osds) down", self.ceph("health").out)
        finally:
            subprocess.run([LAB_K8S, "fault", e.name, self.n3, "osd-up"], check=True, capture_output=True, timeout=120)
        s = self.wait(self.ceph_status, 60, "HEALTH_OK again with 4 OSDs up", done=lambda s: self.healthy_with_osds(s, 4),
                      interval=2)
        self.assertEqual(s["health"]["status"], "HEALTH_OK")

    def ensure_demo_web(self):
        """Deployment demo/web (2 replicas, from lb-service.yaml) rolled out."""
        self.ensure_cluster_ready()
        self.assertEqual(self.apply("lb-service.yaml", server_side=False).rc, 0)
        self.wait(lambda: self.kubectl("-n demo rollout status deploy/web --timeout=5s"), 120, "demo/web rolled out",
                  done=lambda r: r.rc == 0)

    def test_15_fault_image_pull_and_never_ready(self):
        e = self.env
        self.ensure_demo_web()
        subprocess.run([LAB_K8S, "fault", e.name, "demo/web", "image-pull"], check=True, capture_output=True,
                       timeout=120)
        try:
            self.kubectl("-n demo delete pod -l app=web --all")

            def reasons(pods):
                return [cs["state"].get("waiting", {}).get("reason") for p in pods
                        for cs in p["status"].get("containerStatuses") or []]
            self.wait(lambda: self.kjson("-n demo get pods -l app=web")["items"], 120,
                      "2 pods of demo/web in ImagePullBackOff",
                      done=lambda pods: len(reasons(pods)) == 2 and all(r == "ImagePullBackOff" for r in reasons(pods)))
            # the Deployment's status follows the pods two controller syncs later (ReplicaSet first):
            # on a loaded machine it can still show the deleted pods as available
            self.wait(lambda: self.kubectl("-n demo get deploy web -o jsonpath='{.status.unavailableReplicas}'")
                      .out.strip(), 60, "Deployment status to show the 2 pods unavailable", done=lambda o: o == "2")
            r = self.kubectl("-n demo rollout status deploy/web --timeout=3s")
            self.assertFailed(r, "timed out waiting for the condition")
        finally:
            subprocess.run([LAB_K8S, "fault", e.name, "demo/web", "image-pull-clear"], check=True, capture_output=True,
                           timeout=120)
        self.wait(lambda: self.kubectl("-n demo rollout status deploy/web --timeout=5s"), 120, "web rolled out",
                  done=lambda r: r.rc == 0)
        subprocess.run([LAB_K8S, "fault", e.name, self.n3, "never-ready"], check=True, capture_output=True, timeout=120)
        try:
            self.wait(lambda: self.ready(self.n3), 40, "node3 NotReady", done=lambda ready: not ready)
        finally:
            subprocess.run([LAB_K8S, "fault", e.name, self.n3, "ready"], check=True, capture_output=True, timeout=120)
        self.wait(lambda: self.ready(self.n3), 40, "node3 Ready again")

    def test_15_fault_slow_host(self):
        e = self.env
        self.ensure_cluster_ready()
        self.ensure_namespace("demo")
        r = self.kubectl("-n demo delete pod slow-probe --ignore-not-found --wait=true --timeout=60s")
        self.assertEqual(r.rc, 0, r)
        pod = """apiVersion: v1
kind: Pod
metadata: {name: slow-probe, namespace: demo}
spec:
  nodeName: %s
  containers:
  - {name: c, image: registry.k8s.io/pause:3.10}
"""
        subprocess.run([LAB_K8S, "fault", e.name, self.n3, "slow", "4s"], check=True, capture_output=True, timeout=120)
        try:
            t0 = time.time()
            r = self.apply_text(pod % self.n3, server_side=False)
            self.assertEqual(r.rc, 0, r)
            self.wait(lambda: self.kubectl("-n demo wait --for=condition=Ready pod/slow-probe --timeout=2s"),
                      60, "slow-probe Ready", done=lambda r: r.rc == 0)
            self.assertGreaterEqual(time.time() - t0, 4.0)
        finally:
            subprocess.run([LAB_K8S, "fault", e.name, self.n3, "fast"], check=True, capture_output=True, timeout=120)
            self.kubectl("-n demo delete pod slow-probe --ignore-not-found --wait=false")

    def test_16_fault_apiserver_stop(self):
        e = self.env
        ip1 = e.hosts[0][1]
        # the load balancer needs a second API server to fall back to: node2's (ensure_member waits for its /readyz)
        self.ensure_member(1, control_plane=True)
        subprocess.run([LAB_K8S, "fault", e.name, self.n1, "apiserver-stop"], check=True, capture_output=True,
                       timeout=120)
        try:
            self.wait(lambda: e.ctl("curl -sk --max-time 2 https://%s:6443/readyz" % ip1, check=False), 30,
                      "node1's API server down (connection refused)", done=lambda r: r.rc != 0)
            self.assertEqual(self.readyz(e.hosts[1][1]), "ok")                      # node2's
            self.assertEqual(self.kubectl("get --raw /readyz").out.strip(), "ok")   # via the load balancer
        finally:
            subprocess.run([LAB_K8S, "fault", e.name, self.n1, "apiserver-start"], check=True, capture_output=True,
                           timeout=120)
        self.wait(lambda: self.readyz(ip1), 60, "node1's API server back", done=lambda o: o == "ok")

    def test_17_etcd_quorum_loss_breaks_the_api(self):
        e = self.env
        self.ensure_initialized()
        e.sh(self.n2, "systemctl stop etcd")
        e.sh(self.n3, "systemctl stop etcd")
        try:
            r = self.wait(lambda: self.kubectl("get --raw /readyz"), 60, "readyz to fail with [-]etcd failed",
                          done=lambda r: r.rc != 0 and "[-]etcd failed: reason withheld" in r.out + r.err)
            self.assertIn("[-]etcd failed: reason withheld", r.out + r.err)
            r = self.kubectl("create namespace quorum-test")
            self.assertFailed(r, "Error from server")
        finally:
            e.sh(self.n2, "systemctl start etcd")
            e.sh(self.n3, "systemctl start etcd")
        self.wait(lambda: self.kubectl("get --raw /readyz"), 90, "readyz ok again",
                  done=lambda r: r.rc == 0 and r.out.strip() == "ok")
        e.wait_etcd(60)

    def test_20_ready_only_after_the_readiness_probe_delay(self):
        self.ensure_cluster_ready()
        self.ensure_namespace("demo")
        self.kubectl("-n demo delete pod probe-delay --ignore-not-found --wait=true --timeout=60s")
        pod = """apiVersion: v1
kind: Pod
metadata: {name: probe-delay, namespace: demo}
spec:
  containers:
  - name: c
    image: registry.k8s.io/pause:3.10
    readinessProbe:
      httpGet: {path: /, port: 8080}
      initialDelaySeconds: 15
"""
        try:
            self.assertEqual(self.apply_text(pod).rc, 0)
            running = self.wait(lambda: self.kjson("-n demo get pod probe-delay")["status"], 60, "probe-delay Running",
                                done=lambda st: st.get("phase") == "Running")
            started = running["containerStatuses"][0]["state"]["running"]["startedAt"]
            r = self.kubectl("-n demo wait --for=condition=Ready pod/probe-delay --timeout=60s")
            self.assertEqual(r.rc, 0, r)
            st = self.kjson("-n demo get pod probe-delay")["status"]
            ready = next(c for c in st["conditions"] if c["type"] == "Ready")
            delay = (labenv_time(ready["lastTransitionTime"]) - labenv_time(started))
            self.assertGreaterEqual(delay, 15, (started, ready))
        finally:
            self.kubectl("-n demo delete pod probe-delay --ignore-not-found --wait=false")

    def test_21_missing_secret_volume_keeps_the_pod_creating(self):
        self.ensure_cluster_ready()
        self.ensure_namespace("demo")
        self.kubectl("-n demo delete pod needs-secret --ignore-not-found --wait=true --timeout=60s")
        self.kubectl("-n demo delete secret lab-certs --ignore-not-found")
        pod = """apiVersion: v1
kind: Pod
metadata: {name: needs-secret, namespace: demo}
spec:
  containers:
  - name: c
    image: registry.k8s.io/pause:3.10
    volumeMounts: [{name: certs, mountPath: /certs}]
  volumes:
  - name: certs
    secret: {secretName: lab-certs}
"""
        try:
            self.assertEqual(self.apply_text(pod).rc, 0)

            def events():
                return [(e["reason"], e["message"]) for e in self.kjson(
                    "-n demo get events --field-selector involvedObject.name=needs-secret")["items"]]
            ev = self.wait(events, 60, "a FailedMount event for needs-secret",
                           done=lambda ev: any(r == "FailedMount" for r, _ in ev))
            self.assertIn(("FailedMount", 'MountVolume.SetUp failed for volume "certs" : secret "lab-certs" not found'),
                          ev)
            st = self.kjson("-n demo get pod needs-secret")["status"]
            self.assertEqual(st["phase"], "Pending")
            self.assertEqual(st["containerStatuses"][0]["state"]["waiting"]["reason"], "ContainerCreating")
            r = self.kubectl("-n demo get pod needs-secret --no-headers")
            self.assertIn("ContainerCreating", r.out)
            self.assertEqual(self.kubectl("-n demo create secret generic lab-certs --from-literal=tls.crt=x").rc, 0)
            r = self.kubectl("-n demo wait --for=condition=Ready pod/needs-secret --timeout=90s")
            self.assertEqual(r.rc, 0, r)
        finally:
            self.kubectl("-n demo delete pod needs-secret --ignore-not-found --wait=false")
            self.kubectl("-n demo delete secret lab-certs --ignore-not-found")

    def test_22_job_failure_fault(self):
        e = self.env
        self.ensure_cluster_ready()
        self.ensure_namespace("demo")
        self.kubectl("-n demo delete job doomed --ignore-not-found --wait=true --timeout=60s")
        job = """apiVersion: batch/v1
kind: Job
metadata: {name: doomed, namespace: demo}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: c, image: registry.k8s.io/busybox:1.36, command: [sh, -c, "exit 1"]}
"""
        subprocess.run([LAB_K8S, "fault", e.name, "demo/doomed", "job-fail"], check=True, capture_output=True,
                       timeout=120)
        try:
            self.assertEqual(self.apply_text(job).rc, 0)
            r = self.kubectl("-n demo wait --for=condition=Failed job/doomed --timeout=120s", timeout=150)
            self.assertEqual(r.rc, 0, r)
            st = self.kjson("-n demo get job doomed")["status"]
            failed = next(c for c in st["conditions"] if c["type"] == "Failed")
            self.assertEqual((failed["reason"], failed["message"]),
                             ("BackoffLimitExceeded", "Job has reached the specified backoff limit"))
            self.assertEqual(st["failed"], 2)
            r = self.kubectl("-n demo get job doomed --no-headers")
            self.assertEqual(r.out.split()[1], "Failed")
        finally:
            subprocess.run([LAB_K8S, "fault", e.name, "demo/doomed", "job-fail-clear"], check=True,
                           capture_output=True, timeout=120)
            self.kubectl("-n demo delete job doomed --ignore-not-found --wait=false")

    def test_18_real_kubectl_reads_the_api(self):
        """The real kubectl against the stand-in: server-side tables, discovery, errors."""
        self.ensure_initialized()
        r = self.kubectl("get nodes")
        self.assertEqual(r.rc, 0, r)
        header = r.out.splitlines()[0].split()
        self.assertEqual(header, ["NAME", "STATUS", "ROLES", "AGE", "VERSION"])
        row = next(l.split() for l in r.out.splitlines()[1:] if l.split()[0] == self.n1)
        self.assertEqual((row[2], row[4]), ("control-plane", "v" + self.env.version))
        r = self.kubectl("get foo")
        self.assertFailed(r, 'error: the server doesn\'t have a resource type "foo"')
        r = self.kubectl("-n kube-system get deploy nope")
        self.assertFailed(r, 'Error from server (NotFound): deployments.apps "nope" not found')
        r = self.kubectl("get pods --bogus")
        self.assertFailed(r, "error: unknown flag: --bogus")

    def test_19_reset_removes_what_join_wrote(self):
        e = self.env
        self.ensure_member(2, control_plane=False)
        r = e.sh(self.n3, "ls /etc/kubernetes/kubelet.conf /var/lib/kubelet/config.yaml", check=False)
        self.assertEqual(r.rc, 0, r)                                   # what the join wrote is there
        r = e.sh(self.n3, "kubeadm reset -f", check=False)
        self.assertEqual(r.rc, 0, r)
        r = e.sh(self.n3, "ls /etc/kubernetes/kubelet.conf /var/lib/kubelet/config.yaml 2>&1; "
                          "ls /etc/kubernetes/manifests | wc -l", check=False)
        self.assertIn("No such file or directory", r.out)


if __name__ == "__main__":
    unittest.main()
