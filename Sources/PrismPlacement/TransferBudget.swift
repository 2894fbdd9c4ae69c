/// The `max_bytes_per_sec` token bucket a mover asks before sending each chunk of a shard copy:
/// at most `rate` bytes per second on average, bursts up to `burst`. Pure: time is passed in.
public struct TransferBudget: Sendable, Equatable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var last: Double

    public init(bytesPerSecond: Int, burstBytes: Int? = nil, now: Double = 0) {
        rate = Double(max(1, bytesPerSecond))
        burst = Double(max(1, burstBytes ?? bytesPerSecond))
        tokens = burst
        last = now
    }

    /// Takes `bytes` (at `now`, seconds) and returns how long to wait before sending them:
    /// zero when the bucket holds them, otherwise the time the debt takes to refill.
    public mutating func take(_ bytes: Int, now: Double) -> Double {
        if now > last {
            tokens = min(burst, tokens + (now - last) * rate)
            last = now
        }
        tokens -= Double(max(0, bytes))
        return tokens >= 0 ? 0 : -tokens / rate
    }
}
