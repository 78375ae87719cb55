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
        w1.expect(
            exactly: NodeFacts.command(advertise: "", parts: [.packages]),
            stdout: Fixture.json(node(name: "w1", address: "10.0.1.1")))
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
            cp.expect(
                exactly: NodeFacts.command(advertise: "", parts: [.packages, .network]),
                stdout: Fixture.json(node(name: "cp\(n)", address: "10.0.0.\(n)")))
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

    // MARK: nodeLocal, read but not built yet

    /// The inventory accepts `kubernetes.apiEndpoint.nodeLocal`; until a phase builds it, every phase
    /// whose work depends on the endpoint refuses it at plan time, after its read-only facts and
    /// before any change (host-checks first, so a whole apply or plan changes nothing).
    @Test func phasesRefuseTheNodeLocalEndpointAtPlanTime() async throws {
        let inventory = try Fixture.inventory(
            """
            name: t
            kubernetes: {apiEndpoint: {nodeLocal: {}}}
            hosts:
              - {name: cp1, address: 10.0.0.1, roles: [control-plane, etcd]}
              - {name: cp2, address: 10.0.0.2, roles: [control-plane, etcd]}
              - {name: cp3, address: 10.0.0.3, roles: [control-plane, etcd]}
              - {name: w1, address: 10.0.1.1, roles: [worker]}
            """)
        let topology = Topology(inventory)
        #expect(throws: NodeLocalEndpointNotBuilt(phase: "api-endpoint")) {
            try APIEndpointPlanner(topology: topology).plan(facts: [:])
        }
        let cases: [(phase: any Phase, parts: NodeFacts.Parts, advertise: Bool)] = [
            (HostChecksPhase(topology: topology), [.system], true),
            (APIEndpointPhase(topology: topology), [.packages, .network], false),
            (ControlPlaneInitPhase(topology: topology), [.cluster], true),
            (ControlPlaneJoinPhase(topology: topology), [.cluster], true),
            (WorkerJoinPhase(topology: topology), [.cluster], true),
        ]
        for (phase, parts, advertise) in cases {
            for mode in [RunMode.plan, .apply] {
                let harness = PhaseHarness(hosts: Fixture.hosts(topology))
                for host in inventory.hosts {
                    harness[host.name].expect(
                        exactly: NodeFacts.command(advertise: advertise ? host.internalAddress : "", parts: parts),
                        stdout: Fixture.json(node(name: host.name, address: host.internalAddress)))
                }
                let (result, events) = await harness.run(phase, on: .all, mode: mode)
                #expect(result.outcome != .succeeded, "\(phase.name)")
                #expect(
                    (result.error as? NodeLocalEndpointNotBuilt) == NodeLocalEndpointNotBuilt(phase: phase.name),
                    "\(phase.name): \(String(describing: result.error))")
                #expect(events.planned.isEmpty, "\(phase.name)")
                harness.expectExactlyTheExpectedCommands()
                #expect(harness.executors.values.allSatisfy { $0.uploads.isEmpty })
            }
        }
        let refusal = NodeLocalEndpointNotBuilt(phase: "host-checks")
        #expect(refusal.summary == "kubernetes.apiEndpoint.nodeLocal is not built yet by this Cairn version")
        #expect(refusal.exitCode == .invalidInput)
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
