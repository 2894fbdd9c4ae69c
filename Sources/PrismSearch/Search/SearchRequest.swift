/// A text search on one collection (the `POST /collections/:c/search` body, validated).
public struct SearchRequest: Sendable, Equatable {
    public var query: String = ""
    public var fields: [String]?
    public var filter: String?
    public var limit: Int = 10
    public var offset: Int = 0
    public var minScore: Float?
    /// Query vector: with `query` the search is hybrid (both run, results fused).
    public var vector: [Float]?
    public var mergeStrategy: CollectionSchema.MergeStrategy?
    public var rrfK: Double?
    public var textWeight: Double?
    public var vectorWeight: Double?
    public var highlight: HighlightOptions?
    /// Whether hits carry their stored fields (the API always wants them; benchmarks compare ranking alone).
    public var includeDocuments = true

    public init() {}

    public static let maxWindow = 10_000

    /// Reads the request body, naming any field at fault.
    public static func parse(_ json: JSONValue) throws(EngineError) -> SearchRequest {
        guard case .object(let object) = json else { throw .wrongShape("search body must be a JSON object, got \(json.typeName)") }
        let known: Set<String> = ["query", "vector", "fields", "filter", "limit", "offset", "merge_strategy", "rrf_k",
                                  "text_weight", "vector_weight", "highlight", "min_score", "consistency"]
        for key in object.keys.sorted() where !known.contains(key) {
            throw .invalid("\(key): unknown search parameter; allowed: \(known.sorted().joined(separator: ", "))")
        }
        var request = SearchRequest()
        if let q = object["query"] {
            guard case .string(let s) = q else { throw .invalid("query: expected a string, got \(q.typeName)") }
            request.query = s
        }
        if let f = object["fields"] {
            guard case .array(let items) = f else { throw .invalid("fields: expected an array of field names, got \(f.typeName)") }
            var names: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw .invalid("fields: expected field names, got \(item.typeName)") }
                names.append(s)
            }
            guard !names.isEmpty else { throw .invalid("fields: must name at least one field") }
            request.fields = names
        }
        if let f = object["filter"] {
            guard case .string(let s) = f else { throw .invalid("filter: expected a query string, got \(f.typeName)") }
            request.filter = s
        }
        request.limit = try integer(object["limit"], "limit", default: 10, range: 0...maxWindow)
        request.offset = try integer(object["offset"], "offset", default: 0, range: 0...maxWindow)
        if request.limit + request.offset > maxWindow {
            throw .invalid("offset + limit: \(request.offset + request.limit) exceeds \(maxWindow)")
        }
        if let m = object["min_score"] {
            guard let d = m.doubleValue, d.isFinite else { throw .invalid("min_score: expected a number, got \(m.typeName)") }
            request.minScore = Float(d)
        }
        if let v = object["vector"] {
            guard case .array(let items) = v else { throw .invalid("vector: expected an array of numbers, got \(v.typeName)") }
            var vector: [Float] = []
            vector.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard let d = item.doubleValue else { throw .invalid("vector[\(i)]: expected a number, got \(item.typeName)") }
                let f = Float(d)
                guard f.isFinite else { throw .invalid("vector[\(i)]: \(d) is not a finite 32-bit float") }
                vector.append(f)
            }
            guard !vector.isEmpty else { throw .invalid("vector: must not be empty") }
            request.vector = vector
        }
        if let m = object["merge_strategy"] {
            guard case .string(let s) = m, let strategy = CollectionSchema.MergeStrategy(rawValue: s) else {
                throw .invalid("merge_strategy: expected \"rrf\" or \"weighted\"")
            }
            request.mergeStrategy = strategy
        }
        request.rrfK = try number(object["rrf_k"], "rrf_k", range: 0...1_000_000)
        request.textWeight = try number(object["text_weight"], "text_weight", range: 0...1_000_000)
        request.vectorWeight = try number(object["vector_weight"], "vector_weight", range: 0...1_000_000)
        if let h = object["highlight"] { request.highlight = try HighlightOptions.parse(h) }
        if let c = object["consistency"] {
            guard case .string(let s) = c, ["eventual", "read-your-writes", "bounded", "strong"].contains(s) else {
                throw .invalid("consistency: expected one of eventual, read-your-writes, bounded, strong")
            }
        }
        return request
    }

    private static func number(_ value: JSONValue?, _ name: String, range: ClosedRange<Double>) throws(EngineError) -> Double? {
        guard let value else { return nil }
        guard let d = value.doubleValue else { throw .invalid("\(name): expected a number, got \(value.typeName)") }
        guard range.contains(d) else { throw .invalid("\(name): \(d) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return d
    }

    private static func integer(_ value: JSONValue?, _ name: String, default fallback: Int, range: ClosedRange<Int>) throws(EngineError) -> Int {
        guard let value else { return fallback }
        guard let i = value.int64Value, case .some = Int(exactly: i) else { throw .invalid("\(name): expected an integer, got \(value.typeName)") }
        guard range.contains(Int(i)) else { throw .invalid("\(name): \(i) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return Int(i)
    }
}

/// One hit and the whole answer, before JSON.
public struct SearchHit: Sendable, Equatable {
    public var id: String
    public var score: Float
    public var document: Document?
    /// Field → fragments with the matches tagged (when `highlight` was asked).
    public var highlight: [String: [String]]?
}

public struct SearchResult: Sendable, Equatable {
    public var hits: [SearchHit]
    public var total: Int
    public var shardsTotal: Int
    public var shardsSuccessful: Int
}
