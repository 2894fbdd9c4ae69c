import Hummingbird
import PrismSearch

/// Collection lifecycle: create, delete, list, schema, stats.
struct CollectionRoutes {
    let api: PrismAPI

    struct Created: Encodable {
        let collection: String
        let status = "created"
        let backends: [String]
    }

    struct Deleted: Encodable {
        let collection: String
        let status = "deleted"
    }

    struct Listing: Encodable {
        let collections: [String]
    }

    struct Stats: Encodable {
        struct Shard: Encodable {
            let shard: Int
            let node: String
            let state: String
            let document_count: Int
        }
        let collection: String
        let document_count: Int64
        let storage_bytes: Int64
        let num_shards: Int
        let shards: [Shard]
    }

    func register(on router: Router<some RequestContext>) {
        router.put("/collections/:name") { request, context in
            let name = try context.parameters.decoded("name")
            let json = try JSONBody.parse(try await JSONBody.read(request, limit: api.config.server.maxBodyBytes))
            let schema = try api.schemaParser().parse(json, name: name)
            let created = try await api.collections.create(schema)
            return JSONBody.response(status: .created, Created(collection: created.collection, backends: created.backendNames))
        }
        router.delete("/collections/:name") { _, context in
            let name = try context.parameters.decoded("name")
            try await api.collections.delete(name)
            return JSONBody.response(Deleted(collection: name))
        }
        router.get("/admin/collections") { _, _ in
            JSONBody.response(Listing(collections: api.collections.names()))
        }
        router.get("/collections/:name/schema") { _, context in
            JSONBody.response(try api.collections.schema(try context.parameters.decoded("name")))
        }
        router.get("/collections/:name/stats") { _, context in
            let name = try context.parameters.decoded("name")
            let schema = try api.collections.schema(name)
            let stats = try api.collections.stats(name)
            let counts = try api.collections.shardDocumentCounts(name)
            let shards = counts.enumerated().map { Stats.Shard(shard: $0.offset, node: api.config.node.id, state: "started", document_count: $0.element) }
            return JSONBody.response(Stats(collection: name, document_count: stats.documentCount, storage_bytes: stats.storageBytes,
                                           num_shards: schema.numShards, shards: shards))
        }
    }
}
