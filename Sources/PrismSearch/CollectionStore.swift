import Foundation
import Logging
import PrismStorage
import Synchronization

/// The node's collections and their documents in LMDB: the catalog of schemas, the documents
/// (full source), and exact per-collection statistics. Every write goes through the group-commit
/// writer and returns only once durable.
public final class CollectionStore: Sendable {
    let environment: LMDBEnvironment
    private let writer: GroupCommitWriter
    private let catalogTable: Table
    private let statsTable: Table
    let documentsTable: Table
    /// name → random id of the collection's current incarnation (see `VectorCaches`).
    let incarnationsTable: Table
    let index: IndexTables
    let vectorCaches = VectorCaches()
    /// Copies of full column chunks shared by queries (see `SealedChunks`).
    let sealedChunks = SealedChunkCaches()
    /// Postings of recent documents per shard, written to LMDB in large runs.
    let postingsBuffers: PostingsBuffers
    private let catalog: Mutex<[String: CollectionSchema]>
    private let logger: Logger

    /// Documents a shard's postings buffer collects before they are written to LMDB by default.
    public static let defaultPostingsBufferDocuments = 32_768

    /// Opens the store; shards whose recent postings were only in memory when the node stopped
    /// get them rebuilt from their stored documents before this returns.
    /// `postingsBufferDocuments` 0 writes every batch's postings straight to LMDB.
    public init(environment: LMDBEnvironment, writer: GroupCommitWriter, postingsBufferDocuments: Int = CollectionStore.defaultPostingsBufferDocuments,
                logger: Logger = Logger(label: "prism.collections")) throws {
        postingsBuffers = PostingsBuffers(flushDocuments: postingsBufferDocuments)
        self.environment = environment
        self.writer = writer
        self.logger = logger
        catalogTable = try environment.table("collections")
        statsTable = try environment.table("collection_stats")
        documentsTable = try environment.table("documents")
        incarnationsTable = try environment.table("collection_incarnations")
        index = try IndexTables(environment: environment)
        let table = catalogTable
        let loaded: [String: CollectionSchema] = try environment.read { txn in
            var result: [String: CollectionSchema] = [:]
            let decoder = JSONDecoder()
            try txn.scan(table, prefix: []) { key, value in
                let name = String(decoding: key, as: UTF8.self)
                result[name] = try decoder.decode(CollectionSchema.self, from: Data(value))
                return true
            }
            return result
        }
        catalog = Mutex(loaded)
        logger.info("collections loaded", metadata: ["count": "\(loaded.count)"])
        try recoverPostingsBuffers(loaded.values.sorted { $0.collection < $1.collection })
    }

    /// Rebuilds every shard's postings buffer from the documents stored after its flushed mark.
    private func recoverPostingsBuffers(_ schemas: [CollectionSchema]) throws {
        let (index, documents, incarnations) = (self.index, documentsTable, incarnationsTable)
        for schema in schemas {
            try environment.read { txn in
                let incarnation = try CollectionStore.incarnation(incarnations, Array(schema.collection.utf8), txn)
                for shard in 0..<schema.numShards {
                    let clock = ContinuousClock()
                    let started = clock.now
                    var lastReport = started
                    guard let buffer = try PostingsRecovery.rebuild(schema: schema, shard: shard, tables: index, documents: documents, txn: txn, progress: { done in
                        if clock.now - lastReport > .seconds(2) {
                            lastReport = clock.now
                            self.logger.info("rebuilding postings buffer", metadata: ["collection": "\(schema.collection)", "shard": "\(shard)", "documents": "\(done)"])
                        }
                    }) else { continue }
                    postingsBuffers.install(buffer, shard: ShardKey(collection: schema.collection, shard: shard), incarnation: incarnation)
                    logger.info("postings buffer rebuilt", metadata: [
                        "collection": "\(schema.collection)", "shard": "\(shard)", "documents": "\(buffer.documents)",
                        "duration": "\(clock.now - started)",
                    ])
                }
            }
        }
    }

    /// Writes every shard's buffered postings to LMDB (before a shutdown, so the next start has
    /// nothing to rebuild; at the end of a benchmark). Returns the documents written.
    @discardableResult
    public func flushPostings() async throws -> Int {
        var total = 0
        for name in names() {
            guard let schema = try? schema(name) else { continue }
            let (index, buffers, incarnations, catalogTable) = (self.index, postingsBuffers, incarnationsTable, self.catalogTable)
            total += try await writer.submit { txn in
                let nameKey = Array(name.utf8)
                guard try txn.get(catalogTable, nameKey) != nil else { return 0 }
                let incarnation = try CollectionStore.incarnation(incarnations, nameKey, txn)
                var written = 0
                for shard in 0..<schema.numShards {
                    written += try ShardIndexWriter(tables: index, schema: schema, shard: shard, postingsBuffers: buffers,
                                                    incarnation: incarnation).flushBuffer(txn)
                }
                return written
            }
        }
        // The flushed buffers are retired behind the writer; return once they are.
        await postingsBuffers.settled()
        if total > 0 { logger.info("postings buffers flushed", metadata: ["documents": "\(total)"]) }
        return total
    }

