import CairnCore
import Foundation

/// A host as the engine sees it: a name and roles. Phases find everything else (addresses,
/// settings) in the inventory carried by the run context.
public struct EngineHost: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let name: String
    public let roles: Set<String>
    /// Position in the inventory; orders hosts ("the first control-plane host").
    public let index: Int

    public init(name: String, roles: Set<String>, index: Int) {
        self.name = name
        self.roles = roles
        self.index = index
    }

    public static func < (lhs: EngineHost, rhs: EngineHost) -> Bool { lhs.index < rhs.index }
    public var description: String { name }
}

/// Which hosts a phase works on.
public enum HostSelector: Sendable, Equatable, CustomStringConvertible {
    case all
    /// Hosts having any of these roles.
    case roles([String])
    /// The first host (in inventory order) having this role.
    case first(role: String)
    case named([String])
    /// Work done on the operator's machine only (PKI generation, fetching manifests).
    case operatorOnly

    public func select(from hosts: [EngineHost]) -> [EngineHost] {
        let ordered = hosts.sorted()
        switch self {
        case .all: return ordered
        case .roles(let roles): return ordered.filter { !$0.roles.isDisjoint(with: roles) }
        case .first(let role): return ordered.first { $0.roles.contains(role) }.map { [$0] } ?? []
        case .named(let names): return ordered.filter { names.contains($0.name) }
        case .operatorOnly: return []
        }
    }

    public var description: String {
        switch self {
        case .all: return "all hosts"
        case .roles(let roles): return "hosts with role " + roles.joined(separator: " or ")
        case .first(let role): return "the first \(role) host"
        case .named(let names): return names.joined(separator: ", ")
        case .operatorOnly: return "the operator's machine"
        }
    }
}

/// How a phase's per-host actions are scheduled.
public enum Execution: String, Sendable, Codable {
    /// Hosts in parallel, up to the run's concurrency limit.
    case parallel
    /// One host at a time, in inventory order (control-plane joins, etcd membership changes).
    case serial
}

/// One concrete change. Plans are lists of actions; `apply` performs exactly the planned
/// actions through `ActionRunner`, and `plan` shows them without performing them, so the
/// two cannot disagree.
public struct Action: Sendable {
    /// The host it changes, or nil for the operator's machine.
    public let host: String?
    /// What will happen, for people: "write /etc/etcd.env (changed: ETCD_INITIAL_CLUSTER_STATE new→existing)".
    public let summary: String
    /// Supporting lines: a diff, the command.
    public let details: [String]
    /// Planned from predicted state: an earlier phase of this run has not been applied yet.
    public let predicted: Bool
    let perform: @Sendable (ActionEnvironment) async throws -> Void

    public init(
        host: String?, summary: String, details: [String] = [], predicted: Bool = false,
        perform: @escaping @Sendable (ActionEnvironment) async throws -> Void
    ) {
        self.host = host
        self.summary = summary
        self.details = details
        self.predicted = predicted
        self.perform = perform
    }

    /// The identity used to compare a plan with the apply that follows it.
    public var record: ActionRecord {
        ActionRecord(host: host ?? "operator", summary: summary)
    }
}

/// What an action sees while it runs.
public struct ActionEnvironment: Sendable {
    /// The executor of the action's host (nil for operator-side actions).
    public let executor: (any HostExecutor)?
    public let context: RunContext
    public let phase: String

    /// The host executor; operator-side actions must not ask for it.
    public func host() throws -> any HostExecutor {
        guard let executor else {
            throw EngineError.internalInconsistency("operator-side action asked for a host executor")
        }
        return executor
    }
}

/// A planned or performed action as recorded in the journal.
public struct ActionRecord: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let host: String
    public let summary: String

    public init(host: String, summary: String) {
        self.host = host
        self.summary = summary
    }

    public static func < (lhs: ActionRecord, rhs: ActionRecord) -> Bool {
        (lhs.host, lhs.summary) < (rhs.host, rhs.summary)
    }

    public var description: String { "\(host): \(summary)" }
}

/// A phase's plan: actions per host and how to schedule them.
public struct PhasePlan: Sendable {
    public var actions: [Action]
    public var execution: Execution
    /// Lines shown with the plan (what was found, what was assumed).
    public var notes: [String]

    public init(actions: [Action] = [], execution: Execution = .parallel, notes: [String] = []) {
        self.actions = actions
        self.execution = execution
        self.notes = notes
    }

    public var isEmpty: Bool { actions.isEmpty }

    /// Hosts in the order their actions first appear; nil stands for the operator's machine.
    var hostsInOrder: [String?] {
        var seen: [String?] = []
        for action in actions where !seen.contains(where: { $0 == action.host }) { seen.append(action.host) }
        return seen
    }
}
