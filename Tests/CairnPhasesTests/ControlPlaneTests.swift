import CairnCore
import CairnEngine
import CairnInventory
import CairnPKI
import CairnTesting
import Foundation
import Testing

@testable import CairnPhases

/// The kubeadm phases: `kubeadm init` on the first control-plane host, joins one at a time, workers
/// in parallel — what is decided on which facts, and the exact commands and files of each step.
@Suite struct ControlPlaneTests {
    static let token = "abcdef.0123456789abcdef"
    static let certificateKey = String(repeating: "ab", count: 32)
    static let secrets = KubeadmSecrets(token: { token }, certificateKey: { certificateKey })

    func facts(_ topology: Topology, _ build: (CairnInventory.Host) -> NodeFacts) -> [String: NodeFacts] {
        Dictionary(uniqueKeysWithValues: topology.nodes.map { ($0.name, build($0)) })
    }

    func fresh(_ topology: Topology) -> [String: NodeFacts] {
        facts(topology) { node(name: $0.name, address: $0.internalAddress) }
    }

    /// Every node joined and registered; control-plane hosts' API servers ready.
    func converged(_ topology: Topology, registered: [String]? = nil) -> [String: NodeFacts] {
        let names = registered ?? topology.nodes.map(\.name)
        return facts(topology) { host in
            convergedNode(
                name: host.name, address: host.internalAddress, version: topology.inventory.kubernetes.version,
                controlPlane: host.has(.controlPlane), topology: topology, nodes: names)
        }
    }

    /// What a control-plane join asks of the anchor: a token, new certificates under a fresh
    /// key, the joined node's registration, and etcd's health.
    func expectControlPlaneJoinCredentials(on anchor: FakeHostExecutor, for node: String) {
        anchor.expect(
            exactly: RemoteCommand("kubeadm", ["token", "create", "--ttl", "1h0m0s", "--description", "cairn join"]),
            stdout: "\(Self.token)\n")
        anchor.expect(
            exactly: RemoteCommand("kubeadm", ["init", "phase", "upload-certs", "--upload-certs"]),
            stdout: "[upload-certs] Using certificate key:\n\(Self.certificateKey)\n")
        anchor.expect(
            exactly: RemoteCommand(
                "kubectl",
                [
                    "--kubeconfig", "/etc/kubernetes/admin.conf", "--request-timeout=20s",
                    "get", "node", node, "-o", "name",
                ]), stdout: "node/\(node)\n")
        expectEtcdReport(on: anchor)
    }

    // MARK: Decisions