    /// Documents whose postings are buffered in memory, over all shards (a metric).
    public var bufferedDocuments: Int { postingsBuffers.bufferedDocuments }

    /// Postings buffers written to LMDB since start (a metric).
    public var postingsFlushes: Int { postingsBuffers.flushCount }

    /// Seconds spent writing postings buffers to LMDB since start (a metric).
    public var postingsFlushSeconds: Double { postingsBuffers.flushSeconds }

    /// Bytes of column chunks copied into memory for queries (a metric).
    public var cachedColumnBytes: Int { sealedChunks.byteCount }

    /// Points each reader at its shard's postings buffer as the reader's snapshot sees it, and at
    /// its shard's shared column chunks.
    func attachPostingsBuffers(_ readers: [ShardReader], collection: String, _ txn: ReadTransaction) throws {
        let incarnation = try CollectionStore.incarnation(incarnationsTable, Array(collection.utf8), txn)
        for reader in readers {
            reader.postingsBuffer = try postingsBuffers.forReader(reader.key, incarnation: incarnation,
                                                                  flushed: reader.meta.flushedDocnum, next: reader.meta.nextDocnum)
            reader.sealedChunks = sealedChunks.chunks(for: reader.key, incarnation: incarnation)
        }
    }

    public func names() -> [String] {
        catalog.withLock { $0.keys.sorted() }
    }

    public var count: Int { catalog.withLock { $0.count } }

    public func schema(_ name: String) throws(EngineError) -> CollectionSchema {
        guard let schema = catalog.withLock({ $0[name] }) else { throw .collectionNotFound(name) }
        return schema
    }

    public func create(_ schema: CollectionSchema) async throws -> CollectionSchema {
        let encoded = Array(try JSONEncoder().encode(schema))
        let name = schema.collection
        let key = Array(name.utf8)
        let catalogTable = self.catalogTable
        let incarnations = incarnationsTable
        // Drawn once, outside the request, so a replayed batch writes the same id.
        let incarnation = withUnsafeBytes(of: UInt64.random(in: 1...UInt64.max).littleEndian) { Array($0) }
        try await writer.submit { txn in
            if try txn.get(catalogTable, key) != nil { throw EngineError.collectionExists(name) }
            try txn.put(catalogTable, key, encoded)
            try txn.put(incarnations, key, incarnation)
        }
        catalog.withLock { $0[name] = schema }
        logger.notice("collection created", metadata: ["collection": "\(name)", "shards": "\(schema.numShards)"])
        return schema
    }

    public func delete(_ name: String) async throws {
        let key = Array(name.utf8)
        let tables = (catalogTable, statsTable, documentsTable)
        let index = self.index
        let incarnations = incarnationsTable
        let removed = try await writer.submit { txn in
            guard try txn.delete(tables.0, key) else { throw EngineError.collectionNotFound(name) }
            try txn.delete(tables.1, key)
            try txn.delete(incarnations, key)
            try ShardIndexWriter.drop(collection: name, tables: index, txn)
            return try txn.deletePrefix(tables.2, DocumentKey.collectionPrefix(name))
        }
        catalog.withLock { _ = $0.removeValue(forKey: name) }
        vectorCaches.drop(collection: name)
        postingsBuffers.drop(collection: name)
        sealedChunks.drop(collection: name)
        logger.notice("collection deleted", metadata: ["collection": "\(name)", "documents": "\(removed)"])
    }

    public func stats(_ name: String) throws -> CollectionStats {
        _ = try schema(name)
        let table = statsTable
        return try environment.read { txn in
            try txn.withValue(table, Array(name.utf8)) { CollectionStats.decode($0) }
        }
    }

    /// Live documents per shard, from each shard's index counters.
    public func shardDocumentCounts(_ name: String) throws -> [Int] {
        let schema = try schema(name)
        let fields = schema.backends.text?.fields.count ?? 0
        let index = self.index
        return try environment.read { txn in
            try (0..<schema.numShards).map { shard in
                let key = ShardKey(collection: name, shard: shard)
                return Int(try txn.withValue(index.meta, key.meta) { ShardMeta.decode($0, fields: fields) }.liveDocs)
            }
        }
    }

