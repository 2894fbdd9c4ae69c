import PrismStorage
import Synchronization

/// Vectors of a shard kept in memory across queries, in chunks of 1024 documents. A document's
/// vector never changes once committed (an update gets a new internal number), so an entry, once
/// present, is final; only deleting the collection drops the cache. Entries arrive two ways:
/// committed batches publish their new vectors (after the commit, never from inside a replayable
/// write), and readers load whole chunks from their snapshot on first touch. Readers find entries
/// without locking: a presence bit is set, with release ordering, after the bytes are written.
final class ShardVectorCache: @unchecked Sendable {
    static let chunkSize = 1024
    static let maxChunks = 1 << 14  // 16M documents per shard
    private static let presenceWords = chunkSize / 64

    let dimension: Int
    /// Allocated chunks; nil until the first entry. A chunk is never replaced once set.
    private let slots: UnsafeMutablePointer<Atomic<UnsafeMutableRawPointer?>>
    /// Chunks holding every document of a final chunk (no reader needs to load them again).
    private let complete: UnsafeMutablePointer<Atomic<Bool>>
    /// Serializes every write into chunks (two writers may store the same bytes).
    private let writing = Mutex(0)
    /// Where the chunks live (huge pages once the shard is large).
    private let arena: ChunkArena

    /// One chunk: `presenceWords` atomic words of presence bits, then `chunkSize` vectors.
    private var vectorBytes: Int { dimension * 4 }

    init(dimension: Int) {
        self.dimension = dimension
        arena = ChunkArena(blockBytes: ShardVectorCache.presenceWords * 8 + ShardVectorCache.chunkSize * dimension * 4)
        slots = .allocate(capacity: ShardVectorCache.maxChunks)
        complete = .allocate(capacity: ShardVectorCache.maxChunks)
        for i in 0..<ShardVectorCache.maxChunks {
            (slots + i).initialize(to: Atomic(nil))
            (complete + i).initialize(to: Atomic(false))
        }
    }

    deinit {
        for i in 0..<ShardVectorCache.maxChunks {
            // The arena returns the chunks' memory when it goes.
            slots[i].load(ordering: .acquiring)?.assumingMemoryBound(to: Atomic<UInt64>.self).deinitialize(count: ShardVectorCache.presenceWords)
        }
        slots.deinitialize(count: ShardVectorCache.maxChunks)
        slots.deallocate()
        complete.deinitialize(count: ShardVectorCache.maxChunks)
        complete.deallocate()
    }

    /// The vector of `doc` when it is in memory, else nil (the caller reads LMDB).
    @inline(__always)
    func cached(_ doc: UInt32) -> UnsafeRawBufferPointer? {
        let c = Int(doc) / ShardVectorCache.chunkSize
        guard c < ShardVectorCache.maxChunks, let chunk = slots[c].load(ordering: .acquiring) else { return nil }
        let slot = Int(doc) % ShardVectorCache.chunkSize
        let word = chunk.assumingMemoryBound(to: Atomic<UInt64>.self)[slot / 64].load(ordering: .acquiring)
        guard word & (UInt64(1) << UInt64(slot % 64)) != 0 else { return nil }
        return UnsafeRawBufferPointer(start: chunk + ShardVectorCache.presenceWords * 8 + slot * vectorBytes, count: vectorBytes)
    }

    /// Whether the chunk of `doc` was loaded whole (a miss there means the document has no vector).
    func isComplete(chunkOf doc: UInt32) -> Bool {
        let c = Int(doc) / ShardVectorCache.chunkSize
        return c < ShardVectorCache.maxChunks && complete[c].load(ordering: .acquiring)
    }

    /// Stores committed vectors (a commit hook calls this with the batch's new vectors).
    func publish(_ vectors: [(doc: UInt32, bytes: UnsafeRawBufferPointer)]) {
        writing.withLock { _ in
            for (doc, bytes) in vectors { store(doc, bytes) }
        }
    }

    /// Loads the chunk of `doc` from a reader's snapshot when the chunk is final there (wholly
    /// below `nextDocnum`), and marks it complete.
    func load(chunkOf doc: UInt32, nextDocnum: UInt32, reader: (UInt32, (UInt32, UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let c = Int(doc) / ShardVectorCache.chunkSize
        guard c < ShardVectorCache.maxChunks, (c + 1) * ShardVectorCache.chunkSize <= Int(nextDocnum) else { return }
        try writing.withLock { _ in
            guard !complete[c].load(ordering: .acquiring) else { return }
            let first = UInt32(c * ShardVectorCache.chunkSize)
            try reader(first) { d, bytes in
                guard d >= first, d < first + UInt32(ShardVectorCache.chunkSize) else { return }
                store(d, bytes)
            }
            complete[c].store(true, ordering: .releasing)
        }
    }

    /// Writes one vector and then its presence bit; callers hold `writing`.
    private func store(_ doc: UInt32, _ bytes: UnsafeRawBufferPointer) {
        let c = Int(doc) / ShardVectorCache.chunkSize
        guard c < ShardVectorCache.maxChunks, bytes.count == vectorBytes, let source = bytes.baseAddress else { return }
        let chunk: UnsafeMutableRawPointer
        if let existing = slots[c].load(ordering: .acquiring) {
            chunk = existing
        } else {
            chunk = arena.allocate()
            let words = chunk.bindMemory(to: Atomic<UInt64>.self, capacity: ShardVectorCache.presenceWords)
            for i in 0..<ShardVectorCache.presenceWords { (words + i).initialize(to: Atomic(0)) }
            slots[c].store(chunk, ordering: .releasing)
        }
        let slot = Int(doc) % ShardVectorCache.chunkSize
        let presence = chunk.assumingMemoryBound(to: Atomic<UInt64>.self) + slot / 64
        let bit = UInt64(1) << UInt64(slot % 64)
        guard presence.pointee.load(ordering: .relaxed) & bit == 0 else { return }
        (chunk + ShardVectorCache.presenceWords * 8 + slot * vectorBytes).copyMemory(from: source, byteCount: vectorBytes)
        presence.pointee.bitwiseOr(bit, ordering: .releasing)
    }
}

/// The in-memory vector state of one shard: its vectors and its graph.
struct ShardVectorMemory: Sendable {
    let vectors: ShardVectorCache
    let graph: ShardGraph
}

/// The in-memory vector state of every shard of every collection of a store. An entry belongs to
/// one incarnation of a collection (a random id written when it is created, read from the
/// caller's own transaction), so a search still reading a deleted collection's snapshot can never
/// fill the cache of a new collection of the same name, or the other way round.
final class VectorCaches: Sendable {
    private struct Key: Hashable {
        let shard: ShardKey
        let incarnation: UInt64
    }

    private let caches = Mutex<[Key: ShardVectorMemory]>([:])

    func memory(for key: ShardKey, incarnation: UInt64, backend: CollectionSchema.VectorBackend) -> ShardVectorMemory {
        caches.withLock { all in
            let k = Key(shard: key, incarnation: incarnation)
            if let m = all[k], m.vectors.dimension == backend.dimension { return m }
            let m = ShardVectorMemory(vectors: ShardVectorCache(dimension: backend.dimension), graph: ShardGraph(m: backend.hnswM))
            all[k] = m
            return m
        }
    }

    /// Drops the caches of a collection (it was deleted; a new one with the same name starts empty).
    func drop(collection: String) {
        let prefix = ShardKey.collectionPrefix(collection)
        caches.withLock { all in all = all.filter { !$0.key.shard.prefix.starts(with: prefix) } }
    }
}
