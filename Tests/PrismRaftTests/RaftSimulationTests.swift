import PrismSimulation
import Testing

@Suite("Raft in simulation")
struct RaftSimulationTests {
    /// Each seed: a replicated key-value store under loss, duplication, reordering, partitions,
    /// crashes and restarts, with clients on every member; safety and linearizability checked.
    @Test("seeded histories keep Raft's safety properties and are linearizable", arguments: 0..<500)
    func seeds(seed: UInt64) {
        var options = RaftSimulation.Options()
        options.nodes = seed % 3 == 0 ? 5 : 3
        options.durationMillis = 1_000
        let outcome = RaftSimulation.run(seed: seed, options: options)
        #expect(outcome.violations.isEmpty, "seed \(seed) (replay: prism sim raft --seeds 1 --start \(seed)): \(outcome.violations)")
        #expect(outcome.history.contains { $0.result == .ok }, "seed \(seed): no operation completed")
    }

    @Test("the same seed replays the same history")
    func replays() {
        let a = RaftSimulation.run(seed: 42), b = RaftSimulation.run(seed: 42)
        #expect(a.history == b.history && !a.history.isEmpty)
    }
}
