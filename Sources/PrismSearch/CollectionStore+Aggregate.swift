import Foundation
import PrismStorage

extension CollectionStore {
    /// Runs aggregations over the documents matching `query` (all when absent): each shard
    /// computes mergeable partials from doc values, the partials are merged, then rendered. A
    /// single-shard collection goes through the same merge.
    public func aggregate(_ name: String, body: JSONValue) throws -> [String: JSONValue] {
        let schema = try schema(name)
        guard case .object(let object) = body else { throw EngineError.wrongShape("aggregate body must be a JSON object, got \(body.typeName)") }
        for key in object.keys.sorted() where key != "query" && key != "aggregations" {
            throw EngineError.invalid("\(key): unknown parameter; the body is {\"query\"?: \"...\", \"aggregations\": [...]}")
        }
        var queryText = ""
        if let q = object["query"] {
            guard case .string(let s) = q else { throw EngineError.invalid("query: expected a string, got \(q.typeName)") }
            queryText = s
        }
        let compiler = try QueryCompiler(schema: schema, defaultFieldNames: nil)
        let plan = try compiler.compile(try CollectionStore.parseQuery(queryText, parameter: "query"))
        let specs = try AggregationParser(schema: schema, compiler: compiler).parse(object["aggregations"])
        let fields = schema.backends.text?.fields ?? []
        let index = self.index
        let partials: [String: AggregationPartial] = try environment.read { txn in
            var merged: [String: AggregationPartial] = [:]
            for shard in 0..<schema.numShards {
                let reader = try ShardReader(txn: txn, tables: index, collection: name, shard: shard,
                                             fields: fields.count, fieldTypes: fields.map(\.type))
                try attachPostingsBuffers([reader], collection: name, txn)
                let searcher = ShardSearcher(reader: reader, statistics: CollectionStatistics(), k1: 1.2, b: 0.75)
                let docs = try searcher.evaluate(plan).docs
                let own = try AggregationExecutor(reader: reader, searcher: searcher, fields: fields).run(specs, docs: docs)
                for (k, p) in own { merged[k] = merged[k].map { $0.merged(with: p) } ?? p }
            }
            return merged
        }
        return AggregationRenderer(fields: fields).render(specs, partials)
    }
}
