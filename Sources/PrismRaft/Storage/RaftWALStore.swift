import Dispatch
import Logging
import PrismStorage
import Synchronization

/// The Raft log of every group on a node with a write-ahead log in front of LMDB: a drain's
/// writes are durable (and may be acknowledged) once their one record is synced in the WAL; the
/// same writes then go to LMDB through the group-commit writer, off the critical path, with the
/// record's sequence in the same transaction. LMDB stays the log's home (what a restart loads);
/// the WAL holds only what LMDB may not have made durable yet.
///
/// LMDB runs here with `nometasync` (one sync per commit, never corrupted by a power loss, but a
/// commit is durable only with the next one): a full WAL segment is deleted only after LMDB holds
/// all its records and `mdb_env_sync` has run. On open, the records after the sequence LMDB
/// stored are saved into LMDB again, in order: the same `RaftLogStore.save` calls on the same
/// state give the same result, so recovery is exactly the writes that were acknowledged.
public final class RaftWALStore: Sendable {
    public let wal: RaftWAL
    public let environment: LMDBEnvironment
    public let store: RaftLogStore
    /// Records saved into LMDB again when this store opened.
    public let replayedRecords: Int
    private let writer: GroupCommitWriter
    private let logger: Logger
    /// Set when LMDB refused a record: later writes fail (LMDB must take the records in order, and
    /// the WAL keeps everything from the refused one on for the next start).
    private let stopped = Mutex<String?>(nil)

    public init(directory: String, environment: LMDBEnvironment, store: RaftLogStore, writer: GroupCommitWriter,
                segmentBytes: Int = 32 << 20, catchUpMilliseconds: Int = RaftWALStore.defaultCatchUpMilliseconds,
                logger: Logger = Logger(label: "prism.raft.wal")) throws {
        self.catchUpDelay = .milliseconds(max(0, catchUpMilliseconds))
        self.environment = environment
        self.store = store
        self.writer = writer
        self.logger = logger
        let saved = try environment.read { try store.walSequence(in: $0) }
        let missing = try RaftWAL.records(in: directory, after: saved)
        if let last = missing.last {
            try environment.write { txn in
                for record in missing {
                    for write in try RaftWALRecord(decoding: record.payload).writes {
                        try store.save(group: write.group, write.ready, in: txn)
                    }
                }
                try store.setWALSequence(last.sequence, in: txn)
            }
            logger.notice("raft write-ahead log replayed into LMDB", metadata: [
                "records": "\(missing.count)", "from": "\(missing[0].sequence)", "through": "\(last.sequence)",
            ])
        }
        replayedRecords = missing.count
        // Everything is in LMDB now; once that is durable the old segments can go.
        try environment.sync()
        try RaftWAL.removeSegments(in: directory)
        wal = try RaftWAL(directory: directory, nextSequence: max(saved, missing.last?.sequence ?? 0) + 1, segmentBytes: segmentBytes)
    }

    /// Makes `writes` durable as one WAL record (one sync), then queues them for LMDB. When it
    /// throws nothing may be acknowledged.
    public func persist(_ writes: [RaftWALRecord.GroupWrite]) throws {
        if let why = stopped.withLock({ $0 }) { throw RaftWALError.malformed("LMDB refused record: \(why)") }
        let sequence: UInt64
        do {
            sequence = try wal.append(RaftWALRecord(writes: writes).encoded())
        } catch {
            if error != .failed { logger.critical("raft write-ahead log write failed; the node takes no more writes", metadata: ["error": "\(error)"]) }
            throw error
        }
        enqueue(sequence, writes)
    }

    /// Saves a snapshot the state machine took into LMDB with the next catch-up, after every
    /// record persisted so far (they hold the entries it covers, which it drops). It does not go
    /// through the WAL: it can be large, and a write in the WAL delays every write after it, while
    /// a snapshot lost in a crash costs nothing (the entries it covers are still in the log).
    public func saveSnapshot(group: UInt64, _ snapshot: RaftSnapshot) {
        enqueue(nil, [RaftWALRecord.GroupWrite(group: group, snapshot: snapshot, hardState: nil, entries: [])])
    }

    private func enqueue(_ sequence: UInt64?, _ writes: [RaftWALRecord.GroupWrite]) {
        let schedule = catchUp.withLock { c -> Bool in
            c.records.append((sequence, writes))
            guard !c.writing, !c.scheduled else { return false }
            c.scheduled = true
            return true
        }
        if schedule { scheduleCatchUp() }
    }

    /// What waits to go into LMDB: records by their sequence, and snapshots (no sequence) in the
    /// order they came; and per group, the index through which its stored entries are covered by
    /// a saved snapshot but not all dropped yet.
    private struct CatchUp {
        var records: [(UInt64?, [RaftWALRecord.GroupWrite])] = []
        var covered: [UInt64: UInt64] = [:]
        var writing = false
        var scheduled = false
        var waiters: [@Sendable () -> Void] = []
    }

