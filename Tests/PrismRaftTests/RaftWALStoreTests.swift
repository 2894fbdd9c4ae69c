import Foundation
import PrismRaft
import PrismStorage
import PrismTestSupport
import Testing

@Suite("Raft write-ahead log in front of LMDB")
struct RaftWALStoreTests {
    static let groups: [UInt64] = [1, 2, 3]

    /// Seeded drains like a host's: hard states (new terms, votes, commits), appends, suffixes
    /// replaced by a new leader, and now and then a snapshot that does or does not continue the log.
    static func drains(seed: UInt64, count: Int) -> [[RaftWALRecord.GroupWrite]] {
        var random = SplitMix64(seed: seed)
        var last: [UInt64: UInt64] = [:], term: [UInt64: UInt64] = [:]
        var out: [[RaftWALRecord.GroupWrite]] = []
        for _ in 0..<count {
            var drain: [RaftWALRecord.GroupWrite] = []
            for group in groups where random.next() % 2 == 0 {
                var t = term[group, default: 1]
                var l = last[group, default: 0]
                var hardState: HardState?
                if random.next() % 5 == 0 { t += 1 }
                if random.next() % 2 == 0 || t != term[group, default: 1] {
                    hardState = HardState(term: t, vote: random.next() % 3 == 0 ? nil : "n\(random.next() % 3)", commit: l / 2)
                }
                var snapshot: RaftSnapshot?
                if random.next() % 11 == 0, l > 2 {
                    let index = l - random.next() % 3
                    snapshot = RaftSnapshot(index: index, term: t, data: Array("state \(index)".utf8),
                                            membership: random.next() % 2 == 0 ? nil : Membership(voters: ["n0", "n1", "n2"]))
                }
                var entries: [LogEntry] = []
                if random.next() % 4 != 0 {
                    // A new leader replaces a suffix now and then.
                    var from = l + 1
                    if random.next() % 6 == 0, l > 1 { from = max(snapshot.map { $0.index + 1 } ?? 1, l - random.next() % 3) }
                    let n = 1 + random.next() % 4
                    entries = (from..<(from + n)).map { LogEntry(term: t, index: $0, data: Array("g\(group) i\($0) t\(t)".utf8)) }
                    l = from + n - 1
                }
                term[group] = t
                last[group] = l
                drain.append(RaftWALRecord.GroupWrite(group: group, snapshot: snapshot, hardState: hardState, entries: entries))
            }
            if !drain.isEmpty { out.append(drain) }
        }
        return out
    }

    /// LMDB as `prism raft-node` runs it behind the WAL (nometasync), its log store and writer,
    /// and a WAL store in front of them, all in `dir` (the caller shuts the writer down).
    struct Opened {
        let env: LMDBEnvironment
        let store: RaftLogStore
        let writer: GroupCommitWriter
        let walStore: RaftWALStore
        var all: (LMDBEnvironment, RaftLogStore, GroupCommitWriter, RaftWALStore) { (env, store, writer, walStore) }
    }

    static func open(_ dir: TemporaryDirectory, catchUpMilliseconds: Int = RaftWALStore.defaultCatchUpMilliseconds) throws -> Opened {
        let env = try LMDBEnvironment(directory: dir.file("lmdb"), options: StorageOptions(syncMode: .nometasync))
        let store = try RaftLogStore(environment: env)
        let writer = GroupCommitWriter(environment: env)
        let walStore = try RaftWALStore(directory: dir.file("wal"), environment: env, store: store, writer: writer, catchUpMilliseconds: catchUpMilliseconds)
        return Opened(env: env, store: store, writer: writer, walStore: walStore)
    }

    static func save(_ drain: [RaftWALRecord.GroupWrite], _ store: RaftLogStore, _ env: LMDBEnvironment) throws {
        try env.write { txn in for w in drain { try store.save(group: w.group, w.ready, in: txn) } }
    }

    static func loadAll(_ store: RaftLogStore, _ env: LMDBEnvironment) throws -> [RaftLogStore.Persisted] {
        try groups.map { g in try env.read { try store.loadAll(group: g, in: $0) } }
    }

