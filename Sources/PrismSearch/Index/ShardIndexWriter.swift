import Logging
import PrismStorage

/// Adds and removes documents in one shard's inverted index inside a write transaction: assigns
/// internal document numbers, records field norms, token totals and doc values, marks replaced or
/// deleted documents in the deleted bitmap, and hands the batch's postings to the shard's
/// `PostingsBuffer` (or, when it is full, writes them to LMDB, appending to each term's last
/// block). Nothing is rebuilt: an upsert is a delete plus an add.
struct ShardIndexWriter {
    let tables: IndexTables
    let schema: CollectionSchema
    let key: ShardKey
    /// The shard's in-memory vectors and graph, read by graph inserts and updated after commits.
    let vectorMemory: ShardVectorMemory?

    /// Where postings wait before being written to LMDB; nil writes them to LMDB with each batch.
    let postingsBuffers: PostingsBuffers?
    let incarnation: UInt64

    init(tables: IndexTables, schema: CollectionSchema, shard: Int, vectorCaches: VectorCaches? = nil,
         postingsBuffers: PostingsBuffers? = nil, incarnation: UInt64 = 0) {
        self.tables = tables
        self.schema = schema
        let key = ShardKey(collection: schema.collection, shard: shard)
        self.key = key
        self.postingsBuffers = postingsBuffers
        self.incarnation = incarnation
        vectorMemory = schema.backends.vector.flatMap { backend in vectorCaches?.memory(for: key, incarnation: incarnation, backend: backend) }
    }

    /// Documents of one shard with their postings already computed, numbered from 0 in order:
    /// the analysis runs before the write (on the caller's thread, in parallel with the writer),
    /// and the writer shifts the numbers to the documents' internal numbers.
    struct PreparedDocuments: Sendable {
        let documents: [Document]
        fileprivate let postings: PostingsBatch
        fileprivate let lengths: [(ordinal: Int, docnum: UInt32, tokens: Int)]
    }

    /// Analyzes `documents` for this shard (pure; safe on any thread).
    func prepare(_ documents: [Document]) -> PreparedDocuments {
        var postings = PostingsBatch()
        var lengths: [(ordinal: Int, docnum: UInt32, tokens: Int)] = []
        for (ordinal, field) in (schema.backends.text?.fields ?? []).enumerated() where field.indexed {
            guard let analyzer = field.effectiveAnalyzer else { continue }
            let texts: [(docnum: UInt32, text: String)] = documents.enumerated().compactMap { i, document in
                guard case .text(let text)? = document.value(field.name) else { return nil }
                return (UInt32(i), text)
            }
            let inversion = FieldInversion(texts, analyzer: analyzer, shard: key, field: ordinal)
            lengths += inversion.lengths.map { (ordinal, $0.docnum, $0.tokens) }
            if postings.termCount == 0 { postings = inversion.postings } else { postings.append(contentsOf: inversion.postings) }
        }
        return PreparedDocuments(documents: documents, postings: postings, lengths: lengths)
    }

    /// Indexes `documents` (replacing earlier versions with the same id) and removes `deletions`.
    func apply(_ txn: WriteTransaction, upserts documents: [Document], deletions: [String]) throws {
        try apply(txn, upserts: prepare(documents), deletions: deletions)
    }

