import CairnCore
import CairnEngine
import CairnInventory
import CairnTesting
import Foundation
import Testing

@testable import CairnPhases

/// `cairn remove`'s judgement from live facts, and the phases it schedules.
@Suite struct RemovalTests {
    static func topology(storage: Bool = false) throws -> Topology {
        var yaml = """
            name: t
            kubernetes: {apiEndpoint: {haproxyKeepalived: {virtualIP: 10.0.0.250}}}
            hosts:
              - {name: node1, address: 10.0.0.1, roles: [control-plane, etcd]}
              - {name: node2, address: 10.0.0.2, roles: [control-plane, etcd]}
              - {name: node3, address: 10.0.0.3, roles: [control-plane, etcd]}

            """
        for n in 4...6 {
            yaml += "  - {name: node\(n), address: 10.0.0.\(n), roles: [worker]"
            yaml += storage ? ", storage: {devices: [/dev/vdb]}}\n" : "}\n"
        }
        return Topology(try Fixture.inventory(yaml))
    }

    /// etcd facts of members 1–3 as node1 sees them, `down` not answering.
    static func facts(down: Set<Int> = [], nodes: [String]? = nil, osds: [String: [Int]]? = nil, poolSize: Int? = nil)
        -> [String: RemovalCheckPhase.Facts]
    {
        let list = EtcdMemberList(
            members: (1...3).map {
                EtcdMemberList.Member(
                    id: UInt64(1000 + $0), name: "node\($0)", peerURLs: ["https://10.0.0.\($0):2380"],
                    clientURLs: ["https://10.0.0.\($0):2379"])
            })
        let health = (1...3).map {
            EtcdEndpointHealth(endpoint: "https://10.0.0.\($0):2379", health: !down.contains($0))
        }
        var result: [String: RemovalCheckPhase.Facts] = [:]
        for n in 1...3 where !down.contains(n) {
            result["node\(n)"] = .init(
                etcd: EtcdHostFacts(
                    version: "3.6.14", active: true, dataDirectory: true, members: list, health: health))
        }
        let anchor = (1...3).first { !down.contains($0) }.map { "node\($0)" } ?? "node1"
        result[anchor]?.nodes = nodes ?? (1...6).map { "node\($0)" }
        result[anchor]?.osds = osds
        result[anchor]?.poolSize = poolSize
        return result
    }

    func judge(
        _ topology: Topology, _ targets: [String], unreachable: Bool = false, _ facts: [String: RemovalCheckPhase.Facts]
    )
        throws -> [String]
    {
        try RemovalCheckPhase(
            topology: topology,
            removal: RemovalRequest(targets: targets, unreachable: unreachable, drainTimeoutSeconds: 300)
        ).judge(facts)
    }

    @Test func aDeadMemberMayGoWhileTheOthersKeepQuorum() throws {
        let topology = try Self.topology()
        // node1 is dead (and out of the inventory in real use): 2 healthy of 2 afterwards.
        #expect(
            try judge(topology, ["node1"], unreachable: true, Self.facts(down: [1])) == [
                "etcd member node1 leaves (not answering)",
                "node1 cannot be reached (--unreachable): no drain, no clean-up on the host",
            ])
    }

    @Test func aHealthyMemberOfThreeIsRefusedNamingTheWayOut() throws {
        let topology = try Self.topology()
        #expect(
            throws: RemovalRefused(
                reasons: ["removing node2 would leave 2 voting members, which cannot tolerate a failure"],
                next:
                    "add an etcd host to the inventory and `cairn apply` it first (etcd needs 3 members to tolerate a failure), then remove node2"
            )
        ) { try judge(topology, ["node2"], Self.facts()) }
        // With node3 dead, removing healthy node2 would lose quorum.
        #expect(throws: RemovalRefused.self) { try judge(topology, ["node2"], Self.facts(down: [3])) }
    }

    @Test func storageHostsMustHoldEveryReplica() throws {
        let topology = try Self.topology(storage: true)
        let osds = ["node4": [0], "node5": [1], "node6": [2], "node7": [3]]
        #expect(
            try judge(topology, ["node6"], Self.facts(osds: osds, poolSize: 3)) == ["node6's OSDs 2 leave Ceph"])
        #expect(
            throws: RemovalRefused(
                reasons: ["removing node5, node6 would leave 2 storage hosts for a pool of 3 replicas"],
                next: "add a storage host (hosts[].storage.devices) and `cairn apply` it first")
        ) { try judge(topology, ["node5", "node6"], Self.facts(osds: osds, poolSize: 3)) }
    }

    @Test func theLastControlPlaneHostStays() throws {
        let topology = try Self.topology()
        #expect(throws: RemovalRefused.self) {
            try judge(topology, ["node1", "node2", "node3"], unreachable: true, Self.facts(down: [1, 2, 3]))
        }
    }

    @Test func aNameTheClusterDoesNotKnowChangesNothing() throws {
        let topology = try Self.topology()
        #expect(
            try judge(topology, ["node9"], Self.facts())
                == [
                    "node9 is not in the inventory: Cairn does not connect to it, so its own clean-up (kubeadm reset, Cairn's files) is left to you",
                    "node9 is neither in the inventory nor a Node or etcd member: nothing of it to remove (already removed?)",
                ])
    }

    /// The removal's phases come first; the playbook then runs on the remaining hosts only, and
    /// hosts that cannot be reached are in no selector.
    @Test func thePlaybookRunsOnTheRemainingHostsOnly() throws {
        let topology = try Self.topology()
        let removal = RemovalRequest(targets: ["node1"], unreachable: true, drainTimeoutSeconds: 300)
        let hosts = topology.inventory.hosts.enumerated().map {
            EngineHost(name: $1.name, roles: Set($1.roles.map(\.rawValue)), index: $0)
        }
        let playbook = [
            ScheduledPhase(phase: NoOpPhase(name: "api-endpoint"), selector: .roles(["control-plane", "worker"])),
            ScheduledPhase(phase: NoOpPhase(name: "kubeconfig"), selector: .first(role: "control-plane")),
            ScheduledPhase(phase: NoOpPhase(name: "etcd-pki"), selector: .operatorOnly),
        ]
        let phases = removal.phases(inventory: topology.inventory, playbook: playbook, hosts: hosts)
        #expect(
            phases.map(\.phase.name) == [
                "remove-check", "remove-node", "etcd-remove-node1", "api-endpoint", "kubeconfig", "etcd-pki",
            ])
        #expect(phases[0].selector == .named(["node2", "node3"]))
        #expect(phases[1].selector == .named(["node2"]))
        #expect(phases[2].selector == .named(["node2", "node3"]))
        #expect(phases[3].selector == .named(["node2", "node3", "node4", "node5", "node6"]))
        #expect(phases[4].selector == .named(["node2"]))
        #expect(phases[5].selector == .operatorOnly)
    }
}

struct NoOpPhase: Phase {
    let name: String
    var title: String { name }
    typealias Facts = NoFacts
    func plan(facts: [EngineHost: NoFacts], context: PhaseContext) throws -> PhasePlan { PhasePlan() }
}
