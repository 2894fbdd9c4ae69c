/// A shard's result for one aggregation, in a form that merges exactly with other shards'.
indirect enum AggregationPartial: Equatable, Sendable {
    case count(UInt64)
    case metric(MetricState)
    case percentiles(DDSketch)
    /// Keyed buckets (terms, histograms, ranges, filters); `errorBound` is the most a term's count
    /// may be under-reported because a shard returned only its top buckets (terms only).
    case buckets([BucketKey: Bucket], errorBound: UInt64)
    case single(Bucket)

    struct MetricState: Equatable, Sendable {
        var count: UInt64 = 0
        var sum: Double = 0
        var min = Double.infinity
        var max = -Double.infinity

        mutating func add(_ v: Double) {
            count += 1
            sum += v
            min = Swift.min(min, v)
            max = Swift.max(max, v)
        }

        mutating func merge(_ o: MetricState) {
            count += o.count
            sum += o.sum
            min = Swift.min(min, o.min)
            max = Swift.max(max, o.max)
        }
    }

    struct Bucket: Equatable, Sendable {
        var docCount: UInt64 = 0
        var subs: [String: AggregationPartial] = [:]

        mutating func merge(_ o: Bucket) {
            docCount += o.docCount
            for (name, sub) in o.subs {
                if let mine = subs[name] { subs[name] = mine.merged(with: sub) } else { subs[name] = sub }
            }
        }
    }

    enum BucketKey: Hashable, Sendable, Comparable {
        case string(String)
        case number(Double)
        /// Range and filters buckets keep their request order.
        case ordered(Int, String)

        static func < (a: BucketKey, b: BucketKey) -> Bool {
            switch (a, b) {
            case (.string(let x), .string(let y)): return x < y
            case (.number(let x), .number(let y)): return x < y
            case (.ordered(let x, _), .ordered(let y, _)): return x < y
            case (.number, _): return true
            default: return false
            }
        }
    }

    /// Both shards' results combined as if computed on their union.
    func merged(with other: AggregationPartial) -> AggregationPartial {
        switch (self, other) {
        case (.count(let a), .count(let b)): return .count(a + b)
        case (.metric(var a), .metric(let b)): a.merge(b); return .metric(a)
        case (.percentiles(var a), .percentiles(let b)): a.merge(b); return .percentiles(a)
        case (.single(var a), .single(let b)): a.merge(b); return .single(a)
        case (.buckets(var a, let ea), .buckets(let b, let eb)):
            for (k, bucket) in b {
                if var mine = a[k] { mine.merge(bucket); a[k] = mine } else { a[k] = bucket }
            }
            return .buckets(a, errorBound: ea + eb)
        default: return self
        }
    }
}
