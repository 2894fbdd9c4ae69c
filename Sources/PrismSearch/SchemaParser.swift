/// Reads a schema from request JSON, filling defaults and naming the exact path of any fault
/// (`backends.text.fields[2].type`). Unknown keys are refused so a typo never passes silently.
public struct SchemaParser: Sendable {
    /// Replication used when the schema omits it (from `[collection.replication]`).
    public var defaultReplication: CollectionSchema.Replication
    public var maxShards = 1024
    public var maxDimension = 65_536

    public init(defaultReplication: CollectionSchema.Replication = .init(factor: 1, minReplicasForWrite: 1)) {
        self.defaultReplication = defaultReplication
    }

    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 128 && name.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "_" || $0 == "-"
        }
    }

    public func parse(_ json: JSONValue, name: String) throws(EngineError) -> CollectionSchema {
        guard SchemaParser.isValidName(name) else {
            throw .invalid("invalid collection name '\(name)': use 1-128 characters of A-Z, a-z, 0-9, '_' and '-'")
        }
        guard case .object(let root) = json else { throw .invalid("schema must be a JSON object, got \(json.typeName)") }
        try allowOnly(root, ["collection", "backends", "num_shards", "replication", "hybrid", "embedding_generation"], at: "")
        if let given = root["collection"] {
            guard case .string = given else { throw .invalid("collection: expected a string, got \(given.typeName)") }
        }

        var backends = CollectionSchema.Backends(text: nil, vector: nil)
        if let raw = root["backends"] {
            let object = try objectAt(raw, "backends")
            try allowOnly(object, ["text", "vector"], at: "backends")
            if let text = object["text"] { backends.text = try parseText(text) }
            if let vector = object["vector"] { backends.vector = try parseVector(vector) }
        }
        if backends.text == nil && backends.vector == nil {
            throw .invalid("backends: a schema needs a text backend, a vector backend, or both")
        }

        let numShards = try int(root["num_shards"], "num_shards", default: 1, range: 1...maxShards)

        var replication = defaultReplication
        if let raw = root["replication"] {
            let object = try objectAt(raw, "replication")
            try allowOnly(object, ["factor", "min_replicas_for_write"], at: "replication")
            replication.factor = try int(object["factor"], "replication.factor", default: defaultReplication.factor, range: 1...15)
            let minDefault = min(defaultReplication.minReplicasForWrite, replication.factor)
            replication.minReplicasForWrite = try int(object["min_replicas_for_write"], "replication.min_replicas_for_write",
                                                      default: minDefault, range: 1...15)
            if replication.minReplicasForWrite > replication.factor {
                throw .invalid("replication.min_replicas_for_write: \(replication.minReplicasForWrite) exceeds replication.factor \(replication.factor)")
            }
        }

        var hybrid = CollectionSchema.Hybrid(defaultStrategy: .rrf, rrfK: 60, textWeight: 0.5, vectorWeight: 0.5)
        if let raw = root["hybrid"] {
            let object = try objectAt(raw, "hybrid")
            try allowOnly(object, ["default_strategy", "rrf_k", "text_weight", "vector_weight"], at: "hybrid")
            hybrid.defaultStrategy = try choice(object["default_strategy"], "hybrid.default_strategy", default: .rrf)
            hybrid.rrfK = try number(object["rrf_k"], "hybrid.rrf_k", default: 60, range: 0...1_000_000)
            hybrid.textWeight = try number(object["text_weight"], "hybrid.text_weight", default: 0.5, range: 0...1_000_000)
            hybrid.vectorWeight = try number(object["vector_weight"], "hybrid.vector_weight", default: 0.5, range: 0...1_000_000)
        }

        var generation = CollectionSchema.EmbeddingGeneration(enabled: false, sourceField: "content", targetField: "embedding")
        if let raw = root["embedding_generation"] {
            let object = try objectAt(raw, "embedding_generation")
            try allowOnly(object, ["enabled", "source_field", "target_field", "provider", "model"], at: "embedding_generation")
            generation.enabled = try bool(object["enabled"], "embedding_generation.enabled", default: false)
            generation.sourceField = try string(object["source_field"], "embedding_generation.source_field", default: "content")
            generation.targetField = try string(object["target_field"], "embedding_generation.target_field",
                                                default: backends.vector?.embeddingField ?? "embedding")
        }

        let schema = CollectionSchema(collection: name, backends: backends, numShards: numShards, replication: replication,
                                      hybrid: hybrid, embeddingGeneration: generation)
        if let vector = schema.backends.vector, schema.field(vector.embeddingField) != nil {
            throw .invalid("backends.vector.embedding_field: '\(vector.embeddingField)' is also declared as a text backend field")
        }
        return schema
    }

    private func parseText(_ raw: JSONValue) throws(EngineError) -> CollectionSchema.TextBackend {
        let object = try objectAt(raw, "backends.text")
        try allowOnly(object, ["fields", "bm25_k1", "bm25_b"], at: "backends.text")
        guard let rawFields = object["fields"] else { throw .invalid("backends.text.fields: required") }
        guard case .array(let items) = rawFields else {
            throw .invalid("backends.text.fields: expected an array, got \(rawFields.typeName)")
        }
        guard !items.isEmpty else { throw .invalid("backends.text.fields: must declare at least one field") }
        var fields: [FieldDefinition] = []
        var seen = Set<String>()
        for (index, item) in items.enumerated() {
            let at = "backends.text.fields[\(index)]"
            let field = try objectAt(item, at)
            try allowOnly(field, ["name", "type", "stored", "indexed", "analyzer"], at: at)
            guard case .string(let name)? = field["name"] else { throw .invalid("\(at).name: required string") }
            guard isValidFieldName(name) else {
                throw .invalid("\(at).name: '\(name)' is not a valid field name (1-128 characters, no control characters, not 'id')")
            }
            guard seen.insert(name).inserted else { throw .invalid("\(at).name: field '\(name)' is declared twice") }
            let type: FieldType = try choice(field["type"], "\(at).type", default: nil)
            var analyzer: Analyzer?
            if field["analyzer"] != nil {
                guard type == .text else { throw .invalid("\(at).analyzer: only text fields take an analyzer (\(type.rawValue) fields are matched exactly)") }
                analyzer = try choice(field["analyzer"], "\(at).analyzer", default: Analyzer.default)
            }
            fields.append(FieldDefinition(name: name, type: type,
                                          stored: try bool(field["stored"], "\(at).stored", default: true),
                                          indexed: try bool(field["indexed"], "\(at).indexed", default: true),
                                          analyzer: analyzer))
        }
        return CollectionSchema.TextBackend(
            fields: fields,
            bm25K1: try number(object["bm25_k1"], "backends.text.bm25_k1", default: 1.2, range: 0...100),
            bm25B: try number(object["bm25_b"], "backends.text.bm25_b", default: 0.75, range: 0...1))
    }

    private func parseVector(_ raw: JSONValue) throws(EngineError) -> CollectionSchema.VectorBackend {
        let object = try objectAt(raw, "backends.vector")
        try allowOnly(object, ["embedding_field", "dimension", "distance", "hnsw_m", "hnsw_ef_construction", "hnsw_ef_search"],
                      at: "backends.vector")
        let field = try string(object["embedding_field"], "backends.vector.embedding_field", default: "embedding")
        guard isValidFieldName(field) else { throw .invalid("backends.vector.embedding_field: '\(field)' is not a valid field name") }
        guard object["dimension"] != nil else { throw .invalid("backends.vector.dimension: required") }
        return CollectionSchema.VectorBackend(
            embeddingField: field,
            dimension: try int(object["dimension"], "backends.vector.dimension", default: 0, range: 1...maxDimension),
            distance: try choice(object["distance"], "backends.vector.distance", default: .cosine),
            hnswM: try int(object["hnsw_m"], "backends.vector.hnsw_m", default: 16, range: 2...128),
            hnswEfConstruction: try int(object["hnsw_ef_construction"], "backends.vector.hnsw_ef_construction", default: 200, range: 1...10_000),
            hnswEfSearch: try int(object["hnsw_ef_search"], "backends.vector.hnsw_ef_search", default: 100, range: 1...10_000))
    }

    private func isValidFieldName(_ name: String) -> Bool {
        !name.isEmpty && name != "id" && name.utf8.count <= 128 && !name.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    private func objectAt(_ value: JSONValue, _ path: String) throws(EngineError) -> [String: JSONValue] {
        guard case .object(let object) = value else { throw .invalid("\(path): expected an object, got \(value.typeName)") }
        return object
    }

    private func allowOnly(_ object: [String: JSONValue], _ keys: Set<String>, at path: String) throws(EngineError) {
        for key in object.keys.sorted() where !keys.contains(key) {
            let place = path.isEmpty ? key : "\(path).\(key)"
            throw .invalid("\(place): unknown key; allowed: \(keys.sorted().joined(separator: ", "))")
        }
    }

    private func int(_ value: JSONValue?, _ path: String, default fallback: Int, range: ClosedRange<Int>) throws(EngineError) -> Int {
        guard let value else { return fallback }
        guard let i = value.int64Value, case .some = Int(exactly: i) else {
            throw .invalid("\(path): expected an integer, got \(value.typeName == "a number" ? "\(value.doubleValue ?? 0)" : value.typeName)")
        }
        guard range.contains(Int(i)) else { throw .invalid("\(path): \(i) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return Int(i)
    }

    private func number(_ value: JSONValue?, _ path: String, default fallback: Double, range: ClosedRange<Double>) throws(EngineError) -> Double {
        guard let value else { return fallback }
        guard let d = value.doubleValue else { throw .invalid("\(path): expected a number, got \(value.typeName)") }
        guard range.contains(d) else { throw .invalid("\(path): \(d) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return d
    }

    private func bool(_ value: JSONValue?, _ path: String, default fallback: Bool) throws(EngineError) -> Bool {
        guard let value else { return fallback }
        guard case .bool(let b) = value else { throw .invalid("\(path): expected true or false, got \(value.typeName)") }
        return b
    }

    private func string(_ value: JSONValue?, _ path: String, default fallback: String) throws(EngineError) -> String {
        guard let value else { return fallback }
        guard case .string(let s) = value else { throw .invalid("\(path): expected a string, got \(value.typeName)") }
        return s
    }

    private func choice<T: RawRepresentable & CaseIterable>(_ value: JSONValue?, _ path: String, default fallback: T?) throws(EngineError) -> T
    where T.RawValue == String {
        let allowed = T.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        guard let value else {
            if let fallback { return fallback }
            throw .invalid("\(path): required; one of \(allowed)")
        }
        guard case .string(let s) = value else { throw .invalid("\(path): expected a string, got \(value.typeName)") }
        guard let parsed = T(rawValue: s) else { throw .invalid("\(path): unknown value '\(s)'; one of \(allowed)") }
        return parsed
    }
}
