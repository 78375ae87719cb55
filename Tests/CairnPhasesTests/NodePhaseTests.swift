import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import CairnTesting
import Foundation
import Testing

@testable import CairnPhases

/// The node phases (host checks, host preparation, packages, the API endpoint) on canned facts:
/// the steps they plan, and — through the engine against fakes that fail on anything unexpected —
/// the exact commands and file contents that reach hosts.
@Suite struct NodePhaseTests {
    // MARK: node-packages

    /// Everything a fresh worker gets, in order: each binary pushed and put in place, Cairn's files,
    /// containerd started and the kubelet enabled.
    @Test func aFreshHostGetsEveryBinaryAndFile() async throws {
        let topology = try Fixture.cluster()
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        harness.values[ArtifactsKey.self] = FakeArtifacts()
        let w1 = harness["w1"]
        w1.expectNodeFacts(advertise: "10.0.1.1", node(name: "w1", address: "10.0.1.1"))
        let version = topology.inventory.kubernetes.version
        let containerd = ArtifactCatalog.containerd(version: "2.3.4")
        let runc = ArtifactCatalog.runc(version: "1.4.3")
        let cni = ArtifactCatalog.cniPlugins(version: "1.9.1")
        let crictl = ArtifactCatalog.crictl(version: String(version.prefix(4)) + ".0")
        let marker = "/var/lib/cairn/installed"
        w1.expect(
            exactly: .script(
                .cairnInstall, as: "cairn-install-containerd",
                arguments: [
                    "/var/cache/cairn/containerd-\(containerd.version)-linux-amd64.tar.gz", "bin", "", "", "containerd",
                    "containerd-shim-runc-v2", "ctr",
                ]))
        w1.expect(
            exactly: .script(
                .cairnMarkInstalled, arguments: [marker, "containerd", containerd.version, "/usr/local/bin/containerd"])
        )
        w1.expect(
            exactly: .script(.cairnMarkInstalled, arguments: [marker, "runc", runc.version, "/usr/local/bin/runc"]))
        w1.expect(
            exactly: .script(
                .cairnUnpack, as: "cairn-unpack-cni-plugins",
                arguments: [
                    "/var/cache/cairn/cni-plugins-linux-amd64-v\(cni.version).tgz", "/opt/cni/bin", cni.version,
                ]))
        w1.expect(
            exactly: .script(
                .cairnInstall, as: "cairn-install-crictl",
                arguments: [
                    "/var/cache/cairn/crictl-v\(crictl.version)-linux-amd64.tar.gz", "", "", "", "crictl",
                ]))
        w1.expect(
            exactly: .script(
                .cairnMarkInstalled, arguments: [marker, "crictl", crictl.version, "/usr/local/bin/crictl"]))
        for binary in ["kubeadm", "kubelet", "kubectl"] {
            w1.expect(
                exactly: .script(.cairnMarkInstalled, arguments: [marker, binary, version, "/usr/local/bin/\(binary)"]))
        }
        w1.expect(exactly: .script(.cairnService, arguments: ["start", "containerd"]))
        w1.expect(exactly: .script(.cairnService, arguments: ["enable", "kubelet"]))
        // The gate asks containerd to answer.
        w1.expect(exactly: RemoteCommand("crictl", ["info"]))

        let (result, events) = await harness.run(NodePackagesPhase(topology: topology), on: .named(["w1"]))
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        harness.expectExactlyTheExpectedCommands()
        #expect(
            w1.uploads.map(\.path) == [
                "/var/cache/cairn/containerd-\(containerd.version)-linux-amd64.tar.gz", "/usr/local/bin/runc",
                "/var/cache/cairn/cni-plugins-linux-amd64-v\(cni.version).tgz",
                "/var/cache/cairn/crictl-v\(crictl.version)-linux-amd64.tar.gz",
                "/usr/local/bin/kubeadm", "/usr/local/bin/kubelet", "/usr/local/bin/kubectl",
                KubernetesLayout.containerdConfig, KubernetesLayout.containerdUnit, KubernetesLayout.crictlConfig,
                KubernetesLayout.kubeletUnit, KubernetesLayout.kubeletDropIn,
            ])
        #expect(
            w1.uploads.first { $0.path == "/usr/local/bin/kubelet" }
                == .init(
                    path: "/usr/local/bin/kubelet",
                    content: "ARTIFACT kubelet \(version)", mode: "755"))
        #expect(
            w1.uploads.first { $0.path == KubernetesLayout.containerdConfig }?.content
                == NodeFiles.containerdConfig(kubernetes: version))
        #expect(w1.uploads.first { $0.path == KubernetesLayout.kubeletDropIn }?.content == NodeFiles.kubeletDropIn)
        #expect(events.planned.first == "w1: install containerd \(containerd.version) (from the test mirror)")
    }

    @Test func aConvergedHostNeedsNothing() async throws {
        let topology = try Fixture.cluster()
        let version = topology.inventory.kubernetes.version
        let planner = NodePackagesPlanner(kubernetesVersion: version)
        let converged = convergedNode(
            name: "w1", address: "10.0.1.1", version: version, controlPlane: false, topology: topology)
        #expect(planner.steps(host: "w1", node: converged).isEmpty)
    }

    /// Another Kubernetes version in the inventory, on a host that has not joined yet: crictl of
    /// that minor, the three binaries from that version's release URLs, and, when the release pins
    /// another sandbox image, containerd's configuration (then containerd restarts). Nothing else.
    /// On a host that has joined, the three binaries are left to kubernetes-upgrade, which drains
    /// the node first.
    @Test(arguments: SupportedVersions.kubernetes.supported)
    func eachSupportedVersionInstallsItsOwnBinaries(version: String) throws {
        let topology = try Fixture.cluster(version: version)
        let other = SupportedVersions.kubernetes.supported.first { $0 != version }!
        let joined = convergedNode(
            name: "w1", address: "10.0.1.1", version: other, controlPlane: false, topology: topology)
        let installed = node(
            name: "w1", address: "10.0.1.1", versions: joined.versions, files: joined.files,
            services: ["containerd": "active"], kubeletConfig: false, kubeletConf: false)
        let steps = NodePackagesPlanner(kubernetesVersion: version).steps(host: "w1", node: installed)
        let joinedSteps = NodePackagesPlanner(kubernetesVersion: version).steps(host: "w1", node: joined)
        #expect(
            !joinedSteps.contains { step in
                if case .install(_, _, let artifact, _) = step { return artifact.name.hasPrefix("kube") }
                return false
            })
        let crictl = ArtifactSpec(
            name: "crictl", version: String(version.prefix(4)) + ".0",
            url:
                "https://github.com/kubernetes-sigs/cri-tools/releases/download/v\(version.prefix(4)).0/crictl-v\(version.prefix(4)).0-linux-amd64.tar.gz"
        )
        var expected: [HostStep] = [
            .install(
                host: "w1", summary: "install crictl \(crictl.version)", artifact: crictl,
                how: .binaries(inner: "", names: ["crictl"], unit: "", marker: "", record: "crictl"))
        ]
        expected += ["kubeadm", "kubelet", "kubectl"].map { binary in
            .install(
                host: "w1", summary: "upgrade \(binary) \(other)→\(version)",
                artifact: ArtifactSpec(
                    name: binary, version: version,
                    url: "https://dl.k8s.io/release/v\(version)/bin/linux/amd64/\(binary)"),
                how: .binary(path: "/usr/local/bin/\(binary)"))
        }
        if SupportedVersions.pauseImage(forKubernetes: version) != SupportedVersions.pauseImage(forKubernetes: other) {
            expected += [
                .write(
                    host: "w1", path: KubernetesLayout.containerdConfig,
                    content: NodeFiles.containerdConfig(kubernetes: version),
                    current: "", mode: "644", change: "differs from Cairn's", secret: false),
                .run(
                    host: "w1", summary: "restart containerd (new binary or configuration)",
                    ServiceCommand.restart("containerd")),
            ]
        }
        #expect(steps == expected)
    }

    // MARK: api-endpoint

    /// haproxy on every control-plane host balancing to all three, keepalived with descending
    /// priorities and the others as unicast peers; both enabled and started.
    @Test func theBalancedEndpointOnFreshControlPlaneHosts() async throws {
        let topology = try Fixture.cluster()
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        for n in 1...3 {
            let cp = harness["cp\(n)"]
            cp.expectNodeFacts(advertise: "10.0.0.\(n)", node(name: "cp\(n)", address: "10.0.0.\(n)"))
            cp.expect(exactly: .script(.cairnService, arguments: ["enable-restart", "cairn-apiserver-lb"]))
            cp.expect(exactly: .script(.cairnService, arguments: ["enable-restart", "cairn-vip"]))
        }
        harness["cp1"].expect(exactly: .script(.cairnProbePort, arguments: ["10.0.0.250", "8443"]))
        let (result, _) = await harness.run(APIEndpointPhase(topology: topology), on: .roles(["control-plane"]))
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        harness.expectExactlyTheExpectedCommands()
        let haproxy = NodeFiles.haproxyConfig(
            port: 8443, backends: [("cp1", "10.0.0.1"), ("cp2", "10.0.0.2"), ("cp3", "10.0.0.3")])
        #expect(haproxy.contains("server cp2 10.0.0.2:6443 check"))
        for n in 1...3 {
            let uploads = harness["cp\(n)"].uploads
            #expect(
                uploads.map(\.path) == [
                    KubernetesLayout.haproxyConfig, KubernetesLayout.haproxyUnit,
                    KubernetesLayout.keepalivedConfig, KubernetesLayout.keepalivedUnit,
                ])
            #expect(uploads[0].content == haproxy)
            let keepalived = uploads[2].content
            #expect(keepalived.contains("priority \(151 - n)"), "cp\(n): \(keepalived)")
            #expect(keepalived.contains("unicast_src_ip 10.0.0.\(n)"))
            for peer in (1...3).filter({ $0 != n }) { #expect(keepalived.contains("10.0.0.\(peer)\n")) }
            #expect(keepalived.contains("10.0.0.250/24 dev eth0"))
        }
    }

    /// A fourth control-plane host: every balancer learns the new backend and every keepalived the
    /// new unicast peer (both restarted); units and everything else stay; the new host gets it all.
    @Test func expansionChangesOnlyTheBackendAndPeerListsElsewhere() throws {
        let topology = try Fixture.cluster(extraControlPlanes: 1)
        let before = try Fixture.cluster()
        let planner = APIEndpointPlanner(topology: topology)
        var facts: [String: NodeFacts] = [:]
        let old = try APIEndpointPlanner(topology: before).plan(
            facts: Dictionary(
                uniqueKeysWithValues: (1...3).map {
                    ("cp\($0)", node(name: "cp\($0)", address: "10.0.0.\($0)"))
                })
        ).steps
        for n in 1...3 {
            var files: [String: String] = [:]
            for case .write(let host, let path, let content, _, _, _, _) in old where host == "cp\(n)" {
                files[path] = SHA256Digest.hex(of: content)
            }
            #expect(files.count == 4)
            facts["cp\(n)"] = node(
                name: "cp\(n)", address: "10.0.0.\(n)", files: files,
                services: ["cairn-apiserver-lb": "active", "cairn-vip": "active"])
        }
        facts["cp4"] = node(name: "cp4", address: "10.0.0.4")
        let steps = try planner.plan(facts: facts).steps
        for n in 1...3 {
            let host = "cp\(n)"
            let onHost = steps.filter { $0.host == host }
            let written = onHost.compactMap { step -> String? in
                if case .write(_, let path, let content, _, _, _, _) = step {
                    return path + (content.contains("10.0.0.4") ? " +cp4" : "")
                }
                return nil
            }
            #expect(
                written == [KubernetesLayout.haproxyConfig + " +cp4", KubernetesLayout.keepalivedConfig + " +cp4"],
                "\(host): \(onHost)")
            #expect(
                Array(onHost.suffix(2))
                    == ["cairn-apiserver-lb", "cairn-vip"].map {
                        .run(
                            host: host, summary: "restart \($0) (configuration changed)",
                            command: .script(.cairnService, arguments: ["restart", $0]), timeout: nil)
                    })
        }
        #expect(steps.filter { $0.host == "cp4" }.count == 6)
    }

    @Test func aHostWithoutTheAddressOnAnyInterfaceIsRefused() throws {
        let topology = try Fixture.cluster()
        var facts = Dictionary(
            uniqueKeysWithValues: (1...3).map { ("cp\($0)", node(name: "cp\($0)", address: "10.0.0.\($0)")) })
        facts["cp2"] = node(name: "cp2", address: "192.168.9.9")
        #expect(throws: APIEndpointPlanner.NoInterface(host: "cp2", address: "10.0.0.2")) {
            try APIEndpointPlanner(topology: topology).plan(facts: facts)
        }
    }

    // MARK: nodeLocal

    static func nodeLocal(port: Int? = nil, extraControlPlane: Bool = false) throws -> Topology {
        Topology(
            try Fixture.inventory(
                """
                name: t
                kubernetes: {apiEndpoint: {nodeLocal: {}\(port.map { ", port: \($0)" } ?? "")}}
                hosts:
                  - {name: cp1, address: 10.0.0.1, roles: [control-plane, etcd]}
                  - {name: cp2, address: 10.0.0.2, roles: [control-plane, etcd]}
                  - {name: cp3, address: 10.0.0.3, roles: [control-plane, etcd]}
                  - {name: w1, address: 10.0.1.1, roles: [worker]}
                \(extraControlPlane ? "  - {name: cp4, address: 10.0.0.4, roles: [control-plane]}" : "")
                """))
    }

    /// Facts of a nodeLocal host as Cairn leaves it: its balancer's files and unit (where it runs
    /// one), an API server on joined control-plane hosts, the name at the loopback address.
    static func nodeLocalConverged(_ topology: Topology, _ name: String) -> NodeFacts {
        let host = topology.host(named: name)!
        var files: [String: String] = [:]
        let settings = topology.nodeLocal!
        if settings.runsProxy(host) {
            files[KubernetesLayout.haproxyConfig] = SHA256Digest.hex(
                of: NodeFiles.haproxyConfig(
                    port: settings.port, backends: topology.controlPlanes.map { ($0.name, $0.internalAddress) },
                    listen: "127.0.0.1", preferred: host.has(.controlPlane) ? name : nil))
            files[KubernetesLayout.haproxyUnit] = SHA256Digest.hex(of: NodeFiles.haproxyUnit)
        }
        var facts = node(
            name: name, address: host.internalAddress, files: files,
            services: settings.runsProxy(host) ? ["cairn-apiserver-lb": "active"] : [:],
            manifests: host.has(.controlPlane) ? ["kube-apiserver.yaml"] : [])
        facts.endpointEntry = "127.0.0.1"
        return facts
    }

    /// A new cluster: the worker gets haproxy on 127.0.0.1:6443 over the three API servers and the
    /// name at its loopback address; the first control-plane host (where `kubeadm init` will start
    /// an API server) the name only; the others nothing until they join. One host at a time.
    @Test func aNewNodeLocalClusterGetsABalancerOnEveryWorker() throws {
        let topology = try Self.nodeLocal()
        var facts: [String: NodeFacts] = [:]
        for host in topology.nodes { facts[host.name] = node(name: host.name, address: host.internalAddress) }
        let (steps, notes) = try APIEndpointPlanner(topology: topology).plan(facts: facts)
        let config = NodeFiles.haproxyConfig(
            port: 6443, backends: [("cp1", "10.0.0.1"), ("cp2", "10.0.0.2"), ("cp3", "10.0.0.3")], listen: "127.0.0.1")
        #expect(config.contains("  bind 127.0.0.1:6443\n"))
        #expect(config.contains("  server cp2 10.0.0.2:6443 check check-ssl verify none\n"))
        #expect(!config.contains("backup"))
        let entry = { (host: String) in
            HostStep.run(
                host: host, summary: "/etc/hosts: kube-apiserver.cairn.internal → 127.0.0.1",
                command: .script(.cairnHostsEntry, arguments: ["127.0.0.1", "kube-apiserver.cairn.internal"]),
                timeout: nil)
        }
        #expect(
            steps == [
                entry("cp1"),
                HostStep.render(
                    host: "w1", path: KubernetesLayout.haproxyConfig, content: config, currentHash: "")!,
                HostStep.render(
                    host: "w1", path: KubernetesLayout.haproxyUnit, content: NodeFiles.haproxyUnit, currentHash: "")!,
                .run(
                    host: "w1", summary: "enable and start cairn-apiserver-lb",
                    command: ServiceCommand.enableAndRestart("cairn-apiserver-lb"), timeout: nil),
                entry("w1"),
            ])
        #expect(
            notes == [
                "every node reaches the API at https://127.0.0.1:6443 as kube-apiserver.cairn.internal: haproxy over 3 API servers on 1 host; control-plane hosts use their own API server"
            ])
        #expect(topology.apiEndpoint == "kube-apiserver.cairn.internal:6443")
    }

    /// A converged cluster plans nothing; a new control-plane host changes every balancer's
    /// backends (restarted one host at a time) and gets no name until its join.
    @Test func aNodeLocalClusterConvergesAndFollowsExpansion() async throws {
        let before = try Self.nodeLocal()
        var facts: [String: NodeFacts] = [:]
        for host in before.nodes { facts[host.name] = Self.nodeLocalConverged(before, host.name) }
        #expect(try APIEndpointPlanner(topology: before).plan(facts: facts).steps.isEmpty)

        let after = try Self.nodeLocal(extraControlPlane: true)
        facts["cp4"] = node(name: "cp4", address: "10.0.0.4")
        let steps = try APIEndpointPlanner(topology: after).plan(facts: facts).steps
        #expect(steps.map(\.host) == ["w1", "w1"])
        guard case .write(_, let path, let content, _, _, _, _) = steps[0] else {
            Issue.record("expected the configuration first: \(steps)")
            return
        }
        #expect(path == KubernetesLayout.haproxyConfig && content.contains("  server cp4 10.0.0.4:6443 check"))
        #expect(
            steps[1]
                == .run(
                    host: "w1", summary: "restart cairn-apiserver-lb (configuration changed)",
                    command: ServiceCommand.restart("cairn-apiserver-lb"), timeout: nil))

        // Through the phase: the worker's changes run serially, after the read-only facts.
        let harness = PhaseHarness(hosts: Fixture.hosts(after))
        for host in after.nodes {
            harness[host.name].expectNodeFacts(advertise: host.internalAddress, facts[host.name]!)
        }
        let (result, events) = await harness.run(
            WithoutGate(APIEndpointPhase(topology: after)), on: .roles(["control-plane", "worker"]), mode: .plan)
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        #expect(
            events.planned == [
                "w1: write \(KubernetesLayout.haproxyConfig) (changed: differs from Cairn's)",
                "w1: restart cairn-apiserver-lb (configuration changed)",
            ])
    }

    /// With another port than 6443, control-plane hosts run a balancer too, preferring their own
    /// API server (the others are backups), so a joining host reaches the cluster through it.
    @Test func withAnotherPortControlPlaneHostsPreferTheirOwnAPIServer() throws {
        let topology = try Self.nodeLocal(port: 7443)
        var facts: [String: NodeFacts] = [:]
        for host in topology.nodes { facts[host.name] = node(name: host.name, address: host.internalAddress) }
        let steps = try APIEndpointPlanner(topology: topology).plan(facts: facts).steps
        #expect(Set(steps.map(\.host)) == ["cp1", "cp2", "cp3", "w1"])
        let cp2 =
            steps.compactMap { step -> String? in
                if case .write(let host, KubernetesLayout.haproxyConfig, let content, _, _, _, _) = step, host == "cp2"
                {
                    return content
                }
                return nil
            }.first ?? ""
        #expect(cp2.contains("  bind 127.0.0.1:7443\n"))
        #expect(cp2.contains("  server cp1 10.0.0.1:6443 check check-ssl verify none backup\n"))
        #expect(cp2.contains("  server cp2 10.0.0.2:6443 check check-ssl verify none\n"))
        // Every host's name points at its loopback address: its own balancer is there.
        #expect(
            steps.filter {
                if case .run(_, _, let command, _) = $0 { return command.description.contains("cairn-hosts-entry") }
                return false
            }.count == 4)
    }

    /// Host checks: an haproxy of Cairn's on a worker's endpoint port is no conflict; anything else is.
    @Test func hostChecksKnowTheNodeLocalBalancer() throws {
        let topology = try Self.nodeLocal()
        let checks = HostChecksPhase(topology: topology)
        let w1 = topology.host(named: "w1")!
        let ours = node(
            name: "w1", address: "10.0.1.1", services: ["cairn-apiserver-lb": "active"], listening: "6443 haproxy\n")
        #expect(checks.portProblems(host: w1, node: ours).isEmpty)
        let foreign = node(name: "w1", address: "10.0.1.1", listening: "6443 nginx\n")
        #expect(
            checks.portProblems(host: w1, node: foreign) == [
                HostProblem(host: "w1", problem: "port 6443 is in use by \"nginx\"; Kubernetes needs it")
            ])
    }

    /// The API server certificate carries the names a nodeLocal client uses.
    @Test func nodeLocalCertificatesCarryTheLoopbackNames() throws {
        let topology = try Self.nodeLocal()
        #expect(
            KubeadmConfig.certSANs(topology.inventory) == [
                "kube-apiserver.cairn.internal", "localhost", "127.0.0.1", "::1",
            ])
        let config = KubeadmConfig.initConfiguration(
            topology: topology, host: topology.controlPlanes[0], token: "abcdef.0123456789abcdef",
            certificateKey: String(repeating: "ab", count: 32))
        #expect(config.contains("controlPlaneEndpoint: \"kube-apiserver.cairn.internal:6443\""))
    }

    /// The operator's kubeconfig: one context per control-plane host, the first current;
    /// `--control-plane` picks another and refuses a host that is not one.
    @Test func theOperatorsKubeconfigNamesEveryControlPlaneHost() throws {
        let topology = try Self.nodeLocal()
        let admin = """
            apiVersion: v1
            clusters:
            - cluster:
                certificate-authority-data: Q0E=
                server: https://kube-apiserver.cairn.internal:6443
              name: t
            contexts:
            - context:
                cluster: t
                user: kubernetes-admin
              name: kubernetes-admin@t
            current-context: kubernetes-admin@t
            kind: Config
            users:
            - name: kubernetes-admin
              user:
                client-certificate-data: Q0VSVA==
                client-key-data: S0VZ
            """
        let made = String(
            decoding: try OperatorKubeconfig.make(adminConf: Data(admin.utf8), topology: topology), as: UTF8.self)
        #expect(made.contains("current-context: kubernetes-admin@t-cp1\n"))
        for n in 1...3 {
            #expect(made.contains("server: https://10.0.0.\(n):6443\n"))
            #expect(made.contains("name: kubernetes-admin@t-cp\(n)\n"))
        }
        #expect(!made.contains("cairn.internal") && made.contains("client-key-data: S0VZ"))
        let second = String(
            decoding: try OperatorKubeconfig.selecting(controlPlane: "cp2", in: Data(made.utf8), topology: topology),
            as: UTF8.self)
        #expect(second.contains("current-context: kubernetes-admin@t-cp2\n"))
        #expect(throws: OperatorKubeconfig.NotAControlPlane(host: "w1", contexts: ["cp1", "cp2", "cp3"])) {
            try OperatorKubeconfig.selecting(controlPlane: "w1", in: Data(made.utf8), topology: topology)
        }
        // Any other endpoint: admin.conf as it is.
        let vip = try Fixture.cluster()
        #expect(try OperatorKubeconfig.make(adminConf: Data(admin.utf8), topology: vip) == Data(admin.utf8))
    }

    // MARK: host-checks

    @Test func hostChecksRefuseWhatCannotMakeACluster() throws {
        let topology = try Fixture.cluster(workers: 2)
        let checks = HostChecksPhase(topology: topology)
        let now = 1_790_000_000
        func facts(_ node: NodeFacts) -> HostChecksPhase.Facts { .init(node: node, operatorEpoch: now, roundTrip: 1) }
        var all = Dictionary(
            uniqueKeysWithValues: topology.inventory.hosts.map { host in
                (host.name, facts(node(name: host.name, address: host.internalAddress, epoch: now)))
            })
        #expect(checks.problems(all).isEmpty)
        all["cp2"] = facts(node(name: "cp2", address: "10.0.0.2", memoryKiB: 1_000_000, epoch: now))
        all["cp3"] = facts(node(name: "cp3", address: "10.0.0.3", listening: "6443 nginx\n", epoch: now + 120))
        all["w2"] = facts(
            NodeFacts(
                os: "debian", osVersion: "12", machine: "x86_64", memoryKiB: 4_000_000, cpus: 2, hostname: "w2",
                machineID: "machine-w1", epoch: now, swapActive: 0, ipForward: "1", cgroupFilesystem: "cgroup2fs",
                versions: [:], files: [:],
                services: [:], hasKubeletConfig: false, hasKubeletConf: false, hasAdminConf: false, initialized: false,
                manifests: [], listening: "", interfaces: "", apiserverReady: "", nodes: nil))
        #expect(
            checks.problems(all).map { "\($0.host): \($0.problem)" } == [
                "cp2: 976 MiB of memory; a control-plane host needs 1.5 GiB",
                "cp3: its clock is 120 s off the operator's; etcd and TLS need synchronised clocks (run chrony or systemd-timesyncd)",
                "cp3: port 6443 is in use by \"nginx\"; Kubernetes needs it",
                "w1, w2: they share one /etc/machine-id (cloned machines); regenerate it (systemd-machine-id-setup) on all but one",
            ])
    }

    /// Kubernetes 1.35 and later need cgroup v2 on every node; an etcd-only host may run v1.
    @Test func aCgroupV1NodeIsRefusedBeforeAnythingChanges() throws {
        let topology = try Fixture.inventory(
            """
            name: t
            kubernetes: {apiEndpoint: {haproxyKeepalived: {virtualIP: 10.0.0.250}}}
            hosts:
              - {name: e1, address: 10.0.2.1, roles: [etcd]}
              - {name: e2, address: 10.0.2.2, roles: [etcd]}
              - {name: e3, address: 10.0.2.3, roles: [etcd]}
              - {name: cp1, address: 10.0.0.1, roles: [control-plane]}
              - {name: w1, address: 10.0.1.1, roles: [worker]}
            """)
        let checks = HostChecksPhase(topology: Topology(topology))
        let now = 1_790_000_000
        var facts = Dictionary(
            uniqueKeysWithValues: topology.hosts.map { host in
                (
                    host.name,
                    HostChecksPhase.Facts(
                        node: node(name: host.name, address: host.internalAddress, epoch: now), operatorEpoch: now,
                        roundTrip: 1)
                )
            })
        #expect(checks.problems(facts).isEmpty)
        for host in topology.hosts where ["e1", "w1"].contains(host.name) {
            let v1 = node(name: host.name, address: host.internalAddress, epoch: now, cgroup: "tmpfs")
            facts[host.name] = HostChecksPhase.Facts(node: v1, operatorEpoch: now, roundTrip: 1)
        }
        #expect(
            checks.problems(facts).map { "\($0.host): \($0.problem)" } == [
                "w1: it runs cgroup v1 (/sys/fs/cgroup is tmpfs); Kubernetes 1.36 needs cgroup v2: boot it with "
                    + "systemd.unified_cgroup_hierarchy=1 (the default of Debian 11+, Ubuntu 21.10+ and RHEL 9)"
            ])
    }

    // MARK: prepare-hosts

    @Test func hostPreparationSendsExactlyTheseCommandsAndFiles() async throws {
        let harness = PhaseHarness(hosts: [("h1", ["worker"])])
        let phase = PrepareHostsPhase(settings: HostPreparation())
        let h1 = harness["h1"]
        h1.expect(
            exactly: phase.factCommand(),
            stdout: Fixture.json(
                PrepareHostsPhase.Facts(
                    swapActive: 1, fstabSwap: 1, modulesPresent: ["overlay"], modulesFile: "-", sysctlFile: "-",
                    sysctls: [
                        "net.ipv4.ip_forward": "0", "net.bridge.bridge-nf-call-iptables": "",
                        "net.bridge.bridge-nf-call-ip6tables": "",
                    ],
                    hostname: "h1")))
        h1.expect(exactly: RemoteCommand("swapoff", ["-a"]))
        h1.expect(
            exactly: RemoteCommand(
                "sed",
                [
                    "-i.cairn-backup", "-E", "/^[^#].*[[:space:]]swap[[:space:]]/s/^/# disabled by cairn: /",
                    "/etc/fstab",
                ]))
        h1.expect(exactly: RemoteCommand("modprobe", ["--", "br_netfilter"]))
        h1.expect(exactly: RemoteCommand("sysctl", ["-q", "-p", "/etc/sysctl.d/99-cairn.conf"]))
        let (result, _) = await harness.run(phase)
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        harness.expectExactlyTheExpectedCommands()
        #expect(
            h1.uploads == [
                .init(
                    path: "/etc/modules-load.d/cairn.conf",
                    content: "# Managed by cairn: kernel modules Kubernetes needs.\noverlay\nbr_netfilter\n",
                    mode: "644"),
                .init(
                    path: "/etc/sysctl.d/99-cairn.conf",
                    content: """
                        # Managed by cairn: kernel settings Kubernetes needs.
                        net.ipv4.ip_forward = 1
                        net.bridge.bridge-nf-call-iptables = 1
                        net.bridge.bridge-nf-call-ip6tables = 1

                        """, mode: "644"),
            ])
    }
}
