import CairnCore
import CairnEngine
import Foundation

/// etcdctl operations run on an etcd host (which has etcdctl and Cairn's admin certificate).
public struct EtcdControl: Sendable {
    public let executor: any HostExecutor
    public let clock: any EngineClock

    public init(executor: any HostExecutor, clock: any EngineClock) {
        self.executor = executor
        self.clock = clock
    }

    func etcdctl(_ endpoints: [String], _ arguments: [String], timeout: Int = 5) async throws -> CommandOutput {
        try await executor.run(
            RemoteCommand(argv: EtcdLayout.etcdctl(endpoints: endpoints, commandTimeout: timeout) + arguments),
            stdin: nil, timeout: .seconds(timeout + 10))
    }

    public func memberList(_ endpoints: [String]) async throws -> EtcdMemberList {
        let output = try await etcdctl(endpoints, ["member", "list", "-w", "json"])
        guard output.succeeded, let list = try? JSONDecoder().decode(EtcdMemberList.self, from: output.stdout) else {
            throw EtcdError.commandFailed(
                host: executor.hostName, what: "etcdctl member list", output: Self.tail(output))
        }
        return list
    }

    public func health(_ endpoints: [String]) async throws -> [EtcdEndpointHealth] {
        let output = try await etcdctl(endpoints, ["endpoint", "health", "-w", "json"])
        guard let health = try? JSONDecoder().decode([EtcdEndpointHealth].self, from: output.stdout) else {
            throw EtcdError.commandFailed(
                host: executor.hostName, what: "etcdctl endpoint health", output: Self.tail(output))
        }
        return health
    }

    public func status(_ endpoints: [String]) async throws -> [EtcdEndpointStatus] {
        let output = try await etcdctl(endpoints, ["endpoint", "status", "-w", "json"])
        guard let status = try? JSONDecoder().decode([EtcdEndpointStatus].self, from: output.stdout) else {
            throw EtcdError.commandFailed(
                host: executor.hostName, what: "etcdctl endpoint status", output: Self.tail(output))
        }
        return status
    }

    /// Polls `check` once a second until it returns nil (done) or `timeout` passes.
    func waitUntil(_ what: String, timeout: Duration, _ check: () async throws -> String?) async throws {
        let deadline = clock.now.advanced(by: timeout)
        var last = "not checked yet"
        while true {
            do {
                guard let reason = try await check() else { return }
                last = reason
            } catch {
                last = (error as? any CairnReportableError)?.summary ?? "\(error)"
            }
            if clock.now >= deadline { throw EtcdError.timedOut(what: what, last: last) }
            try await clock.sleep(for: .seconds(1))
        }
    }

    public func waitHealthy(_ member: EtcdMemberSpec, timeout: Duration = .seconds(90)) async throws {
        try await waitUntil("etcd member \(member.name) becoming healthy", timeout: timeout) {
            let health = try await health([member.clientURL])
            return health.first?.health == true ? nil : (health.first?.error ?? "not healthy")
        }
    }

    public func waitClusterHealthy(_ members: [EtcdMemberSpec], timeout: Duration = .seconds(120)) async throws {
        let endpoints = members.map(\.clientURL)
        try await waitUntil("the new etcd cluster electing a leader", timeout: timeout) {
            let health = try await health(endpoints)
            let sick = health.filter { !$0.health }
            if !sick.isEmpty { return "\(sick.count) of \(members.count) members not healthy yet" }
            let status = try await status(endpoints)
            let leaders = Set(status.compactMap { $0.status.leader })
            return leaders.count == 1 && leaders.first != 0 ? nil : "no agreed leader yet"
        }
    }

    /// `member add --learner`, idempotent: a member already registered with that peer URL
    /// (a killed run added it) counts as done.
    public func addLearner(_ member: EtcdMemberSpec, endpoints: [String], force: Bool) async throws {
        let list = try await memberList(endpoints)
        if list.member(peerURL: member.peerURL) != nil { return }
        // The guard again, at the moment of the change: the plan may be minutes old.
        if !force {
            let health = try await health(list.members.filter { !$0.learner }.compactMap { $0.clientURL })
            let sick = health.filter { !$0.health }.map(\.endpoint)
            if !sick.isEmpty {
                throw EtcdError.growthRefused(
                    reason:
                        "adding \(member.name) needs every member healthy, but \(sick.joined(separator: ", ")) is not",
                    unhealthy: sick)
            }
        }
        // etcd itself refuses reconfiguration ("unhealthy cluster") until every member has been
        // connected for a few seconds, e.g. right after a member restarted: wait that out.
        try await waitUntil("adding \(member.name) as a learner", timeout: .seconds(60)) {
            let output = try await etcdctl(
                endpoints, ["member", "add", member.name, "--peer-urls=" + member.peerURL, "--learner"])
            if output.succeeded || output.stderrText.contains("Peer URLs already exists") { return nil }
            if output.stderrText.contains("unhealthy cluster") {
                return "etcd reports an unhealthy cluster (a member reconnected recently)"
            }
            throw EtcdError.commandFailed(
                host: executor.hostName, what: "etcdctl member add \(member.name) --learner", output: Self.tail(output))
        }
    }

    /// Waits until the learner has caught up with the leader, then promotes it.
    public func promote(_ member: EtcdMemberSpec, endpoints: [String], timeout: Duration = .seconds(120)) async throws {
        try await waitUntil("promotion of \(member.name) to a voting member", timeout: timeout) {
            let list = try await memberList(endpoints)
            guard let current = list.member(peerURL: member.peerURL) else {
                throw EtcdError.commandFailed(
                    host: executor.hostName, what: "promoting \(member.name)", output: "it is not a member")
            }
            if !current.learner { return nil }
            let output = try await etcdctl(endpoints, ["member", "promote", current.hexID])
            if output.succeeded { return nil }
            if output.stderrText.contains("in sync with leader") || output.stderrText.contains("not ready")
                || output.stderrText.contains("unhealthy cluster")
            {
                return "\(member.name) is still catching up with the leader"
            }
            throw EtcdError.commandFailed(
                host: executor.hostName, what: "etcdctl member promote \(current.hexID)", output: Self.tail(output))
        }
    }

    public func remove(id: String, endpoints: [String]) async throws {
        try await waitUntil("removing etcd member \(id)", timeout: .seconds(60)) {
            let output = try await etcdctl(endpoints, ["member", "remove", id])
            if output.succeeded || output.stderrText.contains("member not found") { return nil }
            if output.stderrText.contains("unhealthy cluster") { return "etcd reports an unhealthy cluster" }
            throw EtcdError.commandFailed(
                host: executor.hostName, what: "etcdctl member remove \(id)", output: Self.tail(output))
        }
    }

    static func tail(_ output: CommandOutput) -> String {
        let lines = (output.stderrTail(lines: 3) + output.stdoutText.split(separator: "\n").suffix(2).map(String.init))
        return lines.isEmpty ? output.statusDescription : lines.joined(separator: " / ")
    }
}
