import PrismRaft
import PrismStorage
import PrismTestSupport
import Testing

@Suite("Raft log in LMDB")
struct RaftLogStoreTests {
    func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [LogEntry] {
        range.map { LogEntry(term: term, index: $0, data: Array("e\($0)t\(term)".utf8)) }
    }

    @Test("many groups in one transaction; everything is there after reopening the files")
    func persistsAcrossReopen() throws {
        let dir = TemporaryDirectory("raft-log")
        do {
            let env = try LMDBEnvironment(directory: dir.path)
            let store = try RaftLogStore(environment: env)
            try env.write { txn in
                for group in UInt64(1)...3 {
                    let ready = RaftReady(hardState: HardState(term: group, vote: group == 2 ? nil : "n\(group)", commit: 2),
                                          entries: entries(1...5, term: group), committed: [], messages: [], reads: [])
                    try store.save(group: group, ready, in: txn)
                }
            }
            env.close()
        }
        let env = try LMDBEnvironment(directory: dir.path)
        let store = try RaftLogStore(environment: env)
        for group in UInt64(1)...3 {
            let (hs, log) = try env.read { try store.load(group: group, in: $0) }
            #expect(hs == HardState(term: group, vote: group == 2 ? nil : "n\(group)", commit: 2))
            #expect(log == entries(1...5, term: group))
        }
        let (empty, none) = try env.read { try store.load(group: 99, in: $0) }
        #expect(empty == HardState() && none.isEmpty)
    }

    @Test("entries from a new leader replace the conflicting suffix, nothing else")
    func conflictingSuffix() throws {
        let dir = TemporaryDirectory("raft-log")
        let env = try LMDBEnvironment(directory: dir.path)
        let store = try RaftLogStore(environment: env)
        try env.write { try store.save(group: 7, RaftReady(hardState: nil, entries: entries(1...6, term: 1), committed: [], messages: [], reads: []), in: $0) }
        try env.write { try store.save(group: 8, RaftReady(hardState: nil, entries: entries(1...6, term: 1), committed: [], messages: [], reads: []), in: $0) }
        try env.write { try store.save(group: 7, RaftReady(hardState: nil, entries: entries(4...4, term: 2), committed: [], messages: [], reads: []), in: $0) }
        #expect(try env.read { try store.load(group: 7, in: $0) }.1 == entries(1...3, term: 1) + entries(4...4, term: 2))
        #expect(try env.read { try store.load(group: 8, in: $0) }.1 == entries(1...6, term: 1), "another group is untouched")
        try env.write { try store.remove(group: 7, in: $0) }
        #expect(try env.read { try store.load(group: 7, in: $0) }.1.isEmpty)
    }

    @Test("a damaged hard state or entry is reported with its group, not trusted")
    func corruption() throws {
        let dir = TemporaryDirectory("raft-log")
        let env = try LMDBEnvironment(directory: dir.path)
        let store = try RaftLogStore(environment: env)
        let states = try env.table("raft_state"), logs = try env.table("raft_entries")
        try env.write { try $0.put(states, [0, 0, 0, 0, 0, 0, 0, 5], [1, 2, 3]) }
        #expect(throws: RaftLogStore.DecodeError.corruptHardState(group: 5, bytes: 3)) { try env.read { try store.load(group: 5, in: $0) } }
        try env.write { try $0.put(logs, [0, 0, 0, 0, 0, 0, 0, 6] + [0, 0, 0, 0, 0, 0, 0, 1], [9]) }
        #expect(throws: RaftLogStore.DecodeError.corruptEntry(group: 6, bytes: 1)) { try env.read { try store.load(group: 6, in: $0) } }
    }

    @Test("clusters whose members persist in LMDB survive crashes and restarts from their files", arguments: 0..<12)
    func clusterOnLMDB(seed: UInt64) throws {
        var cluster = RaftCluster(nodes: 3, seed: seed)
        try cluster.useLMDB()
        cluster.delay = 0.2
        var random = SplitMix64(seed: seed ^ 0x4242)
        cluster.crashHistory(steps: 40, maxTicks: 10, random: &random)
        let elected = cluster.elect()
        let leader = try #require(elected, "seed \(seed)")
        cluster.cores[leader]?.propose(Array("last".utf8))
        cluster.tick(10)
        #expect(cluster.ids.allSatisfy { cluster.applied[$0, default: []].last?.data == Array("last".utf8) }, "seed \(seed)")
        #expect(cluster.violations.isEmpty, "seed \(seed): \(cluster.violations)")
        #expect(cluster.restarts > 0)
    }
}

