import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// The add-ons' verification gates. Each says, while waiting, what is not ready and why: the
/// nodes that are not Ready and their reason, pending pods and the scheduler's message,
/// containers waiting and their reason, Ceph's health detail.
enum Gates {
    static func string(_ object: Any?, _ path: String...) -> String? {
        var current = object
        for key in path { current = (current as? [String: Any])?[key] }
        return current as? String
    }

    static func int(_ object: Any?, _ path: String...) -> Int {
        var current = object
        for key in path { current = (current as? [String: Any])?[key] }
        return (current as? NSNumber)?.intValue ?? 0
    }

    /// Why each pod of `namespace` (matching `selector`) is not ready, one phrase per pod.
    static func podProblems(_ kubectl: Kubectl, namespace: String, selector: String?) async throws -> [String] {
        var arguments = ["pods", "-n", namespace]
        if let selector { arguments += ["-l", selector] }
        var problems: [String] = []
        for pod in try await kubectl.items(arguments) {
            let name = string(pod, "metadata", "name") ?? "?"
            let status = pod["status"] as? [String: Any]
            let conditions = status?["conditions"] as? [[String: Any]] ?? []
            if let scheduled = conditions.first(where: { $0["type"] as? String == "PodScheduled" }), scheduled["status"] as? String == "False" {
                problems.append("\(name) Pending: \(scheduled["message"] as? String ?? scheduled["reason"] as? String ?? "unschedulable")")
                continue
            }
            let containers = status?["containerStatuses"] as? [[String: Any]] ?? []
            if let waiting = containers.compactMap({ ($0["state"] as? [String: Any])?["waiting"] as? [String: Any] }).first {
                problems.append("\(name) \(waiting["reason"] as? String ?? "waiting")\((waiting["message"] as? String).map { ": \($0)" } ?? "")")
                continue
            }
            let ready = conditions.contains { $0["type"] as? String == "Ready" && $0["status"] as? String == "True" }
            if !ready { problems.append("\(name) \(status?["phase"] as? String ?? "not ready")") }
        }
        return problems
    }

    /// Nodes that are not Ready, with the kubelet's reason.
    static func notReadyNodes(_ kubectl: Kubectl) async throws -> (total: Int, notReady: [String]) {
        let nodes = try await kubectl.items(["nodes"])
        var notReady: [String] = []
        for node in nodes {
            let conditions = (node["status"] as? [String: Any])?["conditions"] as? [[String: Any]] ?? []
            let ready = conditions.first { $0["type"] as? String == "Ready" }
            if ready?["status"] as? String != "True" {
                let why = (ready?["message"] as? String) ?? (ready?["reason"] as? String) ?? "not Ready"
                notReady.append("\(string(node, "metadata", "name") ?? "?") (\(why))")
            }
        }
        return (nodes.count, notReady)
    }

    static func calico(_ kubectl: Kubectl) async throws -> Gate.Outcome {
        let nodes = try await notReadyNodes(kubectl)
        let daemonSet = try? await kubectl.json(["daemonset", "calico-node", "-n", "calico-system"])
        let desired = int(daemonSet, "status", "desiredNumberScheduled"), ready = int(daemonSet, "status", "numberReady")
        if daemonSet == nil { return .notYet("the operator has not created calico-node yet") }
        if desired != nodes.total || ready < desired {
            let problems = try await podProblems(kubectl, namespace: "calico-system", selector: "k8s-app=calico-node")
            return .notYet("calico-node ready on \(ready) of \(nodes.total) nodes" + (problems.isEmpty ? "" : "; " + problems.prefix(3).joined(separator: "; ")))
        }
        if !nodes.notReady.isEmpty { return .notYet("not Ready: " + nodes.notReady.joined(separator: ", ")) }
        return .passed("calico-node on all \(nodes.total) nodes, every node Ready")
    }

    /// A Deployment's replicas available on distinct nodes; its Service with endpoints (and,
    /// when asked, a LoadBalancer address).
    static func spread(_ kubectl: Kubectl, namespace: String, deployment: String, selector: String, replicas: Int,
                       service: String, needsAddress: Bool) async throws -> Gate.Outcome {
        let object = try await kubectl.json(["deployment", deployment, "-n", namespace])
        let available = int(object, "status", "availableReplicas"), wanted = int(object, "spec", "replicas")
        if wanted != replicas { return .notYet("\(deployment) has \(wanted) replicas, \(replicas) wanted") }
        if available < replicas {
            let problems = try await podProblems(kubectl, namespace: namespace, selector: selector)
            return .notYet("\(available) of \(replicas) \(deployment) replicas available" + (problems.isEmpty ? "" : "; " + problems.prefix(3).joined(separator: "; ")))
        }
        let pods = try await kubectl.items(["pods", "-n", namespace, "-l", selector])
        let running = pods.filter { string($0, "status", "phase") == "Running" }
        let nodes = Set(running.compactMap { string($0, "spec", "nodeName") })
        if nodes.count < min(replicas, running.count) { return .notYet("\(deployment) replicas share nodes: \(nodes.sorted().joined(separator: ", "))") }
        let endpoints = try? await kubectl.json(["endpoints", service, "-n", namespace])
        let addresses = (endpoints?["subsets"] as? [[String: Any]] ?? []).flatMap { $0["addresses"] as? [[String: Any]] ?? [] }
        if addresses.isEmpty { return .notYet("service \(service) has no endpoints yet") }
        var note = ""
        if needsAddress {
            let svc = try await kubectl.json(["service", service, "-n", namespace])
            let ingress = ((svc["status"] as? [String: Any])?["loadBalancer"] as? [String: Any])?["ingress"] as? [[String: Any]]
            guard let ip = ingress?.first?["ip"] as? String else { return .notYet("service \(service) has no LoadBalancer address yet") }
            note = ", service \(service) at \(ip)"
        }
        return .passed("\(replicas) \(deployment) replicas on \(nodes.sorted().joined(separator: ", "))\(note)")
    }

