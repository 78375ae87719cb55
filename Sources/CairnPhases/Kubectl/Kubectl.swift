import CairnCore
import CairnEngine
import Foundation

/// kubectl on a control-plane host, through its admin.conf (so through the API endpoint). What it
/// reads is decoded into the types of `K8s` at once; nothing downstream digs through loose JSON.
public struct Kubectl: Sendable {
    public let executor: any HostExecutor
    /// When set, `get`s it can answer are read from it instead of the API (see `ClusterSnapshot`).
    public let snapshot: ClusterSnapshot?

    public init(executor: any HostExecutor, snapshot: ClusterSnapshot? = nil) {
        self.executor = executor
        self.snapshot = snapshot
    }

    static func command(_ arguments: [String]) -> RemoteCommand {
        RemoteCommand("kubectl", ["--kubeconfig", KubernetesLayout.adminConf, "--request-timeout=20s"] + arguments)
    }

    public func run(_ arguments: [String], stdin: Data? = nil) async throws -> CommandOutput {
        try await executor.run(Self.command(arguments), stdin: stdin, timeout: .seconds(60))
    }

    /// `kubectl get ARGUMENTS -o json`, decoded.
    public func get<Object: Decodable>(_ type: Object.Type, _ arguments: [String]) async throws -> Object {
        switch snapshot?.answer(arguments) {
        case .found(let data):
            return try decode(type, from: data, command: "kubectl get " + arguments.joined(separator: " "))
        case .notFound(let message):
            throw KubectlError.failed(
                host: executor.hostName, command: "kubectl get " + arguments.joined(separator: " "), message: message)
        case nil: break
        }
        let output = try await run(["get"] + arguments + ["-o", "json"])
        guard output.succeeded else {
            throw KubectlError.failed(
                host: executor.hostName, command: "kubectl get " + arguments.joined(separator: " "),
                message: output.stderrTail(lines: 2).joined(separator: " / "))
        }
        return try decode(type, from: output, command: "kubectl get " + arguments.joined(separator: " "))
    }

    /// The items of `kubectl get RESOURCE … -o json`.
    public func list<Item: Decodable & Sendable>(_ type: Item.Type, _ arguments: [String]) async throws -> [Item] {
        try await get(K8s.List<Item>.self, arguments).items
    }

    /// An object that may not exist: nil when the API says it is not found.
    public func getIfPresent<Object: Decodable>(_ type: Object.Type, _ arguments: [String]) async throws -> Object? {
        switch snapshot?.answer(arguments) {
        case .found(let data):
            return try decode(type, from: data, command: "kubectl get " + arguments.joined(separator: " "))
        case .notFound: return nil
        case nil: break
        }
        let output = try await run(["get"] + arguments + ["-o", "json", "--ignore-not-found"])
        guard output.succeeded else {
            throw KubectlError.failed(
                host: executor.hostName, command: "kubectl get " + arguments.joined(separator: " "),
                message: output.stderrTail(lines: 2).joined(separator: " / "))
        }
        if output.stdout.allSatisfy({ $0 == 0x20 || $0 == 0x0A }) { return nil }
        return try decode(type, from: output, command: "kubectl get " + arguments.joined(separator: " "))
    }

    /// A command's JSON output (`kubectl exec … -- ceph status -f json`), decoded; nil when the
    /// command failed, with its last error line.
    public func json<Object: Decodable>(_ type: Object.Type, running arguments: [String]) async throws -> Result<
        Object, KubectlError
    > {
        let output = try await run(arguments)
        let command = "kubectl " + arguments.joined(separator: " ")
        guard output.succeeded else {
            return .failure(
                .failed(
                    host: executor.hostName, command: command,
                    message: output.stderrTail(lines: 1).first ?? output.statusDescription))
        }
        do {
            return .success(try decode(type, from: output, command: command))
        } catch let error as KubectlError {
            return .failure(error)
        }
    }

    private func decode<Object: Decodable>(_ type: Object.Type, from output: CommandOutput, command: String) throws
        -> Object
    {
        try decode(type, from: output.stdout, command: command)
    }