    /// Indexes prepared documents (replacing earlier versions with the same id) and removes `deletions`.
    func apply(_ txn: WriteTransaction, upserts prepared: PreparedDocuments, deletions: [String]) throws {
        let documents = prepared.documents
        let fields = schema.backends.text?.fields ?? []
        var meta = try txn.withValue(tables.meta, key.meta) { ShardMeta.decode($0, fields: fields.count) }
        let start = meta
        var deletedChunks: [UInt32: [UInt8]] = [:]
        var normChunks: [Int: [UInt32: [UInt8]]] = [:]
        var tieChunks: [UInt32: [UInt8]] = [:]
        var valueChunks: [Int: [UInt32: [UInt8]]] = [:]
        var newVectors: [(doc: UInt32, vector: [Float])] = []
        var stringChunks: [Int: [UInt32: [String?]]] = [:]
        var assigned: [(docnum: UInt32, document: Document)] = []
        assigned.reserveCapacity(documents.count)

        func markDeleted(_ id: String) throws -> Bool {
            guard let old = try txn.withValue(tables.docnums, key.id(id), { $0.map { ShardKey.readBE32($0, at: 0) } }) else { return false }
            let chunk = old / IndexTables.docsPerChunk
            if deletedChunks[chunk] == nil {
                deletedChunks[chunk] = try txn.get(tables.deleted, key.chunk(chunk)) ?? [UInt8](repeating: 0, count: Int(IndexTables.docsPerChunk / 8))
            }
            let bit = Int(old % IndexTables.docsPerChunk)
            deletedChunks[chunk]?[bit / 8] |= UInt8(1 << (bit % 8))
            try txn.delete(tables.docnums, key.id(id))
            try txn.delete(tables.docids, key.docnum(old))
            meta.liveDocs -= 1
            return true
        }

        for id in deletions { _ = try markDeleted(id) }

        for document in documents {
            _ = try markDeleted(document.id)
            let docnum = meta.nextDocnum
            meta.nextDocnum += 1
            meta.liveDocs += 1
            try txn.put(tables.docnums, key.id(document.id), ShardKey.be32(docnum))
            try txn.put(tables.docids, key.docnum(docnum), Array(document.id.utf8))
            let tieChunk = docnum / IndexTables.docsPerChunk
            if tieChunks[tieChunk] == nil {
                tieChunks[tieChunk] = try txn.get(tables.tieKeys, key.chunk(tieChunk)) ?? [UInt8](repeating: 0, count: Int(IndexTables.docsPerChunk) * 8)
            }
            let tie = StableHash.xxHash64(document.id).littleEndian
            let slot = Int(docnum % IndexTables.docsPerChunk) * 8
            withUnsafeBytes(of: tie) { bytes in
                for i in 0..<8 { tieChunks[tieChunk]?[slot + i] = bytes[i] }
            }

            if let backend = schema.backends.vector, case .vector(let v)? = document.value(backend.embeddingField) {
                newVectors.append((docnum, v))
            }

            for (ordinal, field) in fields.enumerated() where field.type == .string {
                guard case .text(let value)? = document.value(field.name) else { continue }
                let chunk = docnum / IndexTables.docsPerChunk
                if stringChunks[ordinal, default: [:]][chunk] == nil {
                    stringChunks[ordinal, default: [:]][chunk] = try txn.withValue(tables.strings, key.fieldChunk(ordinal, chunk)) { StringValues.decode($0) }
                }
                stringChunks[ordinal, default: [:]][chunk, default: []][Int(docnum % IndexTables.docsPerChunk)] = value
            }

            for (ordinal, field) in fields.enumerated() where DocValues.supports(field.type) {
                guard let value = document.value(field.name), let bits = DocValues.bits(value) else { continue }
                let chunk = docnum / IndexTables.docsPerChunk
                if valueChunks[ordinal, default: [:]][chunk] == nil {
                    valueChunks[ordinal, default: [:]][chunk] = try txn.get(tables.values, key.fieldChunk(ordinal, chunk)) ?? DocValues.emptyChunk()
                }
                DocValues.set(&valueChunks[ordinal, default: [:]][chunk, default: DocValues.emptyChunk()], slot: Int(docnum % IndexTables.docsPerChunk), bits: bits)
            }

            assigned.append((docnum, document))
        }

        var batchPostings = prepared.postings
        batchPostings.shiftDocuments(by: start.nextDocnum)
        for (ordinal, relative, tokens) in prepared.lengths {
            let docnum = start.nextDocnum + relative
            meta.totalTokens[ordinal] += UInt64(tokens)
            let chunk = docnum / IndexTables.docsPerChunk
            if normChunks[ordinal, default: [:]][chunk] == nil {
                normChunks[ordinal, default: [:]][chunk] = try txn.get(tables.norms, key.fieldChunk(ordinal, chunk))
                    ?? [UInt8](repeating: 0, count: Int(IndexTables.docsPerChunk))
            }
            normChunks[ordinal]?[chunk]?[Int(docnum % IndexTables.docsPerChunk)] = FieldNorm.id(forLength: tokens)
        }
        try storePostings(batchPostings, start: start, meta: &meta, txn)

        for (chunk, bits) in deletedChunks { try txn.put(tables.deleted, key.chunk(chunk), bits) }
        for (chunk, ties) in tieChunks { try txn.put(tables.tieKeys, key.chunk(chunk), ties) }
        for (ordinal, chunks) in stringChunks {
            for (chunk, values) in chunks { try txn.put(tables.strings, key.fieldChunk(ordinal, chunk), StringValues.encode(values)) }
        }
        for (ordinal, chunks) in valueChunks {
            for (chunk, bytes) in chunks { try txn.put(tables.values, key.fieldChunk(ordinal, chunk), bytes) }
        }
        for (ordinal, chunks) in normChunks {
            for (chunk, bytes) in chunks { try txn.put(tables.norms, key.fieldChunk(ordinal, chunk), bytes) }
        }
        if let backend = schema.backends.vector, !newVectors.isEmpty {
            try HNSWWriter(backend: backend, tables: tables, key: key, memory: vectorMemory).insert(newVectors, txn)
        }
        try txn.put(tables.meta, key.meta, meta.encoded())
    }

