import PrismRaft
import PrismStorage

/// Raft cores wired by an in-memory network for tests: seeded message loss, partitions (sets
/// of nodes that only hear each other), and safety checks at every step.
struct RaftCluster {
    typealias Core = RaftCore<SplitMix64>

    var cores: [String: Core] = [:]
    let ids: [String]
    var random: SplitMix64
    var loss = 0.0
    /// Node → side; messages cross sides only when both are on the same one.
    var side: [String: Int] = [:]
    var inFlight: [RaftEnvelope] = []
    /// What each node applied, in order.
    var applied: [String: [LogEntry]] = [:]
    /// Term → the leader of that term (election safety: never two).
    var leaders: [UInt64: String] = [:]
    var violations: [String] = []

    init(nodes: Int, seed: UInt64, preVote: Bool = true, checkQuorum: Bool = true) {
        ids = (1...nodes).map { "r\($0)" }
        random = SplitMix64(seed: seed)
        for (i, id) in ids.enumerated() {
            let config = RaftConfiguration(id: id, voters: ids, electionTicks: 10, heartbeatTicks: 1, preVote: preVote, checkQuorum: checkQuorum,
                                           maxEntriesPerMessage: 8, maxInflightMessages: 4)
            cores[id] = Core(configuration: config, random: SplitMix64(seed: seed &* 31 &+ UInt64(i)))
        }
    }

    var leader: String? {
        let current = ids.filter { cores[$0]?.role == .leader }
        return current.max { (cores[$0]?.term ?? 0) < (cores[$1]?.term ?? 0) }
    }

    func connected(_ a: String, _ b: String) -> Bool { side[a, default: 0] == side[b, default: 0] }

    /// Runs every node's ready loop, then delivers the messages produced (in a shuffled order,
    /// some lost), until the network is quiet or `rounds` is reached.
    mutating func settle(rounds: Int = 50) {
        for _ in 0..<rounds {
            var quiet = true
            for id in ids {
                guard var core = cores[id] else { continue }
                while core.hasReady {
                    quiet = false
                    let ready = core.ready()
                    applied[id, default: []].append(contentsOf: ready.committed)
                    inFlight.append(contentsOf: ready.messages)
                    core.advance(ready)
                }
                if core.role == .leader {
                    if let other = leaders[core.term], other != id { violations.append("term \(core.term): leaders \(other) and \(id)") }
                    leaders[core.term] = id
                }
                cores[id] = core
            }
            checkApplied()
            if inFlight.isEmpty && quiet { return }
            var batch = inFlight
            inFlight = []
            batch.shuffle(using: &random)
            for envelope in batch {
                guard connected(envelope.from, envelope.to) else { continue }
                if loss > 0 && Double(random.next() >> 11) / Double(1 << 53) < loss { continue }
                cores[envelope.to]?.step(envelope)
            }
        }
    }

    mutating func tick(_ count: Int = 1) {
        for _ in 0..<count {
            for id in ids { cores[id]?.tick() }
            settle()
        }
    }

    /// Ticks until some node leads (at most `limit` ticks).
    @discardableResult
    mutating func elect(limit: Int = 200) -> String? {
        for _ in 0..<limit {
            if let l = leader, ids.allSatisfy({ !connected($0, l) || cores[$0]?.leader == l || cores[$0]?.role == .leader }) { return l }
            tick()
        }
        return leader
    }

    /// State-machine safety: whatever two nodes applied at the same index is the same entry.
    mutating func checkApplied() {
        let logs = ids.compactMap { applied[$0] }
        guard let longest = logs.max(by: { $0.count < $1.count }) else { return }
        for (id, log) in applied {
            for (i, entry) in log.enumerated() where longest[i] != entry {
                violations.append("\(id) applied \(entry) at \(i + 1) where another applied \(longest[i])")
                return
            }
            for (i, entry) in log.enumerated() where entry.index != UInt64(i + 1) {
                violations.append("\(id) applied index \(entry.index) as its \(i + 1)th entry")
                return
            }
        }
    }
}
