import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import CairnTesting
import Foundation
import Testing

@testable import CairnPhases

/// etcd's installation (binaries, certificates, unit, the restart marker), Ceph's storage preflight
/// and `cairn reset`, on canned facts.
@Suite struct EtcdAndStorageTests {
    static let files = [
        PKIFiles.Desired(path: EtcdLayout.caCertificate, content: "CA", mode: "644", secret: false, source: "ca"),
        PKIFiles.Desired(path: EtcdLayout.memberKey, content: "KEY", mode: "600", secret: true, source: "member-cp1"),
    ]

    func planner(dryRun: Bool = false, pending: Set<String> = []) -> EtcdInstallPlanner {
        EtcdInstallPlanner(
            version: "3.4.23", isDryRun: dryRun, pendingPKI: pending, origin: { _ in "from the test mirror" })
    }

    /// etcdctl lists health answers in the order they came back; facts read twice must compare
    /// equal (saved plans compare them), so they are kept sorted by endpoint.
    @Test func healthAnswersAreSortedByEndpoint() throws {
        let json = """
            {"version":"3.6.14","active":true,"dataDirectory":true,"environment":"-","unit":"-","certificates":{},
             "restartNeeded":false,"machine":"x86_64","members":null,
             "health":[{"endpoint":"https://10.0.0.3:2379","health":true,"took":"3ms"},
                       {"endpoint":"https://10.0.0.1:2379","health":true,"took":"9ms"}]}
            """
        let facts = try JSONDecoder().decode(EtcdHostFacts.self, from: Data(json.utf8))
        #expect(facts.health?.map(\.endpoint) == ["https://10.0.0.1:2379", "https://10.0.0.3:2379"])
        #expect(facts.version == "3.6.14" && facts.active && facts.environmentText == nil)
    }