    static func metallb(_ kubectl: Kubectl, clock: any EngineClock) async throws -> Gate.Outcome {
        let controller = try await kubectl.json(["deployment", "controller", "-n", "metallb-system"])
        if int(controller, "status", "availableReplicas") < 1 {
            let problems = try await podProblems(kubectl, namespace: "metallb-system", selector: "component=controller")
            return .notYet("the MetalLB controller is not available" + (problems.isEmpty ? "" : ": " + problems.joined(separator: "; ")))
        }
        let nodes = try await notReadyNodes(kubectl)
        let speaker = try await kubectl.json(["daemonset", "speaker", "-n", "metallb-system"])
        if int(speaker, "status", "numberReady") < nodes.total {
            return .notYet("speakers ready on \(int(speaker, "status", "numberReady")) of \(nodes.total) nodes")
        }
        // A throw-away LoadBalancer service must get an address from a pool.
        let probe = try Template.text("playbooks/addons/metallb-probe.yaml")
        let executor = kubectl.executor
        let path = KubernetesLayout.cairnDirectory + "/addons/metallb/probe.yaml"
        _ = try await executor.upload(Data(probe.utf8), to: path, mode: "600", owner: "root:root")
        try await kubectl.apply(file: path, clock: clock)
        defer { Task { _ = try? await kubectl.run(["delete", "-f", path, "--ignore-not-found"]) } }
        for _ in 0..<10 {
            let svc = try await kubectl.json(["service", "cairn-metallb-probe", "-n", "metallb-system"])
            let ingress = ((svc["status"] as? [String: Any])?["loadBalancer"] as? [String: Any])?["ingress"] as? [[String: Any]]
            if let ip = ingress?.first?["ip"] as? String {
                _ = try? await kubectl.run(["delete", "-f", path, "--ignore-not-found"])
                return .passed("controller available, speakers on \(nodes.total) nodes, a test service got \(ip)")
            }
            try await clock.sleep(for: .seconds(1))
        }
        return .notYet("a LoadBalancer test service got no address from the pools")
    }

