import PrismRaft
import PrismStorage
import Testing

/// Idle groups go quiet (no heartbeats, no election timers) and wake on work or suspicion.
@Suite("Raft quiescence")
struct RaftQuiescenceTests {
    func data(_ s: String) -> [UInt8] { Array(s.utf8) }

    func quietCluster(seed: UInt64) throws -> (RaftCluster, String) {
        var cluster = RaftCluster(nodes: 3, seed: seed, quiesceTicks: 5)
        let elected = cluster.elect()
        let leader = try #require(elected)
        cluster.cores[leader]?.propose(data("before"))
        cluster.settle()
        cluster.tick(10)
        return (cluster, leader)
    }

    @Test("an idle group sends nothing; a proposal wakes it and commits everywhere")
    func idleThenBusy() throws {
        var (cluster, leader) = try quietCluster(seed: 21)
        #expect(cluster.ids.allSatisfy { cluster.cores[$0]?.isQuiesced == true })
        let sent = cluster.messagesSent
        cluster.tick(200)
        #expect(cluster.messagesSent == sent, "quiet: not one message in 200 ticks")
        #expect(cluster.cores[leader]?.role == .leader)

        // Through a follower: it forwards, and the group wakes.
        let follower = try #require(cluster.ids.first { $0 != leader })
        cluster.cores[follower]?.propose(data("after"))
        cluster.settle()
        cluster.tick(2)
        #expect(cluster.ids.allSatisfy { cluster.applied[$0]?.last?.data == data("after") })
        // And quiet again once idle.
        cluster.tick(10)
        #expect(cluster.ids.allSatisfy { cluster.cores[$0]?.isQuiesced == true })
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("a read at a quiet leader is confirmed by a heartbeat round first")
    func readWakes() throws {
        var (cluster, leader) = try quietCluster(seed: 22)
        let asked = cluster.read(at: leader)
        let context = try #require(asked)
        cluster.settle()
        #expect(cluster.reads[leader]?.contains { $0.context == context } == true)
        // Cut off while quiet, it answers nothing: the read needs a majority again.
        cluster.tick(10)
        #expect(cluster.cores[leader]?.isQuiesced == true)
        for id in cluster.ids where id != leader { cluster.side[id] = 1 }
        let askedAlone = cluster.read(at: leader)
        let lonely = try #require(askedAlone)
        cluster.tick(3)
        #expect(cluster.reads[leader]?.contains { $0.context == lonely } != true)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("a quiet leader's crash goes unnoticed until the host suspects it; then the rest elect another")
    func suspicionWakes() throws {
        var (cluster, leader) = try quietCluster(seed: 23)
        let term = try #require(cluster.cores[leader]).term
        cluster.crash(leader)
        cluster.tick(100)
        #expect(cluster.ids.allSatisfy { $0 == leader || (cluster.cores[$0]?.role == .follower && cluster.cores[$0]?.term == term) },
                "nobody campaigns while quiet")
        for id in cluster.ids where id != leader { cluster.cores[id]?.wake() }
        cluster.tick(40)
        let next = try #require(cluster.leader)
        #expect(next != leader && (cluster.cores[next]?.term ?? 0) > term)
        cluster.restart(leader)
        cluster.cores[next]?.propose(data("new term"))
        cluster.settle()
        cluster.tick(5)
        #expect(cluster.applied[leader]?.last?.data == data("new term"), "the old leader, back, follows")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("a group started quiet elects nobody and sends nothing until work arrives; then the member given work campaigns at once")
    func startsQuiet() throws {
        var cluster = RaftCluster(nodes: 3, seed: 24, quiesceTicks: 5, startQuiet: true)
        cluster.tick(200)
        #expect(cluster.messagesSent == 0 && cluster.leader == nil)
        #expect(cluster.cores["r2"]?.propose(data("first")) == false, "no leader yet: refused, but it starts an election")
        cluster.tick(1)
        #expect(cluster.leader == "r2", "the member given work leads after one tick, not an election timeout")
        cluster.cores["r2"]?.propose(data("first"))
        cluster.settle()
        cluster.tick(2)
        #expect(cluster.ids.allSatisfy { cluster.applied[$0]?.last?.data == data("first") })
        cluster.tick(10)
        #expect(cluster.ids.allSatisfy { cluster.cores[$0]?.isQuiesced == true }, "and quiet again once idle")
        // A restarted member starts quiet too, and the group's leader still serves it.
        cluster.crash("r3")
        cluster.restart("r3")
        #expect(cluster.cores["r3"]?.isQuiesced == true)
        cluster.cores["r3"]?.propose(data("via r3"))
        #expect(cluster.cores["r3"]?.role == .follower)
        cluster.settle()
        cluster.tick(3)
        #expect(cluster.leader == "r2" && cluster.cores["r2"]?.term == cluster.cores["r3"]?.term)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("a follower missing entries does not go quiet")
    func laggingFollowerKeepsItsTimer() throws {
        var core = RaftCore(configuration: RaftConfiguration(id: "r2", voters: ["r1", "r2", "r3"], quiesceTicks: 5), random: SplitMix64(seed: 1))
        core.step(RaftEnvelope(from: "r1", to: "r2", message: .quiesce(term: 1, commit: 4)))
        #expect(!core.isQuiesced && core.leader == "r1" && core.term == 1)
        core.step(RaftEnvelope(from: "r1", to: "r2", message: .append(term: 1, prevIndex: 0, prevTerm: 0,
                                                                       entries: (1...4).map { LogEntry(term: 1, index: $0, data: []) }, commit: 4)))
        core.step(RaftEnvelope(from: "r1", to: "r2", message: .quiesce(term: 1, commit: 4)))
        #expect(core.isQuiesced)
        core.step(RaftEnvelope(from: "r3", to: "r2", message: .preVote(term: 2, lastIndex: 4, lastTerm: 1)))
        #expect(!core.isQuiesced, "any message wakes it")
    }
}
