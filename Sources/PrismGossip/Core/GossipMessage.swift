/// A change to one member's state, spread by gossip (piggybacked on probes and acks, and sent to
/// a few members every gossip interval) and applied with SWIM's precedence rules.
public enum MembershipUpdate: Hashable, Sendable {
    case alive(id: String, incarnation: UInt64, endpoint: GossipEndpoint, metadata: MemberMetadata)
    case suspect(id: String, incarnation: UInt64, from: String)
    /// `from == id`: the member left gracefully.
    case dead(id: String, incarnation: UInt64, from: String)

    public var memberID: String {
        switch self {
        case .alive(let id, _, _, _), .suspect(let id, _, _), .dead(let id, _, _): id
        }
    }
}

/// One message of a datagram (a datagram may pack several: a probe and piggybacked updates).
public enum GossipMessage: Hashable, Sendable {
    /// Are you alive? `target` is the member the sender means (a stale address reaching another
    /// member is not answered).
    case ping(sequence: UInt32, target: String, source: String, sourceEndpoint: GossipEndpoint)
    /// Probe `target` for me and relay its ack (Lifeguard: or a nack if it stays silent).
    case pingRequest(sequence: UInt32, target: String, targetEndpoint: GossipEndpoint, source: String, sourceEndpoint: GossipEndpoint)
    case ack(sequence: UInt32, source: String)
    /// The relay of a ping request heard nothing from the target (so the requester's own network is fine).
    case nack(sequence: UInt32, source: String)
    case update(MembershipUpdate)
}

/// The full state exchanged by push-pull (TCP), on join and periodically, to repair what gossip missed.
public struct PushPullState: Hashable, Sendable {
    public var sender: String
    public var join: Bool
    public var members: [Member]

    public init(sender: String, join: Bool, members: [Member]) {
        self.sender = sender
        self.join = join
        self.members = members
    }
}
