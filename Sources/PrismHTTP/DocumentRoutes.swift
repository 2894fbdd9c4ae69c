import Hummingbird
import PrismSearch

/// Bulk upsert, fetch and delete of documents.
struct DocumentRoutes {
    let api: PrismAPI

    struct Indexed: Encodable {
        struct Failure: Encodable {
            let doc_id: String
            let error: String
        }
        let indexed: Int
        let failed: Int
        let errors: [Failure]
    }

    struct Fetched: Encodable {
        let id: String
        let fields: [String: JSONValue]
    }

    struct Deleted: Encodable {
        let id: String
        let status = "deleted"
    }

    func register(on router: Router<some RequestContext>) {
        router.post("/collections/:name/documents") { request, context in
            let name = try context.parameters.decoded("name")
            // Unknown collection is reported before the body is parsed.
            _ = try api.collections.schema(name)
            let json = try JSONBody.parse(try await JSONBody.read(request, limit: api.config.server.maxBodyBytes))
            let object = try JSONBody.object(json, what: "request body")
            for key in object.keys.sorted() where key != "documents" {
                throw APIError(.unprocessableContent, "\(key): unknown key; the body is {\"documents\": [...]}")
            }
            guard let raw = object["documents"] else {
                throw APIError(.unprocessableContent, "documents: required; the body is {\"documents\": [...]}")
            }
            guard case .array(let documents) = raw else {
                throw APIError(.unprocessableContent, "documents: expected an array, got \(raw.typeName)")
            }
            guard !documents.isEmpty else { throw APIError(.unprocessableContent, "documents: must hold at least one document") }
            let result = try await api.collections.upsert(name, documents: documents)
            return JSONBody.response(status: .created, Indexed(
                indexed: result.indexed, failed: result.failures.count,
                errors: result.failures.map { .init(doc_id: $0.docID, error: $0.error) }))
        }
        router.get("/collections/:name/documents/:id") { _, context in
            let name = try context.parameters.decoded("name")
            let id = try context.parameters.decoded("id")
            let schema = try api.collections.schema(name)
            let document = try api.collections.get(name, id: id)
            var fields: [String: JSONValue] = [:]
            for (field, value) in document.fields where schema.field(field)?.stored ?? true {
                fields[field] = value.json
            }
            return JSONBody.response(Fetched(id: document.id, fields: fields))
        }
        router.delete("/collections/:name/documents/:id") { _, context in
            let name = try context.parameters.decoded("name")
            let id = try context.parameters.decoded("id")
            try await api.collections.deleteDocument(name, id: id)
            return JSONBody.response(Deleted(id: id))
        }
    }
}
