import CairnArtifacts
import CairnCore
import CairnEngine
import CairnInventory
import CairnTesting
import Foundation
import Testing

@testable import CairnPhases

/// The add-ons: what the planner decides from an add-on's record, the exact kubectl commands and
/// files of an apply, each gate's verdicts on canned cluster state, and `cairn status`'s rows.
@Suite struct AddonTests {
    static let pools = "addons:\n  metallb: {addressPools: [{name: lab, addresses: [10.0.2.0/28]}]}"

    func topology(storage: [String: [String]] = ["w1": ["/dev/vdb"], "w2": ["/dev/vdb"], "w3": ["/dev/vdb"]]) throws
        -> Topology
    {
        try Fixture.cluster(workers: 4, extra: Self.pools, storage: storage)
    }

    /// The record a converged add-on has: every manifest's hash, the version, the configuration.
    func record(_ definition: AddonDefinition) -> [String: String] {
        var record = ["version": definition.version]
        for spec in definition.manifests {
            record["manifest." + fileName(spec)] = SHA256Digest.hex(of: Data(FakeArtifacts.content(spec).utf8))
        }
        if let rendered = definition.rendered { record["rendered"] = rendered }
        return record
    }

    // MARK: The planner

    @Test func aNewAddonGetsItsManifestsItsConfigurationAndARecord() throws {
        let definition = try MetalLB.make(topology()).definition()
        let (steps, notes) = AddonPlanner(definition: definition).plan(
            AddonFacts(record: nil, missing: ["metallb-system/deployment/controller"]))
        #expect(notes.isEmpty)
        #expect(
            steps == [
                .applyManifest(
                    definition.manifests[0], path: "/etc/kubernetes/cairn/addons/metallb/metallb-native.yaml",
                    origin: definition.manifests[0].url),
                .applyConfiguration(
                    content: definition.rendered!, path: "/etc/kubernetes/cairn/addons/metallb/cairn.yaml",
                    change: "new", diff: []),
                .record(data: nil),
            ])
    }

    @Test func aConvergedAddonNeedsNothing() throws {
        for addon in Addons.instances(try topology()) {
            let definition = try addon.definition()
            let locked =
                { (spec: ArtifactSpec) in SHA256Digest.hex(of: Data(FakeArtifacts.content(spec).utf8)) }
                as @Sendable (ArtifactSpec) -> String?
            let planned = AddonPlanner(definition: definition, lockedHash: locked).plan(
                AddonFacts(record: record(definition), missing: []))
            #expect(planned.steps.isEmpty, "\(definition.name): \(planned.steps)")
        }
    }

    /// Someone deleted a key object: everything is applied again, and the plan says why.
    @Test func aRemovedAddonIsAppliedAgain() throws {
        let definition = try Calico.make(topology()).definition()
        let (steps, notes) = AddonPlanner(definition: definition).plan(
            AddonFacts(record: record(definition), missing: ["tigera-operator/deployment/tigera-operator"]))
        #expect(
            notes == [
                "calico was applied before, but tigera-operator/deployment/tigera-operator is gone: applying it again"
            ])
        #expect(steps.count == definition.manifests.count + 2)
        #expect(
            steps.contains(
                .applyConfiguration(
                    content: definition.rendered!, path: "/etc/kubernetes/cairn/addons/calico/cairn.yaml",
                    change: "unchanged, reapplied", diff: [])))
    }

    /// A storage host added to the inventory: Ceph's configuration gains its device (shown as a
    /// diff), nothing upstream is applied again.
    @Test func aStorageHostAddedChangesOnlyCephsConfiguration() throws {
        let before = try RookCeph.make(topology()).definition()
        let after = try RookCeph.make(
            topology(storage: ["w1": ["/dev/vdb"], "w2": ["/dev/vdb"], "w3": ["/dev/vdb"], "w4": ["/dev/vdc"]])
        ).definition()
        let (steps, _) = AddonPlanner(definition: after).plan(AddonFacts(record: record(before), missing: []))
        #expect(
            steps == [
                .applyConfiguration(
                    content: after.rendered!, path: "/etc/kubernetes/cairn/addons/rook-ceph/cairn.yaml",
                    change: "changed: +2 -0 lines", diff: ["+       - name: w4", "+         - name: \"/dev/vdc\""]),
                .record(data: nil),
            ])
    }

    @Test func strictARPIsSetBeforeMetalLBsPoolsWithIPVS() throws {
        #expect(try MetalLB.make(topology()).definition().beforeRendered.isEmpty)
        let ipvs = try Fixture.inventory(
            """
            name: t
            \(Self.pools)
            kubernetes: {proxyMode: ipvs, apiEndpoint: {haproxyKeepalived: {virtualIP: 10.0.0.250}}}
            hosts:
              - {name: cp1, address: 10.0.0.1, roles: [control-plane, etcd, worker]}
              - {name: cp2, address: 10.0.0.2, roles: [control-plane, etcd, worker]}
              - {name: cp3, address: 10.0.0.3, roles: [control-plane, etcd, worker]}
            """)
        let definition = try MetalLB.make(Topology(ipvs)).definition()
        let (steps, _) = AddonPlanner(definition: definition).plan(AddonFacts(record: nil, missing: []))
        #expect(
            steps[1]
                == .runScript(
                    summary: "set strictARP in kube-proxy's configuration (IPVS mode)",
                    script: "cairn-metallb-strict-arp"))
    }

    // MARK: Commands and files

    /// CoreDNS's apply on a cluster where it was never recorded: facts, the configuration uploaded
    /// and applied server-side, the record written and applied — nothing else.
    @Test func anAddonPhaseSendsExactlyTheseCommands() async throws {
        let topology = try topology()
        let harness = PhaseHarness(hosts: Fixture.hosts(topology))
        harness.values[ArtifactsKey.self] = FakeArtifacts()
        let coredns = CoreDNS.make(topology)
        let definition = try coredns.definition()
        let cp1 = harness["cp1"]
        cp1.expect(
            exactly: Kubectl.command(ClusterSnapshot.arguments(ClusterSnapshot.resources.map(\.resource))),
            stdout: #"{"apiVersion":"v1","kind":"List","items":[]}"#)
        for file in ["cairn.yaml", "record.json"] {
            cp1.expect(
                exactly: RemoteCommand(
                    "kubectl",
                    [
                        "--kubeconfig", "/etc/kubernetes/admin.conf", "--request-timeout=20s", "apply",
                        "--server-side", "--field-manager=cairn", "--force-conflicts",
                        "-f", "/etc/kubernetes/cairn/addons/coredns/\(file)",
                    ]))
        }
        let (result, events) = await harness.run(WithoutGate(AddonPhase(coredns)), on: .first(role: "control-plane"))
        #expect(result.outcome == .succeeded, "\(String(describing: result.error))")
        harness.expectExactlyTheExpectedCommands()
        #expect(
            events.planned == [
                "cp1: apply Cairn's coredns configuration (new)",
                "cp1: record coredns vkubeadm as applied (ConfigMap kube-system/cairn-addon-coredns)",
            ])
        #expect(
            cp1.uploads.map(\.path) == [
                "/etc/kubernetes/cairn/addons/coredns/cairn.yaml", "/etc/kubernetes/cairn/addons/coredns/record.json",
            ])
        #expect(cp1.uploads[0].content == definition.rendered)
        #expect(cp1.uploads[0].content.contains("replicas: 3"))
        let record = try JSONDecoder().decode(K8s.ConfigMap.self, from: Data(cp1.uploads[1].content.utf8))
        #expect(
            record.metadata
                == K8s.ObjectMeta(
                    name: "cairn-addon-coredns", namespace: "kube-system",
                    labels: ["app.kubernetes.io/managed-by": "cairn", "cairn.dev/addon": "coredns"]))
        #expect(record.data == ["version": "kubeadm", "rendered": definition.rendered!])
    }

    // MARK: Gates

    static func kubectl(_ arguments: [String]) -> RemoteCommand { Kubectl.command(arguments) }

    func nodesJSON(_ nodes: [(String, Bool, String?)]) -> String {
        let items = nodes.map { name, ready, message in
            K8s.Node(
                metadata: K8s.ObjectMeta(name: name),
                status: .init(
                    conditions: [
                        K8s.Condition(
                            type: "Ready", status: ready ? "True" : "False", reason: ready ? nil : "KubeletNotReady",
                            message: message)
                    ], nodeInfo: .init(kubeletVersion: "v1.32.4")))
        }
        return Fixture.json(K8s.List(items: items))
    }

    @Test func calicosGateNamesTheNodeThatIsNotReadyAndWhy() async throws {
        let executor = FakeHostExecutor(hostName: "cp1")
        let check = AddonCheck(kubectl: Kubectl(executor: executor), clock: VirtualClock(), appliedThisRun: false)
        let calico = Calico.make(try topology())
        executor.expect(
            exactly: Self.kubectl(["get", "nodes", "-o", "json"]), repeats: true,
            stdout: nodesJSON([
                ("cp1", true, nil), ("w1", false, "container runtime network not ready: cni plugin not initialized"),
            ]))
        executor.expect(
            exactly: Self.kubectl([
                "get", "daemonset", "calico-node", "-n", "calico-system", "-o", "json", "--ignore-not-found",
            ]),
            stdout: #"{"metadata":{"name":"calico-node"},"status":{"desiredNumberScheduled":2,"numberReady":2}}"#)
        #expect(
            try await calico.gate(check)
                == .notYet("not Ready: w1 (container runtime network not ready: cni plugin not initialized)"))
        executor.expect(
            exactly: Self.kubectl([
                "get", "daemonset", "calico-node", "-n", "calico-system", "-o", "json", "--ignore-not-found",
            ]),
            stdout: "")
        #expect(try await calico.gate(check) == .notYet("the operator has not created calico-node yet"))
        #expect(executor.unexpectedCalls.isEmpty)
    }

    @Test func aSpreadGateWaitsForReplicasOnDistinctNodes() async throws {
        let executor = FakeHostExecutor(hostName: "cp1")
        let kubectl = Kubectl(executor: executor)
        func pods(_ nodes: [String]) -> String {
            Fixture.json(
                K8s.List(
                    items: nodes.enumerated().map { index, node in
                        K8s.Pod(
                            metadata: K8s.ObjectMeta(name: "coredns-\(index)"), spec: .init(nodeName: node),
                            status: .init(
                                phase: "Running", conditions: [K8s.Condition(type: "Ready", status: "True")],
                                containerStatuses: nil))
                    }))
        }
        let deployment = #"{"metadata":{"name":"coredns"},"spec":{"replicas":3},"status":{"availableReplicas":3}}"#
        executor.expect(
            exactly: Self.kubectl(["get", "deployment", "coredns", "-n", "kube-system", "-o", "json"]), repeats: true,
            stdout: deployment)
        executor.expect(
            exactly: Self.kubectl(["get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "json"]),
            stdout: pods(["w1", "w1", "w2"]))
        #expect(
            try await Spread.gate(
                kubectl, namespace: "kube-system", deployment: "coredns", selector: "k8s-app=kube-dns", replicas: 3,
                service: "kube-dns", needsAddress: false) == .notYet("coredns replicas share nodes: w1, w2"))
        executor.expect(
            exactly: Self.kubectl(["get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "json"]),
            stdout: pods(["w1", "w2", "w3"]))
        executor.expect(
            exactly: Self.kubectl(["get", "endpoints", "kube-dns", "-n", "kube-system", "-o", "json"]),
            stdout: #"{"metadata":{"name":"kube-dns"},"subsets":[{"addresses":[{"ip":"10.244.1.2"}]}]}"#)
        #expect(
            try await Spread.gate(
                kubectl, namespace: "kube-system", deployment: "coredns", selector: "k8s-app=kube-dns", replicas: 3,
                service: "kube-dns", needsAddress: false) == .passed("3 coredns replicas on w1, w2, w3"))
        #expect(executor.unexpectedCalls.isEmpty)
    }

    /// Replicas that never become available because a set-up Job failed (ingress-nginx's certificate
    /// Job, its Secret never made): the gate names the failed Job before the waiting pods.
    @Test func spreadGateNamesAFailedJob() async throws {
        let executor = FakeHostExecutor(hostName: "cp1")
        let kubectl = Kubectl(executor: executor)
        executor.expect(
            exactly: Self.kubectl([
                "get", "deployment", "ingress-nginx-controller", "-n", "ingress-nginx", "-o", "json",
            ]),
            stdout: #"{"metadata":{"name":"ingress-nginx-controller"},"spec":{"replicas":2},"status":{}}"#)
        executor.expect(
            exactly: Self.kubectl(["get", "jobs", "-n", "ingress-nginx", "-o", "json"]),
            stdout: #"""
                {"items":[{"metadata":{"name":"ingress-nginx-admission-create"},"status":{"failed":7,"conditions":[
                {"type":"FailureTarget","status":"True","reason":"BackoffLimitExceeded"},
                {"type":"Failed","status":"True","reason":"BackoffLimitExceeded",
                 "message":"Job has reached the specified backoff limit"}]}},
                {"metadata":{"name":"ingress-nginx-admission-patch"},"status":{"active":1}}]}
                """#)
        executor.expect(
            exactly: Self.kubectl([
                "get", "pods", "-n", "ingress-nginx", "-l", "app.kubernetes.io/component=controller", "-o", "json",
            ]),
            stdout: #"""
                {"items":[{"metadata":{"name":"ingress-nginx-controller-1"},"status":{"phase":"Pending",
                "containerStatuses":[{"state":{"waiting":{"reason":"ContainerCreating"}}}]}}]}
                """#)
        #expect(
            try await Spread.gate(
                kubectl, namespace: "ingress-nginx", deployment: "ingress-nginx-controller",
                selector: "app.kubernetes.io/component=controller", replicas: 2, service: "ingress-nginx-controller",
                needsAddress: false)
                == .notYet(
                    "0 of 2 ingress-nginx-controller replicas available; job ingress-nginx-admission-create failed: "
                        + "BackoffLimitExceeded (Job has reached the specified backoff limit); "
                        + "ingress-nginx-controller-1 ContainerCreating"))
        #expect(executor.unexpectedCalls.isEmpty)
    }

    /// Ceph's gate reads `ceph status` (both OSD-map shapes) and names what is not healthy.
    @Test func cephsGateNamesItsHealthChecks() async throws {
        let executor = FakeHostExecutor(hostName: "cp1")
        let kubectl = Kubectl(executor: executor)
        executor.expect(
            exactly: Self.kubectl(["get", "deployment", "rook-ceph-operator", "-n", "rook-ceph", "-o", "json"]),
            repeats: true,
            stdout:
                #"{"metadata":{"name":"rook-ceph-operator"},"spec":{"replicas":1},"status":{"availableReplicas":1}}"#)
        let status = Self.kubectl(RookCeph.toolbox + ["ceph", "status", "-f", "json"])
        executor.expect(
            exactly: status,
            stdout: """
                {"health":{"status":"HEALTH_WARN","checks":{"OSD_DOWN":{"summary":{"message":"1 osds down"}}}},"quorum_names":["a","b","c"],
                 "osdmap":{"osdmap":{"num_osds":3,"num_up_osds":2,"num_in_osds":3}},
                 "pgmap":{"pgs_by_state":[{"state_name":"active+undersized+degraded","count":32}]}}
                """)
        #expect(
            try await RookCeph.health(kubectl, mons: 3, osds: 3, poolSize: 3)
                == .notYet(
                    "HEALTH_WARN (OSD_DOWN: 1 osds down); OSDs 2 up, 3 in of 3; PGs 32 active+undersized+degraded"))
        executor.expect(
            exactly: status,
            stdout: """
                {"health":{"status":"HEALTH_OK"},"quorum_names":["a","b","c"],"osdmap":{"num_osds":3,"num_up_osds":3,"num_in_osds":3},
                 "pgmap":{"pgs_by_state":[{"state_name":"active+clean","count":33}]}}
                """)
        executor.expect(
            exactly: Self.kubectl(
                RookCeph.toolbox + ["ceph", "osd", "pool", "get", "replicapool", "size", "-f", "json"]),
            stdout: #"{"pool":"replicapool","pool_id":2,"size":3}"#)
        #expect(
            try await RookCeph.health(kubectl, mons: 3, osds: 3, poolSize: 3)
                == .passed("HEALTH_OK: 3 mons in quorum, 3/3 OSDs up and in, all PGs active+clean, pool size 3"))
        #expect(executor.unexpectedCalls.isEmpty)
    }

    /// MetalLB's gate asks for a test address only in a run that changed MetalLB.
    @Test func metallbsProbeRunsOnlyAfterAChange() async throws {
        let executor = FakeHostExecutor(hostName: "cp1")
        let metallb = MetalLB.make(try topology())
        executor.expect(
            exactly: Self.kubectl(["get", "deployment", "controller", "-n", "metallb-system", "-o", "json"]),
            stdout: #"{"metadata":{"name":"controller"},"spec":{"replicas":1},"status":{"availableReplicas":1}}"#)
        executor.expect(
            exactly: Self.kubectl(["get", "nodes", "-o", "json"]),
            stdout: nodesJSON([("cp1", true, nil), ("w1", true, nil)]))
        executor.expect(
            exactly: Self.kubectl(["get", "daemonset", "speaker", "-n", "metallb-system", "-o", "json"]),
            stdout: #"{"metadata":{"name":"speaker"},"status":{"desiredNumberScheduled":2,"numberReady":2}}"#)
        let converged = AddonCheck(kubectl: Kubectl(executor: executor), clock: VirtualClock(), appliedThisRun: false)
        #expect(try await metallb.gate(converged) == .passed("controller available, speakers on 2 nodes"))
        #expect(executor.unexpectedCalls.isEmpty && executor.uploads.isEmpty)
    }

    // MARK: Status

    @Test func statusShowsEachAddonsWorkloadsAndCephFromTheRegistry() async throws {
        let topology = try topology()
        let executor = FakeHostExecutor(hostName: "cp1")
        executor.expect(
            exactly: Self.kubectl(["get", "nodes", "-o", "json"]),
            stdout: nodesJSON(
                topology.nodes.map {
                    ($0.name, $0.name != "w3", $0.name == "w3" ? "kubelet stopped posting node status" : nil)
                }))
        for addon in Addons.instances(topology) where addon.isEnabled {
            for workload in addon.workloads {
                let object =
                    workload.kind == .deployment
                    ? #"{"metadata":{"name":"x"},"spec":{"replicas":2},"status":{"availableReplicas":2}}"#
                    : #"{"metadata":{"name":"x"},"status":{"desiredNumberScheduled":6,"numberReady":5}}"#
                executor.expect(
                    exactly: Self.kubectl([
                        "get", "\(workload.kind.rawValue)/\(workload.object)", "-n", workload.namespace, "-o", "json",
                    ]),
                    stdout: object)
                executor.expect(
                    exactly: Self.kubectl([
                        "get", "pods", "-n", workload.namespace, "-l", workload.selector, "-o", "json",
                    ]),
                    stdout: #"{"items":[{"metadata":{"name":"p"},"spec":{"nodeName":"w1"}}]}"#)
            }
        }
        executor.expect(
            exactly: Self.kubectl(RookCeph.toolbox + ["ceph", "status", "-f", "json"]),
            stdout: """
                {"health":{"status":"HEALTH_OK"},"quorum_names":["a","b","c"],"monmap":{"num_mons":3},
                 "osdmap":{"num_osds":3,"num_up_osds":3,"num_in_osds":3},"pgmap":{"bytes_used":1048576,"bytes_total":3221225472}}
                """)
        var status = ClusterStatus(
            cluster: "t", healthy: true, problems: [], hosts: [], etcd: nil, endpoint: nil, nodes: [], addons: [],
            ceph: nil)
        await ClusterStatus.gatherKubernetes(into: &status, kubectl: Kubectl(executor: executor), topology: topology)
        #expect(executor.unexpectedCalls.isEmpty, "\(executor.unexpectedCalls)")
        #expect(executor.remainingExpectations.isEmpty, "\(executor.remainingExpectations)")
        #expect(
            status.addons.map(\.name) == [
                "calico-node", "coredns", "metallb-controller", "metallb-speaker", "traefik", "rook-ceph-operator",
            ])
        #expect(
            status.nodes.count == 7
                && status.nodes.first { $0.name == "w3" }?.reason == "kubelet stopped posting node status")
        #expect(
            status.ceph?.health == "HEALTH_OK" && status.ceph?.osds == 3 && status.ceph?.bytesTotal == 3_221_225_472)
        #expect(status.problems == ["node w3 is not Ready", "calico-node: 5/6 ready", "metallb-speaker: 5/6 ready"])
    }
}