    @Test("records after LMDB's last are saved again on open: the log equals saving every drain directly", arguments: 0..<40)
    func recovery(seed: UInt64) throws {
        let drains = Self.drains(seed: seed, count: 60)
        let reference = TemporaryDirectory("wal-ref"), dir = TemporaryDirectory("wal-store")
        let refEnv = try LMDBEnvironment(directory: reference.path)
        let refStore = try RaftLogStore(environment: refEnv)
        for d in drains { try Self.save(d, refStore, refEnv) }

        // LMDB got the first `k` drains (its commits of the rest did not survive), the WAL has all.
        var pick = SplitMix64(seed: seed ^ 0xABCD)
        let k = Int(pick.next() % UInt64(drains.count + 1))
        do {
            let env = try LMDBEnvironment(directory: dir.file("lmdb"), options: StorageOptions(syncMode: .nometasync))
            let store = try RaftLogStore(environment: env)
            for (i, d) in drains.prefix(k).enumerated() {
                try Self.save(d, store, env)
                try env.write { try store.setWALSequence(UInt64(i + 1), in: $0) }
            }
            let wal = try RaftWAL(directory: dir.file("wal"), nextSequence: 1, segmentBytes: 4096)
            for d in drains { try wal.append(RaftWALRecord(writes: d).encoded()) }
            env.close()
        }
        let env = try LMDBEnvironment(directory: dir.file("lmdb"), options: StorageOptions(syncMode: .nometasync))
        let store = try RaftLogStore(environment: env)
        let writer = GroupCommitWriter(environment: env)
        defer { writer.shutdown() }
        let opened = try RaftWALStore(directory: dir.file("wal"), environment: env, store: store, writer: writer, segmentBytes: 4096)
        #expect(opened.replayedRecords == drains.count - k, "seed \(seed)")
        #expect(try Self.loadAll(store, env) == Self.loadAll(refStore, refEnv), "seed \(seed), LMDB had \(k) of \(drains.count)")
        #expect(try env.read { try store.walSequence(in: $0) } == UInt64(drains.count))
        // The replayed segments are gone and numbering goes on.
        #expect(opened.wal.nextSequence == UInt64(drains.count) + 1)
        #expect(try RaftWAL.records(in: dir.file("wal")).isEmpty)
    }

    @Test("live: every persisted drain reaches LMDB in order, full segments are dropped, a reopen replays nothing")
    func live() async throws {
        let drains = Self.drains(seed: 99, count: 400)
        let reference = TemporaryDirectory("wal-ref"), dir = TemporaryDirectory("wal-store")
        let refEnv = try LMDBEnvironment(directory: reference.path)
        let refStore = try RaftLogStore(environment: refEnv)
        for d in drains { try Self.save(d, refStore, refEnv) }
        do {
            let env = try LMDBEnvironment(directory: dir.file("lmdb"), options: StorageOptions(syncMode: .nometasync))
            let store = try RaftLogStore(environment: env)
            let writer = GroupCommitWriter(environment: env)
            let walStore = try RaftWALStore(directory: dir.file("wal"), environment: env, store: store, writer: writer, segmentBytes: 4096)
            for (i, d) in drains.enumerated() {
                try walStore.persist(d)
                if i % 50 == 0 { try await Task.sleep(for: .milliseconds(8)) }
            }
            await walStore.caughtUp()
            #expect(try Self.loadAll(store, env) == Self.loadAll(refStore, refEnv))
            #expect(try env.read { try store.walSequence(in: $0) } == UInt64(drains.count))
            #expect(walStore.wal.segmentCount == 1)
            #expect(writer.stats.commits < drains.count / 2, "catch-up commits carry many records: \(writer.stats.commits)")
            writer.shutdown()
            env.close()
        }
        let env = try LMDBEnvironment(directory: dir.file("lmdb"), options: StorageOptions(syncMode: .nometasync))
        let store = try RaftLogStore(environment: env)
        let writer = GroupCommitWriter(environment: env)
        defer { writer.shutdown() }
        let reopened = try RaftWALStore(directory: dir.file("wal"), environment: env, store: store, writer: writer)
        #expect(reopened.replayedRecords == 0)
        #expect(reopened.wal.nextSequence == UInt64(drains.count) + 1)
        #expect(try Self.loadAll(store, env) == Self.loadAll(refStore, refEnv))
    }

