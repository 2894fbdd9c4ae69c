import PrismStorage

/// Read access to one shard's index inside a read transaction: statistics, postings, norms and
/// the deleted bitmap. Chunks are referenced in place (LMDB keeps them mapped for the
/// transaction's life), indexed by chunk number, so per-document lookups are two array reads.
/// One chunked column of a shard (norms, doc values, string values, tie keys, deleted bits):
/// chunk records referenced in place, loaded on first touch. A column that can be cached
/// (`SealedChunks`) takes its full chunks from the shared copies instead of LMDB.
final class ChunkColumn {
    private let txn: ReadTransaction
    private let table: Table
    private let chunkKey: (UInt32) -> [UInt8]
    private var chunks: [UnsafeRawBufferPointer?]
    private var loaded: [Bool]
    private let sealed: (column: SealedColumn, below: Int)?
    /// The shared copies this column points into, kept alive for its life.
    private var copies: [SealedChunk] = []

    init(_ txn: ReadTransaction, _ table: Table, chunks count: Int, key chunkKey: @escaping (UInt32) -> [UInt8],
         sealed: (column: SealedColumn, below: Int)? = nil) {
        self.txn = txn
        self.table = table
        self.chunkKey = chunkKey
        self.sealed = sealed
        chunks = [UnsafeRawBufferPointer?](repeating: nil, count: count)
        loaded = [Bool](repeating: false, count: count)
    }

    /// The chunk record holding `doc` and the document's slot in it; nil when there is none.
    @inline(__always)
    func chunk(for doc: UInt32) throws -> (bytes: UnsafeRawBufferPointer, slot: Int)? {
        let c = Int(doc / IndexTables.docsPerChunk)
        guard c < chunks.count else { return nil }
        if !loaded[c] { try load(c) }
        guard let bytes = chunks[c] else { return nil }
        return (bytes, Int(doc % IndexTables.docsPerChunk))
    }

    private func load(_ c: Int) throws {
        if let sealed, c < sealed.below {
            let (txn, table, chunkKey) = (self.txn, self.table, self.chunkKey)
            let copy = try sealed.column.chunk(c) { try txn.valueUntilEnd(table, chunkKey(UInt32(c))) }
            if let copy { copies.append(copy) }
            chunks[c] = copy?.bytes
        } else {
            chunks[c] = try txn.valueUntilEnd(table, chunkKey(UInt32(c)))
        }
        loaded[c] = true
    }
}

/// Read access to one shard's index inside a read transaction: statistics, postings, norms, doc
/// values and the deleted bitmap. Chunks are referenced in place (LMDB keeps them mapped for the
/// transaction's life), indexed by chunk number, so per-document lookups are two array reads.
final class ShardReader: HNSWStorage {
    let txn: ReadTransaction
    let tables: IndexTables
    let key: ShardKey
    let meta: ShardMeta
    /// False when the shard never deleted a document: deletion checks are skipped entirely.
    let hasDeletions: Bool
    /// Field types by ordinal.
    let fieldTypes: [FieldType]
    private let chunkCount: Int
    private let deleted: ChunkColumn
    private lazy var ties = column(.ties, tables.tieKeys, field: 0, key: key.chunk)
    private var normColumns: [Int: ChunkColumn] = [:]
    private var valueColumns: [Int: ChunkColumn] = [:]
    private var stringColumns: [Int: ChunkColumn] = [:]

    init(txn: ReadTransaction, tables: IndexTables, collection: String, shard: Int, fields: Int, fieldTypes: [FieldType] = []) throws {
        self.fieldTypes = fieldTypes
        self.txn = txn
        self.tables = tables
        let key = ShardKey(collection: collection, shard: shard)
        self.key = key
        meta = try txn.withValue(tables.meta, key.meta) { ShardMeta.decode($0, fields: fields) }
        hasDeletions = meta.liveDocs < meta.nextDocnum
        chunkCount = Int(meta.nextDocnum / IndexTables.docsPerChunk) + 1
        deleted = ChunkColumn(txn, tables.deleted, chunks: chunkCount, key: key.chunk)
    }

