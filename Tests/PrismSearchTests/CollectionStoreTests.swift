@testable import PrismSearch
import PrismStorage
import PrismTestSupport
import Testing

/// A collection store over a real LMDB environment in a temp dir.
final class StoreFixture {
    let dir: TemporaryDirectory
    var environment: LMDBEnvironment
    var writer: GroupCommitWriter
    var store: CollectionStore

    let postingsBufferDocuments: Int

    init(dir: TemporaryDirectory = TemporaryDirectory(), postingsBufferDocuments: Int = CollectionStore.defaultPostingsBufferDocuments) throws {
        self.dir = dir
        self.postingsBufferDocuments = postingsBufferDocuments
        environment = try LMDBEnvironment(directory: dir.path)
        writer = GroupCommitWriter(environment: environment)
        store = try CollectionStore(environment: environment, writer: writer, postingsBufferDocuments: postingsBufferDocuments)
    }

    func reopen() throws {
        close()
        environment = try LMDBEnvironment(directory: dir.path)
        writer = GroupCommitWriter(environment: environment)
        store = try CollectionStore(environment: environment, writer: writer, postingsBufferDocuments: postingsBufferDocuments)
    }

    func close() {
        writer.shutdown()
        environment.close()
    }

    deinit { close() }

    struct Injected: Error {}

    /// Submits `count` writes that index `doomed` into shard 0 of `collection` (through the
    /// postings buffers and vector caches) and then fail, so every batch they share with other
    /// requests is replayed without them: memory may only ever see what committed.
    static func submitDoomedWrites(_ count: Int, store: CollectionStore, writer: GroupCommitWriter, environment: LMDBEnvironment,
                                   collection: String, doomed: JSONValue) async throws {
        let schema = try store.schema(collection)
        let incarnation = try environment.read { try CollectionStore.incarnation(store.incarnationsTable, Array(collection.utf8), $0) }
        let document = try DocumentValidator(schema: schema).validate(doomed)
        for _ in 0..<count {
            _ = try? await writer.submit { txn in
                try ShardIndexWriter(tables: store.index, schema: schema, shard: 0, vectorCaches: store.vectorCaches,
                                     postingsBuffers: store.postingsBuffers, incarnation: incarnation).apply(txn, upserts: [document], deletions: [])
                throw Injected()
            }
        }
    }
}

@Suite("Collection store")
struct CollectionStoreTests {
    func schema(_ name: String, shards: Int = 4) throws -> CollectionSchema {
        try SchemaParser().parse(try json(#"{"num_shards":\#(shards),"backends":{"text":{"fields":[{"name":"title","type":"text"},{"name":"n","type":"i64","stored":false}]}}}"#), name: name)
    }

    @Test func documentsAndSchemasSurviveReopen() async throws {
        let fixture = try StoreFixture()
        _ = try await fixture.store.create(try schema("a"))
        let docs = try (0..<50).map { try json(#"{"id":"d\#($0)","fields":{"title":"t\#($0)","n":\#($0)}}"#) }
        let result = try await fixture.store.upsert("a", documents: docs)
        #expect(result == UpsertResult(indexed: 50, failures: []))
        try fixture.reopen()
        #expect(fixture.store.names() == ["a"])
        #expect(try fixture.store.schema("a") == (try schema("a")))
        #expect(try fixture.store.get("a", id: "d7").value("title") == .text("t7"))
        #expect(try fixture.store.stats("a").documentCount == 50)
    }

    @Test func upsertReplacesAndKeepsStatsExact() async throws {
        let fixture = try StoreFixture()
        _ = try await fixture.store.create(try schema("a"))
        _ = try await fixture.store.upsert("a", documents: [try json(#"{"id":"x","fields":{"title":"one"}}"#)])
        let first = try fixture.store.stats("a")
        _ = try await fixture.store.upsert("a", documents: [try json(#"{"id":"x","fields":{"title":"one two three"}}"#)])
        let second = try fixture.store.stats("a")
        #expect(second.documentCount == 1)
        #expect(second.storageBytes == first.storageBytes + 10)  // "one" → "one two three"
        #expect(try fixture.store.get("a", id: "x").value("title") == .text("one two three"))
        try await fixture.store.deleteDocument("a", id: "x")
        #expect(try fixture.store.stats("a") == CollectionStats(documentCount: 0, storageBytes: 0))
    }

    @Test func duplicateIDsInOneRequestKeepTheLast() async throws {
        let fixture = try StoreFixture()
        _ = try await fixture.store.create(try schema("a"))
        let result = try await fixture.store.upsert("a", documents: [
            try json(#"{"id":"x","fields":{"title":"first"}}"#), try json(#"{"id":"x","fields":{"title":"last"}}"#),
        ])
        #expect(result.indexed == 2)
        #expect(try fixture.store.stats("a").documentCount == 1)
        #expect(try fixture.store.get("a", id: "x").value("title") == .text("last"))
    }

    @Test func invalidDocumentsAreReportedAndValidOnesStored() async throws {
        let fixture = try StoreFixture()
        _ = try await fixture.store.create(try schema("a"))
        let result = try await fixture.store.upsert("a", documents: [
            try json(#"{"id":"ok","fields":{"title":"fine"}}"#),
            try json(#"{"id":"bad","fields":{"title":1}}"#),
            try json(#"{"fields":{"title":"no id"}}"#),
        ])
        #expect(result.indexed == 1)
        #expect(result.failures.map(\.docID) == ["bad", "#2"])
        #expect(throws: EngineError.documentNotFound(collection: "a", id: "bad")) { try fixture.store.get("a", id: "bad") }
        #expect(try fixture.store.stats("a").documentCount == 1)
    }

    @Test func collectionLifecycleErrors() async throws {
        let fixture = try StoreFixture()
        _ = try await fixture.store.create(try schema("a"))
        await #expect(throws: EngineError.collectionExists("a")) { _ = try await fixture.store.create(try schema("a")) }
        await #expect(throws: EngineError.collectionNotFound("zz")) { try await fixture.store.delete("zz") }
        await #expect(throws: EngineError.collectionNotFound("zz")) { _ = try await fixture.store.upsert("zz", documents: []) }
        await #expect(throws: EngineError.documentNotFound(collection: "a", id: "q")) { try await fixture.store.deleteDocument("a", id: "q") }
    }

    @Test func deletingACollectionRemovesOnlyItsDocuments() async throws {
        let fixture = try StoreFixture()
        _ = try await fixture.store.create(try schema("a"))
        _ = try await fixture.store.create(try schema("a-b"))
        let doc = try json(#"{"id":"1","fields":{"title":"x"}}"#)
        _ = try await fixture.store.upsert("a", documents: [doc])
        _ = try await fixture.store.upsert("a-b", documents: [doc])
        try await fixture.store.delete("a")
        #expect(fixture.store.names() == ["a-b"])
        #expect(try fixture.store.get("a-b", id: "1").value("title") == .text("x"))
        // Re-created with the same name, it starts empty.
        _ = try await fixture.store.create(try schema("a"))
        #expect(throws: EngineError.self) { try fixture.store.get("a", id: "1") }
        #expect(try fixture.store.stats("a").documentCount == 0)
    }

    @Test func concurrentCreatesOfOneNameYieldOneWinner() async throws {
        let fixture = try StoreFixture()
        let s = try schema("race")
        let store = fixture.store
        let wins = await withTaskGroup(of: Bool.self, returning: Int.self) { group in
            for _ in 0..<16 { group.addTask { (try? await store.create(s)) != nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
    }
}
