import CairnCore
import CairnEngine
import Foundation

/// Paths of a Kubernetes node as kubeadm and the upstream packages lay them out.
public enum KubernetesLayout {
    public static let adminConf = "/etc/kubernetes/admin.conf"
    public static let kubeletConf = "/etc/kubernetes/kubelet.conf"
    public static let kubeletConfig = "/var/lib/kubelet/config.yaml"
    public static let manifests = "/etc/kubernetes/manifests"
    public static let apiserverManifest = "/etc/kubernetes/manifests/kube-apiserver.yaml"
    public static let caCertificate = "/etc/kubernetes/pki/ca.crt"
    public static let apiserverCertificate = "/etc/kubernetes/pki/apiserver.crt"
    public static let cairnDirectory = "/etc/kubernetes/cairn"
    /// Written by Cairn once `kubeadm init` finished: admin.conf alone does not say that (kubeadm
    /// writes it early, and a killed init leaves it behind).
    public static let initializedMarker = "/etc/kubernetes/cairn/initialized"
    public static let containerdConfig = "/etc/containerd/config.toml"
    public static let containerdUnit = "/etc/systemd/system/containerd.service"
    public static let crictlConfig = "/etc/crictl.yaml"
    public static let kubeletUnit = "/etc/systemd/system/kubelet.service"
    public static let kubeletDropIn = "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
    public static let criSocket = "unix:///var/run/containerd/containerd.sock"
    public static let cniBin = "/opt/cni/bin"
    public static let haproxyConfig = "/etc/cairn/haproxy.cfg"
    public static let haproxyUnit = "/etc/systemd/system/cairn-apiserver-lb.service"
    public static let keepalivedConfig = "/etc/cairn/keepalived.conf"
    public static let keepalivedUnit = "/etc/systemd/system/cairn-vip.service"
    public static let kubeVipManifest = "/etc/kubernetes/manifests/kube-vip.yaml"

    /// Files whose SHA-256 the node facts report.
    public static let trackedFiles = [containerdConfig, containerdUnit, crictlConfig, kubeletUnit, kubeletDropIn,
                                      haproxyConfig, haproxyUnit, keepalivedConfig, keepalivedUnit, kubeVipManifest,
                                      caCertificate, adminConf]
}

/// Everything the Kubernetes phases need to know about a host, in one round trip.
public struct NodeFacts: Sendable, Decodable, Equatable {
    public let os: String
    public let osVersion: String
    public let machine: String
    public let memoryKiB: Int
    public let cpus: Int
    public let hostname: String
    public let machineID: String
    public let epoch: Int
    public let swapActive: Int
    public let ipForward: String
    /// `VERSION` strings of installed binaries ("" when absent).
    public let versions: [String: String]
    /// SHA-256 of tracked files ("" when absent).
    public let files: [String: String]
    /// `systemctl is-active` of the units Cairn manages ("active", "inactive", …).
    public let services: [String: String]
    public let hasKubeletConfig: Bool
    public let hasKubeletConf: Bool
    public let hasAdminConf: Bool
    /// Cairn's marker of a finished `kubeadm init` on this host.
    public let initialized: Bool
    /// Files in /etc/kubernetes/manifests.
    public let manifests: [String]
    /// Listening TCP ports and the processes holding them: `port process` lines (base64).
    public let listening: String
    /// `ip -o -4 addr show`, base64.
    public let interfaces: String
    /// `/readyz` of this host's kube-apiserver ("" when not asked or no answer).
    public let apiserverReady: String
    /// Node objects, from this host's admin.conf (nil without one, or when the API did not answer).
    public let nodes: NodeList?

    public var listeningText: String { String(decoding: Data(base64Encoded: listening) ?? Data(), as: UTF8.self) }
    public var interfacesText: String { String(decoding: Data(base64Encoded: interfaces) ?? Data(), as: UTF8.self) }

