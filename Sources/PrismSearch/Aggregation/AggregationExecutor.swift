/// Computes aggregations over one shard's matching documents from doc values (never from stored
/// documents), producing partials that merge exactly across shards.
struct AggregationExecutor {
    let reader: ShardReader
    let searcher: ShardSearcher
    let fields: [FieldDefinition]

    func run(_ specs: [AggregationSpec], docs: [UInt32]) throws -> [String: AggregationPartial] {
        var out: [String: AggregationPartial] = [:]
        for spec in specs { out[spec.name] = try run(spec, docs: docs) }
        return out
    }

    private func numbers(_ field: Int, _ docs: [UInt32], _ body: (UInt32, Double) throws -> Void) throws {
        let column = reader.values(field: field)
        let type = fields[field].type
        for doc in docs {
            guard let bits = try reader.value(column, field: field, doc: doc) else { continue }
            try body(doc, AggregationExecutor.double(bits, type))
        }
    }

    static func double(_ bits: UInt64, _ type: FieldType) -> Double {
        switch type {
        case .i64, .date: return Double(Int64(bitPattern: bits))
        case .f64: return Double(bitPattern: bits)
        default: return Double(bits)
        }
    }

    private func bucket(_ docs: [UInt32], _ subs: [AggregationSpec]) throws -> AggregationPartial.Bucket {
        AggregationPartial.Bucket(docCount: UInt64(docs.count), subs: subs.isEmpty ? [:] : try run(subs, docs: docs))
    }

    private func grouped(_ groups: [AggregationPartial.BucketKey: [UInt32]], _ subs: [AggregationSpec]) throws -> [AggregationPartial.BucketKey: AggregationPartial.Bucket] {
        var out: [AggregationPartial.BucketKey: AggregationPartial.Bucket] = [:]
        for (key, docs) in groups { out[key] = try bucket(docs, subs) }
        return out
    }

    func run(_ spec: AggregationSpec, docs: [UInt32]) throws -> AggregationPartial {
        switch spec.kind {
        case .count:
            return .count(UInt64(docs.count))
        case .sum(let f), .avg(let f), .min(let f), .max(let f), .stats(let f):
            var state = AggregationPartial.MetricState()
            try numbers(f, docs) { _, v in state.add(v) }
            return .metric(state)
        case .percentiles(let f, _):
            var sketch = DDSketch()
            try numbers(f, docs) { _, v in sketch.add(v) }
            return .percentiles(sketch)
        case .terms(let f, let size):
            var groups: [AggregationPartial.BucketKey: [UInt32]] = [:]
            if fields[f].type == .string {
                for doc in docs { if let s = try reader.stringValue(field: f, doc: doc) { groups[.string(s), default: []].append(doc) } }
            } else {
                try numbers(f, docs) { doc, v in groups[.number(v), default: []].append(doc) }
            }
            // Each shard returns more than asked so the merged top is rarely wrong; what it leaves
            // out bounds the error of any count.
            let shardSize = size * 3 / 2 + 10
            let ranked = groups.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }
            let kept = ranked.prefix(shardSize)
            let errorBound = ranked.count > shardSize ? UInt64(kept.last?.value.count ?? 0) : 0
            return .buckets(try grouped(Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) }), spec.subs), errorBound: errorBound)
        case .histogram(let f, let interval):
            var groups: [AggregationPartial.BucketKey: [UInt32]] = [:]
            try numbers(f, docs) { doc, v in groups[.number((v / interval).rounded(.down) * interval), default: []].append(doc) }
            return .buckets(try grouped(groups, spec.subs), errorBound: 0)
        case .dateHistogram(let f, let interval):
            var groups: [AggregationPartial.BucketKey: [UInt32]] = [:]
            try numbers(f, docs) { doc, v in groups[.number(Double(interval.floor(Int64(v)))), default: []].append(doc) }
            return .buckets(try grouped(groups, spec.subs), errorBound: 0)
        case .range(let f, let ranges):
            var groups: [AggregationPartial.BucketKey: [UInt32]] = [:]
            for (i, r) in ranges.enumerated() { groups[.ordered(i, r.key)] = [] }
            try numbers(f, docs) { doc, v in
                for (i, r) in ranges.enumerated() where (r.from.map { v >= $0 } ?? true) && (r.to.map { v < $0 } ?? true) {
                    groups[.ordered(i, r.key), default: []].append(doc)
                }
            }
            return .buckets(try grouped(groups, spec.subs), errorBound: 0)
        case .filter(let plan):
            return .single(try bucket(ScoredDocs.intersectDocs(docs, try searcher.evaluate(plan).docs), spec.subs))
        case .filters(let named):
            var groups: [AggregationPartial.BucketKey: [UInt32]] = [:]
            for (i, (key, plan)) in named.enumerated() {
                groups[.ordered(i, key)] = ScoredDocs.intersectDocs(docs, try searcher.evaluate(plan).docs)
            }
            return .buckets(try grouped(groups, spec.subs), errorBound: 0)
        case .global:
            return .single(try bucket(try searcher.evaluate(.all).docs, spec.subs))
        }
    }
}

extension ScoredDocs {
    static func intersectDocs(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i] == b[j] { out.append(a[i]); i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return out
    }
}
