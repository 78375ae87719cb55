/// Limits how many SSH connections are being established at once in this process.
///
/// A handshake (key exchange, host key, authentication) costs CPU on both ends, and the
/// connect timeout runs from the first packet. With hundreds of hosts started together
/// (`--concurrency 256`) on a busy machine, every handshake got a small share of the CPU and
/// many ran past the timeout: 500 lab hosts with the machine at load 70 gave 34–283
/// "unreachable" hosts, with 64 at a time none, in the same total time. Commands on open
/// connections are not limited by this. Bastion connections take their own slot before the
/// host's, never while holding one, so the gate cannot deadlock.
actor ConnectGate {
    static let shared = ConnectGate(limit: 64)

    let limit: Int
    private var active = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        precondition(limit >= 1)
        self.limit = limit
    }

    /// Runs `body` once fewer than `limit` other bodies are running, first come first served.
    nonisolated func withSlot<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        do {
            let value = try await body()
            await release()
            return value
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        if active < limit {
            active += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            active -= 1
        } else {
            waiters.removeFirst().resume()  // the slot passes to the first waiter
        }
    }
}
