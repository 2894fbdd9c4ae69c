import PrismRaft
import PrismStorage
import Testing

@Suite("Raft core")
struct RaftCoreTests {
    func data(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test("a leader is elected, and it is the only one of its term", arguments: [1, 3, 5])
    func election(nodes: Int) throws {
        var cluster = RaftCluster(nodes: nodes, seed: 7)
        let elected = cluster.elect()
        let leader = try #require(elected)
        #expect(cluster.ids.allSatisfy { cluster.cores[$0]?.leader == leader })
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("proposals commit on a majority and every node applies them in the same order")
    func replication() throws {
        var cluster = RaftCluster(nodes: 3, seed: 1)
        let elected = cluster.elect()
        let leader = try #require(elected)
        for i in 0..<20 { #expect(cluster.cores[leader]?.propose(data("put k\(i)")) == true) }
        cluster.settle()
        cluster.tick(2)
        for id in cluster.ids {
            let values = cluster.applied[id, default: []].filter { !$0.data.isEmpty }.map { String(decoding: $0.data, as: UTF8.self) }
            #expect(values == (0..<20).map { "put k\($0)" }, "\(id)")
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("nothing commits without a majority")
    func noQuorumNoCommit() throws {
        var cluster = RaftCluster(nodes: 3, seed: 2)
        let elected = cluster.elect()
        let leader = try #require(elected)
        let before = cluster.cores[leader]!.commitIndex
        for id in cluster.ids where id != leader { cluster.side[id] = 1 }
        cluster.cores[leader]?.propose(data("lonely"))
        cluster.tick(3)
        #expect(cluster.cores[leader]!.commitIndex == before)
        #expect(!cluster.applied[leader, default: []].contains { $0.data == data("lonely") })
    }

    @Test("check-quorum: an isolated leader steps down; the majority elects another; after healing the old one follows and loses its uncommitted entry")
    func isolatedLeader() throws {
        var cluster = RaftCluster(nodes: 5, seed: 3)
        let elected = cluster.elect()
        let old = try #require(elected)
        cluster.cores[old]?.propose(data("committed"))
        cluster.settle()
        cluster.tick(2)
        cluster.side[old] = 1
        cluster.cores[old]?.propose(data("lost"))
        cluster.tick(25)
        #expect(cluster.cores[old]?.role != .leader, "without a majority for an election timeout it steps down")
        let new = try #require(cluster.ids.first { $0 != old && cluster.cores[$0]?.role == .leader })
        cluster.cores[new]?.propose(data("after"))
        cluster.side[old] = 0
        cluster.tick(20)
        #expect(cluster.cores[old]?.leader == new)
        let values = cluster.applied[old, default: []].map(\.data)
        #expect(values.contains(data("committed")) && values.contains(data("after")) && !values.contains(data("lost")))
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("pre-vote: a node cut off and back does not depose a healthy leader", arguments: [true, false])
    func preVoteKeepsTheTerm(preVote: Bool) throws {
        var cluster = RaftCluster(nodes: 3, seed: 4, preVote: preVote, checkQuorum: false)
        let elected = cluster.elect()
        let leader = try #require(elected)
        let term = cluster.cores[leader]!.term
        let loner = cluster.ids.first { $0 != leader }!
        cluster.side[loner] = 1
        cluster.tick(60)  // it campaigns, alone, several times
        cluster.side[loner] = 0
        cluster.tick(20)
        if preVote {
            #expect(cluster.cores[leader]?.role == .leader && cluster.cores[leader]?.term == term, "the leader keeps its term")
        } else {
            #expect(cluster.cores.values.map(\.term).max()! > term, "without pre-vote the loner's higher term forces an election")
        }
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("a follower that missed entries catches up through probing")
    func catchUp() throws {
        var cluster = RaftCluster(nodes: 3, seed: 5)
        let elected = cluster.elect()
        let leader = try #require(elected)
        let lagger = cluster.ids.first { $0 != leader }!
        cluster.side[lagger] = 1
        for i in 0..<50 { cluster.cores[leader]?.propose(data("e\(i)")) }
        cluster.tick(3)
        cluster.side[lagger] = 0
        cluster.tick(10)
        #expect(cluster.cores[lagger]?.commitIndex == cluster.cores[leader]?.commitIndex)
        #expect(cluster.applied[lagger]?.count == cluster.applied[leader]?.count)
    }

    @Test("random loss, partitions, crashes and restarts: one leader per term, identical applied logs, progress after healing", arguments: 0..<500)
    func randomized(seed: UInt64) {
        var cluster = RaftCluster(nodes: [3, 5][Int(seed % 2)], seed: seed)
        var random = SplitMix64(seed: seed ^ 0x7777)
        cluster.loss = 0.1
        cluster.delay = 0.1
        var proposed = 0
        var down: [String] = []
        for _ in 0..<30 {
            switch random.next() % 6 {
            case 2:
                // A crash (losing what was not durable), or a restart of one that crashed.
                if let back = down.popLast() {
                    cluster.restart(back)
                } else {
                    let victim = cluster.ids[Int(random.next() % UInt64(cluster.ids.count))]
                    cluster.crash(victim)
                    down.append(victim)
                }
            case 0:
                cluster.side = [:]
                for id in cluster.ids where random.next() % 3 == 0 { cluster.side[id] = 1 }
            case 1:
                if let l = cluster.leader {
                    cluster.cores[l]?.propose(Array("v\(proposed)".utf8))
                    proposed += 1
                }
                // And a read somewhere: it must see every entry applied before it was asked.
                _ = cluster.read(at: cluster.ids[Int(random.next() % UInt64(cluster.ids.count))])
            default:
                break
            }
            cluster.tick(Int(random.next() % 8) + 1)
        }
        for id in down { cluster.restart(id) }
        cluster.side = [:]
        cluster.loss = 0
        cluster.delay = 0
        let leader = cluster.elect()
        #expect(leader != nil, "seed \(seed): no leader after healing")
        if let leader {
            cluster.cores[leader]?.propose(Array("final".utf8))
            cluster.tick(10)
            #expect(cluster.ids.allSatisfy { cluster.applied[$0, default: []].last?.data == Array("final".utf8) }, "seed \(seed): the last proposal is not applied everywhere")
        }
        #expect(cluster.violations.isEmpty, "seed \(seed): \(cluster.violations)")
    }
}

@Suite("Raft durability contract")
struct RaftDurabilityTests {
    @Test("a vote and the term it was cast in reach the ready's hard state with the reply, so they are durable before it is sent")
    func voteIsPersistedWithItsReply() {
        var core = RaftCore(configuration: RaftConfiguration(id: "r2", voters: ["r1", "r2", "r3"]), random: SplitMix64(seed: 1))
        core.step(RaftEnvelope(from: "r1", to: "r2", message: .vote(term: 5, lastIndex: 0, lastTerm: 0, transfer: false)))
        let ready = core.ready()
        #expect(ready.hardState == HardState(term: 5, vote: "r1", commit: 0))
        #expect(ready.messages == [RaftEnvelope(from: "r2", to: "r1", message: .voteResponse(term: 5, granted: true))])
        core.advance(ready)
        // Restarted from that hard state, it refuses another candidate of the same term.
        var restarted = RaftCore(configuration: RaftConfiguration(id: "r2", voters: ["r1", "r2", "r3"]), hardState: ready.hardState!,
                                 random: SplitMix64(seed: 2))
        restarted.step(RaftEnvelope(from: "r3", to: "r2", message: .vote(term: 5, lastIndex: 0, lastTerm: 0, transfer: false)))
        #expect(restarted.ready().messages == [RaftEnvelope(from: "r2", to: "r3", message: .voteResponse(term: 5, granted: false))])
    }

    @Test("appended entries are in the same ready as the acknowledgement that reports them")
    func entriesArePersistedWithTheirAck() {
        var core = RaftCore(configuration: RaftConfiguration(id: "r2", voters: ["r1", "r2", "r3"]), random: SplitMix64(seed: 1))
        let entries = [LogEntry(term: 1, index: 1, data: []), LogEntry(term: 1, index: 2, data: [7])]
        core.step(RaftEnvelope(from: "r1", to: "r2", message: .append(term: 1, prevIndex: 0, prevTerm: 0, entries: entries, commit: 0)))
        let ready = core.ready()
        #expect(ready.entries == entries)
        #expect(ready.messages == [RaftEnvelope(from: "r2", to: "r1", message: .appendResponse(term: 1, index: 2, rejected: false))])
    }

    @Test("a leader counts its own entries toward a commit only once they are durable")
    func leaderCommitsDurableEntriesOnly() throws {
        var cluster = RaftCluster(nodes: 1, seed: 9)
        let elected = cluster.elect()
        let leader = try #require(elected)
        var core = cluster.cores[leader]!
        core.propose([1])
        let ready = core.ready()
        #expect(ready.entries.map(\.data) == [[1]])
        #expect(ready.committed.isEmpty, "not committed before the write")
        core.advance(ready)
        #expect(core.commitIndex == ready.entries.last?.index)
        #expect(core.ready().committed.map(\.data) == [[1]])
    }

    @Test("crash-heavy histories: a node crashes or restarts at every step", arguments: 0..<200)
    func crashHeavy(seed: UInt64) {
        // Half of the seeds without pre-vote and check-quorum: candidates then collide more.
        var cluster = RaftCluster(nodes: 3, seed: seed, preVote: seed % 2 == 0, checkQuorum: seed % 2 == 0)
        cluster.delay = 0.3
        var random = SplitMix64(seed: seed ^ 0x1234)
        cluster.crashHistory(steps: 60, maxTicks: 12, random: &random)
        #expect(cluster.violations.isEmpty, "seed \(seed): \(cluster.violations)")
    }
}

@Suite("Raft reads")
struct RaftReadTests {
    func cluster(_ mode: RaftConfiguration.ReadMode = .readIndex) -> RaftCluster {
        var c = RaftCluster(nodes: 3, seed: 11)
        if mode == .lease {
            c = RaftCluster(nodes: 3, seed: 11, readMode: .lease)
        }
        return c
    }

    @Test("ReadIndex on the leader and through a follower gives the commit index after a heartbeat round")
    func readIndex() throws {
        var c = cluster()
        let elected = c.elect()
        let leader = try #require(elected)
        c.cores[leader]?.propose([1])
        c.settle()
        let follower = c.ids.first { $0 != leader }!
        let askedonLeader = c.read(at: leader)
        let onLeader = try #require(askedonLeader)
        let askedonFollower = c.read(at: follower)
        let onFollower = try #require(askedonFollower)
        c.settle()
        let commit = c.cores[leader]!.commitIndex
        #expect(c.reads[leader] == [ReadState(context: onLeader, index: commit)])
        #expect(c.reads[follower] == [ReadState(context: onFollower, index: commit)])
        #expect(c.violations.isEmpty, "\(c.violations)")
    }

    @Test("a leader cut off from the majority never answers a read (it could be stale)")
    func isolatedLeaderAnswersNoRead() throws {
        var c = cluster()
        let elected = c.elect()
        let leader = try #require(elected)
        for id in c.ids where id != leader { c.side[id] = 1 }
        _ = c.read(at: leader)
        c.tick(5)
        #expect(c.reads[leader, default: []].isEmpty)
    }

    @Test("lease reads: answered at once while a majority answered recently, not after the lease ran out")
    func leaseReads() throws {
        var c = cluster(.lease)
        let elected = c.elect()
        let leader = try #require(elected)
        c.tick(2)
        // At once: in the same ready, no heartbeat round.
        let askedcontext = c.read(at: leader)
        let context = try #require(askedcontext)
        var core = c.cores[leader]!
        let ready = core.ready()
        #expect(ready.reads == [ReadState(context: context, index: core.commitIndex)])
        core.advance(ready)
        c.cores[leader] = core
        // Cut off for longer than the lease: the read waits (and is never answered alone).
        for id in c.ids where id != leader { c.side[id] = 1 }
        c.tick(9)
        _ = c.read(at: leader)
        c.settle()
        #expect(c.reads[leader, default: []].isEmpty)
    }

    @Test("a new leader answers reads only after committing an entry of its term")
    func readsWaitForTheTermsFirstCommit() throws {
        var core = RaftCore(configuration: RaftConfiguration(id: "r1", voters: ["r1", "r2", "r3"], preVote: false), random: SplitMix64(seed: 3))
        for _ in 0..<25 where core.role != .candidate { core.tick() }
        _ = core.ready()
        core.step(RaftEnvelope(from: "r2", to: "r1", message: .voteResponse(term: core.term, granted: true)))
        #expect(core.role == .leader)
        let accepted = core.readIndex(context: 9)
        #expect(accepted)
        var ready = core.ready()
        core.advance(ready)
        #expect(ready.reads.isEmpty)
        #expect(!ready.messages.contains { if case .heartbeat(_, _, 9) = $0.message { true } else { false } }, "not confirmed before the term's entry commits")
        core.step(RaftEnvelope(from: "r2", to: "r1", message: .appendResponse(term: core.term, index: core.lastIndex, rejected: false)))
        ready = core.ready()
        #expect(ready.messages.contains { if case .heartbeat(_, _, 9) = $0.message { true } else { false } })
        core.advance(ready)
        core.step(RaftEnvelope(from: "r2", to: "r1", message: .heartbeatResponse(term: core.term, context: 9)))
        #expect(core.ready().reads == [ReadState(context: 9, index: core.commitIndex)])
    }
}

@Suite("Raft leadership")
struct RaftLeadershipTests {
    @Test("a follower forwards proposals to the leader")
    func forwarding() throws {
        var c = RaftCluster(nodes: 3, seed: 21)
        let elected = c.elect()
        let leader = try #require(elected)
        let follower = c.ids.first { $0 != leader }!
        #expect(c.cores[follower]?.propose([42]) == true)
        c.settle()
        c.tick(2)
        #expect(c.ids.allSatisfy { c.applied[$0, default: []].contains { $0.data == [42] } })
    }

    @Test("leadership transfer: the target catches up, campaigns despite the lease, and leads; proposals wait meanwhile")
    func transfer() throws {
        var c = RaftCluster(nodes: 3, seed: 22)
        let elected = c.elect()
        let leader = try #require(elected)
        let target = c.ids.first { $0 != leader }!
        // The target misses some entries first, so the transfer waits for it to catch up.
        c.side[target] = 1
        for i in 0..<10 { c.cores[leader]?.propose([UInt8(i)]) }
        c.tick(2)
        c.side[target] = 0
        let started = c.cores[leader]?.transferLeadership(to: target) == true
        #expect(started)
        #expect(c.cores[leader]?.propose([99]) == false, "no proposals while transferring")
        c.tick(3)
        #expect(c.cores[target]?.role == .leader)
        #expect(c.cores[leader]?.role == .follower && c.cores[leader]?.leader == target)
        #expect(c.applied[target, default: []].filter { !$0.data.isEmpty }.count == 10, "nothing committed was lost")
        #expect(c.violations.isEmpty, "\(c.violations)")
    }

    @Test("a transfer to a node that never answers is given up after an election timeout")
    func abandonedTransfer() throws {
        var c = RaftCluster(nodes: 3, seed: 23)
        let elected = c.elect()
        let leader = try #require(elected)
        let target = c.ids.first { $0 != leader }!
        c.crash(target)
        _ = c.cores[leader]?.transferLeadership(to: target)
        c.tick(12)
        #expect(c.cores[leader]?.role == .leader && c.cores[leader]?.transferee == nil)
        #expect(c.cores[leader]?.propose([1]) == true)
    }
}

@Suite("Raft flow control")
struct RaftFlowControlTests {
    /// A leader of a 2-member group whose follower has matched, with its outgoing messages
    /// held (not delivered) so what it sends can be inspected.
    func leader(maxBytesPerMessage: Int, maxInflightBytes: Int) -> RaftCore<SplitMix64> {
        let config = RaftConfiguration(id: "a", voters: ["a", "b"], preVote: false, maxEntriesPerMessage: 100, maxInflightMessages: 100,
                                       maxBytesPerMessage: maxBytesPerMessage, maxInflightBytes: maxInflightBytes)
        var core = RaftCore(configuration: config, random: SplitMix64(seed: 1))
        for _ in 0..<25 where core.role != .candidate { core.tick() }
        core.advance(core.ready())
        core.step(RaftEnvelope(from: "b", to: "a", message: .voteResponse(term: core.term, granted: true)))
        core.advance(core.ready())
        // The follower acknowledges the leader's first entry: replicating from here.
        core.step(RaftEnvelope(from: "b", to: "a", message: .appendResponse(term: core.term, index: core.lastIndex, rejected: false)))
        core.advance(core.ready())
        return core
    }

    func appended(_ ready: RaftReady) -> [[LogEntry]] {
        ready.messages.compactMap { if case .append(_, _, _, let entries, _) = $0.message, !entries.isEmpty { entries } else { nil } }
    }

    @Test("appends are cut at the byte limit, one entry at least")
    func bytesPerMessage() {
        var core = leader(maxBytesPerMessage: 250, maxInflightBytes: 1 << 20)
        core.propose(batch: (0..<10).map { _ in [UInt8](repeating: 1, count: 100) } + [[UInt8](repeating: 2, count: 1000)])
        // Everything was sent in one burst, in appends of at most two 100-byte entries.
        let sizes = appended(core.ready()).map { $0.map(\.data.count) }
        #expect(sizes.flatMap { $0 }.count == 11)
        #expect(sizes.allSatisfy { $0.reduce(0, +) <= 250 || $0.count == 1 }, "\(sizes)")
        #expect(sizes.last == [1000], "an entry above the limit goes alone")
    }

    @Test("no more bytes in flight than the window until the follower acknowledges")
    func inflightBytes() {
        var core = leader(maxBytesPerMessage: 100, maxInflightBytes: 300)
        core.propose(batch: (0..<10).map { _ in [UInt8](repeating: 1, count: 100) })
        var ready = core.ready()
        let first = appended(ready)
        #expect(first.flatMap { $0 }.count == 3, "three 100-byte appends fill the 300-byte window")
        core.advance(ready)
        let acked = first.last!.last!.index
        core.step(RaftEnvelope(from: "b", to: "a", message: .appendResponse(term: core.term, index: acked, rejected: false)))
        ready = core.ready()
        #expect(appended(ready).flatMap { $0 }.count == 3, "the acknowledgement frees the whole window")
    }
}

/// What may leave a node before its disk write completes.
@Suite("Raft send before persisting")
struct RaftSendBeforePersistingTests {
    @Test("only a leader's messages in a term and vote already durable may leave before the write; vote requests, votes and acknowledgements wait")
    func sendBeforePersisting() throws {
        let config = { (id: String) in RaftConfiguration(id: id, voters: ["a", "b", "c"], preVote: false) }
        var a = RaftCore(configuration: config("a"), random: SplitMix64(seed: 1))
        var b = RaftCore(configuration: config("b"), random: SplitMix64(seed: 2))
        for _ in 0..<30 where a.role == .follower { a.tick() }
        var ready = a.ready()
        #expect(a.role == .candidate && !ready.sendBeforePersisting, "vote requests carry a vote not yet durable")
        a.advance(ready)
        let request = try #require(ready.messages.first { $0.to == "b" })
        b.step(request)
        ready = b.ready()
        #expect(!ready.sendBeforePersisting, "a vote waits for the write")
        b.advance(ready)
        for message in ready.messages { a.step(message) }
        ready = a.ready()
        #expect(a.role == .leader && ready.sendBeforePersisting, "elected in the term its candidacy made durable: its first appends may leave at once")
        a.advance(ready)
        a.propose(Array("x".utf8))
        ready = a.ready()
        #expect(ready.sendBeforePersisting && !ready.entries.isEmpty, "a leader's append in a durable term leaves before its write")
        #expect(a.commitIndex < ready.entries.last?.index ?? 0, "and its own entry does not count until advance")
        let append = ready.messages.first { $0.to == "b" }
        a.advance(ready)
        if let append {
            b.step(append)
            let ack = b.ready()
            #expect(!ack.sendBeforePersisting, "a follower's acknowledgement waits for its write")
        }
    }
}
