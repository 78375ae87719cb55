import CairnInventory
import Foundation
import Testing

@testable import CairnPhases

@Suite struct AddonTemplateTests {
    func inventory(_ extra: String = "") throws -> Inventory {
        let yaml = """
            name: t
            kubernetes:
              serviceSubnet: 10.96.0.0/16
              apiEndpoint: {haproxyKeepalived: {virtualIP: 10.0.0.250}}
            addons:
              metallb: {addressPools: [{name: lab, addresses: [10.0.0.200-10.0.0.210, 10.0.1.0/28]}]}
            \(extra)
            hosts:
              - {name: cp1, address: 10.0.0.1, roles: [control-plane, etcd]}
              - {name: cp2, address: 10.0.0.2, roles: [control-plane, etcd]}
              - {name: cp3, address: 10.0.0.3, roles: [control-plane, etcd]}
              - {name: w1, address: 10.0.0.4, roles: [worker], storage: {devices: [/dev/vdb]}}
              - {name: w2, address: 10.0.0.5, roles: [worker], storage: {devices: [/dev/vdb]}}
              - {name: w3, address: 10.0.0.6, roles: [worker], storage: {devices: [/dev/vdb, /dev/vdc]}}
            """
        return try InventoryLoader(
            environment: [:], fileSystem: .none.assumingEverythingExists(), addons: Addons.settings
        ).load(text: yaml, sourceName: "t", baseDirectory: "/").inventory
    }

    @Test func everyAddonRendersWithoutLeftovers() throws {
        let topology = Topology(try inventory())
        let definitions: [(String, AddonDefinition)] = try [
            ("calico", Calico.make(topology).definition()),
            ("coredns", CoreDNS.make(topology).definition()),
            ("metallb", MetalLB.make(topology).definition()),
            ("ingress", Ingress.make(topology).definition()),
            ("rook", RookCeph.make(topology).definition()),
        ]
        for (name, definition) in definitions {
            let rendered = try #require(definition.rendered, "\(name)")
            #expect(!rendered.contains("{{"), "\(name)")
        }
        let calico = definitions[0].1.rendered!
        #expect(calico.contains("cidr: 10.244.0.0/16"))
        #expect(calico.contains("encapsulation: VXLAN"))
        let metallb = definitions[2].1.rendered!
        #expect(metallb.contains("  - 10.0.0.200-10.0.0.210\n  - 10.0.1.0/28"))
        let rook = definitions[4].1.rendered!
        #expect(
            rook.contains("- name: w3\n        devices:\n        - name: \"/dev/vdb\"\n        - name: \"/dev/vdc\""))
        #expect(rook.contains("allowMultiplePerNode: false"))
        #expect(!rook.contains("useAllDevices: true"))
        // Traefik: replicas on the workers, spread, a PDB, a LoadBalancer service.
        let traefik = definitions[3].1.rendered!
        #expect(traefik.contains("replicas: 3"))
        #expect(traefik.contains("kind: PodDisruptionBudget"))
        #expect(traefik.contains("type: LoadBalancer"))
        #expect(!traefik.contains("node-role.kubernetes.io/control-plane"))
    }

    /// With hosts in several zones, CoreDNS and the ingress controller also spread over zones;
    /// without zones their templates are as before.
    @Test func replicasSpreadOverZonesWhenHostsHaveThem() throws {
        var inventory = try inventory()
        let plain = Topology(inventory)
        for index in inventory.hosts.indices {
            inventory.hosts[index].labels[Host.zoneLabel] = ["a", "b", "c"][index % 3]
        }
        let zoned = Topology(inventory)
        let zoneKey = "topologyKey: topology.kubernetes.io/zone"
        for render in [
            { (t: Topology) in try CoreDNS.make(t).definition().rendered! },
            { (t: Topology) in try Ingress.make(t).definition().rendered! },
        ] {
            #expect(try !render(plain).contains(zoneKey))
            #expect(try render(zoned).contains(zoneKey + "\n        whenUnsatisfiable: ScheduleAnyway"))
        }
        #expect(
            try CoreDNS.make(zoned).definition().rendered!.contains(
                "        topologyKey: topology.kubernetes.io/zone\n        whenUnsatisfiable: ScheduleAnyway\n        labelSelector:\n          matchLabels:\n            k8s-app: kube-dns"
            ))
    }

    @Test func replicasAreClampedToTheNodesThatCanRunThem() throws {
        let small = try InventoryLoader(
            environment: [:], fileSystem: .none.assumingEverythingExists(), addons: Addons.settings
        ).load(
            text: """
                hosts:
                  - {name: dev, address: 10.0.0.1, roles: [control-plane, etcd]}
                etcd: {allowSingleMember: true}
                addons: {ingress: {replicas: 3}, coredns: {replicas: 2}}
                """, sourceName: "t", baseDirectory: "/"
        ).inventory
        let traefik = try Ingress.make(Topology(small)).definition().rendered!
        #expect(traefik.contains("replicas: 1"))
        #expect(
            traefik.contains("node-role.kubernetes.io/control-plane"), "no workers: tolerate the control-plane taint")
        let coredns = try CoreDNS.make(Topology(small)).definition().rendered!
        #expect(coredns.contains("replicas: 1"))
    }

    @Test func templatesRefuseMissingAndUnusedValues() {
        #expect(throws: Template.RenderError.self) { try Template.render("playbooks/addons/coredns.yaml", [:]) }
        #expect(throws: Template.RenderError.self) {
            try Template.render("playbooks/addons/coredns.yaml", ["replicas": "2", "extra": "x"])
        }
    }
}
