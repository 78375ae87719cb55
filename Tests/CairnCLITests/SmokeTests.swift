import CairnPhases
import CairnTesting
import Foundation
import Testing

/// The smoke runs: the real `cairn` binary against a lab of real sshd hosts.
/// plan → apply → plan again must show nothing.
@Suite(.serialized, .enabled(if: Lab.shouldRun, "\(Lab.unavailableReason ?? "")"))
struct SmokeTests {
    static let lab = Result { try Lab.up("t-smoke", hosts: 5) }

    @Test func planThenApplyThenPlanShowsNoChanges() throws {
        let lab = try Self.lab.get()
        let plan = try Lab.cairn(["plan", "-i", lab.inventoryPath, "--detailed-exitcode"])
        #expect(plan.status == 2, "\(plan.stderr)")
        #expect(plan.stdout.contains("write /etc/sysctl.d/99-cairn.conf (new)"))
        #expect(plan.stdout.contains("Plan: 15 changes on 5 hosts in 1 phase."))
        // Plan changed nothing.
        #expect(try lab.exec("node1", "test -e /etc/sysctl.d/99-cairn.conf && echo yes || echo no") == "no\n")

        let apply = try Lab.cairn(["apply", "-i", lab.inventoryPath])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stdout.contains("Apply complete: 15 changes made."))
        #expect(try lab.exec("node3", "cat /proc/sys/net/ipv4/ip_forward") == "1\n")

        let again = try Lab.cairn(["plan", "-i", lab.inventoryPath, "--detailed-exitcode"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("No changes."))

        // The apply's journal holds exactly the actions the first plan listed.
        let runs = lab.directory.appendingPathComponent("state/runs")
        let journals = try FileManager.default.contentsOfDirectory(atPath: runs.path).filter { $0 != "latest" }.sorted()
        #expect(journals.count == 3)
        func actions(_ run: String, event: String) throws -> [String] {
            let text = try String(contentsOf: runs.appendingPathComponent(run).appendingPathComponent("journal.jsonl"), encoding: .utf8)
            return text.split(separator: "\n").compactMap { line -> [String]? in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      object["event"] as? String == event else { return nil }
                if event == "phase-planned" {
                    return (object["actions"] as? [[String: Any]] ?? []).map { "\($0["host"]!): \($0["summary"]!)" }
                }
                return object["ok"] as? Bool == true ? ["\(object["host"]!): \(object["summary"]!)"] : []
            }.flatMap { $0 }.sorted()
        }
        #expect(try actions(journals[0], event: "phase-planned") == actions(journals[1], event: "action-finished"))
        #expect(try actions(journals[2], event: "phase-planned").isEmpty)
    }

    @Test func factGatheringIsOneRoundTripPerHostPerPhase() throws {
        let lab = try Self.lab.get()
        let plan = try Lab.cairn(["plan", "-i", lab.inventoryPath, "--output", "json"])
        #expect(plan.status == 0)
        let facts = plan.stdout.split(separator: "\n").filter { $0.contains("\"event\":\"facts-gathered\"") }
        #expect(facts.count == 5)
        // And the debug log shows one command per host for the phase.
        let latest = lab.directory.appendingPathComponent("state/runs/latest/debug.log")
        let log = try String(contentsOf: latest, encoding: .utf8)
        let runs = log.split(separator: "\n").filter { $0.contains(" run") && $0.contains("cairn-facts-prepare") }
        #expect(runs.count == 5, "\(log)")
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
        let mermaid = try Lab.cairn(["graph", "--format", "mermaid"])
        #expect(mermaid.stdout.hasPrefix("flowchart LR"))
    }
}

@Suite struct EmbeddedResourceTests {
    @Test func embeddedPlaybooksMatchTheFiles() throws {
        for (path, text) in EmbeddedResources.files {
            let file = try String(contentsOf: Lab.repositoryRoot.appendingPathComponent(path), encoding: .utf8)
            #expect(file == text + "\n", "\(path) changed: run scripts/embed-resources")
        }
        let files = try FileManager.default.subpathsOfDirectory(atPath: Lab.repositoryRoot.appendingPathComponent("playbooks").path)
            .filter { !$0.hasSuffix("/") && !FileManager.default.fileExists(atPath: $0) }
        #expect(Set(files.map { "playbooks/" + $0 }).isSubset(of: Set(EmbeddedResources.files.keys).union(directories(files))))
    }

    func directories(_ files: [String]) -> Set<String> {
        Set(files.filter { path in
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: Lab.repositoryRoot.appendingPathComponent("playbooks/" + path).path, isDirectory: &isDirectory)
            return isDirectory.boolValue
        }.map { "playbooks/" + $0 })
    }
}
