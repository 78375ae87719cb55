"""containerd, ctr, containerd-shim-runc-v2, runc and crictl stand-ins.

containerd serves the CRI socket (a unix socket speaking one JSON object per line, not gRPC) so
that kubeadm's preflight, the kubelet and crictl can check that a runtime is there and how it is
configured (/etc/containerd/config.toml, SystemdCgroup)."""
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time

from common import Fatal, RUN_DIR, build_info, log, read_file, rfc3339, sd_notify

DEFAULT_CONFIG = "/etc/containerd/config.toml"
DEFAULT_ADDRESS = "/run/containerd/containerd.sock"

DEFAULT_TOML = """version = 3
root = '/var/lib/containerd'
state = '/run/containerd'
temp = ''
plugin_dir = ''
disabled_plugins = []
required_plugins = []
oom_score = 0
imports = []

[grpc]
  address = '/run/containerd/containerd.sock'
  tcp_address = ''
  tcp_tls_ca = ''
  tcp_tls_cert = ''
  tcp_tls_key = ''
  uid = 0
  gid = 0
  max_recv_message_size = 16777216
  max_send_message_size = 16777216

[ttrpc]
  address = ''
  uid = 0
  gid = 0

[debug]
  address = ''
  uid = 0
  gid = 0
  level = ''
  format = ''

[metrics]
  address = ''
  grpc_histogram = false

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    disable_snapshot_annotations = true
    discard_unpacked_layers = false
    max_concurrent_downloads = 3
    image_pull_progress_timeout = '5m0s'
    image_pull_with_sync_fs = false
    stats_collect_period = 10

    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = 'registry.k8s.io/pause:3.10'

    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = ''

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false
    selinux_category_range = 1024
    max_container_log_line_size = 16384
    disable_apparmor = false
    restrict_oom_score_adj = false
    disable_proc_mount = false
    unset_seccomp_profile = ''
    tolerate_missing_hugetlb_controller = true
    disable_hugetlb_controller = true
    device_ownership_from_security_context = false
    ignore_image_defined_volumes = false
    netns_mounts_under_state_dir = false
    enable_unprivileged_ports = true
    enable_unprivileged_icmp = true
    enable_cdi = true
    cdi_spec_dirs = ['/etc/cdi', '/var/run/cdi']
    drain_exec_sync_io_timeout = '0s'
    ignore_deprecation_warnings = []

    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      ignore_blockio_not_enabled_errors = false
      ignore_rdt_not_enabled_errors = false

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes]
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
          runtime_type = 'io.containerd.runc.v2'
          runtime_path = ''
          pod_annotations = []
          container_annotations = []
          privileged_without_host_devices = false
          privileged_without_host_devices_all_devices_allowed = false
          base_runtime_spec = ''
          cni_conf_dir = ''
          cni_max_conf_num = 0
          snapshotter = ''
          sandboxer = 'podsandbox'
          io_type = ''

          [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
            BinaryName = ''
            CriuImagePath = ''
            CriuWorkPath = ''
            IoGid = 0
            IoUid = 0
            NoNewKeyring = false
            Root = ''
            ShimCgroup = ''
            SystemdCgroup = false

    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dir = '/opt/cni/bin'
      conf_dir = '/etc/cni/net.d'
      max_conf_num = 1
      setup_serially = false
      conf_template = ''
      ip_pref = ''
      use_internal_loopback = false

  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
    stream_idle_timeout = '4h0m0s'
    enable_tls_streaming = false
"""


# Where each config version keeps the CRI settings the lab reads. containerd 2.x reads versions 1, 2
# and 3, migrating older ones in memory on every start (containerd's RELEASES.md, "Daemon
# Configuration": "Version 1 is no longer deprecated and is supported by migration"), so a
# version 2 file is not refused.
CRI_RUNTIME = {1: ("cri",), 2: ("io.containerd.grpc.v1.cri",), 3: ("io.containerd.cri.v1.runtime",)}
CRI_IMAGES = {1: ("cri", "sandbox_image"), 2: ("io.containerd.grpc.v1.cri", "sandbox_image"),
              3: ("io.containerd.cri.v1.images", "pinned_images", "sandbox")}
# containerd's built-in default when the file pins none (its `config default` above)
DEFAULT_SANDBOX = "registry.k8s.io/pause:3.10"


