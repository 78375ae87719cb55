import CairnCore
import CairnInventory
import Foundation

/// The files Cairn writes on Kubernetes nodes, as the upstream packages ship them.
public enum NodeFiles {
    public static let containerdUnit = """
        # Managed by cairn (from containerd's upstream unit).
        [Unit]
        Description=containerd container runtime
        Documentation=https://containerd.io
        After=network.target local-fs.target

        [Service]
        ExecStartPre=-/sbin/modprobe overlay
        ExecStart=/usr/local/bin/containerd
        Type=notify
        Delegate=yes
        KillMode=process
        Restart=always
        RestartSec=5
        LimitNPROC=infinity
        LimitCORE=infinity
        TasksMax=infinity
        OOMScoreAdjust=-999

        [Install]
        WantedBy=multi-user.target

        """

    /// containerd 2.x configuration (version 3): the runc runtime with the systemd cgroup driver,
    /// which the kubelet's default `cgroupDriver: systemd` requires.
    /// containerd 2.x's configuration (version 3): the systemd cgroup driver, and the sandbox
    /// image pinned here, where Kubernetes 1.35+ expects it (kubelet's flag for it is gone).
    public static func containerdConfig(kubernetes version: String) -> String {
        """
        # Managed by cairn.
        version = 3

        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
          runtime_type = 'io.containerd.runc.v2'

        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          SystemdCgroup = true

        [plugins.'io.containerd.cri.v1.images'.pinned_images]
          sandbox = '\(SupportedVersions.pauseImage(forKubernetes: version))'

        """
    }

    public static let crictlConfig = """
        runtime-endpoint: unix:///run/containerd/containerd.sock
        image-endpoint: unix:///run/containerd/containerd.sock
        timeout: 10

        """

    public static let kubeletUnit = """
        [Unit]
        Description=kubelet: The Kubernetes Node Agent
        Documentation=https://kubernetes.io/docs/
        Wants=network-online.target
        After=network-online.target

        [Service]
        ExecStart=/usr/local/bin/kubelet
        Restart=always
        StartLimitInterval=0
        RestartSec=2

        [Install]
        WantedBy=multi-user.target

        """

    public static let kubeletDropIn = """
        # Note: This dropin only works with kubeadm and kubelet v1.11+
        [Service]
        Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
        Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
        # This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
        EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
        # This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
        # the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
        EnvironmentFile=-/etc/default/kubelet
        ExecStart=
        ExecStart=/usr/local/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS

        """

    // MARK: The balanced API endpoint

