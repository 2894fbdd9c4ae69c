import PrismStorage

/// Rebuilds a shard's postings buffer after a restart: the documents numbered from the shard's
/// `flushedDocnum` up are stored (the buffer never is), so their postings are computed again from
/// their text, exactly as the index writer computed them. Documents deleted or replaced since are
/// skipped (they would never match anyway; their share of document frequencies is dropped early,
/// as a compaction would).
enum PostingsRecovery {
    static let chunk: UInt32 = 4096

    /// The rebuilt buffer, or nil when everything is already in LMDB. `progress` gets the
    /// documents done so far.
    static func rebuild(schema: CollectionSchema, shard: Int, tables: IndexTables, documents: Table, txn: ReadTransaction,
                        progress: (Int) -> Void = { _ in }) throws -> PostingsBuffer? {
        let fields = schema.backends.text?.fields ?? []
        let reader = try ShardReader(txn: txn, tables: tables, collection: schema.collection, shard: shard, fields: fields.count)
        let meta = reader.meta
        guard meta.nextDocnum > meta.flushedDocnum else { return nil }
        let buffer = PostingsBuffer(base: meta.flushedDocnum)
        var from = meta.flushedDocnum
        while from < meta.nextDocnum {
            let through = min(meta.nextDocnum, from + chunk)
            var batch: [(docnum: UInt32, document: Document)] = []
            for docnum in from..<through {
                guard try !reader.isDeleted(docnum), let id = try reader.externalID(docnum) else { continue }
                let key = DocumentKey.make(collection: schema.collection, shard: shard, id: id)
                guard let fieldValues = try txn.withValue(documents, key, { bytes in try bytes.map { try DocumentCodec.decode($0) } }) else { continue }
                batch.append((docnum, Document(id: id, fields: fieldValues)))
            }
            var postings = PostingsBatch()
            for (ordinal, field) in fields.enumerated() where field.indexed {
                guard let analyzer = field.effectiveAnalyzer else { continue }
                let texts: [(docnum: UInt32, text: String)] = batch.compactMap { docnum, document in
                    guard case .text(let text)? = document.value(field.name) else { return nil }
                    return (docnum, text)
                }
                postings.append(contentsOf: FieldInversion(texts, analyzer: analyzer, shard: reader.key, field: ordinal).postings)
            }
            guard buffer.append(postings, from: from, through: through) else {
                throw EngineError.unavailable("postings recovery of collection '\(schema.collection)' went out of order")
            }
            from = through
            progress(Int(from - meta.flushedDocnum))
        }
        return buffer
    }
}