def load_config(path):
    """Parse config.toml (tomllib); returns (settings, error)."""
    import tomllib
    text = read_file(path)
    if text is None:
        return {"address": DEFAULT_ADDRESS, "systemdCgroup": False, "configFile": None, "version": 3,
                "sandboxImage": DEFAULT_SANDBOX}, None
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return None, "failed to load TOML from %s: %s" % (path, e)
    version = cfg.get("version", 1)
    if version not in CRI_RUNTIME:
        # the lab's wording: what containerd 2.3 says about an unknown version was not verified
        return None, ("failed to load TOML from %s: unsupported config version `%s` (the lab's containerd reads "
                      "versions 1, 2 and 3)" % (path, version))
    plugins = cfg.get("plugins") or {}
    runtime = plugins.get(CRI_RUNTIME[version][0]) or {}
    runc = ((runtime.get("containerd") or {}).get("runtimes") or {}).get("runc") or {}
    opts = runc.get("options") or {}
    systemd = bool(opts.get("SystemdCgroup", False))
    if "SystemdCgroup" in text and "SystemdCgroup" not in opts:
        log("containerd", "WARNING: SystemdCgroup is set outside the runc options table of version %s; it has no "
            "effect", version)
    images = plugins
    for key in CRI_IMAGES[version]:
        images = images.get(key) if isinstance(images, dict) else None
    sandbox = images if isinstance(images, str) and images else DEFAULT_SANDBOX
    if version < 3:
        log("containerd", "migrated config version %s to version 3 in memory (`containerd config migrate` writes it)",
            version)
    return {"address": (cfg.get("grpc") or {}).get("address") or DEFAULT_ADDRESS, "systemdCgroup": systemd,
            "configFile": path, "version": version, "sandboxImage": sandbox}, None


def static_containers():
    d = os.path.join(RUN_DIR, "pods")
    out = []
    for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        try:
            st = json.loads(read_file(os.path.join(d, n), "{}"))
            alive = os.path.exists("/proc/%d" % st["pid"])
        except (ValueError, KeyError):
            continue
        out.append({"name": n, "pid": st["pid"], "state": "CONTAINER_RUNNING" if alive else "CONTAINER_EXITED",
                    "createdAt": st.get("started"), "attempt": st.get("restarts", 0)})
    return out


def containerd_main(argv):
    cfg_path, address = DEFAULT_CONFIG, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-v", "--version"):
            print("containerd github.com/containerd/containerd/v2 v%s 1b3c1b3d94cfbb8ac5ee0c0a5c9c16f2ec5f0b0e" %
                  build_info()["containerdVersion"])
            return 0
        if a == "config" and argv[i + 1:i + 2] == ["default"]:
            sys.stdout.write(DEFAULT_TOML)
            return 0
        if a in ("-c", "--config"):
            cfg_path = argv[i + 1]
            i += 1
        elif a.startswith("--config="):
            cfg_path = a.split("=", 1)[1]
        elif a in ("-a", "--address"):
            address = argv[i + 1]
            i += 1
        elif a.startswith("--address="):
            address = a.split("=", 1)[1]
        elif a in ("-l", "--log-level"):
            i += 1
        elif a.startswith("--log-level="):
            pass
        else:
            sys.stderr.write('containerd: flag provided but not defined: %s\n' % a)
            return 1
        i += 1
    cfg, err = load_config(cfg_path)
    if err:
        sys.stderr.write('containerd: %s\n' % err)
        return 1
    addr = address or cfg["address"]
    os.makedirs(os.path.dirname(addr), exist_ok=True)
    try:
        os.unlink(addr)
    except OSError:
        pass
    ver = build_info()["containerdVersion"]

    class H(socketserver.StreamRequestHandler):
        def handle(self):
            for line in self.rfile:
                try:
                    req = json.loads(line)
                except ValueError:
                    break
                m = req.get("method")
                if m == "Version":
                    resp = {"version": "0.1.0", "runtimeName": "containerd", "runtimeVersion": "v" + ver,
                            "runtimeApiVersion": "v1"}
                elif m == "Info":
                    import kubelet as _k
                    net, why = _k.network_ready()
                    resp = {"config": {"systemdCgroup": cfg["systemdCgroup"], "sandboxImage": cfg.get("sandboxImage"),
                                       "configFile": cfg.get("configFile"), "cni": {"binDir": "/opt/cni/bin",
                                                                                    "confDir": "/etc/cni/net.d"}},
                            "status": {"conditions": [
                                {"type": "RuntimeReady", "status": True, "reason": "", "message": ""},
                                {"type": "NetworkReady", "status": net, "reason": "" if net else "NetworkPluginNotReady",
                                 "message": "" if net else "Network plugin returns error: %s" % why}]}}
                elif m == "ListContainers":
                    resp = {"containers": static_containers()}
                else:
                    resp = {"error": "unknown method %s" % m}
                self.wfile.write((json.dumps(resp) + "\n").encode())
                self.wfile.flush()

    class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    srv = S(addr, H)
    os.chmod(addr, 0o660)
    log("containerd", "serving... address=%s (SystemdCgroup=%s, config %s)", addr, cfg["systemdCgroup"],
        cfg.get("configFile"))
    log("containerd", "containerd successfully booted in 0.01s")
    sd_notify("READY=1")

    def stop(*_):
        try:
            os.unlink(addr)
        except OSError:
            pass
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever()
    return 0


