/// What the SWIM core asks its shell to do.
public enum SWIMOutput: Hashable, Sendable {
    /// Send these messages in one datagram (the codec splits them if they exceed 1400 bytes).
    case send(to: GossipEndpoint, [GossipMessage])
    /// Exchange full state over TCP; hand the reply to `receivePushPullReply`.
    case pushPull(to: GossipEndpoint, PushPullState)
    /// A membership change was observed.
    case event(MembershipEvent)
}
