import CairnPhases
import Foundation
import Testing

@testable import CairnInventory

/// docs/inventory.md carries the field reference generated from `InventorySchema`; these tests fail
/// when the two differ. Regenerate with
/// `CAIRN_UPDATE_DOCS=1 swift test --scratch-path .build-inventory --filter CairnInventoryTests.DocumentationTests`.
@Suite struct DocumentationTests {
    static let begin =
        "<!-- BEGIN GENERATED FIELD REFERENCE: edit Sources/CairnInventory/Schema.swift, not this block -->\n"
    static let end = "<!-- END GENERATED FIELD REFERENCE -->\n"
    static let path = Fixture.repositoryRoot.appendingPathComponent("docs/inventory.md").path

    @Test func fieldReferenceMatchesTheSchema() throws {
        var text = try String(contentsOfFile: Self.path, encoding: .utf8)
        let generated = InventorySchema.referenceMarkdown()
        let start = try #require(text.range(of: Self.begin), "docs/inventory.md lacks the BEGIN marker")
        let stop = try #require(
            text.range(of: Self.end, range: start.upperBound..<text.endIndex), "docs/inventory.md lacks the END marker")
        let current = String(text[start.upperBound..<stop.lowerBound])
        if current != generated, ProcessInfo.processInfo.environment["CAIRN_UPDATE_DOCS"] == "1" {
            text.replaceSubrange(start.upperBound..<stop.lowerBound, with: generated)
            try text.write(toFile: Self.path, atomically: true, encoding: .utf8)
            return
        }
        #expect(current == generated, "docs/inventory.md is out of date; run with CAIRN_UPDATE_DOCS=1")
    }

    /// Every key of every section is documented under its section (the generated tables), and the
    /// decoder knows no key the schema lacks (it asserts on unknown keys; this inventory uses them all).
    @Test func everyFieldIsDocumentedAndDecoded() throws {
        let text = try String(contentsOfFile: Self.path, encoding: .utf8)
        for section in InventorySchema.sections {
            for key in section.keys {
                #expect(text.contains("| `\(key)` |"), "\(section.path).\(key) is not in docs/inventory.md")
            }
        }
        let everything = """
            apiVersion: cairn.dev/v1alpha1
            kind: Cluster
            name: full
            stateDir: state
            ssh:
              user: ops
              port: 22
              identityFile: /k
              passphraseFile: /p
              passwordEnv: PW
              useAgent: true
              knownHostsFile: ~/.ssh/known_hosts
              hostKeyChecking: strict
              bastion: {address: jump, port: 22, user: jump, identityFile: /k}
              sudo: always
              connectTimeout: 5
              commandTimeout: 60.5
              configFile: none
            hosts:
              - name: cp1
                address: 10.0.0.11
                internalAddress: 10.0.0.11
                roles: [control-plane, etcd]
                labels: {a: b}
                zone: z1
                region: r1
                taints: [{key: k, value: v, effect: NoExecute}]
                storage: {devices: [/dev/vdb]}
                ssh: {user: u, port: 2, identityFile: /k, passphraseEnv: PP, passwordEnv: PW, useAgent: false, knownHostsFile: /kh,
                      hostKeyChecking: off, bastion: {address: j2}, sudo: never, connectTimeout: 1, commandTimeout: 2}
              - {name: cp2, address: 10.0.0.12, roles: [control-plane, etcd], zone: z2, storage: {devices: [/dev/vdb]}}
              - {name: cp3, address: 10.0.0.13, roles: [control-plane, etcd, worker], zone: z3, storage: {devices: [/dev/vdb]}}
            kubernetes:
              version: "1.35.9"
              podSubnet: 10.244.0.0/16
              serviceSubnet: 10.96.0.0/12
              clusterDomain: cluster.local
              proxyMode: nftables
              apiEndpoint:
                port: 8443
                haproxyKeepalived: {virtualIP: 10.0.0.10, virtualIPPrefix: 24, interface: eth0, virtualRouterID: 9}
                extraSANs: [api.example.com]
            etcd:
              version: "3.6.14"
              dataDir: /var/lib/etcd
              allowSingleMember: false
              heartbeatInterval: 100
              electionTimeout: 1000
              quotaBackendBytes: 1073741824
              snapshotCount: 5000
              removeMembersNotInInventory: true
            addons:
              calico: {enabled: true, version: "3.32.4", encapsulation: IPIPCrossSubnet, blockSize: 24, natOutgoing: false}
              coredns: {replicas: 1}
              metallb: {enabled: true, version: "0.16.1", addressPools: [{name: p, addresses: [10.0.0.200/29]}]}
              ingress: {enabled: true, controller: traefik, version: "3.8.0", replicas: 1}
              rookCeph: {enabled: true, version: "1.20.6", cephImage: "quay.io/ceph/ceph:v20.2.4", monCount: 1, mgrCount: 1, poolReplicaSize: 3, deviceSelection: named}
            artifacts: {source: mirror, mirror: "https://mirror.internal/cairn"}
            upgrade: {maxUnavailable: 2, groupLabel: a, maxUnavailablePerGroup: 1, drainTimeout: 120}
            """
        let loaded = try Fixture.load(
            everything, files: ["/k": "", "/p": ""], environment: ["HOME": "/home/op", "PW": "x", "PP": "y"]
        ).get()
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings.map(\.description))")
        let host = loaded.inventory.hosts[0]
        #expect(
            host.sshOverrides
                == SSHDefaults(
                    user: "u", port: 2, identityFile: "/k", passphraseEnv: "PP", passwordEnv: "PW", useAgent: false,
                    knownHostsFile: "/kh", hostKeyChecking: .off, bastion: BastionSettings(address: "j2"), sudo: .never,
                    connectTimeout: 1, commandTimeout: 2))
        #expect(loaded.inventory.stateDirectory == "/work/inv/state")
        #expect(loaded.inventory.ssh.commandTimeout == 60.5)
        #expect(
            loaded.inventory.upgrade
                == UpgradeSettings(
                    maxUnavailable: 2, groupLabel: "a", maxUnavailablePerGroup: 1, drainTimeoutSeconds: 120))
        #expect(
            loaded.inventory.addons.calico
                == calicoSettings(
                    enabled: true, version: "3.32.4", encapsulation: .ipipCrossSubnet, blockSize: 24, natOutgoing: false
                ))
        #expect(
            loaded.inventory.etcd
                == EtcdSettings(
                    version: "3.6.14", dataDir: "/var/lib/etcd", allowSingleMember: false, heartbeatInterval: 100,
                    electionTimeout: 1000, quotaBackendBytes: 1_073_741_824, snapshotCount: 5000,
                    removeMembersNotInInventory: true))
        #expect(
            loaded.inventory.kubernetes.apiEndpoint.mode
                == .haproxyKeepalived(
                    .init(address: "10.0.0.10", prefixLength: 24, interface: "eth0"), virtualRouterID: 9))
        #expect(loaded.inventory.addons.rookCeph.monCount == 1)
        #expect(loaded.inventory.artifacts == Artifacts(source: .mirror, mirror: "https://mirror.internal/cairn"))
    }

    @Test func documentStatesTheNumbersTheCodeUses() throws {
        let text = try String(contentsOfFile: Self.path, encoding: .utf8)
        for fact in [
            "\(SafeYAML.maxBytes) bytes", "\(DecodeContext.visitLimit)", "\(DecodeContext.diagnosticLimit)",
            "exit code 65", "CAIRN_FUZZ_ITERATIONS=100000",
        ] {
            #expect(text.contains(fact), "docs/inventory.md does not mention \(fact)")
        }
    }
}
