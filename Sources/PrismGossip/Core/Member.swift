/// A member's liveness as this node sees it. `removed` is not a state: a removed member is
/// no longer in the table (dead or left members are reaped after `SWIMSettings.reapAfter`).
public enum MemberStatus: String, Sendable, Hashable, CaseIterable {
    case alive, suspect, dead, left

    /// Dead or left: not probed, not given gossip, not in the ring.
    public var isDown: Bool { self == .dead || self == .left }
}

/// One member of the mesh as this node knows it.
public struct Member: Hashable, Sendable {
    // Declared in this order so the fields pack into 64 bytes (the status fills the endpoint's
    // padding): a simulated 10,000-member mesh holds 10⁸ of them.
    public var id: String
    public var endpoint: GossipEndpoint
    public var status: MemberStatus
    public var metadata: MemberMetadata
    /// Bumped only by the member itself, to refute suspicion or publish new metadata.
    public var incarnation: UInt64
    /// When `status` last changed here.
    public var since: Moment

    public init(id: String, endpoint: GossipEndpoint, metadata: MemberMetadata, status: MemberStatus, incarnation: UInt64, since: Moment) {
        self.id = id
        self.endpoint = endpoint
        self.metadata = metadata
        self.status = status
        self.incarnation = incarnation
        self.since = since
    }
}

/// A membership change this node observed (what `--events` prints, one JSON line each).
public struct MembershipEvent: Hashable, Sendable {
    /// `refused`: the member speaks an incompatible protocol version and is kept out of the view.
    public enum Change: String, Sendable { case alive, suspect, dead, left, removed, updated, refused }
    public var at: Moment
    public var member: String
    public var change: Change
    public var incarnation: UInt64
}
