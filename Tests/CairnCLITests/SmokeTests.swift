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

        // No secret the run made or handled appears in anything it printed or wrote.
        var secrets = try lab.exec("node1", "kubeadm token list").split(separator: "\n").dropFirst()
            .compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(secrets.count >= 3, "init's token and the join tokens")
        for keyFile in try FileManager.default.contentsOfDirectory(atPath: lab.directory.appendingPathComponent("state/pki/etcd").path)
            where keyFile.hasSuffix(".key") {
            let pem = try String(contentsOf: lab.directory.appendingPathComponent("state/pki/etcd/\(keyFile)"), encoding: .utf8)
            secrets += pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
        }
        let adminConf = try lab.exec("node1", "cat /etc/kubernetes/admin.conf")
        secrets += adminConf.split(separator: "\n").filter { $0.contains("client-key-data:") }
            .map { String($0.split(separator: ":")[1]).trimmingCharacters(in: .whitespaces) }
        var outputs = [plan.stdout, plan.stderr, apply.stdout, apply.stderr, again.stdout, again.stderr]
        for run in journals {
            for file in ["journal.jsonl", "debug.log", "report.html"] {
                outputs.append((try? String(contentsOf: runs.appendingPathComponent(run).appendingPathComponent(file), encoding: .utf8)) ?? "")
            }
        }
        for secret in secrets where secret.count >= 12 {
            #expect(!outputs.contains { $0.contains(secret) }, "a secret (\(secret.prefix(6))…) leaked into the output")
        }
        #expect(outputs.joined().contains("kubeadm join node2"), "the outputs checked are the real ones")

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

    @Test func theTerminalViewShowsPhasesAsTheyFinish() throws {
        let lab = try Self.lab.get()
        let session = "cairn-tty-\(getpid())"
        let binary = Lab.repositoryRoot.appendingPathComponent(".build/debug/cairn").path
        try Lab.shell(["tmux", "new-session", "-d", "-s", session, "-x", "140", "-y", "50",
                       "\(binary) plan -i \(lab.inventoryPath); echo EXIT=$?; sleep 30"])
        defer { _ = try? Lab.shell(["tmux", "kill-session", "-t", session]) }
        var screen = ""
        for _ in 0..<300 {
            screen = try Lab.shell(["tmux", "capture-pane", "-p", "-t", session])
            if screen.contains("EXIT=") { break }
            usleep(200_000)
        }
        #expect(screen.contains("EXIT=0"), "\(screen)")
        // Finished phases collapse to one line each; the live block is gone at the end.
        #expect(screen.contains("✓ no changes  prepare-hosts"), "\(screen)")
        #expect(screen.contains("✓ no changes  control-plane-init"))
        #expect(screen.contains("No changes. The cluster matches the inventory."))
        #expect(!screen.contains("gathering facts"), "the live block was not erased")
        #expect(!screen.contains("\u{1B}["), "raw escape codes on the screen")
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
