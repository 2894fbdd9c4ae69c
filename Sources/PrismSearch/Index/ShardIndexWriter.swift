import PrismStorage

/// Adds and removes documents in one shard's inverted index inside a write transaction: assigns
/// internal document numbers, appends postings (and positions) to each term's last block, records
/// field norms and token totals, and marks replaced or deleted documents in the deleted bitmap.
/// Nothing is rebuilt: an upsert is a delete plus an add.
struct ShardIndexWriter {
    let tables: IndexTables
    let schema: CollectionSchema
    let key: ShardKey
    /// The shard's in-memory vectors and graph, read by graph inserts and updated after commits.
    let vectorMemory: ShardVectorMemory?

    init(tables: IndexTables, schema: CollectionSchema, shard: Int, vectorCaches: VectorCaches? = nil, incarnation: UInt64 = 0) {
        self.tables = tables
        self.schema = schema
        let key = ShardKey(collection: schema.collection, shard: shard)
        self.key = key
        vectorMemory = schema.backends.vector.flatMap { backend in vectorCaches?.memory(for: key, incarnation: incarnation, backend: backend) }
    }

    /// Postings gathered for one term in this batch, in document order; positions flattened.
    private struct PendingPostings {
        var docs: [UInt32] = []
        var frequencies: [UInt32] = []
        var normIDs: [UInt8] = []
        var positionData: [UInt32] = []
        var positionStarts: [Int] = []

        func positions(_ i: Int) -> ArraySlice<UInt32> {
            let end = i + 1 < positionStarts.count ? positionStarts[i + 1] : positionData.count
            return positionData[positionStarts[i]..<end]
        }
    }

