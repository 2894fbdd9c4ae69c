/// How the simulated network treats datagrams: base latency, uniform jitter (which also
/// reorders), independent loss, and one-way partitions between members.
public struct NetworkConditions: Sendable {
    public var latencyMillis: Double
    public var jitterMillis: Double
    /// Probability that a datagram is lost (push-pull runs over TCP and is never lost, only cut
    /// by partitions).
    public var loss: Double
    /// `(from, to)` node indexes whose traffic is dropped in that direction.
    public var blocked: Set<Pair>

    public struct Pair: Hashable, Sendable {
        public let from: Int
        public let to: Int
        public init(from: Int, to: Int) {
            self.from = from
            self.to = to
        }
    }

    public init(latencyMillis: Double = 0.5, jitterMillis: Double = 0.2, loss: Double = 0, blocked: Set<Pair> = []) {
        self.latencyMillis = latencyMillis
        self.jitterMillis = jitterMillis
        self.loss = loss
        self.blocked = blocked
    }
}
