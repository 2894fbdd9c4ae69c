import PrismRaft
import PrismStorage
import PrismTestSupport
import Testing

/// Membership changes one server at a time (§4 of Ongaro's dissertation), with learners.
@Suite("Raft membership changes")
struct RaftMembershipTests {
    func data(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Proposes `change` at the leader and settles until it commits everywhere it can.
    func change(_ cluster: inout RaftCluster, _ change: MembershipChange) throws {
        let electedLeader = cluster.elect()
        let leader = try #require(electedLeader)
        try cluster.cores[leader]?.proposeMembershipChange(change)
        cluster.settle()
        cluster.tick(3)
    }

    @Test("a learner gets the whole log but never votes or counts; promoted, it does")
    func learnerThenVoter() throws {
        var cluster = RaftCluster(nodes: 3, spares: 1, seed: 11)
        let electedLeader = cluster.elect()
        let leader = try #require(electedLeader)
        for i in 0..<5 { cluster.cores[leader]?.propose(data("e\(i)")) }
        cluster.settle()
        #expect(cluster.cores["r4"]?.leader == nil, "a node outside the group hears nothing")
        try change(&cluster, .addLearner("r4"))
        for id in cluster.ids {
            #expect(cluster.cores[id]?.membership == Membership(voters: ["r1", "r2", "r3"], learners: ["r4"]), "\(id)")
        }
        #expect(cluster.applied["r4"]?.count == cluster.applied[leader]?.count, "the learner applied everything")

        // Two voters down: the learner does not make a quorum.
        let others = ["r1", "r2", "r3"].filter { $0 != leader }
        for id in others { cluster.crash(id) }
        let before = try #require(cluster.cores[leader]).commitIndex
        cluster.cores[leader]?.propose(data("without a quorum"))
        cluster.tick(5)
        #expect(cluster.cores[leader]?.commitIndex == before)
        // The learner never campaigns, however long it hears nothing.
        cluster.crash(leader)
        cluster.tick(60)
        #expect(cluster.cores["r4"]?.role == .follower)
        #expect(cluster.cores["r4"]?.term == cluster.leaders.keys.max())
        for id in ["r1", "r2", "r3"] { cluster.restart(id) }

        try change(&cluster, .promote("r4"))
        let electedNow = cluster.elect()
        let now = try #require(electedNow)
        #expect(cluster.cores[now]?.membership == Membership(voters: ["r1", "r2", "r3", "r4"]))
        // Four voters, one down: three of four commit, the new voter among them.
        let down = try #require(["r1", "r2", "r3"].first { $0 != now })
        cluster.crash(down)
        let index = try #require(cluster.cores[now]).lastIndex + 1
        cluster.cores[now]?.propose(data("three of four"))
        cluster.settle()
        cluster.tick(2)
        #expect((cluster.cores[now]?.commitIndex ?? 0) >= index)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("one change at a time; refusals name why")
    func refusals() throws {
        var cluster = RaftCluster(nodes: 3, spares: 2, seed: 12)
        let electedLeader = cluster.elect()
        let leader = try #require(electedLeader)
        let follower = try #require(cluster.ids.first { $0 != leader && cluster.cores[$0]?.membership.isVoter($0) == true })
        #expect(throws: MembershipChangeError.notLeader(leader: leader)) { try cluster.cores[follower]?.proposeMembershipChange(.addLearner("r4")) }
        #expect(throws: MembershipChangeError.invalid("r4 is not a learner (add it as one first)")) { try cluster.cores[leader]?.proposeMembershipChange(.promote("r4")) }
        #expect(throws: MembershipChangeError.invalid("\(follower) is already a member")) { try cluster.cores[leader]?.proposeMembershipChange(.addLearner(follower)) }
        #expect(throws: MembershipChangeError.invalid("r9 is not a member")) { try cluster.cores[leader]?.proposeMembershipChange(.remove("r9")) }
        let index = try cluster.cores[leader]?.proposeMembershipChange(.addLearner("r4"))
        #expect(throws: MembershipChangeError.changePending(index: index ?? 0)) { try cluster.cores[leader]?.proposeMembershipChange(.addLearner("r5")) }
        cluster.settle()
        cluster.tick(2)
        try cluster.cores[leader]?.proposeMembershipChange(.addLearner("r5"))
        cluster.settle()
        #expect(cluster.cores[leader]?.membership.learners == ["r4", "r5"])

        // The last voter cannot leave.
        var single = RaftCluster(nodes: 1, seed: 3)
        let electedOnly = single.elect()
        let only = try #require(electedOnly)
        #expect(throws: MembershipChangeError.invalid("\(only) is the last voter")) { try single.cores[only]?.proposeMembershipChange(.remove(only)) }
    }

    @Test("a new leader changes membership only after committing an entry of its term")
    func newLeaderWaits() throws {
        var core = RaftCore(configuration: RaftConfiguration(id: "r1", voters: ["r1", "r2", "r3"], preVote: false), random: SplitMix64(seed: 5))
        for _ in 0..<30 where core.role != .candidate { core.tick() }
        #expect(core.role == .candidate)
        core.step(RaftEnvelope(from: "r2", to: "r1", message: .voteResponse(term: core.term, granted: true)))
        #expect(core.role == .leader)
        #expect(throws: MembershipChangeError.leaderNotReady) { try core.proposeMembershipChange(.addLearner("r4")) }
        // Durable here and acknowledged by r2: its term's first entry commits, and then it may.
        let ready = core.ready()
        core.advance(ready)
        core.step(RaftEnvelope(from: "r2", to: "r1", message: .appendResponse(term: core.term, index: core.lastIndex, rejected: false)))
        #expect(core.commitIndex == core.lastIndex)
        #expect(throws: Never.self) { try core.proposeMembershipChange(.addLearner("r4")) }
    }

    @Test("removing a voter shrinks the quorum; a leader that removes itself leads until that commits, then the rest elect another")
    func removals() throws {
        var cluster = RaftCluster(nodes: 5, seed: 13)
        let electedLeader = cluster.elect()
        let leader = try #require(electedLeader)
        let victim = try #require(cluster.ids.first { $0 != leader })
        try change(&cluster, .remove(victim))
        #expect(cluster.cores[leader]?.membership.voters.count == 4)
        cluster.crash(victim)
        // Four voters, one of them down: the other three commit.
        let third = try #require(cluster.ids.first { $0 != leader && $0 != victim })
        cluster.crash(third)
        let index = try #require(cluster.cores[leader]).lastIndex + 1
        cluster.cores[leader]?.propose(data("three of four"))
        cluster.settle()
        cluster.tick(2)
        #expect((cluster.cores[leader]?.commitIndex ?? 0) >= index)
        cluster.restart(third)
        cluster.tick(5)

        // The leader removes itself.
        let removedIn = try #require(cluster.cores[leader]).term
        try cluster.cores[leader]?.proposeMembershipChange(.remove(leader))
        #expect(cluster.cores[leader]?.role == .leader, "it leads until the change commits")
        cluster.settle()
        cluster.tick(2)
        #expect(cluster.cores[leader]?.role == .follower)
        cluster.tick(40)
        let electedNext = cluster.elect()
        let next = try #require(electedNext)
        #expect(next != leader && next != victim)
        #expect(cluster.cores[next]?.membership.voters.count == 3)
        cluster.cores[next]?.propose(data("after"))
        cluster.settle()
        cluster.tick(2)
        #expect(cluster.applied[next]?.last?.data == data("after"))
        // Removed, it never campaigns again.
        cluster.tick(60)
        #expect(!cluster.leaders.contains { $0.value == leader && $0.key > removedIn })
        #expect(cluster.cores[leader]?.role != .candidate && cluster.cores[leader]?.role != .preCandidate)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("a membership entry a new leader overwrites is undone on the member that had it")
    func uncommittedChangeIsUndone() throws {
        var cluster = RaftCluster(nodes: 3, spares: 1, seed: 14)
        let electedOld = cluster.elect()
        let old = try #require(electedOld)
        cluster.tick(2)
        cluster.side[old] = 1
        try cluster.cores[old]?.proposeMembershipChange(.addLearner("r4"))
        #expect(cluster.cores[old]?.membership.learners == ["r4"], "in effect as soon as it is in the log")
        cluster.tick(30)
        let new = try #require(cluster.ids.first { $0 != old && cluster.cores[$0]?.role == .leader })
        cluster.cores[new]?.propose(data("overwrites"))
        cluster.settle()
        cluster.side[old] = 0
        cluster.tick(5)
        #expect(cluster.cores[old]?.membership == Membership(voters: ["r1", "r2", "r3"]))
        #expect(cluster.cores[old]?.leader == new)
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("membership survives a restart from LMDB: entries keep their kind, snapshots their membership")
    func persisted() throws {
        let dir = TemporaryDirectory("raft-membership")
        let env = try LMDBEnvironment(directory: dir.path)
        let store = try RaftLogStore(environment: env)
        let members = Membership(voters: ["a", "b", "c"], learners: ["d"])
        let entries = [LogEntry(term: 1, index: 1, data: []), LogEntry(term: 1, index: 2, data: members.encoded(), kind: .membership),
                       LogEntry(term: 1, index: 3, data: [1, 2, 3])]
        try env.write { try store.save(group: 9, RaftReady(hardState: HardState(term: 1, vote: "a", commit: 3), entries: entries, committed: [], messages: [], reads: []), in: $0) }
        let snapshot = RaftSnapshot(index: 2, term: 1, data: [7, 7], membership: members)
        try env.write { _ = try store.saveSnapshot(group: 10, snapshot, in: $0) }
        env.close()

        let reopened = try LMDBEnvironment(directory: dir.path)
        let again = try RaftLogStore(environment: reopened)
        let nine = try reopened.read { try again.loadAll(group: 9, in: $0) }
        #expect(nine.entries == entries)
        let core = RaftCore(configuration: RaftConfiguration(id: "a", voters: ["a", "b", "c"]), hardState: nine.hardState, entries: nine.entries,
                            random: SplitMix64(seed: 1))
        #expect(core.membership == members)
        #expect(core.membership(at: 1) == Membership(voters: ["a", "b", "c"]))
        let ten = try reopened.read { try again.loadAll(group: 10, in: $0) }
        #expect(ten.snapshot == snapshot)
        let joined = RaftCore(configuration: RaftConfiguration(id: "d", voters: []), hardState: ten.hardState, snapshot: ten.snapshot,
                              random: SplitMix64(seed: 1))
        #expect(joined.membership == members)
        #expect(Membership(encoded: members.encoded()) == members)
        #expect(Membership(encoded: Array(members.encoded().dropLast())) == nil)
    }
}
