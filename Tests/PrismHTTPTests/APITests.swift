import Foundation
import PrismTestSupport
import Testing

let articleSchema = #"{"backends":{"text":{"fields":[{"name":"title","type":"text"},{"name":"year","type":"i64"},{"name":"secret","type":"string","stored":false}]},"vector":{"dimension":3}},"num_shards":4}"#

@Suite("HTTP API")
struct APITests {
    @Test func nodeEndpoints() async throws {
        try await withTestServer { client in
            let root = try await client.get("/")
            #expect(root.status == 200)
            #expect(root.json["name"] as? String == "prism")
            #expect(root.json["status"] as? String == "ok")
            let health = try await client.get("/health")
            #expect(health.status == 200)
            #expect(health.json["status"] as? String == "ok")
            #expect(health.json["collections"] as? Int == 0)
            #expect(health.json["uptime_secs"] is Int)
            let stats = try await client.get("/stats/server")
            #expect(stats.status == 200)
            #expect((stats.json["storage"] as? [String: Any])?["sync_mode"] as? String == "full")
        }
    }

    @Test func collectionAndDocumentLifecycle() async throws {
        try await withTestServer { client in
            let created = try await client.put("/collections/articles", articleSchema)
            #expect(created.status == 201)
            #expect(created.json["collection"] as? String == "articles")
            #expect(created.json["status"] as? String == "created")
            #expect(created.json["backends"] as? [String] == ["text", "vector"])

            #expect(try await client.get("/admin/collections").json["collections"] as? [String] == ["articles"])
            let schema = try await client.get("/collections/articles/schema")
            #expect(schema.json["num_shards"] as? Int == 4)

            let indexed = try await client.post("/collections/articles/documents", """
            {"documents":[
              {"id":"1","fields":{"title":"Hello","year":2024,"secret":"s","embedding":[0.1,0.2,0.3]}},
              {"id":"2","fields":{"title":5}},
              {"id":"3","fields":{"embedding":[1,2]}},
              {"id":"4","fields":{"title":"World"}}]}
            """)
            #expect(indexed.status == 201)
            #expect(indexed.json["indexed"] as? Int == 2)
            #expect(indexed.json["failed"] as? Int == 2)
            let errors = indexed.json["errors"] as? [[String: String]] ?? []
            #expect(errors.map { $0["doc_id"] } == ["2", "3"])
            #expect(errors.first?["error"]?.contains("fields.title") == true)

            let doc = try await client.get("/collections/articles/documents/1")
            #expect(doc.status == 200)
            #expect(doc.json["id"] as? String == "1")
            let fields = doc.json["fields"] as? [String: Any] ?? [:]
            #expect(fields["title"] as? String == "Hello")
            #expect(fields["year"] as? Int == 2024)
            #expect(fields["secret"] == nil, "stored: false fields are not returned")
            #expect((fields["embedding"] as? [Double])?.count == 3)

            let stats = try await client.get("/collections/articles/stats")
            #expect(stats.json["document_count"] as? Int == 2)
            #expect((stats.json["storage_bytes"] as? Int ?? 0) > 0)
            let shardStats = stats.json["shards"] as? [[String: Any]] ?? []
            #expect(shardStats.count == 4)
            #expect(shardStats.compactMap { $0["document_count"] as? Int }.reduce(0, +) == 2)

            let deleted = try await client.delete("/collections/articles/documents/1")
            #expect(deleted.status == 200)
            #expect(deleted.json["status"] as? String == "deleted")
            #expect(try await client.get("/collections/articles/documents/1").status == 404)

            let dropped = try await client.delete("/collections/articles")
            #expect(dropped.status == 200)
            #expect(dropped.json["status"] as? String == "deleted")
            #expect(try await client.get("/collections/articles/schema").status == 404)
        }
    }

    @Test func documentsPersistAcrossServerRestarts() async throws {
        let dir = TemporaryDirectory()
        try await withTestServer(dataDirectory: dir) { client throws in
            #expect(try await client.put("/collections/c", articleSchema).status == 201)
            #expect(try await client.post("/collections/c/documents", #"{"documents":[{"id":"k","fields":{"title":"kept"}}]}"#).status == 201)
        }
        try await withTestServer(dataDirectory: dir) { client throws in
            let doc = try await client.get("/collections/c/documents/k")
            #expect((doc.json["fields"] as? [String: Any])?["title"] as? String == "kept")
        }
    }

    @Test func idsAreAddressedPercentEncoded() async throws {
        try await withTestServer { client in
            #expect(try await client.put("/collections/c", articleSchema).status == 201)
            #expect(try await client.post("/collections/c/documents", #"{"documents":[{"id":"a b/ç?","fields":{"title":"odd id"}}]}"#).status == 201)
            let doc = try await client.get("/collections/c/documents/a%20b%2F%C3%A7%3F")
            #expect(doc.status == 200)
            #expect(doc.json["id"] as? String == "a b/ç?")
            #expect(try await client.get("/collections/c/documents/%E0%A4%A").status == 400)
            #expect(try await client.delete("/collections/c/documents/a%20b%2F%C3%A7%3F").status == 200)
        }
    }

    @Test func metricsCountRequestsByRoute() async throws {
        try await withTestServer { client in
            _ = try await client.get("/health")
            _ = try await client.get("/collections/missing/schema")
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains(#"prism_http_requests_total{method="GET",route="/health",status="200"} 1"#))
            #expect(metrics.text.contains(#"prism_http_requests_total{method="GET",route="/collections/{name}/schema",status="404"} 1"#))
            #expect(metrics.text.contains("prism_http_request_duration_seconds_bucket"))
            #expect(metrics.text.contains("prism_storage_commits"))
        }
    }

    @Test func bufferedPostingsAreAMetric() async throws {
        try await withTestServer { client in
            _ = try await client.put("/collections/m", #"{"backends":{"text":{"fields":[{"name":"body","type":"text"}]}}}"#)
            _ = try await client.post("/collections/m/documents", #"{"documents":[{"id":"a","fields":{"body":"x y"}},{"id":"b","fields":{"body":"y"}}]}"#)
            let metrics = try await client.get("/metrics")
            #expect(metrics.text.contains("prism_index_buffered_documents 2"), "\(metrics.text)")
            #expect(metrics.text.contains("prism_index_postings_flushes 0"))
            #expect(metrics.text.contains("prism_index_postings_flush_seconds 0"))
            #expect(metrics.text.contains("prism_index_cached_column_bytes 0"), "no chunk is full yet")
        }
    }
}
