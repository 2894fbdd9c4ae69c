import PrismStorage
import Synchronization

/// One column chunk copied out of LMDB; immutable, so readers of any transaction share it.
final class SealedChunk: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer

    init(copying source: UnsafeRawBufferPointer) {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, source.count), alignment: 8)
        if let base = source.baseAddress { copy.baseAddress?.copyMemory(from: base, byteCount: source.count) }
        bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(copy)[0..<source.count])
    }

    deinit { bytes.deallocate() }
}

/// Copies of a shard's column chunks that can no longer change: chunks all of whose document
/// numbers have been handed out. Norms, doc values, string values and tie keys are written once
/// per document (a replaced document gets a new number), so such a chunk's bytes are final, and
/// copying them once spares every later query one LMDB lookup per chunk it touches (a term in 1%
/// of 100k documents touches all 25 chunks of each column it reads). Deleted bits change, so
/// that column is never cached. Keyed by the collection's incarnation: a deleted and recreated
/// collection starts empty.
final class SealedChunks: Sendable {
    enum Column: UInt8, Sendable { case norms, values, strings, ties }

    private struct ID: Hashable {
        let column: Column
        let field: Int
    }

    private let columns = Mutex<[ID: SealedColumn]>([:])
    private let bytes = ByteCount()

    /// Bytes held by the copies.
    var byteCount: Int { bytes.value.load(ordering: .relaxed) }

    /// One column of one field: looked up once per reader, so a chunk is then found by its
    /// number alone (a query touches every chunk of the columns it reads).
    func column(_ column: Column, field: Int) -> SealedColumn {
        columns.withLock { all in
            let id = ID(column: column, field: field)
            if let known = all[id] { return known }
            let made = SealedColumn(bytes: bytes)
            all[id] = made
            return made
        }
    }
}

/// Bytes held by a shard's copies, shared by its columns.
final class ByteCount: Sendable {
    let value = Atomic<Int>(0)
}

/// The copies of one column's chunks, by chunk number.
final class SealedColumn: Sendable {
    private enum Slot {
        case unknown
        /// The chunk has no record.
        case absent
        case present(SealedChunk)
    }

    private let slots = Mutex<[Slot]>([])
    private let bytes: ByteCount

    init(bytes: ByteCount) {
        self.bytes = bytes
    }

    /// The copy of a chunk (nil when the chunk has no record), read with `load` the first time.
    func chunk(_ chunk: Int, load: () throws -> UnsafeRawBufferPointer?) rethrows -> SealedChunk? {
        let known: Slot = slots.withLock { chunk < $0.count ? $0[chunk] : .unknown }
        switch known {
        case .absent: return nil
        case .present(let copy): return copy
        case .unknown: break
        }
        let copy = try load().map(SealedChunk.init(copying:))
        return slots.withLock { all in
            if all.count <= chunk { all += Array(repeating: .unknown, count: chunk + 1 - all.count) }
            switch all[chunk] {
            case .absent: return nil
            case .present(let other): return other
            case .unknown:
                all[chunk] = copy.map { .present($0) } ?? .absent
                bytes.value.add(copy?.bytes.count ?? 0, ordering: .relaxed)
                return copy
            }
        }
    }
}

/// The sealed chunks of every shard, by shard and collection incarnation.
final class SealedChunkCaches: Sendable {
    private struct Key: Hashable {
        let shard: ShardKey
        let incarnation: UInt64
    }

    private let caches = Mutex<[Key: SealedChunks]>([:])

    func chunks(for shard: ShardKey, incarnation: UInt64) -> SealedChunks {
        caches.withLock { all in
            let key = Key(shard: shard, incarnation: incarnation)
            if let known = all[key] { return known }
            let made = SealedChunks()
            all[key] = made
            return made
        }
    }

    /// Bytes held by all shards' copies.
    var byteCount: Int { caches.withLock { $0.values.reduce(0) { $0 + $1.byteCount } } }

    /// Drops a collection's copies (it was deleted; a new one with the same name starts empty).
    func drop(collection: String) {
        let prefix = ShardKey.collectionPrefix(collection)
        caches.withLock { all in all = all.filter { !$0.key.shard.prefix.starts(with: prefix) } }
    }
}