    /// Validates each document; stores the valid ones in one durable batch.
    public func upsert(_ name: String, documents: [JSONValue]) async throws -> UpsertResult {
        let schema = try schema(name)
        let validator = DocumentValidator(schema: schema)
        var failures: [UpsertResult.Failure] = []
        var records: [(key: [UInt8], value: [UInt8], document: Document, shard: Int)] = []
        records.reserveCapacity(documents.count)
        var seen: [String: Int] = [:]
        for (index, json) in documents.enumerated() {
            do {
                let document = try validator.validate(json)
                let shard = DocumentKey.shard(of: document.id, shards: schema.numShards)
                let key = DocumentKey.make(collection: name, shard: shard, id: document.id)
                let record = (key, DocumentCodec.encode(document.fields), document, shard)
                // The last copy of an id in one request wins, as if sent one after the other.
                if let earlier = seen[document.id] { records[earlier] = record } else {
                    seen[document.id] = records.count
                    records.append(record)
                }
            } catch {
                failures.append(.init(docID: DocumentValidator.idForReport(json, index: index), error: error.description))
            }
        }
        if !records.isEmpty {
            let tables = (catalogTable, statsTable, documentsTable)
            let nameKey = Array(name.utf8)
            let batch = records
            let index = self.index
            let vectorCaches = self.vectorCaches
            let buffers = postingsBuffers
            let incarnations = incarnationsTable
            // Analysis happens here, on the caller's thread, so the single writer only stores.
            var byShard: [Int: [Document]] = [:]
            for record in records { byShard[record.shard, default: []].append(record.document) }
            let prepared = byShard.map { shard, docs in (shard, ShardIndexWriter(tables: index, schema: schema, shard: shard).prepare(docs)) }
            try await writer.submit { txn in
                guard try txn.get(tables.0, nameKey) != nil else { throw EngineError.collectionNotFound(name) }
                let incarnation = try CollectionStore.incarnation(incarnations, nameKey, txn)
                var stats = try txn.withValue(tables.1, nameKey) { CollectionStats.decode($0) }
                for (key, value, _, _) in batch {
                    let previous = try txn.withValue(tables.2, key) { $0.map { $0.count } }
                    if let previous {
                        stats.storageBytes += Int64(value.count - previous)
                    } else {
                        stats.documentCount += 1
                        stats.storageBytes += Int64(key.count + value.count)
                    }
                    try txn.put(tables.2, key, value)
                }
                for (shard, documents) in prepared.sorted(by: { $0.0 < $1.0 }) {
                    try ShardIndexWriter(tables: index, schema: schema, shard: shard, vectorCaches: vectorCaches,
                                         postingsBuffers: buffers, incarnation: incarnation).apply(txn, upserts: documents, deletions: [])
                }
                try txn.put(tables.1, nameKey, stats.encoded)
            }
            // Searchable when this returns: the batch's postings reach the buffer behind the writer.
            await buffers.settled()
        }
        return UpsertResult(indexed: documents.count - failures.count, failures: failures)
    }

    public func get(_ name: String, id: String) throws -> Document {
        let schema = try schema(name)
        try DocumentValidator.validate(id: id)
        let key = DocumentKey.make(collection: name, shard: DocumentKey.shard(of: id, shards: schema.numShards), id: id)
        let table = documentsTable
        let fields = try environment.read { txn in
            try txn.withValue(table, key) { bytes in try bytes.map { try DocumentCodec.decode($0) } }
        }
        guard let fields else { throw EngineError.documentNotFound(collection: name, id: id) }
        return Document(id: id, fields: fields)
    }

    public func deleteDocument(_ name: String, id: String) async throws {
        let schema = try schema(name)
        try DocumentValidator.validate(id: id)
        let key = DocumentKey.make(collection: name, shard: DocumentKey.shard(of: id, shards: schema.numShards), id: id)
        let tables = (catalogTable, statsTable, documentsTable)
        let nameKey = Array(name.utf8)
        let index = self.index
        let shard = DocumentKey.shard(of: id, shards: schema.numShards)
        try await writer.submit { txn in
            guard try txn.get(tables.0, nameKey) != nil else { throw EngineError.collectionNotFound(name) }
            guard let size = try txn.withValue(tables.2, key, { $0?.count }) else {
                throw EngineError.documentNotFound(collection: name, id: id)
            }
            try txn.delete(tables.2, key)
            try ShardIndexWriter(tables: index, schema: schema, shard: shard).apply(txn, upserts: [], deletions: [id])
            var stats = try txn.withValue(tables.1, nameKey) { CollectionStats.decode($0) }
            stats.documentCount -= 1
            stats.storageBytes -= Int64(key.count + size)
            try txn.put(tables.1, nameKey, stats.encoded)
        }
    }
}

extension CollectionStore {
    /// The collection's incarnation as the given transaction sees it (0 for data written before
    /// incarnations existed).
    static func incarnation(_ table: Table, _ nameKey: [UInt8], _ txn: ReadTransaction) throws -> UInt64 {
        try txn.withValue(table, nameKey) { bytes in
            guard let bytes, bytes.count == 8 else { return 0 }
            return UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        }
    }
}

extension DocumentValidator {
    /// The id to report for a refused document: its id when it has a usable one, else its position.
    static func idForReport(_ json: JSONValue, index: Int) -> String {
        if case .object(let o) = json, case .string(let id)? = o["id"], !id.isEmpty { return id }
        return "#\(index)"
    }
}
