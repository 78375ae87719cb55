import CairnCore
import Foundation

/// This build of Cairn; a saved plan is applied only by the build that made it.
public enum CairnBuild {
    public static let version = "0.5.0-dev"
}

/// A JSON value, for recording facts as they were and naming what changed since.
public indirect enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Any encodable value as JSON, without the fields named in `dropping` (at any depth).
    public static func of<T: Encodable>(_ value: T, dropping: Set<String> = []) throws -> JSONValue {
        let data = try JSONEncoder().encode(value)
        return try JSONDecoder().decode(JSONValue.self, from: data).removing(dropping)
    }

    func removing(_ keys: Set<String>) -> JSONValue {
        guard !keys.isEmpty else { return self }
        switch self {
        case .object(let fields):
            return .object(fields.filter { !keys.contains($0.key) }.mapValues { $0.removing(keys) })
        case .array(let items):
            return .array(items.map { $0.removing(keys) })
        default:
            return self
        }
    }

    /// The first difference from `other` in a stable order: its path ("files./etc/x") and both values.
    public func firstDifference(from other: JSONValue, path: String = "") -> (
        path: String, mine: String, theirs: String
    )? {
        switch (self, other) {
        case (.object(let mine), .object(let theirs)):
            for key in Set(mine.keys).union(theirs.keys).sorted() {
                let child = path.isEmpty ? key : path + "." + key
                switch (mine[key], theirs[key]) {
                case (let a?, let b?):
                    if let difference = a.firstDifference(from: b, path: child) { return difference }
                case (let a?, nil): return (child, a.text, "(absent)")
                case (nil, let b?): return (child, "(absent)", b.text)
                case (nil, nil): continue
                }
            }
            return nil
        case (.array(let mine), .array(let theirs)):
            for index in 0..<max(mine.count, theirs.count) {
                let child = path + "[\(index)]"
                guard index < mine.count else { return (child, "(absent)", theirs[index].text) }
                guard index < theirs.count else { return (child, mine[index].text, "(absent)") }
                if let difference = mine[index].firstDifference(from: theirs[index], path: child) { return difference }
            }
            return nil
        default:
            return self == other ? nil : (path, text, other.text)
        }
    }

    /// Compact JSON text, at most 200 characters.
    public var text: String {
        if case .string(let value) = self { return value.count > 200 ? String(value.prefix(197)) + "..." : value }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let full = (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        return full.count > 200 ? String(full.prefix(197)) + "..." : full
    }
}

/// A plan written by `cairn plan --out FILE` and performed by `cairn apply FILE`: the facts each
/// phase planned from and the actions it planned, as shown (secrets redacted, never stored).
public struct SavedPlan: Codable, Sendable, Equatable {
    public static let currentFormat = 1

    public struct Step: Codable, Sendable, Hashable {
        public var host: String
        public var summary: String
        public var details: [String]
        public var predicted: Bool

        public init(host: String, summary: String, details: [String], predicted: Bool) {
            self.host = host
            self.summary = summary
            self.details = details
            self.predicted = predicted
        }
    }

    public struct PhaseEntry: Codable, Sendable, Equatable {
        public var name: String
        /// Earlier phases of the plan change this phase's hosts first: its facts were read
        /// before those changes, so `apply` re-plans it after them and compares the actions.
        public var factsPredateChanges: Bool
        /// Facts by host, without the fields that change by themselves (clocks, ages).
        public var facts: [String: JSONValue]
        public var actions: [Step]
        public var notes: [String]
    }

    public var format: Int
    public var cairnVersion: String
    public var created: Date
    public var cluster: String
    /// SHA-256 of the inventory file's bytes.
    public var inventoryDigest: String
    public var inventoryPath: String
    public var runID: String
    public var phases: [PhaseEntry]

    public init(
        cluster: String, inventoryDigest: String, inventoryPath: String, runID: String, phases: [PhaseEntry],
        created: Date = Date()
    ) {
        self.format = Self.currentFormat
        self.cairnVersion = CairnBuild.version
        // Whole seconds: what the file keeps (ISO 8601).
        self.created = Date(timeIntervalSince1970: created.timeIntervalSince1970.rounded(.down))
        self.cluster = cluster
        self.inventoryDigest = inventoryDigest
        self.inventoryPath = inventoryPath
        self.runID = runID
        self.phases = phases
    }

