import NIOCore
import PrismTransport

/// How to run one gossip agent: identity, sockets, protocol settings, seeds and keyring.
public struct GossipAgentConfiguration: Sendable {
    public var id: String
    /// Where to bind UDP and TCP (port 0: any free port, the same for both).
    public var bind: GossipEndpoint
    /// The address other members use. nil: the bind address, or this host's first non-loopback
    /// IPv4 address when binding to a wildcard.
    public var advertise: GossipEndpoint?
    public var metadata: MemberMetadata
    public var settings: SWIMSettings
    public var seeds: [GossipEndpoint]
    public var keyring: Keyring?
    /// Largest push-pull frame accepted (about 200 bytes per member).
    public var maxPushPullBytes: Int
    public var pushPullTimeout: TimeAmount

    public init(id: String, bind: GossipEndpoint, advertise: GossipEndpoint? = nil, metadata: MemberMetadata = MemberMetadata(),
                settings: SWIMSettings = SWIMSettings(), seeds: [GossipEndpoint] = [], keyring: Keyring? = nil,
                maxPushPullBytes: Int = 32 << 20, pushPullTimeout: TimeAmount = .seconds(5)) {
        self.id = id
        self.bind = bind
        self.advertise = advertise
        self.metadata = metadata
        self.settings = settings
        self.seeds = seeds
        self.keyring = keyring
        self.maxPushPullBytes = maxPushPullBytes
        self.pushPullTimeout = pushPullTimeout
    }
}
