import Foundation
@testable import PrismSearch
import PrismStorage
import Testing

/// Vectors with the structure of real embeddings: a low-rank signal (clustered in a few latent
/// dimensions) plus a little noise in all of them. The latent basis depends only on the dimension
/// so data and queries drawn with different seeds share it.
func clusteredVectors(count: Int, dimension: Int, clusters: Int, seed: UInt64, rank: Int = 6) -> [[Float]] {
    var basisRNG = SplitMix64(seed: 1_000 + UInt64(dimension))
    let basis = (0..<rank).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &basisRNG) } }
    let centers = (0..<clusters).map { _ in (0..<rank).map { _ in Float.random(in: -2...2, using: &basisRNG) } }
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { i in
        let latent = centers[i % clusters].map { $0 + Float.random(in: -0.6...0.6, using: &rng) }
        return (0..<dimension).map { d in
            var x: Float = 0
            for r in 0..<rank { x += latent[r] * basis[r][d] }
            return x + Float.random(in: -0.05...0.05, using: &rng)
        }
    }
}

@Suite("Vector search")
struct VectorSearchTests {
    func makeStore(dimension: Int, distance: String, shards: Int = 1, m: Int = 16, efConstruction: Int = 100) async throws -> StoreFixture {
        let fixture = try StoreFixture()
        _ = try await fixture.store.create(try SchemaParser().parse(try json("""
        {"num_shards":\(shards),"backends":{"text":{"fields":[{"name":"title","type":"text"},{"name":"group","type":"i64"}]},
         "vector":{"dimension":\(dimension),"distance":"\(distance)","hnsw_m":\(m),"hnsw_ef_construction":\(efConstruction),"hnsw_ef_search":100}}}
        """), name: "v"))
        return fixture
    }

    func load(_ fixture: StoreFixture, _ vectors: [[Float]], title: (Int) -> String = { _ in "doc" }) async throws {
        var docs: [JSONValue] = []
        for (i, v) in vectors.enumerated() {
            docs.append(.object(["id": .string("\(i)"), "fields": .object([
                "title": .string(title(i)), "group": .int(Int64(i % 10)), "embedding": .array(v.map { .double(Double($0)) }),
            ])]))
        }
        for start in stride(from: 0, to: docs.count, by: 500) {
            let result = try await fixture.store.upsert("v", documents: Array(docs[start..<min(start + 500, docs.count)]))
            #expect(result.failures.isEmpty)
        }
    }

    func vectorSearch(_ fixture: StoreFixture, _ v: [Float], k: Int = 10, filter: String? = nil) throws -> [String] {
        var r = SearchRequest()
        r.vector = v
        r.limit = k
        r.filter = filter
        return try fixture.store.search("v", r).hits.map(\.id)
    }

    func exact(_ vectors: [[Float]], _ q: [Float], k: Int, metric: (([Float], [Float]) -> Float)) -> [String] {
        vectors.indices.sorted { metric(vectors[$0], q) < metric(vectors[$1], q) || (metric(vectors[$0], q) == metric(vectors[$1], q) && $0 < $1) }
            .prefix(k).map(String.init)
    }