    /// Shared copies of this shard's full column chunks (set with the postings buffer, before
    /// any column is read).
    var sealedChunks: SealedChunks?

    private func column(_ kind: SealedChunks.Column, _ table: Table, field: Int, key chunkKey: @escaping (UInt32) -> [UInt8]) -> ChunkColumn {
        ChunkColumn(txn, table, chunks: chunkCount, key: chunkKey,
                    sealed: sealedChunks.map { ($0.column(kind, field: field), Int(meta.nextDocnum / IndexTables.docsPerChunk)) })
    }

    private func column(_ cache: inout [Int: ChunkColumn], _ kind: SealedChunks.Column, _ table: Table, field: Int) -> ChunkColumn {
        if let column = cache[field] { return column }
        let key = self.key
        let column = column(kind, table, field: field) { key.fieldChunk(field, $0) }
        cache[field] = column
        return column
    }

    @inline(__always)
    func isDeleted(_ doc: UInt32) throws -> Bool {
        guard hasDeletions else { return false }
        guard doc < meta.nextDocnum else { return true }
        guard let (bits, slot) = try deleted.chunk(for: doc) else { return false }
        return bits[slot / 8] & UInt8(1 << (slot % 8)) != 0
    }

    func norms(field: Int) -> ChunkColumn { column(&normColumns, .norms, tables.norms, field: field) }

    @inline(__always)
    func normID(_ column: ChunkColumn, field: Int, doc: UInt32) throws -> UInt8 {
        guard let (bytes, slot) = try column.chunk(for: doc) else { return 0 }
        return bytes[slot]
    }

    func normID(field: Int, doc: UInt32) throws -> UInt8 {
        try normID(norms(field: field), field: field, doc: doc)
    }

    func values(field: Int) -> ChunkColumn { column(&valueColumns, .values, tables.values, field: field) }

    /// The stored bits of the document's value in `field`, or nil when it has none.
    @inline(__always)
    func value(_ column: ChunkColumn, field: Int, doc: UInt32) throws -> UInt64? {
        guard let (bytes, slot) = try column.chunk(for: doc) else { return nil }
        return DocValues.get(bytes, slot: slot)
    }

    /// The document's value of a string field, from its column.
    func stringValue(field: Int, doc: UInt32) throws -> String? {
        guard let (bytes, slot) = try column(&stringColumns, .strings, tables.strings, field: field).chunk(for: doc) else { return nil }
        return StringValues.get(bytes, slot: slot)
    }

