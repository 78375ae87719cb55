import CairnCore
import CairnEngine
import Foundation

/// Everything the add-on phases and their gates read from the cluster, in one `kubectl get`:
/// nodes, the workloads and their pods, services and endpoints, jobs, claims, ConfigMaps (Cairn's
/// add-on records), disruption budgets, and the Calico and Ceph custom resources once their CRDs
/// exist. A converged run reads it once; a `Kubectl` given a snapshot answers the `get`s it can
/// from it (`answer(_:)`) and asks the API for the rest.
public struct ClusterSnapshot: Sendable {
    /// What is read, as kubectl names it, with the kind its items carry.
    static let resources: [(resource: String, kind: String)] = [
        ("nodes", "Node"), ("deployments.apps", "Deployment"), ("daemonsets.apps", "DaemonSet"),
        ("services", "Service"), ("endpoints", "Endpoints"), ("jobs.batch", "Job"),
        ("persistentvolumeclaims", "PersistentVolumeClaim"), ("configmaps", "ConfigMap"),
        ("poddisruptionbudgets.policy", "PodDisruptionBudget"), ("pods", "Pod"),
        ("installations.operator.tigera.io", "Installation"), ("cephclusters.ceph.rook.io", "CephCluster"),
    ]
    /// What `cairn status` shows: nodes, and the add-ons' workloads with their pods.
    static let statusResources = resources.filter { ["Node", "Deployment", "DaemonSet", "Pod"].contains($0.kind) }
    /// Kinds an add-on's CRD brings: absent before the add-on is installed, left out then.
    static let customKinds: Set<String> = ["Installation", "CephCluster"]
    static let clusterScopedKinds: Set<String> = ["Node", "Installation"]

    /// The names kubectl accepts for each kind (singular, plural, short, qualified).
    static let kindsByName: [String: String] = {
        var names: [String: String] = [:]
        for (resource, kind) in resources {
            let plural = String(resource.split(separator: ".")[0])
            names[resource] = kind
            names[plural] = kind
            names[kind.lowercased()] = kind
        }
        let short = [
            "no": "Node", "deploy": "Deployment", "ds": "DaemonSet", "svc": "Service", "ep": "Endpoints",
            "pvc": "PersistentVolumeClaim", "cm": "ConfigMap", "pdb": "PodDisruptionBudget", "po": "Pod",
            "persistentvolumeclaim": "PersistentVolumeClaim",
        ]
        names.merge(short) { current, _ in current }
        return names
    }()

    struct Item: Sendable {
        let kind: String
        let namespace: String?
        let name: String
        let labels: [String: String]
        let json: Data
    }

    /// Items by kind; a kind read with no items maps to an empty list, a kind not read is absent.
    let items: [String: [Item]]

    /// The command that reads `resources`.
    static func arguments(_ resources: [String]) -> [String] {
        ["get", resources.joined(separator: ","), "--all-namespaces", "-o", "json"]
    }

    /// Reads the snapshot. A custom resource whose CRD is not installed makes kubectl refuse the
    /// whole request ("the server doesn't have a resource type"): that one is left out and the
    /// request repeated.
    public static func read(_ kubectl: Kubectl) async throws -> ClusterSnapshot {
        try await read(kubectl, resources: resources)
    }

    /// Reads only `resources` (a subset of `resources`).
    static func read(_ kubectl: Kubectl, resources: [(resource: String, kind: String)]) async throws
        -> ClusterSnapshot
    {
        var wanted = resources
        while true {
            let arguments = arguments(wanted.map(\.resource))
            let output = try await kubectl.run(arguments)
            if output.succeeded {
                return try parse(output.stdout, kinds: wanted.map(\.kind), host: kubectl.executor.hostName)
            }
            if let unknown = unknownResource(in: output.stderrText),
                let index = wanted.firstIndex(where: {
                    customKinds.contains($0.kind) && ($0.resource == unknown || $0.resource.hasPrefix(unknown + "."))
                })
            {
                wanted.remove(at: index)
                continue
            }
            throw KubectlError.failed(
                host: kubectl.executor.hostName, command: "kubectl " + arguments.joined(separator: " "),
                message: output.stderrTail(lines: 2).joined(separator: " / "))
        }
    }

    /// The snapshot of this run while nothing changed: read once, shared by every asker.
    public static func current(_ kubectl: Kubectl, cache: FactCache) async throws -> ClusterSnapshot {
        try await cache.value(for: kubectl.executor.hostName + "\u{0}cluster-snapshot") { try await read(kubectl) }
    }

    /// The snapshot this run read since the last change, if it read one.
    public static func existing(_ host: String, cache: FactCache) async -> ClusterSnapshot? {
        await cache.existingValue(for: host + "\u{0}cluster-snapshot")
    }

    static func unknownResource(in stderr: String) -> String? {
        let marker = "the server doesn't have a resource type \""
        guard let start = stderr.range(of: marker)?.upperBound,
            let end = stderr[start...].firstIndex(of: "\"")
        else { return nil }
        return String(stderr[start..<end])
    }

