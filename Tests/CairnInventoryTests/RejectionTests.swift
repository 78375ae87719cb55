import CairnCore
import CairnPhases
import Testing

@testable import CairnInventory

/// One test per rejection the issue lists, each with the exact field path and line.
@Suite struct RejectionTests {
    /// Exactly one error with this path; returns it for further checks.
    @discardableResult
    func expectError(
        _ yaml: String, path: String, line: Int?, column: Int? = nil, contains text: String,
        files: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) -> Diagnostic? {
        let errors = Fixture.errors(yaml, files: files)
        let matching = errors.filter { $0.path == path }
        #expect(matching.count == 1, "errors: \(errors.map(\.description))", sourceLocation: sourceLocation)
        guard let diagnostic = matching.first else { return nil }
        #expect(diagnostic.line == line, "\(diagnostic)", sourceLocation: sourceLocation)
        if let column { #expect(diagnostic.column == column, "\(diagnostic)", sourceLocation: sourceLocation) }
        #expect(diagnostic.message.contains(text), "\(diagnostic)", sourceLocation: sourceLocation)
        return diagnostic
    }

    func expectWarning(
        _ yaml: String, path: String, contains text: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let all = Fixture.diagnostics(yaml)
        let warnings = all.filter { $0.severity == .warning && $0.path == path }
        #expect(warnings.count == 1, "\(all.map(\.description))", sourceLocation: sourceLocation)
        #expect(
            warnings.first?.message.contains(text) == true, "\(warnings.map(\.description))",
            sourceLocation: sourceLocation)
    }

    static let single = """
        hosts:
          - name: n1
            address: 10.0.0.1
            roles: [control-plane, etcd, worker]
        etcd: {allowSingleMember: true}
        addons: {ingress: {enabled: false}}

        """

    // MARK: - The smallest file

    @Test func smallestValidFileListsHostsAndRoles() throws {
        let loaded = try Fixture.load(
            """
            hosts:
              - {name: a, address: 10.0.0.1, roles: [control-plane, etcd, worker]}
            etcd: {allowSingleMember: true}
            """
        ).get()
        let inventory = loaded.inventory
        #expect(inventory.name == "cairn")
        #expect(inventory.apiVersion == "cairn.dev/v1alpha1")
        #expect(inventory.stateDirectory == "/home/op/.cairn/cairn")
        #expect(inventory.kubernetes.version == "1.36.4")
        #expect(inventory.kubernetes.podSubnet == "10.244.0.0/16")
        #expect(inventory.kubernetes.serviceSubnet == "10.96.0.0/12")
        #expect(inventory.kubernetes.apiEndpoint == APIEndpoint(address: "10.0.0.1", port: 6443, mode: .direct))
        #expect(inventory.etcd.version == "3.6.14")
        #expect(inventory.addons.coredns.replicas == 2)
        #expect(inventory.addons.ingress.replicas == 1)
        #expect(inventory.addons.calico == calicoSettings())
        #expect(inventory.addons.rookCeph.enabled == false)
        #expect(inventory.hosts[0].internalAddress == "10.0.0.1")
        // The one warning: ingress has no LoadBalancer address without a MetalLB pool.
        #expect(loaded.warnings.map(\.path) == ["addons.ingress"])
    }

    // MARK: - Unknown fields, types

    @Test func unknownFieldWithDidYouMean() {
        let d = expectError(
            """
            hosts:
              - name: n1
                address: 10.0.0.1
                rolse: [worker]
            """, path: "hosts[0].rolse", line: 4, column: 5,
            contains: "unknown field \"rolse\" in hosts[0]; valid fields are name, address")
        #expect(d?.hint == "did you mean \"roles\"?")
    }

    @Test func unknownTopLevelFieldByPrefix() {
        let d = expectError(Self.single + "kube: {}\n", path: "kube", line: 7, contains: "unknown field \"kube\"")
        #expect(d?.hint == "did you mean \"kubernetes\"?")
    }

