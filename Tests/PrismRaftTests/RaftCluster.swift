import PrismRaft
import PrismStorage
import PrismTestSupport

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
    /// Messages held back for later ticks (when `delay` is set): delivered at the tick given.
    var delayed: [(Int, RaftEnvelope)] = []
    /// Chance that a message waits one to three ticks (reordering across ticks and crashes).
    var delay = 0.0
    var clock = 0
    /// What each node applied, in order.
    var applied: [String: [LogEntry]] = [:]
    /// Term → the leader of that term (election safety: never two).
    var leaders: [UInt64: String] = [:]
    var violations: [String] = []
    /// Every message any node sent.
    var messagesSent = 0
    var snapshotChunksSent = 0, snapshotAcksSent = 0
    /// Snapshots each node installed from a leader.
    var installed: [String: [RaftSnapshot]] = [:]
    /// What each node has made durable: its hard state and log, as a storage shell would.
    var durable: [String: (HardState, [LogEntry])] = [:]
    let configurations: [String: RaftConfiguration]
    let seed: UInt64
    var restarts = 0
    /// When set, each node persists into its own LMDB environment (real files) and restarts
    /// from it, instead of the in-memory copy.
    var stores: [String: (LMDBEnvironment, RaftLogStore)] = [:]
    var directory: TemporaryDirectory?

    /// Backs every node with an LMDB environment under a fresh temporary directory.
    mutating func useLMDB() throws {
        let dir = TemporaryDirectory("raft-cluster")
        directory = dir
        for id in ids {
            let env = try LMDBEnvironment(directory: dir.file(id))
            stores[id] = (env, try RaftLogStore(environment: env))
        }
    }
    /// Reads answered, per node, and for each read asked: the highest index any node had
    /// applied when it was asked (a linearizable read must see at least that).
    var reads: [String: [ReadState]] = [:]
    var readFloor: [UInt64: UInt64] = [:]
    private var nextContext: UInt64 = 0

    /// Asks `node` for a read; returns its context (nil when the node knows no leader).
    mutating func read(at node: String) -> UInt64? {
        nextContext += 1
        let floor = applied.values.map { UInt64($0.count) }.max() ?? 0
        guard cores[node]?.readIndex(context: nextContext) == true else { return nil }
        readFloor[nextContext] = floor
        return nextContext
    }

    /// `nodes` bootstrap voters, then `spares` nodes outside the group (joining: they wait for a
    /// leader to add them).
    init(nodes: Int, spares: Int = 0, seed: UInt64, preVote: Bool = true, checkQuorum: Bool = true, readMode: RaftConfiguration.ReadMode = .readIndex,
         quiesceTicks: Int = 0, startQuiet: Bool = false, maxSnapshotChunkBytes: Int = 1 << 20) {
        let ids = (1...(nodes + spares)).map { "r\($0)" }
        let voters = Array(ids.prefix(nodes))
        self.ids = ids
        self.seed = seed
        random = SplitMix64(seed: seed)
        var configurations: [String: RaftConfiguration] = [:]
        for (i, id) in ids.enumerated() {
            let config = RaftConfiguration(id: id, voters: voters.contains(id) ? voters : [], electionTicks: 10, heartbeatTicks: 1, preVote: preVote, checkQuorum: checkQuorum,
                                           maxEntriesPerMessage: 8, maxInflightMessages: 4, readMode: readMode, quiesceTicks: quiesceTicks,
                                           startQuiet: startQuiet, maxSnapshotChunkBytes: maxSnapshotChunkBytes)
            configurations[id] = config
            cores[id] = Core(configuration: config, random: SplitMix64(seed: seed &* 31 &+ UInt64(i)))
        }
        self.configurations = configurations
    }

    /// A history where, at each of `steps` steps, a crashed node restarts or (every other time
    /// on average) a random one crashes, the leader gets a proposal, and a few ticks pass. The
    /// node still down at the end is restarted.
    mutating func crashHistory(steps: Int, maxTicks: Int, random: inout SplitMix64) {
        var down: String?
        for step in 0..<steps {
            if let back = down {
                restart(back)
                down = nil
            } else if random.next() % 2 == 0 {
                let victim = ids[Int(random.next() % UInt64(ids.count))]
                crash(victim)
                down = victim
            }
            if let l = leader { cores[l]?.propose(Array("s\(step)".utf8)) }
            tick(Int(random.next() % UInt64(maxTicks)) + 1)
        }
        if let back = down { restart(back) }
    }

    /// Kills a node: what it had not made durable is lost, messages to it are dropped.
    mutating func crash(_ id: String) { cores[id] = nil }

    /// Starts a crashed node again from what it made durable (its state machine holds what
    /// was applied up to the durable commit index).
    mutating func restart(_ id: String) {
        guard cores[id] == nil, let config = configurations[id] else { return }
        restarts += 1
        var (hardState, entries) = durable[id] ?? (HardState(), [])
        if let (env, store) = stores[id] {
            do {
                (hardState, entries) = try env.read { try store.load(group: 1, in: $0) }
            } catch {
                violations.append("\(id): cannot load its log: \(error)")
            }
        }
        cores[id] = Core(configuration: config, hardState: hardState, entries: entries,
                         random: SplitMix64(seed: seed &* 131 &+ UInt64(restarts)))
        applied[id] = Array(applied[id, default: []].prefix(Int(hardState.commit)))
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
                    // Persist first (hard state, then entries, replacing a conflicting suffix).
                    var (hardState, log) = durable[id] ?? (HardState(), [])
                    if let hs = ready.hardState { hardState = hs }
                    if let first = ready.entries.first {
                        log.removeSubrange(min(log.count, Int(first.index - 1))...)
                        log.append(contentsOf: ready.entries)
                    }
                    durable[id] = (hardState, log)
                    if let (env, store) = stores[id] {
                        do {
                            try env.write { try store.save(group: 1, ready, in: $0) }
                        } catch {
                            violations.append("\(id): cannot persist: \(error)")
                        }
                    }
                    if let snap = ready.snapshot {
                        // The snapshot stands for the entries up to its index (as applied elsewhere).
                        installed[id, default: []].append(snap)
                        let longest = applied.values.max { $0.count < $1.count } ?? []
                        applied[id] = Array(longest.prefix(Int(snap.index)))
                    }
                    applied[id, default: []].append(contentsOf: ready.committed)
                    for r in ready.reads {
                        reads[id, default: []].append(r)
                        if let floor = readFloor[r.context], r.index < floor {
                            violations.append("read \(r.context) at \(id) got index \(r.index), below \(floor) applied before it was asked")
                        }
                    }
                    inFlight.append(contentsOf: ready.messages)
                    messagesSent += ready.messages.count
                    for m in ready.messages {
                        if case .snapshot = m.message { snapshotChunksSent += 1 }
                        if case .snapshotAck = m.message { snapshotAcksSent += 1 }
                    }
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
                if delay > 0 && Double(random.next() >> 11) / Double(1 << 53) < delay {
                    delayed.append((clock + 1 + Int(random.next() % 3), envelope))
                    continue
                }
                cores[envelope.to]?.step(envelope)
            }
        }
    }

    mutating func tick(_ count: Int = 1) {
        for _ in 0..<count {
            clock += 1
            let due = delayed.filter { $0.0 <= clock }.map(\.1)
            delayed.removeAll { $0.0 <= clock }
            for envelope in due where connected(envelope.from, envelope.to) { cores[envelope.to]?.step(envelope) }
            for id in ids { cores[id]?.tick() }
            settle()
        }
    }

    /// Ticks until some node leads (at most `limit` ticks).
    @discardableResult
    mutating func elect(limit: Int = 200) -> String? {
        for _ in 0..<limit {
            if let l = leader, let members = cores[l]?.membership,
               ids.allSatisfy({ !members.contains($0) || !connected($0, l) || cores[$0]?.leader == l || cores[$0]?.role == .leader }) { return l }
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
