/// An entry of a group's log: a proposal's bytes, at the term of the leader that appended it.
public struct LogEntry: Hashable, Sendable {
    public var term: UInt64
    public var index: UInt64
    /// Empty for the entry a new leader appends to commit its predecessors' entries.
    public var data: [UInt8]
    public var kind: Kind

    public enum Kind: UInt8, Hashable, Sendable {
        /// For the state machine.
        case normal = 0
        /// The group's new membership (`Membership.encoded`), in effect from when it is appended.
        case membership = 1
    }

    public init(term: UInt64, index: UInt64, data: [UInt8], kind: Kind = .normal) {
        self.term = term
        self.index = index
        self.data = data
        self.kind = kind
    }
}

/// The state machine as of `index` (whose entry had `term`): what replaces the log up to there
/// on a member that compacted it, or on a follower too far behind for the leader's log.
public struct RaftSnapshot: Hashable, Sendable {
    public var index: UInt64
    public var term: UInt64
    public var data: [UInt8]
    /// The group's membership at `index` (nil: the bootstrap voters of the configuration).
    public var membership: Membership?

    public init(index: UInt64, term: UInt64, data: [UInt8], membership: Membership? = nil) {
        self.index = index
        self.term = term
        self.data = data
        self.membership = membership
    }
}

/// What must be durable before a node votes, acknowledges or reports anything.
public struct HardState: Hashable, Sendable {
    public var term: UInt64
    public var vote: String?
    public var commit: UInt64

    public init(term: UInt64 = 0, vote: String? = nil, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}

/// The messages of one Raft group (the transport adds the group id).
public enum RaftMessage: Hashable, Sendable {
    /// Would you vote for me at `term` (not yet my term: pre-vote does not disturb anyone)?
    case preVote(term: UInt64, lastIndex: UInt64, lastTerm: UInt64)
    case preVoteResponse(term: UInt64, granted: Bool)
    /// `transfer`: the leader handed over leadership, so the lease does not stand in the way.
    case vote(term: UInt64, lastIndex: UInt64, lastTerm: UInt64, transfer: Bool)
    case voteResponse(term: UInt64, granted: Bool)
    /// Entries after (`prevIndex`, `prevTerm`); `commit` is the leader's commit index.
    case append(term: UInt64, prevIndex: UInt64, prevTerm: UInt64, entries: [LogEntry], commit: UInt64)
    /// `index`: on success the last index now matching the leader; on rejection the
    /// follower's last index (where the leader should probe from).
    case appendResponse(term: UInt64, index: UInt64, rejected: Bool)
    /// `context` ≠ 0: the leader is confirming it still leads, for the reads waiting on it.
    case heartbeat(term: UInt64, commit: UInt64, context: UInt64)
    case heartbeatResponse(term: UInt64, context: UInt64)
    /// A follower asks the leader for a read index (ReadIndex on a follower).
    case readIndex(term: UInt64, context: UInt64)
    case readIndexResponse(term: UInt64, context: UInt64, index: UInt64)
    /// One chunk of the leader's snapshot, for a follower whose next entry it no longer holds:
    /// `snapshot.data` holds the snapshot's bytes from `offset`, and `done` marks the last chunk.
    /// A snapshot of any size goes as chunks of at most `maxSnapshotChunkBytes`, one in flight.
    case snapshot(term: UInt64, snapshot: RaftSnapshot, offset: UInt64, done: Bool)
    /// The follower holds the first `received` bytes of the snapshot at `index` (after a chunk,
    /// or instead of one that does not follow on: the leader resends from there).
    case snapshotAck(term: UInt64, index: UInt64, received: UInt64)
    /// A follower forwards proposals to the leader.
    case propose(term: UInt64, entries: [[UInt8]])
    /// Leadership transfer: campaign now (the sender stops leading once you win).
    case timeoutNow(term: UInt64)
    /// The leader is going quiet: everything up to `commit` is everywhere. A follower whose log
    /// ends there stops its election timer until a message, a proposal or `wake()`.
    case quiesce(term: UInt64, commit: UInt64)

    public var term: UInt64 {
        switch self {
        case .preVote(let t, _, _), .preVoteResponse(let t, _), .vote(let t, _, _, _), .voteResponse(let t, _),
             .propose(let t, _), .timeoutNow(let t), .snapshot(let t, _, _, _), .snapshotAck(let t, _, _), .quiesce(let t, _),
             .append(let t, _, _, _, _), .appendResponse(let t, _, _), .heartbeat(let t, _, _), .heartbeatResponse(let t, _),
             .readIndex(let t, _), .readIndexResponse(let t, _, _):
            t
        }
    }
}

public struct RaftEnvelope: Hashable, Sendable {
    public var from: String
    public var to: String
    public var message: RaftMessage

    public init(from: String, to: String, message: RaftMessage) {
        self.from = from
        self.to = to
        self.message = message
    }
}