    @Test func unknownRoleRendersLikeACompiler() {
        let yaml = Fixture.ha.replacingOccurrences(
            of: "name: w2, address: 10.0.0.22, roles: [worker]",
            with: "name: w2, address: 10.0.0.22, roles: [worker, master]")
        let d = expectError(yaml, path: "hosts[4].roles[1]", line: 7, column: 52, contains: "unknown role \"master\"")
        #expect(
            d?.description
                == "test.yaml:7:52: error: hosts[4].roles[1]: unknown role \"master\"; valid roles are etcd, control-plane, worker (did you mean \"control-plane\"?)"
        )
    }

    @Test func wrongTypes() {
        expectError(
            Self.single + "ssh: {port: \"22\"}\n", path: "ssh.port", line: 7,
            contains: "expected an integer, found a string \"22\"")
        expectError("hosts: {a: 1}\n", path: "hosts", line: 1, contains: "expected a list, found a mapping")
        expectError(
            """
            hosts:
              - name: n1
                address: 10.0.0.1
                roles: control-plane
            """, path: "hosts[0].roles", line: 4, contains: "expected a list, found a string")
        expectError(
            Self.single
                + "etcd: {allowSingleMember: yes}\n".replacingOccurrences(of: "etcd", with: "kubernetes")
                .replacingOccurrences(of: "allowSingleMember", with: "version"),
            path: "kubernetes.version", line: 7, contains: "\"yes\" is not a version Cairn offers")
        expectError(
            """
            hosts:
              - {name: n1, address: 10.0.0.1, roles: [control-plane, etcd, worker]}
            etcd: {allowSingleMember: yes}
            """, path: "etcd.allowSingleMember", line: 3, contains: "expected true or false, found a string \"yes\"")
        expectError("[1, 2]\n", path: "", line: 1, contains: "expected a mapping")
    }

    @Test func duplicateKeysAreRefusedByTheParser() {
        expectError("hosts: []\nhosts: []\n", path: "", line: 1, contains: "duplicate key \"hosts\"")
    }

    // MARK: - Hosts

    @Test func duplicateHostNames() {
        let yaml = Fixture.ha.replacingOccurrences(of: "name: w1,", with: "name: cp2,")
        expectError(yaml, path: "hosts[3].name", line: 6, contains: "duplicate host name \"cp2\" (also hosts[1].name)")
    }

    @Test func duplicateAddresses() {
        let yaml = Fixture.ha.replacingOccurrences(of: "address: 10.0.0.22", with: "address: 10.0.0.21")
        expectError(
            yaml, path: "hosts[4].address", line: 7, contains: "duplicate address 10.0.0.21 (also hosts[3].address)")
        let viaInternal = Fixture.ha.replacingOccurrences(
            of: "address: 10.0.0.22,", with: "address: 10.0.0.22, internalAddress: 10.0.0.11,")
        expectError(
            viaInternal, path: "hosts[4].internalAddress", line: 7,
            contains: "duplicate address 10.0.0.11 (also hosts[0].address)")
    }

    @Test func malformedHostNamesAndAddresses() {
        expectError(
            Self.single.replacingOccurrences(of: "name: n1", with: "name: Node_1"),
            path: "hosts[0].name", line: 2, contains: "is not an RFC 1123 hostname")
        let upper = expectError(
            Self.single.replacingOccurrences(of: "name: n1", with: "name: Node1"),
            path: "hosts[0].name", line: 2, contains: "is not an RFC 1123 hostname")
        #expect(upper?.hint == "did you mean \"node1\"?")
        expectError(
            Self.single.replacingOccurrences(of: "address: 10.0.0.1", with: "address: 10.0.0.256"),
            path: "hosts[0].address", line: 3, contains: "is not an IP address, DNS name or ssh_config alias")
        let zeros = expectError(
            Self.single.replacingOccurrences(of: "address: 10.0.0.1", with: "address: 10.0.0.01"),
            path: "hosts[0].address", line: 3, contains: "is not an IP address")
        #expect(zeros?.hint == "IPv4 parts are written without leading zeros")
        expectError(
            Self.single.replacingOccurrences(of: "address: 10.0.0.1", with: "address: \"-oProxyCommand=reboot\""),
            path: "hosts[0].address", line: 3, contains: "is not an IP address")
        expectError(
            Self.single.replacingOccurrences(of: "address: 10.0.0.1", with: "address: \"a;reboot\""),
            path: "hosts[0].address", line: 3, contains: "is not an IP address")
        expectError(
            Self.single.replacingOccurrences(
                of: "address: 10.0.0.1", with: "address: 10.0.0.1\n    internalAddress: 010.0.0.1"),
            path: "hosts[0].internalAddress", line: 4, contains: "is not an IP address")
        expectError(
            Self.single.replacingOccurrences(of: "address: 10.0.0.1", with: "address: db.example.com"),
            path: "hosts[0].internalAddress", line: 2, contains: "has no IP address")
    }

    @Test func controlCharactersAreRefused() {
        expectError(
            Self.single.replacingOccurrences(of: "name: n1", with: "name: \"n1\\nreboot\""),
            path: "hosts[0].name", line: 2, contains: "control characters")
    }

    @Test func rolesLabelsTaintsDevices() {
        expectError(
            Self.single.replacingOccurrences(of: "roles: [control-plane, etcd, worker]", with: "roles: []"),
            path: "hosts[0].roles", line: 4, contains: "at least one role")
        expectError(
            Self.single.replacingOccurrences(
                of: "roles: [control-plane, etcd, worker]", with: "roles: [etcd, control-plane, etcd]"),
            path: "hosts[0].roles[2]", line: 4, contains: "listed twice")
        let withExtras = """
            hosts:
              - name: n1
                address: 10.0.0.1
                roles: [control-plane, etcd, worker]
                labels: {"bad key!": x, ok: "not ok!"}
                taints: [{key: a, effect: NoScheduled}]
                storage: {devices: [/dev/../etc/passwd, sdb]}
            etcd: {allowSingleMember: true}
            """
        let errors = Fixture.errors(withExtras)
        #expect(
            errors.map(\.path) == [
                "hosts[0].labels.bad key!", "hosts[0].labels.ok", "hosts[0].taints[0].effect",
                "hosts[0].storage.devices[0]", "hosts[0].storage.devices[1]",
            ], "\(errors.map(\.description))")
        #expect(errors.map(\.line) == [5, 5, 6, 7, 7])
        #expect(errors[2].hint == "did you mean \"NoSchedule\"?")
    }

    // MARK: - Role counts

    @Test func noControlPlaneHost() {
        expectError(
            """
            hosts:
              - {name: e1, address: 10.0.0.1, roles: [etcd]}
              - {name: e2, address: 10.0.0.2, roles: [etcd]}
              - {name: e3, address: 10.0.0.3, roles: [etcd, worker]}
            """, path: "hosts", line: 2, contains: "no host has the control-plane role")
    }

    @Test func etcdMemberCounts() {
        let two = Fixture.ha.replacingOccurrences(
            of: "roles: [control-plane, etcd]}\n  - {name: w1", with: "roles: [control-plane]}\n  - {name: w1")
        let d = expectError(two, path: "hosts[1].roles", line: 4, contains: "2 etcd members: an even count")
        #expect(d?.hint == "use 1 or 3 etcd hosts")
        let four = Fixture.ha.replacingOccurrences(
            of: "name: w1, address: 10.0.0.21, roles: [worker]",
            with: "name: w1, address: 10.0.0.21, roles: [worker, etcd]")
        expectError(four, path: "hosts[3].roles", line: 6, contains: "4 etcd members")
        let one = Self.single.replacingOccurrences(of: "etcd: {allowSingleMember: true}\n", with: "")
        let single = expectError(
            one, path: "hosts[0].roles", line: 4, contains: "a single etcd member has no fault tolerance")
        #expect(single?.hint?.contains("etcd.allowSingleMember: true") == true)
        let none = Self.single.replacingOccurrences(
            of: "roles: [control-plane, etcd, worker]", with: "roles: [control-plane, worker]")
        expectError(none, path: "hosts", line: 2, contains: "no host has the etcd role")
    }

    // MARK: - API endpoint

    @Test func severalControlPlanesNeedAnEndpoint() {
        let yaml = Fixture.ha.replacingOccurrences(
            of: "kubernetes:\n  apiEndpoint:\n    haproxyKeepalived: {virtualIP: 10.0.0.10}\n", with: "")
        let d = expectError(
            yaml, path: "kubernetes.apiEndpoint", line: nil,
            contains: "3 control-plane hosts need a load-balanced API endpoint")
        #expect(d?.hint?.contains("haproxyKeepalived: {virtualIP: <IP>} (a free address in 10.0.0.0/24)") == true)
        #expect(d?.hint?.hasPrefix("add kubernetes.apiEndpoint.nodeLocal: {} (a balancer on every host") == true)
    }

    /// `nodeLocal`: a balancer on every host, reached on the loopback address; port 6443 by default.
    @Test func nodeLocalEndpointIsReadWithItsDefaults() throws {
        for written in ["nodeLocal: {}", "nodeLocal:", "nodeLocal: {engine: haproxy}"] {
            let yaml = Fixture.ha.replacingOccurrences(of: "haproxyKeepalived: {virtualIP: 10.0.0.10}", with: written)
            let endpoint = try Fixture.load(yaml).get().inventory.kubernetes.apiEndpoint
            #expect(endpoint.mode == .nodeLocal(engine: .haproxy), "\(written)")
            #expect(endpoint.url == "https://127.0.0.1:6443", "\(written)")
            #expect(endpoint.virtualIP == nil)
        }
        let port = Fixture.ha.replacingOccurrences(
            of: "    haproxyKeepalived: {virtualIP: 10.0.0.10}\n", with: "    port: 8383\n    nodeLocal: {}\n")
        #expect(try Fixture.load(port).get().inventory.kubernetes.apiEndpoint.url == "https://127.0.0.1:8383")
        let ipv6 = """
            hosts:
              - {name: a, address: "fd00::1", roles: [control-plane, etcd, worker]}
            etcd: {allowSingleMember: true}
            kubernetes: {apiEndpoint: {nodeLocal: {}}}
            """
        #expect(try Fixture.load(ipv6).get().inventory.kubernetes.apiEndpoint.url == "https://[::1]:6443")
    }

    @Test func nodeLocalEndpointRefusals() {
        let engine = Fixture.ha.replacingOccurrences(
            of: "haproxyKeepalived: {virtualIP: 10.0.0.10}", with: "nodeLocal: {engine: nginx}")
        expectError(
            engine, path: "kubernetes.apiEndpoint.nodeLocal.engine", line: 10,
            contains: "unknown nodeLocal engine \"nginx\"; valid nodeLocal engines are haproxy")
        let field = Fixture.ha.replacingOccurrences(
            of: "haproxyKeepalived: {virtualIP: 10.0.0.10}", with: "nodeLocal: {virtualIP: 10.0.0.10}")
        expectError(
            field, path: "kubernetes.apiEndpoint.nodeLocal.virtualIP", line: 10,
            contains: "unknown field \"virtualIP\" in kubernetes.apiEndpoint.nodeLocal")
        let two = Fixture.ha.replacingOccurrences(
            of: "    haproxyKeepalived: {virtualIP: 10.0.0.10}\n",
            with: "    haproxyKeepalived: {virtualIP: 10.0.0.10}\n    nodeLocal: {}\n")
        expectError(
            two, path: "kubernetes.apiEndpoint.nodeLocal", line: 11,
            contains: "only one API endpoint mode may be set, found haproxyKeepalived and nodeLocal")
    }

    @Test func moreThanOneEndpointMode() {
        let yaml = Fixture.ha.replacingOccurrences(
            of: "    haproxyKeepalived: {virtualIP: 10.0.0.10}\n",
            with: "    haproxyKeepalived: {virtualIP: 10.0.0.10}\n    kubeVip: {virtualIP: 10.0.0.9}\n")
        expectError(
            yaml, path: "kubernetes.apiEndpoint.kubeVip", line: 11,
            contains: "only one API endpoint mode may be set, found haproxyKeepalived and kubeVip")
    }

    @Test func virtualIPOutsideTheControlPlaneSubnet() {
        let yaml = Fixture.ha.replacingOccurrences(of: "virtualIP: 10.0.0.10", with: "virtualIP: 10.0.1.10")
        let d = expectError(
            yaml, path: "kubernetes.apiEndpoint.haproxyKeepalived.virtualIP", line: 10,
            contains: "virtual IP 10.0.1.10 is outside the control-plane hosts' subnet (10.0.0.0/24, taken as /24)")
        #expect(d?.hint?.contains("virtualIPPrefix") == true)
        // Stating a larger prefix makes it valid.
        let wider = Fixture.ha.replacingOccurrences(
            of: "{virtualIP: 10.0.0.10}", with: "{virtualIP: 10.0.1.10, virtualIPPrefix: 16}")
        #expect(Fixture.errors(wider).isEmpty)
    }

    @Test func virtualIPThatIsAHostAddress() {
        let yaml = Fixture.ha.replacingOccurrences(of: "virtualIP: 10.0.0.10", with: "virtualIP: 10.0.0.12")
        expectError(
            yaml, path: "kubernetes.apiEndpoint.haproxyKeepalived.virtualIP", line: 10,
            contains: "is also the address of hosts[1] (cp2)")
    }

    // MARK: - Subnets and pools

    @Test func invalidCIDRs() {
        let d = expectError(
            Self.single + "kubernetes: {podSubnet: 10.244.1.0/16}\n", path: "kubernetes.podSubnet", line: 7,
            contains: "has host bits set; the network is 10.244.0.0/16")
        #expect(d != nil)
        expectError(
            Self.single + "kubernetes: {serviceSubnet: 10.96.0.0/33}\n", path: "kubernetes.serviceSubnet", line: 7,
            contains: "prefix length \"/33\"")
        expectError(
            Self.single + "kubernetes: {serviceSubnet: 10.96.0.0/11}\n", path: "kubernetes.serviceSubnet", line: 7,
            contains: "too large")
    }

    @Test func overlappingPodAndServiceSubnets() {
        expectError(
            Self.single + "kubernetes: {podSubnet: 10.96.0.0/16}\n", path: "kubernetes.serviceSubnet", line: 7,
            contains: "serviceSubnet 10.96.0.0/12 overlaps podSubnet 10.96.0.0/16")
    }

    @Test func subnetContainingANodeAddress() {
        expectError(
            Self.single + "kubernetes: {podSubnet: 10.0.0.0/16}\n", path: "hosts[0].address", line: 3,
            contains: "host address 10.0.0.1 is inside podSubnet 10.0.0.0/16")
    }

    @Test func metallbPools() {
        func pools(_ entries: String) -> String {
            Fixture.ha.replacingOccurrences(
                of: "      - {name: default, addresses: [\"10.0.0.200-10.0.0.220\"]}\n", with: entries)
        }
        expectError(
            pools("      - {name: a, addresses: [10.0.0.11/32, 10.0.0.16/28]}\n"),
            path: "addons.metallb.addressPools[0].addresses[0]", line: 14,
            contains: "contains host address 10.0.0.11 of hosts[0] (cp1)")
        expectError(
            pools("      - {name: a, addresses: [\"10.0.0.21-10.0.0.22\"]}\n"),
            path: "addons.metallb.addressPools[0].addresses[0]", line: 14,
            contains: "contains host addresses 10.0.0.21 of hosts[3] (w1), 10.0.0.22 of hosts[4] (w2)")
        expectError(
            pools("      - {name: a, addresses: [\"10.0.0.5-10.0.0.10\"]}\n"),
            path: "addons.metallb.addressPools[0].addresses[0]", line: 14,
            contains: "contains the API virtual IP 10.0.0.10")
        expectError(
            pools("      - {name: a, addresses: [10.96.0.0/24]}\n"),
            path: "addons.metallb.addressPools[0].addresses[0]", line: 14,
            contains: "overlaps serviceSubnet 10.96.0.0/12")
        expectError(
            pools(
                "      - {name: a, addresses: [10.0.0.192/28]}\n      - {name: b, addresses: [\"10.0.0.200-10.0.0.201\"]}\n"
            ),
            path: "addons.metallb.addressPools[1].addresses[0]", line: 15, contains: "overlaps 10.0.0.192/28 (pool a)")
        expectError(
            pools("      - {name: a, addresses: [\"10.0.0.220-10.0.0.200\"]}\n"),
            path: "addons.metallb.addressPools[0].addresses[0]", line: 14,
            contains: "ends before it starts")
        expectError(
            pools(
                "      - {name: a, addresses: [\"10.0.0.200-10.0.0.220\"]}\n      - {name: a, addresses: [10.0.0.240/28]}\n"
            ),
            path: "addons.metallb.addressPools[1].name", line: 15, contains: "duplicate pool name \"a\"")
    }

    // MARK: - Add-ons

    @Test func cephReplicaSizeLargerThanStorageHosts() {
        let yaml =
            Fixture.ha.replacingOccurrences(
                of: "name: w1, address: 10.0.0.21, roles: [worker]",
                with: "name: w1, address: 10.0.0.21, roles: [worker], storage: {devices: [/dev/vdb]}")
            + "  rookCeph: {monCount: 1}\n"
        expectError(
            yaml, path: "addons.rookCeph.poolReplicaSize", line: 15,
            contains: "poolReplicaSize 3 is larger than the 1 host with storage devices")
    }

    @Test func cephMonCount() {
        let yaml = Fixture.ha.replacingOccurrences(
            of: "roles: [worker]}", with: "roles: [worker], storage: {devices: [/dev/vdb]}}")
        expectError(
            yaml + "  rookCeph: {poolReplicaSize: 2, monCount: 2}\n", path: "addons.rookCeph.monCount", line: 15,
            contains: "monCount 2 is even")
        expectError(
            yaml + "  rookCeph: {poolReplicaSize: 2}\n", path: "addons.rookCeph.monCount", line: 15,
            contains: "monCount 3 is more than the 2 schedulable nodes (workers)")
        expectError(
            Fixture.ha + "  rookCeph: {enabled: true}\n", path: "addons.rookCeph.enabled", line: 15,
            contains: "no host lists storage.devices")
    }

    @Test func replicasThatCannotBeSpreadWarn() throws {
        let yaml = Fixture.ha + "  coredns: {replicas: 5}\n  ingress: {replicas: 4}\n"
        let loaded = try Fixture.load(yaml).get()
        #expect(loaded.inventory.addons.coredns.replicas == 2)
        #expect(loaded.inventory.addons.ingress.replicas == 2)
        expectWarning(
            yaml, path: "addons.coredns.replicas",
            contains: "5 CoreDNS replicas cannot be spread over 2 schedulable nodes (workers); it will be clamped to 2")
        expectWarning(yaml, path: "addons.ingress.replicas", contains: "it will be clamped to 2")
        let warning = loaded.warnings.first { $0.path == "addons.coredns.replicas" }
        #expect(warning?.line == 15)
    }

    @Test func missingIdentityFile() {
        let yaml = Self.single + "ssh: {identityFile: keys/id_ed25519}\n"
        let d = expectError(
            yaml, path: "ssh.identityFile", line: 7, contains: "identity file /work/inv/keys/id_ed25519 does not exist")
        #expect(d?.hint?.contains("relative paths start at /work/inv") == true)
        #expect(Fixture.errors(yaml, files: ["/work/inv/keys/id_ed25519": "key"]).isEmpty)
        expectError(
            Self.single + "ssh: {bastion: {address: jump, identityFile: \"~/.ssh/jump\"}}\n",
            path: "ssh.bastion.identityFile", line: 7,
            contains: "identity file /home/op/.ssh/jump does not exist")
    }

    @Test func versionsNotInTheTable() {
        let d = expectError(
            Self.single + "kubernetes: {version: \"1.30.0\"}\n", path: "kubernetes.version", line: 7,
            contains:
                "kubernetes.version \"1.30.0\" is refused: Kubernetes 1.30 reached end of life on 2025-06-28; supported: 1.35.9, 1.36.4, 1.37.1"
        )
        #expect(d != nil)
        expectError(
            Self.single + "kubernetes: {version: 1.32}\n", path: "kubernetes.version", line: 7,
            contains: "\"1.32\" is refused: Kubernetes 1.32 reached end of life")
        expectError(
            Self.single + "kubernetes: {version: 1.30}\n", path: "kubernetes.version", line: 7,
            contains: "\"1.30\" is refused: Kubernetes 1.30 reached end of life")
        expectError(
            Self.single.replacingOccurrences(
                of: "addons: {ingress: {enabled: false}}",
                with: "addons: {ingress: {enabled: false}, calico: {version: 3.5.0}}"),
            path: "addons.calico.version", line: 6,
            contains: "addons.calico.version \"3.5.0\" is not a version Cairn offers; supported: 3.32.4, 3.33.1")
        expectError(
            Self.single.replacingOccurrences(
                of: "etcd: {allowSingleMember: true}", with: "etcd: {allowSingleMember: true, version: 3.5.0}"),
            path: "etcd.version", line: 5, contains: "etcd 3.5 is outside etcd's support policy")
        #expect(Fixture.errors(Self.single + "kubernetes: {version: v1.35.9}\n").isEmpty)
    }

    @Test func formatVersioning() {
        expectError(
            Self.single + "apiVersion: cairn.dev/v2\n", path: "apiVersion", line: 7,
            contains: "unsupported apiVersion \"cairn.dev/v2\"; this Cairn reads cairn.dev/v1alpha1")
        expectError(Self.single + "kind: Clustr\n", path: "kind", line: 7, contains: "unknown kind \"Clustr\"")
    }

    @Test func sshSettings() {
        expectError(Self.single + "ssh: {user: Root}\n", path: "ssh.user", line: 7, contains: "not a valid user name")
        expectError(
            Self.single + "ssh: {port: 70000}\n", path: "ssh.port", line: 7,
            contains: "70000 is out of range; expected 1–65535")
        expectError(
            Self.single + "ssh: {hostKeyChecking: yes}\n", path: "ssh.hostKeyChecking", line: 7,
            contains: "unknown host key mode \"yes\"")
        expectError(
            Self.single + "ssh: {passphraseEnv: A, passphraseFile: /k}\n", path: "ssh.passphraseFile", line: 7,
            contains: "not both",
            files: ["/k": ""])
        expectError(
            Self.single.replacingOccurrences(
                of: "roles: [control-plane, etcd, worker]",
                with: "roles: [control-plane, etcd, worker]\n    ssh: {configFile: /x}"),
            path: "hosts[0].ssh.configFile", line: 5, contains: "top-level ssh section")
        expectError(
            Self.single + "ssh: {connectTimeout: 0}\n", path: "ssh.connectTimeout", line: 7, contains: "out of range")
        expectError(
            Self.single + "ssh: {configFile: /nope}\n", path: "ssh.configFile", line: 7,
            contains: "ssh_config file /nope does not exist")
    }

    @Test func etcdTuning() {
        expectError(
            Self.single.replacingOccurrences(
                of: "etcd: {allowSingleMember: true}", with: "etcd: {allowSingleMember: true, electionTimeout: 1000}"),
            path: "etcd.electionTimeout", line: 5, contains: "at least 5 × heartbeatInterval")
        expectError(
            Self.single.replacingOccurrences(
                of: "etcd: {allowSingleMember: true}", with: "etcd: {allowSingleMember: true, dataDir: var/lib/etcd}"),
            path: "etcd.dataDir", line: 5, contains: "not an absolute path")
    }

    @Test func calicoBlockSize() {
        expectError(
            Self.single + "kubernetes: {podSubnet: 10.244.0.0/27}\n", path: "kubernetes.podSubnet", line: 7,
            contains: "Calico's blockSize /26 is larger than podSubnet 10.244.0.0/27")
    }

    @Test func artifactsMirror() {
        expectError(
            Self.single + "artifacts: {source: mirror}\n", path: "artifacts.mirror", line: 7,
            contains: "no mirror is given")
        expectError(
            Self.single + "artifacts: {source: mirror, mirror: ../mirror}\n", path: "artifacts.mirror", line: 7,
            contains: "mirror directory /work/mirror does not exist")
        #expect(
            Fixture.errors(
                Self.single + "artifacts: {source: mirror, mirror: ../mirror}\n", directories: ["/work/mirror"]
            ).isEmpty)
        #expect(
            Fixture.errors(Self.single + "artifacts: {source: mirror, mirror: \"https://mirror.internal/cairn\"}\n")
                .isEmpty)
        expectError(
            Self.single + "artifacts: {source: mirror, mirror: \"ftp://x\"}\n", path: "artifacts.mirror", line: 7,
            contains: "only file://")
    }

    // MARK: - One pass, every problem

    @Test func allProblemsInOnePass() {
        let yaml = """
            name: Bad_Name
            hosts:
              - {name: cp1, address: 10.0.0.1, roles: [control-plane, etcd, masterr]}
              - {name: cp1, address: 10.0.0.2, roles: [etcd]}
            kubernetes: {version: "1.2.3", podSubnet: 10.96.0.0/16}
            ssh: {port: x, identityFile: /missing}
            addons: {ingress: {controller: nginx}}
            """
        let errors = Fixture.errors(yaml)
        #expect(
            errors.map(\.path) == [
                "name", "hosts[0].roles[2]", "hosts[1].name", "hosts[1].roles", "kubernetes.serviceSubnet",
                "kubernetes.version",
                "ssh.port", "ssh.identityFile", "addons.ingress.controller",
            ], "\(errors.map(\.description))")
        #expect(errors.map(\.line) == [1, 3, 4, 4, 5, 5, 6, 6, 7])
        guard case .failure(let error) = Fixture.load(yaml) else {
            Issue.record("expected failure")
            return
        }
        #expect(error.summary == "inventory test.yaml is invalid: 9 problems")
        #expect(error.exitCode == .invalidInput)
    }

    // MARK: - Documents that are not inventories

    @Test func emptyAndNonYAMLDocuments() {
        expectError("", path: "", line: 1, contains: "the inventory is empty")
        expectError("# only a comment\n", path: "", line: 1, contains: "the inventory is empty")
        expectError("hosts: [\n", path: "", line: 2, contains: "YAML syntax error")
        expectError("a: b\n---\nc: d\n", path: "", line: 2, contains: "expected a single document")
        expectError("just a string", path: "", line: 1, contains: "expected a mapping")
    }
}
