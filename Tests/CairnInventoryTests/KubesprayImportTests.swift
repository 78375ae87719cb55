import CairnPhases
import Foundation
import Testing

@testable import CairnInventory

@Suite struct KubesprayImportTests {
    static let loader = InventoryLoader(
        environment: Fixture.environment, fileSystem: InventoryFileSystem.none.assumingEverythingExists())

    func imported(_ name: String) throws -> (yaml: String, notes: [String], loaded: LoadedInventory) {
        let path = Fixture.corpus.appendingPathComponent("kubespray/\(name)").path
        let (yaml, notes) = try InventoryCommands.importKubespray(path: path)
        do {
            let loaded = try Self.loader.load(text: yaml, sourceName: "imported.yaml", baseDirectory: "/work")
            return (yaml, notes, loaded)
        } catch {
            Issue.record("the imported inventory does not validate:\n\(yaml)\n\(error.details.joined(separator: "\n"))")
            throw error
        }
    }

    @Test func iniForm() throws {
        let (yaml, notes, loaded) = try imported("inventory.ini")
        let inventory = loaded.inventory
        #expect(inventory.hosts.map(\.name) == ["node1", "node2", "node3", "node4", "node5"])
        #expect(
            inventory.hosts.map(\.address) == ["95.54.0.12", "95.54.0.13", "95.54.0.14", "95.54.0.15", "95.54.0.16"])
        #expect(inventory.hosts.map(\.internalAddress) == ["10.3.0.1", "10.3.0.2", "10.3.0.3", "10.3.0.4", "10.3.0.5"])
        #expect(
            inventory.hosts.map(\.roles) == [
                [.controlPlane, .etcd], [.controlPlane, .etcd], [.controlPlane, .etcd], [.worker], [.worker],
            ])
        #expect(inventory.kubernetes.version == "1.36.4")
        #expect(inventory.kubernetes.podSubnet == "10.233.64.0/18")
        #expect(inventory.kubernetes.serviceSubnet == "10.233.0.0/18")
        #expect(inventory.kubernetes.proxyMode == .ipvs)
        #expect(inventory.kubernetes.apiEndpoint.mode == .external(address: "lb.example.com"))
        #expect(inventory.kubernetes.apiEndpoint.extraSANs == ["95.54.0.100", "10.3.0.100", "api.internal"])
        #expect(yaml.contains("  version: \"1.36.4\"\n"))
        #expect(inventory.addons.calico.encapsulation == .vxlan)
        #expect(inventory.ssh.user == "ubuntu")
        #expect(inventory.ssh.bastion == BastionSettings(address: "95.54.0.1", user: "jump"))
        #expect(inventory.addons.metallb.enabled == false)
        #expect(inventory.addons.ingress.enabled == false)

        #expect(
            notes.contains(
                "etcd_member_name etcd1 of node1 not carried over: Cairn names etcd members after hosts (node1)"))
        #expect(
            notes.contains(
                "access_ip 95.54.0.115 of node4 not carried over: Cairn uses internalAddress (10.3.0.4, from ip) for cluster traffic"
            ))
        #expect(notes.contains("variable helm_enabled (group k8s_cluster) has no Cairn equivalent; not carried over"))
        #expect(
            notes.contains(
                "variable kubeconfig_localhost (group k8s_cluster) has no Cairn equivalent; not carried over")
        )
        #expect(
            notes.contains("variable ansible_python_interpreter (group all) has no Cairn equivalent; not carried over")
        )
        #expect(notes.contains { $0.hasPrefix("loadbalancer_apiserver.port 8383 not carried over") })
        #expect(notes.contains { $0.hasPrefix("kube_network_node_prefix 24 not carried over") })
        // Every note is also a comment in the YAML.
        for note in notes { #expect(yaml.contains("#   - " + note), "\(note)") }
        #expect(yaml.hasPrefix("# Cairn inventory converted from the kubespray inventory inventory.ini"))
    }

    @Test func yamlForm() throws {
        let (yaml, notes, loaded) = try imported("hosts.yaml")
        let inventory = loaded.inventory
        #expect(inventory.hosts.map(\.name) == ["node1", "node2", "node3", "node4", "node-5"])
        #expect(inventory.hosts.map(\.address) == ["10.10.1.3", "10.10.1.4", "10.10.1.5", "10.10.1.6", "10.10.1.7"])
        #expect(inventory.controlPlaneHosts.map(\.name) == ["node1", "node2", "node3"])
        #expect(inventory.etcdHosts.map(\.name) == ["node1", "node2", "node3"])
        #expect(inventory.workerHosts.map(\.name) == ["node4", "node-5"])
        #expect(inventory.kubernetes.version == "1.35.9")
        #expect(inventory.kubernetes.podSubnet == "10.233.64.0/18")
        #expect(inventory.kubernetes.serviceSubnet == "10.233.0.0/18")
        #expect(
            inventory.kubernetes.apiEndpoint.mode
                == .kubeVip(.init(address: "10.10.1.100", prefixLength: 24, interface: "eth0")))
        #expect(
            inventory.addons.metallb.addressPools == [
                MetalLB.Settings.Pool(name: "primary", addresses: ["10.10.1.200-10.10.1.220"])
            ])
        #expect(inventory.addons.ingress.controller == .ingressNginx)
        #expect(inventory.addons.coredns.replicas == 2)
        let node4 = try #require(inventory.host(named: "node4"))
        #expect(node4.labels == ["disk": "ssd"])
        #expect(node4.taints == [Taint(key: "dedicated", value: "db", effect: .noSchedule)])
        #expect(node4.sshOverrides.port == 2222)
        #expect(loaded.warnings.contains { $0.path == "addons.ingress.controller" })

        #expect(
            notes.contains(
                "kube_version v1.35.3 is not a patch Cairn offers; 1.35.9, the newest 1.35 patch it knows, is used"))
        #expect(notes.contains("etcd_deployment_type kubeadm: Cairn runs etcd on the hosts as a systemd service"))
        #expect(notes.contains("host name Node_5 is not an RFC 1123 hostname; written as node-5"))
        #expect(notes.contains { $0.hasPrefix("ingress_nginx_enabled: carried over as controller ingress-nginx") })
        for note in notes { #expect(yaml.contains("#   - " + note), "\(note)") }
    }

    @Test func formIsDetectedFromContent() throws {
        let ini =
            "[kube_control_plane]\nnode1 ansible_host=10.0.0.1\n[etcd:children]\nkube_control_plane\n[kube_node]\nnode2 ansible_host=10.0.0.2\n"
        let (yaml, _) = try InventoryCommands.importKubespray(text: ini, sourceName: "x")
        let loaded = try Self.loader.load(text: yaml, sourceName: "x.yaml", baseDirectory: "/")
        #expect(loaded.inventory.hosts.map(\.roles) == [[.controlPlane, .etcd], [.worker]])
        #expect(loaded.inventory.etcd.allowSingleMember)
    }

    @Test func oldGroupNamesAndRanges() throws {
        let ini =
            "[kube-master]\nmaster[1:3] ansible_user=admin\n[etcd:children]\nkube-master\n[kube-node]\nworker[01:02]\n"
        let (yaml, notes) = try InventoryCommands.importKubespray(text: ini, sourceName: "old.ini")
        #expect(notes.contains("group kube-master is kubespray's old name; read as kube_control_plane"))
        // No balancer named: kubespray's local one on every node, which Cairn calls nodeLocal.
        #expect(yaml.contains("    nodeLocal: {}"))
        #expect(
            notes.contains(
                "no loadbalancer_apiserver or kube-vip: kubespray balanced the API with nginx on every node (loadbalancer_apiserver_localhost); Cairn's kubernetes.apiEndpoint.nodeLocal does the same with haproxy"
            ))
        #expect(yaml.contains("  - name: master2\n"))
        #expect(yaml.contains("  - name: worker02\n"))
        #expect(yaml.contains("      user: admin\n"))
    }

    @Test func notAnInventory() {
        #expect(throws: InventoryError.self) {
            try InventoryCommands.importKubespray(text: "[broken\n", sourceName: "x.ini")
        }
        #expect(throws: InventoryError.self) {
            try InventoryCommands.importKubespray(text: "all: [\n", sourceName: "x.yaml")
        }
        #expect(throws: InventoryError.self) {
            try InventoryCommands.importKubespray(path: "/nonexistent/inventory.ini")
        }
    }

    // MARK: - The defects of issue 16, one test each

    /// The text as Cairn imports it, then validated; the diagnostics when either refuses.
    func importAndLoad(_ text: String, name: String = "x.ini") throws -> (
        yaml: String, notes: [String], inventory: Inventory
    ) {
        let (yaml, notes) = try InventoryCommands.importKubespray(text: text, sourceName: name)
        do {
            return (
                yaml, notes, try Self.loader.load(text: yaml, sourceName: "imported.yaml", baseDirectory: "/").inventory
            )
        } catch {
            Issue.record("the imported inventory does not validate:\n\(yaml)\n\(error.details.joined(separator: "\n"))")
            throw error
        }
    }

    func refusal(_ text: String, name: String = "x.ini") -> Diagnostic? {
        do {
            let (yaml, _) = try InventoryCommands.importKubespray(text: text, sourceName: name)
            Issue.record("imported, expected a refusal:\n\(yaml)")
            return nil
        } catch {
            #expect(error.exitCode == .invalidInput)
            #expect(error.diagnostics.count == 1, "\(error.details)")
            return error.diagnostics.first
        }
    }

    /// Defect 1: ungrouped hosts first (kubespray's old sample layout) is INI, not YAML.
    @Test func hostsBeforeAnySectionAreINI() throws {
        let text = "node1 ansible_host=192.0.2.11 ip=10.0.0.11\n\n[kube_control_plane]\nnode1\n"
        #expect(KubesprayImporter.form(of: text) == .ini)
        let (yaml, _) = try InventoryCommands.importKubespray(text: text, sourceName: "x.ini")
        #expect(yaml.contains("  - name: node1\n    address: 192.0.2.11\n    internalAddress: 10.0.0.11\n"))
        let (_, _, inventory) = try importAndLoad(text + "[etcd]\nnode1\n")
        #expect(inventory.hosts.map(\.name) == ["node1"])
        #expect(inventory.hosts[0].address == "192.0.2.11")
        #expect(inventory.hosts[0].internalAddress == "10.0.0.11")
        for yaml in ["all:\n  hosts: {}\n", "---\nall:\n", "# c\n\"all\": {}\n", "{\"all\": {}}", "kube_node: # x\n"] {
            #expect(KubesprayImporter.form(of: yaml) == .yaml, "\(yaml)")
        }
        for ini in ["[all]\n", "node1\n", "node1:2222 x=1\n", "; c\nnode1 a=b: c\n", "node[1:3]\n"] {
            #expect(KubesprayImporter.form(of: ini) == .ini, "\(ini)")
        }
    }

    /// Defect 2: a refusal names the file, line, column and reason, as `validate` does.
    @Test func refusalsNameTheLineColumnAndReason() throws {
        let bad = refusal("[kube_control_plane]\nnode1 ansible_host=10.0.0.1 stray\n", name: "inv.ini")
        #expect(
            bad?.description
                == "inv.ini:2:29: error: expected key=value host variable assignment, got: stray")
        let yaml = refusal("all:\n  hosts:\n    a: [\n", name: "hosts.yaml")
        #expect(yaml?.line == 4 && yaml?.column == 1)
        #expect(yaml?.description.hasPrefix("hosts.yaml:4:1: error: YAML syntax error") == true)
        let loop = refusal("[a:children]\nb\n[b:children]\na\n")
        #expect(loop?.line == 4)
        #expect(loop?.message.contains("makes a loop of groups") == true)
        let undefined = refusal("[a]\nh ip=10.0.0.1\n[k8s_cluster:children]\na\nkube_node\n")
        #expect(
            undefined?.description.hasPrefix(
                "x.ini:5:1: error: section [k8s_cluster:children] includes undefined group kube_node") == true)
        #expect(undefined?.hint == "add a [kube_node] section (it may be empty), or remove the line")
        let error = InventoryError.notImportable(path: "inv.ini", [bad!])
        #expect(error.summary == "cannot import inv.ini: 1 problem")
        #expect(error.details == ["inv.ini:2:29: error: expected key=value host variable assignment, got: stray"])
        #expect(error.nextStep?.contains("ansible-inventory -i inv.ini --list") == true)
    }

    /// Defect 3: ansible_ssh_host (and _port, _user) is the SSH address, and wins over the modern
    /// name wherever each is set, as in ansible-core's ssh plugin.
    @Test func olderSSHSpellingsAreReadWithAnsiblesPrecedence() throws {
        let (_, notes, inventory) = try importAndLoad(
            """
            cp1 ansible_ssh_host=198.51.100.7 ip=10.0.0.7
            cp2 ansible_ssh_host=198.51.100.8 ansible_host=198.51.100.88 ip=10.0.0.8 ansible_port=22
            [kube_control_plane]
            cp1
            [kube_node]
            cp2
            [etcd]
            cp1
            [all:vars]
            ansible_ssh_port=2200
            ansible_ssh_user=core
            ansible_user=ubuntu
            """)
        #expect(inventory.hosts.map(\.address) == ["198.51.100.7", "198.51.100.8"])
        #expect(inventory.hosts.map(\.internalAddress) == ["10.0.0.7", "10.0.0.8"])
        #expect(inventory.ssh.user == "core")
        #expect(inventory.ssh.port == 2200)
        #expect(
            notes.contains(
                "ansible_ssh_host and ansible_host differ on cp2: Ansible uses ansible_ssh_host (the older spelling wins wherever each is set), and so does Cairn"
            ))
        #expect(notes.contains { $0.hasPrefix("ansible_ssh_port and ansible_port differ on cp2") })
        #expect(!notes.contains { $0.contains("has no Cairn equivalent") })
    }

    /// Defect 4: the alias guard reads parse events, so quoted '*', '?' and '{{' are plain values.
    @Test func quotedStarsAndBracesAreValues() throws {
        let (_, _, inventory) = try importAndLoad(
            try String(
                contentsOf: Fixture.corpus.appendingPathComponent("kubespray/quoted-values.yaml"), encoding: .utf8),
            name: "quoted-values.yaml")
        #expect(inventory.hosts[0].labels == ["tier": "gold", "example.com/owner": "platform"])
        #expect(SafeYAML.aliasInMappingKey("a: \"/export *(rw,sync)\"\nb: \"{{ x }}\"\nc: &x [1]\nd: *x\n") == nil)
        #expect(SafeYAML.aliasInMappingKey("e: |\n  ? *x\n  [a]: b\nf: &x 1\ng: *x  # ? *x\n") == nil)
        let key = SafeYAML.aliasInMappingKey("a: &x 1\nb:\n  ? [1, *x]\n  : 2\n")
        #expect(key?.line == 3 && key?.column == 9)
    }

    /// Defect 5: group variables by depth, then ansible_group_priority, then name; host variables last.
    @Test func groupVariablesFollowAnsiblesPrecedence() throws {
        let (_, _, inventory) = try importAndLoad(
            try String(
                contentsOf: Fixture.corpus.appendingPathComponent("kubespray/group-precedence.ini"), encoding: .utf8))
        let labels = Dictionary(uniqueKeysWithValues: inventory.hosts.map { ($0.name, $0.labels) })
        #expect(labels["w1"] == ["disk": "ssd"])  // zz_ssd after gpu by name, same depth
        #expect(labels["w2"] == ["rack": "a"])  // rack_a_gpu is deeper
        #expect(labels["w3"] == ["zone": "host-level"])  // host variables last
        let users = Dictionary(uniqueKeysWithValues: inventory.hosts.map { ($0.name, $0.sshOverrides.user) })
        #expect(users["w1"] == "prio-user" && users["w2"] == "prio-user")  // priority 10 beats the name order
        #expect(users["cp1"]! == nil && users["w3"]! == nil)
    }

    /// Defect 6: a Jinja template is refused at its first template line, in both forms.
    @Test func templatesAreRefusedWithTheirLine() {
        let statement = refusal("[kube_control_plane]\n  {% for h in hosts %}\n{{ h }}\n{% endfor %}\n", name: "t.ini")
        #expect(statement?.line == 2 && statement?.column == 3)
        #expect(statement?.message.hasPrefix("{% for h in hosts %} is Jinja template syntax") == true)
        #expect(statement?.hint?.contains("render the template first") == true)
        let host = refusal("[kube_node]\n{{ name }} ansible_host=10.0.0.1\n", name: "t.ini")
        #expect(host?.line == 2)
        let yamlHost = refusal("all:\n  hosts:\n    \"{{ name }}\":\n      ip: 10.0.0.1\n", name: "t.yaml")
        #expect(yamlHost?.line == 3 && yamlHost?.column == 5)
        let yamlLoop = refusal("all:\n  hosts:\n{% for h in hosts %}\n    {{ h }}:\n{% endfor %}\n", name: "t.yaml")
        #expect(yamlLoop?.line == 3 && yamlLoop?.message.contains("is Jinja template syntax") == true)
        // In a YAML block scalar, `{% … %}` lines are text.
        #expect(throws: Never.self) {
            try InventoryCommands.importKubespray(
                text: "all:\n  vars:\n    motd: |\n      {% if x %}hi{% endif %}\n  hosts:\n    n1: {ip: 10.0.0.1}\n"
                    + "  children:\n    kube_control_plane: {hosts: {n1: }}\n",
                sourceName: "v.yaml")
        }
        // A Jinja expression as a value is a value (kubespray templates many).
        #expect(throws: Never.self) {
            try InventoryCommands.importKubespray(
                text:
                    "[kube_control_plane]\nn1 ansible_host=10.0.0.1 greeting='{{ inventory_hostname }}'\n[etcd]\nn1\n",
                sourceName: "v.ini")
        }
    }

    /// Defect 7: an inventory without hosts is refused (exit 65), saying why.
    @Test func inventoriesWithoutHostsAreRefused() {
        let empty = refusal("# [kube_control_plane]\n# node1 ansible_host=10.0.0.1\n\n")
        #expect(empty?.message == "the inventory defines no hosts (is everything commented out?)")
        #expect(empty?.line == nil)
        let elsewhere = refusal("[calico_rr]\nrr1 ansible_host=10.0.0.1\n")
        #expect(elsewhere?.message == "no host is in kube_control_plane, kube_node or etcd (hosts found: rr1)")
        let yaml = refusal("all:\n  children:\n    kube_node:\n", name: "h.yaml")
        #expect(yaml?.message.hasPrefix("the inventory defines no hosts") == true)
    }

    /// Defect 8: cluster settings set on hosts are reported like group ones; differing values are
    /// named; ansible_connection=local is explained.
    @Test func hostLevelClusterSettingsAndLocalConnectionsAreReported() throws {
        let (_, notes, _) = try importAndLoad(
            try String(
                contentsOf: Fixture.corpus.appendingPathComponent("kubespray/host-cluster-settings.ini"),
                encoding: .utf8))
        #expect(notes.contains("kube_network_plugin flannel: Cairn installs Calico"))
        #expect(notes.contains("container_manager crio: Cairn uses containerd"))
        #expect(
            notes.contains(
                "container_manager differs between hosts (crio on h1; unset on h2, h3); Cairn applies one value to the whole cluster: h1's (crio)"
            ))
        let group = try importAndLoad(
            "[kube_control_plane]\nh1 ansible_host=10.0.0.1\n[etcd]\nh1\n[k8s_cluster:children]\nkube_control_plane\n[k8s_cluster:vars]\nkube_network_plugin=flannel\n"
        )
        #expect(group.notes.contains("kube_network_plugin flannel: Cairn installs Calico"))

        let (yaml, localNotes, inventory) = try importAndLoad(
            try String(
                contentsOf: Fixture.corpus.appendingPathComponent("kubespray/connection-local.ini"), encoding: .utf8))
        #expect(inventory.hosts[0].address == "localnode")
        #expect(yaml.contains("    address: localnode\n    internalAddress: 10.14.0.5\n"))
        #expect(
            localNotes.contains(
                "ansible_connection local on localnode: Ansible ran its tasks on the machine running Ansible, without SSH; Cairn reaches every host over SSH, at address localnode (use 127.0.0.1 if Cairn runs on localnode, with sshd listening)"
            ))
        #expect(!localNotes.contains { $0.contains("have no ansible_host") || $0.contains("has no ansible_host") })
    }

    /// No loadbalancer_apiserver and no kube-vip: kubespray's local balancer, imported as nodeLocal.
    @Test func withoutABalancerKubesprayInventoriesImportAsNodeLocal() throws {
        let (yaml, _, inventory) = try importAndLoad(
            try String(contentsOf: Fixture.corpus.appendingPathComponent("kubespray/node-local.ini"), encoding: .utf8))
        #expect(yaml.contains("    port: 8383\n    nodeLocal: {engine: haproxy}"))
        #expect(inventory.kubernetes.apiEndpoint.mode == .nodeLocal(engine: .haproxy))
        #expect(inventory.kubernetes.apiEndpoint.url == "https://127.0.0.1:8383")
        // One control-plane host: straight to it, as before.
        let single = try importAndLoad("[kube_control_plane]\nc1 ansible_host=10.0.0.1\n[etcd]\nc1\n")
        #expect(single.inventory.kubernetes.apiEndpoint.mode == .direct)
    }

    /// Every corpus inventory imports, and what it imports validates (the ground-truth test compares
    /// them with ansible-core where it is installed).
    @Test(arguments: KubesprayCorpus.files)
    func corpusInventoryImportsAndValidates(name: String) throws {
        let (yaml, notes, loaded) = try imported(name)
        #expect(!loaded.inventory.hosts.isEmpty)
        for note in notes { #expect(yaml.contains("#   - " + note.replacingControlCharacters), "\(note)") }
    }

    @Test(arguments: KubesprayCorpus.refused)
    func refusedCorpusInventoryIsRefusedWithAPlace(name: String) throws {
        let path = Fixture.corpus.appendingPathComponent("kubespray/refused/\(name)").path
        #expect {
            try InventoryCommands.importKubespray(path: path)
        } throws: { error in
            guard let error = error as? InventoryError, case .notImportable = error else { return false }
            return error.exitCode == .invalidInput && error.diagnostics.count == 1
                && error.diagnostics[0].file == path
                && (name == "no-hosts.ini" || error.diagnostics[0].line != nil)
        }
    }

    // MARK: - Reading as Ansible does

    @Test func iniValuesArePythonLiterals() {
        let cases: [(String, KubesprayImporter.Value)] = [
            ("2222", .string("2222")), ("0x8AE", .string("2222")), ("1_000", .string("1000")), ("-5", .string("-5")),
            ("010", .string("010")), ("00", .string("0")), ("1.30", .string("1.3")), ("10.0.0.1", .string("10.0.0.1")),
            ("True", .string("True")), ("true", .string("true")), ("None", .null), ("'a b'", .string("a b")),
            ("\"x\" 'y'", .string("xy")), ("a # b", .string("a # b")),
            (
                "{\"a\": 1, 'b': [True, 'c']}",
                .map([("a", .string("1")), ("b", .list([.string("True"), .string("c")]))])
            ),
            ("[1, 2,]", .list([.string("1"), .string("2")])), ("(1,)", .list([.string("1")])),
            ("{\"a\": true}", .string("{\"a\": true}")), ("[1", .string("[1")), ("v1.30", .string("v1.30")),
        ]
        for (text, expected) in cases {
            #expect(KubesprayImporter.literal(text) == expected, "\(text)")
        }
    }

    @Test func hostLinesSplitAsPythonsShlex() throws {
        #expect(
            try KubesprayImporter.shellWords(#"h a="b c" d='{"e": 1}' f=g#h i=j"#).get()
                == ["h", "a=b c", #"d={"e": 1}"#, "f=g"])
        #expect(try KubesprayImporter.shellWords(#"h a=\ b c="d\"e\x""#).get() == ["h", "a= b", #"c=d"e\x"#])
        #expect(throws: KubesprayImporter.Failure.self) { try KubesprayImporter.shellWords("h a='b").get() }
    }

    @Test func hostPatternsExpandAsAnsibleDoes() throws {
        func expand(_ pattern: String) throws -> [String] {
            let (names, port) = try KubesprayImporter.expandHostPattern(pattern, line: 1)
            return names.map { $0 + (port.map { ":" + $0 } ?? "") }
        }
        #expect(try expand("node[01:03]") == ["node01", "node02", "node03"])
        #expect(try expand("w[1:9:4]") == ["w1", "w5", "w9"])
        #expect(try expand("e-[a:c]") == ["e-a", "e-b", "e-c"])
        #expect(try expand("r[1:2]-[a:b]") == ["r1-a", "r1-b", "r2-a", "r2-b"])
        #expect(try expand("db[1:2]:2222") == ["db1:2222", "db2:2222"])
        #expect(try expand("fe80::1") == ["fe80::1"])
        #expect(try expand("[fe80::1]:22") == ["fe80::1:22"])
        #expect(throws: KubesprayImporter.Failure.self) { try expand("n[01:100]") }
        #expect(throws: KubesprayImporter.Failure.self) { try expand("n1:") }
        #expect(throws: KubesprayImporter.Failure.self) { try expand("n[1:300000]") }
    }
}

/// The kubespray corpus: inventories Cairn imports (each says what it covers on its first lines)
/// and inventories it refuses.
enum KubesprayCorpus {
    static var directory: URL { Fixture.corpus.appendingPathComponent("kubespray") }

    static let files: [String] = list(directory)
    static let refused: [String] = list(directory.appendingPathComponent("refused"))

    static func list(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".ini") || $0.hasSuffix(".yaml") }.sorted()
    }
}
