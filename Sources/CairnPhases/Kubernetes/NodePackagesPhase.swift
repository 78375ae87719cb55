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
    let inventory: Inventory

    public init(inventory: Inventory) {
        self.inventory = inventory
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> NodeFacts {
        try await NodeFacts.gather(executor: executor, advertise: "", parts: [.packages])
    }

    static func bare(_ version: String) -> String { version.hasPrefix("v") ? String(version.dropFirst()) : version }

    public func plan(facts: [EngineHost: NodeFacts], context: PhaseContext) throws -> PhasePlan {
        let k8s = inventory.kubernetes.version
        let fetcher = context.run.values[ArtifactsKey.self]
        var actions: [Action] = []
        for host in context.hosts {
            guard let node = facts[host] else { continue }
            let name = host.name
            let predicted = context.isPredicted(name)
            let arch = Architecture.releaseName(machine: node.machine)
            func origin(_ spec: ArtifactSpec) -> String { fetcher?.origin(of: spec) ?? "" }
            let installed = node.versions.mapValues(Self.bare)
            var containerdChanged = false

            let containerd = ArtifactCatalog.containerd(arch: arch)
            if installed["containerd"] != containerd.version {
                actions.append(BinaryInstall.action(host: name, request: containerd, inner: "bin",
                                                    binaries: ["containerd", "containerd-shim-runc-v2", "ctr"],
                                                    marker: "", unit: "", record: "containerd",
                                                    summary: "install containerd \(containerd.version) (\(origin(containerd)))", predicted: predicted))
                containerdChanged = true
            }
            let runc = ArtifactCatalog.runc(arch: arch)
            if installed["runc"] != runc.version {
                actions.append(SingleBinary.action(host: name, spec: runc, path: "/usr/local/bin/runc",
                                                   summary: "install runc \(runc.version) (\(origin(runc)))", predicted: predicted))
            }
            let cni = ArtifactCatalog.cniPlugins(arch: arch)
            if installed["cni"] != cni.version {
                actions.append(Archive.action(host: name, spec: cni, into: KubernetesLayout.cniBin, version: cni.version,
                                              summary: "install the CNI plugins \(cni.version) into /opt/cni/bin (\(origin(cni)))", predicted: predicted))
            }
            let crictl = ArtifactCatalog.crictl(arch: arch)
            if installed["crictl"] != crictl.version {
                actions.append(BinaryInstall.action(host: name, request: crictl, inner: "", binaries: ["crictl"], marker: "", unit: "", record: "crictl",
                                                    summary: "install crictl \(crictl.version) (\(origin(crictl)))", predicted: predicted))
            }
            for binary in ["kubeadm", "kubelet", "kubectl"] where installed[binary] != k8s {
                let spec = ArtifactCatalog.kubernetesBinary(binary, version: k8s, arch: arch)
                let what = (installed[binary] ?? "").isEmpty ? "install \(binary) \(k8s)" : "upgrade \(binary) \(installed[binary]!)→\(k8s)"
                actions.append(SingleBinary.action(host: name, spec: spec, path: "/usr/local/bin/\(binary)",
                                                   summary: "\(what) (\(origin(spec)))", predicted: predicted))
            }

            for (path, content) in [(KubernetesLayout.containerdConfig, NodeFiles.containerdConfig),
                                    (KubernetesLayout.containerdUnit, NodeFiles.containerdUnit)] where node.files[path] != SHA256Digest.hex(of: content) {
                actions.append(.writeFile(host: name, path: path, content: content, current: (node.files[path] ?? "").isEmpty ? nil : "",
                                          predicted: predicted, changeSummary: "differs from Cairn's"))
                containerdChanged = true
            }
            for (path, content) in [(KubernetesLayout.crictlConfig, NodeFiles.crictlConfig),
                                    (KubernetesLayout.kubeletUnit, NodeFiles.kubeletUnit),
                                    (KubernetesLayout.kubeletDropIn, NodeFiles.kubeletDropIn)] where node.files[path] != SHA256Digest.hex(of: content) {
                actions.append(.writeFile(host: name, path: path, content: content, current: (node.files[path] ?? "").isEmpty ? nil : "",
                                          predicted: predicted, changeSummary: "differs from Cairn's"))
            }
            if node.services["containerd"] != "active" {
                actions.append(.command(host: name, summary: "enable and start containerd",
                                        ServiceCommand.start("containerd"), predicted: predicted))
            } else if containerdChanged {
                actions.append(.command(host: name, summary: "restart containerd (new binary or configuration)",
                                        ServiceCommand.restart("containerd"),
                                        predicted: predicted))
            }
            if node.files[KubernetesLayout.kubeletUnit] != SHA256Digest.hex(of: NodeFiles.kubeletUnit) {
                // Enabled, not started: without kubeadm's configuration the kubelet only crash-loops;
                // kubeadm init/join start it.
                actions.append(.command(host: name, summary: "enable the kubelet",
                                        ServiceCommand.enable("kubelet"),
                                        predicted: predicted))
            }
        }
        return PhasePlan(actions: actions)
    }

    public func gate(context: PhaseContext) -> Gate? {
        let hosts = context.hosts
        return Gate(name: "container runtime answers", timeout: .seconds(60)) { context in
            var waiting: [String] = []
            for host in hosts {
                let executor = try await context.run.executors.executor(for: host)
                let output = try await executor.run(RemoteCommand("crictl", ["info"]), stdin: nil, timeout: .seconds(15))
                if !output.succeeded { waiting.append("\(host.name) (\(output.stderrTail(lines: 1).first ?? output.statusDescription))") }
            }
            return waiting.isEmpty ? .passed("containerd answers on \(hosts.count) host\(hosts.count == 1 ? "" : "s")")
                : .notYet("containerd not answering on " + waiting.joined(separator: ", "))
        }
    }
}

