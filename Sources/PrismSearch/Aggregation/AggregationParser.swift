/// Reads the `aggregations` array of `POST /collections/:c/aggregate`, naming the path of any fault
/// (`aggregations[1].aggs[0].field`).
struct AggregationParser {
    let schema: CollectionSchema
    let compiler: QueryCompiler
    static let maxDepth = 8
    static let maxBuckets = 10_000

    func parse(_ value: JSONValue?, at path: String = "aggregations", depth: Int = 0) throws(EngineError) -> [AggregationSpec] {
        guard let value else { throw .invalid("\(path): required; an array of {name, type, ...}") }
        guard case .array(let items) = value else { throw .invalid("\(path): expected an array, got \(value.typeName)") }
        guard depth < AggregationParser.maxDepth else { throw .invalid("\(path): sub-aggregations nest deeper than \(AggregationParser.maxDepth) levels") }
        var specs: [AggregationSpec] = []
        var names = Set<String>()
        for (i, item) in items.enumerated() {
            let at = "\(path)[\(i)]"
            guard case .object(let o) = item else { throw .invalid("\(at): expected an object, got \(item.typeName)") }
            guard case .string(let name)? = o["name"], !name.isEmpty else { throw .invalid("\(at).name: required non-empty string") }
            guard names.insert(name).inserted else { throw .invalid("\(at).name: '\(name)' is used twice at this level") }
            guard case .string(let type)? = o["type"] else { throw .invalid("\(at).type: required string") }
            let allowedKeys: Set<String>
            let kind: AggregationSpec.Kind
            switch type {
            case "count":
                allowedKeys = []
                kind = .count
            case "sum", "avg", "min", "max", "stats":
                allowedKeys = ["field"]
                let f = try numericField(o, at)
                kind = type == "sum" ? .sum(f) : type == "avg" ? .avg(f) : type == "min" ? .min(f) : type == "max" ? .max(f) : .stats(f)
            case "percentiles":
                allowedKeys = ["field", "percents"]
                var percents = [1.0, 5, 25, 50, 75, 95, 99]
                if let p = o["percents"] {
                    guard case .array(let list) = p, !list.isEmpty else { throw .invalid("\(at).percents: expected a non-empty array of numbers") }
                    percents = []
                    for x in list {
                        guard let d = x.doubleValue, (0...100).contains(d) else { throw .invalid("\(at).percents: every percent must be a number in 0...100") }
                        percents.append(d)
                    }
                }
                kind = .percentiles(try numericField(o, at), percents)
            case "terms":
                allowedKeys = ["field", "size"]
                let f = try field(o, at)
                let definition = (schema.backends.text?.fields ?? [])[f]
                guard definition.type == .string || DocValues.supports(definition.type) else {
                    throw .invalid("\(at).field: terms needs a string, numeric, date or bool field; '\(definition.name)' is \(definition.type.rawValue)")
                }
                kind = .terms(f, size: try int(o["size"], "\(at).size", default: 10, range: 1...AggregationParser.maxBuckets))
            case "histogram":
                allowedKeys = ["field", "interval"]
                guard let interval = o["interval"]?.doubleValue, interval > 0, interval.isFinite else {
                    throw .invalid("\(at).interval: required positive number")
                }
                kind = .histogram(try numericField(o, at), interval: interval)
            case "date_histogram":
                allowedKeys = ["field", "calendar_interval"]
                let f = try field(o, at)
                guard (schema.backends.text?.fields ?? [])[f].type == .date else { throw .invalid("\(at).field: date_histogram needs a date field") }
                guard case .string(let unit)? = o["calendar_interval"], let interval = CalendarInterval(rawValue: unit) else {
                    throw .invalid("\(at).calendar_interval: required; one of \(CalendarInterval.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                kind = .dateHistogram(f, interval)
            case "range":
                allowedKeys = ["field", "ranges"]
                let f = try numericField(o, at)
                guard case .array(let list)? = o["ranges"], !list.isEmpty else { throw .invalid("\(at).ranges: required non-empty array of {key?, from?, to?}") }
                var buckets: [AggregationSpec.RangeBucket] = []
                for (j, r) in list.enumerated() {
                    guard case .object(let ro) = r else { throw .invalid("\(at).ranges[\(j)]: expected an object") }
                    let from = try bound(ro["from"], "\(at).ranges[\(j)].from", field: f)
                    let to = try bound(ro["to"], "\(at).ranges[\(j)].to", field: f)
                    var key = "\(from.map { String($0) } ?? "*")-\(to.map { String($0) } ?? "*")"
                    if case .string(let k)? = ro["key"] { key = k }
                    buckets.append(.init(key: key, from: from, to: to))
                }
                kind = .range(f, buckets)
            case "filter":
                allowedKeys = ["filter", "query"]
                guard case .string(let text)? = o["filter"] ?? o["query"] else { throw .invalid("\(at).filter: required query string") }
                kind = .filter(try compiler.compile(try CollectionStore.parseQuery(text, parameter: "\(at).filter")))
            case "filters":
                allowedKeys = ["filters"]
                guard case .object(let named)? = o["filters"], !named.isEmpty else {
                    throw .invalid("\(at).filters: required object of name → query string")
                }
                var list: [(String, SearchPlan)] = []
                for (key, q) in named.sorted(by: { $0.key < $1.key }) {
                    guard case .string(let text) = q else { throw .invalid("\(at).filters.\(key): expected a query string") }
                    list.append((key, try compiler.compile(try CollectionStore.parseQuery(text, parameter: "\(at).filters.\(key)"))))
                }
                kind = .filters(list)
            case "global":
                allowedKeys = []
                kind = .global
            default:
                throw .invalid("\(at).type: unknown aggregation '\(type)'; one of count, sum, avg, min, max, stats, percentiles, terms, histogram, date_histogram, range, filter, filters, global")
            }
            for key in o.keys.sorted() where !(["name", "type", "aggs"] as Set).contains(key) && !allowedKeys.contains(key) {
                throw .invalid("\(at).\(key): unknown parameter for \(type)")
            }
            var spec = AggregationSpec(name: name, kind: kind, subs: [])
            if let sub = o["aggs"] {
                guard spec.isBucket else { throw .invalid("\(at).aggs: only bucket aggregations take sub-aggregations") }
                spec.subs = try parse(sub, at: "\(at).aggs", depth: depth + 1)
            }
            specs.append(spec)
        }
        return specs
    }

    private func field(_ o: [String: JSONValue], _ at: String) throws(EngineError) -> Int {
        guard case .string(let name)? = o["field"] else { throw .invalid("\(at).field: required string") }
        guard let ordinal = (schema.backends.text?.fields ?? []).firstIndex(where: { $0.name == name }) else {
            throw .invalid("\(at).field: '\(name)' is not a field of collection '\(schema.collection)'")
        }
        return ordinal
    }

    private func numericField(_ o: [String: JSONValue], _ at: String) throws(EngineError) -> Int {
        let f = try field(o, at)
        let definition = (schema.backends.text?.fields ?? [])[f]
        guard DocValues.supports(definition.type) else {
            throw .invalid("\(at).field: '\(definition.name)' is \(definition.type.rawValue); this aggregation needs a numeric, date or bool field")
        }
        return f
    }

    private func bound(_ value: JSONValue?, _ at: String, field: Int) throws(EngineError) -> Double? {
        guard let value else { return nil }
        if case .null = value { return nil }
        if let d = value.doubleValue { return d }
        if case .string(let s) = value, (schema.backends.text?.fields ?? [])[field].type == .date, let micros = RFC3339.parse(s) ?? RFC3339.parse(s + "T00:00:00Z") {
            return Double(micros)
        }
        throw .invalid("\(at): expected a number\((schema.backends.text?.fields ?? [])[field].type == .date ? " or a date" : "")")
    }

    private func int(_ value: JSONValue?, _ at: String, default fallback: Int, range: ClosedRange<Int>) throws(EngineError) -> Int {
        guard let value else { return fallback }
        guard let i = value.int64Value, range.contains(Int(i)) else { throw .invalid("\(at): expected an integer in \(range.lowerBound)...\(range.upperBound)") }
        return Int(i)
    }
}