    private let catchUp = Mutex(CatchUp())
    private let timer = DispatchQueue(label: "prism.raft.wal.catch-up")
    /// How long records wait before they go to LMDB: one LMDB commit (and its sync) then carries
    /// every record of that time, instead of each record's own sync competing with the next
    /// record's on the disk.
    public static let defaultCatchUpMilliseconds = 5
    private let catchUpDelay: DispatchTimeInterval
    /// Covered entries one catch-up drops at most: a snapshot's hundred thousand go over a few
    /// dozen transactions instead of stalling one for the better part of a second.
    public static let coveredDropsPerCatchUp = 4096

    private func scheduleCatchUp() {
        timer.asyncAfter(deadline: .now() + catchUpDelay) { [self] in writeCatchUp() }
    }

    /// One LMDB transaction with every waiting record, in order, and the last one's sequence.
    private func writeCatchUp() {
        let (records, covered): ([(UInt64?, [RaftWALRecord.GroupWrite])], [UInt64: UInt64]) = catchUp.withLock { c in
            c.scheduled = false
            guard !c.writing, !c.records.isEmpty || !c.covered.isEmpty else { return ([], [:]) }
            c.writing = true
            defer { c.records.removeAll(keepingCapacity: true) }
            return (c.records, c.covered)
        }
        guard !records.isEmpty || !covered.isEmpty else { return wakeWaitersIfCaughtUp() }
        let sequences = records.compactMap(\.0)
        let first = sequences.first, last = sequences.last
        let store = self.store, logger = self.logger
        // Groups whose covered entries are all gone after this transaction, and those left with some.
        let dropped = Mutex<(done: [UInt64], left: [UInt64: UInt64])>(([], [:]))
        writer.submit({ txn in
            var budget = Self.coveredDropsPerCatchUp
            var done: [UInt64] = [], left: [UInt64: UInt64] = [:]
            for (group, index) in covered.sorted(by: { $0.key < $1.key }) {
                let n = budget > 0 ? try store.dropCovered(group: group, through: index, limit: budget, in: txn) : 0
                if n < budget { done.append(group) } else { left[group] = index }
                budget -= n
            }
            // In order, or not at all: a record LMDB skipped would be lost once its segment goes.
            if let first {
                let previous = try store.walSequence(in: txn)
                guard previous == first - 1 else { throw RaftWALError.malformed("record \(first) after \(previous) in LMDB") }
            }
            for (sequence, writes) in records {
                for write in writes {
                    guard sequence == nil, let snapshot = write.snapshot else {
                        try store.save(group: write.group, write.ready, in: txn)
                        continue
                    }
                    let start = ContinuousClock.now
                    let n = try store.saveSnapshot(group: write.group, snapshot, dropLimit: max(0, budget), in: txn)
                    budget -= n
                    if budget <= 0 { left[write.group] = max(left[write.group] ?? 0, snapshot.index) }
                    let elapsed = ContinuousClock.now - start
                    logger.info("raft snapshot saved into LMDB", metadata: [
                        "group": "\(write.group)", "index": "\(snapshot.index)", "bytes": "\(snapshot.data.count)",
                        "entries_dropped": "\(n)", "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
                    ])
                }
            }
            if let last { try store.setWALSequence(last, in: txn) }
            dropped.withLock { $0 = (done, left) }
        }, completion: { [self] result in
            switch result {
            case .success:
                if let last, let oldest = wal.oldestSealedLastSequence, oldest <= last {
                    do {
                        try environment.sync()
                        wal.release(through: last)
                    } catch {
                        logger.error("LMDB sync before dropping write-ahead log segments failed; they stay", metadata: ["error": "\(error)"])
                    }
                }
            case .failure(let error):
                let first = stopped.withLock { s -> Bool in
                    defer { if s == nil { s = "\(error)" } }
                    return s == nil
                }
                if first {
                    logger.critical("LMDB refused raft write-ahead log records; the node takes no more writes", metadata: [
                        "through": "\(last.map(String.init) ?? "a snapshot")", "error": "\(error)",
                    ])
                }
            }
            let again = catchUp.withLock { c -> Bool in
                c.writing = false
                if case .success = result {
                    let (done, left) = dropped.withLock { $0 }
                    for group in done where c.covered[group] == covered[group] { c.covered[group] = nil }
                    for (group, index) in left { c.covered[group] = max(c.covered[group] ?? 0, index) }
                }
                guard !c.records.isEmpty || !c.covered.isEmpty, !c.scheduled else { return false }
                c.scheduled = true
                return true
            }
            if again { scheduleCatchUp() } else { wakeWaitersIfCaughtUp() }
        })
    }

    private func wakeWaitersIfCaughtUp() {
        let waiters = catchUp.withLock { c -> [@Sendable () -> Void] in
            guard c.records.isEmpty, !c.writing else { return [] }
            defer { c.waiters = [] }
            return c.waiters
        }
        for w in waiters { w() }
    }

    /// Returns once every record persisted so far is in LMDB (committed, not necessarily synced).
    public func caughtUp() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = catchUp.withLock { c -> Bool in
                if c.records.isEmpty && !c.writing { return true }
                c.waiters.append { continuation.resume() }
                return false
            }
            if now { continuation.resume() }
        }
    }
}
