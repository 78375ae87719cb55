import CairnInventory
import Foundation
import Testing

@testable import CairnPhases

/// Ceph and zones: the failure domain follows the storage hosts' zones, and a layout where one
/// zone holds more copies than a pool can lose is warned.
@Suite struct CephZoneTests {
    static func load(zones: [String?]) throws -> LoadedInventory {
        var yaml = """
            name: t
            kubernetes: {apiEndpoint: {haproxyKeepalived: {virtualIP: 10.0.0.250}}}
            addons: {ingress: {enabled: false}}
            hosts:
              - {name: cp1, address: 10.0.0.1, roles: [control-plane, etcd], zone: a}
              - {name: cp2, address: 10.0.0.2, roles: [control-plane, etcd], zone: b}
              - {name: cp3, address: 10.0.0.3, roles: [control-plane, etcd], zone: c}

            """
        for (n, zone) in zones.enumerated() {
            yaml += "  - {name: w\(n + 1), address: 10.0.1.\(n + 1), roles: [worker], storage: {devices: [/dev/vdb]}"
            yaml += zone.map { ", zone: \($0)}\n" } ?? "}\n"
        }
        return try InventoryLoader(
            environment: ["HOME": "/home/op"], fileSystem: .none.assumingEverythingExists(), addons: Addons.settings
        ).load(text: yaml, sourceName: "test.yaml", baseDirectory: "/work")
    }

    @Test func threeZonesOfStorageMakeTheZoneTheFailureDomain() throws {
        let loaded = try Self.load(zones: ["a", "b", "c"])
        let topology = Topology(loaded.inventory)
        #expect(RookCeph.failureDomain(storageHosts: topology.storageHosts, poolSize: 3) == "zone")
        let settings = topology.inventory.addons[RookCeph.Settings.self]
        let rendered = try RookCeph(settings: settings, topology: topology).definition().rendered
        #expect(rendered?.contains("  failureDomain: zone\n") == true)
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings.map(\.description))")
    }

    @Test func twoZonesKeepTheHostAndWarnAboutTheFullerOne() throws {
        let loaded = try Self.load(zones: ["a", "a", "b"])
        let topology = Topology(loaded.inventory)
        #expect(RookCeph.failureDomain(storageHosts: topology.storageHosts, poolSize: 3) == "host")
        let messages = loaded.warnings.map(\.description)
        #expect(
            messages.contains {
                $0.contains("losing zone a (w1, w2) can take more copies of a placement group than the 1 it can lose")
            }, "\(messages)")
        #expect(messages.count == 1, "\(messages)")
    }

    @Test func withoutZonesNothingChanges() throws {
        let loaded = try Self.load(zones: [nil, nil, nil])
        #expect(RookCeph.failureDomain(storageHosts: Topology(loaded.inventory).storageHosts, poolSize: 3) == "host")
    }
}
