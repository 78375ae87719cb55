import CairnCore
import CairnEngine
import CairnInventory
import CairnPKI
import Foundation

/// kubeadm's v1beta4 configuration, rendered from the inventory.
public enum KubeadmConfig {
    static let apiVersion = "kubeadm.k8s.io/v1beta4"

    /// A YAML scalar that cannot be misread (JSON string syntax is valid YAML).
    static func quoted(_ value: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }

    /// Taints of a node: the control-plane taint unless the host is also a worker, plus the inventory's.
    static func taints(for host: Host) -> [Taint] {
        var taints = host.taints
        if host.has(.controlPlane) && !host.has(.worker) {
            taints.insert(Taint(key: "node-role.kubernetes.io/control-plane", effect: .noSchedule), at: 0)
        }
        return taints
    }

    static func nodeRegistration(_ host: Host) -> String {
        var lines = [
            "nodeRegistration:",
            "  name: \(quoted(host.name))",
            "  criSocket: \(quoted(KubernetesLayout.criSocket))",
            "  kubeletExtraArgs:",
            "  - name: node-ip",
            "    value: \(quoted(host.internalAddress))",
        ]
        if !host.labels.isEmpty {
            let labels = host.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            lines += ["  - name: node-labels", "    value: \(quoted(labels))"]
        }
        let taints = taints(for: host)
        if taints.isEmpty {
            lines.append("  taints: []")
        } else {
            lines.append("  taints:")
            for taint in taints {
                lines.append("  - key: \(quoted(taint.key))")
                if let value = taint.value { lines.append("    value: \(quoted(value))") }
                lines.append("    effect: \(taint.effect.rawValue)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// SANs of the API server certificate beyond kubeadm's own (each host's name and advertise
    /// address, the service IP, kubernetes.default…): the endpoint and the inventory's extra SANs.
    /// Nothing per host, so adding a control-plane host changes no existing certificate.
    /// With `nodeLocal`, clients reach the API servers as the endpoint name and as the loopback
    /// address (a worker's haproxy passes TLS through, so the server's certificate must carry both).
    static func certSANs(_ inventory: Inventory) -> [String] {
        var sans: [String] = []
        func add(_ value: String) { if !sans.contains(value) { sans.append(value) } }
        if case .nodeLocal = inventory.kubernetes.apiEndpoint.mode {
            [NodeLocalEndpoint.name, "localhost", "127.0.0.1", "::1"].forEach(add)
        }
        add(inventory.kubernetes.apiEndpoint.address)
        inventory.kubernetes.apiEndpoint.extraSANs.forEach(add)
        return sans
    }

    public static func initConfiguration(topology: Topology, host: Host, token: String, certificateKey: String)
        -> String
    {
        let inventory = topology.inventory
        let k8s = inventory.kubernetes
        return """
            # Written by cairn for `kubeadm init`; removed afterwards (it holds a bootstrap token).
            apiVersion: \(apiVersion)
            kind: InitConfiguration
            bootstrapTokens:
            - token: \(quoted(token))
              ttl: 2h0m0s
              usages: [signing, authentication]
              groups: ["system:bootstrappers:kubeadm:default-node-token"]
            localAPIEndpoint:
              advertiseAddress: \(quoted(host.internalAddress))
              bindPort: 6443
            \(nodeRegistration(host))
            certificateKey: \(quoted(certificateKey))
            ---
            apiVersion: \(apiVersion)
            kind: ClusterConfiguration
            clusterName: \(quoted(inventory.name))
            kubernetesVersion: \(quoted("v" + k8s.version))
            controlPlaneEndpoint: \(quoted(topology.apiEndpoint))
            networking:
              podSubnet: \(quoted(k8s.podSubnet))
              serviceSubnet: \(quoted(k8s.serviceSubnet))
              dnsDomain: \(quoted(k8s.clusterDomain))
            etcd:
              external:
                endpoints:
            \(topology.etcdClientURLs.map { "    - \(quoted($0))" }.joined(separator: "\n"))
                caFile: \(EtcdLayout.kubeadmCA)
                certFile: \(EtcdLayout.apiserverClientCertificate)
                keyFile: \(EtcdLayout.apiserverClientKey)
            apiServer:
              certSANs:
            \(certSANs(inventory).map { "  - \(quoted($0))" }.joined(separator: "\n"))
            ---
            apiVersion: kubelet.config.k8s.io/v1beta1
            kind: KubeletConfiguration
            cgroupDriver: systemd
            ---
            apiVersion: kubeproxy.config.k8s.io/v1alpha1
            kind: KubeProxyConfiguration
            mode: \(quoted(k8s.proxyMode.rawValue))

            """
    }

    public static func joinConfiguration(
        topology: Topology, host: Host, token: String, caCertHash: String,
        certificateKey: String?
    ) -> String {
        var text = """
            # Written by cairn for `kubeadm join`; removed afterwards (it holds a bootstrap token).
            apiVersion: \(apiVersion)
            kind: JoinConfiguration
            discovery:
              bootstrapToken:
                apiServerEndpoint: \(quoted(topology.apiEndpoint))
                token: \(quoted(token))
                caCertHashes: [\(quoted(caCertHash))]
            \(nodeRegistration(host))

            """
        if let certificateKey {
            text += """
                controlPlane:
                  localAPIEndpoint:
                    advertiseAddress: \(quoted(host.internalAddress))
                    bindPort: 6443
                  certificateKey: \(quoted(certificateKey))

                """
        }
        return text
    }

    /// A bootstrap token: `[a-z0-9]{6}.[a-z0-9]{16}`.
    public static func newToken() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        func part(_ n: Int) -> String { String((0..<n).map { _ in alphabet.randomElement()! }) }
        return part(6) + "." + part(16)
    }

    /// A certificate key: 32 random bytes, hex.
    public static func newCertificateKey() -> String {
        (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

/// What joining needs from the running cluster, made fresh per join and never put in argv.
struct JoinCredentials: Sendable {
    let token: String
    let caCertHash: String
    let certificateKey: String?

    /// On a control-plane host with admin.conf: a fresh token (short TTL), the CA pin and, for
    /// control-plane joins, freshly uploaded certificates under a new key (a key expires after
    /// 2 hours, so each join gets its own). kubeadm makes the token and the key and prints them:
    /// they never appear in any command line on the host.
    static func make(on executor: any HostExecutor, controlPlane: Bool, redactor: Redactor) async throws
        -> JoinCredentials
    {
        let created = try await executor.runChecked(
            RemoteCommand("kubeadm", ["token", "create", "--ttl", "1h0m0s", "--description", "cairn join"]),
            timeout: .seconds(60))
        guard
            let token = created.stdoutText.split(separator: "\n").last.map(String.init)?.trimmingCharacters(
                in: .whitespaces),
            token.count == 23
        else {
            throw EtcdError.commandFailed(
                host: executor.hostName, what: "kubeadm token create", output: "no token in its output")
        }
        redactor.register(token)
        let ca = try await executor.download(KubernetesLayout.caCertificate)
        let hash = try PKIStore.spkiSHA256(ofCertificatePEM: String(decoding: ca, as: UTF8.self))
        var key: String?
        if controlPlane {
            let uploaded = try await executor.runChecked(
                RemoteCommand("kubeadm", ["init", "phase", "upload-certs", "--upload-certs"]),
                timeout: .seconds(120))
            guard
                let certificateKey = uploaded.stdoutText.split(separator: "\n").last.map(String.init)?
                    .trimmingCharacters(in: .whitespaces),
                certificateKey.count == 64
            else {
                throw EtcdError.commandFailed(
                    host: executor.hostName, what: "kubeadm init phase upload-certs",
                    output: "no certificate key in its output")
            }
            redactor.register(certificateKey)
            key = certificateKey
        }
        return JoinCredentials(token: token, caCertHash: hash, certificateKey: key)
    }
}
