import CairnCore
import Foundation
import Yams

/// The phase order as data (`playbooks/cluster.yaml`): which phases run, on which hosts, after
/// which others. Built-in phases are referred to by name; operators add hook phases with a
/// `run` script and an optional `check` script that decides whether it needs to run.
public struct Playbook: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var needs: [String]
        public var hosts: HostSelector
        public var hook: Hook?
        public var line: Int
    }

    public struct Hook: Sendable, Equatable {
        public var run: String
        public var check: String?
        public var serial: Bool
    }

    public let file: String
    /// Entries in a dependency-respecting order (stable: file order where free).
    public let entries: [Entry]

    static let knownPhaseKeys: Set<String> = ["name", "needs", "hosts", "run", "check", "serial", "title"]

    /// The phase names of a playbook in file order, without validating it (nil-safe: [] when unreadable).
    public static func phaseNames(in text: String) -> [String] {
        guard let root = try? Yams.compose(yaml: text), let phases = root.mapping?["phases"]?.sequence else {
            return []
        }
        return phases.compactMap { $0.mapping?["name"]?.string }
    }

    /// Parses and validates a playbook. `builtIns` are the phase names Cairn implements.
    /// Every problem is reported at once, with its line.
    public static func load(yaml text: String, file: String, builtIns: Set<String>) throws -> Playbook {
        var problems: [String] = []
        func problem(_ line: Int?, _ message: String) {
            problems.append(line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)")
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw EngineError.playbookInvalid(file: file, problems: ["\(file): the file is empty"])
            }
            root = node
        } catch let error as EngineError {
            throw error
        } catch {
            throw EngineError.playbookInvalid(file: file, problems: ["\(file): not valid YAML: \(error)"])
        }
        guard let mapping = root.mapping else {
            throw EngineError.playbookInvalid(
                file: file, problems: ["\(file): expected a mapping with apiVersion, kind and phases"])
        }
        for (key, value) in mapping {
            switch key.string {
            case "apiVersion":
                if value.string != "cairn.dev/v1alpha1" {
                    problem(value.mark?.line, "apiVersion must be cairn.dev/v1alpha1")
                }
            case "kind":
                if value.string != "Playbook" { problem(value.mark?.line, "kind must be Playbook") }
            case "phases":
                break
            default:
                problem(key.mark?.line, "unknown field \"\(key.string ?? "?")\"; known: apiVersion, kind, phases")
            }
        }
        guard let phaseNodes = mapping["phases"]?.sequence else {
            throw EngineError.playbookInvalid(file: file, problems: problems + ["\(file): `phases` must be a list"])
        }

        var entries: [Entry] = []
        var seen: [String: Int] = [:]
        for (index, node) in phaseNodes.enumerated() {
            let line = node.mark?.line ?? 0
            guard let fields = node.mapping else {
                problem(line, "phases[\(index)] must be a mapping")
                continue
            }
            for key in fields.keys where !knownPhaseKeys.contains(key.string ?? "") {
                problem(
                    key.mark?.line,
                    "phases[\(index)]: unknown field \"\(key.string ?? "?")\"; known: "
                        + knownPhaseKeys.sorted().joined(separator: ", "))
            }
            guard let name = fields["name"]?.string, isValidName(name) else {
                problem(line, "phases[\(index)].name must be lowercase letters, digits and hyphens")
                continue
            }
            if let first = seen[name] {
                problem(line, "phase \"\(name)\" is defined twice (first at line \(first))")
                continue
            }
            seen[name] = line
            var needs: [String] = []
            if let needsNode = fields["needs"] {
                if let list = needsNode.sequence {
                    needs = list.compactMap(\.string)
                } else if let single = needsNode.string {
                    needs = [single]
                } else {
                    problem(needsNode.mark?.line, "phases[\(index)].needs must be a list of phase names")
                }
            }
            let selector = parseSelector(fields["hosts"], index: index, problem: problem)
            var hook: Hook?
            if let run = fields["run"]?.string {
                hook = Hook(run: run, check: fields["check"]?.string, serial: fields["serial"]?.bool ?? false)
                if builtIns.contains(name) {
                    problem(line, "phase \"\(name)\" is built in; give your hook another name")
                }
            } else {
                if fields["check"] != nil || fields["serial"] != nil {
                    problem(line, "phases[\(index)]: `check` and `serial` belong to hook phases, which need `run`")
                }
                if !builtIns.contains(name) {
                    let suggestion = closest(name, in: builtIns).map { " (did you mean \"\($0)\"?)" } ?? ""
                    problem(
                        line,
                        "unknown phase \"\(name)\"\(suggestion): built-in phases are "
                            + builtIns.sorted().joined(separator: ", ") + "; a hook phase needs a `run` script")
                }
            }
            entries.append(Entry(name: name, needs: needs, hosts: selector, hook: hook, line: line))
        }
        for entry in entries {
            for need in entry.needs where seen[need] == nil {
                problem(entry.line, "phase \"\(entry.name)\" needs \"\(need)\", which is not in the playbook")
            }
        }
        if problems.isEmpty {
            do {
                entries = try topologicalOrder(entries)
            } catch let cycle as CycleError {
                problem(nil, "the phases form a cycle: " + cycle.path.joined(separator: " → "))
            }
        }
        guard problems.isEmpty else { throw EngineError.playbookInvalid(file: file, problems: problems) }
        return Playbook(file: file, entries: entries)
    }

    struct CycleError: Error { let path: [String] }

    /// Kahn's algorithm, picking ready entries in file order so the result is stable.
    static func topologicalOrder(_ entries: [Entry]) throws -> [Entry] {
        var remaining = entries
        var done: Set<String> = []
        var ordered: [Entry] = []
        while !remaining.isEmpty {
            guard let index = remaining.firstIndex(where: { $0.needs.allSatisfy(done.contains) }) else {
                throw CycleError(path: findCycle(remaining))
            }
            let entry = remaining.remove(at: index)
            done.insert(entry.name)
            ordered.append(entry)
        }
        return ordered
    }

    private static func findCycle(_ entries: [Entry]) -> [String] {
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
        var path: [String] = []
        var current = entries[0].name
        while !path.contains(current) {
            path.append(current)
            guard let next = byName[current]?.needs.first(where: { byName[$0] != nil }) else { break }
            current = next
        }
        if let start = path.firstIndex(of: current) { return Array(path[start...]) + [current] }
        return path
    }

    static func parseSelector(_ node: Node?, index: Int, problem: (Int?, String) -> Void) -> HostSelector {
        guard let node else { return .all }
        let line = node.mark?.line
        if let word = node.string {
            switch word {
            case "all": return .all
            case "operator": return .operatorOnly
            default:
                problem(
                    line,
                    "phases[\(index)].hosts: \"\(word)\" is not a selector; use all, operator, {roles: [...]}, {first: ROLE} or {names: [...]}"
                )
                return .all
            }
        }
        guard let fields = node.mapping, fields.count == 1, let (key, value) = fields.first else {
            problem(
                line,
                "phases[\(index)].hosts must be all, operator, or one of {roles: [...]}, {first: ROLE}, {names: [...]}")
            return .all
        }
        let roles = ["etcd", "control-plane", "worker"]
        switch key.string {
        case "roles", "role":
            let list = value.sequence?.compactMap(\.string) ?? value.string.map { [$0] } ?? []
            for role in list where !roles.contains(role) {
                problem(
                    line, "phases[\(index)].hosts: unknown role \"\(role)\"; roles are " + roles.joined(separator: ", ")
                )
            }
            return .roles(list)
        case "first":
            let role = value.string ?? ""
            if !roles.contains(role) { problem(line, "phases[\(index)].hosts.first: unknown role \"\(role)\"") }
            return .first(role: role)
        case "names":
            return .named(value.sequence?.compactMap(\.string) ?? [])
        default:
            problem(line, "phases[\(index)].hosts: unknown selector \"\(key.string ?? "?")\"")
            return .all
        }
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 63
            && name.utf8.allSatisfy {
                ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
                    || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-")
            }
    }

    static func closest(_ name: String, in candidates: Set<String>) -> String? {
        candidates.map { ($0, editDistance($0, name)) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where i <= a.count {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where j <= b.count {
                let current = row[j]
                row[j] = a[i - 1] == b[j - 1] ? previous : min(previous, row[j], row[j - 1]) + 1
                previous = current
            }
        }
        return row[b.count]
    }

    // MARK: Rendering the graph

    /// The DAG in Graphviz DOT.
    public var dot: String {
        var lines = ["digraph cairn {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
        for entry in entries {
            let label = entry.hook == nil ? entry.name : "\(entry.name)\\n(hook)"
            lines.append("  \"\(entry.name)\" [label=\"\(label)\\n\(entry.hosts)\"];")
        }
        for entry in entries {
            for need in entry.needs { lines.append("  \"\(need)\" -> \"\(entry.name)\";") }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The DAG as a Mermaid flowchart.
    public var mermaid: String {
        var lines = ["flowchart LR"]
        for entry in entries {
            let id = entry.name.replacingOccurrences(of: "-", with: "_")
            lines.append("  \(id)[\"\(entry.name)<br/><small>\(entry.hosts)</small>\"]")
        }
        for entry in entries {
            for need in entry.needs {
                lines.append(
                    "  \(need.replacingOccurrences(of: "-", with: "_")) --> \(entry.name.replacingOccurrences(of: "-", with: "_"))"
                )
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Schedules the playbook: built-in phases from `builtIns`, hooks as `HookPhase`.
    /// `only` and `skip` limit the run to named phases.
    public func schedule(builtIns: [String: any Phase], only: [String] = [], skip: [String] = []) throws
        -> [ScheduledPhase]
    {
        let names = Set(entries.map(\.name))
        for name in only + skip where !names.contains(name) {
            throw EngineError.unknownPhase(name, known: entries.map(\.name))
        }
        return try entries.compactMap { entry in
            if !only.isEmpty && !only.contains(entry.name) { return nil }
            if skip.contains(entry.name) { return nil }
            let phase: any Phase
            if let hook = entry.hook {
                phase = HookPhase(name: entry.name, hook: hook)
            } else if let builtIn = builtIns[entry.name] {
                phase = builtIn
            } else {
                throw EngineError.unknownPhase(entry.name, known: builtIns.keys.sorted())
            }
            return ScheduledPhase(phase: phase, selector: entry.hosts, dependencies: entry.needs)
        }
    }
}

/// An operator's hook: a script run on the selected hosts, skipped on hosts where the check
/// script exits 0. The check is the hook's facts; the run is its one action.
public struct HookPhase: Phase {
    public let name: String
    public let hook: Playbook.Hook

    public var title: String { "Hook \(name)" }

    public struct Facts: Sendable, Codable {
        public let done: Bool
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> Facts {
        guard let check = hook.check else { return Facts(done: false) }
        let output = try await executor.run(
            RemoteCommand.script(check, name: "cairn-check-\(name)", arguments: [host.name]))
        return Facts(done: output.succeeded)
    }

    public func plan(facts: [EngineHost: Facts], context: PhaseContext) throws -> PhasePlan {
        let hookName = name
        let script = hook.run
        let actions = context.hosts.filter { facts[$0]?.done == false }.map { host in
            Action(
                host: host.name, summary: "run hook \(hookName)",
                details: script.split(separator: "\n").map { "  " + $0 }
            ) { env in
                try await env.host().runChecked(
                    RemoteCommand.script(script, name: "cairn-hook-\(hookName)", arguments: [host.name]))
            }
        }
        return PhasePlan(actions: actions, execution: hook.serial ? .serial : .parallel)
    }
}
