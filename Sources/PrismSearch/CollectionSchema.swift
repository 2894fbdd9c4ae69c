/// A collection's schema as API.md defines it. Stored in the catalog as JSON and returned by
/// `GET /collections/:c/schema` in the same shape it was created with (defaults filled in).
public struct CollectionSchema: Sendable, Equatable, Codable {
    public var collection: String
    public var backends: Backends
    public var numShards: Int
    public var replication: Replication
    public var hybrid: Hybrid
    public var embeddingGeneration: EmbeddingGeneration

    public struct Backends: Sendable, Equatable, Codable {
        public var text: TextBackend?
        public var vector: VectorBackend?
    }

    public struct TextBackend: Sendable, Equatable, Codable {
        public var fields: [FieldDefinition]
        public var bm25K1: Double
        public var bm25B: Double

        enum CodingKeys: String, CodingKey {
            case fields
            case bm25K1 = "bm25_k1"
            case bm25B = "bm25_b"
        }
    }

    public struct VectorBackend: Sendable, Equatable, Codable {
        public var embeddingField: String
        public var dimension: Int
        public var distance: Distance
        public var hnswM: Int
        public var hnswEfConstruction: Int
        public var hnswEfSearch: Int

        enum CodingKeys: String, CodingKey {
            case embeddingField = "embedding_field"
            case dimension, distance
            case hnswM = "hnsw_m"
            case hnswEfConstruction = "hnsw_ef_construction"
            case hnswEfSearch = "hnsw_ef_search"
        }
    }

    public enum Distance: String, Sendable, Codable, CaseIterable {
        case cosine, euclidean, dot
    }

    public struct Replication: Sendable, Equatable, Codable {
        public var factor: Int
        public var minReplicasForWrite: Int

        public init(factor: Int, minReplicasForWrite: Int) {
            self.factor = factor
            self.minReplicasForWrite = minReplicasForWrite
        }

        enum CodingKeys: String, CodingKey {
            case factor
            case minReplicasForWrite = "min_replicas_for_write"
        }
    }

    public struct Hybrid: Sendable, Equatable, Codable {
        public var defaultStrategy: MergeStrategy
        public var rrfK: Double
        public var textWeight: Double
        public var vectorWeight: Double

        enum CodingKeys: String, CodingKey {
            case defaultStrategy = "default_strategy"
            case rrfK = "rrf_k"
            case textWeight = "text_weight"
            case vectorWeight = "vector_weight"
        }
    }

    public enum MergeStrategy: String, Sendable, Codable, CaseIterable {
        case rrf, weighted
    }

    public struct EmbeddingGeneration: Sendable, Equatable, Codable {
        public var enabled: Bool
        public var sourceField: String
        public var targetField: String

        enum CodingKeys: String, CodingKey {
            case enabled
            case sourceField = "source_field"
            case targetField = "target_field"
        }
    }

    enum CodingKeys: String, CodingKey {
        case collection, backends
        case numShards = "num_shards"
        case replication, hybrid
        case embeddingGeneration = "embedding_generation"
    }

    /// Backend names for the create answer (`backends: ["text", "vector"]`).
    public var backendNames: [String] {
        var names: [String] = []
        if backends.text != nil { names.append("text") }
        if backends.vector != nil { names.append("vector") }
        return names
    }

    /// The text field named `name`, if declared.
    public func field(_ name: String) -> FieldDefinition? {
        backends.text?.fields.first { $0.name == name }
    }
}

public struct FieldDefinition: Sendable, Equatable, Codable {
    public var name: String
    public var type: FieldType
    public var stored: Bool
    public var indexed: Bool
    /// How `text` fields are analyzed (default: `default`); `string` fields are always `raw`.
    public var analyzer: Analyzer?

    public init(name: String, type: FieldType, stored: Bool, indexed: Bool, analyzer: Analyzer? = nil) {
        self.name = name
        self.type = type
        self.stored = stored
        self.indexed = indexed
        self.analyzer = analyzer
    }

    /// The analyzer that turns this field's values into terms, when it has terms at all.
    public var effectiveAnalyzer: Analyzer? {
        switch type {
        case .text: return analyzer ?? .default
        case .string: return .raw
        default: return nil
        }
    }
}

public enum FieldType: String, Sendable, Codable, CaseIterable {
    case text, string, i64, u64, f64, bool, date, bytes
}
