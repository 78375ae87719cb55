"""kubeadm upgrade plan | apply | node, as kubeadm 1.35-1.37 do them with external etcd.

Followed from kubeadm's sources as read for this lab (cmd/upgrade/apply.go and the apply phases:
preflight, control-plane, upload-config, kubeconfig, kubelet-config, bootstrap-token, addon,
post-upgrade; phases/upgrade/policy.go, health.go, staticpods.go, versiongetter.go) and from a real
1.35.9 -> 1.36.5 transcript of `upgrade plan`, `upgrade apply` and a worker's `upgrade node`.
What the lab simplifies or could not verify is said where it happens."""
import datetime
import os
import sys
import tempfile
import time

import yaml

import kubeadm
import kubeadm_certs
import kubeadm_config as kc
import pki
from apiclient import ApiError, Client, ConnError, KubeConfig
from common import Fatal, format_duration, hostname, k8s_version, parse_version, read_file, write_file, yaml_dump
from kubeadm import KDIR, KUBELET_DIR, MANIFESTS, TRACE_HINT, PhaseError, out, warn

COMPONENTS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]
UPGRADE_MANIFEST_TIMEOUT = 300.0        # UpgradeConfiguration timeouts.upgradeManifests default (5m0s)
TMP = KDIR + "/tmp"
# The kubelet may be up to three minor versions older than the control plane (KEP-3935; kubeadm's
# MaximumAllowedMinorVersionKubeletSkew is 3 since 1.28: from memory, the stored policy.go is older).
KUBELET_SKEW = 3
BOOTSTRAP_RBAC_LINES = [
    "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes",
    "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long "
    "term certificate credentials",
    "[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a "
    "Node Bootstrap Token",
    "[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the "
    "cluster",
    "[bootstrap-token] Configured RBAC rules to allow the API server kubelet client certificate to access the kubelet "
    "API"]

COMMON_FLAGS = {"config": "str", "kubeconfig": "str", "v": "str", "allow-experimental-upgrades": "bool",
                "allow-release-candidate-upgrades": "bool", "print-config": "bool", "ignore-preflight-errors": "list",
                "help": "bool", "h": "bool"}
APPLY_FLAGS = dict(COMMON_FLAGS, **{"yes": "bool", "y": "bool", "force": "bool", "f": "bool", "dry-run": "bool",
                                    "certificate-renewal": "bool", "etcd-upgrade": "bool", "patches": "str",
                                    "skip-phases": "list"})
NODE_FLAGS = {"kubeconfig": "str", "config": "str", "v": "str", "dry-run": "bool", "certificate-renewal": "bool",
              "etcd-upgrade": "bool", "patches": "str", "skip-phases": "list", "ignore-preflight-errors": "list",
              "help": "bool", "h": "bool"}
PLAN_FLAGS = dict(COMMON_FLAGS, **{"o": "str", "output": "str", "show-managed-fields": "bool",
                                   "allow-missing-template-keys": "bool"})


# ------------------------------------------------------------------ versions

def vstr(v):
    return "v%d.%d.%d" % tuple(v[:3])


def normalize(version):
    """kubeadm's KubernetesReleaseVersion for an explicit version: v-prefixed."""
    v = parse_version(version or "")
    if v is None:
        if str(version).startswith(("stable", "latest", "ci/")):
            raise Fatal('unable to fetch file. URL: "https://dl.k8s.io/release/%s.txt", status: 0 (the lab has no '
                        'internet: give an explicit version)' % version)
        raise Fatal('couldn\'t parse Kubernetes version "%s": illegal version string "%s"' % (version, version))
    return vstr(v)