    /// Puts the batch's postings in the shard's buffer (after the commit), or, when the buffer is
    /// full or there is none, writes the buffer's and the batch's postings to LMDB now.
    private func storePostings(_ batch: PostingsBatch, start: ShardMeta, meta: inout ShardMeta,
                               _ txn: WriteTransaction) throws {
        guard meta.nextDocnum > start.nextDocnum else { return }
        guard let buffers = postingsBuffers else { return try flush(nil, with: batch, through: meta.nextDocnum, meta: &meta, txn) }
        func currentBuffer() throws -> PostingsBuffer {
            guard let buffer = buffers.current(key, incarnation: incarnation, flushed: start.flushedDocnum, next: start.nextDocnum) else {
                throw EngineError.unavailable("the postings buffer of collection '\(schema.collection)' was not recovered")
            }
            return buffer
        }
        let (key, incarnation) = (self.key, self.incarnation)
        let (from, through) = (start.nextDocnum, meta.nextDocnum)
        var buffer = try currentBuffer()
        // Appends run behind the writer; a flush must see all of them, so wait for the queue
        // when this batch would fill the buffer (once per flush, not per batch).
        if Int(start.nextDocnum - buffer.base) + Int(through - from) >= buffers.flushDocuments {
            buffers.settle()
            buffer = try currentBuffer()
        }
        // Flush only when the buffer holds exactly what this transaction started from (an earlier
        // request of the same batch may have added documents whose postings wait in its hook).
        let mergeable = buffer.base == start.flushedDocnum && buffer.end == start.nextDocnum
        if mergeable && buffer.documents == 0 && Int(through - from) >= buffers.flushDocuments {
            try flush(buffer, with: batch, through: through, meta: &meta, txn)
        } else {
            if mergeable && buffer.documents + Int(through - from) >= buffers.flushDocuments {
                // The buffer alone is written; this batch starts the next one (its append hook
                // runs after the flush's retirement). Merging the batch into the buffer's terms
                // here would copy every term list the buffer shares with its readers.
                try flush(buffer, with: PostingsBatch(), through: from, meta: &meta, txn)
            }
            let collection = schema.collection
            txn.afterCommit {
                buffers.enqueueAppend(batch, shard: key, incarnation: incarnation, from: from, through: through) {
                    Logger(label: "prism.index").critical("postings buffer out of order; searches miss documents until restart",
                                                          metadata: ["collection": "\(collection)", "from": "\(from)"])
                }
            }
        }
    }

    /// Writes the shard's buffered postings to LMDB now, if it has any (a node shutting down, a
    /// benchmark timing the whole indexing). Returns the documents written.
    @discardableResult
    func flushBuffer(_ txn: WriteTransaction) throws -> Int {
        guard let buffers = postingsBuffers else { return 0 }
        buffers.settle()
        let fields = schema.backends.text?.fields ?? []
        var meta = try txn.withValue(tables.meta, key.meta) { ShardMeta.decode($0, fields: fields.count) }
        guard let buffer = buffers.current(key, incarnation: incarnation, flushed: meta.flushedDocnum, next: meta.nextDocnum),
              buffer.base == meta.flushedDocnum, buffer.end == meta.nextDocnum, buffer.documents > 0 else { return 0 }
        let documents = buffer.documents
        try flush(buffer, with: PostingsBatch(), through: meta.nextDocnum, meta: &meta, txn)
        try txn.put(tables.meta, key.meta, meta.encoded())
        return documents
    }

    /// Writes a buffer's postings (if there is one) and a batch's (later documents) to LMDB in term
    /// order, moves the shard's flushed mark to `through`, and starts a new buffer once that commits.
    private func flush(_ buffer: PostingsBuffer?, with batch: PostingsBatch, through: UInt32,
                       meta: inout ShardMeta, _ txn: WriteTransaction) throws {
        let clock = ContinuousClock()
        let started = clock.now
        var (table, lists) = buffer?.snapshot() ?? (TermTable(), [])
        batch.forEachTerm { key, entries, positions in
            let (id, inserted) = key.bytes.withUnsafeBytes { table.insert($0, hash: key.hash) }
            if inserted { lists.append(PostingsBuffer.BufferedTerm()) }
            lists[id].postings.append(entries: entries, positions: positions)
        }
        for id in table.sortedIDs() {
            try append(lists[id].postings, sealed: lists[id].sealed, to: Array(table.bytes(id)), txn)
        }
        let documents = Int(through - meta.flushedDocnum)
        meta.flushedDocnum = through
        guard buffer != nil, let buffers = postingsBuffers else { return }
        let (key, incarnation, collection, terms) = (self.key, self.incarnation, schema.collection, table.count)
        let duration = clock.now - started
        txn.afterCommit {
            buffers.recordFlush(duration)
            buffers.enqueueRetire(shard: key, incarnation: incarnation, newBase: through)
            Logger(label: "prism.index").debug("postings flushed to LMDB", metadata: [
                "collection": "\(collection)", "shard": "\(key.shard)", "documents": "\(documents)", "terms": "\(terms)",
                "duration": "\(duration)",
            ])
        }
    }