def cri_request(endpoint, method):
    path = endpoint[len("unix://"):] if endpoint.startswith("unix://") else endpoint
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall((json.dumps({"method": method}) + "\n").encode())
    data = s.makefile().readline()
    s.close()
    return json.loads(data)


def crictl_main(argv):
    import yaml
    ep = None
    cfg = read_file("/etc/crictl.yaml")
    if cfg:
        try:
            ep = (yaml.safe_load(cfg) or {}).get("runtime-endpoint")
        except yaml.YAMLError:
            pass
    args = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-r", "--runtime-endpoint"):
            ep = argv[i + 1]
            i += 1
        elif a.startswith("--runtime-endpoint="):
            ep = a.split("=", 1)[1]
        elif a in ("--version", "-v"):
            print("crictl version v%s" % build_info()["crictlVersion"])
            return 0
        else:
            args.append(a)
        i += 1
    if not args:
        print("crictl (Cairn lab stand-in): version, info, ps, pods, images")
        return 0
    if ep is None:
        sys.stderr.write('WARN[0000] Config "/etc/crictl.yaml" does not exist, trying next: "/usr/local/bin/crictl.yaml"\n'
                         'WARN[0000] runtime connect using default endpoints: [unix:///run/containerd/containerd.sock '
                         'unix:///run/crio/crio.sock unix:///var/run/cri-dockerd.sock]. As the default settings are now '
                         'deprecated, you should set the endpoint instead.\n')
        ep = "unix:///run/containerd/containerd.sock"
    try:
        cmd = args[0]
        if cmd == "version":
            v = cri_request(ep, "Version")
            print("Version:  %s\nRuntimeName:  %s\nRuntimeVersion:  %s\nRuntimeApiVersion:  %s" % (
                v["version"], v["runtimeName"], v["runtimeVersion"], v["runtimeApiVersion"]))
        elif cmd == "info":
            print(json.dumps(cri_request(ep, "Info"), indent=2))
        elif cmd == "ps":
            cs = cri_request(ep, "ListContainers")["containers"]
            print("CONTAINER           IMAGE               CREATED             STATE               NAME                "
                  "ATTEMPT             POD ID              POD")
            for c in cs:
                if c["state"] != "CONTAINER_RUNNING" and "-a" not in args:
                    continue
                print("%-19s %-19s %-19s %-19s %-19s %-19s %-19s %s" % (
                    "%013x" % c["pid"], "sha256:lab", "About a minute ago", c["state"][10:], c["name"], c["attempt"],
                    "%013x" % (c["pid"] + 1), c["name"]))
        elif cmd in ("pods", "images"):
            print("POD ID              CREATED             STATE               NAME                NAMESPACE" if
                  cmd == "pods" else "IMAGE                                     TAG                 IMAGE ID            SIZE")
        else:
            sys.stderr.write('No help topic for \'%s\'\n' % cmd)
            return 1
    except (OSError, ValueError) as e:
        path = ep[len("unix://"):] if ep.startswith("unix://") else ep
        sys.stderr.write('E%s validate service connection: validate CRI v1 runtime API for endpoint "%s": rpc error: '
                         'code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix '
                         '%s: connect: %s"\nFATA[0000] validate service connection: validate CRI v1 runtime API for '
                         'endpoint "%s": rpc error: code = Unavailable\n' % (
                             time.strftime("%m%d %H:%M:%S"), ep, path,
                             "no such file or directory" if isinstance(e, FileNotFoundError) else e, ep))
        return 1
    return 0


def ctr_main(argv):
    if argv[:1] in (["version"], ["--version"], ["-v"]):
        print("Client:\n  Version:  v%s\n  Revision: lab\n  Go version: go1.23.8\n" % build_info()["containerdVersion"])
        try:
            cri_request("unix://" + DEFAULT_ADDRESS, "Version")
            print("Server:\n  Version:  v%s\n  Revision: lab\n  UUID: lab" % build_info()["containerdVersion"])
        except OSError as e:
            sys.stderr.write("ctr: failed to dial \"%s\": connection error: %s\n" % (DEFAULT_ADDRESS, e))
            return 1
        return 0
    sys.stderr.write("ctr (Cairn lab stand-in): only 'ctr version' is implemented\n")
    return 1


def shim_main(argv):
    if "-v" in argv or "--version" in argv:
        print("containerd-shim-runc-v2:\n  Version:  v%s\n  Revision: lab\n  Go version: go1.23.8" %
              build_info()["containerdVersion"])
        return 0
    sys.stderr.write("containerd-shim-runc-v2 (Cairn lab stand-in): no containers are run in the lab\n")
    return 1


def runc_main(argv):
    if argv[:1] in (["--version"], ["-v"], ["version"]):
        v = build_info()["runcVersion"]
        print("runc version %s\ncommit: v%s-0-lab\nspec: 1.2.0\ngo: go1.23.7\nlibseccomp: 2.5.5" % (v, v))
        return 0
    sys.stderr.write("runc (Cairn lab stand-in): no containers are run in the lab\n")
    return 1