    /// A snapshot the state machine took reaches LMDB after the records that hold the entries it
    /// covers (so it drops them, and they do not come back), without a WAL record of its own.
    @Test("a taken snapshot goes to LMDB in order after the records so far, not into the WAL")
    func takenSnapshot() async throws {
        let dir = TemporaryDirectory("wal-snapshot")
        // A long catch-up delay: the records are still waiting when the snapshot comes.
        let (env, store, writer, walStore) = try Self.open(dir, catchUpMilliseconds: 50).all
        defer { writer.shutdown() }
        func entries(_ range: ClosedRange<UInt64>) -> [LogEntry] { range.map { LogEntry(term: 2, index: $0, data: [UInt8($0)]) } }
        try walStore.persist([RaftWALRecord.GroupWrite(group: 7, hardState: HardState(term: 2, vote: "a", commit: 6), entries: entries(1...6))])
        try walStore.persist([RaftWALRecord.GroupWrite(group: 7, hardState: nil, entries: entries(7...9))])
        walStore.saveSnapshot(group: 7, RaftSnapshot(index: 6, term: 2, data: [42]))
        #expect(walStore.wal.nextSequence == 3, "two records in the WAL, the snapshot not")
        await walStore.caughtUp()
        let persisted = try env.read { try store.loadAll(group: 7, in: $0) }
        #expect(persisted.snapshot == RaftSnapshot(index: 6, term: 2, data: [42]))
        #expect(persisted.entries == entries(7...9), "the entries it covers are gone, those after it stay")
        #expect(try env.read { try store.walSequence(in: $0) } == 2)
        // A catch-up with only a snapshot in it.
        walStore.saveSnapshot(group: 7, RaftSnapshot(index: 8, term: 2, data: [43]))
        await walStore.caughtUp()
        let later = try env.read { try store.loadAll(group: 7, in: $0) }
        #expect(later.snapshot?.index == 8 && later.entries == entries(9...9))
        #expect(try env.read { try store.walSequence(in: $0) } == 2)
    }

    /// Dropping the hundred thousand entries a snapshot covers in one transaction stalled the
    /// writer for up to a second: they go a few thousand per catch-up, and loading skips those
    /// still stored meanwhile.
    @Test("the entries a taken snapshot covers are dropped a few thousand per transaction, and never loaded")
    func coveredEntriesDropInSteps() async throws {
        let dir = TemporaryDirectory("wal-snapshot-steps")
        let (env, store, writer, walStore) = try Self.open(dir, catchUpMilliseconds: 1).all
        defer { writer.shutdown() }
        let count = RaftWALStore.coveredDropsPerCatchUp * 2 + 100
        let all = (1...UInt64(count)).map { LogEntry(term: 3, index: $0, data: [UInt8(truncatingIfNeeded: $0)]) }
        try walStore.persist([RaftWALRecord.GroupWrite(group: 4, hardState: HardState(term: 3, vote: nil, commit: UInt64(count)), entries: all)])
        await walStore.caughtUp()
        let commitsBefore = writer.stats.commits
        let through = UInt64(count - 10)
        walStore.saveSnapshot(group: 4, RaftSnapshot(index: through, term: 3, data: [1]))
        // Right after the snapshot's own transaction some covered entries are still stored, but never loaded.
        for _ in 0..<200 where try env.read({ try store.loadAll(group: 4, in: $0) }).snapshot == nil {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try env.read { try store.loadAll(group: 4, in: $0) }.entries == Array(all.suffix(10)))
        await walStore.caughtUp()
        let (_, stored) = try env.read { try store.load(group: 4, in: $0) }
        #expect(stored == Array(all.suffix(10)), "every covered entry dropped in the end")
        #expect(writer.stats.commits - commitsBefore >= 3, "in steps of \(RaftWALStore.coveredDropsPerCatchUp): \(writer.stats.commits - commitsBefore) commits")
    }

    @Test("LMDB out of step with the log (a record it did not take) stops all later writes instead of skipping one")
    func outOfStep() async throws {
        let dir = TemporaryDirectory("wal-store")
        let (env, store, writer, walStore) = try Self.open(dir).all
        defer { writer.shutdown() }
        let drains = Self.drains(seed: 5, count: 10)
        try walStore.persist(drains[0])
        await walStore.caughtUp()
        try env.write { try store.setWALSequence(77, in: $0) }
        try walStore.persist(drains[1])
        await walStore.caughtUp()
        #expect(throws: RaftWALError.self) { try walStore.persist(drains[2]) }
        // What LMDB refused stays in the log for the next start.
        #expect(try RaftWAL.records(in: dir.file("wal")).map(\.sequence) == [1, 2])
    }
}
