/// Latencies of the requests a node answered since the last look, in buckets of a tenth of a
/// millisecond up to a second (the last bucket holds everything slower): the state line gives
/// their p50 and p99, so a slow put can be told apart from a slow client.
struct LatencyWindow {
    static let bucketMicroseconds: UInt64 = 100
    private var buckets = [Int](repeating: 0, count: 10_001)
    private(set) var count = 0

    mutating func record(nanoseconds: UInt64) {
        buckets[Int(min(UInt64(buckets.count - 1), nanoseconds / 1000 / Self.bucketMicroseconds))] += 1
        count += 1
    }

    /// The upper edge of the bucket holding the `p` quantile, in milliseconds (nil: nothing recorded).
    func quantile(_ p: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((Double(count) * p).rounded(.up)))
        var seen = 0
        for (i, n) in buckets.enumerated() where n > 0 {
            seen += n
            if seen >= rank { return Double(UInt64(i + 1) * Self.bucketMicroseconds) / 1000 }
        }
        return Double(UInt64(buckets.count) * Self.bucketMicroseconds) / 1000
    }

    mutating func reset() {
        guard count > 0 else { return }
        for i in buckets.indices { buckets[i] = 0 }
        count = 0
    }
}
