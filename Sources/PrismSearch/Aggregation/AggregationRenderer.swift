/// Turns merged partials into the API's JSON: single values as `{"value": x}`, buckets as
/// `{"buckets": [{key, doc_count, from?, to?, aggs?}]}`.
struct AggregationRenderer {
    let fields: [FieldDefinition]

    func render(_ specs: [AggregationSpec], _ partials: [String: AggregationPartial]) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for spec in specs { out[spec.name] = render(spec, partials[spec.name]) }
        return out
    }

    private func number(_ d: Double) -> JSONValue {
        d == d.rounded() && abs(d) < 9e15 ? .int(Int64(d)) : .double(d)
    }

    private func optional(_ d: Double?) -> JSONValue { d.map(number) ?? .null }

    private func bucketJSON(_ spec: AggregationSpec, _ bucket: AggregationPartial.Bucket, extra: [String: JSONValue]) -> JSONValue {
        var o = extra
        o["doc_count"] = .int(Int64(bucket.docCount))
        if !spec.subs.isEmpty { o["aggs"] = .object(render(spec.subs, bucket.subs)) }
        return .object(o)
    }

    func render(_ spec: AggregationSpec, _ partial: AggregationPartial?) -> JSONValue {
        switch (spec.kind, partial) {
        case (.count, .count(let n)?):
            return .object(["value": .int(Int64(n))])
        case (.sum, .metric(let m)?):
            return .object(["value": number(m.sum)])
        case (.avg, .metric(let m)?):
            return .object(["value": m.count > 0 ? .double(m.sum / Double(m.count)) : .null])
        case (.min, .metric(let m)?):
            return .object(["value": m.count > 0 ? number(m.min) : .null])
        case (.max, .metric(let m)?):
            return .object(["value": m.count > 0 ? number(m.max) : .null])
        case (.stats, .metric(let m)?):
            return .object([
                "count": .int(Int64(m.count)), "sum": number(m.sum),
                "min": m.count > 0 ? number(m.min) : .null, "max": m.count > 0 ? number(m.max) : .null,
                "avg": m.count > 0 ? .double(m.sum / Double(m.count)) : .null,
            ])
        case (.percentiles(_, let percents), .percentiles(let sketch)?):
            var values: [String: JSONValue] = [:]
            for p in percents { values[String(format: "%.1f", p)] = optional(sketch.quantile(p / 100)) }
            return .object(["values": .object(values), "relative_error": .double(DDSketch.alpha)])
        case (.terms(let f, let size), .buckets(let buckets, let errorBound)?):
            let ranked = buckets.sorted { $0.value.docCount != $1.value.docCount ? $0.value.docCount > $1.value.docCount : $0.key < $1.key }
            let shown = ranked.prefix(size)
            let other = ranked.dropFirst(size).reduce(UInt64(0)) { $0 + $1.value.docCount }
            return .object([
                "buckets": .array(shown.map { bucketJSON(spec, $0.value, extra: ["key": key($0.key, field: f)]) }),
                "doc_count_error_upper_bound": .int(Int64(errorBound)),
                "sum_other_doc_count": .int(Int64(other)),
            ])
        case (.histogram, .buckets(let buckets, _)?):
            return .object(["buckets": .array(buckets.sorted { $0.key < $1.key }.map {
                bucketJSON(spec, $0.value, extra: ["key": key($0.key, field: nil)])
            })])
        case (.dateHistogram, .buckets(let buckets, _)?):
            return .object(["buckets": .array(buckets.sorted { $0.key < $1.key }.map { entry -> JSONValue in
                guard case .number(let micros) = entry.key else { return .null }
                return bucketJSON(spec, entry.value, extra: [
                    "key": .int(Int64(micros) / 1000), "key_as_string": .string(RFC3339.format(micros: Int64(micros))),
                ])
            })])
        case (.range(_, let ranges), .buckets(let buckets, _)?):
            return .object(["buckets": .array(ranges.enumerated().map { i, r in
                var extra: [String: JSONValue] = ["key": .string(r.key)]
                if let from = r.from { extra["from"] = number(from) }
                if let to = r.to { extra["to"] = number(to) }
                return bucketJSON(spec, buckets[.ordered(i, r.key)] ?? .init(), extra: extra)
            })])
        case (.filters(let named), .buckets(let buckets, _)?):
            return .object(["buckets": .array(named.enumerated().map { i, entry in
                bucketJSON(spec, buckets[.ordered(i, entry.0)] ?? .init(), extra: ["key": .string(entry.0)])
            })])
        case (.filter, .single(let bucket)?), (.global, .single(let bucket)?):
            return bucketJSON(spec, bucket, extra: [:])
        default:
            return .null
        }
    }

    private func key(_ key: AggregationPartial.BucketKey, field: Int?) -> JSONValue {
        switch key {
        case .string(let s): return .string(s)
        case .ordered(_, let s): return .string(s)
        case .number(let d):
            if let field, fields[field].type == .bool { return .bool(d != 0) }
            if let field, fields[field].type == .date { return .string(RFC3339.format(micros: Int64(d))) }
            return number(d)
        }
    }
}
