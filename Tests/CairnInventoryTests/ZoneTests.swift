import Testing

@testable import CairnInventory

/// `hosts[].zone` and `region`: the topology labels, and the layouts one zone's loss would break.
@Suite struct ZoneTests {
    static func inventory(zones: [String?]) -> String {
        let hosts = ["cp1", "cp2", "cp3", "w1", "w2"]
        var text = Fixture.ha
        for (host, zone) in zip(hosts, zones) {
            guard let zone else { continue }
            text = text.replacingOccurrences(of: "{name: \(host), ", with: "{name: \(host), zone: \(zone), ")
        }
        return text
    }

    @Test func aZoneBecomesTheTopologyLabel() throws {
        let loaded = try Fixture.load(Self.inventory(zones: ["a", "b", "c", "a", "b"])).get()
        #expect(loaded.inventory.hosts.map(\.zone) == ["a", "b", "c", "a", "b"])
        #expect(loaded.inventory.hosts[0].labels["topology.kubernetes.io/zone"] == "a")
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings.map(\.description))")
    }

    @Test func twoEtcdMembersInOneZoneAreWarned() throws {
        let loaded = try Fixture.load(Self.inventory(zones: ["a", "a", "b", "a", "b"])).get()
        let messages = loaded.warnings.map(\.description)
        #expect(
            messages.contains { $0.contains("losing zone a loses etcd quorum: it holds 2 of 3 members (cp1, cp2)") },
            "\(messages)")
        #expect(messages.count == 1, "\(messages)")
    }

    @Test func strictValidationRefusesTheWarning() {
        let files = ["/work/inv/weak.yaml": Self.inventory(zones: ["a", "a", "b", "a", "b"])]
        let lenient = InventoryCommands.validate(
            path: "/work/inv/weak.yaml", explain: false, loader: Fixture.loader(files: files))
        #expect(lenient.exitCode == .success && lenient.output.contains("1 warning"), "\(lenient.output)")
        let strict = InventoryCommands.validate(
            path: "/work/inv/weak.yaml", explain: false, strict: true, loader: Fixture.loader(files: files))
        #expect(strict.exitCode == .invalidInput, "\(strict.output)")
        #expect(strict.output.contains("--strict: 1 warning refused"), "\(strict.output)")
    }

    @Test func everyControlPlaneInOneZoneAndHostsWithoutAZoneAreWarned() throws {
        let loaded = try Fixture.load(Self.inventory(zones: ["a", "a", "a", "b", nil])).get()
        let messages = loaded.warnings.map(\.description)
        #expect(messages.contains { $0.contains("every control-plane host is in zone a") }, "\(messages)")
        #expect(messages.contains { $0.contains("w2 has no zone while other hosts have one") }, "\(messages)")
    }

    @Test func aZoneThatContradictsItsLabelIsRefused() {
        let text = Fixture.ha.replacingOccurrences(
            of: "{name: cp1, ", with: "{name: cp1, zone: a, labels: {topology.kubernetes.io/zone: b}, ")
        let errors = Fixture.errors(text).map(\.description)
        #expect(
            errors.contains { $0.contains("zone a contradicts labels.topology.kubernetes.io/zone: b") }, "\(errors)")
        #expect(Fixture.errors(Self.inventory(zones: ["a b", "b", "c", "a", "b"])).count == 1)
    }
}
