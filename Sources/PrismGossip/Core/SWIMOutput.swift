/// What the SWIM core asks its shell to do.
public enum SWIMOutput: Hashable, Sendable {
    /// Send these messages in one datagram (the codec splits them if they exceed 1400 bytes).
    case send(to: GossipEndpoint, [GossipMessage])
    /// Exchange full state over TCP; hand the reply to `receivePushPullReply`.
    case pushPull(to: GossipEndpoint, PushPullState)
    /// A membership change was observed.
    case event(MembershipEvent)
    /// Open a TCP connection to the member's gossip port and report how it went with
    /// `receiveReachability` (a direct ping went unanswered).
    case checkReachability(member: String, endpoint: GossipEndpoint, sequence: UInt32)
    /// The shell's watch connection to this member closed: check its gossip port as above and
    /// report with `receiveGoneCheck` (a refusal makes it dead at once).
    case checkGone(member: String, endpoint: GossipEndpoint)
}

/// What a TCP connection attempt to a silent member's gossip port says about it.
public enum Reachability: Sendable, Hashable {
    /// Refused: nothing listens there any more, the process is gone.
    case refused
    /// Accepted by its kernel: the process exists but does not answer (paused, overloaded), or
    /// only its datagrams are lost.
    case accepted
}
