import Foundation
@testable import PrismSearch
import PrismStorage
import Testing

/// BM25 by hand (Double), for comparison with the engine's Float scores.
func bm25(tf: Double, length: Double, average: Double, df: Double, n: Double, k1: Double = 1.2, b: Double = 0.75) -> Double {
    let idf = Foundation.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * (k1 + 1) * tf / (tf + k1 * (1 - b + b * length / average))
}

@Suite("Text search")
struct SearchTests {
    func makeStore(shards: Int = 1, fields: String = #"[{"name":"body","type":"text"}]"#) async throws -> StoreFixture {
        let fixture = try StoreFixture()
        _ = try await fixture.store.create(try SchemaParser().parse(
            try json(#"{"num_shards":\#(shards),"backends":{"text":{"fields":\#(fields)}}}"#), name: "c"))
        return fixture
    }

    func index(_ fixture: StoreFixture, _ docs: [(String, String)], field: String = "body") async throws {
        let jsons = try docs.map { id, text in
            try json(#"{"id":"\#(id)","fields":{"\#(field)":\#(String(decoding: try JSONEncoder().encode(text), as: UTF8.self))}}"#)
        }
        let result = try await fixture.store.upsert("c", documents: jsons)
        #expect(result.failures.isEmpty)
    }

    func search(_ fixture: StoreFixture, _ query: String, limit: Int = 10, fields: [String]? = nil, filter: String? = nil) throws -> SearchResult {
        var request = SearchRequest()
        request.query = query
        request.limit = limit
        request.fields = fields
        request.filter = filter
        return try fixture.store.search("c", request)
    }

    @Test func scoresEqualHandComputedBM25() async throws {
        let fixture = try await makeStore()
        try await index(fixture, [("d1", "a b c"), ("d2", "a a d"), ("d3", "b")])
        let result = try search(fixture, "a")
        let average = 7.0 / 3
        #expect(result.hits.map(\.id) == ["d2", "d1"])
        #expect(result.total == 2)
        #expect(abs(Double(result.hits[0].score) - bm25(tf: 2, length: 3, average: average, df: 2, n: 3)) < 1e-5)
        #expect(abs(Double(result.hits[1].score) - bm25(tf: 1, length: 3, average: average, df: 2, n: 3)) < 1e-5)
        // Two terms add their scores.
        let both = try search(fixture, "a b")
        let d1 = bm25(tf: 1, length: 3, average: average, df: 2, n: 3) + bm25(tf: 1, length: 3, average: average, df: 2, n: 3)
        #expect(both.hits.first { $0.id == "d1" }.map { abs(Double($0.score) - d1) < 1e-5 } == true)
        #expect(Set(both.hits.map(\.id)) == ["d1", "d2", "d3"])
    }

    /// Full column chunks are copied into memory for queries; a deleted and recreated collection
    /// with the same name, and later writes, must never be scored with the old copies: answers
    /// equal those of a store that never cached anything.
    @Test func cachedColumnChunksNeverOutliveTheirCollection() async throws {
        func corpus(_ generation: Int) -> [(String, String)] {
            // More than one 4096-document chunk, lengths varying with the generation.
            (0..<4300).map { i in ("d\(i)", "target " + Array(repeating: "w", count: (i + 5 * generation) % 17).joined(separator: " ")) }
        }
        func answers(_ fixture: StoreFixture) throws -> [String] {
            try search(fixture, "target", limit: 20).hits.map { "\($0.id) \($0.score)" }
        }
        let cached = try await makeStore()
        try await index(cached, corpus(0))
        let before = try answers(cached)
        #expect(cached.store.cachedColumnBytes > 0, "a full chunk exists, so the query should have cached it")
        try await cached.store.delete("c")
        _ = try await cached.store.create(try SchemaParser().parse(try json(#"{"backends":{"text":{"fields":[{"name":"body","type":"text"}]}}}"#), name: "c"))
        try await index(cached, corpus(1))
        let fresh = try await makeStore()
        try await index(fresh, corpus(1))
        #expect(try answers(cached) == answers(fresh))
        #expect(try answers(cached) != before, "the generations should rank differently")
        // Replacements get new document numbers beyond the cached chunk; both stores agree.
        let replaced = (0..<50).map { ("d\($0 * 7)", "target target") }
        try await index(cached, replaced)
        try await index(fresh, replaced)
        #expect(try answers(cached) == answers(fresh))
    }

    /// The top-k shortcuts (one term, OR of terms, AND of two terms, which skip or only count
    /// blocks that cannot enter the top k) must give exactly what scoring every match gives; a
    /// filter that lets every document through forces the full evaluation. Checked with the
    /// postings in the buffer, in LMDB blocks, and with deleted documents.
    @Test func topKShortcutsEqualFullEvaluation() async throws {
        let fixture = try await makeStore()
        var rng = SplitMix64(seed: 21)
        // "omega" in every 100th document: 100 times rarer than "alpha", so ANDs with it leapfrog
        // (`leapfrogPays`), while the skewed words among themselves merge.
        try await index(fixture, (0..<3000).map { ("d\($0)", PostingsBufferTests.body(&rng) + ($0 % 100 == 0 ? " omega" : "")) })
        let words = ["alpha", "beta", "gamma", "kappa", "sigma", "upsilon", "omega", "missing"]
        var queries: [String] = words
        for (i, a) in words.enumerated() {
            for b in words[(i + 1)...] { queries += ["+\(a) +\(b)", "\(a) AND \(b)", "\(a) \(b)"] }
        }
        func check(_ stage: String) throws {
            var skipped = 0
            for q in queries {
                for limit in [1, 10] {
                    let fast = try search(fixture, q, limit: limit)
                    let full = try search(fixture, q, limit: limit, filter: "body:*")
                    #expect(fast.total == full.total, "\(stage): \(q) total")
                    #expect(fast.hits.map(\.id) == full.hits.map(\.id), "\(stage): \(q) top \(limit)")
                    #expect(fast.hits.map(\.score) == full.hits.map(\.score), "\(stage): \(q) scores")
                    if fast.total > 0 { skipped += 1 }
                }
            }
            #expect(skipped > 40)
        }
        try check("buffered")
        #expect(try await fixture.store.flushPostings() == 3000)
        try check("stored")
        for i in stride(from: 0, to: 3000, by: 7) { try await fixture.store.deleteDocument("c", id: "d\(i)") }
        try check("with deletions")
    }

    @Test func longFieldsUseTheQuantizedNorm() async throws {
        let fixture = try await makeStore()
        let long = (0..<99).map { "w\($0)" }.joined(separator: " ") + " target"
        try await index(fixture, [("long", long), ("short", "target here")])
        let result = try search(fixture, "target")
        let average = 102.0 / 2
        // 100 tokens quantize to norm id 44 ⇒ length 96 (Lucene SmallFloat.intToByte4).
        #expect(FieldNorm.length(forID: FieldNorm.id(forLength: 100)) == 96)
        let expected = bm25(tf: 1, length: 96, average: average, df: 2, n: 2)
        #expect(abs(Double(result.hits.first { $0.id == "long" }?.score ?? 0) - expected) < 1e-5)
    }

    @Test func shardingDoesNotChangeScores() async throws {
        let docs = (0..<200).map { i in ("doc\(i)", (0..<(i % 7 + 1)).map { "t\((i * 31 + $0 * 7) % 23)" }.joined(separator: " ")) }
        let one = try await makeStore(shards: 1)
        let many = try await makeStore(shards: 5)
        try await index(one, docs)
        try await index(many, docs)
        for query in ["t1", "t2 t5", "+t3 -t4", "\"t1 t8\"", "t7 AND t9"] {
            let a = try search(one, query, limit: 50), b = try search(many, query, limit: 50)
            #expect(a.total == b.total, "\(query)")
            #expect(a.hits.map(\.id) == b.hits.map(\.id), "\(query)")
            #expect(zip(a.hits, b.hits).allSatisfy { abs($0.score - $1.score) < 1e-5 }, "\(query)")
        }
    }

    @Test func booleanSemantics() async throws {
        let fixture = try await makeStore()
        try await index(fixture, [("1", "red apple"), ("2", "green apple"), ("3", "red car"), ("4", "blue sky")])
        func ids(_ q: String) throws -> Set<String> { Set(try search(fixture, q).hits.map(\.id)) }
        #expect(try ids("apple") == ["1", "2"])
        #expect(try ids("red AND apple") == ["1"])
        #expect(try ids("red OR sky") == ["1", "3", "4"])
        #expect(try ids("+apple -green") == ["1"])
        #expect(try ids("apple NOT red") == ["2"])
        #expect(try ids("NOT apple") == ["3", "4"])
        #expect(try ids("(red OR green) AND apple") == ["1", "2"])
        #expect(try ids("*") == ["1", "2", "3", "4"])
        #expect(try ids("body:*") == ["1", "2", "3", "4"])
        #expect(try ids("+red apple").count == 2)
        #expect(try search(fixture, "+red apple").hits.first?.id == "1", "the optional clause adds to the score")
    }

    @Test func phrasesRespectOrderAndAdjacency() async throws {
        let fixture = try await makeStore()
        try await index(fixture, [("1", "new york city"), ("2", "york new"), ("3", "new jersey and york"), ("4", "New-York")])
        #expect(Set(try search(fixture, "\"new york\"").hits.map(\.id)) == ["1", "4"])
        // A word the analyzer splits becomes a phrase too.
        #expect(Set(try search(fixture, "new-york").hits.map(\.id)) == ["1", "4"])
    }

    @Test func updatesAndDeletesAreVisibleWithoutRebuild() async throws {
        let fixture = try await makeStore(shards: 2)
        try await index(fixture, [("1", "alpha"), ("2", "alpha beta")])
        try await index(fixture, [("1", "gamma")])
        #expect(try search(fixture, "alpha").hits.map(\.id) == ["2"])
        #expect(try search(fixture, "gamma").hits.map(\.id) == ["1"])
        try await fixture.store.deleteDocument("c", id: "2")
        #expect(try search(fixture, "alpha").total == 0)
        try fixture.reopen()
        #expect(try search(fixture, "gamma").hits.map(\.id) == ["1"])
    }

    @Test func boostsFieldsFiltersAndPaging() async throws {
        let fixture = try await makeStore(fields: #"[{"name":"title","type":"text"},{"name":"body","type":"text"},{"name":"tag","type":"string"}]"#)
        let docs = try (1...30).map { i in
            try json(#"{"id":"\#(i)","fields":{"title":"item \#(i)","body":"\#(i % 2 == 0 ? "even" : "odd") body","tag":"\#(i % 3 == 0 ? "three" : "other")"}}"#)
        }
        _ = try await fixture.store.upsert("c", documents: docs)
        let filtered = try search(fixture, "item", limit: 100, filter: "tag:three")
        #expect(filtered.total == 10)
        #expect(Set(filtered.hits.map(\.id)) == Set(stride(from: 3, through: 30, by: 3).map(String.init)))
        #expect(try search(fixture, "even", fields: ["title"]).total == 0)
        #expect(try search(fixture, "even", fields: ["body"]).total == 15)
        var page = SearchRequest()
        page.query = "body"
        page.limit = 7
        page.offset = 28
        let tail = try fixture.store.search("c", page)
        #expect(tail.total == 30)
        #expect(tail.hits.count == 2)
        let plain = try search(fixture, "even OR odd", limit: 1).hits[0].score
        let boosted = try search(fixture, "even^3 OR odd", limit: 1)
        #expect(boosted.hits[0].score > plain * 2)
        #expect(Int(boosted.hits[0].id).map { $0 % 2 == 0 } == true)
    }

    @Test func badQueriesAreRefused() async throws {
        let fixture = try await makeStore()
        #expect(throws: EngineError.self) { try search(fixture, "nope:x") }
        #expect(throws: EngineError.self) { try search(fixture, "(a") }
        #expect(throws: EngineError.self) { try search(fixture, "a", fields: ["missing"]) }
        #expect(throws: EngineError.self) { try search(fixture, "a", filter: "b:(") }
    }
}

@Suite("Range and typed-field queries")
struct RangeQueryTests {
    @Test func rangesOnNumbersDatesAndBools() async throws {
        let fixture = try StoreFixture()
        _ = try await fixture.store.create(try SchemaParser().parse(try json("""
        {"num_shards":3,"backends":{"text":{"fields":[{"name":"title","type":"text"},{"name":"year","type":"i64"},
         {"name":"price","type":"f64"},{"name":"when","type":"date"},{"name":"flag","type":"bool"},{"name":"n","type":"u64"}]}}}
        """), name: "c"))
        let docs = try (0..<20).map { i in
            try json(#"{"id":"\#(i)","fields":{"title":"item","year":\#(1995 + i),"price":\#(Double(i) * 0.5),"when":"2024-\#(String(format: "%02d", i % 12 + 1))-15T00:00:00Z","flag":\#(i % 2 == 0),"n":\#(i)}}"#)
        }
        _ = try await fixture.store.upsert("c", documents: docs + [try json(#"{"id":"bare","fields":{"title":"item"}}"#)])
        func ids(_ q: String) throws -> Set<Int> {
            var r = SearchRequest()
            r.query = q
            r.limit = 100
            return Set(try fixture.store.search("c", r).hits.compactMap { Int($0.id) })
        }
        #expect(try ids("year:[2000 TO 2004]") == Set(5...9))
        #expect(try ids("year:{2000 TO 2004}") == Set(6...8))
        #expect(try ids("year:[2000 TO 2004}") == Set(5...8))
        #expect(try ids("year:[* TO 1997]") == Set(0...2))
        #expect(try ids("year:[2012 TO *]") == Set(17...19))
        #expect(try ids("year:2005") == [10])
        #expect(try ids("price:[1.5 TO 2.5]") == Set(3...5))
        #expect(try ids("when:[2024-03-01 TO 2024-04-30]") == [2, 3, 14, 15])
        #expect(try ids("flag:true") == Set(stride(from: 0, to: 20, by: 2)))
        #expect(try ids("n:[18 TO 100]") == [18, 19])
        #expect(try ids("year:*").count == 20)
        #expect(try ids("item AND year:[1995 TO 1996]") == [0, 1])
        #expect(try ids("item -year:[1996 TO *]") == [0])
        var filtered = SearchRequest()
        filtered.query = "item"
        filtered.filter = "year:[2010 TO *] AND flag:false"
        filtered.limit = 100
        #expect(Set(try fixture.store.search("c", filtered).hits.compactMap { Int($0.id) }) == [15, 17, 19])
        for bad in ["title:[a TO b]", "year:[x TO 3]", "when:[yesterday TO *]", "flag:maybe"] {
            var r = SearchRequest()
            r.query = bad
            #expect(throws: EngineError.self, "\(bad)") { try fixture.store.search("c", r) }
        }
    }
}

@Suite("Highlighting")
struct HighlightTests {
    @Test func fragmentsTagTheMatchedTerms() async throws {
        let fixture = try StoreFixture()
        _ = try await fixture.store.create(try SchemaParser().parse(try json(
            #"{"backends":{"text":{"fields":[{"name":"body","type":"text","analyzer":"en"},{"name":"title","type":"text"}]}}}"#), name: "c"))
        let long = String(repeating: "filler words here. ", count: 30)
        _ = try await fixture.store.upsert("c", documents: [try json(#"""
        {"id":"1","fields":{"title":"Running shoes","body":"The runners were running fast. \#(long) Later a runner ran again."}}
        """#)])
        var r = SearchRequest()
        r.query = "running runner"
        r.highlight = HighlightOptions()
        r.highlight?.fragmentSize = 40
        let hit = try #require(try fixture.store.search("c", r).hits.first)
        let body = try #require(hit.highlight?["body"])
        try #require(body.count == 2, "\(body)")
        #expect(body[0].contains("<em>runners</em>") && body[0].contains("<em>running</em>"), "stemmed matches: \(body)")
        #expect(body[1].contains("<em>runner</em>"))
        #expect(!body.joined().contains("<em>ran</em>"))
        #expect(hit.highlight?["title"] == ["<em>Running</em> shoes"])
        r.query = "running"
        r.highlight = HighlightOptions()
        r.highlight?.preTag = "["
        r.highlight?.postTag = "]"
        r.highlight?.numberOfFragments = 0
        r.highlight?.fields = ["title"]
        #expect(try fixture.store.search("c", r).hits.first?.highlight == ["title": ["[Running] shoes"]])
        r.highlight?.fields = ["missing"]
        #expect(throws: EngineError.self) { try fixture.store.search("c", r) }
        #expect(throws: EngineError.self) { try SearchRequest.parse(try json(#"{"highlight":{"fragment_size":"big"}}"#)) }
    }
}

@Suite("Highlighter robustness")
struct HighlighterFuzzTests {
    @Test func randomTextNeverBreaksFragments() {
        var rng = SplitMix64(seed: 5)
        let pieces = ["alpha", "beta", "Gamma", "δέλτα", "東京", "e\u{301}", " ", ", ", "-", "\n", "x", "ünïcode"]
        for round in 0..<500 {
            let text = (0..<Int.random(in: 0..<60, using: &rng)).map { _ in pieces.randomElement(using: &rng) ?? "" }.joined()
            var options = HighlightOptions()
            options.fragmentSize = Int.random(in: 10...60, using: &rng)
            options.numberOfFragments = Int.random(in: 0...4, using: &rng)
            for analyzer in Analyzer.allCases {
                let fragments = Highlighter(options: options).fragments(text, analyzer: analyzer, terms: ["alpha", "δέλτα", "東京", "gamma", "x"])
                for f in fragments {
                    #expect(f.contains("<em>"), "round \(round): \(f)")
                    // Count tags by bytes: a combining mark after a tag would merge with it as a Character.
                    #expect(occurrences("<em>", f) == occurrences("</em>", f), "round \(round): \(f)")
                }
                if options.numberOfFragments > 0 { #expect(fragments.count <= options.numberOfFragments) }
            }
        }
    }
}

func occurrences(_ needle: String, _ haystack: String) -> Int {
    let n = Array(needle.utf8), h = Array(haystack.utf8)
    guard n.count <= h.count else { return 0 }
    return (0...(h.count - n.count)).filter { Array(h[$0..<($0 + n.count)]) == n }.count
}
