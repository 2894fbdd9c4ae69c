import PrismStorage

/// Read access to one shard's index inside a read transaction: statistics, postings, norms and
/// the deleted bitmap, with per-query caches of the chunks it touched.
final class ShardReader {
    let txn: ReadTransaction
    let tables: IndexTables
    let key: ShardKey
    let meta: ShardMeta
    private var deletedChunks: [UInt32: [UInt8]?] = [:]
    private var normChunks: [Int: [UInt32: [UInt8]?]] = [:]
    private var tieChunks: [UInt32: [UInt8]?] = [:]

    init(txn: ReadTransaction, tables: IndexTables, collection: String, shard: Int, fields: Int) throws {
        self.txn = txn
        self.tables = tables
        self.key = ShardKey(collection: collection, shard: shard)
        self.meta = try txn.withValue(tables.meta, key.meta) { ShardMeta.decode($0, fields: fields) }
    }

    func isDeleted(_ doc: UInt32) throws -> Bool {
        let chunk = doc / IndexTables.docsPerChunk
        if deletedChunks[chunk] == nil { deletedChunks[chunk] = .some(try txn.get(tables.deleted, key.chunk(chunk))) }
        guard let bits = deletedChunks[chunk] ?? nil else { return false }
        let bit = Int(doc % IndexTables.docsPerChunk)
        return bits[bit / 8] & UInt8(1 << (bit % 8)) != 0
    }

    func normID(field: Int, doc: UInt32) throws -> UInt8 {
        let chunk = doc / IndexTables.docsPerChunk
        if normChunks[field]?[chunk] == nil {
            normChunks[field, default: [:]][chunk] = .some(try txn.get(tables.norms, key.fieldChunk(field, chunk)))
        }
        guard let bytes = normChunks[field]?[chunk] ?? nil else { return 0 }
        return bytes[Int(doc % IndexTables.docsPerChunk)]
    }

    /// The document's tie-break key (xxHash64 of its id).
    func tieKey(_ doc: UInt32) throws -> UInt64 {
        let chunk = doc / IndexTables.docsPerChunk
        if tieChunks[chunk] == nil { tieChunks[chunk] = .some(try txn.get(tables.tieKeys, key.chunk(chunk))) }
        guard let bytes = tieChunks[chunk] ?? nil else { return 0 }
        let slot = Int(doc % IndexTables.docsPerChunk) * 8
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: slot, as: UInt64.self)) }
    }

    /// Documents containing the term (deleted ones included, as in the statistics).
    func documentFrequency(field: Int, term: [UInt8]) throws -> UInt64 {
        var total: UInt64 = 0
        try txn.scan(tables.postings, prefix: key.term(field, term)) { _, value in
            if !value.isEmpty { total += UInt64(value[0]) }
            return true
        }
        return total
    }

    /// Calls `body` for each block of the term with its decoded docs and frequencies, and the
    /// block key (to fetch positions).
    func forEachBlock(field: Int, term: [UInt8], _ body: ([UInt32], [UInt32], [UInt8]) throws -> Void) throws {
        var docs: [UInt32] = []
        var frequencies: [UInt32] = []
        docs.reserveCapacity(PostingsBlock.capacity)
        frequencies.reserveCapacity(PostingsBlock.capacity)
        try txn.scan(tables.postings, prefix: key.term(field, term)) { k, v in
            let first = ShardKey.readBE32(k, at: k.count - 4)
            guard PostingsBlock.decode(v, first: first, docs: &docs, frequencies: &frequencies) else {
                throw EngineError.unavailable("corrupt postings block in shard index of '\(String(decoding: key.prefix, as: UTF8.self))'")
            }
            try body(docs, frequencies, Array(k))
            return true
        }
    }

    func positions(blockKey: [UInt8], count: Int) throws -> [[UInt32]] {
        try txn.withValue(tables.positions, blockKey) { bytes in bytes.flatMap { PositionsBlock.decode($0, count: count) } } ?? []
    }

    func externalID(_ doc: UInt32) throws -> String? {
        try txn.withValue(tables.docids, key.docnum(doc)) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Statistics of this shard for the given terms.
    func statistics(terms: [CollectionStatistics.TermID], fields: Int) throws -> CollectionStatistics {
        var stats = CollectionStatistics()
        stats.documentCount = UInt64(meta.nextDocnum)
        for f in 0..<min(fields, meta.totalTokens.count) { stats.totalTokens[f] = meta.totalTokens[f] }
        for t in Set(terms) { stats.documentFrequency[t] = try documentFrequency(field: t.field, term: t.term) }
        return stats
    }
}