    /// Indexes `documents` (replacing earlier versions with the same id) and removes `deletions`.
    func apply(_ txn: WriteTransaction, upserts documents: [Document], deletions: [String]) throws {
        let fields = schema.backends.text?.fields ?? []
        var meta = try txn.withValue(tables.meta, key.meta) { ShardMeta.decode($0, fields: fields.count) }
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

        for (ordinal, field) in fields.enumerated() where field.indexed {
            guard let analyzer = field.effectiveAnalyzer else { continue }
            try invert(assigned, ordinal: ordinal, field: field, analyzer: analyzer, meta: &meta, normChunks: &normChunks, txn)
        }

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

    /// Inverts one field of the batch by sorting rather than by growing a list per term: every
    /// token is appended as (term id, document, position) to three flat arrays (one hash lookup per
    /// token, no per-term allocation), then a stable counting sort by term id groups each term's
    /// postings in document order, ready to append.
    private func invert(_ assigned: [(docnum: UInt32, document: Document)], ordinal: Int, field: FieldDefinition, analyzer: Analyzer,
                        meta: inout ShardMeta, normChunks: inout [Int: [UInt32: [UInt8]]], _ txn: WriteTransaction) throws {
        var ids: [String: Int32] = [:]
        var terms: [String] = []
        var tokenTerms: [Int32] = [], tokenDocs: [UInt32] = [], tokenPositions: [UInt32] = []
        var normByDoc: [UInt32: UInt8] = [:]
        for (docnum, document) in assigned {
            guard case .text(let text)? = document.value(field.name) else { continue }
            let tokens = analyzer.tokens(text)
            guard !tokens.isEmpty else { continue }
            meta.totalTokens[ordinal] += UInt64(tokens.count)
            let normID = FieldNorm.id(forLength: tokens.count)
            normByDoc[docnum] = normID
            let chunk = docnum / IndexTables.docsPerChunk
            if normChunks[ordinal, default: [:]][chunk] == nil {
                normChunks[ordinal, default: [:]][chunk] = try txn.get(tables.norms, key.fieldChunk(ordinal, chunk))
                    ?? [UInt8](repeating: 0, count: Int(IndexTables.docsPerChunk))
            }
            normChunks[ordinal]?[chunk]?[Int(docnum % IndexTables.docsPerChunk)] = normID
            for token in tokens {
                let id: Int32
                if let known = ids[token.text] { id = known } else {
                    id = Int32(terms.count)
                    ids[token.text] = id
                    terms.append(token.text)
                }
                tokenTerms.append(id)
                tokenDocs.append(docnum)
                tokenPositions.append(UInt32(token.position))
            }
        }
        guard !terms.isEmpty else { return }
        // Stable counting sort by term id.
        var starts = [Int](repeating: 0, count: terms.count + 1)
        for t in tokenTerms { starts[Int(t) + 1] += 1 }
        for i in 1...terms.count { starts[i] += starts[i - 1] }
        var order = [Int32](repeating: 0, count: tokenTerms.count)
        var fill = starts
        for (i, t) in tokenTerms.enumerated() {
            order[fill[Int(t)]] = Int32(i)
            fill[Int(t)] += 1
        }
        for (termID, term) in terms.enumerated() {
            var postings = PendingPostings()
            for slot in starts[termID]..<starts[termID + 1] {
                let i = Int(order[slot])
                let doc = tokenDocs[i]
                if postings.docs.last != doc {
                    postings.docs.append(doc)
                    postings.frequencies.append(0)
                    postings.normIDs.append(normByDoc[doc] ?? 0)
                    postings.positionStarts.append(postings.positionData.count)
                }
                postings.frequencies[postings.frequencies.count - 1] += 1
                postings.positionData.append(tokenPositions[i])
            }
            try append(postings, to: key.term(ordinal, Array(term.utf8)), txn)
        }
    }

    /// Appends to the term's last block while it has room, then starts new blocks. Positions
    /// blocks are concatenations, so the last one is extended without decoding it.
    private func append(_ postings: PendingPostings, to termPrefix: [UInt8], _ txn: WriteTransaction) throws {
        let df = try txn.withValue(tables.terms, termPrefix) { $0.map { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) } } ?? 0
        try txn.put(tables.terms, termPrefix, withUnsafeBytes(of: (df + UInt32(postings.docs.count)).littleEndian) { Array($0) })
        var block = PostingsBlock()
        var positions: [UInt8] = []
        var first: UInt32 = postings.docs[0]
        if let (lastFirst, lastBlock) = try txn.withLast(tables.postings, prefix: termPrefix, { k, v -> (UInt32, PostingsBlock?) in
            let f = ShardKey.readBE32(k, at: k.count - 4)
            return (f, PostingsBlock.decode(v, first: f))
        }), let lastBlock, !lastBlock.isFull {
            block = lastBlock
            first = lastFirst
            positions = try txn.get(tables.positions, key.block(termPrefix, first: lastFirst)) ?? []
        }
        for i in postings.docs.indices {
            if block.isFull {
                try write(block, positions, first: first, termPrefix, txn)
                block = PostingsBlock()
                positions.removeAll(keepingCapacity: true)
                first = postings.docs[i]
            }
            block.append(doc: postings.docs[i], frequency: postings.frequencies[i], normID: postings.normIDs[i])
            PositionsBlock.append(postings.positions(i), to: &positions)
        }
        try write(block, positions, first: first, termPrefix, txn)
    }

    private func write(_ block: PostingsBlock, _ positions: [UInt8], first: UInt32, _ termPrefix: [UInt8], _ txn: WriteTransaction) throws {
        let blockKey = key.block(termPrefix, first: first)
        try txn.put(tables.postings, blockKey, block.encoded())
        try txn.put(tables.positions, blockKey, positions)
    }

    /// Removes every index record of the collection (all shards).
    static func drop(collection: String, tables: IndexTables, _ txn: WriteTransaction) throws {
        let prefix = ShardKey.collectionPrefix(collection)
        for table in tables.all { try txn.deletePrefix(table, prefix) }
    }
}