def policy_errors(target, cluster, kubeadm_v, kubelet_versions):
    """upgrade.EnforceVersionPolicies (policy.go): (mandatory, skippable) error texts. Versions as
    v-prefixed strings; kubelet_versions: the kubeletVersion of every Node."""
    t, c, k = parse_version(target), parse_version(cluster), parse_version(kubeadm_v)
    mandatory, skippable = [], []
    minimum = (k[0], k[1] - 1, 0)         # constants.MinimumControlPlaneVersion: kubeadm's minor - 1
    if t < minimum:
        # (kubeadm prints the cluster version where it means the minimum; kept)
        mandatory.append('Specified version to upgrade to "%s" is equal to or lower than the minimum supported version '
                         '"%s". Please specify a higher version to upgrade to' % (target, cluster))
    if t[1] > c[1] + 1:
        mandatory.append('Specified version to upgrade to "%s" is too high; kubeadm can upgrade only 1 minor version '
                         'at a time' % target)
    if t[1] < c[1] - 1:
        mandatory.append('Specified version to downgrade to "%s" is too low; kubeadm can downgrade only 1 minor '
                         'version at a time' % target)
    if k < t:
        if t[1] > k[1]:
            mandatory.append('Specified version to upgrade to "%s" is at least one minor release higher than the kubeadm '
                             'minor release (%d > %d). Such an upgrade is not supported' % (target, t[1], k[1]))
        else:
            skippable.append('Specified version to upgrade to "%s" is higher than the kubeadm version "%s". Upgrade '
                             'kubeadm first using the tool you used to install kubeadm' % (target, kubeadm_v))
    if k[0] > t[0] or k[1] > t[1]:
        skippable.append("Kubeadm version %s can only be used to upgrade to Kubernetes version %d.%d" % (
            kubeadm_v, k[0], k[1]))
    too_old = sorted({v for v in kubelet_versions if parse_version(v) and t[1] > parse_version(v)[1] + KUBELET_SKEW})
    if too_old:
        skippable.append("There are kubelets in this cluster that are too old that have these versions [%s]" %
                         " ".join(too_old))
    return mandatory, skippable


def format_errors(errs):
    return "".join("\t- %s\n" % e for e in errs)


# ------------------------------------------------------------------ the cluster as kubeadm reads it

def client_for(path):
    if not os.path.exists(path):
        raise Fatal("couldn't create a Kubernetes client from file \"%s\": failed to load admin kubeconfig: open %s: "
                    "no such file or directory\n%s" % (path, path, TRACE_HINT))
    return Client.from_kubeconfig(path, timeout=10, user_agent="kubeadm/v%s (linux/amd64)" % k8s_version())


def fetch_cluster_configuration(client, prefix="upgrade"):
    out('[%s] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...' % prefix)
    out("[%s] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it." % prefix)
    try:
        cm = client.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
    except ApiError as e:
        if e.code == 404:
            out('[upgrade] In order to upgrade, a ConfigMap called "kubeadm-config" in the "kube-system" namespace must '
                'exist.')
            out("[upgrade] Use 'kubeadm init phase upload-config --config your-config.yaml' to re-upload it.")
            raise Fatal('[upgrade] FATAL: the ConfigMap "kubeadm-config" in the "kube-system" namespace was not found\n%s'
                        % TRACE_HINT)
        raise Fatal("[upgrade] FATAL: %s\n%s" % (e.message, TRACE_HINT))
    except ConnError as e:
        raise Fatal("[upgrade] FATAL: %s\n%s" % (e, TRACE_HINT))
    return yaml.safe_load(cm["data"]["ClusterConfiguration"]) or {}


