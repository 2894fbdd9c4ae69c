/// What a core asks its shell to do, in this order: persist `hardState` and `entries` (one
/// durable write, the group-commit writer batches many groups), then send `messages`, then apply
/// `committed` to the state machine, then call `advance(_:)`. Messages wait for the write, so
/// nothing is voted for or acknowledged before it is durable.
public struct RaftReady: Sendable, Equatable {
    public var hardState: HardState?
    public var entries: [LogEntry]
    public var committed: [LogEntry]
    public var messages: [RaftEnvelope]

    public var isEmpty: Bool { hardState == nil && entries.isEmpty && committed.isEmpty && messages.isEmpty }
}

public enum RaftRole: String, Sendable, Hashable {
    case follower, preCandidate, candidate, leader
}
