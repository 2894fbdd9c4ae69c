/// A group member's settings. Times are in ticks (the host ticks every group at one rate).
public struct RaftConfiguration: Sendable, Equatable {
    public var id: String
    /// The bootstrap voters: the group's membership until a membership entry or a snapshot says
    /// otherwise. Empty for a node joining a running group: it waits, never campaigning, until
    /// the leader's log or snapshot tells it the membership.
    public var voters: [String]
    /// A follower campaigns after a random wait in [electionTicks, 2·electionTicks).
    public var electionTicks: Int
    public var heartbeatTicks: Int
    /// Campaign only after a majority says it would vote (a rejoining node does not depose a
    /// healthy leader by bumping the term).
    public var preVote: Bool
    /// A leader that has not heard from a majority for an election timeout steps down, and
    /// followers that heard from a leader within one refuse to vote (the leader's lease).
    public var checkQuorum: Bool
    /// Most entries and bytes of entry data per append message (at least one entry goes), and
    /// appends and bytes in flight per follower (flow control: a slow follower gets no more
    /// than this until it acknowledges).
    public var maxEntriesPerMessage: Int
    public var maxInflightMessages: Int
    public var maxBytesPerMessage: Int
    public var maxInflightBytes: Int
    /// `.lease`: a leader that heard from a majority within the election timeout minus
    /// `leaseMarginTicks` answers reads at once, without a round of heartbeats. Only with
    /// check-quorum (which makes followers refuse votes while a leader's lease runs).
    public var readMode: ReadMode
    /// The clock drift the lease allows for, in ticks.
    public var leaseMarginTicks: Int
    /// A leader whose followers all hold its whole log, committed, with no read or change under
    /// way, for this many ticks, tells them so and goes quiet: no heartbeats, no election timers,
    /// until a proposal, a read, a message or the host's `wake()` (its failure detector suspects
    /// the leader). 0: never. Idle groups then cost nothing per tick.
    public var quiesceTicks: Int
    /// The group starts (and restarts) quiet: no timers, no elections, until a message, work or
    /// `wake()`. Work at a quiet follower that knows no leader campaigns at the next tick. A
    /// node hosting thousands of groups then elects leaders as groups are used, not all at once
    /// at start, where every group's timers and elections at the same time would swamp it.
    public var startQuiet: Bool
    /// Most snapshot bytes per message: a snapshot goes as a stream of chunks, one in flight,
    /// each acknowledged, so a large one neither needs one huge frame nor starts over when a
    /// chunk is lost.
    public var maxSnapshotChunkBytes: Int

    public enum ReadMode: String, Sendable, Equatable { case readIndex, lease }

    public init(id: String, voters: [String], electionTicks: Int = 10, heartbeatTicks: Int = 1, preVote: Bool = true,
                checkQuorum: Bool = true, maxEntriesPerMessage: Int = 256, maxInflightMessages: Int = 64,
                readMode: ReadMode = .readIndex, leaseMarginTicks: Int = 2, maxBytesPerMessage: Int = 1 << 20,
                maxInflightBytes: Int = 32 << 20, quiesceTicks: Int = 0, startQuiet: Bool = false,
                maxSnapshotChunkBytes: Int = 1 << 20) {
        self.id = id
        self.voters = voters
        self.electionTicks = max(2, electionTicks)
        self.heartbeatTicks = max(1, min(heartbeatTicks, electionTicks - 1))
        self.preVote = preVote
        self.checkQuorum = checkQuorum
        self.maxEntriesPerMessage = max(1, maxEntriesPerMessage)
        self.maxInflightMessages = max(1, maxInflightMessages)
        self.maxBytesPerMessage = max(1, maxBytesPerMessage)
        self.maxInflightBytes = max(1, maxInflightBytes)
        self.readMode = checkQuorum ? readMode : .readIndex
        self.leaseMarginTicks = max(1, min(leaseMarginTicks, self.electionTicks - 1))
        self.quiesceTicks = max(0, quiesceTicks)
        self.startQuiet = startQuiet
        self.maxSnapshotChunkBytes = max(1, maxSnapshotChunkBytes)
    }
}
