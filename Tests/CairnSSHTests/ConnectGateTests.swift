import Testing

@testable import CairnSSH

@Suite struct ConnectGateTests {
    actor Counter {
        var running = 0
        var peak = 0
        var done = 0
        func enter() {
            running += 1
            peak = max(peak, running)
        }
        func leave() {
            running -= 1
            done += 1
        }
    }

    @Test func neverRunsMoreThanTheLimitAndRunsEverything() async throws {
        let gate = ConnectGate(limit: 3)
        let counter = Counter()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<40 {
                group.addTask {
                    try await gate.withSlot {
                        await counter.enter()
                        try await Task.sleep(for: .milliseconds(2))
                        await counter.leave()
                        return i
                    }
                }
            }
            var sum = 0
            for try await i in group { sum += i }
            #expect(sum == (0..<40).reduce(0, +))
        }
        #expect(await counter.peak == 3)
        #expect(await counter.done == 40)
    }

    struct Failure: Error {}

    @Test func aThrowingBodyGivesItsSlotBack() async throws {
        let gate = ConnectGate(limit: 1)
        for _ in 0..<5 {
            await #expect(throws: Failure.self) { try await gate.withSlot { () -> Int in throw Failure() } }
        }
        #expect(try await gate.withSlot { 7 } == 7)
    }
}