    /// haproxy on every control-plane host (or, `nodeLocal`, on every node's loopback `listen`
    /// address): TCP on the endpoint port, to every API server's 6443, health-checked on /readyz so a
    /// server that is up but not ready gets no traffic. With `preferred`, the others are backups:
    /// used only while that one is down.
    public static func haproxyConfig(
        port: Int, backends: [(name: String, address: String)], listen: String = "*", preferred: String? = nil
    ) -> String {
        var lines = [
            "# Managed by cairn: balances the Kubernetes API over the control-plane hosts.",
            "global",
            "  maxconn 4000",
            "  log stdout format raw local0 warning",
            "",
            "defaults",
            "  mode tcp",
            "  log global",
            "  option tcplog",
            "  option dontlognull",
            "  timeout connect 5s",
            "  timeout client 4h",
            "  timeout server 4h",
            "  timeout check 3s",
            // A connection refused by an API server that is restarting (an upgrade, a certificate
            // renewal) goes to another one instead of failing the client.
            "  retries 3",
            "  option redispatch",
            "",
            "frontend kube-apiserver",
            "  bind \(listen):\(port)",
            "  default_backend kube-apiserver",
            "",
            "backend kube-apiserver",
            "  option httpchk GET /readyz HTTP/1.0",
            "  http-check expect status 200",
            "  balance roundrobin",
            "  default-server inter 2s downinter 5s rise 2 fall 2 slowstart 30s",
        ]
        for backend in backends {
            let host = backend.address.contains(":") ? "[\(backend.address)]" : backend.address
            let backup = preferred != nil && preferred != backend.name ? " backup" : ""
            lines.append("  server \(backend.name) \(host):6443 check check-ssl verify none\(backup)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static let haproxyUnit = """
        # Managed by cairn: haproxy for the Kubernetes API endpoint.
        [Unit]
        Description=haproxy in front of the Kubernetes API servers (cairn)
        After=network-online.target
        Wants=network-online.target

        [Service]
        ExecStartPre=/usr/sbin/haproxy -c -q -f \(KubernetesLayout.haproxyConfig)
        ExecStart=/usr/sbin/haproxy -db -f \(KubernetesLayout.haproxyConfig)
        ExecReload=/bin/kill -USR2 $MAINPID
        Restart=always
        RestartSec=2

        [Install]
        WantedBy=multi-user.target

        """

    /// keepalived holding the virtual IP on one control-plane host at a time, moving it when that
    /// host's haproxy stops answering. VRRP over unicast, so it works where multicast does not.
    public static func keepalivedConfig(
        host: String, address: String, peers: [String], interface: String,
        vip: APIEndpoint.VirtualIP, routerID: Int, priority: Int, port: Int,
        password: String
    ) -> String {
        """
        # Managed by cairn: holds the Kubernetes API virtual IP \(vip.address).
        global_defs {
          router_id cairn-\(host)
          enable_script_security
          script_user root
        }

        vrrp_script apiserver_lb {
          script "/usr/bin/timeout 2 /bin/bash -c '</dev/tcp/127.0.0.1/\(port)'"
          interval 2
          fall 2
          rise 2
        }

        vrrp_instance cairn_api {
          state BACKUP
          interface \(interface)
          virtual_router_id \(routerID)
          priority \(priority)
          advert_int 1
          unicast_src_ip \(address)
          unicast_peer {
        \(peers.map { "    \($0)" }.joined(separator: "\n"))
          }
          authentication {
            auth_type PASS
            auth_pass \(password)
          }
          virtual_ipaddress {
            \(vip.address)/\(vip.prefixLength) dev \(interface)
          }
          track_script {
            apiserver_lb
          }
        }

        """
    }

    public static let keepalivedUnit = """
        # Managed by cairn: keepalived for the Kubernetes API virtual IP.
        [Unit]
        Description=keepalived holding the Kubernetes API virtual IP (cairn)
        After=network-online.target cairn-apiserver-lb.service
        Wants=network-online.target

        [Service]
        ExecStart=/usr/sbin/keepalived --dont-fork --log-console --use-file=\(KubernetesLayout.keepalivedConfig) --pid=/run/cairn-keepalived.pid --vrrp_pid=/run/cairn-keepalived-vrrp.pid
        Restart=always
        RestartSec=2

        [Install]
        WantedBy=multi-user.target

        """

    /// kube-vip as a static pod (ARP mode) holding the virtual IP for the API servers.
    public static func kubeVipManifest(vip: APIEndpoint.VirtualIP, interface: String, port: Int) -> String {
        """
        # Managed by cairn: kube-vip holds the Kubernetes API virtual IP.
        apiVersion: v1
        kind: Pod
        metadata:
          name: kube-vip
          namespace: kube-system
        spec:
          hostNetwork: true
          containers:
          - name: kube-vip
            image: ghcr.io/kube-vip/kube-vip:v0.8.9
            args: ["manager"]
            env:
            - {name: vip_arp, value: "true"}
            - {name: port, value: "\(port)"}
            - {name: vip_interface, value: "\(interface)"}
            - {name: vip_cidr, value: "\(vip.prefixLength)"}
            - {name: cp_enable, value: "true"}
            - {name: cp_namespace, value: kube-system}
            - {name: vip_leaderelection, value: "true"}
            - {name: address, value: "\(vip.address)"}
            securityContext:
              capabilities:
                add: [NET_ADMIN, NET_RAW]
            volumeMounts:
            - {name: kubeconfig, mountPath: /etc/kubernetes/admin.conf}
          hostAliases:
          - {hostnames: [kubernetes], ip: 127.0.0.1}
          volumes:
          - name: kubeconfig
            hostPath: {path: /etc/kubernetes/super-admin.conf}

        """
    }
}
