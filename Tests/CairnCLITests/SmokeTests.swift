import CairnPhases
import CairnTesting
import Foundation
import Testing

/// The smoke runs: the real `cairn` binary against a lab of real sshd hosts (real etcd, the
/// Kubernetes stand-ins): plan → apply → plan again must show nothing, and the apply does
/// exactly what the plan listed.
@Suite(.serialized, .enabled(if: Lab.shouldRun, "\(Lab.unavailableReason ?? "")"))
struct SmokeTests {
    static let lab = Result { try Lab.up("t-smoke", hosts: 5) }

    @Test func planThenApplyThenPlanShowsNoChanges() throws {
        let lab = try Self.lab.get()
        let plan = try Lab.cairn(["plan", "-i", lab.inventoryPath, "--detailed-exitcode"])
        #expect(plan.status == 2, "\(plan.stderr)")
        #expect(plan.stdout.contains("write /etc/sysctl.d/99-cairn.conf (new)"))
        #expect(plan.stdout.contains("kubeadm init on node1"))
        #expect(plan.stdout.contains("kubeadm join node2 as a control plane"))
        #expect(plan.stdout.contains("kubeadm join node4 as a worker"))
        // Plan changed nothing.
        #expect(try lab.exec("node1", "test -e /etc/sysctl.d/99-cairn.conf && echo yes || echo no") == "no\n")

        let apply = try Lab.cairn(["apply", "--yes", "-i", lab.inventoryPath])
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("Apply complete"))
        #expect(apply.stdout.contains("3 members, leader node"))
        #expect(apply.stdout.contains("/readyz ok through 10.99."))
        #expect(apply.stdout.contains("5 nodes registered"))

        let again = try Lab.cairn(["plan", "-i", lab.inventoryPath, "--detailed-exitcode"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("No changes."))

        // The apply's journal holds exactly the actions the first plan listed.
        let runs = lab.directory.appendingPathComponent("state/runs")
        let journals = try FileManager.default.contentsOfDirectory(atPath: runs.path).filter { $0 != "latest" }.sorted()
        #expect(journals.count == 3)
        #expect(try Journal.actions(runs.appendingPathComponent(journals[0]), event: "phase-planned")
                == Journal.actions(runs.appendingPathComponent(journals[1]), event: "action-finished"))
        #expect(try Journal.actions(runs.appendingPathComponent(journals[2]), event: "phase-planned").isEmpty)

        // The admin kubeconfig is on the operator's side, private, pointing at the endpoint.
        let kubeconfig = lab.directory.appendingPathComponent("state/kubeconfig")
        #expect(try FileManager.default.attributesOfItem(atPath: kubeconfig.path)[.posixPermissions] as? Int == 0o600)
        #expect(try String(contentsOf: kubeconfig, encoding: .utf8).contains("server: https://10.99."))
    }

    @Test func factGatheringIsAtMostOneRoundTripPerHostPerPhase() throws {
        let lab = try Self.lab.get()
        let plan = try Lab.cairn(["plan", "-i", lab.inventoryPath, "--output", "json"])
        #expect(plan.status == 0)
        var phasesPerHost: [String: Int] = [:]
        for line in plan.stdout.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["event"] as? String == "phase-started" else { continue }
            for host in object["hosts"] as? [String] ?? [] { phasesPerHost[host, default: 0] += 1 }
        }
        let log = try String(contentsOf: lab.directory.appendingPathComponent("state/runs/latest/debug.log"), encoding: .utf8)
        for (host, phases) in phasesPerHost {
            let factCommands = log.split(separator: "\n").filter { $0.contains("host=\(host) ") && $0.contains("<script cairn-facts-") }
            #expect(factCommands.count <= phases, "\(host): \(factCommands.count) fact commands for \(phases) phases")
            #expect(factCommands.count >= 1)
        }
    }

    @Test func invalidInventoryTouchesNoHostAndExits65() throws {
        let path = Lab.temporaryPath("bad.yaml")
        try "hosts:\n  - {name: Bad_Name, address: 10.99.250.1, roles: [master]}\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try Lab.cairn(["apply", "--yes", "-i", path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("hosts[0].name"))
        #expect(result.stderr.contains("hosts[0].roles[0]"))
    }

    @Test func graphPrintsTheBuiltInPlaybook() throws {
        let dot = try Lab.cairn(["graph"])
        #expect(dot.status == 0)
        #expect(dot.stdout.hasPrefix("digraph cairn {"))
        #expect(dot.stdout.contains("\"control-plane-init\" -> \"control-plane-join\";"))
        let mermaid = try Lab.cairn(["graph", "--format", "mermaid"])
        #expect(mermaid.stdout.hasPrefix("flowchart LR"))
    }
}

enum Journal {
    /// "host: summary" of the actions a journal planned (`phase-planned`) or performed (`action-finished`).
    static func actions(_ run: URL, event: String) throws -> [String] {
        let text = try String(contentsOf: run.appendingPathComponent("journal.jsonl"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line -> [String]? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["event"] as? String == event else { return nil }
            if event == "phase-planned" {
                return (object["actions"] as? [[String: Any]] ?? []).map { "\($0["host"]!): \($0["summary"]!)" }
            }
            return object["ok"] as? Bool == true ? ["\(object["host"]!): \(object["summary"]!)"] : []
        }.flatMap { $0 }.sorted()
    }

    /// The hosts on which a journal performed actions, per phase.
    static func performedHosts(_ run: URL) throws -> [String: Set<String>] {
        let text = try String(contentsOf: run.appendingPathComponent("journal.jsonl"), encoding: .utf8)
        var result: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["event"] as? String == "action-finished", let phase = object["phase"] as? String,
                  let host = object["host"] as? String else { continue }
            result[phase, default: []].insert(host)
        }
        return result
    }
}

@Suite struct EmbeddedResourceTests {
    @Test func embeddedPlaybooksMatchTheFiles() throws {
        for (path, text) in EmbeddedResources.files {
            let file = try String(contentsOf: Lab.repositoryRoot.appendingPathComponent(path), encoding: .utf8)
            #expect(file == text + "\n", "\(path) changed: run scripts/embed-resources")
        }
        let enumerator = FileManager.default.enumerator(atPath: Lab.repositoryRoot.appendingPathComponent("playbooks").path)
        var files: [String] = []
        while let next = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: Lab.repositoryRoot.appendingPathComponent("playbooks/" + next).path, isDirectory: &isDirectory)
            if !isDirectory.boolValue { files.append("playbooks/" + next) }
        }
        #expect(Set(files) == Set(EmbeddedResources.files.keys), "run scripts/embed-resources")
    }
}
