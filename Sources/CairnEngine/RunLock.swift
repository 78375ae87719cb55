import CairnCore
import Foundation

/// The cluster-wide run lock: a file on the first control-plane host naming its owner, with a
/// heartbeat. A second `apply` is refused while the heartbeat is fresh; a lock whose heartbeat
/// stopped (its run was killed) is reported as stale and broken only on request.
///
/// Creation is atomic on the host (`ln` of a complete temporary file onto the lock path fails
/// if the lock exists), and all times come from the host's own clock, so operators' clocks
/// may disagree without harm.
public struct RunLock: Sendable {
    public static let defaultPath = "/var/lib/cairn/run.lock"

    public let executor: any HostExecutor
    public let path: String
    public let runID: String
    public let owner: String
    /// A lock whose heartbeat is older than this is stale.
    public let staleAfter: Int

    public init(
        executor: any HostExecutor, path: String = RunLock.defaultPath, runID: String,
        owner: String, staleAfter: Int = 60
    ) {
        self.executor = executor
        self.path = path
        self.runID = runID
        self.owner = owner
        self.staleAfter = staleAfter
    }

    /// Arguments: action, path, run id, owner, stale-after seconds.
    /// Prints one line: `acquired`, `held AGE RUNID OWNER`, `stale AGE RUNID OWNER`, `renewed`,
    /// `lost [RUNID STARTED OWNER]` (who holds it now, if anyone), `released`, `free`.

    public enum State: Equatable, Sendable {
        case acquired
        case held(age: Int, runID: String, owner: String)
        case stale(age: Int, runID: String, owner: String)
        case renewed
        case released
        /// Someone else's lock (`takenBy`), or none at all.
        case lost(takenBy: Holder?)
        case free
    }

    public struct Holder: Equatable, Sendable {
        public let runID: String
        public let owner: String
        /// When it took the lock, by the host's clock.
        public let since: Date?
    }

    func invoke(_ action: String) async throws -> State {
        let command = RemoteCommand.script(
            .cairnLock,
            arguments: [action, path, runID, owner, String(staleAfter)])
        let output = try await executor.runChecked(command, timeout: .seconds(30))
        return Self.parse(output.stdoutText)
    }

    static func parse(_ text: String) -> State {
        let line = text.split(separator: "\n").last.map(String.init) ?? ""
        let fields = line.split(separator: " ", maxSplits: 3).map(String.init)
        switch fields.first {
        case "acquired": return .acquired
        case "renewed": return .renewed
        case "released": return .released
        case "lost":
            let holder = line.split(separator: " ", maxSplits: 3).map(String.init)
            guard holder.count == 4 else { return .lost(takenBy: nil) }
            return .lost(
                takenBy: Holder(
                    runID: holder[1], owner: holder[3],
                    since: Double(holder[2]).map { Date(timeIntervalSince1970: $0) }))
        case "free": return .free
        case "held", "stale":
            let age = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
            let run = fields.count > 2 ? fields[2] : "?"
            let owner = fields.count > 3 ? fields[3] : "?"
            return fields[0] == "held"
                ? .held(age: age, runID: run, owner: owner) : .stale(age: age, runID: run, owner: owner)
        default:
            return .lost(takenBy: nil)
        }
    }

    /// Takes the lock or throws `lockHeld` / `lockStale` naming the owner and age.
    /// `ownerIsGone` may prove a holder dead (its process no longer exists on this machine);
    /// such a lock is taken over at once instead of blocking until its heartbeat goes stale.
    /// Returns the owner of a lock that was broken, if any.
    /// `takingOver` names a live run whose lock the operator takes deliberately: that run stops
    /// at its next heartbeat, after the action it is performing.
    @discardableResult
    public func acquire(
        breakingStale: Bool, takingOver: String? = nil, ownerIsGone: (String) -> Bool = { _ in false }
    ) async throws -> String? {
        switch try await invoke("acquire") {
        case .acquired:
            return nil
        case .held(let age, let run, let holder):
            if ownerIsGone(holder) || takingOver == run, try await invoke("break") == .acquired { return holder }
            throw EngineError.lockHeld(host: executor.hostName, owner: holder, age: age, runID: run)
        case .stale(let age, let run, let holder):
            // A stale lock of a process of this machine that has exited is as safe to take as a fresh one.
            guard breakingStale || ownerIsGone(holder) else {
                throw EngineError.lockStale(host: executor.hostName, owner: holder, age: age, runID: run)
            }
            guard try await invoke("break") == .acquired else {
                throw EngineError.lockHeld(host: executor.hostName, owner: holder, age: age, runID: run)
            }
            return holder
        default:
            throw EngineError.internalInconsistency("unexpected answer from the lock script")
        }
    }

    /// Whether `owner` ("user@machine pid N") names a process of this machine that has exited.
    public static func ownerHasExited(_ owner: String, thisMachine: String) -> Bool {
        let parts = owner.split(separator: " ")
        guard parts.count == 3, parts[1] == "pid", let pid = Int32(parts[2]),
            let machine = parts[0].split(separator: "@").last, String(machine) == thisMachine
        else { return false }
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        // A zombie has exited too; it only waits for its parent to collect it.
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
            return state == "Z" || state == "X"
        }
        return false
    }

    public func heartbeat() async throws {
        if case .lost(let holder) = try await invoke("heartbeat") {
            throw EngineError.lockLost(
                host: executor.hostName,
                why: holder.map { .takenOver(runID: $0.runID, owner: $0.owner, since: $0.since) } ?? .removed)
        }
    }

    public func release() async throws {
        _ = try await invoke("release")
    }

    public func inspect() async throws -> State {
        try await invoke("inspect")
    }

    /// Holds the lock while `body` runs: heartbeats every `interval` and releases it at the end.
    /// When a heartbeat finds the lock taken or removed, or heartbeats fail for longer than
    /// another run would wait before calling the lock stale, `stop` is told: the run finishes
    /// the action in flight and starts no other. A lost lock is not released (it is not ours).
    public func whileHeld<T: Sendable>(
        interval: Duration = .seconds(10), clock: any EngineClock, stop: RunStop,
        _ body: @Sendable () async throws -> T
    ) async throws -> T {
        let host = executor.hostName
        let patience = Duration.seconds(staleAfter) - interval
        let beat = Task {
            var renewed = clock.now
            while !Task.isCancelled {
                try? await clock.sleep(for: interval)
                if Task.isCancelled { break }
                do {
                    try await heartbeat()
                    renewed = clock.now
                } catch let error as EngineError {
                    if case .lockLost = error {
                        stop.request(error)
                        break
                    }
                    if let lost = Self.giveUp(since: renewed, now: clock.now, patience: patience, host: host, error) {
                        stop.request(lost)
                        break
                    }
                } catch {
                    if let lost = Self.giveUp(since: renewed, now: clock.now, patience: patience, host: host, error) {
                        stop.request(lost)
                        break
                    }
                }
            }
        }
        defer { beat.cancel() }
        let result = try await body()
        beat.cancel()
        if stop.reason == nil { try? await release() }
        return result
    }

    /// A lock not renewed for `patience` may be broken by another run as stale: stop trusting it.
    static func giveUp(
        since renewed: ContinuousClock.Instant, now: ContinuousClock.Instant, patience: Duration, host: String,
        _ error: any Error
    ) -> EngineError? {
        let waited = renewed.duration(to: now)
        guard waited >= patience else { return nil }
        let reason = (error as? any CairnReportableError)?.summary ?? "\(error)"
        return .lockLost(host: host, why: .notRenewed(seconds: Int(waited.components.seconds), reason: reason))
    }
}
