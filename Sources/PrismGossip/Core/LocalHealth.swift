/// Lifeguard's local health multiplier: a node that misses acks and nacks, or has to refute
/// suspicion of itself, is probably the slow one, so it stretches its own probe intervals and
/// timeouts (by 1 + score) instead of suspecting healthy members.
struct LocalHealth: Sendable {
    private(set) var score = 0
    let maximum: Int

    init(maximum: Int) { self.maximum = maximum }

    mutating func worse(_ by: Int = 1) { score = min(maximum, score + by) }
    mutating func better() { score = max(0, score - 1) }

    func scale(_ span: Span) -> Span { Span(nanoseconds: span.nanoseconds &* UInt64(score + 1)) }
}
