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
        #expect(notes.contains("variable helm_enabled (group vars) has no Cairn equivalent; not carried over"))
        #expect(notes.contains("variable kubeconfig_localhost (group vars) has no Cairn equivalent; not carried over"))
        #expect(
            notes.contains("variable ansible_python_interpreter (group vars) has no Cairn equivalent; not carried over")
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
        #expect(
            notes.contains(
                "no loadbalancer_apiserver or kube-vip: kubespray balanced the API with a local nginx on every node; Cairn needs kubernetes.apiEndpoint (haproxyKeepalived, kubeVip or external)"
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
}