    @Test func aFreshEtcdHostGetsBinariesCertificatesAndTheUnit() throws {
        let steps = try planner().steps(host: "cp1", facts: EtcdHostFacts(), files: Self.files)
        let etcd = ArtifactCatalog.etcd(version: "3.4.23")
        #expect(
            steps == [
                .install(
                    host: "cp1",
                    summary:
                        "install etcd 3.4.23 into /usr/local/bin (etcd-v3.4.23-linux-amd64.tar.gz from the test mirror)",
                    artifact: etcd,
                    how: .binaries(
                        inner: "etcd-v3.4.23-linux-amd64", names: ["etcd", "etcdctl", "etcdutl"], unit: "etcd",
                        marker: EtcdLayout.restartMarker, record: nil)),
                .write(
                    host: "cp1", path: EtcdLayout.caCertificate, content: "CA", current: nil, mode: "644",
                    change: "new certificate", secret: false),
                .write(
                    host: "cp1", path: EtcdLayout.memberKey, content: "KEY", current: nil, mode: "600", change: nil,
                    secret: true),
                .write(
                    host: "cp1", path: EtcdLayout.unitFile, content: EtcdConfigFiles.unit, current: nil, mode: "644",
                    change: nil, secret: false),
            ])
    }

    @Test func aConvergedMemberNeedsNothing() throws {
        let facts = EtcdHostFacts(
            version: "3.4.23", active: true, dataDirectory: true, unit: EtcdConfigFiles.unit,
            certificates: [
                EtcdLayout.caCertificate: SHA256Digest.hex(of: "CA"), EtcdLayout.memberKey: SHA256Digest.hex(of: "KEY"),
            ])
        #expect(try planner().steps(host: "cp1", facts: facts, files: Self.files).isEmpty)
    }

    /// A running member whose certificate changed gets the new file and the restart marker; the
    /// etcd-cluster phase then restarts members one at a time.
    @Test func aRunningMemberWithANewCertificateIsMarkedForARollingRestart() throws {
        let facts = EtcdHostFacts(
            version: "3.4.23", active: true, dataDirectory: true, unit: EtcdConfigFiles.unit,
            certificates: [
                EtcdLayout.caCertificate: SHA256Digest.hex(of: "OLD CA"),
                EtcdLayout.memberKey: SHA256Digest.hex(of: "KEY"),
            ])
        let steps = try planner().steps(host: "cp1", facts: facts, files: Self.files)
        #expect(
            steps == [
                .write(
                    host: "cp1", path: EtcdLayout.caCertificate, content: "CA", current: "", mode: "644",
                    change: "new certificate", secret: false),
                .run(
                    host: "cp1", summary: "mark etcd for a rolling restart",
                    command: .script(.cairnMarkRestart, arguments: [EtcdLayout.restartMarker]),
                    timeout: nil),
            ])
    }

    /// `cairn plan` before the PKI phase issued a member's certificate: the write is pending, shown
    /// as predicted, and an apply would refuse to run it.
    @Test func certificatesNotIssuedYetArePendingInAPlan() throws {
        var files = Self.files
        files[1] = PKIFiles.Desired(
            path: EtcdLayout.memberKey, content: nil, mode: "600", secret: true, source: "member-cp1")
        let steps = try planner(dryRun: true, pending: ["member-cp1"]).steps(
            host: "cp1", facts: EtcdHostFacts(version: "3.4.23", unit: EtcdConfigFiles.unit),
            files: files)
        #expect(
            steps == [
                .write(
                    host: "cp1", path: EtcdLayout.caCertificate, content: "CA", current: nil, mode: "644",
                    change: "new certificate", secret: false),
                .pendingWrite(host: "cp1", path: EtcdLayout.memberKey, replacing: false),
            ])
        #expect(throws: EngineError.self) { try planner().steps(host: "cp1", facts: EtcdHostFacts(), files: files) }
    }

    // MARK: Storage preflight

    @Test func theStoragePreflightNamesEachProblemAndItsHost() throws {
        let topology = try Fixture.cluster(
            workers: 3, storage: ["w1": ["/dev/vdb"], "w2": ["/dev/vdb", "/dev/vdc"], "w3": ["/dev/vdb"]])
        typealias Facts = StoragePreflightPhase.Facts
        let fine = Facts(devices: ["/dev/vdb": "ok"], rbd: true, lvm: true)
        #expect(
            StoragePreflightPhase.problems(
                [
                    "w1": fine, "w2": Facts(devices: ["/dev/vdb": "ok", "/dev/vdc": "ok"], rbd: true, lvm: true),
                    "w3": fine,
                ],
                hosts: topology.inventory.hosts
            ).isEmpty)
        let problems = StoragePreflightPhase.problems(
            [
                "w1": Facts(devices: ["/dev/vdb": "holds a ext4 filesystem"], rbd: true, lvm: true),
                "w2": Facts(devices: ["/dev/vdb": "ok", "/dev/vdc": "missing"], rbd: false, lvm: false),
                "w3": fine,
            ], hosts: topology.inventory.hosts)
        #expect(
            problems == [
                "w1: /dev/vdb holds a ext4 filesystem", "w2: /dev/vdc missing",
                "w2: lvm2 is not installed (Ceph's OSDs need it)",
                "w2: the rbd kernel module is not available",
            ])
    }

    /// The preflight asks each host about exactly its own devices, and refuses before anything is deployed.
    @Test func theStoragePreflightAsksEachHostAboutItsDevices() async throws {
        let topology = try Fixture.cluster(
            workers: 2, extra: "addons: {rookCeph: {poolReplicaSize: 1, monCount: 1}}", storage: ["w1": ["/dev/vdb"]])
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        for host in topology.inventory.hosts {
            let answer =
                host.name == "w1"
                ? #"{"devices":{"/dev/vdb":"has partitions"},"rbd":true,"lvm":true}"#
                : #"{"devices":{},"rbd":true,"lvm":true}"#
            harness[host.name].expect(
                exactly: StoragePreflightPhase.command(devices: host.storageDevices), stdout: answer)
        }
        let (result, _) = await harness.run(StoragePreflightPhase(topology: topology))
        harness.expectExactlyTheExpectedCommands()
        let error = try #require(result.error as? StoragePreflightError)
        #expect(error.problems == ["w1: /dev/vdb has partitions"])
    }

    // MARK: Reset

    @Test func resetSendsOneScriptPerHostAndWipesDevicesOnlyWhenAsked() async throws {
        let topology = try Fixture.cluster(
            workers: 1, extra: "addons: {rookCeph: {poolReplicaSize: 1, monCount: 1}}", storage: ["w1": ["/dev/vdb"]])
        for wipe in [false, true] {
            let harness = PhaseHarness(hosts: Fixture.hosts(topology))
            for host in topology.inventory.hosts {
                let devices = wipe ? host.storageDevices : []
                harness[host.name].expect(
                    exactly: .script(.cairnReset, arguments: ["/var/lib/etcd", "8443"] + devices))
            }
            let (result, events) = await harness.run(ResetPhase(inventory: topology.inventory, wipeCephDevices: wipe))
            #expect(result.outcome == .succeeded)
            harness.expectExactlyTheExpectedCommands()
            #expect(events.planned.contains { $0.hasPrefix("w1: ") && $0.contains("WIPE /dev/vdb") } == wipe)
        }
    }
}
