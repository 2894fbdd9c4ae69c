@testable import PrismSearch
import Testing

func json(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

@Suite("Schema parsing")
struct SchemaParserTests {
    let parser = SchemaParser(defaultReplication: .init(factor: 2, minReplicasForWrite: 1))

    @Test func fillsDefaults() throws {
        let schema = try parser.parse(try json(#"{"backends":{"text":{"fields":[{"name":"title","type":"text"}]}}}"#), name: "articles")
        #expect(schema.collection == "articles")
        #expect(schema.numShards == 1)
        #expect(schema.replication == .init(factor: 2, minReplicasForWrite: 1))
        #expect(schema.backends.text?.bm25K1 == 1.2)
        #expect(schema.backends.text?.bm25B == 0.75)
        #expect(schema.backends.text?.fields == [FieldDefinition(name: "title", type: .text, stored: true, indexed: true)])
        #expect(schema.hybrid.defaultStrategy == .rrf)
        #expect(schema.hybrid.rrfK == 60)
        #expect(schema.backendNames == ["text"])
    }

    @Test func parsesTheAPIExample() throws {
        let text = """
        { "backends": {
            "text":   { "fields": [ {"name":"title","type":"text","stored":true,"indexed":true} ], "bm25_k1": 1.2, "bm25_b": 0.75 },
            "vector": { "embedding_field":"embedding", "dimension":384, "distance":"euclidean",
                        "hnsw_m":16, "hnsw_ef_construction":200, "hnsw_ef_search":100 } },
          "num_shards": 8,
          "replication": { "factor": 3, "min_replicas_for_write": 2 },
          "hybrid": { "default_strategy":"weighted", "rrf_k":60, "text_weight":0.7, "vector_weight":0.3 },
          "embedding_generation": { "enabled": false, "source_field":"content", "target_field":"embedding" } }
        """
        let schema = try parser.parse(try json(text), name: "docs")
        #expect(schema.numShards == 8)
        #expect(schema.backends.vector?.dimension == 384)
        #expect(schema.backends.vector?.distance == .euclidean)
        #expect(schema.replication == .init(factor: 3, minReplicasForWrite: 2))
        #expect(schema.hybrid.defaultStrategy == .weighted)
        #expect(schema.hybrid.textWeight == 0.7)
    }

    @Test(arguments: [
        (#"{"backends":{}}"#, "backends: a schema needs a text backend"),
        (#"{"backends":{"text":{"fields":[{"name":"t","type":"txt"}]}}}"#, "backends.text.fields[0].type: unknown value 'txt'"),
        (#"{"backends":{"text":{"fields":[{"name":"t","type":"text"},{"name":"t","type":"i64"}]}}}"#, "backends.text.fields[1].name: field 't' is declared twice"),
        (#"{"backends":{"text":{"feilds":[]}}}"#, "backends.text.feilds: unknown key"),
        (#"{"backends":{"vector":{"dimension":0}}}"#, "backends.vector.dimension: 0 is out of range"),
        (#"{"backends":{"vector":{"dimension":"3"}}}"#, "backends.vector.dimension: expected an integer"),
        (#"{"backends":{"vector":{"dimension":3,"distance":"manhattan"}}}"#, "backends.vector.distance: unknown value 'manhattan'"),
        (#"{"backends":{"vector":{"dimension":3}},"num_shards":0}"#, "num_shards: 0 is out of range"),
        (#"{"backends":{"vector":{"dimension":3}},"replication":{"factor":0}}"#, "replication.factor: 0 is out of range"),
        (#"{"backends":{"vector":{"dimension":3}},"replication":{"factor":2,"min_replicas_for_write":3}}"#, "replication.min_replicas_for_write: 3 exceeds replication.factor 2"),
        (#"{"backends":{"text":{"fields":[{"name":"id","type":"text"}]}}}"#, "backends.text.fields[0].name: 'id' is not a valid field name"),
        (#"[1]"#, "schema must be a JSON object"),
        (#"{"backends":{"text":{"fields":[{"name":"e","type":"text"}]},"vector":{"embedding_field":"e","dimension":2}}}"#, "also declared as a text backend field"),
    ])
    func refusesBadSchemas(body: String, message: String) throws {
        do {
            _ = try parser.parse(try json(body), name: "c")
            Issue.record("accepted \(body)")
        } catch {
            guard case EngineError.invalid(let text)? = error as? EngineError else { Issue.record("wrong error kind \(error)"); return }
            #expect(text.contains(message), "\(text)")
        }
    }

    @Test(arguments: ["", "has space", "slash/x", "dot.name", String(repeating: "a", count: 129)])
    func refusesBadCollectionNames(name: String) throws {
        #expect(throws: EngineError.self) {
            try parser.parse(try json(#"{"backends":{"vector":{"dimension":3}}}"#), name: name)
        }
    }
}