    public var actionCount: Int { phases.reduce(0) { $0 + $1.actions.count } }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(self).write(to: url, options: .atomic)
        _ = chmod(url.path, 0o600)
    }

    public static func read(_ url: URL) throws -> SavedPlan {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw SavedPlanError.unreadable(path: url.path, reason: "no such file, or not readable")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(SavedPlan.self, from: data)
        } catch {
            throw SavedPlanError.unreadable(path: url.path, reason: "not a plan written by `cairn plan --out`")
        }
    }

    /// Refuses a plan this run must not perform: another Cairn build, another inventory, too old.
    public func checkUsable(inventoryDigest: String, maximumAge: TimeInterval, path: String, now: Date = Date()) throws
    {
        guard format == Self.currentFormat, cairnVersion == CairnBuild.version else {
            throw SavedPlanError.otherVersion(path: path, madeBy: cairnVersion, this: CairnBuild.version)
        }
        guard self.inventoryDigest == inventoryDigest else {
            throw SavedPlanError.otherInventory(path: path, inventory: inventoryPath)
        }
        let age = now.timeIntervalSince(created)
        guard age <= maximumAge else {
            throw SavedPlanError.expired(path: path, age: Int(age), maximum: Int(maximumAge))
        }
    }
}

/// Collects what `plan` saw and planned, phase by phase.
public final class PlanRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [SavedPlan.PhaseEntry] = []
    private var live: [String: PhasePlan] = [:]

    public init() {}

    func record(_ phase: SavedPlan.PhaseEntry, plan: PhasePlan) {
        lock.withLock {
            recorded.append(phase)
            live[phase.name] = plan
        }
    }

    public var phases: [SavedPlan.PhaseEntry] { lock.withLock { recorded } }

    /// The plan objects themselves, for `apply` right after `plan` in the same process.
    public var livePlans: [String: PhasePlan] { lock.withLock { live } }
}

/// What an `apply` must perform: a saved plan, and (when the plan was made by this very process)
/// its plan objects, used as they are wherever the facts have not moved.
public struct PlanToFollow: Sendable {
    public let plan: SavedPlan
    public let livePlans: [String: PhasePlan]

    public init(plan: SavedPlan, livePlans: [String: PhasePlan] = [:]) {
        self.plan = plan
        self.livePlans = livePlans
    }
}

public enum SavedPlanError: Error, CairnReportableError, Equatable {
    case unreadable(path: String, reason: String)
    case otherVersion(path: String, madeBy: String, this: String)
    case otherInventory(path: String, inventory: String)
    case expired(path: String, age: Int, maximum: Int)
    case otherPhases(recorded: [String], now: [String])
    case factChanged(phase: String, host: String, fact: String, recorded: String, current: String)
    case actionsDiffer(phase: String, missing: [String], unplanned: [String])

    public var summary: String {
        switch self {
        case .unreadable(let path, let reason):
            return "plan \(path) cannot be used: \(reason)"
        case .otherVersion(let path, let madeBy, let this):
            return "plan \(path) was made by Cairn \(madeBy); this is Cairn \(this)"
        case .otherInventory(let path, let inventory):
            return "plan \(path) was made from another version of the inventory (\(inventory))"
        case .expired(let path, let age, let maximum):
            return "plan \(path) is \(age / 3600) h \(age % 3600 / 60) min old (at most \(maximum / 3600) h allowed)"
        case .otherPhases(let recorded, let now):
            return
                "the plan's phases (\(recorded.joined(separator: ", "))) are not this run's (\(now.joined(separator: ", ")))"
        case .factChanged(let phase, let host, let fact, let recorded, let current):
            return
                "\(phase): \(host) changed since the plan was made: \(fact) was \(recorded), is now \(current); nothing of this phase was changed"
        case .actionsDiffer(let phase, let missing, let unplanned):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("planned but no longer needed: " + missing.joined(separator: "; ")) }
            if !unplanned.isEmpty { parts.append("needed but not in the plan: " + unplanned.joined(separator: "; ")) }
            return
                "\(phase): the cluster no longer matches the plan (\(parts.joined(separator: " — "))); nothing of this phase was changed"
        }
    }

    public var nextStep: String? {
        switch self {
        case .unreadable:
            return "make a plan with `cairn plan -i INVENTORY --out FILE`"
        case .otherVersion, .otherInventory, .expired, .otherPhases, .factChanged, .actionsDiffer:
            return "plan again (`cairn plan -i INVENTORY --out FILE`), review it, and apply the new plan"
        }
    }

    public var exitCode: CairnExitCode {
        switch self {
        case .unreadable, .otherVersion, .otherInventory, .expired, .otherPhases: return .invalidInput
        case .factChanged, .actionsDiffer: return .failure
        }
    }
}