    /// Ports in use, with the process name (from `ss -ltnpH`).
    public var portsInUse: [Int: String] {
        var ports: [Int: String] = [:]
        for line in listeningText.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if let port = Int(parts[0]) { ports[port] = parts.count > 1 ? parts[1] : "" }
        }
        return ports
    }

    /// The interface holding `address`.
    public func interface(holding address: String) -> String? {
        for line in interfacesText.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4, fields[2] == "inet" else { continue }
            if fields[3].split(separator: "/").first.map(String.init) == address {
                return fields[1].split(separator: "@").first.map(String.init)
            }
        }
        return nil
    }

    public struct NodeList: Sendable, Decodable, Equatable {
        public let items: [Node]
    }

    public struct Node: Sendable, Decodable, Equatable {
        public struct Metadata: Sendable, Decodable, Equatable {
            public let name: String
            public let labels: [String: String]?
        }
        public struct Status: Sendable, Decodable, Equatable {
            public struct Condition: Sendable, Decodable, Equatable {
                public let type: String
                public let status: String
                public let reason: String?
                public let message: String?
            }
            public struct Info: Sendable, Decodable, Equatable {
                public let kubeletVersion: String?
            }
            public let conditions: [Condition]?
            public let nodeInfo: Info?
        }
        public let metadata: Metadata
        public let status: Status?

        public var isReady: Bool { status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false }
        public var isControlPlane: Bool { metadata.labels?["node-role.kubernetes.io/control-plane"] != nil }
    }

    /// What to gather; each phase asks only for what it uses, so a converged rerun stays fast.
    public struct Parts: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// OS, memory, CPUs, identities, clock, swap, listening ports.
        public static let system = Parts(rawValue: 1)
        /// Installed versions (from Cairn's install markers) and tracked file hashes.
        public static let packages = Parts(rawValue: 2)
        /// Interfaces and addresses.
        public static let network = Parts(rawValue: 4)
        /// kubeadm's files, the local API server's /readyz, the node list (admin.conf).
        public static let cluster = Parts(rawValue: 8)
    }

    /// Where Cairn records what it installed: `version size mtime` of the binary, so facts need
    /// not run every binary for its version (a stat instead of a process per binary).
    public static let markerDirectory = "/var/lib/cairn/installed"

    static let script = #"""
        set -u
        adv=$1 parts=$2 markers=$3; shift 3
        has() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
        b64() { base64 -w0; }
        ver() {  # component binary: the recorded version if the binary is the one recorded
          m="$markers/$1"; b=$2
          [ -e "$b" ] || return 0
          if [ -f "$m" ]; then
            read -r v s t < "$m"
            [ "$s $t" = "$(stat -c '%s %Y' "$b")" ] && { printf %s "$v"; return 0; }
          fi
          case $1 in
            kubeadm) "$b" version -o short 2>/dev/null ;;
            kubelet) "$b" --version 2>/dev/null | sed 's/^Kubernetes //' ;;
            kubectl) "$b" version --client -o json 2>/dev/null | tr -d '\n ' | sed -n 's/.*"gitVersion":"\([^"]*\)".*/\1/p' ;;
            containerd) "$b" --version 2>/dev/null | awk '{print $3}' ;;
            runc|crictl) "$b" --version 2>/dev/null | head -1 | awk '{print $3}' ;;
          esac | head -1 | tr -d '"\\'
        }
        os=""; osv=""; machine=""; mem=0; cpus=0; host=""; mid=""; now=0; swaps=0; fwd=""; listening=""
        if has system; then
          . /etc/os-release 2>/dev/null || true
          os=${ID:-unknown}; osv=${VERSION_ID:-}; machine=$(uname -m); mem=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
          cpus=$(nproc); host=$(hostname); mid=$(cat /etc/machine-id 2>/dev/null); now=$(date +%s)
          swaps=$(($(wc -l < /proc/swaps) - 1)); fwd=$(cat /proc/sys/net/ipv4/ip_forward)
          listening=$(ss -ltnpH 2>/dev/null | awk '{n=split($4,a,":"); port=a[n]; proc=$6; sub(/^users:\(\("/,"",proc); sub(/".*/,"",proc); print port" "proc}' | sort -u | b64)
        else
          machine=$(uname -m)
        fi
        versions=""; files=""
        if has packages; then
          versions=$(printf '"kubeadm":"%s","kubelet":"%s","kubectl":"%s","containerd":"%s","runc":"%s","crictl":"%s","cni":"%s"' \
            "$(ver kubeadm /usr/local/bin/kubeadm)" "$(ver kubelet /usr/local/bin/kubelet)" "$(ver kubectl /usr/local/bin/kubectl)" \
            "$(ver containerd /usr/local/bin/containerd)" "$(ver runc /usr/local/bin/runc)" "$(ver crictl /usr/local/bin/crictl)" \
            "$(cat /opt/cni/bin/.cairn-version 2>/dev/null)")
          for f in "$@"; do
            s=""; [ -f "$f" ] && s=$(sha256sum < "$f" | cut -d' ' -f1)
            files="$files${files:+,}\"$f\":\"$s\""
          done
        fi
        svc=""
        for u in containerd kubelet cairn-apiserver-lb cairn-vip; do
          st=$(systemctl is-active "$u" 2>/dev/null | head -1); [ -z "$st" ] && st=unknown
          svc="$svc${svc:+,}\"$u\":\"$st\""
        done
        interfaces=""
        has network && interfaces=$(ip -o -4 addr show 2>/dev/null | b64)
        manifests=""
        for m in /etc/kubernetes/manifests/*.yaml; do [ -f "$m" ] && manifests="$manifests${manifests:+,}\"$(basename "$m")\""; done
        ready=""; nodes=null
        if has cluster; then
          if [ -f /etc/kubernetes/manifests/kube-apiserver.yaml ] && [ -n "$adv" ]; then
            ready=$(curl -sk --max-time 3 "https://$adv:6443/readyz" 2>/dev/null | head -c 40 | tr -d '"\\\n')
          fi
          if [ -f /etc/kubernetes/admin.conf ] && command -v kubectl >/dev/null 2>&1; then
            # A few tries: right after etcd or an API server recovers, the first answer may fail.
            for try in 1 2 3 4; do
              n=$(kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=8s get nodes -o json 2>/dev/null) && [ -n "$n" ] && { nodes=$n; break; }
              sleep 2
            done
          fi
        fi
        printf '{"os":"%s","osVersion":"%s","machine":"%s","memoryKiB":%s,"cpus":%s,"hostname":"%s","machineID":"%s","epoch":%s,"swapActive":%s,"ipForward":"%s",' \
          "$os" "$osv" "$machine" "${mem:-0}" "$cpus" "$host" "$mid" "$now" "$swaps" "$fwd"
        printf '"versions":{%s},"files":{%s},"services":{%s},"hasKubeletConfig":%s,"hasKubeletConf":%s,"hasAdminConf":%s,"initialized":%s,"manifests":[%s],"listening":"%s","interfaces":"%s","apiserverReady":"%s","nodes":%s}\n' \
          "$versions" "$files" "$svc" "$([ -f /var/lib/kubelet/config.yaml ] && echo true || echo false)" \
          "$([ -f /etc/kubernetes/kubelet.conf ] && echo true || echo false)" "$([ -f /etc/kubernetes/admin.conf ] && echo true || echo false)" \
          "$([ -f /etc/kubernetes/cairn/initialized ] && echo true || echo false)" \
          "$manifests" "$listening" "$interfaces" "$ready" "$nodes"
        """#

    /// `advertise` is the host's internal address (asked for `/readyz` when it runs an API server).
    public static func gather(executor: any HostExecutor, advertise: String, parts: Parts, cache: FactCache? = nil) async throws -> NodeFacts {
        var words: [String] = []
        if parts.contains(.system) { words.append("system") }
        if parts.contains(.packages) { words.append("packages") }
        if parts.contains(.network) { words.append("network") }
        if parts.contains(.cluster) { words.append("cluster") }
        let command = RemoteCommand.script(script, name: "cairn-facts-node",
                                           arguments: [advertise, words.joined(separator: " "), markerDirectory]
                                               + (parts.contains(.packages) ? KubernetesLayout.trackedFiles : []))
        if let cache { return try await executor.facts(command, as: NodeFacts.self, cache: cache) }
        return try await executor.facts(command, as: NodeFacts.self)
    }

    /// A node object by name, from whichever host's facts carry the node list.
    public static func nodeList(in facts: [EngineHost: NodeFacts]) -> NodeList? {
        facts.sorted { $0.key < $1.key }.compactMap(\.value.nodes).first
    }
}