    static func ceph(_ kubectl: Kubectl, mons: Int, osds: Int, poolSize: Int) async throws -> Gate.Outcome {
        let operatorDeployment = try await kubectl.json(["deployment", "rook-ceph-operator", "-n", "rook-ceph"])
        if int(operatorDeployment, "status", "availableReplicas") < 1 {
            let problems = try await podProblems(kubectl, namespace: "rook-ceph", selector: "app=rook-ceph-operator")
            return .notYet("the Rook operator is not available" + (problems.isEmpty ? "" : ": " + problems.joined(separator: "; ")))
        }
        let output = try await kubectl.run(["-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "status", "-f", "json"])
        guard output.succeeded, let status = try? JSONSerialization.jsonObject(with: output.stdout) as? [String: Any] else {
            return .notYet("ceph status: \(output.stderrTail(lines: 1).first ?? "no answer")")
        }
        let health = status["health"] as? [String: Any]
        let healthStatus = health?["status"] as? String ?? "unknown"
        let checks = (health?["checks"] as? [String: Any] ?? [:]).map { key, value in
            "\(key): \(string(value, "summary", "message") ?? "")"
        }.sorted()
        let quorum = (status["quorum_names"] as? [String])?.count ?? 0
        let osdmap = (status["osdmap"] as? [String: Any]).map { ($0["osdmap"] as? [String: Any]) ?? $0 } ?? [:]
        let numOSDs = int(osdmap, "num_osds"), up = int(osdmap, "num_up_osds"), inOSDs = int(osdmap, "num_in_osds")
        let pgStates = (status["pgmap"] as? [String: Any])?["pgs_by_state"] as? [[String: Any]] ?? []
        let unclean = pgStates.filter { $0["state_name"] as? String != "active+clean" }.map { "\(int($0, "count")) \($0["state_name"] as? String ?? "?")" }
        var waiting: [String] = []
        if healthStatus != "HEALTH_OK" { waiting.append("\(healthStatus)" + (checks.isEmpty ? "" : " (\(checks.joined(separator: "; ")))")) }
        if quorum < mons { waiting.append("\(quorum) of \(mons) mons in quorum") }
        if numOSDs < osds || up < osds || inOSDs < osds { waiting.append("OSDs \(up) up, \(inOSDs) in of \(osds)") }
        if !unclean.isEmpty { waiting.append("PGs " + unclean.joined(separator: ", ")) }
        if waiting.isEmpty {
            let pool = try await kubectl.run(["-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "osd", "pool", "get", "replicapool", "size", "-f", "json"])
            let size = (try? JSONSerialization.jsonObject(with: pool.stdout) as? [String: Any]).flatMap { ($0["size"] as? NSNumber)?.intValue }
            if size != poolSize { waiting.append("pool replicapool size \(size.map(String.init) ?? "unknown"), \(poolSize) wanted") }
        }
        return waiting.isEmpty ? .passed("HEALTH_OK: \(quorum) mons in quorum, \(up)/\(numOSDs) OSDs up and in, all PGs active+clean, pool size \(poolSize)")
            : .notYet(waiting.joined(separator: "; "))
    }
}

extension Gates {
    static func volumeProbeLeftOver(_ kubectl: Kubectl) async throws -> Bool {
        let output = try await kubectl.run(["get", "pvc", "cairn-pvc-probe", "-n", "rook-ceph", "--ignore-not-found", "-o", "name"])
        return output.succeeded && !output.stdout.isEmpty
    }

    /// A throw-away claim on the default Ceph StorageClass must be Bound, then it is deleted.
    static func volumeProbe(_ kubectl: Kubectl, clock: any EngineClock) async throws -> Gate.Outcome {
        let probe = try Template.text("playbooks/addons/rook-ceph-pvc-probe.yaml")
        let path = KubernetesLayout.cairnDirectory + "/addons/rook-ceph/pvc-probe.yaml"
        _ = try await kubectl.executor.upload(Data(probe.utf8), to: path, mode: "600", owner: "root:root")
        try await kubectl.apply(file: path, clock: clock)
        for _ in 0..<15 {
            let claim = try await kubectl.json(["pvc", "cairn-pvc-probe", "-n", "rook-ceph"])
            if string(claim, "status", "phase") == "Bound" {
                let volume = string(claim, "spec", "volumeName") ?? "?"
                _ = try? await kubectl.run(["delete", "-f", path, "--ignore-not-found", "--wait=false"])
                return .passed("a test claim bound (\(volume))")
            }
            try await clock.sleep(for: .seconds(1))
        }
        // Still Pending: the provisioner's last word says why. The claim stays for the next poll
        // and, should the gate give up, for the next run (volumeProbeLeftOver).
        let events = try? await kubectl.items(["events", "-n", "rook-ceph", "--field-selector", "involvedObject.name=cairn-pvc-probe"])
        let reason = events?.compactMap { $0["reason"] as? String == "ProvisioningFailed" ? $0["message"] as? String : nil }.last
        return .notYet("a test claim on rook-ceph-block is still Pending" + (reason.map { ": \($0)" } ?? ""))
    }
}

/// Before Ceph is deployed: on every host with storage devices, each named device exists, holds
/// no filesystem and no partitions (Ceph wipes what it takes), the rbd module loads and lvm2 is
/// there. Anything else stops the run before Rook is deployed.
public struct StoragePreflightPhase: Phase {
    public let name = "storage-preflight"
    public let title = "Storage preflight for Ceph"
    let inventory: Inventory

    public init(inventory: Inventory) {
        self.inventory = inventory
    }

    public struct Facts: Sendable, Decodable {
        public let devices: [String: String]
        public let rbd: Bool
        public let lvm: Bool
    }


    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> Facts {
        let devices = inventory.host(named: host.name)?.storageDevices ?? []
        return try await executor.facts(RemoteCommand.script(.cairnFactsStorage, arguments: devices), as: Facts.self)
    }

    public func plan(facts: [EngineHost: Facts], context: PhaseContext) throws -> PhasePlan {
        var problems: [String] = []
        for host in context.hosts {
            guard let fact = facts[host], let spec = inventory.host(named: host.name), !spec.storageDevices.isEmpty else { continue }
            for device in spec.storageDevices where fact.devices[device] != "ok" {
                problems.append("\(host.name): \(device) \(fact.devices[device] ?? "was not checked")")
            }
            if !fact.lvm { problems.append("\(host.name): lvm2 is not installed (Ceph's OSDs need it)") }
            if !fact.rbd { problems.append("\(host.name): the rbd kernel module is not available") }
        }
        if !problems.isEmpty { throw AddonError.preflight(problems: problems) }
        return PhasePlan(notes: ["devices empty, lvm2 and rbd present on \(context.hosts.count) storage host\(context.hosts.count == 1 ? "" : "s")"])
    }
}
