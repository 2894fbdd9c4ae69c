import Dispatch
import PrismStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The postings of a shard's recent documents, held in memory instead of being merged into the
/// LMDB postings blocks on every write (which costs a read-modify-write of each term's last block
/// per batch). Documents, norms, doc values and counters are written to LMDB with every batch as
/// before; only postings wait here, and are written to LMDB in one large run (a flush) once the
/// buffer holds `PostingsBuffers.flushDocuments` documents. After a crash the buffer is rebuilt
/// from the stored documents (`PostingsRecovery`), so nothing acknowledged depends on it.
///
/// A buffer covers documents `base..<end`: `base` is the shard's `flushedDocnum` when it was
/// created, `end` moves forward as committed batches append (from commit hooks, in commit order).
/// Readers see only documents below their snapshot's `nextDocnum`, so a reader older than the
/// latest append reads the buffer as its snapshot had it.
final class PostingsBuffer: @unchecked Sendable {
    let base: UInt32
    private let lock = ReadWriteLock()
    // Guarded by `lock`.
    private var index = TermTable(capacity: 4096)
    /// By `index` id.
    private var terms: [BufferedTerm] = []
    private var endDoc: UInt32

    /// One term's buffered postings: all of them (for the flush), and full blocks already
    /// encoded (for readers), covering the first `sealed.count * 128` documents.
    struct BufferedTerm {
        var postings = PendingPostings()
        var sealed: [BufferedBlock] = []
    }

    init(base: UInt32) {
        self.base = base
        endDoc = base
    }

    /// Documents below `end` are in the buffer.
    var end: UInt32 { lock.withShared { endDoc } }

    /// Documents covered (with or without text).
    var documents: Int { lock.withShared { Int(endDoc - base) } }


    /// Adds a committed batch covering documents `from..<through`; false (and nothing changes)
    /// when it does not continue the buffer.
    func append(_ batch: PostingsBatch, from: UInt32, through: UInt32) -> Bool {
        lock.withExclusive {
            guard from == endDoc, through >= from else { return false }
            // Worked on as locals: class properties touched in a loop pay an exclusivity check each time.
            var (table, lists) = (TermTable(capacity: 0), [BufferedTerm]())
            swap(&table, &index)
            swap(&lists, &terms)
            batch.forEachTerm { key, entries, positions in
                let (id, inserted) = key.bytes.withUnsafeBytes { table.insert($0, hash: key.hash) }
                if inserted { lists.append(BufferedTerm()) }
                lists[id].append(entries: entries, positions: positions)
            }
            swap(&table, &index)
            swap(&lists, &terms)
            endDoc = through
            return true
        }
    }

    /// A term's postings below `bound`, as encoded blocks; nil when it has none.
    func postings(_ key: TermKey, below bound: UInt32) -> BufferedPostings? {
        lock.withShared {
            guard let id = key.bytes.withUnsafeBytes({ index.find($0, hash: key.hash) }) else { return nil }
            let term = terms[id]
            guard let firstEntry = term.postings.entries.first, PendingPostings.doc(firstEntry) < bound else { return nil }
            let entries = term.postings.entries
            var n = entries.count
            if let last = entries.last, PendingPostings.doc(last) >= bound {
                var lo = 0, hi = entries.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if PendingPostings.doc(entries[mid]) < bound { lo = mid + 1 } else { hi = mid }
                }
                n = lo
            }
            var blocks = Array(term.sealed.prefix(n / PostingsBlock.capacity))
            var start = blocks.count * PostingsBlock.capacity
            var positionOffset = blocks.last?.positionsEnd ?? 0
            while start < n {
                let stop = min(n, start + PostingsBlock.capacity)
                let block = term.postings.encodedBlock(start..<stop, positionOffset: positionOffset)
                blocks.append(block)
                positionOffset = block.positionsEnd
                start = stop
            }
            return BufferedPostings(blocks: blocks, documentCount: n)
        }
    }

    /// Every buffered term and its postings, by id (for a flush).
    func snapshot() -> (terms: TermTable, postings: [BufferedTerm]) {
        lock.withShared { (index, terms) }
    }
}

extension PostingsBuffer.BufferedTerm {
    /// Appends postings, encoding each block as soon as it is full.
    mutating func append(entries: UnsafeBufferPointer<UInt64>, positions: UnsafeBufferPointer<UInt32>) {
        postings.append(entries: entries, positions: positions)
        while postings.count - sealed.count * PostingsBlock.capacity >= PostingsBlock.capacity {
            let start = sealed.count * PostingsBlock.capacity
            sealed.append(postings.encodedBlock(start..<start + PostingsBlock.capacity, positionOffset: sealed.last?.positionsEnd ?? 0))
        }
    }
}

/// A term's buffered postings as one reader sees them.
struct BufferedPostings {
    let blocks: [BufferedBlock]
    let documentCount: Int
}

/// The postings buffers of every shard of every collection of a store, with the buffers just
/// retired by a flush (a reader whose snapshot predates the flush still needs them).
///
/// Committed batches reach their buffer on a queue of their own rather than on the writer's
/// thread: the append is the largest part of indexing after analysis, and the writer is the one
/// thread every write waits for. Commit hooks enqueue in commit order, so buffers still grow in
/// document order; an upsert waits for its batch to be appended (`settled`) before it returns,
/// and readers wait for the documents of their snapshot (`forReader`).
final class PostingsBuffers: Sendable {
    /// Documents a buffer collects before its postings are written to LMDB.
    let flushDocuments: Int

