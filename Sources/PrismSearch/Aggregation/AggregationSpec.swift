/// One requested aggregation, validated against the schema.
struct AggregationSpec {
    enum Kind {
        case count
        case sum(Int), avg(Int), min(Int), max(Int), stats(Int)
        case percentiles(Int, [Double])
        case terms(Int, size: Int)
        case histogram(Int, interval: Double)
        case dateHistogram(Int, CalendarInterval)
        case range(Int, [RangeBucket])
        case filter(SearchPlan)
        case filters([(String, SearchPlan)])
        case global
    }

    struct RangeBucket {
        var key: String
        var from: Double?
        var to: Double?
    }

    var name: String
    var kind: Kind
    var subs: [AggregationSpec]

    var isBucket: Bool {
        switch kind {
        case .terms, .histogram, .dateHistogram, .range, .filter, .filters, .global: return true
        default: return false
        }
    }
}

/// Calendar units of `date_histogram`, in UTC.
enum CalendarInterval: String, CaseIterable {
    case minute, hour, day, week, month, quarter, year

    /// The start (epoch microseconds) of the interval holding `micros`.
    func floor(_ micros: Int64) -> Int64 {
        let minuteMicros: Int64 = 60_000_000
        func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
        switch self {
        case .minute: return floorDiv(micros, minuteMicros) * minuteMicros
        case .hour: return floorDiv(micros, 60 * minuteMicros) * 60 * minuteMicros
        case .day: return floorDiv(micros, 1440 * minuteMicros) * 1440 * minuteMicros
        case .week:
            // ISO weeks start on Monday; 1970-01-01 was a Thursday.
            let day = floorDiv(micros, 1440 * minuteMicros)
            let monday = day - ((day + 3) % 7 + 7) % 7
            return monday * 1440 * minuteMicros
        case .month, .quarter, .year:
            let day = Int(floorDiv(micros, 1440 * minuteMicros))
            let (y, m, _) = RFC3339.civilFromDays(day)
            let month = self == .month ? m : self == .quarter ? (m - 1) / 3 * 3 + 1 : 1
            return Int64(RFC3339.daysFromCivil(year: y, month: month, day: 1)) * 1440 * minuteMicros
        }
    }
}
