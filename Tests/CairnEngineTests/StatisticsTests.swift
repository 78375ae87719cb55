import CairnCore
import CairnTesting
import Foundation
import Testing

@testable import CairnEngine

/// `--stats`: commands, kubectl invocations and uploads counted per phase.
@Suite struct StatisticsTests {
    @Test func commandsAreCountedPerPhase() async throws {
        let fake = FakeHostExecutor(hostName: "n1")
        fake.expect(exactly: RemoteCommand("kubectl", ["get", "nodes"]))
        fake.expect(exactly: RemoteCommand("true", []))
        fake.expect(exactly: RemoteCommand("true", []))
        let statistics = CommandStatistics()
        let provider = CountingExecutorProvider(FakeExecutorProvider([fake]), statistics: statistics)
        let executor = try await provider.executor(forHost: "n1")
        try await CurrentPhase.$name.withValue("a") {
            _ = try await executor.run(RemoteCommand("kubectl", ["get", "nodes"]))
            _ = try await executor.run(RemoteCommand("true", []))
        }
        try await CurrentPhase.$name.withValue("b") {
            _ = try await executor.run(RemoteCommand("true", []))
            _ = try await executor.upload(Data("x".utf8), to: "/tmp/x", mode: "644", owner: nil)
        }
        let rows = statistics.byPhase
        #expect(rows.map(\.phase) == ["a", "b"])
        #expect(rows[0].counts.commands == 2 && rows[0].counts.kubectl == 1 && rows[0].counts.uploads == 0)
        #expect(rows[1].counts.commands == 1 && rows[1].counts.kubectl == 0 && rows[1].counts.uploads == 1)
    }

    /// A script that starts kubectl itself is counted apart from commands that are kubectl.
    @Test func scriptsThatStartKubectlAreCountedApart() async throws {
        let fake = FakeHostExecutor(hostName: "n1")
        let script = RemoteCommand.script("kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes", name: "facts")
        let quiet = RemoteCommand.script("hostname", name: "name")
        let version = RemoteCommand.script("/usr/local/bin/kubectl version --client", name: "version")
        fake.expect(exactly: script)
        fake.expect(exactly: quiet)
        fake.expect(exactly: version)
        let statistics = CommandStatistics()
        let provider = CountingExecutorProvider(FakeExecutorProvider([fake]), statistics: statistics)
        let executor = try await provider.executor(forHost: "n1")
        try await CurrentPhase.$name.withValue("a") {
            _ = try await executor.run(script)
            _ = try await executor.run(quiet)
            _ = try await executor.run(version)
        }
        let counts = statistics.byPhase[0].counts
        #expect(counts.commands == 3 && counts.kubectl == 0 && counts.kubectlScripts == 1)
    }
}