    @Test func hnswRecallOnClusteredData() async throws {
        let vectors = clusteredVectors(count: 2000, dimension: 24, clusters: 20, seed: 7)
        let fixture = try await makeStore(dimension: 24, distance: "euclidean")
        try await load(fixture, vectors)
        let queries = clusteredVectors(count: 50, dimension: 24, clusters: 20, seed: 99)
        var found = 0
        for q in queries {
            let truth = Set(exact(vectors, q, k: 10) { a, b in zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } })
            found += Set(try vectorSearch(fixture, q)).intersection(truth).count
        }
        let recall = Double(found) / Double(queries.count * 10)
        #expect(recall >= 0.95, "recall@10 = \(recall)")
        // The graph is persisted: the same answers after a restart, without rebuilding.
        let before = try vectorSearch(fixture, queries[0])
        try fixture.reopen()
        #expect(try vectorSearch(fixture, queries[0]) == before)
    }

    @Test(arguments: ["cosine", "dot", "euclidean"])
    func exactSearchOrdersByTheMetric(distance: String) async throws {
        let vectors: [[Float]] = [[1, 0, 0], [0, 1, 0], [0.9, 0.1, 0], [-2, 0, 0], [3, 0, 0]]
        let fixture = try await makeStore(dimension: 3, distance: distance)
        try await load(fixture, vectors)
        let ids = try vectorSearch(fixture, [1, 0, 0], k: 5)
        switch distance {
        case "cosine": #expect(Array(ids.prefix(3)) == ["0", "4", "2"] || Array(ids.prefix(3)) == ["4", "0", "2"])
        case "dot": #expect(ids.first == "4")
        default: #expect(Array(ids.prefix(2)) == ["0", "2"])
        }
        #expect(ids.last == "3")
    }

    @Test func filtersApplyDuringGraphSearchAndDeletesDisappear() async throws {
        let vectors = clusteredVectors(count: 1500, dimension: 16, clusters: 10, seed: 3)
        let fixture = try await makeStore(dimension: 16, distance: "cosine")
        try await load(fixture, vectors)
        let filtered = try vectorSearch(fixture, vectors[5], k: 10, filter: "group:[3 TO 4]")
        #expect(filtered.count == 10)
        #expect(filtered.allSatisfy { Int($0).map { $0 % 10 == 3 || $0 % 10 == 4 } == true })
        #expect(try vectorSearch(fixture, vectors[5], k: 1) == ["5"])
        try await fixture.store.deleteDocument("v", id: "5")
        #expect(try !vectorSearch(fixture, vectors[5], k: 10).contains("5"))
    }

    @Test func hybridFusesBothRankings() async throws {
        let fixture = try await makeStore(dimension: 2, distance: "euclidean")
        try await load(fixture, [[0, 0], [1, 1], [5, 5], [9, 9]]) { ["apple pie", "apple", "banana", "cherry"][$0] }
        var r = SearchRequest()
        r.query = "apple"
        r.vector = [9, 9]
        r.limit = 10
        let result = try fixture.store.search("v", r)
        // Text ranks 1 ("apple", shorter) then 0; vector ranks 3, 2, 1, 0. RRF with k = 60:
        let expected: [String: Double] = [
            "1": 1 / 61.0 + 1 / 63.0, "0": 1 / 62.0 + 1 / 64.0, "3": 1 / 61.0, "2": 1 / 62.0,
        ]
        #expect(result.hits.map(\.id) == ["1", "0", "3", "2"])
        for hit in result.hits { #expect(abs(Double(hit.score) - (expected[hit.id] ?? -1)) < 1e-6) }
        r.mergeStrategy = .weighted
        r.textWeight = 1
        r.vectorWeight = 0
        #expect(try fixture.store.search("v", r).hits.prefix(2).map(\.id) == ["1", "0"])
    }

    /// Every node of the stored graph of shard `shard`, and the in-memory graph's view of the same
    /// nodes (which must agree once all writes have committed).
    func storedAndMemoryGraphs(_ fixture: StoreFixture, shard: Int = 0) throws -> (stored: [UInt32: [[UInt32]]], memory: [UInt32: [[UInt32]]], version: UInt32, count: UInt32) {
        let schema = try fixture.store.schema("v")
        guard let backend = schema.backends.vector else { return ([:], [:], 0, 0) }
        return try fixture.environment.read { txn in
            let reader = try ShardReader(txn: txn, tables: fixture.store.index, collection: "v", shard: shard, fields: 2)
            let incarnation = try CollectionStore.incarnation(fixture.store.incarnationsTable, Array("v".utf8), txn)
            let memory = fixture.store.vectorCaches.memory(for: reader.key, incarnation: incarnation, backend: backend)
            var stored: [UInt32: [[UInt32]]] = [:]
            try reader.forEachGraphNode { doc, bytes in stored[doc] = HNSWNode(bytes)?.neighbors }
            var mirrored: [UInt32: [[UInt32]]] = [:]
            var list: [UInt32] = []
            let version = memory.graph.withView { view, version in
                for doc in stored.keys {
                    view.neighbors(doc, level: 0, into: &list)
                    mirrored[doc] = [list] + view.upperLists(doc)
                }
                return version
            }
            return (stored, mirrored, version, try reader.graphMeta().count)
        }
    }

    @Test func inMemoryGraphMirrorsTheStoredGraphThroughReplaysAndRestarts() async throws {
        let vectors = clusteredVectors(count: 1200, dimension: 8, clusters: 6, seed: 3)
        let fixture = try await makeStore(dimension: 8, distance: "euclidean", m: 4, efConstruction: 20)
        // Concurrent upserts (some replacing earlier ids) share batches with requests that insert
        // into the same graph and then fail, so batches are replayed without them and the other
        // requests' first attempts differ from what commits: only committed changes may reach memory.
        let (store, writer, environment) = (fixture.store, fixture.writer, fixture.environment)
        let doomed: JSONValue = .object(["id": .string("doomed"), "fields": .object([
            "title": .string("doc"), "group": .int(1), "embedding": .array(vectors[0].map { .double(Double($0)) }),
        ])])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<6 {
                group.addTask {
                    for round in 0..<8 {
                        let docs: [JSONValue] = (0..<25).map { j in
                            let i = (t * 200 + round * 25 + j) % vectors.count
                            return .object(["id": .string("\(i % 900)"), "fields": .object([
                                "title": .string("doc"), "group": .int(1), "embedding": .array(vectors[i].map { .double(Double($0)) }),
                            ])])
                        }
                        _ = try await store.upsert("v", documents: docs)
                    }
                }
                group.addTask {
                    try await StoreFixture.submitDoomedWrites(8, store: store, writer: writer, environment: environment, collection: "v", doomed: doomed)
                }
            }
            try await group.waitForAll()
        }
        let (stored, memory, version, count) = try storedAndMemoryGraphs(fixture)
        #expect(count == 1200)
        #expect(version == count)
        #expect(stored.count == 1200)
        #expect(stored.filter { memory[$0.key] != $0.value }.count == 0, "nodes whose memory differs from LMDB")
        #expect(fixture.writer.stats.failedRequests == 48)

        // After a restart the memory starts empty; the first query reloads it from the snapshot,
        // and later inserts keep it current.
        let before = try vectorSearch(fixture, vectors[5])
        try fixture.reopen()
        #expect(try vectorSearch(fixture, vectors[5]) == before)
        try await load(fixture, Array(vectors[0..<50]))
        let (stored2, memory2, version2, count2) = try storedAndMemoryGraphs(fixture)
        #expect(version2 == count2)
        #expect(stored2.filter { memory2[$0.key] != $0.value }.count == 0, "nodes whose memory differs from LMDB")
    }

    /// A search whose snapshot is older than the graph in memory (a batch committed while it
    /// ran) walks through the newer documents but never returns them: they have no id in its
    /// snapshot, and returning them made the search come back with fewer hits than asked.
    @Test func searchOnAnOlderSnapshotNeverReturnsNewerDocuments() async throws {
        let vectors = clusteredVectors(count: 3000, dimension: 8, clusters: 6, seed: 5)
        let fixture = try await makeStore(dimension: 8, distance: "euclidean", m: 4, efConstruction: 20)
        try await load(fixture, Array(vectors[0..<1500]))
        _ = try vectorSearch(fixture, vectors[0])
        let store = fixture.store
        let backend = try #require(try store.schema("v").backends.vector)
        let newer: [JSONValue] = vectors[1500...].enumerated().map { i, v in
            .object(["id": .string("new-\(i)"), "fields": .object(["title": .string("doc"), "group": .int(1), "embedding": .array(v.map { .double(Double($0)) })])])
        }
        let (found, bound, memoryVersion) = try fixture.environment.read { txn in
            let reader = try ShardReader(txn: txn, tables: store.index, collection: "v", shard: 0, fields: 2)
            let incarnation = try CollectionStore.incarnation(store.incarnationsTable, Array("v".utf8), txn)
            let memory = store.vectorCaches.memory(for: reader.key, incarnation: incarnation, backend: backend)
            reader.vectorMemory = memory
            // The newer batch commits (and reaches the graph in memory) while this snapshot is held.
            let committed = DispatchSemaphore(value: 0)
            Task.detached {
                _ = try? await store.upsert("v", documents: newer)
                committed.signal()
            }
            committed.wait()
            let searcher = ShardSearcher(reader: reader, statistics: CollectionStatistics(), k1: 1.2, b: 0.75)
            // Queries among the newer vectors, whose nearest neighbors are mostly newer documents.
            let results = try (1500..<1520).map { i in
                try searcher.nearest(VectorDistance.prepared(vectors[i], .euclidean), backend: backend, k: 10, ef: 40, allowed: nil)
            }
            return (results, reader.meta.nextDocnum, memory.graph.currentVersion)
        }
        #expect(memoryVersion == 3000, "the graph in memory moved past the snapshot")
        #expect(bound == 1500)
        #expect(found.allSatisfy { $0.count == 10 })
        #expect(found.allSatisfy { $0.allSatisfy { $0.doc < bound } }, "documents committed after the snapshot")
        // The same queries on a current snapshot do find the newer documents.
        #expect(try vectorSearch(fixture, vectors[1500]).contains { $0.hasPrefix("new-") })
    }

    @Test func recreatedCollectionNeverSeesCachedVectorsOfTheOldOne() async throws {
        let fixture = try await makeStore(dimension: 2, distance: "euclidean")
        // More than one cache chunk (1024 documents), so queries publish cached vectors.
        try await load(fixture, (0..<1100).map { [Float($0), 0] })
        #expect(try vectorSearch(fixture, [5, 0], k: 1) == ["5"])
        try await fixture.store.delete("v")
        _ = try await fixture.store.create(try SchemaParser().parse(try json(
            #"{"backends":{"text":{"fields":[{"name":"title","type":"text"},{"name":"group","type":"i64"}]},"vector":{"dimension":2,"distance":"euclidean"}}}"#), name: "v"))
        try await load(fixture, (0..<1100).map { [0, Float(1099 - $0)] })
        #expect(try vectorSearch(fixture, [0, 5], k: 1) == ["1094"])
        #expect(try vectorSearch(fixture, [5, 0], k: 1) == ["1099"])
    }

    @Test func badVectorsAreRefused() async throws {
        let fixture = try await makeStore(dimension: 3, distance: "cosine")
        var r = SearchRequest()
        r.vector = [1, 2]
        #expect(throws: EngineError.invalid("vector: has 2 dimensions, the schema requires 3")) { try fixture.store.search("v", r) }
        #expect(throws: EngineError.self) { try SearchRequest.parse(try json(#"{"vector":[1,"x",3]}"#)) }
        #expect(throws: EngineError.self) { try SearchRequest.parse(try json(#"{"vector":[1,1e300,3]}"#)) }
        #expect(throws: EngineError.self) { try SearchRequest.parse(try json(#"{"vector":[]}"#)) }
    }
}
