/// A query compiled against a schema: fields resolved to ordinals, text analyzed into terms.
indirect enum SearchPlan: Equatable {
    case term(field: Int, term: [UInt8], boost: Float)
    /// Terms with their positions relative to the first.
    case phrase(field: Int, terms: [[UInt8]], offsets: [UInt32], boost: Float)
    case exists(field: Int)
    /// Documents whose value (doc values, as bit patterns of `type`) lies in the bounds; constant score.
    case range(field: Int, type: FieldType, lower: UInt64?, upper: UInt64?, includeLower: Bool, includeUpper: Bool)
    case all
    case none
    case boolean(must: [SearchPlan], should: [SearchPlan], mustNot: [SearchPlan])
    case boost(SearchPlan, Float)

    /// Every (field, term) whose statistics scoring needs.
    var terms: [CollectionStatistics.TermID] {
        switch self {
        case .term(let field, let term, _): return [.init(field: field, term: term)]
        case .phrase(let field, let terms, _, _): return terms.map { .init(field: field, term: $0) }
        case .boolean(let must, let should, let mustNot): return (must + should + mustNot).flatMap(\.terms)
        case .boost(let plan, _): return plan.terms
        default: return []
        }
    }

    /// Terms worth highlighting per field (those of clauses that can match, not of `mustNot`).
    var highlightTerms: [Int: Set<String>] {
        switch self {
        case .term(let field, let term, _): return [field: [String(decoding: term, as: UTF8.self)]]
        case .phrase(let field, let terms, _, _): return [field: Set(terms.map { String(decoding: $0, as: UTF8.self) })]
        case .boolean(let must, let should, _):
            return (must + should).reduce(into: [:]) { out, plan in out.merge(plan.highlightTerms) { $0.union($1) } }
        case .boost(let plan, _): return plan.highlightTerms
        default: return [:]
        }
    }
}

/// Turns a `QueryNode` into a `SearchPlan` for a schema, refusing unknown or unsearchable fields.
struct QueryCompiler {
    let schema: CollectionSchema
    /// Field ordinals a term without a field searches.
    let defaultFields: [Int]

    init(schema: CollectionSchema, defaultFieldNames: [String]?) throws(EngineError) {
        self.schema = schema
        let fields = schema.backends.text?.fields ?? []
        if let names = defaultFieldNames {
            var ordinals: [Int] = []
            for name in names {
                guard let ordinal = fields.firstIndex(where: { $0.name == name }) else {
                    throw .invalid("fields: '\(name)' is not a field of collection '\(schema.collection)'")
                }
                guard fields[ordinal].indexed, fields[ordinal].effectiveAnalyzer != nil else {
                    throw .invalid("fields: '\(name)' is not an indexed text or string field")
                }
                ordinals.append(ordinal)
            }
            defaultFields = ordinals
        } else {
            defaultFields = fields.indices.filter { fields[$0].indexed && fields[$0].effectiveAnalyzer != nil }
        }
    }

    func compile(_ node: QueryNode) throws(EngineError) -> SearchPlan {
        switch node {
        case .all:
            return .all
        case .term(let field?, let text) where (try? ordinal(field)).map({ DocValues.supports((schema.backends.text?.fields ?? [])[$0].type) }) == true:
            return try compile(.range(field: field, lower: text, upper: text, includeLower: true, includeUpper: true))
        case .term(let field, let text):
            return try perField(field) { ordinal, analyzer in
                let tokens = analyzer.tokens(text)
                if tokens.isEmpty { return .none }
                if tokens.count == 1 { return .term(field: ordinal, term: Array(tokens[0].text.utf8), boost: 1) }
                return phrase(ordinal, tokens)
            }
        case .phrase(let field, let text):
            return try perField(field) { ordinal, analyzer in
                let tokens = analyzer.tokens(text)
                if tokens.isEmpty { return .none }
                if tokens.count == 1 { return .term(field: ordinal, term: Array(tokens[0].text.utf8), boost: 1) }
                return phrase(ordinal, tokens)
            }
        case .exists(let field):
            return .exists(field: try ordinal(field))
        case .range(let field, let lower, let upper, let includeLower, let includeUpper):
            let o = try ordinal(field)
            let definition = (schema.backends.text?.fields ?? [])[o]
            guard DocValues.supports(definition.type) else {
                throw .invalid("query: range queries need a numeric, date or bool field; '\(field)' is \(definition.type.rawValue)")
            }
            return .range(field: o, type: definition.type, lower: try bound(lower, definition), upper: try bound(upper, definition),
                          includeLower: includeLower, includeUpper: includeUpper)
        case .boolean(let must, let should, let mustNot):
            return .boolean(must: try must.map { node throws(EngineError) in try compile(node) },
                            should: try should.map { node throws(EngineError) in try compile(node) },
                            mustNot: try mustNot.map { node throws(EngineError) in try compile(node) })
        case .boost(let inner, let factor):
            return .boost(try compile(inner), factor)
        }
    }

    private func bound(_ text: String?, _ field: FieldDefinition) throws(EngineError) -> UInt64? {
        guard let text else { return nil }
        guard let bits = DocValues.parseBound(text, as: field.type) else {
            throw .invalid("query: '\(text)' is not a valid \(field.type.rawValue) value for field '\(field.name)'")
        }
        return bits
    }

    private func phrase(_ ordinal: Int, _ tokens: [Token]) -> SearchPlan {
        let base = tokens[0].position
        return .phrase(field: ordinal, terms: tokens.map { Array($0.text.utf8) },
                       offsets: tokens.map { UInt32($0.position - base) }, boost: 1)
    }

    private func ordinal(_ name: String) throws(EngineError) -> Int {
        let fields = schema.backends.text?.fields ?? []
        guard let ordinal = fields.firstIndex(where: { $0.name == name }) else {
            if schema.backends.vector?.embeddingField == name {
                throw .invalid("query: '\(name)' is the vector field; search it with \"vector\"")
            }
            throw .invalid("query: '\(name)' is not a field of collection '\(schema.collection)'")
        }
        guard fields[ordinal].indexed else { throw .invalid("query: field '\(name)' is not indexed") }
        return ordinal
    }

    /// Builds the plan for one field, or for every default field (a disjunction whose scores add).
    private func perField(_ field: String?, _ build: (Int, Analyzer) -> SearchPlan) throws(EngineError) -> SearchPlan {
        let fields = schema.backends.text?.fields ?? []
        if let field {
            let o = try ordinal(field)
            guard let analyzer = fields[o].effectiveAnalyzer else {
                throw .invalid("query: term queries on \(fields[o].type.rawValue) field '\(field)' are not supported yet; use a text or string field")
            }
            return build(o, analyzer)
        }
        guard !defaultFields.isEmpty else { throw .invalid("query: the collection has no indexed text fields to search") }
        let plans = defaultFields.compactMap { o in fields[o].effectiveAnalyzer.map { build(o, $0) } }
        return plans.count == 1 ? plans[0] : .boolean(must: [], should: plans, mustNot: [])
    }
}
