import Foundation

/// A dedicated thread that runs one SSH session's jobs one at a time.
///
/// libssh2 calls block (even in non-blocking mode we wait in `poll`), and Swift's cooperative
/// pool has as many threads as cores — two here — so no libssh2 call may run on it. Each
/// session gets its own small thread instead; jobs submitted from async code run there in
/// order, which also serialises every use of the session, as libssh2 requires.
final class SessionWorker: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var finished = false
    private var exited = false
    private var exitWaiters: [CheckedContinuation<Void, Never>] = []

    init(name: String) {
        let thread = Thread { [self] in self.loop() }
        thread.name = "cairn-ssh \(name)"
        // Jobs are shallow (libssh2 calls and small buffers); 512 KiB is plenty and keeps
        // hundreds of sessions cheap.
        thread.stackSize = 512 * 1024
        thread.start()
    }

    /// Runs `body` on the session's thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = enqueue {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            if !accepted { continuation.resume(throwing: CancellationError()) }
        }
    }

    /// Queues a job without waiting for it (used for long-running jobs such as a tunnel pump).
    @discardableResult
    func enqueue(_ job: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !finished else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Lets queued jobs finish, then ends the thread.
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    /// Returns once the thread has ended (after `finish`).
    func joined() async {
        await withCheckedContinuation { continuation in
            condition.lock()
            if exited {
                condition.unlock()
                continuation.resume()
            } else {
                exitWaiters.append(continuation)
                condition.unlock()
            }
        }
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            if jobs.isEmpty && finished {
                exited = true
                let waiters = exitWaiters
                exitWaiters = []
                condition.unlock()
                for waiter in waiters { waiter.resume() }
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