@Suite("Raft snapshots in LMDB")
struct RaftSnapshotStoreTests {
    func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [LogEntry] {
        range.map { LogEntry(term: term, index: $0, data: [UInt8($0)]) }
    }

    @Test("a snapshot drops the entries it covers, keeps those that continue it, and survives reopening")
    func snapshotCompacts() throws {
        let dir = TemporaryDirectory("raft-snap")
        do {
            let env = try LMDBEnvironment(directory: dir.path)
            let store = try RaftLogStore(environment: env)
            try env.write { try store.save(group: 1, RaftReady(hardState: HardState(term: 1, vote: "a", commit: 8), entries: entries(1...10, term: 1), committed: [], messages: [], reads: []), in: $0) }
            let dropped = try env.write { try store.saveSnapshot(group: 1, RaftSnapshot(index: 6, term: 1, data: [42]), in: $0) }
            #expect(dropped == 6, "entries 1 to 6")
            // A leader's snapshot that does not continue the local log replaces all of it.
            try env.write { try store.save(group: 2, RaftReady(hardState: nil, entries: entries(1...5, term: 1), committed: [], messages: [], reads: []), in: $0) }
            try env.write { try store.save(group: 2, RaftReady(snapshot: RaftSnapshot(index: 4, term: 3, data: [7]), hardState: nil, entries: [], committed: [], messages: [], reads: []), in: $0) }
            env.close()
        }
        let env = try LMDBEnvironment(directory: dir.path)
        let store = try RaftLogStore(environment: env)
        let one = try env.read { try store.loadAll(group: 1, in: $0) }
        #expect(one.snapshot == RaftSnapshot(index: 6, term: 1, data: [42]))
        #expect(one.entries == entries(7...10, term: 1))
        #expect(one.hardState == HardState(term: 1, vote: "a", commit: 8))
        let two = try env.read { try store.loadAll(group: 2, in: $0) }
        #expect(two.snapshot?.index == 4 && two.entries.isEmpty)
        // A core restarts from it.
        var core = RaftCore(configuration: RaftConfiguration(id: "a", voters: ["a"]), hardState: one.hardState, snapshot: one.snapshot,
                            entries: one.entries, random: SplitMix64(seed: 1))
        #expect(core.lastIndex == 10 && core.commitIndex == 8)
        let ready = core.ready()
        #expect(ready.committed.isEmpty, "entries up to the durable commit index are already in the state machine")
    }

    /// A node's own snapshot can reach the store after a newer one from the leader (taken
    /// before it arrived, persisted in the same write): the newer one must stay.
    @Test("an older snapshot saved after a newer one changes nothing")
    func olderSnapshotIsIgnored() throws {
        let dir = TemporaryDirectory("raft-snap-order")
        let env = try LMDBEnvironment(directory: dir.path)
        let store = try RaftLogStore(environment: env)
        try env.write { try store.save(group: 1, RaftReady(hardState: HardState(term: 1, vote: "a", commit: 10), entries: entries(1...12, term: 1), committed: [], messages: [], reads: []), in: $0) }
        try env.write { txn in
            try store.saveSnapshot(group: 1, RaftSnapshot(index: 9, term: 1, data: [9]), in: txn)
            try store.saveSnapshot(group: 1, RaftSnapshot(index: 5, term: 1, data: [5]), in: txn)
        }
        let loaded = try env.read { try store.loadAll(group: 1, in: $0) }
        #expect(loaded.snapshot == RaftSnapshot(index: 9, term: 1, data: [9]))
        #expect(loaded.entries == entries(10...12, term: 1))
        // A newer one still replaces it.
        let dropped = try env.write { try store.saveSnapshot(group: 1, RaftSnapshot(index: 11, term: 1, data: [11]), in: $0) }
        #expect(dropped == 2, "entries 10 and 11")
        let newer = try env.read { try store.loadAll(group: 1, in: $0) }
        #expect(newer.snapshot?.index == 11 && newer.entries == entries(12...12, term: 1))
    }
}
