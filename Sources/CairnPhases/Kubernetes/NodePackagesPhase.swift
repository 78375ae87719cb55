import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import Foundation

/// containerd (systemd cgroup driver), runc, CNI plugins, crictl, kubeadm, kubelet and kubectl
/// at the inventory's versions, pushed from the operator (hosts need no internet); the kubelet's
/// unit and kubeadm drop-in. Idempotent by version and by file hash.
public struct NodePackagesPhase: Phase {
    public let name = "node-packages"
    public let title = "Container runtime and Kubernetes binaries"
    let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> NodeFacts
    {
        try await NodeFacts.gather(
            executor: executor, advertise: topology.internalAddress(of: host.name), cache: context.run.factCache)
    }

    public func plan(facts: [EngineHost: NodeFacts], context: PhaseContext) throws -> PhasePlan {
        let fetcher = context.run.values[ArtifactsKey.self]
        let planner = NodePackagesPlanner(
            kubernetesVersion: topology.inventory.kubernetes.version, origin: { fetcher?.origin(of: $0) ?? "" })
        let steps = context.hosts.flatMap { host in facts[host].map { planner.steps(host: host.name, node: $0) } ?? [] }
        return PhasePlan(actions: steps.actions(predicted: context.isPredicted))
    }

    public func gate(context: PhaseContext) -> Gate? {
        let hosts = context.hosts
        return Gate(name: "container runtime answers", timeout: .seconds(60)) { context in
            var waiting: [String] = []
            for host in hosts {
                let executor = try await context.run.executors.executor(for: host)
                let output = try await executor.run(
                    RemoteCommand("crictl", ["info"]), stdin: nil, timeout: .seconds(15))
                if !output.succeeded {
                    waiting.append("\(host.name) (\(output.stderrTail(lines: 1).first ?? output.statusDescription))")
                }
            }
            return waiting.isEmpty
                ? .passed("containerd answers on \(hosts.count) host\(hosts.count == 1 ? "" : "s")")
                : .notYet("containerd not answering on " + waiting.joined(separator: ", "))
        }
    }
}

/// What a node needs installed and configured, from its facts alone.
public struct NodePackagesPlanner: Sendable {
    public let kubernetesVersion: String
    /// Where an artifact will come from, for the plan's text.
    public var origin: @Sendable (ArtifactSpec) -> String = { _ in "" }

    static func bare(_ version: String) -> String { version.hasPrefix("v") ? String(version.dropFirst()) : version }