    @Test func aFirstBuildInitializesTheFirstControlPlaneAndJoinsTheRest() throws {
        let topology = try Fixture.cluster()
        let planner = ControlPlanePlanner(topology: topology, facts: fresh(topology))
        #expect(!planner.clusterExists)
        #expect(planner.initialize().steps == [.initialize(host: "cp1")])
        #expect(
            try planner.joinControlPlanes() == [
                .join(host: "cp2", anchor: "cp1", controlPlane: true),
                .join(host: "cp3", anchor: "cp1", controlPlane: true),
            ])
        #expect(
            try planner.joinWorkers() == [
                .join(host: "w1", anchor: "cp1", controlPlane: false),
                .join(host: "w2", anchor: "cp1", controlPlane: false),
            ])
    }

    @Test func aConvergedClusterNeedsNoStep() throws {
        let topology = try Fixture.cluster()
        let planner = ControlPlanePlanner(topology: topology, facts: converged(topology))
        #expect(planner.clusterExists)
        #expect(planner.initialize().steps.isEmpty)
        #expect(planner.initialize().notes == ["the cluster exists (initialised on cp1, cp2, cp3): no kubeadm init"])
        #expect(try planner.joinControlPlanes().isEmpty)
        #expect(try planner.joinWorkers().isEmpty)
    }

    /// A fourth control-plane host and a third worker: only they are joined.
    @Test func anExpansionJoinsOnlyTheNewHosts() throws {
        let topology = try Fixture.cluster(workers: 3, extraControlPlanes: 1)
        var facts = converged(topology, registered: ["cp1", "cp2", "cp3", "w1", "w2"])
        facts["cp4"] = node(name: "cp4", address: "10.0.0.4")
        facts["w3"] = node(name: "w3", address: "10.0.1.3")
        let planner = ControlPlanePlanner(topology: topology, facts: facts)
        #expect(planner.initialize().steps.isEmpty)
        #expect(try planner.joinControlPlanes() == [.join(host: "cp4", anchor: "cp1", controlPlane: true)])
        #expect(try planner.joinWorkers() == [.join(host: "w3", anchor: "cp1", controlPlane: false)])
    }

    /// A join killed midway leaves kubelet.conf without a registered node (or a registered node
    /// whose API server never came up): reset, then join again.
    @Test func aHalfFinishedJoinIsResetThenJoined() throws {
        let topology = try Fixture.cluster()
        var facts = converged(topology, registered: ["cp1", "cp3", "w1", "w2"])
        facts["cp2"] = node(
            name: "cp2", address: "10.0.0.2", kubeletConfig: true, kubeletConf: true, manifests: ["kube-apiserver.yaml"]
        )
        facts["w2"] = node(name: "w2", address: "10.0.1.2", kubeletConfig: true)
        let planner = ControlPlanePlanner(topology: topology, facts: facts)
        #expect(
            try planner.joinControlPlanes() == [
                .reset(host: "cp2", why: "files present, but the node never registered"),
                .join(host: "cp2", anchor: "cp1", controlPlane: true),
            ])
        // w2 is registered (facts above say so) but has no kubelet.conf: joined again after a reset.
        #expect(
            try planner.joinWorkers() == [
                .reset(host: "w2", why: "files present, but the node never registered"),
                .join(host: "w2", anchor: "cp1", controlPlane: false),
            ])
    }

    @Test func aJoinedHostWhoseAPIServerIsNotReadyIsWaitedFor() throws {
        let topology = try Fixture.cluster()
        var facts = converged(topology)
        facts["cp3"] = convergedNode(
            name: "cp3", address: "10.0.0.3", version: topology.inventory.kubernetes.version, controlPlane: true,
            topology: topology)
        facts["cp3"] = NodeFacts(
            os: "debian", osVersion: "12", machine: "x86_64", memoryKiB: 4_000_000, cpus: 2, hostname: "cp3",
            machineID: "m3", epoch: 0, swapActive: 0, ipForward: "1", cgroupFilesystem: "cgroup2fs", versions: [:],
            files: [:], services: [:],
            hasKubeletConfig: true, hasKubeletConf: true, hasAdminConf: true, initialized: false,
            manifests: ["kube-apiserver.yaml"], listening: "", interfaces: "", apiserverReady: "", nodes: nil)
        #expect(
            try ControlPlanePlanner(topology: topology, facts: facts).joinControlPlanes() == [
                .waitReady(host: "cp3", anchor: "cp1")
            ])
    }

    /// A killed `kubeadm init` leaves admin.conf and manifests but not Cairn's marker: that is not
    /// a cluster. The first host is reset (the precondition) and initialised again.
    @Test func aKilledInitIsResetBeforeInitializingAgain() throws {
        let topology = try Fixture.cluster()
        var facts = fresh(topology)
        facts["cp1"] = node(
            name: "cp1", address: "10.0.0.1", kubeletConfig: true, adminConf: true, manifests: ["kube-apiserver.yaml"])
        let planner = ControlPlanePlanner(topology: topology, facts: facts)
        #expect(!planner.clusterExists)
        #expect(
            planner.initialize().steps == [
                .reset(host: "cp1", why: "an earlier kubeadm init did not finish"), .initialize(host: "cp1"),
            ])
    }

    /// The cluster exists but no control-plane host can list the nodes (API down): joins are not
    /// planned on a guess, since a joined node would look half joined.
    @Test func withoutTheNodeListNothingIsReset() throws {
        let topology = try Fixture.cluster()
        let facts = facts(topology) { host in
            convergedNode(
                name: host.name, address: host.internalAddress, version: topology.inventory.kubernetes.version,
                controlPlane: host.has(.controlPlane), topology: topology, nodes: nil)
        }
        let planner = ControlPlanePlanner(topology: topology, facts: facts)
        #expect(throws: ClusterUnreadable.self) { try planner.joinControlPlanes() }
        #expect(throws: ClusterUnreadable.self) { try planner.joinWorkers() }
    }

    // MARK: Commands and files

    /// `kubeadm init`: the rendered configuration (with the run's token and certificate key, 0600),
    /// the precondition, init itself, then Cairn's marker; then the gate through the endpoint.
    @Test func initSendsExactlyTheseCommandsAndThisConfiguration() async throws {
        let topology = try Fixture.cluster()
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        let cp1 = harness["cp1"]
        cp1.expectNodeFacts(advertise: "10.0.0.1", node())
        for n in 2...3 {
            harness["cp\(n)"].expectNodeFacts(advertise: "10.0.0.\(n)", node(name: "cp\(n)", address: "10.0.0.\(n)"))
        }
        // kubeadm's external-etcd version floor, checked against what the members run.
        expectEtcdReport(on: cp1)
        cp1.expect(exactly: .script(.cairnKubeadmPrecondition, arguments: ["if-needed"]))
        cp1.expect(
            exactly: RemoteCommand(
                "kubeadm", ["init", "--config", "/etc/kubernetes/cairn/kubeadm-init.yaml", "--upload-certs"]))
        cp1.expect(
            exactly: .script(
                .cairnMarkInitialized,
                arguments: ["/etc/kubernetes/cairn/kubeadm-init.yaml", "/etc/kubernetes/cairn/initialized"]))
        cp1.expect(
            exactly: RemoteCommand("curl", ["-sk", "--max-time", "3", "https://10.0.0.250:8443/readyz"]), stdout: "ok")
        cp1.expect(
            exactly: RemoteCommand(
                "kubectl",
                [
                    "--kubeconfig", "/etc/kubernetes/admin.conf", "--request-timeout=20s",
                    "get", "node", "cp1", "-o", "name",
                ]), stdout: "node/cp1\n")
        let (result, events) = await harness.run(
            ControlPlaneInitPhase(topology: topology, secrets: Self.secrets), on: .roles(["control-plane"]))
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        harness.expectExactlyTheExpectedCommands()
        #expect(
            events.planned == [
                "cp1: write /etc/kubernetes/cairn/kubeadm-init.yaml (new)",
                "cp1: kubeadm init on cp1 (external etcd, endpoint 10.0.0.250:8443, --upload-certs)",
            ])
        let config = try #require(cp1.uploads.first)
        #expect(
            cp1.uploads.count == 1 && config.path == "/etc/kubernetes/cairn/kubeadm-init.yaml" && config.mode == "600")
        #expect(
            config.content
                == KubeadmConfig.initConfiguration(
                    topology: topology, host: topology.controlPlanes[0],
                    token: Self.token, certificateKey: Self.certificateKey))
        for line in [
            "- token: \"\(Self.token)\"", "certificateKey: \"\(Self.certificateKey)\"",
            "controlPlaneEndpoint: \"10.0.0.250:8443\"",
            "    - \"https://10.0.0.1:2379\"\n    - \"https://10.0.0.2:2379\"\n    - \"https://10.0.0.3:2379\"",
            "kubernetesVersion: \"v\(topology.inventory.kubernetes.version)\"", "  - \"10.0.0.250\"",
            "  taints:\n  - key: \"node-role.kubernetes.io/control-plane\"\n    effect: NoSchedule",
        ] {
            #expect(config.content.contains(line), "the configuration lacks \(line)")
        }
        // The secrets never reach the run's events.
        #expect(harness.redactor.redact("token \(Self.token)") != "token \(Self.token)")
    }

    /// A control-plane join: fresh credentials on the anchor (a token, the CA pin, new certificates
    /// under a new key), the precondition, the join configuration, kubeadm join, then the wait for
    /// the node and its API server. A half-joined host is reset first.
    @Test func aControlPlaneJoinSendsExactlyTheseCommands() async throws {
        let topology = try Fixture.cluster()
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        var facts = converged(topology, registered: ["cp1", "cp3", "w1", "w2"])
        facts["cp2"] = node(name: "cp2", address: "10.0.0.2", kubeletConf: true)
        for n in 1...3 {
            harness["cp\(n)"].expectNodeFacts(advertise: "10.0.0.\(n)", facts["cp\(n)"]!)
        }
        let pki = PKIStore(
            directory: FileManager.default.temporaryDirectory.appendingPathComponent("cairn-ca-\(UUID().uuidString)"))
        try pki.ensureCA(name: "kubernetes", commonName: "kubernetes")
        let ca = try pki.caCertificatePEM("kubernetes")
        let cp1 = harness["cp1"]
        let cp2 = harness["cp2"]
        cp1.place(KubernetesLayout.caCertificate, ca)
        expectControlPlaneJoinCredentials(on: cp1, for: "cp2")
        cp2.expect(exactly: .script(.cairnKubeadmPrecondition, arguments: ["always"]))
        cp2.expect(exactly: .script(.cairnKubeadmPrecondition, arguments: ["if-needed"]))
        cp2.expect(exactly: RemoteCommand("kubeadm", ["join", "--config", "/etc/kubernetes/cairn/kubeadm-join.yaml"]))
        cp2.expect(exactly: RemoteCommand("rm", ["-f", "/etc/kubernetes/cairn/kubeadm-join.yaml"]))
        cp2.expect(
            exactly: RemoteCommand("curl", ["-sk", "--max-time", "3", "https://10.0.0.2:6443/readyz"]), stdout: "ok")
        let (result, events) = await harness.run(
            WithoutGate(ControlPlaneJoinPhase(topology: topology)), on: .roles(["control-plane"]))
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        #expect(
            events.planned == [
                "cp2: reset the half-finished kubeadm run on cp2 (files present, but the node never registered)",
                "cp2: kubeadm join cp2 as a control plane (fresh token and certificate key)",
            ])
        harness.expectExactlyTheExpectedCommands()
        let join = try #require(cp2.uploads.first)
        #expect(join.path == "/etc/kubernetes/cairn/kubeadm-join.yaml" && join.mode == "600")
        let pin = try PKIStore.spkiSHA256(ofCertificatePEM: ca)
        #expect(
            join.content
                == KubeadmConfig.joinConfiguration(
                    topology: topology, host: topology.controlPlanes[1], token: Self.token,
                    caCertHash: pin, certificateKey: Self.certificateKey))
        #expect(join.content.contains("apiServerEndpoint: \"10.0.0.250:8443\""))
        #expect(join.content.contains("caCertHashes: [\"\(pin)\"]"))
        #expect(join.content.contains("  localAPIEndpoint:\n    advertiseAddress: \"10.0.0.2\""))
    }

    /// nodeLocal: kubeadm join reads the cluster through the endpoint name before the joining
    /// host's own API server exists, so the name points at a ready API server first (cp1 does not
    /// answer; cp3 does), and at the loopback address once the join is done.
    @Test func aNodeLocalControlPlaneJoinPointsTheNameAtAReadyAPIServerFirst() async throws {
        let topology = Topology(
            try Fixture.inventory(
                """
                name: t
                kubernetes: {apiEndpoint: {nodeLocal: {}}}
                hosts:
                  - {name: cp1, address: 10.0.0.1, roles: [control-plane, etcd]}
                  - {name: cp2, address: 10.0.0.2, roles: [control-plane, etcd]}
                  - {name: cp3, address: 10.0.0.3, roles: [control-plane, etcd]}
                """))
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        var facts = converged(topology, registered: ["cp1", "cp3"])
        facts["cp2"] = node(name: "cp2", address: "10.0.0.2")
        for n in 1...3 {
            harness["cp\(n)"].expectNodeFacts(advertise: "10.0.0.\(n)", facts["cp\(n)"]!)
        }
        let pki = PKIStore(
            directory: FileManager.default.temporaryDirectory.appendingPathComponent("cairn-ca-\(UUID().uuidString)"))
        try pki.ensureCA(name: "kubernetes", commonName: "kubernetes")
        let cp1 = harness["cp1"]
        let cp2 = harness["cp2"]
        cp1.place(KubernetesLayout.caCertificate, try pki.caCertificatePEM("kubernetes"))
        expectControlPlaneJoinCredentials(on: cp1, for: "cp2")
        cp2.expect(exactly: .script(.cairnKubeadmPrecondition, arguments: ["if-needed"]))
        cp2.expect(
            exactly: RemoteCommand("curl", ["-sk", "--max-time", "3", "https://10.0.0.1:6443/readyz"]),
            stdout: "[-]etcd failed")
        cp2.expect(
            exactly: RemoteCommand("curl", ["-sk", "--max-time", "3", "https://10.0.0.3:6443/readyz"]), stdout: "ok")
        cp2.expect(exactly: .script(.cairnHostsEntry, arguments: ["10.0.0.3", "kube-apiserver.cairn.internal"]))
        cp2.expect(exactly: RemoteCommand("kubeadm", ["join", "--config", "/etc/kubernetes/cairn/kubeadm-join.yaml"]))
        cp2.expect(exactly: RemoteCommand("rm", ["-f", "/etc/kubernetes/cairn/kubeadm-join.yaml"]))
        cp2.expect(exactly: .script(.cairnHostsEntry, arguments: ["127.0.0.1", "kube-apiserver.cairn.internal"]))
        cp2.expect(
            exactly: RemoteCommand("curl", ["-sk", "--max-time", "3", "https://10.0.0.2:6443/readyz"]), stdout: "ok")
        let (result, _) = await harness.run(
            WithoutGate(ControlPlaneJoinPhase(topology: topology)), on: .roles(["control-plane"]))
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        harness.expectExactlyTheExpectedCommands()
        let join = try #require(cp2.uploads.first)
        #expect(join.content.contains("apiServerEndpoint: \"kube-apiserver.cairn.internal:6443\""))
    }

    /// An etcd member older than kubeadm's floor stops the run before kubeadm, naming the member
    /// and what it runs (kubeadm's own preflight would say less, later).
    @Test func anEtcdMemberBelowKubeadmsFloorStopsInitBeforeKubeadm() async throws {
        let topology = try Fixture.cluster()
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        for n in 1...3 {
            harness["cp\(n)"].expectNodeFacts(advertise: "10.0.0.\(n)", node(name: "cp\(n)", address: "10.0.0.\(n)"))
        }
        expectEtcdReport(on: harness["cp1"], version: "3.5.17")
        let (result, _) = await harness.run(
            ControlPlaneInitPhase(topology: topology, secrets: Self.secrets), on: .roles(["control-plane"]))
        #expect(result.outcome != .succeeded)
        guard case .hostsFailed(_, _, let failures) = result.error as? EngineError,
            let error = failures.first?.error as? ExternalEtcdTooOld
        else {
            Issue.record("expected the etcd floor refusal, got \(String(describing: result.error))")
            return
        }
        #expect(error.minimum == "3.5.24" && error.members == ["cp1": "3.5.17", "cp2": "3.5.17", "cp3": "3.5.17"])
        #expect(error.summary.contains("cp1 runs 3.5.17") && error.nextStep?.contains("3.5.24") == true)
        harness.expectExactlyTheExpectedCommands()
        #expect(!harness["cp1"].recordedCalls.contains { $0.contains("kubeadm init") })
    }

    @Test func versionsCompareNumerically() {
        #expect(SupportedVersions.isOlder("3.5.9", than: "3.5.24"))
        #expect(SupportedVersions.isOlder("v3.4.23", than: "3.5.24-0"))
        #expect(!SupportedVersions.isOlder("3.6.14", than: "3.5.24"))
        #expect(!SupportedVersions.isOlder("3.5.24", than: "3.5.24"))
    }

    /// Each supported Kubernetes version is what kubeadm is told to install.
    @Test(arguments: SupportedVersions.kubernetes.supported)
    func theInitConfigurationNamesTheVersion(version: String) throws {
        let topology = try Fixture.cluster(version: version)
        let config = KubeadmConfig.initConfiguration(
            topology: topology, host: topology.controlPlanes[0], token: Self.token,
            certificateKey: Self.certificateKey)
        #expect(config.contains("kubernetesVersion: \"v\(version)\""))
        #expect(config.contains("apiVersion: kubeadm.k8s.io/v1beta4"))
    }
}
