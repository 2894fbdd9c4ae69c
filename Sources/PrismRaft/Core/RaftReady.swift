/// What a core asks its shell to do, in this order: persist `hardState` and `entries` (one
/// durable write, the group-commit writer batches many groups), then send `messages`, then apply
/// `committed` to the state machine, then call `advance(_:)`. Messages wait for the write, so
/// nothing is voted for or acknowledged before it is durable, except where `sendBeforePersisting`
/// says they need not.
public struct RaftReady: Sendable, Equatable {
    /// A snapshot received from the leader: persist it (it replaces the log up to its index)
    /// and restore the state machine from it before applying `committed`.
    public var snapshot: RaftSnapshot?
    public var hardState: HardState?
    public var entries: [LogEntry]
    public var committed: [LogEntry]
    public var messages: [RaftEnvelope]
    /// Reads whose index is known: serve each once the state machine has applied its index.
    public var reads: [ReadState]
    /// The messages may go out while `entries` are still being written (a leader in a term and
    /// vote already durable: its appends and heartbeats promise nothing about its own disk, and
    /// it counts its own entries toward a commit only once `advance` says they are durable —
    /// §10.2.1 of Ongaro's dissertation). A leader's disk write and its followers' then overlap.
    public var sendBeforePersisting: Bool

    public init(snapshot: RaftSnapshot? = nil, hardState: HardState?, entries: [LogEntry], committed: [LogEntry], messages: [RaftEnvelope],
                reads: [ReadState], sendBeforePersisting: Bool = false) {
        self.snapshot = snapshot
        self.hardState = hardState
        self.entries = entries
        self.committed = committed
        self.messages = messages
        self.reads = reads
        self.sendBeforePersisting = sendBeforePersisting
    }

    public var isEmpty: Bool { snapshot == nil && hardState == nil && entries.isEmpty && committed.isEmpty && messages.isEmpty && reads.isEmpty }
}

/// A linearizable read's position in the log: `context` is the caller's id for the read.
public struct ReadState: Hashable, Sendable {
    public var context: UInt64
    public var index: UInt64

    public init(context: UInt64, index: UInt64) {
        self.context = context
        self.index = index
    }
}

public enum RaftRole: String, Sendable, Hashable {
    case follower, preCandidate, candidate, leader
}