    /// The document's tie-break key (xxHash64 of its id).
    func tieKey(_ doc: UInt32) throws -> UInt64 {
        guard let (bytes, slot) = try ties.chunk(for: doc) else { return 0 }
        return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: slot * 8, as: UInt64.self))
    }

    /// The shard's HNSW entry point and size.
    func graphMeta() throws -> HNSWMeta {
        try txn.withValue(tables.graphMeta, key.meta) { HNSWMeta.decode($0) }
    }

    /// Visits every stored vector of the shard in document order (exact search).
    func forEachVector(_ body: (UInt32, UnsafeRawBufferPointer) throws -> Void) throws {
        try txn.scan(tables.vectors, prefix: key.prefix) { k, v in
            guard k.count == key.prefix.count + 4 else { return true }
            try body(ShardKey.readBE32(k, at: key.prefix.count), v)
            return true
        }
    }

    /// The shard's postings buffer as this snapshot sees it (set when the store has buffers).
    var postingsBuffer: PostingsBuffer?
    private var bufferedTerms: [TermKey: BufferedPostings?] = [:]

    /// The term's postings in the buffer, below this snapshot's next document number.
    func buffered(field: Int, term: [UInt8]) -> BufferedPostings? {
        guard let buffer = postingsBuffer else { return nil }
        let termKey = TermKey(key.term(field, term))
        if let known = bufferedTerms[termKey] { return known }
        let view = buffer.postings(termKey, below: meta.nextDocnum)
        bufferedTerms[termKey] = view
        return view
    }

    /// Documents containing the term (deleted ones included, as in the statistics).
    func documentFrequency(field: Int, term: [UInt8]) throws -> UInt64 {
        let stored = try txn.withValue(tables.terms, key.term(field, term)) { bytes in
            bytes.map { UInt64(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) } ?? 0
        }
        return stored + UInt64(buffered(field: field, term: term)?.documentCount ?? 0)
    }

    /// Calls `body` with each encoded `PostingsBlock` of the term, in document order (LMDB's, then
    /// the buffer's); `PostingsBlock.header` and `decode` read it.
    func forEachRawBlock(field: Int, term: [UInt8], _ body: (_ block: UnsafeRawBufferPointer) throws -> Void) throws {
        try forEachStoredBlock(field: field, term: term) { _, postings in try body(try postings()) }
        guard let buffered = buffered(field: field, term: term) else { return }
        for block in buffered.blocks {
            try block.postings.withUnsafeBytes { try body($0) }
        }
    }

    /// Calls `body` with each LMDB block's summary, read from its key, and a function that reads
    /// the block itself (a caller that skips the block never touches its value).
    func forEachStoredBlock(field: Int, term: [UInt8], _ body: (BlockSummary, () throws -> UnsafeRawBufferPointer) throws -> Void) throws {
        let termKey = key.term(field, term)
        try txn.scan(tables.postings, prefix: termKey) { k, v in
            guard let summary = ShardKey.blockSummary(k, termLength: termKey.count) else { return true }
            try body(summary) {
                guard let (postings, _) = BlockRecord.split(v) else { throw corruptBlock() }
                return postings
            }
            return true
        }
    }

    func corruptBlock() -> EngineError {
        .unavailable("corrupt postings block in the index of '\(String(decoding: key.prefix.prefix { $0 != 0 }, as: UTF8.self))'")
    }

    /// Calls `body` for each block of the term with its decoded docs and frequencies.
    func forEachBlock(field: Int, term: [UInt8], _ body: ([UInt32], [UInt32]) throws -> Void) throws {
        var docs: [UInt32] = []
        var frequencies: [UInt32] = []
        docs.reserveCapacity(PostingsBlock.capacity)
        frequencies.reserveCapacity(PostingsBlock.capacity)
        try forEachRawBlock(field: field, term: term) { block in
            guard PostingsBlock.decode(block, docs: &docs, frequencies: &frequencies) else { throw corruptBlock() }
            try body(docs, frequencies)
        }
    }

    var documentBound: UInt32 { meta.nextDocnum }

    /// In-memory vectors and graph shared across queries (set when the collection has a vector backend).
    var vectorMemory: ShardVectorMemory?

    func vector(_ doc: UInt32) throws -> UnsafeRawBufferPointer? {
        if let cache = vectorMemory?.vectors {
            if let v = cache.cached(doc) { return v }
            if !cache.isComplete(chunkOf: doc) {
                try cache.load(chunkOf: doc, nextDocnum: meta.nextDocnum) { first, body in
                    try txn.scan(tables.vectors, prefix: key.prefix, from: key.docnum(first)) { k, v in
                        guard k.count == key.prefix.count + 4 else { return true }
                        let d = ShardKey.readBE32(k, at: key.prefix.count)
                        if d < first { return true }
                        if d >= first + UInt32(ShardVectorCache.chunkSize) { return false }
                        try body(d, v)
                        return true
                    }
                }
                if let v = cache.cached(doc) { return v }
            }
        }
        return try txn.valueUntilEnd(tables.vectors, key.docnum(doc))
    }

    func neighbors(_ doc: UInt32, level: Int, into out: inout [UInt32]) throws {
        try txn.withValue(tables.graph, key.docnum(doc)) { bytes in
            if let bytes { HNSWNode.neighbors(bytes, level: level, into: &out) } else { out.removeAll(keepingCapacity: true) }
        }
    }

    /// Visits every stored graph node of the shard.
    func forEachGraphNode(_ body: (UInt32, UnsafeRawBufferPointer) throws -> Void) throws {
        try txn.scan(tables.graph, prefix: key.prefix) { k, v in
            if k.count == key.prefix.count + 4 { try body(ShardKey.readBE32(k, at: key.prefix.count), v) }
            return true
        }
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