    private func decode<Object: Decodable>(_ type: Object.Type, from data: Data, command: String) throws -> Object {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw KubectlError.unreadable(
                host: executor.hostName, command: command, reason: "\(error)",
                output: String(decoding: data.prefix(300), as: UTF8.self))
        }
    }

    /// Server-side apply of a file already on the host. Retries, within `patience`, the errors a
    /// fresh add-on gives while it starts: CRDs not established yet, a webhook not serving yet
    /// (MetalLB's known race).
    public func apply(
        file: String, clock: any EngineClock, patience: Duration = .seconds(180), phase: String = "add-ons"
    ) async throws {
        let deadline = clock.now.advanced(by: patience)
        while true {
            let output = try await executor.run(
                Self.command(["apply", "--server-side", "--field-manager=cairn", "--force-conflicts", "-f", file]),
                stdin: nil, timeout: .seconds(180))
            if output.succeeded { return }
            let text = output.stderrText
            let transient = [
                "failed calling webhook", "ensure CRDs are installed first", "no matches for kind",
                "connection refused",
                "the server could not find the requested resource",
            ].contains { text.contains($0) }
            guard transient else {
                throw KubectlError.failed(
                    host: executor.hostName, command: "kubectl apply --server-side -f \(file)",
                    message: output.stderrTail(lines: 4).joined(separator: " / "))
            }
            guard clock.now < deadline else {
                // Still refused after the patience: the add-on did not become ready (exit 75).
                throw EngineError.gateFailed(
                    phase: phase, gate: "the API accepts \(file.split(separator: "/").last ?? "")",
                    reason: output.stderrTail(lines: 2).joined(separator: " / "), waited: patience)
            }
            try await clock.sleep(for: .seconds(3))
        }
    }

    /// Uploads `content` to `path` on the host and applies it server-side.
    public func apply(
        _ content: String, at path: String, clock: any EngineClock, patience: Duration = .seconds(180),
        phase: String = "add-ons"
    ) async throws {
        _ = try await executor.upload(Data(content.utf8), to: path, mode: "600", owner: "root:root")
        try await apply(file: path, clock: clock, patience: patience, phase: phase)
    }

    // MARK: What the gates and status read most

    /// Why each pod of `namespace` (matching `selector`) is not ready, one phrase per pod.
    public func podProblems(namespace: String, selector: String?) async throws -> [String] {
        var arguments = ["pods", "-n", namespace]
        if let selector { arguments += ["-l", selector] }
        return try await list(K8s.Pod.self, arguments).compactMap(\.problem)
    }

    /// The Jobs of `namespace` that failed, one phrase each (a failed set-up Job leaves the pods that
    /// need its output waiting forever: the gate names the Job, not only the waiting pods).
    public func failedJobs(namespace: String) async throws -> [String] {
        try await list(K8s.Job.self, ["jobs", "-n", namespace]).compactMap { job in
            job.failure.map {
                "job \(job.name) failed: \($0.reason ?? "Failed")" + ($0.message.map { " (\($0))" } ?? "")
            }
        }
    }

    /// Every node, and those not Ready with the kubelet's reason.
    public func nodes() async throws -> (all: [K8s.Node], notReady: [String]) {
        let nodes = try await list(K8s.Node.self, ["nodes"])
        let notReady = nodes.filter { !$0.isReady }.map {
            "\($0.name) (\($0.readyCondition?.explanation ?? "not Ready"))"
        }
        return (nodes, notReady)
    }
}

public enum KubectlError: Error, CairnReportableError {
    case failed(host: String, command: String, message: String)
    case unreadable(host: String, command: String, reason: String, output: String)

    public var host: String? {
        switch self {
        case .failed(let host, _, _), .unreadable(let host, _, _, _): return host
        }
    }

    public var summary: String {
        switch self {
        case .failed(let host, let command, let message): return "`\(command)` failed on \(host): \(message)"
        case .unreadable(let host, let command, let reason, _):
            return "`\(command)` on \(host) printed what Cairn cannot read: \(reason)"
        }
    }

    public var details: [String] {
        if case .unreadable(_, _, _, let output) = self { return [output] }
        return []
    }

    public var nextStep: String? {
        "check the API with `cairn exec --hosts FIRST-CP -- kubectl --kubeconfig /etc/kubernetes/admin.conf get pods -A`, then rerun"
    }
}