def node_name():
    """This host's Node name: the kubelet's client certificate says system:node:NAME."""
    try:
        k = KubeConfig(KDIR + "/kubelet.conf")
        crt = k._bytes(k.user, "client-certificate")
        cn = pki.cert_info(crt.split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n")["cn"] or ""
        if cn.startswith("system:node:"):
            return cn[len("system:node:"):]
    except (Fatal, OSError, TypeError, AttributeError):
        pass
    return hostname()


def local_endpoint():
    """The address and port of this node's API server: kubeadm keeps them in the kube-apiserver
    manifest's (and mirror pod's) kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint."""
    try:
        m = yaml.safe_load(read_file(MANIFESTS + "/kube-apiserver.yaml", "")) or {}
        ep = (m["metadata"].get("annotations") or {})["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"]
        host, port = ep.rsplit(":", 1)
        return host, int(port)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None, 6443


def cluster_version(client):
    """VersionGetter.ClusterVersion: the API server's /version."""
    try:
        return client.get("/version")["gitVersion"]
    except (ApiError, ConnError, KeyError) as e:
        raise PhaseError("preflight", "Unable to fetch cluster version: Couldn't fetch cluster version from the API "
                         "Server: %s" % e)


def kubelet_versions(client):
    """{kubeletVersion: [node names]} (KubeletVersions)."""
    out_ = {}
    for n in client.get("/api/v1/nodes")["items"]:
        v = ((n.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")
        out_.setdefault(v, []).append(n["metadata"]["name"])
    return out_


def component_versions(client, component):
    """{image tag: [node names]} of the mirror pods component=X,tier=control-plane (ComponentVersions)."""
    pods = client.get("/api/v1/namespaces/kube-system/pods",
                      query={"labelSelector": "component=%s,tier=control-plane" % component})["items"]
    res = {}
    for p in pods:
        image = p["spec"]["containers"][0].get("image", "")
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        res.setdefault(tag, []).append(p["spec"].get("nodeName", ""))
    return res


# ------------------------------------------------------------------ health checks (health.go)

def create_job_check(client, cc):
    prefix, ns, timeout = "upgrade-health-check", "kube-system", 15.0
    nodes = [n for n in client.get("/api/v1/nodes")["items"] if not (n.get("spec") or {}).get("unschedulable")]
    if not nodes:
        warn('W%s %7d health.go] The preflight check "CreateJob" was skipped because there are no schedulable Nodes in '
             'the cluster.' % (time.strftime("%m%d %H:%M:%S.000000"), os.getpid()))
        return None
    repo = cc.get("imageRepository", "registry.k8s.io")
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": prefix + "-", "namespace": ns},
           "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": int(timeout) + 5, "template": {"spec": {
               "restartPolicy": "Never",
               "securityContext": {"runAsUser": 999, "runAsGroup": 999, "runAsNonRoot": True},
               "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
               "containers": [{"name": prefix, "image": "%s/pause:%s" % (repo, kubeadm.images()["pause"]),
                               "args": ["-v"]}]}}}}
    end = time.monotonic() + timeout
    name, last = None, ""
    while name is None:
        try:
            name = client.post("/apis/batch/v1/namespaces/%s/jobs" % ns, job)["metadata"]["name"]
        except (ApiError, ConnError) as e:
            last = str(e)
            if time.monotonic() > end:
                return 'could not create a Job with the prefix "%s" in the namespace "%s": %s' % (prefix, ns, last)
            time.sleep(1)
    end = time.monotonic() + timeout
    while True:
        try:
            j = client.get("/apis/batch/v1/namespaces/%s/jobs/%s" % (ns, name))
            if any(c.get("type") == "Complete" and c.get("status") == "True"
                   for c in (j.get("status") or {}).get("conditions") or []):
                return None
            last = "no condition of type Complete"
        except (ApiError, ConnError) as e:
            last = str(e)
        if time.monotonic() > end:
            return 'Job "%s" in the namespace "%s" did not complete in %s: %s' % (name, ns, format_duration(timeout),
                                                                                 last)
        time.sleep(1)


def control_plane_nodes_ready(client):
    nodes = client.get("/api/v1/nodes", query={"labelSelector": "node-role.kubernetes.io/control-plane="})["items"]
    bad = [n["metadata"]["name"] for n in nodes for c in (n.get("status") or {}).get("conditions") or []
           if c.get("type") == "Ready" and c.get("status") != "True"]
    if bad:
        return "there are NotReady control-planes in the cluster: [%s]" % " ".join(bad)
    return None


def static_pod_manifests():
    missing = [MANIFESTS + "/%s.yaml" % c for c in COMPONENTS if not os.path.exists(MANIFESTS + "/%s.yaml" % c)]
    if missing:
        return ("The control plane seems to be Static Pod-hosted, but some of the manifests don't seem to exist on disk. "
                "This probably means you're running 'kubeadm upgrade' on a remote machine, which is not supported for "
                "a Static Pod-hosted cluster. Manifest files not found: [%s]" % " ".join(missing))
    return None


def run_checks(checks, ignore):
    kubeadm.run_checks(checks, {i.lower() for i in ignore or []})


def cluster_health(client, cc, ignore):
    out("[upgrade] Running cluster health checks")
    run_checks([("CreateJob", lambda: create_job_check(client, cc)),
                ("ControlPlaneNodesReady", lambda: control_plane_nodes_ready(client)),
                ("StaticPodManifest", static_pod_manifests)], ignore)


def root_check(ignore):
    if os.geteuid() != 0:
        run_checks([("IsPrivilegedUser", lambda: "user is not running as root")], ignore)


# ------------------------------------------------------------------ static pods (staticpods.go)

def this_node(cc):
    adv, port = local_endpoint()
    ic = {"nodeRegistration": {"name": node_name()}, "localAPIEndpoint": {"bindPort": port}}
    if adv:
        ic["localAPIEndpoint"]["advertiseAddress"] = adv
    return kubeadm.Node(ic, cc)


def mirror_hash(client, component, node):
    try:
        p = client.get("/api/v1/namespaces/kube-system/pods/%s-%s" % (component, node))
        return (p["metadata"].get("annotations") or {}).get("kubernetes.io/config.hash")
    except (ApiError, ConnError):
        return None


def wait_hash_change(client, component, node, before, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        h = mirror_hash(client, component, node)
        if h and h != before:
            return None
        time.sleep(1)
    return "timed out waiting for the condition"


def wait_pods_running(client, component, timeout):
    """WaitForPodsWithLabel: every pod with the label Running."""
    end, last_n = time.monotonic() + timeout, -1
    while time.monotonic() < end:
        try:
            pods = client.get("/api/v1/namespaces/kube-system/pods",
                              query={"labelSelector": "component=" + component})["items"]
        except (ApiError, ConnError) as e:
            out('[apiclient] Error getting Pods with label selector "component=%s" [%s]' % (component, e))
            time.sleep(1)
            continue
        if len(pods) != last_n:
            out("[apiclient] Found %d Pods for label selector component=%s" % (len(pods), component))
            last_n = len(pods)
        if pods and all((p.get("status") or {}).get("phase") == "Running" for p in pods):
            return None
        time.sleep(1)
    return "timed out waiting for the condition"


def static_pod_upgrade(client, cc, renew, timeout=UPGRADE_MANIFEST_TIMEOUT):
    """PerformStaticPodUpgrade with external etcd: render the manifests of this node for the cluster's
    kubernetesVersion into a temporary folder, then per component: equal -> skip; else renew its
    certificates, back the old manifest up, move the new one in, wait for the kubelet to restart the
    pod (mirror pod hash) and for the component's pods to run; on failure put the old manifests back."""
    node = this_node(cc)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H-%M-%S")
    os.makedirs(TMP, exist_ok=True)
    new_dir = tempfile.mkdtemp(prefix="kubeadm-upgraded-manifests", dir=TMP)
    backup_dir = os.path.join(TMP, "kubeadm-backup-manifests-" + stamp)
    os.makedirs(backup_dir, exist_ok=True)
    out('[upgrade/staticpods] Writing new Static Pod manifests to "%s"' % new_dir)
    kubeadm.phase_control_plane(node, mdir=new_dir, say=lambda _m: None)
    moved = []
    for comp in COMPONENTS:
        cur, new = MANIFESTS + "/%s.yaml" % comp, os.path.join(new_dir, comp + ".yaml")
        out('[upgrade/staticpods] Preparing for "%s" upgrade' % comp)
        if read_file(cur, binary=True) == read_file(new, binary=True):
            out("[upgrade/staticpods] Current and new manifests of %s are equal, skipping upgrade" % comp)
            continue
        if renew:
            kubeadm_certs.renew_for_component(comp, cc, node.pki_dir)
        before = mirror_hash(client, comp, node.name)
        backup = os.path.join(backup_dir, comp + ".yaml")
        out('[upgrade/staticpods] Moving new manifest to "%s" and backing up old manifest to "%s"' % (cur, backup))
        write_file(backup, read_file(cur, binary=True), 0o600)
        write_file(cur, read_file(new, binary=True), 0o600)
        moved.append((cur, backup))
        out("[upgrade/staticpods] Waiting for the kubelet to restart the component")
        out("[upgrade/staticpods] This can take up to %s" % format_duration(timeout))
        err = wait_hash_change(client, comp, node.name, before, timeout) or wait_pods_running(client, comp, timeout)
        if err:
            for c, b in moved:
                write_file(c, read_file(b, binary=True), 0o600)
            # rollbackOldManifests' words (staticpods.go), wrapped by the phase
            raise PhaseError("control-plane", "couldn't complete the static pod upgrade: couldn't upgrade control plane. "
                             "kubeadm has tried to recover everything into the earlier state. Errors faced: %s" % err)
        out('[upgrade/staticpods] Component "%s" upgraded successfully!' % comp)
    if renew:
        kubeadm_certs.renew_admin_kubeconfigs(cc, node.pki_dir)
    return node


# ------------------------------------------------------------------ the other phases

def upload_config(client, cc):
    out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace')
    cm = client.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
    cm["data"]["ClusterConfiguration"] = yaml_dump(cc)
    client.put("/api/v1/namespaces/kube-system/configmaps/kubeadm-config", cm)
    out('[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the '
        'kubelets in the cluster')
    # kubeadm re-renders the kubelet's component config for the new release; the lab's is the same
    # for 1.35-1.37, so the stored one is kept as it is.


def kubelet_config_phase(client, dry_run=False):
    """WriteKubeletConfigFiles: back up /var/lib/kubelet/config.yaml, write the kubelet-config
    ConfigMap's configuration with this node's instance configuration (NodeLocalCRISocket) patched in."""
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H-%M-%S")
    backup = os.path.join(TMP, "kubeadm-kubelet-config-" + stamp)
    warn("W%s %7d postupgrade.go:105] Using temporary directory %s for kubelet config. To override it set the "
         "environment variable KUBEADM_UPGRADE_DRYRUN_DIR" % (time.strftime("%m%d %H:%M:%S.000000"), os.getpid(), backup))
    try:
        text = client.get("/api/v1/namespaces/kube-system/configmaps/kubelet-config")["data"]["kubelet"]
    except (ApiError, ConnError, KeyError) as e:
        raise PhaseError("kubelet-config", "error downloading kubelet configuration from the ConfigMap \"kubelet-config\" "
                         "in the cluster: %s" % e)
    cfg = yaml.safe_load(text) or {}
    src = KUBELET_DIR + "/config.yaml"
    out("[upgrade] Backing up kubelet config file to %s/config.yaml" % backup)
    data = read_file(src, binary=True)
    if data is None:
        raise PhaseError("kubelet-config", "error backing up the kubelet config file: open %s: no such file or directory"
                         % src)
    write_file(os.path.join(backup, "config.yaml"), data, 0o644)
    inst = yaml.safe_load(read_file(KUBELET_DIR + "/instance-config.yaml", "") or "") or {}
    if inst.get("containerRuntimeEndpoint"):
        cfg["containerRuntimeEndpoint"] = inst["containerRuntimeEndpoint"]
        out('[patches] Applied patch of type "application/strategic-merge-patch+json" to target "kubeletconfiguration"')
    out('[kubelet-start] Writing kubelet configuration to file "%s/config.yaml"' % KUBELET_DIR)
    write_file(src, yaml_dump(cfg), 0o644)
    out("[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!")


def bootstrap_token_phase(client):
    out("[upgrade/bootstrap-token] Configuring bootstrap token and cluster-info RBAC rules")
    for b in kubeadm.rbac_bindings():
        try:
            kubeadm.upsert(client, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", b)
        except (ApiError, ConnError) as e:
            raise PhaseError("bootstrap-token", "unable to create ClusterRoleBinding: %s" % e)
    for line in BOOTSTRAP_RBAC_LINES:
        out(line)


def unupgraded_control_planes(client, node):
    """UnupgradedControlPlaneInstances: the nodes whose kube-apiserver image differs from this node's."""
    pods = client.get("/api/v1/namespaces/kube-system/pods", query={"labelSelector": "component=kube-apiserver"})["items"]
    images = {p["spec"].get("nodeName"): next((c.get("image") for c in p["spec"]["containers"]
                                               if c.get("name") == "kube-apiserver"), None) for p in pods}
    if node not in images:
        raise PhaseError("addon", "failed to determine whether all the control plane instances have been upgraded: "
                         "cannot find kube-apiserver image for current control plane instance %s" % node)
    return sorted(n for n, i in images.items() if i != images[node])


def addon_phase(client, cc, node, control_plane):
    """CoreDNS and kube-proxy at the new release, once every control-plane instance is upgraded.
    Simplified: the lab sets the DaemonSet's and the Deployment's images; kubeadm re-renders both
    add-ons (keeping the kube-proxy configuration and migrating the Corefile)."""
    if not control_plane:
        out("[upgrade/addon] Skipping the addon/coredns phase. Not a control plane node.")
        out("[upgrade/addon] Skipping the addon/kube-proxy phase. Not a control plane node.")
        return
    behind = unupgraded_control_planes(client, node)
    if behind:
        out("[upgrade/addon] Skipping upgrade of addons because control plane instances [%s] have not been upgraded"
            % " ".join(behind))
        return
    repo = cc.get("imageRepository", "registry.k8s.io")
    wants = []
    if not (cc.get("dns") or {}).get("disabled"):
        wants.append(("CoreDNS", "/apis/apps/v1/namespaces/kube-system/deployments/coredns", "coredns",
                      "%s/coredns/coredns:%s" % (repo, kubeadm.images()["coredns"]), "coredns"))
    if not (cc.get("proxy") or {}).get("disabled"):
        wants.append(("kube-proxy", "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy", "kube-proxy",
                      "%s/kube-proxy:%s" % (repo, cc["kubernetesVersion"]), "kube-proxy"))
    for label, path, container, image, cm in wants:
        try:
            client.get("/api/v1/namespaces/kube-system/configmaps/" + cm)
        except ApiError as e:
            if e.code == 404:
                warn('W%s %7d addons.go] the ConfigMap "%s" in the namespace "kube-system" was not found. Assuming that '
                     '%s was not deployed for this cluster.' % (time.strftime("%m%d %H:%M:%S.000000"), os.getpid(),
                                                                cm, label))
                continue
            raise
        for _ in range(10):
            try:
                obj = client.get(path)
                for c in obj["spec"]["template"]["spec"]["containers"]:
                    if c["name"] == container:
                        c["image"] = image
                client.put(path, obj)
                break
            except ApiError as e:
                if e.code != 409:
                    raise PhaseError("addon", "unable to update %s: %s" % (label, e.message))
        out("[addons] Applied essential addon: %s" % label)


def confirm(question="Are you sure you want to proceed?"):
    sys.stdout.write("[upgrade] %s [y/N]: " % question)
    sys.stdout.flush()
    if sys.stdin.readline().strip().lower() != "y":
        raise PhaseError("preflight", "won't proceed; the user didn't answer (Y|y) in order to continue")


def pull_images_lines(cc):
    out("[upgrade/preflight] Pulling images required for setting up a Kubernetes cluster")
    out("[upgrade/preflight] This might take a minute or two, depending on the speed of your internet connection")
    out("[upgrade/preflight] You can also perform this action beforehand using 'kubeadm config images pull'")
    node = kubeadm.Node({"nodeRegistration": {"name": node_name()}, "localAPIEndpoint": {"advertiseAddress": "127.0.0.1"}},
                        cc)
    kubeadm.sandbox_image_check(node)


def refuse_unsupported(opts):
    if opts.get("dry-run"):
        raise Fatal("--dry-run is not supported by the lab's kubeadm stand-in")
    if opts.get("config"):
        raise Fatal("the lab's kubeadm stand-in takes no --config for `kubeadm upgrade` (UpgradeConfiguration is not "
                    "simulated): use the flags")
    if opts.get("patches"):
        raise Fatal("--patches is not supported by the lab's kubeadm stand-in")


# ------------------------------------------------------------------ apply

def cmd_apply(argv):
    opts, pos = kubeadm.parse_args(argv, APPLY_FLAGS, "apply")
    refuse_unsupported(opts)
    if len(pos) != 1:
        raise Fatal("%s. Required arguments: [version]\n%s" % (
            "missing one or more required arguments" if not pos else "too many arguments", TRACE_HINT))
    force = bool(opts.get("force") or opts.get("f"))
    yes = bool(opts.get("yes") or opts.get("y")) or force
    renew = opts.get("certificate-renewal", True)
    ignore = opts.get("ignore-preflight-errors") or []
    skip = set(opts.get("skip-phases") or [])
    client = client_for(opts.get("kubeconfig") or KDIR + "/admin.conf")
    stored = fetch_cluster_configuration(client)
    target = normalize(pos[0])
    # preflight
    if "preflight" not in skip:
        out("[upgrade/preflight] Running preflight checks")
        root_check(ignore)
        cluster_health(client, stored, ignore)
        out('[upgrade/preflight] You have chosen to upgrade the cluster version to "%s"' % target)
        current = cluster_version(client)
        out("[upgrade/versions] Cluster version: %s" % current)
        mine = "v" + k8s_version()
        out("[upgrade/versions] kubeadm version: %s" % mine)
        mandatory, skippable = policy_errors(target, current, mine, list(kubelet_versions(client)))
        if mandatory:
            raise PhaseError("preflight", "the version argument is invalid due to these fatal errors:\n\n%s\nPlease fix "
                             "the misalignments highlighted above and try upgrading again" % format_errors(mandatory))
        if skippable and not force:
            raise PhaseError("preflight", "the version argument is invalid due to these errors:\n\n%s\nCan be bypassed "
                             "if you pass the --force flag" % format_errors(skippable))
        if skippable:
            out("[upgrade/preflight] Found %d potential version compatibility errors but skipping since the --force flag "
                "is set: \n\n%s" % (len(skippable), format_errors(skippable)))
        # the lab's window (its mirror has 1.35-1.37 only)
        kc.check_kubernetes_version(target, k8s_version())
        if not yes:
            confirm()
        pull_images_lines(stored)
    cc = kc.defaulted_cluster(dict(stored, kubernetesVersion=target), k8s_version())
    node = None
    if "control-plane" not in skip:
        out('[upgrade/control-plane] Upgrading your static Pod-hosted control plane to version "%s" (timeout: %s)...' % (
            target, format_duration(UPGRADE_MANIFEST_TIMEOUT)))
        node = static_pod_upgrade(client, cc, renew)
        out("[upgrade/control-plane] The control plane instance for this node was successfully upgraded!")
    if "upload-config" not in skip:
        upload_config(client, cc)
    if "kubeconfig" not in skip:
        out("[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!")
    if "kubelet-config" not in skip:
        kubelet_config_phase(client)
    if "bootstrap-token" not in skip:
        bootstrap_token_phase(client)
    if "addon" not in skip:
        addon_phase(client, cc, node.name if node else node_name(), True)
    out("")
    out('[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "%s".\n' % target)
    out("[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.")
    return 0


# ------------------------------------------------------------------ node

def cmd_node(argv):
    if argv[:1] == ["phase"]:
        raise Fatal("the lab's kubeadm stand-in implements no 'kubeadm upgrade node phase' subcommands")
    opts, pos = kubeadm.parse_args(argv, NODE_FLAGS, "node")
    refuse_unsupported(opts)
    if pos:
        raise Fatal('unknown command "%s" for "kubeadm upgrade node"\n%s' % (pos[0], TRACE_HINT))
    renew = opts.get("certificate-renewal", True)
    ignore = opts.get("ignore-preflight-errors") or []
    skip = set(opts.get("skip-phases") or [])
    control_plane = os.path.exists(MANIFESTS + "/kube-apiserver.yaml")
    path = opts.get("kubeconfig") or (KDIR + "/admin.conf" if control_plane else KDIR + "/kubelet.conf")
    client = client_for(path)
    stored = fetch_cluster_configuration(client)
    cc = kc.defaulted_cluster(stored, k8s_version())
    version = normalize(cc.get("kubernetesVersion"))
    if "preflight" not in skip:
        out("[upgrade/preflight] Running pre-flight checks")
        root_check(ignore)
        # THE LAB'S CHECK, not verified in kubeadm's sources: a kubeadm older (minor) than the cluster
        # it would upgrade this node to refuses, with the words of `upgrade apply`'s policy.
        mine, want = parse_version(k8s_version()), parse_version(version)
        if want[:2] > mine[:2]:
            raise PhaseError("preflight", "the version argument is invalid due to these fatal errors:\n\n\t- Specified "
                             "version to upgrade to \"%s\" is at least one minor release higher than the kubeadm minor "
                             "release (%d > %d). Such an upgrade is not supported\n\nPlease fix the misalignments "
                             "highlighted above and try upgrading again" % (version, want[1], mine[1]))
        if control_plane:
            pull_images_lines(cc)
        else:
            out("[upgrade/preflight] Skipping prepull. Not a control plane node.")
    node = None
    if "control-plane" not in skip:
        if control_plane:
            # (the words of kubeadm <1.31 with the phase prefix of 1.31+; the 1.3x text was not seen)
            out('[upgrade/control-plane] Upgrading your Static Pod-hosted control plane instance to version "%s"...'
                % version)
            node = static_pod_upgrade(client, cc, renew)
            out("[upgrade/control-plane] The control plane instance for this node was successfully upgraded!")
        else:
            out("[upgrade/control-plane] Skipping phase. Not a control plane node.")
    if "kubeconfig" not in skip:
        out("[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!" if control_plane else
            "[upgrade/kubeconfig] Skipping phase. Not a control plane node.")
    if "kubelet-config" not in skip:
        kubelet_config_phase(client)
    if "addon" not in skip:
        addon_phase(client, cc, node.name if node else node_name(), control_plane)
    return 0


# ------------------------------------------------------------------ plan

def cmd_plan(argv):
    opts, pos = kubeadm.parse_args(argv, PLAN_FLAGS, "plan")
    refuse_unsupported(opts)
    fmt = opts.get("o") or opts.get("output") or "text"
    if fmt != "text":
        raise Fatal("the lab's kubeadm stand-in prints `kubeadm upgrade plan` as text only")
    if len(pos) > 1:
        raise Fatal('unknown command "%s" for "kubeadm upgrade plan"' % pos[1])
    ignore = opts.get("ignore-preflight-errors") or []
    out("[preflight] Running pre-flight checks.")
    root_check(ignore)
    client = client_for(opts.get("kubeconfig") or KDIR + "/admin.conf")
    out('[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
    out("[upgrade/config] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.")
    try:
        stored = yaml.safe_load(client.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config")["data"][
            "ClusterConfiguration"]) or {}
    except (ApiError, ConnError, KeyError) as e:
        raise Fatal("[upgrade/config] FATAL: %s\n%s" % (e, TRACE_HINT))
    cluster_health(client, stored, ignore)
    out("[upgrade] Fetching available versions to upgrade to")
    current = cluster_version(client)
    # (a real 1.36.5 plan printed the ClusterConfiguration's version without the "v": kept so)
    out("[upgrade/versions] Cluster version: %s" % str(stored.get("kubernetesVersion", current)).lstrip("v"))
    mine = "v" + k8s_version()
    out("[upgrade/versions] kubeadm version: %s" % mine)
    if pos:
        target = normalize(pos[0])
    else:
        # VersionFromCILabel("stable") needs dl.k8s.io; the lab has no internet (the error text is the lab's)
        out('[upgrade/versions] WARNING: Couldn\'t fetch latest stable version from the internet: unable to get URL '
            '"https://dl.k8s.io/release/stable.txt": Get "https://dl.k8s.io/release/stable.txt": dial tcp: lookup '
            'dl.k8s.io: no such host')
        out("[upgrade/versions] WARNING: Falling back to current kubeadm version as latest stable version")
        target = mine
    out("[upgrade/versions] Target version: %s" % target)
    cv, tv = parse_version(current), parse_version(target)
    # (with a version argument, kubeadm names it here, whatever its series: seen in a 1.34 transcript)
    out("[upgrade/versions] Latest version in the v%d.%d series: %s" % (cv[0], cv[1], target if pos else current))
    out()
    if tv <= cv:
        out("Awesome, you're up-to-date! Enjoy!")
        return 0
    kubelets = kubelet_versions(client)
    rows = ["COMPONENT\tNODE\tCURRENT\tTARGET"]
    for v in sorted(kubelets):
        for n in sorted(kubelets[v]):
            if v != target:
                rows.append("kubelet\t%s\t%s\t%s" % (n, v, target))
    if len(rows) > 1:
        out("Components that must be upgraded manually after you have upgraded the control plane with 'kubeadm upgrade "
            "apply':")
        out(kubeadm_certs.tabwrite(rows))
        out()
    out("Upgrade to the latest stable version:" if not pos else "Upgrade to the latest version:")
    out()
    rows = ["COMPONENT\tNODE\tCURRENT\tTARGET"]
    for comp in COMPONENTS:
        for tag, nodes in sorted(component_versions(client, comp).items()):
            for n in sorted(nodes):
                rows.append("%s\t%s\t%s\t%s" % (comp, n, tag, target))
    ds = None
    try:
        ds = client.get("/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy")
    except ApiError:
        pass
    if ds:
        tag = ds["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[-1]
        rows.append("kube-proxy\t\t%s\t%s" % (tag.lstrip("v"), target))
    try:
        dns = client.get("/apis/apps/v1/namespaces/kube-system/deployments/coredns")
        rows.append("CoreDNS\t\t%s\t%s" % (dns["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[-1],
                                           kubeadm.images()["coredns"]))
    except ApiError:
        pass
    # external etcd: kubeadm neither shows nor upgrades it
    out(kubeadm_certs.tabwrite(rows))
    out()
    out("You can now apply the upgrade by executing the following command:")
    out()
    out("\tkubeadm upgrade apply %s" % target)
    out()
    if parse_version(mine) < tv:
        out("Note: Before you can perform this upgrade, you have to update kubeadm to %s." % target)
        out()
    out("_____________________________________________________________________")
    out()
    out("The table below shows the current state of component configs as understood by this version of kubeadm.")
    out('Configs that have a "yes" mark in the "MANUAL UPGRADE REQUIRED" column require manual config upgrade or')
    out("resetting to kubeadm defaults before a successful upgrade can be performed. The version to manually")
    out('upgrade to is denoted in the "PREFERRED VERSION" column.')
    out()
    out(kubeadm_certs.tabwrite(["API GROUP\tCURRENT VERSION\tPREFERRED VERSION\tMANUAL UPGRADE REQUIRED",
                                "kubeproxy.config.k8s.io\tv1alpha1\tv1alpha1\tno",
                                "kubelet.config.k8s.io\tv1beta1\tv1beta1\tno"]))
    out("_____________________________________________________________________")
    out()
    return 0


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        out("kubeadm upgrade (Cairn lab stand-in): plan [version], apply VERSION --yes, node")
        return 0
    sub, rest = argv[0], argv[1:]
    fn = {"plan": cmd_plan, "apply": cmd_apply, "node": cmd_node}.get(sub)
    if fn is None:
        if sub == "diff":
            raise Fatal("the lab's kubeadm stand-in does not implement 'kubeadm upgrade diff'")
        raise Fatal('unknown command "%s" for "kubeadm upgrade"\n%s' % (sub, TRACE_HINT))
    return fn(rest)

