import Foundation

/// A mergeable quantile sketch (DDSketch, Masson et al. 2019) with relative accuracy `alpha`:
/// every quantile it reports is within `alpha` (1%) of the true value of that rank. Sketches from
/// shards merge exactly by adding bucket counts, so percentiles need no raw values.
struct DDSketch: Equatable, Sendable {
    static let alpha = 0.01
    static let gamma = (1 + alpha) / (1 - alpha)
    static let logGamma = Foundation.log(gamma)

    var positive: [Int: UInt64] = [:]
    var negative: [Int: UInt64] = [:]
    var zeros: UInt64 = 0
    var count: UInt64 = 0
    var minimum = Double.infinity
    var maximum = -Double.infinity

    static func index(_ v: Double) -> Int { Int(Foundation.ceil(Foundation.log(v) / logGamma)) }
    static func value(_ i: Int) -> Double { 2 * Foundation.pow(gamma, Double(i)) / (gamma + 1) }

    mutating func add(_ v: Double) {
        guard v.isFinite else { return }
        count += 1
        minimum = min(minimum, v)
        maximum = max(maximum, v)
        if v > 1e-300 { positive[DDSketch.index(v), default: 0] += 1 }
        else if v < -1e-300 { negative[DDSketch.index(-v), default: 0] += 1 }
        else { zeros += 1 }
    }

    mutating func merge(_ other: DDSketch) {
        for (k, c) in other.positive { positive[k, default: 0] += c }
        for (k, c) in other.negative { negative[k, default: 0] += c }
        zeros += other.zeros
        count += other.count
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
    }

    /// The value at quantile `q` in [0, 1] (nil when empty); exact at 0 and 1.
    func quantile(_ q: Double) -> Double? {
        guard count > 0 else { return nil }
        if q <= 0 { return minimum }
        if q >= 1 { return maximum }
        let rank = UInt64((q * Double(count - 1)).rounded(.down))
        var seen: UInt64 = 0
        for k in negative.keys.sorted(by: >) {
            seen += negative[k] ?? 0
            if seen > rank { return max(minimum, -DDSketch.value(k)) }
        }
        seen += zeros
        if seen > rank { return 0 }
        for k in positive.keys.sorted() {
            seen += positive[k] ?? 0
            if seen > rank { return min(maximum, DDSketch.value(k)) }
        }
        return maximum
    }
}