/// A single-file release binary pushed to a path (skipped by the upload when already there).
enum SingleBinary {
    static func action(host: String, spec: ArtifactSpec, path: String, summary: String, predicted: Bool) -> Action {
        Action(host: host, summary: summary, predicted: predicted) { env in
            guard let fetcher = env.context.values[ArtifactsKey.self] else {
                throw EngineError.internalInconsistency("no artifact source configured")
            }
            let artifact = try await fetcher.fetch(spec)
            let executor = try env.host()
            _ = try await executor.upload(try Data(contentsOf: artifact.path), to: path, mode: "755", owner: "root:root")
            try await InstallMarker.record(component: spec.name, version: spec.version, binary: path, on: executor)
        }
    }
}

/// `NodeFacts.markerDirectory/COMPONENT` = "version size mtime" of the installed binary.
enum InstallMarker {

    static func record(component: String, version: String, binary: String, on executor: any HostExecutor) async throws {
        try await executor.runChecked(RemoteCommand.script(.cairnMarkInstalled,
                                                           arguments: [NodeFacts.markerDirectory, component, version, binary]))
    }
}

/// A release archive unpacked into a directory, with a version marker.
enum Archive {

    static func action(host: String, spec: ArtifactSpec, into directory: String, version: String, summary: String, predicted: Bool) -> Action {
        Action(host: host, summary: summary, predicted: predicted) { env in
            guard let fetcher = env.context.values[ArtifactsKey.self] else {
                throw EngineError.internalInconsistency("no artifact source configured")
            }
            let artifact = try await fetcher.fetch(spec)
            let remote = "/var/cache/cairn/" + fileName(spec)
            let executor = try env.host()
            _ = try await executor.upload(try Data(contentsOf: artifact.path), to: remote, mode: "644", owner: "root:root")
            try await executor.runChecked(RemoteCommand.script(.cairnUnpack, as: "cairn-unpack-\(spec.name)", arguments: [remote, directory, version]))
        }
    }
}
