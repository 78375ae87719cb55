import CairnCore
import CairnEngine
import CairnInventory
import CairnTesting
import Foundation
import Testing

@testable import CairnPhases

/// kube-apiserver's `--etcd-servers` and kubeadm's ClusterConfiguration follow etcd's members.
@Suite struct EtcdEndpointsTests {
    static func topology(members: Int) throws -> Topology {
        var yaml = """
            name: t
            kubernetes: {apiEndpoint: {haproxyKeepalived: {virtualIP: 10.0.0.250}}}
            hosts:
              - {name: cp1, address: 10.0.0.1, roles: [control-plane, etcd]}
              - {name: cp2, address: 10.0.0.2, roles: [control-plane, etcd]}
              - {name: cp3, address: 10.0.0.3, roles: [control-plane, etcd]}

            """
        for n in stride(from: 4, through: members, by: 1) {
            yaml += "  - {name: e\(n), address: 10.0.0.\(n), roles: [etcd]}\n"
        }
        return Topology(try Fixture.inventory(yaml))
    }

    static let three = (1...3).map { "https://10.0.0.\($0):2379" }
    static let five = (1...5).map { "https://10.0.0.\($0):2379" }
    static let clusterConfiguration = """
        apiVersion: kubeadm.k8s.io/v1beta4
        kind: ClusterConfiguration
        etcd:
          external:
            caFile: /etc/kubernetes/pki/etcd/ca.crt
            endpoints:
            - https://10.0.0.1:2379
            - https://10.0.0.2:2379
            - https://10.0.0.3:2379
        """

    func expectFacts(_ harness: PhaseHarness, manifest: [String]) {
        for n in 1...3 {
            harness["cp\(n)"].expect(
                exactly: RemoteCommand("sed", ["-n", "s/^ *- --etcd-servers=//p", KubernetesLayout.apiserverManifest]),
                stdout: manifest.joined(separator: ",") + "\n")
        }
        // kubeadm's copy, from the cluster snapshot.
        let configMap = K8s.ConfigMap(
            metadata: .init(name: "kubeadm-config", namespace: "kube-system"),
            data: ["ClusterConfiguration": Self.clusterConfiguration])
        harness["cp1"].expect(
            exactly: Kubectl.command(ClusterSnapshot.arguments(ClusterSnapshot.resources.map(\.resource))),
            stdout: #"{"apiVersion":"v1","kind":"List","items":["# + Fixture.json(configMap) + "]}")
    }

    @Test func aConvergedClusterChangesNothing() async throws {
        let topology = try Self.topology(members: 3)
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        expectFacts(harness, manifest: Self.three)
        let (result, events) = await harness.run(
            WithoutGate(EtcdEndpointsPhase(topology: topology)), on: .roles(["control-plane"]))
        #expect(result.outcome == .succeeded)
        #expect(events.planned.isEmpty)
        harness.expectExactlyTheExpectedCommands()
    }

    /// After growth to five members: each API server in turn, then kubeadm's copy.
    @Test func afterGrowthEveryAPIServerAndKubeadmsCopyListFiveMembers() async throws {
        let topology = try Self.topology(members: 5)
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        expectFacts(harness, manifest: Self.three)
        let joined = Self.five.joined(separator: ",")
        for n in 1...3 {
            harness["cp\(n)"].expect(exactly: .script(.cairnEtcdServers, arguments: [joined, "10.0.0.\(n)"]))
        }
        harness["cp1"].expect(
            exactly: Kubectl.command(EtcdEndpointsPhase.configMap + ["-o", "jsonpath={.data.ClusterConfiguration}"]),
            stdout: Self.clusterConfiguration)
        harness["cp1"].expect(
            exactly: Kubectl.command([
                "-n", "kube-system", "patch", "configmap", "kubeadm-config", "--type", "merge", "--patch-file",
                "/dev/stdin",
            ]))
        let (result, events) = await harness.run(
            WithoutGate(EtcdEndpointsPhase(topology: topology)), on: .roles(["control-plane"]))
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        #expect(events.planned.count == 4)
        #expect(
            events.planned.first
                == "cp1: kube-apiserver on cp1: --etcd-servers \(Self.three.joined(separator: ",")) → \(joined), then wait for it"
        )
        harness.expectExactlyTheExpectedCommands()
        let rewritten = try EtcdEndpointsPhase.clusterConfiguration(Self.clusterConfiguration, endpoints: Self.five)
        #expect(EtcdEndpointsPhase.endpoints(inClusterConfiguration: rewritten) == Self.five)
        #expect(rewritten.contains("caFile: /etc/kubernetes/pki/etcd/ca.crt"))
    }
}
