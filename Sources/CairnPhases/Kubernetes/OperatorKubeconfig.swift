import CairnCore
import CairnInventory
import Foundation
import Yams

/// The operator's copy of admin.conf. With a `nodeLocal` endpoint, admin.conf's server is the
/// endpoint name, which resolves only on the cluster's hosts; the copy has one cluster and one
/// context per control-plane host instead (its address, port 6443), the first one current.
/// `cairn kubeconfig --control-plane HOST` (or `kubectl --context`) picks another.
public enum OperatorKubeconfig {
    public struct Unreadable: Error, CairnReportableError, Equatable {
        public let reason: String
        public var summary: String { "the admin kubeconfig cannot be read: \(reason)" }
        public var nextStep: String? { "rerun `cairn apply` to fetch it again from the first control-plane host" }
    }

    public struct NotAControlPlane: Error, CairnReportableError, Equatable {
        public let host: String
        public let contexts: [String]
        public var summary: String {
            contexts.isEmpty
                ? "the kubeconfig has one API server only: --control-plane needs kubernetes.apiEndpoint.nodeLocal"
                : "\(host) is not a control-plane host of this kubeconfig"
        }
        public var nextStep: String? {
            contexts.isEmpty
                ? "leave out --control-plane" : "pick one of: \(contexts.joined(separator: ", "))"
        }
        public var exitCode: CairnExitCode { .invalidInput }
    }

    /// The context name for control-plane host `host`.
    static func context(user: String, cluster: String, host: String) -> String { "\(user)@\(cluster)-\(host)" }

    /// admin.conf as the operator gets it (unchanged unless the endpoint is `nodeLocal`).
    public static func make(adminConf: Data, topology: Topology) throws -> Data {
        guard topology.nodeLocal != nil else { return adminConf }
        var root = try load(adminConf)
        guard let entry = (root["clusters"] as? [[String: Any]])?.first,
            let cluster = entry["cluster"] as? [String: Any], let clusterName = entry["name"] as? String,
            let user = ((root["contexts"] as? [[String: Any]])?.first?["context"] as? [String: Any])?["user"]
                as? String
        else { throw Unreadable(reason: "no cluster, context or user in it") }
        var clusters: [[String: Any]] = []
        var contexts: [[String: Any]] = []
        for host in topology.controlPlanes {
            var server = cluster
            server["server"] = "https://\(EtcdLayout.bracketed(host.internalAddress)):6443"
            clusters.append(["name": "\(clusterName)-\(host.name)", "cluster": server])
            contexts.append([
                "name": context(user: user, cluster: clusterName, host: host.name),
                "context": ["cluster": "\(clusterName)-\(host.name)", "user": user],
            ])
        }
        root["clusters"] = clusters
        root["contexts"] = contexts
        root["current-context"] = contexts.first?["name"]
        return Data(try Yams.dump(object: root, sortKeys: true).utf8)
    }

    /// `kubeconfig` with the context of control-plane host `host` current. Its cluster is named
    /// `BASE-HOST`, BASE being admin.conf's cluster name (kubeadm's `clusterName`), found as the
    /// prefix every control-plane host's cluster shares.
    public static func selecting(controlPlane host: String, in kubeconfig: Data, topology: Topology) throws -> Data {
        let hosts = topology.nodeLocal == nil ? [] : topology.controlPlanes.map(\.name)
        guard hosts.contains(host) else { throw NotAControlPlane(host: host, contexts: hosts) }
        var root = try load(kubeconfig)
        let contexts = (root["contexts"] as? [[String: Any]] ?? []).compactMap { entry -> (String, String)? in
            guard let name = entry["name"] as? String,
                let cluster = (entry["context"] as? [String: Any])?["cluster"] as? String
            else { return nil }
            return (name, cluster)
        }
        let clusters = Set(contexts.map(\.1))
        let bases = clusters.compactMap { cluster -> String? in
            guard let first = hosts.first, cluster.hasSuffix("-" + first) else { return nil }
            return String(cluster.dropLast(first.count + 1))
        }
        guard let base = bases.first(where: { base in hosts.allSatisfy { clusters.contains("\(base)-\($0)") } }),
            let context = contexts.first(where: { $0.1 == "\(base)-\(host)" })?.0
        else { throw Unreadable(reason: "it has no context per control-plane host") }
        root["current-context"] = context
        return Data(try Yams.dump(object: root, sortKeys: true).utf8)
    }

    static func load(_ data: Data) throws -> [String: Any] {
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: String(decoding: data, as: UTF8.self))
        } catch {
            throw Unreadable(reason: "not YAML")
        }
        guard let root = loaded as? [String: Any] else { throw Unreadable(reason: "not a mapping") }
        return root
    }
}
