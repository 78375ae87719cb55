import CairnCore
import CairnEngine
import CairnInventory
import Foundation
import Yams

/// `etcd-endpoints`: every kube-apiserver's `--etcd-servers` lists the current etcd members, and so
/// does kubeadm's ClusterConfiguration (joins and upgrades render the manifest from it). After etcd
/// grows or shrinks, the control-plane hosts' manifests are changed one host at a time, each API
/// server awaited before the next; the ConfigMap last.
public struct EtcdEndpointsPhase: Phase {
    public let name = "etcd-endpoints"
    public let title = "kube-apiserver's etcd endpoints (one control-plane host at a time)"
    let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    public struct Facts: Sendable, Codable, Equatable {
        /// `--etcd-servers` of this host's API server manifest ("" without one).
        public var manifest: String
        /// etcd.external.endpoints of kubeadm's ClusterConfiguration, as this host's admin.conf reads
        /// it (nil when it could not be read).
        public var configured: [String]?
    }

    static let configMap = ["-n", "kube-system", "get", "configmap", "kubeadm-config"]

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> Facts {
        let manifest = try await executor.run(
            RemoteCommand("sed", ["-n", "s/^ *- --etcd-servers=//p", KubernetesLayout.apiserverManifest]),
            stdin: nil, timeout: .seconds(20))
        var configured: [String]?
        // One reading is enough: on the first control-plane host, once it has an API server.
        if topology.firstControlPlane?.name == host.name && manifest.succeeded && !manifest.stdoutText.isEmpty {
            // From the run's cluster snapshot, which the add-on phases read too.
            if let snapshot = try? await ClusterSnapshot.current(
                Kubectl(executor: executor), cache: context.run.factCache),
                let configMap = try? await Kubectl(executor: executor, snapshot: snapshot).getIfPresent(
                    K8s.ConfigMap.self, ["configmap", "kubeadm-config", "-n", "kube-system"]),
                let text = configMap.data["ClusterConfiguration"]
            {
                configured = Self.endpoints(inClusterConfiguration: text)
            }
        }
        return Facts(
            manifest: manifest.succeeded ? manifest.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) : "",
            configured: configured)
    }

    /// etcd.external.endpoints of a ClusterConfiguration's YAML (nil when it has none).
    static func endpoints(inClusterConfiguration text: String) -> [String]? {
        guard let root = (try? Yams.load(yaml: text)) as? [String: Any],
            let external = (root["etcd"] as? [String: Any])?["external"] as? [String: Any]
        else { return nil }
        return external["endpoints"] as? [String]
    }

    /// The ClusterConfiguration with `endpoints` as its external etcd endpoints.
    static func clusterConfiguration(_ text: String, endpoints: [String]) throws -> String {
        guard var root = try Yams.load(yaml: text) as? [String: Any],
            var etcd = root["etcd"] as? [String: Any], var external = etcd["external"] as? [String: Any]
        else { throw EngineError.internalInconsistency("kubeadm's ClusterConfiguration has no external etcd") }
        external["endpoints"] = endpoints
        etcd["external"] = external
        root["etcd"] = etcd
        return try Yams.dump(object: root, sortKeys: true)
    }

    public func plan(facts: [EngineHost: Facts], context: PhaseContext) throws -> PhasePlan {
        let wanted = topology.etcdClientURLs
        let joined = wanted.joined(separator: ",")
        var actions: [Action] = []
        for host in topology.controlPlanes {
            guard let fact = facts.first(where: { $0.key.name == host.name })?.value, !fact.manifest.isEmpty,
                fact.manifest != joined
            else { continue }
            actions.append(
                .command(
                    host: host.name,
                    summary:
                        "kube-apiserver on \(host.name): --etcd-servers \(fact.manifest) → \(joined), then wait for it",
                    .script(.cairnEtcdServers, arguments: [joined, host.internalAddress]), timeout: .seconds(300),
                    predicted: context.isPredicted(host.name)))
        }
        // kubeadm's copy, read on the first control-plane host that could.
        if let (anchor, configured) = topology.controlPlanes.lazy.compactMap({ host -> (String, [String])? in
            guard let configured = facts.first(where: { $0.key.name == host.name })?.value.configured else {
                return nil
            }
            return (host.name, configured)
        }).first, configured != wanted {
            actions.append(
                Action(
                    host: anchor,
                    summary:
                        "kubeadm-config: etcd.external.endpoints \(configured.joined(separator: ",")) → \(joined)",
                    predicted: context.isPredicted(anchor)
                ) { env in
                    let kubectl = Kubectl(executor: try env.host())
                    let current = try await kubectl.run(
                        Self.configMap + ["-o", "jsonpath={.data.ClusterConfiguration}"])
                    let text = try Self.clusterConfiguration(current.stdoutText, endpoints: wanted)
                    let patch = try JSONSerialization.data(
                        withJSONObject: ["data": ["ClusterConfiguration": text]], options: [.sortedKeys])
                    let answer = try await kubectl.run(
                        [
                            "-n", "kube-system", "patch", "configmap", "kubeadm-config", "--type", "merge",
                            "--patch-file",
                            "/dev/stdin",
                        ], stdin: patch)
                    guard answer.succeeded else {
                        throw KubectlError.failed(
                            host: anchor, command: "kubectl patch configmap kubeadm-config",
                            message: answer.stderrText)
                    }
                })
        }
        return PhasePlan(actions: actions, execution: .serial)
    }

    public func gate(context: PhaseContext) -> Gate? {
        let members = topology.etcdMembers
        let etcdHosts = topology.etcdHosts(among: context.allHosts)
        return Gate(name: "etcd healthy", timeout: .seconds(60)) { context in
            try await EtcdHealthCheck.check(members: members, hosts: etcdHosts, context: context.run)
        }
    }
}