    private struct Key: Hashable {
        let shard: ShardKey
        let incarnation: UInt64
    }

    private struct Entry {
        var current: PostingsBuffer
        var retired: [PostingsBuffer] = []
    }

    private let entries = Mutex<[Key: Entry]>([:])
    private let flushes = Atomic<Int>(0)
    /// Serial: appends and retirements run here in the order the writer enqueued them.
    private let appender = DispatchQueue(label: "prism.postings-buffer")

    private let flushNanoseconds = Atomic<Int>(0)

    /// Buffers written to LMDB since start.
    var flushCount: Int { flushes.load(ordering: .relaxed) }

    /// Time the writer spent writing buffers to LMDB since start (the writer commits nothing else
    /// meanwhile).
    var flushSeconds: Double { Double(flushNanoseconds.load(ordering: .relaxed)) / 1e9 }

    func recordFlush(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        flushNanoseconds.add(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000), ordering: .relaxed)
    }

    init(flushDocuments: Int) {
        self.flushDocuments = max(0, flushDocuments)
    }

    /// The buffer new postings of the shard go to. A shard seen for the first time gets an empty
    /// buffer when everything it has is flushed; otherwise it needed recovery and nil is returned.
    func current(_ shard: ShardKey, incarnation: UInt64, flushed: UInt32, next: UInt32) -> PostingsBuffer? {
        entries.withLock { all in
            let key = Key(shard: shard, incarnation: incarnation)
            if let entry = all[key] { return entry.current }
            guard flushed == next else { return nil }
            let buffer = PostingsBuffer(base: flushed)
            all[key] = Entry(current: buffer)
            return buffer
        }
    }

    /// Installs a buffer rebuilt at startup.
    func install(_ buffer: PostingsBuffer, shard: ShardKey, incarnation: UInt64) {
        entries.withLock { $0[Key(shard: shard, incarnation: incarnation)] = Entry(current: buffer) }
    }

    /// Appends a committed batch to the shard's current buffer, on the appender queue (called from
    /// a commit hook, so in commit order); `misplaced` runs there if the batch does not continue it.
    func enqueueAppend(_ batch: PostingsBatch, shard: ShardKey, incarnation: UInt64, from: UInt32, through: UInt32,
                       misplaced: @escaping @Sendable () -> Void) {
        appender.async {
            if !self.append(batch, shard: shard, incarnation: incarnation, from: from, through: through) { misplaced() }
        }
    }

    /// Appends a committed batch to the shard's current buffer now.
    func append(_ batch: PostingsBatch, shard: ShardKey, incarnation: UInt64, from: UInt32, through: UInt32) -> Bool {
        guard let buffer = entries.withLock({ $0[Key(shard: shard, incarnation: incarnation)]?.current }) else { return false }
        return buffer.append(batch, from: from, through: through)
    }

    /// Returns once every append and retirement enqueued before the call has run (an upsert
    /// awaits this so its documents are searchable when it returns).
    func settled() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in appender.async { done.resume() } }
    }

    /// Blocks until every append and retirement enqueued so far has run (the writer, before it
    /// decides on a flush, which must see the whole buffer). Never called on the appender queue.
    func settle() {
        appender.sync {}
    }

    /// Starts a new, empty buffer at `base` once a flush committed, on the appender queue (called
    /// from a commit hook); the old one stays reachable for readers of older snapshots until two
    /// more flushes.
    func enqueueRetire(shard: ShardKey, incarnation: UInt64, newBase base: UInt32) {
        appender.async { self.retire(shard: shard, incarnation: incarnation, newBase: base) }
    }

    private func retire(shard: ShardKey, incarnation: UInt64, newBase base: UInt32) {
        flushes.add(1, ordering: .relaxed)
        entries.withLock { all in
            let key = Key(shard: shard, incarnation: incarnation)
            let fresh = PostingsBuffer(base: base)
            if var entry = all[key] {
                entry.retired = Array((entry.retired + [entry.current]).suffix(2))
                entry.current = fresh
                all[key] = entry
            } else {
                all[key] = Entry(current: fresh)
            }
        }
    }

    /// The buffer a reader whose snapshot has `flushed` and `next` must read: the one starting at
    /// `flushed`, once it holds every document below `next` (commit hooks run right after the
    /// commit, so the wait is short). Nil when the snapshot has nothing buffered.
    func forReader(_ shard: ShardKey, incarnation: UInt64, flushed: UInt32, next: UInt32) throws(EngineError) -> PostingsBuffer? {
        let key = Key(shard: shard, incarnation: incarnation)
        for _ in 0..<100_000 {
            let entry = entries.withLock { $0[key] }
            if let entry {
                if let buffer = entry.current.base == flushed ? entry.current : entry.retired.first(where: { $0.base == flushed }) {
                    if buffer.end >= next { return buffer }
                } else if entry.current.base > flushed {
                    throw .unavailable("the index changed under this search; retry")
                }
            } else if flushed == next {
                return nil
            }
            usleep(20)
        }
        throw .unavailable("the postings buffer of a shard is not ready; retry")
    }

    /// Buffered documents of every shard, for metrics.
    var bufferedDocuments: Int {
        entries.withLock { $0.values.reduce(0) { $0 + $1.current.documents } }
    }

    /// Forgets the collection's buffers (after its deletion committed), once queued appends ran.
    func drop(collection: String) {
        settle()
        let prefix = ShardKey.collectionPrefix(collection)
        entries.withLock { all in all = all.filter { !$0.key.shard.prefix.starts(with: prefix) } }
    }
}
