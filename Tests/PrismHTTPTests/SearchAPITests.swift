import Foundation
import PrismTestSupport
import Testing

@Suite("HTTP search")
struct SearchAPITests {
    let schema = #"{"num_shards":2,"backends":{"text":{"fields":[{"name":"title","type":"text"},{"name":"tag","type":"string"},{"name":"secret","type":"text","stored":false}]}}}"#

    @Test func searchAnswersWithResultsTotalAndShards() async throws {
        let schema = self.schema
        try await withTestServer { client in
            #expect(try await client.put("/collections/c", schema).status == 201)
            #expect(try await client.post("/collections/c/documents", """
            {"documents":[{"id":"1","fields":{"title":"quick brown fox","tag":"animal","secret":"hidden words"}},
                          {"id":"2","fields":{"title":"quick quick cooking","tag":"food"}},
                          {"id":"3","fields":{"title":"lazy dog","tag":"animal"}}]}
            """).status == 201)
            let answer = try await client.post("/collections/c/search", #"{"query":"quick","limit":1}"#)
            #expect(answer.status == 200)
            let results = answer.json["results"] as? [[String: Any]] ?? []
            #expect(results.count == 1)
            #expect(results.first?["id"] as? String == "2")
            #expect((results.first?["score"] as? Double ?? 0) > 0)
            #expect((results.first?["fields"] as? [String: Any])?["title"] as? String == "quick quick cooking")
            #expect(answer.json["total"] as? Int == 2)
            #expect(answer.json["latency_ms"] is Double)
            #expect(answer.json["is_partial"] as? Bool == false)
            let shards = answer.json["shards"] as? [String: Any] ?? [:]
            #expect(shards["total"] as? Int == 2)
            #expect(shards["successful"] as? Int == 2)
            #expect(shards["failed"] as? Int == 0)

            let hidden = try await client.post("/collections/c/search", #"{"query":"hidden"}"#)
            let hit = (hidden.json["results"] as? [[String: Any]])?.first
            #expect(hit?["id"] as? String == "1", "non-stored fields are searchable")
            #expect((hit?["fields"] as? [String: Any])?["secret"] == nil, "but not returned")

            let filtered = try await client.post("/collections/c/search", #"{"query":"quick OR lazy","filter":"tag:animal"}"#)
            #expect(Set((filtered.json["results"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }) == ["1", "3"])
        }
    }

    @Test func vectorAndHybridSearchOverHTTP() async throws {
        try await withTestServer { client in
            #expect(try await client.put("/collections/v", #"{"backends":{"text":{"fields":[{"name":"title","type":"text"}]},"vector":{"dimension":2,"distance":"euclidean"}}}"#).status == 201)
            #expect(try await client.post("/collections/v/documents", """
            {"documents":[{"id":"a","fields":{"title":"red","embedding":[0,0]}},{"id":"b","fields":{"title":"blue","embedding":[1,1]}},
                          {"id":"c","fields":{"title":"red blue","embedding":[5,5]}}]}
            """).status == 201)
            let nearest = try await client.post("/collections/v/search", #"{"vector":[0.9,0.9],"limit":2}"#)
            #expect((nearest.json["results"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["b", "a"])
            let hybrid = try await client.post("/collections/v/search", #"{"query":"red","vector":[5,5],"merge_strategy":"rrf"}"#)
            #expect((hybrid.json["results"] as? [[String: Any]])?.first?["id"] as? String == "c")
            let wrong = try await client.post("/collections/v/search", #"{"vector":[1,2,3]}"#)
            #expect(wrong.status == 400)
            #expect((wrong.json["error"] as? String)?.contains("vector: has 3 dimensions, the schema requires 2") == true)
            let noVectors = try await client.put("/collections/t", #"{"backends":{"text":{"fields":[{"name":"title","type":"text"}]}}}"#)
            #expect(noVectors.status == 201)
            let refused = try await client.post("/collections/t/search", #"{"vector":[1]}"#)
            #expect(refused.status == 400)
            #expect((refused.json["error"] as? String)?.contains("has no vector backend") == true)
        }
    }

    @Test func aggregateOverHTTP() async throws {
        try await withTestServer { client in
            #expect(try await client.put("/collections/s", #"{"num_shards":2,"backends":{"text":{"fields":[{"name":"color","type":"string"},{"name":"qty","type":"i64"}]}}}"#).status == 201)
            #expect(try await client.post("/collections/s/documents", """
            {"documents":[{"id":"1","fields":{"color":"red","qty":2}},{"id":"2","fields":{"color":"red","qty":3}},{"id":"3","fields":{"color":"blue","qty":10}}]}
            """).status == 201)
            let answer = try await client.post("/collections/s/aggregate", #"{"aggregations":[{"name":"total","type":"sum","field":"qty"},{"name":"colors","type":"terms","field":"color"}]}"#)
            #expect(answer.status == 200)
            let results = answer.json["results"] as? [String: Any] ?? [:]
            #expect((results["total"] as? [String: Any])?["value"] as? Int == 15)
            let buckets = (results["colors"] as? [String: Any])?["buckets"] as? [[String: Any]] ?? []
            #expect(buckets.first?["key"] as? String == "red")
            #expect(buckets.first?["doc_count"] as? Int == 2)
            #expect(answer.json["took_ms"] is Double)
            let bad = try await client.post("/collections/s/aggregate", #"{"aggregations":[{"name":"x","type":"sum","field":"color"}]}"#)
            #expect(bad.status == 400)
            #expect((bad.json["error"] as? String)?.contains("'color' is string") == true)
            #expect(try await client.post("/collections/missing/aggregate", #"{"aggregations":[]}"#).status == 404)
        }
    }

    @Test func badSearchesGetJSONErrors() async throws {
        let schema = self.schema
        try await withTestServer { client in
            #expect(try await client.put("/collections/c", schema).status == 201)
            let cases: [(String, Int, String)] = [
                (#"{"query":"(quick"}"#, 400, "query: query syntax error at position 7: expected ')'"),
                (#"{"query":"nope:x"}"#, 400, "'nope' is not a field"),
                (#"{"query":"x","limit":-1}"#, 400, "limit: -1 is out of range"),
                (#"{"query":"x","limit":"ten"}"#, 400, "limit: expected an integer"),
                (#"{"query":5}"#, 400, "query: expected a string"),
                (#"{"qeury":"x"}"#, 400, "qeury: unknown search parameter"),
                (#"{"query":"x","fields":["missing"]}"#, 400, "fields: 'missing' is not a field"),
                (#"{"query":"x","filter":"tag:("}"#, 400, "filter: query syntax error"),
                ("[1]", 422, "search body must be a JSON object"),
                ("{nope", 400, "invalid JSON"),
            ]
            for (body, status, fragment) in cases {
                let answer = try await client.post("/collections/c/search", body)
                #expect(answer.status == status, "\(body) → \(answer.text)")
                #expect((answer.json["error"] as? String)?.contains(fragment) == true, "\(body) → \(answer.text)")
            }
            let missing = try await client.post("/collections/none/search", #"{"query":"x"}"#)
            #expect(missing.status == 404)
        }
    }
}
