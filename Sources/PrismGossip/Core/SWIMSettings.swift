/// The SWIM and Lifeguard parameters, and how the `[cluster.health]` keys map onto them
/// (documented in docs/configuration.md).
public struct SWIMSettings: Sendable, Hashable {
    /// One probe per period (`heartbeat_interval_ms`); scaled by the local health multiplier.
    public var probeInterval: Span
    /// A direct ping unanswered this long leads to indirect probes (half the probe interval).
    public var probeTimeout: Span
    /// Members asked to probe for us when a direct ping fails (`failure_threshold`): a member
    /// is suspected after missing 1 + this many probes in one period.
    public var indirectProbes: Int
    /// Suspicion timeout with no confirmation (`suspect_timeout_ms`).
    public var suspicionMaxTimeout: Span
    /// Suspicion timeout once `suspicionConfirmations` other members suspect too.
    public var suspicionMinTimeout: Span
    /// Independent suspicions that shrink the timeout to its minimum (`failure_threshold`).
    public var suspicionConfirmations: Int
    /// Lifeguard's local health multiplier ceiling: timeouts stretch up to (1 + this)×.
    public var maxLocalHealth: Int
    /// λ in the retransmit limit λ·⌈log10(N + 1)⌉ of each update.
    public var retransmitMultiplier: Int
    /// Updates are also pushed to `gossipFanout` random members this often.
    public var gossipInterval: Span
    public var gossipFanout: Int
    /// Full-state exchange with one random member this often.
    public var pushPullInterval: Span
    /// Dead and left members are removed from the table after this long.
    public var reapAfter: Span
    /// Dead members keep receiving gossip this long (so a falsely declared one learns and refutes).
    public var gossipToTheDead: Span
    /// While no seed has answered, joins are retried from this delay, doubling to `joinRetryMax`.
    public var joinRetryMin: Span
    public var joinRetryMax: Span
    /// Updates piggybacked per datagram at most (the codec keeps datagrams ≤ 1400 bytes).
    public var maxPiggyback: Int

    public init(probeInterval: Span = .milliseconds(1000), probeTimeout: Span? = nil, indirectProbes: Int = 3,
                suspicionMaxTimeout: Span = .milliseconds(5000), suspicionMinTimeout: Span? = nil, suspicionConfirmations: Int = 3,
                maxLocalHealth: Int = 8, retransmitMultiplier: Int = 4, gossipInterval: Span? = nil, gossipFanout: Int = 3,
                pushPullInterval: Span = .milliseconds(30_000), reapAfter: Span = .milliseconds(60_000),
                gossipToTheDead: Span = .milliseconds(30_000), joinRetryMin: Span = .milliseconds(500),
                joinRetryMax: Span = .milliseconds(30_000), maxPiggyback: Int = 24) {
        self.probeInterval = probeInterval
        self.probeTimeout = probeTimeout ?? probeInterval.scaled(by: 0.5)
        self.indirectProbes = indirectProbes
        self.suspicionMaxTimeout = suspicionMaxTimeout
        self.suspicionMinTimeout = suspicionMinTimeout ?? Span(nanoseconds: max(probeInterval.nanoseconds, suspicionMaxTimeout.nanoseconds / 4))
        self.suspicionConfirmations = suspicionConfirmations
        self.maxLocalHealth = maxLocalHealth
        self.retransmitMultiplier = retransmitMultiplier
        self.gossipInterval = gossipInterval ?? probeInterval.scaled(by: 0.1)
        self.gossipFanout = gossipFanout
        self.pushPullInterval = pushPullInterval
        self.reapAfter = reapAfter
        self.gossipToTheDead = gossipToTheDead
        self.joinRetryMin = joinRetryMin
        self.joinRetryMax = joinRetryMax
        self.maxPiggyback = maxPiggyback
    }

    /// The settings `[cluster.health]` describes.
    public static func fromHealth(heartbeatIntervalMillis: Int, failureThreshold: Int, suspectTimeoutMillis: Int) -> SWIMSettings {
        SWIMSettings(probeInterval: .milliseconds(heartbeatIntervalMillis), indirectProbes: failureThreshold,
                     suspicionMaxTimeout: .milliseconds(suspectTimeoutMillis), suspicionConfirmations: failureThreshold)
    }
}
