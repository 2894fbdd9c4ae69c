import PrismStorage
import Synchronization

/// Vectors of a shard kept in memory across queries, in chunks of 1024 documents. A document's
/// vector never changes (an update gets a new internal number), so a chunk that lies wholly below
/// the shard's next document number is final once loaded and is never invalidated; only deleting
/// the collection drops it. Readers find published chunks without locking.
final class ShardVectorCache: @unchecked Sendable {
    static let chunkSize = 1024
    static let maxChunks = 1 << 14  // 16M documents per shard

    let dimension: Int
    /// Published chunks; nil until loaded. A chunk is never replaced once set.
    private let slots: UnsafeMutablePointer<Atomic<UnsafeMutableRawPointer?>>
    private let loading = Mutex(0)

    /// One chunk: a presence bitmap, then `chunkSize` vectors of `dimension` floats.
    private var chunkBytes: Int { ShardVectorCache.chunkSize / 8 + ShardVectorCache.chunkSize * dimension * 4 }

    init(dimension: Int) {
        self.dimension = dimension
        slots = .allocate(capacity: ShardVectorCache.maxChunks)
        for i in 0..<ShardVectorCache.maxChunks { (slots + i).initialize(to: Atomic(nil)) }
    }

    deinit {
        for i in 0..<ShardVectorCache.maxChunks {
            if let p = slots[i].load(ordering: .acquiring) { p.deallocate() }
        }
        slots.deinitialize(count: ShardVectorCache.maxChunks)
        slots.deallocate()
    }

    /// The vector of `doc`, from memory when its chunk is published, else nil (caller reads LMDB).
    @inline(__always)
    func cached(_ doc: UInt32) -> UnsafeRawBufferPointer? {
        let c = Int(doc) / ShardVectorCache.chunkSize
        guard c < ShardVectorCache.maxChunks, let chunk = slots[c].load(ordering: .acquiring) else { return nil }
        let slot = Int(doc) % ShardVectorCache.chunkSize
        guard chunk.load(fromByteOffset: slot / 8, as: UInt8.self) & UInt8(1 << (slot % 8)) != 0 else { return nil }
        let offset = ShardVectorCache.chunkSize / 8 + slot * dimension * 4
        return UnsafeRawBufferPointer(start: chunk + offset, count: dimension * 4)
    }

    func isPublished(_ doc: UInt32) -> Bool {
        let c = Int(doc) / ShardVectorCache.chunkSize
        return c < ShardVectorCache.maxChunks && slots[c].load(ordering: .acquiring) != nil
    }

    /// Loads and publishes the chunk of `doc` when it is final (wholly below `nextDocnum`).
    func load(chunkOf doc: UInt32, nextDocnum: UInt32, reader: (UInt32, (UInt32, UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let c = Int(doc) / ShardVectorCache.chunkSize
        guard c < ShardVectorCache.maxChunks, (c + 1) * ShardVectorCache.chunkSize <= Int(nextDocnum) else { return }
        try loading.withLock { _ in
            guard slots[c].load(ordering: .acquiring) == nil else { return }
            let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkBytes, alignment: 16)
            chunk.initializeMemory(as: UInt8.self, repeating: 0, count: chunkBytes)
            let first = UInt32(c * ShardVectorCache.chunkSize)
            do {
                try reader(first) { d, bytes in
                    let slot = Int(d - first)
                    guard slot >= 0, slot < ShardVectorCache.chunkSize, bytes.count == dimension * 4, let source = bytes.baseAddress else { return }
                    let bits = chunk.load(fromByteOffset: slot / 8, as: UInt8.self) | UInt8(1 << (slot % 8))
                    chunk.storeBytes(of: bits, toByteOffset: slot / 8, as: UInt8.self)
                    (chunk + ShardVectorCache.chunkSize / 8 + slot * dimension * 4).copyMemory(from: source, byteCount: bytes.count)
                }
            } catch {
                chunk.deallocate()
                throw error
            }
            slots[c].store(chunk, ordering: .releasing)
        }
    }
}

/// The vector caches of every shard of every collection of a store. A cache belongs to one
/// incarnation of a collection (a random id written when it is created, read from the caller's
/// own transaction), so a search still reading a deleted collection's snapshot can never fill the
/// cache of a new collection of the same name, or the other way round.
final class VectorCaches: Sendable {
    private struct Key: Hashable {
        let shard: ShardKey
        let incarnation: UInt64
    }

    private let caches = Mutex<[Key: ShardVectorCache]>([:])

    func cache(for key: ShardKey, incarnation: UInt64, dimension: Int) -> ShardVectorCache {
        caches.withLock { all in
            let k = Key(shard: key, incarnation: incarnation)
            if let c = all[k], c.dimension == dimension { return c }
            let c = ShardVectorCache(dimension: dimension)
            all[k] = c
            return c
        }
    }

    /// Drops the caches of a collection (it was deleted; a new one with the same name starts empty).
    func drop(collection: String) {
        let prefix = ShardKey.collectionPrefix(collection)
        caches.withLock { all in all = all.filter { !$0.key.shard.prefix.starts(with: prefix) } }
    }
}