    static func parse(_ data: Data, kinds: [String], host: String) throws -> ClusterSnapshot {
        guard let list = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let rawItems = list["items"] as? [[String: Any]]
        else {
            throw KubectlError.unreadable(
                host: host, command: "kubectl get (the cluster snapshot)", reason: "not a JSON List",
                output: String(decoding: data.prefix(300), as: UTF8.self))
        }
        var items = Dictionary(uniqueKeysWithValues: kinds.map { ($0, [Item]()) })
        for raw in rawItems {
            guard let kind = raw["kind"] as? String, items[kind] != nil,
                let metadata = raw["metadata"] as? [String: Any], let name = metadata["name"] as? String
            else { continue }
            let json = try JSONSerialization.data(withJSONObject: raw)
            items[kind]!.append(
                Item(
                    kind: kind, namespace: metadata["namespace"] as? String, name: name,
                    labels: metadata["labels"] as? [String: String] ?? [:], json: json))
        }
        return ClusterSnapshot(items: items)
    }

    /// What `kubectl get ARGUMENTS -o json` would print.
    public enum Answer: Sendable, Equatable {
        case found(Data)
        /// The object named is not there (kubectl's NotFound).
        case notFound(String)
    }

    /// The answer to `kubectl get ARGUMENTS`, or nil when the snapshot cannot give it: a kind it
    /// did not read, or an argument it does not understand.
    public func answer(_ arguments: [String]) -> Answer? {
        var positional: [String] = []
        var namespace: String?
        var allNamespaces = false
        var selector: String?
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "-n", "--namespace":
                guard index + 1 < arguments.count else { return nil }
                namespace = arguments[index + 1]
                index += 1
            case "-A", "--all-namespaces": allNamespaces = true
            case "-l", "--selector":
                guard index + 1 < arguments.count else { return nil }
                selector = arguments[index + 1]
                index += 1
            default:
                if argument.hasPrefix("-") { return nil }
                positional.append(argument)
            }
            index += 1
        }
        var resource = positional.first ?? ""
        var name: String? = positional.count > 1 ? positional[1] : nil
        if positional.count > 2 || resource.contains(",") { return nil }
        if let slash = resource.firstIndex(of: "/") {
            guard name == nil else { return nil }
            name = String(resource[resource.index(after: slash)...])
            resource = String(resource[..<slash])
        }
        guard let kind = Self.kindsByName[resource.lowercased()], let candidates = items[kind] else { return nil }
        let requirements: [LabelRequirement]
        if let selector {
            guard let parsed = LabelRequirement.parse(selector) else { return nil }
            requirements = parsed
        } else {
            requirements = []
        }
        let scoped = !Self.clusterScopedKinds.contains(kind) && !allNamespaces
        let wantedNamespace = namespace ?? "default"
        let matching = candidates.filter { item in
            (!scoped || item.namespace == wantedNamespace) && requirements.allSatisfy { $0.matches(item.labels) }
        }
        if let name {
            guard let item = matching.first(where: { $0.name == name }) else {
                return .notFound("Error from server (NotFound): \(resource) \"\(name)\" not found")
            }
            return .found(item.json)
        }
        var list = Data(#"{"apiVersion":"v1","kind":"List","items":["#.utf8)
        for (offset, item) in matching.enumerated() {
            if offset > 0 { list.append(UInt8(ascii: ",")) }
            list.append(item.json)
        }
        list.append(contentsOf: Array("]}".utf8))
        return .found(list)
    }

    /// An add-on's record and which of the objects it needs are gone (what `AddonPlanner` reads).
    func addonFacts(_ definition: AddonDefinition) -> AddonFacts {
        struct Record: Decodable { var data: [String: String]? }
        let record = items["ConfigMap"]?.first {
            $0.namespace == "kube-system" && $0.name == "cairn-addon-" + definition.name
        }
        .flatMap { try? JSONDecoder().decode(Record.self, from: $0.json) }
        .map { $0.data ?? [:] }
        let missing = definition.mustExist.filter { reference in
            let parts = reference.object.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let kind = Self.kindsByName[parts[0].lowercased()] else { return true }
            // A kind not read (its CRD is not installed) has no objects.
            return items[kind]?.contains {
                $0.name == parts[1]
                    && (Self.clusterScopedKinds.contains(kind) || $0.namespace == reference.namespace)
            } != true
        }
        return AddonFacts(record: record, missing: missing.map { "\($0.namespace)/\($0.object)" })
    }
}

/// One requirement of an equality-based label selector (`a=b`, `a==b`, `a!=b`, `a`, `!a`).
struct LabelRequirement: Sendable, Equatable {
    enum Operator: Sendable, Equatable {
        case equals(String)
        case notEquals(String)
        case exists
        case doesNotExist
    }
    let key: String
    let op: Operator

    /// nil for what this does not understand (set-based selectors): the caller asks the API.
    static func parse(_ selector: String) -> [LabelRequirement]? {
        var requirements: [LabelRequirement] = []
        for part in selector.split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            if text.contains("(") || text.contains(" ") || text.isEmpty { return nil }
            if let range = text.range(of: "!=") {
                let value = String(text[range.upperBound...])
                requirements.append(.init(key: String(text[..<range.lowerBound]), op: .notEquals(value)))
            } else if let range = text.range(of: "==") ?? text.range(of: "=") {
                let value = String(text[range.upperBound...])
                requirements.append(.init(key: String(text[..<range.lowerBound]), op: .equals(value)))
            } else if text.hasPrefix("!") {
                requirements.append(.init(key: String(text.dropFirst()), op: .doesNotExist))
            } else {
                requirements.append(.init(key: text, op: .exists))
            }
        }
        return requirements
    }

    func matches(_ labels: [String: String]) -> Bool {
        switch op {
        case .equals(let value): return labels[key] == value
        case .notEquals(let value): return labels[key] != value
        case .exists: return labels[key] != nil
        case .doesNotExist: return labels[key] == nil
        }
    }
}