    /// Writes a term's buffered postings as blocks. A term with full blocks already encoded in the
    /// buffer (`sealed`, the first `sealed.count * 128` postings: a common term) has them written
    /// as they are, and its remainder as one more block, without reading what is stored: its
    /// stored last block may stay partly filled (at most one such block per flush; readers take
    /// blocks of any size). A rarer term is appended to its last stored block while that has
    /// room (positions blocks are concatenations, so it is extended without decoding), so the
    /// many terms with a few postings per flush do not each grow a block per flush. Blocks are
    /// keyed by their last document, so extending the last block moves it to a new key.
    private func append(_ postings: PendingPostings, sealed: [BufferedBlock] = [], to termPrefix: [UInt8], _ txn: WriteTransaction) throws {
        guard !postings.entries.isEmpty else { return }
        let df = try txn.withValue(tables.terms, termPrefix) { $0.map { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) } } ?? 0
        try txn.put(tables.terms, termPrefix, withUnsafeBytes(of: (df + UInt32(postings.count)).littleEndian) { Array($0) })
        var block = PostingsBlock()
        var positions: [UInt8] = []
        var start = 0
        var p = 0
        if let lastSealed = sealed.last {
            for encoded in sealed {
                guard let summary = encoded.postings.withUnsafeBytes({ BlockSummary(encoded: $0, last: encoded.last) }) else { continue }
                try txn.put(tables.postings, key.block(termPrefix, summary), BlockRecord.encode(postings: encoded.postings, positions: encoded.positions))
            }
            start = sealed.count * PostingsBlock.capacity
            p = lastSealed.positionsEnd
            guard start < postings.count else { return }
        } else if df > 0 {
            // A term new to the shard (df 0) has no stored block to extend.
            let last = try txn.withLast(tables.postings, prefix: termPrefix) { k, v -> (key: [UInt8], block: PostingsBlock, positions: [UInt8])? in
                guard let (postingsPart, positionsPart) = BlockRecord.split(v), let decoded = PostingsBlock.decode(postingsPart) else { return nil }
                return (Array(k), decoded, Array(positionsPart))
            }
            if let last = last ?? nil, !last.block.isFull {
                try txn.delete(tables.postings, last.key)
                block = last.block
                positions = last.positions
            }
        }
        try postings.entries.withUnsafeBufferPointer { entries in
            try postings.positions.withUnsafeBufferPointer { allPositions in
                for entry in entries[start...] {
                    if block.isFull {
                        try write(block, positions, termPrefix, txn)
                        block = PostingsBlock()
                        positions.removeAll(keepingCapacity: true)
                    }
                    let frequency = PendingPostings.frequency(entry)
                    block.append(doc: PendingPostings.doc(entry), frequency: frequency, normID: PendingPostings.normID(entry))
                    let end = min(allPositions.count, p + Int(frequency))
                    PositionsBlock.append(UnsafeBufferPointer(rebasing: allPositions[min(p, end)..<end]), to: &positions)
                    p = end
                }
            }
        }
        try write(block, positions, termPrefix, txn)
    }

    private func write(_ block: PostingsBlock, _ positions: [UInt8], _ termPrefix: [UInt8], _ txn: WriteTransaction) throws {
        guard !block.docs.isEmpty else { return }
        let envelope = block.envelope
        let summary = BlockSummary(last: block.docs.last ?? 0, count: block.count, envelope: envelope)
        try txn.put(tables.postings, key.block(termPrefix, summary), BlockRecord.encode(postings: block.encoded(envelope: envelope), positions: positions))
    }

    /// Removes every index record of the collection (all shards).
    static func drop(collection: String, tables: IndexTables, _ txn: WriteTransaction) throws {
        let prefix = ShardKey.collectionPrefix(collection)
        for table in tables.all { try txn.deletePrefix(table, prefix) }
    }
}
