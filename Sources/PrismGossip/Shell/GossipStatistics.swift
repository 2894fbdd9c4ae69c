/// Counters of one gossip agent since it started (exported as Prometheus metrics by the node).
public struct GossipStatistics: Sendable, Equatable {
    public var datagramsSent = 0
    public var datagramsReceived = 0
    public var bytesSent = 0
    public var bytesReceived = 0
    /// Packets refused, by reason (`truncated`, `malformed`, `version`, `key`, `unencrypted`, `too_large`).
    public var dropped: [String: Int] = [:]
    /// Messages too large for one datagram (left to push-pull).
    public var oversizedMessages = 0
    public var pushPullsStarted = 0
    public var pushPullsFailed = 0
    public var pushPullsServed = 0
    /// Endpoints that could not be resolved to an address when sending.
    public var unresolvable = 0
    /// Watch connections that closed or could not be opened (each leads to a check of the member).
    public var watchesLost = 0

    public init() {}

    /// Every reason `dropped` uses (`GossipWireError.reason`).
    public static let dropReasons = ["truncated", "malformed", "version", "key", "unencrypted", "too_large"]
}
