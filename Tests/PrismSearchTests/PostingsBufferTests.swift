import Foundation
@testable import PrismSearch
import PrismStorage
import Testing

/// Postings wait in a per-shard memory buffer and reach LMDB in large runs; none of that may
/// change an answer. Every store below gets the same writes; one writes every batch's postings
/// straight to LMDB (buffer size 0), one flushes every few documents (so flushes land between and
/// inside batches), one never flushes until asked. They must answer every query identically.
@Suite("Postings buffer")
struct PostingsBufferTests {
    static let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
                        "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon"]

    /// Text with a skewed vocabulary (some words in most documents, some rare) so lists span
    /// many blocks and phrases repeat.
    static func body(_ rng: inout SplitMix64) -> String {
        (0..<Int.random(in: 3...30, using: &rng)).map { _ in
            let r = Double.random(in: 0..<1, using: &rng)
            return words[min(words.count - 1, Int(pow(r, 3) * Double(words.count)))]
        }.joined(separator: " ")
    }

    static let queries = ["alpha", "kappa", "upsilon", "alpha beta", "alpha OR sigma", "beta AND gamma", "+alpha +delta -beta",
                          "\"alpha alpha\"", "\"beta gamma delta\"", "(gamma OR rho) AND alpha", "title:alpha", "nonexistent"]

    func makeStore(_ bufferDocuments: Int, shards: Int = 2) async throws -> StoreFixture {
        let fixture = try StoreFixture(postingsBufferDocuments: bufferDocuments)
        _ = try await fixture.store.create(try SchemaParser().parse(try json("""
        {"num_shards":\(shards),"backends":{"text":{"fields":[{"name":"title","type":"text"},{"name":"body","type":"text"}]}}}
        """), name: "c"))
        return fixture
    }

    func document(_ id: String, _ rng: inout SplitMix64) -> JSONValue {
        .object(["id": .string(id), "fields": .object(["title": .string(PostingsBufferTests.body(&rng)), "body": .string(PostingsBufferTests.body(&rng))])])
    }

    /// Every query's top 30 as (id, score), and total matches.
    func answers(_ fixture: StoreFixture) throws -> [String] {
        try PostingsBufferTests.queries.map { q in
            var r = SearchRequest()
            r.query = q
            r.limit = 30
            r.includeDocuments = false
            let result = try fixture.store.search("c", r)
            return "\(q) [\(result.total)]: " + result.hits.map { "\($0.id)=\(String(format: "%.5f", $0.score))" }.joined(separator: " ")
        }
    }

    /// Batches of new documents, replacements and deletions, the same for every store.
    func write(_ fixture: StoreFixture, rounds: Int, seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        var next = 0
        for _ in 0..<rounds {
            var docs: [JSONValue] = []
            for _ in 0..<Int.random(in: 1...40, using: &rng) {
                // A third of the writes replace an earlier document.
                let id = next > 10 && Bool.random(using: &rng) && Bool.random(using: &rng) ? Int.random(in: 0..<next, using: &rng) : { next += 1; return next - 1 }()
                docs.append(document("d\(id)", &rng))
            }
            #expect(try await fixture.store.upsert("c", documents: docs).failures.isEmpty)
            if next > 20 && Int.random(in: 0..<4, using: &rng) == 0 {
                try? await fixture.store.deleteDocument("c", id: "d\(Int.random(in: 0..<next, using: &rng))")
            }
        }
    }

    @Test func answersAreTheSameWhereverPostingsAre() async throws {
        let direct = try await makeStore(0)
        let small = try await makeStore(7)
        // Flushes of a few hundred documents: common terms arrive with full blocks already
        // encoded and are written as they are, leaving a partly filled block between flushes.
        let medium = try await makeStore(300)
        let large = try await makeStore(1_000_000)
        for fixture in [direct, small, medium, large] { try await write(fixture, rounds: 60, seed: 42) }
        let expected = try answers(direct)
        #expect(expected.contains { $0.hasPrefix("alpha [") && !$0.hasSuffix(": ") })
        #expect(try answers(small) == expected)
        #expect(try answers(medium) == expected)
        #expect(medium.store.postingsFlushes >= 2)
        #expect(medium.store.postingsFlushSeconds > 0 && large.store.postingsFlushSeconds == 0)
        #expect(try answers(large) == expected)
        // Everything still buffered in the large store is written out; nothing changes.
        #expect(large.store.bufferedDocuments > 0)
        #expect(try await large.store.flushPostings() > 0)
        #expect(large.store.bufferedDocuments == 0)
        #expect(try answers(large) == expected)
        // More writes after the flush land in a fresh buffer.
        for fixture in [direct, large] { try await write(fixture, rounds: 10, seed: 7) }
        let afterMore = try answers(direct)
        #expect(try answers(large) == afterMore)
    }

    /// Postings reach the buffer behind the writer; an upsert still returns only once its
    /// documents are searchable, with other writers in flight and flushes in between.
    @Test func documentsAreSearchableWhenTheirUpsertReturns() async throws {
        for bufferDocuments in [40, 1_000_000] {
            let fixture = try await makeStore(bufferDocuments, shards: 2)
            let store = fixture.store
            try await withThrowingTaskGroup(of: Int.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var rng = SplitMix64(seed: UInt64(writer + 1))
                        var misses = 0
                        for batch in 0..<15 {
                            let tag = "tag\(writer)x\(batch)"
                            let docs: [JSONValue] = (0..<10).map { i in
                                .object(["id": .string("w\(writer)-\(batch)-\(i)"),
                                         "fields": .object(["body": .string(PostingsBufferTests.body(&rng) + " " + tag)])])
                            }
                            _ = try await store.upsert("c", documents: docs)
                            var r = SearchRequest()
                            r.query = tag
                            r.limit = 20
                            r.includeDocuments = false
                            if try store.search("c", r).total != 10 { misses += 1 }
                        }
                        return misses
                    }
                }
                var misses = 0
                for try await m in group { misses += m }
                #expect(misses == 0, "buffer of \(bufferDocuments) documents")
            }
            var r = SearchRequest()
            r.query = "body:*"
            r.limit = 1
            #expect(try store.search("c", r).total == 600)
            if bufferDocuments == 40 { #expect(store.postingsFlushes >= 10) }
        }
    }

    /// A restart rebuilds the buffer from the stored documents: the answers stay the same.
    @Test func restartRebuildsTheBufferFromStoredDocuments() async throws {
        let direct = try await makeStore(0)
        let large = try await makeStore(1_000_000)
        var rng = SplitMix64(seed: 5)
        for round in 0..<20 {
            let docs = (0..<25).map { document("r\(round)-\($0)", &rng) }
            for fixture in [direct, large] { _ = try await fixture.store.upsert("c", documents: docs) }
        }
        let expected = try answers(direct)
        #expect(large.store.bufferedDocuments == 500)
        try large.reopen()
        #expect(large.store.bufferedDocuments == 500)
        #expect(try answers(large) == expected)
        // Replaced and deleted documents are gone after the rebuild too.
        _ = try await large.store.upsert("c", documents: [.object(["id": .string("r0-0"), "fields": .object(["body": .string("omega")])])])
        try await large.store.deleteDocument("c", id: "r0-1")
        try large.reopen()
        var r = SearchRequest()
        r.query = "omega"
        #expect(try large.store.search("c", r).hits.map(\.id) == ["r0-0"])
        r.query = "title:*"
        r.limit = 1000
        let ids = Set(try large.store.search("c", r).hits.map(\.id))
        #expect(!ids.contains("r0-1") && !ids.contains("r0-0") && ids.count == 498)
    }

    /// Concurrent writers share batches with requests that index into the same shards and then
    /// fail, so batches are replayed: only what committed may reach the buffer.
    @Test func replayedBatchesLeaveNoTraceInTheBuffer() async throws {
        let reference = try await makeStore(0, shards: 1)
        let buffered = try await makeStore(1_000_000, shards: 1)
        var rng = SplitMix64(seed: 11)
        let batches = (0..<24).map { b in (0..<20).map { document("w\(b)-\($0)", &rng) } }
        for batch in batches { _ = try await reference.store.upsert("c", documents: batch) }

        let (store, writer, environment) = (buffered.store, buffered.writer, buffered.environment)
        let doomed = document("doomed", &rng)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for slice in stride(from: 0, to: batches.count, by: 6) {
                group.addTask {
                    for batch in batches[slice..<slice + 6] { _ = try await store.upsert("c", documents: batch) }
                }
                group.addTask {
                    try await StoreFixture.submitDoomedWrites(6, store: store, writer: writer, environment: environment, collection: "c", doomed: doomed)
                }
            }
            try await group.waitForAll()
        }
        #expect(buffered.writer.stats.failedRequests == 24)
        #expect(buffered.store.bufferedDocuments == 480)
        #expect(try answers(buffered) == answers(reference))
    }
}