    public func steps(host name: String, node: NodeFacts) -> [HostStep] {
        let k8s = kubernetesVersion
        let arch = Architecture.releaseName(machine: node.machine)
        let installed = node.versions.mapValues(Self.bare)
        var steps: [HostStep] = []
        var containerdChanged = false
        func describe(_ spec: ArtifactSpec) -> String { origin(spec).isEmpty ? "" : " (\(origin(spec)))" }

        let containerd = ArtifactCatalog.containerd(version: SupportedVersions.containerd, arch: arch)
        if installed["containerd"] != containerd.version {
            steps.append(
                .install(
                    host: name, summary: "install containerd \(containerd.version)\(describe(containerd))",
                    artifact: containerd,
                    how: .binaries(
                        inner: "bin", names: ["containerd", "containerd-shim-runc-v2", "ctr"], unit: "", marker: "",
                        record: "containerd")))
            containerdChanged = true
        }
        let runc = ArtifactCatalog.runc(version: SupportedVersions.runc, arch: arch)
        if installed["runc"] != runc.version {
            steps.append(
                .install(
                    host: name, summary: "install runc \(runc.version)\(describe(runc))", artifact: runc,
                    how: .binary(path: "/usr/local/bin/runc")))
        }
        let cni = ArtifactCatalog.cniPlugins(version: SupportedVersions.cniPlugins, arch: arch)
        if installed["cni"] != cni.version {
            steps.append(
                .install(
                    host: name, summary: "install the CNI plugins \(cni.version) into /opt/cni/bin\(describe(cni))",
                    artifact: cni,
                    how: .archive(directory: KubernetesLayout.cniBin)))
        }
        // On a node that has joined, a new Kubernetes version is an upgrade: kubernetes-upgrade
        // drains it and brings kubeadm, kubelet, kubectl, crictl and containerd's configuration
        // there, one node at a time. Until then the runtime stays as its kubelet needs it.
        let joined = node.hasKubeletConf && !(installed["kubelet"] ?? "").isEmpty
        let runtimeVersion = joined ? installed["kubelet"] ?? k8s : k8s
        let runtime = runtimeSteps(host: name, node: node, kubernetes: runtimeVersion)
        if let crictl = runtime.crictl { steps.append(crictl) }
        for binary in ["kubeadm", "kubelet", "kubectl"] where installed[binary] != k8s && !joined {
            let spec = ArtifactCatalog.kubernetesBinary(binary, version: k8s, arch: arch)
            let what =
                (installed[binary] ?? "").isEmpty
                ? "install \(binary) \(k8s)" : "upgrade \(binary) \(installed[binary]!)→\(k8s)"
            steps.append(
                .install(
                    host: name, summary: what + describe(spec), artifact: spec,
                    how: .binary(path: "/usr/local/bin/\(binary)")))
        }
        if let config = runtime.containerdConfig {
            steps.append(config)
            containerdChanged = true
        }
        if let step = HostStep.render(
            host: name, path: KubernetesLayout.containerdUnit, content: NodeFiles.containerdUnit,
            currentHash: node.files[KubernetesLayout.containerdUnit])
        {
            steps.append(step)
            containerdChanged = true
        }
        for (path, content) in [
            (KubernetesLayout.crictlConfig, NodeFiles.crictlConfig),
            (KubernetesLayout.kubeletUnit, NodeFiles.kubeletUnit),
            (KubernetesLayout.kubeletDropIn, NodeFiles.kubeletDropIn),
        ] {
            if let step = HostStep.render(host: name, path: path, content: content, currentHash: node.files[path]) {
                steps.append(step)
            }
        }
        if node.services["containerd"] != "active" {
            steps.append(.run(host: name, summary: "enable and start containerd", ServiceCommand.start("containerd")))
        } else if containerdChanged {
            steps.append(
                .run(
                    host: name, summary: "restart containerd (new binary or configuration)",
                    ServiceCommand.restart("containerd")))
        }
        if node.files[KubernetesLayout.kubeletUnit] != SHA256Digest.hex(of: NodeFiles.kubeletUnit) {
            // Enabled, not started: without kubeadm's configuration the kubelet only crash-loops;
            // kubeadm init/join start it.
            steps.append(.run(host: name, summary: "enable the kubelet", ServiceCommand.enable("kubelet")))
        }
        return steps
    }

    /// What depends on the Kubernetes minor in the runtime: crictl (versioned with Kubernetes)
    /// and containerd's configuration (the pause image; containerd must restart to read it).
    public func runtimeSteps(host name: String, node: NodeFacts, kubernetes: String) -> (
        crictl: HostStep?, containerdConfig: HostStep?
    ) {
        let arch = Architecture.releaseName(machine: node.machine)
        let spec = ArtifactCatalog.crictl(version: SupportedVersions.crictl(forKubernetes: kubernetes), arch: arch)
        var crictl: HostStep?
        if Self.bare(node.versions["crictl"] ?? "") != spec.version {
            let from = origin(spec).isEmpty ? "" : " (\(origin(spec)))"
            crictl = .install(
                host: name, summary: "install crictl \(spec.version)\(from)", artifact: spec,
                how: .binaries(inner: "", names: ["crictl"], unit: "", marker: "", record: "crictl"))
        }
        let config = HostStep.render(
            host: name, path: KubernetesLayout.containerdConfig,
            content: NodeFiles.containerdConfig(kubernetes: kubernetes),
            currentHash: node.files[KubernetesLayout.containerdConfig])
        return (crictl, config)
    }
}
