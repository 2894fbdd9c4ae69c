import Hummingbird
import PrismSearch

/// `POST /collections/:name/search` and `POST /collections/:name/aggregate`.
struct SearchRoutes {
    let api: PrismAPI

    struct Answer: Encodable {
        struct Hit: Encodable {
            let id: String
            let score: Float
            let fields: [String: JSONValue]
            let highlight: [String: [String]]?
        }
        struct Shards: Encodable {
            struct Failure: Encodable {
                let node: String
                let shard: Int
                let reason: String
            }
            let total: Int
            let successful: Int
            let failed: Int
            let failures: [Failure]
        }
        let results: [Hit]
        let total: Int
        let latency_ms: Double
        let shards: Shards
        let is_partial: Bool
    }

    struct Aggregated: Encodable {
        let results: [String: JSONValue]
        let took_ms: Double
    }

    func register(on router: Router<some RequestContext>) {
        router.post("/collections/:name/aggregate") { request, context in
            let started = ContinuousClock.now
            let name = try context.parameters.decoded("name")
            _ = try api.collections.schema(name)
            let json = try JSONBody.parse(try await JSONBody.read(request, limit: api.config.server.maxBodyBytes))
            let results = try api.collections.aggregate(name, body: json)
            let elapsed = ContinuousClock.now - started
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            return JSONBody.response(Aggregated(results: results, took_ms: (ms * 1000).rounded() / 1000))
        }
        router.post("/collections/:name/search") { request, context in
            let started = ContinuousClock.now
            let name = try context.parameters.decoded("name")
            let schema = try api.collections.schema(name)
            let json = try JSONBody.parse(try await JSONBody.read(request, limit: api.config.server.maxBodyBytes))
            let search = try SearchRequest.parse(json)
            let result = try api.collections.search(name, search)
            let hits = result.hits.map { hit in
                var fields: [String: JSONValue] = [:]
                for (field, value) in hit.document?.fields ?? [] where schema.field(field)?.stored ?? true {
                    fields[field] = value.json
                }
                return Answer.Hit(id: hit.id, score: hit.score, fields: fields, highlight: hit.highlight)
            }
            let elapsed = ContinuousClock.now - started
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            return JSONBody.response(Answer(
                results: hits, total: result.total, latency_ms: (ms * 1000).rounded() / 1000,
                shards: .init(total: result.shardsTotal, successful: result.shardsSuccessful,
                              failed: result.shardsTotal - result.shardsSuccessful, failures: []),
                is_partial: result.shardsSuccessful < result.shardsTotal))
        }
    }
}
