import CairnCore
import Foundation

extension HostExecutor {
    /// Like `facts(_:as:)`, reusing an identical answer already gathered in this run while
    /// nothing has changed since.
    public func facts<T: Decodable>(_ script: RemoteCommand, as type: T.Type, cache: FactCache) async throws -> T {
        let data = try await cache.output(of: script, on: self)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw EngineError.factsUnreadable(
                host: hostName, command: script.description,
                reason: "\(error)", output: String(decoding: data.prefix(400), as: UTF8.self))
        }
    }

    /// Runs a fact script (one round trip) and decodes the JSON it prints.
    public func facts<T: Decodable>(_ script: RemoteCommand, as type: T.Type) async throws -> T {
        let output = try await runChecked(script)
        do {
            return try JSONDecoder().decode(T.self, from: output.stdout)
        } catch {
            throw EngineError.factsUnreadable(
                host: hostName, command: script.description,
                reason: "\(error)", output: String(output.stdoutText.prefix(400)))
        }
    }
}

extension HostExecutorProvider {
    public func executor(for host: EngineHost) async throws -> any HostExecutor {
        try await executor(forHost: host.name)
    }
}
