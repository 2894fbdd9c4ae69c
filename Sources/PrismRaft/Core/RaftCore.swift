/// One member of one Raft group as a deterministic state machine (in the manner of
/// etcd-io/raft's `RawNode`): ticks, messages and proposals in; a `RaftReady` out with what to
/// persist, send and apply. No clock, socket or file inside, so the simulation and the
/// multi-Raft host drive the same code and a seed replays a run.
///
/// Leader election with randomized timeouts, pre-vote and check-quorum; log replication with
/// batching, pipelining and flow control; the commit rule (a leader commits only entries of its
/// own term by counting, earlier ones with them); ReadIndex and lease reads; snapshots; proposal
/// forwarding; leadership transfer; membership changes one at a time, with learners.
public struct RaftCore<Random: RandomNumberGenerator & Sendable>: Sendable {
    public let configuration: RaftConfiguration
    public private(set) var role: RaftRole = .follower
    public private(set) var term: UInt64
    public private(set) var vote: String?
    public private(set) var leader: String?
    /// The membership in effect: the latest in the log, committed or not (§4.1 of Ongaro's
    /// dissertation), else the snapshot's, else the bootstrap voters.
    public private(set) var membership: Membership {
        didSet { cachePeers() }
    }
    /// From `membership`, kept with it: read on every tick of a leader.
    private var voterPeers: [String] = []
    private var replicas: [String] = []

    var log: RaftLog
    private var random: Random
    private var electionElapsed = 0
    private var heartbeatElapsed = 0
    private var randomizedElectionTimeout = 0
    private var votes: [String: Bool] = [:]
    private var progress: [String: Progress] = [:]
    private var outbox: [RaftEnvelope] = []
    private var lastHardState: HardState
    private var readsReady: [ReadState] = []
    /// Reads waiting for a quorum to confirm this node still leads (ReadIndex), oldest first.
    private var pendingReads: [PendingRead] = []
    /// Reads that arrived before this leader committed an entry of its term (until then its
    /// commit index may be behind what earlier leaders committed).
    private var readsAwaitingCommit: [(context: UInt64, from: String?)] = []
    /// Ticks since the leader last heard from each follower (the lease).
    private var ticksSinceHeard: [String: Int] = [:]
    /// The latest snapshot (the shell's, after `compact`, or the leader's, after installing it):
    /// sent to followers whose next entry was compacted away.
    public private(set) var snapshot: RaftSnapshot?
    private var receivedSnapshot: RaftSnapshot?
    /// The chunks of a leader's snapshot received so far (whole once `done`).
    private var incomingSnapshot: RaftSnapshot?
    /// A leadership transfer under way: to whom (proposals wait; given up after an election timeout).
    public private(set) var transferee: String?
    private var transferElapsed = 0
    /// The membership as of the snapshot, and the membership entries in the log after it.
    private var baseMembership: Membership
    /// Quiet: no heartbeats (leader) or election timer (follower) until woken.
    public private(set) var isQuiesced = false
    /// Ticks the leader has had nothing to do (towards `quiesceTicks`).
    private var idleTicks = 0
    private var membershipEntries: [MembershipEntry] = []

    struct MembershipEntry: Sendable {
        var index: UInt64
        var term: UInt64
        var membership: Membership
    }

    struct PendingRead: Sendable {
        var context: UInt64
        var index: UInt64
        var from: String?
        var acks: Set<String>
    }

    /// What the leader knows of a follower's log.
    struct Progress: Sendable {
        var match: UInt64 = 0
        var next: UInt64
        /// Probing: one append at a time until the follower's match is found; replicating:
        /// appends pipelined, up to the in-flight bound.
        var probing = true
        /// Last index of each append in flight (acknowledgements are cumulative).
        var inflight: [UInt64] = []
        /// Entry bytes of each append in flight, in step with `inflight`.
        var inflightBytes: [Int] = []
        var bytesInFlight: Int { inflightBytes.reduce(0, +) }

        mutating func clearInflight() {
            inflight = []
            inflightBytes = []
        }

        /// Acknowledgements are cumulative: everything up to `index` arrived.
        mutating func acknowledge(through index: UInt64) {
            while let first = inflight.first, first <= index {
                inflight.removeFirst()
                inflightBytes.removeFirst()
            }
        }
        /// Heard from since the last check-quorum round.
        var active = false
        /// Ticks since a snapshot chunk was sent and not yet acknowledged (resent after an
        /// election timeout, not at every heartbeat).
        var snapshotTicks: Int?
        /// The snapshot being streamed to this follower, and how many of its bytes it holds.
        var snapshotIndex: UInt64?
        var snapshotOffset = 0
    }

    /// From what was persisted: hard state, the last snapshot (the state machine restored from
    /// it), and the entries after it.
    public init(configuration: RaftConfiguration, hardState: HardState = HardState(), snapshot: RaftSnapshot? = nil,
                entries: [LogEntry] = [], random: Random) {
        self.configuration = configuration
        self.random = random
        term = hardState.term
        vote = hardState.vote
        self.snapshot = snapshot
        log = RaftLog(snapshotIndex: snapshot?.index ?? 0, snapshotTerm: snapshot?.term ?? 0, entries: entries, commit: hardState.commit)
        lastHardState = hardState
        baseMembership = snapshot?.membership ?? Membership(voters: configuration.voters)
        membership = baseMembership
        noteMembershipEntries(log.entries)
        cachePeers()
        resetElectionTimeout()
        isQuiesced = configuration.startQuiet
    }

    public var commitIndex: UInt64 { log.committed }
    public var lastIndex: UInt64 { log.lastIndex }
    public var entries: [LogEntry] { log.entries }
    public var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }
    /// The term of the entry at `index`; nil beyond the log or before the snapshot (the
    /// snapshot's own index answers its term).
    public func term(at index: UInt64) -> UInt64? { log.term(at: index) }
    private var id: String { configuration.id }
    private var isVoter: Bool { membership.isVoter(id) }
    /// The other voters (elections, commits, leases and reads count them), and everyone else the
    /// leader replicates to (voters and learners).
    private mutating func cachePeers() {
        voterPeers = membership.voters.filter { $0 != id }
        replicas = membership.members.filter { $0 != id }
    }

    /// The membership in effect at `index` (for a snapshot taken there).
    public func membership(at index: UInt64) -> Membership {
        membershipEntries.last { $0.index <= index }?.membership ?? baseMembership
    }

    // MARK: Inputs

    /// One tick of the host's clock.
    public mutating func tick() {
        if isQuiesced { return }
        electionElapsed += 1
        if role == .leader {
            if configuration.quiesceTicks > 0 {
                idleTicks = isIdle ? idleTicks + 1 : 0
                if idleTicks >= configuration.quiesceTicks { return quiesce() }
            }
            heartbeatElapsed += 1
            if transferee != nil {
                transferElapsed += 1
                if transferElapsed >= configuration.electionTicks { transferee = nil }
            }
            for peer in replicas {
                ticksSinceHeard[peer, default: 0] += 1
                if let t = progress[peer]?.snapshotTicks { progress[peer]?.snapshotTicks = t + 1 }
            }
            if heartbeatElapsed >= configuration.heartbeatTicks {
                heartbeatElapsed = 0
                for peer in replicas { sendHeartbeat(to: peer, context: pendingReads.last?.context ?? 0) }
            }
            if electionElapsed >= configuration.electionTicks {
                electionElapsed = 0
                if configuration.checkQuorum {
                    // Lost touch with a majority for a whole election timeout: step down, so a
                    // partitioned leader stops accepting work the majority side may overwrite.
                    let active = (isVoter ? 1 : 0) + voterPeers.filter { progress[$0]?.active == true }.count
                    for peer in replicas { progress[peer]?.active = false }
                    if active < membership.quorum { becomeFollower(term: term, leader: nil) }
                }
            }
        } else if electionElapsed >= randomizedElectionTimeout && isVoter {
            // Learners, members removed and nodes still joining never campaign.
            campaign()
        }
    }

    /// Proposes `data`: appended here when this node leads, forwarded to the leader when one
    /// is known; false otherwise, or while leadership is being transferred (retry later).
    @discardableResult
    public mutating func propose(_ data: [UInt8]) -> Bool { propose(batch: [data]) }

    /// Proposes several entries at once (one append, one durable write).
    @discardableResult
    public mutating func propose(batch: [[UInt8]]) -> Bool {
        guard !batch.isEmpty else { return false }
        wakeForWork()
        switch role {
        case .leader:
            guard transferee == nil else { return false }
            appendAsLeader(batch)
            return true
        default:
            guard let leader else { return false }
            send(to: leader, .propose(term: term, entries: batch))
            return true
        }
    }

    /// Proposes one membership change; it takes effect on each member as soon as the entry is in
    /// its log. Returns the entry's index; refused while the last change is not committed, before
    /// this leader has committed an entry of its term, and when the change makes no sense.
    @discardableResult
    public mutating func proposeMembershipChange(_ change: MembershipChange) throws(MembershipChangeError) -> UInt64 {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard transferee == nil else { throw .transferringLeadership }
        if let pending = membershipEntries.last, pending.index > log.committed { throw .changePending(index: pending.index) }
        guard log.term(at: log.committed) == term else { throw .leaderNotReady }
        let next = try membership.applying(change)
        appendAsLeader([next.encoded()], kind: .membership)
        return log.lastIndex
    }

    /// Hands leadership to `target` (a voter): once its log matches, it is told to campaign at
    /// once. Proposals are refused meanwhile; the transfer is abandoned after an election timeout.
    @discardableResult
    public mutating func transferLeadership(to target: String) -> Bool {
        guard role == .leader, target != id, progress[target] != nil, membership.isVoter(target) else { return false }
        transferee = target
        transferElapsed = 0
        if progress[target]?.match == log.lastIndex {
            send(to: target, .timeoutNow(term: term))
        } else {
            sendAppend(to: target)
        }
        return true
    }

    /// Asks for a linearizable read: a `ReadState` with `context` comes out in a later ready
    /// (serve the read once the state machine has applied its index). False when no leader is
    /// known to forward it to; the caller retries. `context` should be unique and non-zero.
    @discardableResult
    public mutating func readIndex(context: UInt64) -> Bool {
        wakeForWork()
        if role == .leader {
            handleRead(context: context, from: nil)
            return true
        }
        guard let leader else { return false }
        send(to: leader, .readIndex(term: term, context: context))
        return true
    }

    /// The shell took a snapshot of the state machine at `snapshot.index` (applied, durable):
    /// the entries it covers are dropped, and it is what lagging followers get instead.
    public mutating func compact(_ snapshot: RaftSnapshot) {
        guard snapshot.index > log.snapshotIndex, log.term(at: snapshot.index) == snapshot.term else { return }
        log.compact(through: snapshot.index)
        guard log.snapshotIndex == snapshot.index else { return }
        baseMembership = membership(at: snapshot.index)
        membershipEntries.removeAll { $0.index <= snapshot.index }
        var snapshot = snapshot
        snapshot.membership = snapshot.membership ?? baseMembership
        self.snapshot = snapshot
    }

    /// Handles a message from another member of the group.
    public mutating func step(_ envelope: RaftEnvelope) {
        let m = envelope.message, from = envelope.from
        // From anyone: a member this node does not know of yet may be the leader that added it.
        // Replies count only from the members they are tracked for.
        guard envelope.to == id, from != id else { return }
        if case .quiesce = m {} else { unquiesce() }
        switch m {
        case .preVote(let t, let lastIndex, let lastTerm):
            // A pre-vote never changes our term; granted when the asker could win: its term
            // is ahead, its log is up to date, and we have no live leader (its lease).
            let grant = t > term && log.isUpToDate(lastIndex: lastIndex, lastTerm: lastTerm) && !inLease
            send(to: from, .preVoteResponse(term: grant ? t : term, granted: grant))
            return
        case .vote(let t, _, _, false) where t > term && inLease:
            // A leader we heard from recently still holds its lease: ignore the disruption.
            return
        default:
            break
        }
        if m.term > term {
            switch m {
            case .preVoteResponse(_, true):
                break  // the term of a granted pre-vote is the one we asked about
            case .append, .heartbeat, .readIndexResponse, .snapshot, .quiesce:
                becomeFollower(term: m.term, leader: from)
            default:
                becomeFollower(term: m.term, leader: nil)
            }
        } else if m.term < term {
            // Stale: tell an old leader or candidate the term, so it steps down.
            switch m {
            case .append, .heartbeat, .readIndex, .snapshot: send(to: from, .appendResponse(term: term, index: log.lastIndex, rejected: true))
            case .vote: send(to: from, .voteResponse(term: term, granted: false))
            default: break
            }
            return
        }
        switch m {
        case .preVote:
            break
        case .vote(_, let lastIndex, let lastTerm, _):
            let grant = (vote == nil || vote == from) && log.isUpToDate(lastIndex: lastIndex, lastTerm: lastTerm)
            if grant {
                vote = from
                electionElapsed = 0
            }
            send(to: from, .voteResponse(term: term, granted: grant))
        case .preVoteResponse(_, let granted):
            guard role == .preCandidate, membership.isVoter(from) else { return }
            votes[from] = granted
            if tally() >= membership.quorum { becomeCandidate() } else if rejections() >= membership.quorum { becomeFollower(term: term, leader: nil) }
        case .voteResponse(_, let granted):
            guard role == .candidate, membership.isVoter(from) else { return }
            votes[from] = granted
            if tally() >= membership.quorum { becomeLeader() } else if rejections() >= membership.quorum { becomeFollower(term: term, leader: nil) }
        case .append(_, let prevIndex, let prevTerm, let entries, let commit):
            if role != .follower { becomeFollower(term: term, leader: from) }
            leader = from
            electionElapsed = 0
            guard log.term(at: prevIndex) == prevTerm else {
                send(to: from, .appendResponse(term: term, index: min(log.lastIndex, prevIndex > 0 ? prevIndex - 1 : 0), rejected: true))
                return
            }
            let matched = log.accept(entries, after: prevIndex)
            reconcileMembership()
            noteMembershipEntries(entries)
            _ = log.commit(to: min(commit, matched))
            send(to: from, .appendResponse(term: term, index: matched, rejected: false))
        case .snapshot(_, let chunk, let offset, let done):
            if role != .follower { becomeFollower(term: term, leader: from) }
            leader = from
            electionElapsed = 0
            if chunk.index <= log.committed {
                // Already there: what it has up to its commit index is the leader's.
                incomingSnapshot = nil
                send(to: from, .appendResponse(term: term, index: log.committed, rejected: false))
                return
            }
            if offset == 0 {
                incomingSnapshot = chunk
            } else if var incoming = incomingSnapshot, incoming.index == chunk.index, incoming.term == chunk.term,
                      UInt64(incoming.data.count) == offset {
                incomingSnapshot = nil  // appended to in place, not copied
                incoming.data.append(contentsOf: chunk.data)
                incomingSnapshot = incoming
            } else {
                // Not the next chunk (lost, duplicated, reordered, or a restart lost the rest):
                // say what we hold, and the leader goes on from there.
                let held = incomingSnapshot.map { $0.index == chunk.index && $0.term == chunk.term ? $0.data.count : 0 } ?? 0
                send(to: from, .snapshotAck(term: term, index: chunk.index, received: UInt64(held)))
                return
            }
            guard done, let snap = incomingSnapshot else {
                send(to: from, .snapshotAck(term: term, index: chunk.index, received: UInt64(incomingSnapshot?.data.count ?? 0)))
                return
            }
            incomingSnapshot = nil
            log.restore(index: snap.index, term: snap.term)
            baseMembership = snap.membership ?? Membership(voters: configuration.voters)
            reconcileMembership()
            snapshot = snap
            receivedSnapshot = snap
            send(to: from, .appendResponse(term: term, index: snap.index, rejected: false))
        case .heartbeat(_, let commit, let context):
            if role != .follower { becomeFollower(term: term, leader: from) }
            leader = from
            electionElapsed = 0
            _ = log.commit(to: commit)
            send(to: from, .heartbeatResponse(term: term, context: context))
        case .snapshotAck(_, let index, let received):
            guard role == .leader, var p = progress[from], p.snapshotIndex == index else { return }
            p.active = true
            ticksSinceHeard[from] = 0
            p.snapshotOffset = Int(min(received, UInt64(snapshot?.data.count ?? 0)))
            p.snapshotTicks = nil
            p.clearInflight()
            progress[from] = p
            sendAppend(to: from)
        case .appendResponse(_, let index, let rejected):
            guard role == .leader, var p = progress[from] else { return }
            p.active = true
            ticksSinceHeard[from] = 0
            if rejected {
                // Probe back from what the follower has (never past what already matched).
                if !p.probing || index + 1 < p.next {
                    p.next = max(p.match + 1, min(p.next - 1, index + 1))
                    p.probing = true
                }
                p.snapshotTicks = nil
                p.clearInflight()
                progress[from] = p
                sendAppend(to: from)
            } else {
                if index > p.match { p.match = index }
                p.next = max(p.next, index + 1)
                p.snapshotTicks = nil
                p.snapshotIndex = nil
                p.acknowledge(through: index)
                if p.probing { p.clearInflight() }
                p.probing = false
                progress[from] = p
                maybeCommit()
                sendAppend(to: from)
                if transferee == from, p.match == log.lastIndex { send(to: from, .timeoutNow(term: term)) }
            }
        case .readIndex(_, let context):
            guard role == .leader else { return }
            handleRead(context: context, from: from)
        case .propose(_, let entries):
            // Forwarded by a follower; dropped (the follower's caller retries) when not leading.
            guard role == .leader, transferee == nil, !entries.isEmpty else { return }
            appendAsLeader(entries)
        case .quiesce(_, let commit):
            if role != .follower { becomeFollower(term: term, leader: from) }
            leader = from
            electionElapsed = 0
            // Only with the whole log: a follower still missing entries keeps its timer.
            if log.lastIndex == commit, log.lastTerm == term {
                _ = log.commit(to: commit)
                isQuiesced = true
            }
        case .timeoutNow:
            guard role == .follower, from == leader, isVoter else { return }
            becomeCandidate(transfer: true)
        case .readIndexResponse(_, let context, let index):
            guard role == .follower, from == leader else { return }
            readsReady.append(ReadState(context: context, index: index))
        case .heartbeatResponse(_, let context):
            guard role == .leader, var p = progress[from] else { return }
            p.active = true
            ticksSinceHeard[from] = 0
            if context != 0 { confirmReads(upTo: context, by: from) }
            // A lost append must not stall the follower: a probe is retried, a full window
            // gives up its oldest slot.
            if let t = p.snapshotTicks {
                if t >= configuration.electionTicks { p.clearInflight() }
            } else if p.probing {
                p.clearInflight()
            } else if p.inflight.count >= configuration.maxInflightMessages || p.bytesInFlight >= configuration.maxInflightBytes {
                p.inflight.removeFirst()
                p.inflightBytes.removeFirst()
            }
            progress[from] = p
            if p.match < log.lastIndex { sendAppend(to: from) }
        }
    }

    // MARK: Output

    public var hasReady: Bool {
        receivedSnapshot != nil || !outbox.isEmpty || !readsReady.isEmpty || !log.unstable.isEmpty || hardState != lastHardState
            || log.hasCommittedToApply
    }

    /// What to persist, send and apply now.
    public mutating func ready() -> RaftReady {
        let hs = hardState
        let early = role == .leader && receivedSnapshot == nil && hs.term == lastHardState.term && hs.vote == lastHardState.vote
        let ready = RaftReady(snapshot: receivedSnapshot, hardState: hs != lastHardState ? hs : nil, entries: log.unstable,
                              committed: log.takeCommitted(), messages: outbox, reads: readsReady, sendBeforePersisting: early)
        receivedSnapshot = nil
        outbox.removeAll(keepingCapacity: true)
        readsReady.removeAll(keepingCapacity: true)
        return ready
    }

    /// The shell persisted `ready` (and sent and applied it).
    public mutating func advance(_ ready: RaftReady) {
        if let hs = ready.hardState { lastHardState = hs }
        if let last = ready.entries.last {
            log.markStable(through: last.index, term: last.term)
            if role == .leader { maybeCommit() }
        }
    }

    // MARK: Roles

    private mutating func campaign() {
        if configuration.preVote {
            role = .preCandidate
            leader = nil
            votes = [id: true]
            electionElapsed = 0
            resetElectionTimeout()
            if tally() >= membership.quorum { return becomeCandidate() }
            for peer in voterPeers { send(to: peer, .preVote(term: term + 1, lastIndex: log.lastIndex, lastTerm: log.lastTerm)) }
        } else {
            becomeCandidate()
        }
    }

    private mutating func becomeCandidate(transfer: Bool = false) {
        role = .candidate
        term += 1
        vote = id
        leader = nil
        votes = [id: true]
        electionElapsed = 0
        resetElectionTimeout()
        if tally() >= membership.quorum { return becomeLeader() }
        for peer in voterPeers { send(to: peer, .vote(term: term, lastIndex: log.lastIndex, lastTerm: log.lastTerm, transfer: transfer)) }
    }

    private mutating func becomeLeader() {
        role = .leader
        leader = id
        electionElapsed = 0
        heartbeatElapsed = 0
        progress = [:]
        for peer in replicas { progress[peer] = Progress(next: log.lastIndex + 1, active: true) }
        // Not heard from yet in this term: no lease until a majority answers.
        ticksSinceHeard = Dictionary(uniqueKeysWithValues: replicas.map { ($0, configuration.electionTicks) })
        pendingReads = []
        readsAwaitingCommit = []
        transferee = nil
        // An entry of the new term: committing it commits everything before it.
        appendAsLeader([[]])
    }

    private mutating func becomeFollower(term newTerm: UInt64, leader newLeader: String?) {
        isQuiesced = false
        idleTicks = 0
        if newTerm > term {
            term = newTerm
            vote = nil
        }
        role = .follower
        leader = newLeader
        votes = [:]
        progress = [:]
        // Reads waiting on this node's leadership are dropped: their callers time out and retry.
        pendingReads = []
        readsAwaitingCommit = []
        transferee = nil
        electionElapsed = 0
        resetElectionTimeout()
    }

    // MARK: Replication

    private mutating func appendAsLeader(_ batch: [[UInt8]], kind: LogEntry.Kind = .normal) {
        var index = log.lastIndex
        let appended = batch.map { data in
            index += 1
            return LogEntry(term: term, index: index, data: data, kind: kind)
        }
        log.append(appended)
        if kind == .membership {
            noteMembershipEntries(appended)
            // New members are probed from the end of the log back to what they hold; members
            // removed get nothing more.
            for peer in replicas where progress[peer] == nil {
                progress[peer] = Progress(next: log.lastIndex + 1, active: true)
                ticksSinceHeard[peer] = configuration.electionTicks
            }
            for peer in progress.keys where !membership.contains(peer) {
                progress[peer] = nil
                ticksSinceHeard[peer] = nil
            }
        }
        for peer in replicas { sendAppend(to: peer) }
        // New entries commit nothing by being appended (the leader's own count moves when they
        // are stable); a new configuration can, through its quorum.
        if kind == .membership { maybeCommit() }
    }

    /// Sends what the follower's window allows: while replicating, appends one after another
    /// (pipelining) until the entries, the window of messages or the window of bytes run out;
    /// while probing, one append (or the snapshot) and a wait for its answer.
    private mutating func sendAppend(to peer: String) {
        while sendOneAppend(to: peer) {}
    }

    /// One append (or snapshot); true when another may follow at once.
    private mutating func sendOneAppend(to peer: String) -> Bool {
        guard var p = progress[peer] else { return false }
        if p.probing ? !p.inflight.isEmpty
            : p.inflight.count >= configuration.maxInflightMessages || p.bytesInFlight >= configuration.maxInflightBytes { return false }
        guard p.next <= log.lastIndex + 1 else { return false }
        // (Index 0 always has term 0, so a follower with an empty log is caught by the first test.)
        guard p.next - 1 >= log.snapshotIndex, let prevTerm = log.term(at: p.next - 1) else {
            // Its next entry was compacted away: it gets the snapshot instead, chunk by chunk.
            guard let snapshot else { return false }
            if p.snapshotIndex != snapshot.index {
                p.snapshotIndex = snapshot.index
                p.snapshotOffset = 0
            }
            let start = min(p.snapshotOffset, snapshot.data.count)
            let end = min(snapshot.data.count, start + configuration.maxSnapshotChunkBytes)
            let chunk = RaftSnapshot(index: snapshot.index, term: snapshot.term, data: Array(snapshot.data[start..<end]),
                                     membership: snapshot.membership)
            send(to: peer, .snapshot(term: term, snapshot: chunk, offset: UInt64(start), done: end == snapshot.data.count))
            p.probing = true
            p.inflight = [snapshot.index]
            p.inflightBytes = [end - start]
            p.snapshotTicks = 0
            progress[peer] = p
            return false
        }
        let batch = log.slice(from: p.next, max: configuration.maxEntriesPerMessage, maxBytes: configuration.maxBytesPerMessage)
        if batch.isEmpty && !p.probing && p.match == log.lastIndex { return false }
        send(to: peer, .append(term: term, prevIndex: p.next - 1, prevTerm: prevTerm, entries: batch, commit: log.committed))
        p.inflight.append(batch.last?.index ?? p.next - 1)
        p.inflightBytes.append(batch.reduce(0) { $0 + $1.data.count })
        if !p.probing, let last = batch.last { p.next = last.index + 1 }
        progress[peer] = p
        return !p.probing && !batch.isEmpty && p.next <= log.lastIndex
    }

    private mutating func sendHeartbeat(to peer: String, context: UInt64) {
        // Never tell a follower to commit past what it is known to hold.
        let commit = min(log.committed, progress[peer]?.match ?? 0)
        send(to: peer, .heartbeat(term: term, commit: commit, context: context))
    }

    // MARK: Reads

    private mutating func handleRead(context: UInt64, from: String?) {
        guard log.term(at: log.committed) == term else {
            readsAwaitingCommit.append((context, from))
            return
        }
        let index = log.committed
        if membership.voters == [id] || (configuration.readMode == .lease && leaseHolds) {
            return answerRead(ReadState(context: context, index: index), to: from)
        }
        pendingReads.append(PendingRead(context: context, index: index, from: from, acks: isVoter ? [id] : []))
        for peer in voterPeers { sendHeartbeat(to: peer, context: context) }
    }

    /// A follower answered the heartbeat of read `context`: it (and every read before it,
    /// asked earlier) is confirmed by that follower.
    private mutating func confirmReads(upTo context: UInt64, by follower: String) {
        guard membership.isVoter(follower), let last = pendingReads.lastIndex(where: { $0.context == context }) else { return }
        for i in 0...last { pendingReads[i].acks.insert(follower) }
        while let first = pendingReads.first, first.acks.count >= membership.quorum {
            pendingReads.removeFirst()
            answerRead(ReadState(context: first.context, index: first.index), to: first.from)
        }
    }

    private mutating func answerRead(_ read: ReadState, to follower: String?) {
        if let follower {
            send(to: follower, .readIndexResponse(term: term, context: read.context, index: read.index))
        } else {
            readsReady.append(read)
        }
    }

    /// A majority answered within the election timeout minus the drift margin: no other
    /// leader can have been elected meanwhile (followers refuse votes while they hear from us).
    private var leaseHolds: Bool {
        let window = configuration.electionTicks - configuration.leaseMarginTicks
        return (isVoter ? 1 : 0) + voterPeers.filter { ticksSinceHeard[$0, default: .max] < window }.count >= membership.quorum
    }

    /// The highest index a majority holds durably, if it is of this term.
    private mutating func maybeCommit() {
        // A leader that is removing itself leads until that commits, without counting itself.
        let quorum = membership.quorum, voters = voterPeers.count + (isVoter ? 1 : 0)
        guard quorum > 0, voters >= quorum else { return }
        // On the stack: this runs on every acknowledgement.
        let candidate = withUnsafeTemporaryAllocation(of: UInt64.self, capacity: voters) { matches in
            var n = 0
            for peer in voterPeers {
                matches[n] = progress[peer]?.match ?? 0
                n += 1
            }
            if isVoter {
                matches[n] = log.stable
                n += 1
            }
            // Descending, by insertion: a handful of voters.
            for i in 1..<n {
                let match = matches[i]
                var j = i
                while j > 0, matches[j - 1] < match {
                    matches[j] = matches[j - 1]
                    j -= 1
                }
                matches[j] = match
            }
            return matches[quorum - 1]
        }
        if candidate > log.committed, log.term(at: candidate) == term, log.commit(to: candidate) {
            if !isVoter, (membershipEntries.last?.index ?? 0) <= log.committed {
                // Its removal (or demotion) is committed: the remaining voters elect a leader.
                return becomeFollower(term: term, leader: nil)
            }
            for peer in replicas where progress[peer]?.probing == false { sendAppend(to: peer) }
            let waiting = readsAwaitingCommit
            readsAwaitingCommit = []
            for read in waiting { handleRead(context: read.context, from: read.from) }
        }
    }

    // MARK: Helpers

    /// Heard from a leader within the election timeout (check-quorum's lease).
    private var inLease: Bool { configuration.checkQuorum && leader != nil && role == .follower && electionElapsed < configuration.electionTicks }

    private func tally() -> Int { votes.filter { $0.value && membership.isVoter($0.key) }.count }
    private func rejections() -> Int { votes.filter { !$0.value && membership.isVoter($0.key) }.count }

    // MARK: Quiescence

    /// Nothing to replicate, commit, confirm or change: every replica holds the whole log.
    private var isIdle: Bool {
        log.committed == log.lastIndex && log.stable == log.lastIndex && pendingReads.isEmpty && readsAwaitingCommit.isEmpty
            && transferee == nil && replicas.allSatisfy { progress[$0]?.match == log.lastIndex }
    }

    private mutating func quiesce() {
        isQuiesced = true
        idleTicks = 0
        for peer in replicas { send(to: peer, .quiesce(term: term, commit: log.committed)) }
    }

    /// The host's failure detector suspects the leader of this quiet group: the follower's
    /// election timer runs again, already past the lease (it campaigns within an election
    /// timeout, and grants votes at once), since a quiet leader holds no lease.
    public mutating func wake() {
        guard isQuiesced else { return }
        unquiesce()
        if role != .leader { electionElapsed = configuration.electionTicks }
    }

    /// Work arrived (`propose` and `readIndex` call it; a host that turns work away from a
    /// follower calls it too): a quiet group wakes, and a quiet follower that knows no leader (a
    /// group started quiet, or whose leader went while it was quiet) campaigns at the next tick
    /// rather than after a whole election timeout. Campaigning starts with a pre-vote, so a
    /// follower that merely missed a live leader disturbs nothing.
    public mutating func wakeForWork() {
        guard isQuiesced else { return }
        unquiesce()
        if role == .follower, leader == nil, isVoter { electionElapsed = randomizedElectionTimeout }
    }

    /// Ends quiet for work or a message: a leader heartbeats at once (waking its followers), a
    /// follower's election timer runs again from the start.
    private mutating func unquiesce() {
        guard isQuiesced else { return }
        isQuiesced = false
        idleTicks = 0
        electionElapsed = 0
        if role == .leader {
            // Not heard from while quiet: neither a lease nor a step-down from the quiet time.
            heartbeatElapsed = 0
            for peer in replicas {
                progress[peer]?.active = true
                ticksSinceHeard[peer] = configuration.electionTicks
                sendHeartbeat(to: peer, context: 0)
            }
        }
    }

    // MARK: Membership

    /// Records the membership entries among `entries` (now in the log) and puts the latest in effect.
    private mutating func noteMembershipEntries(_ entries: [LogEntry]) {
        for entry in entries where entry.kind == .membership && entry.index > log.snapshotIndex
            && entry.index > (membershipEntries.last?.index ?? 0) && log.term(at: entry.index) == entry.term {
            guard let m = Membership(encoded: entry.data) else { continue }
            membershipEntries.append(MembershipEntry(index: entry.index, term: entry.term, membership: m))
        }
        membership = membershipEntries.last?.membership ?? baseMembership
    }

    /// Forgets membership entries the log no longer holds (a leader replaced them, or a snapshot
    /// covers them) and puts the latest remaining in effect.
    private mutating func reconcileMembership() {
        membershipEntries.removeAll { $0.index <= log.snapshotIndex || log.term(at: $0.index) != $0.term }
        membership = membershipEntries.last?.membership ?? baseMembership
    }

    private mutating func resetElectionTimeout() {
        randomizedElectionTimeout = configuration.electionTicks + Int(random.next() % UInt64(configuration.electionTicks))
    }

    private mutating func send(to peer: String, _ message: RaftMessage) {
        outbox.append(RaftEnvelope(from: id, to: peer, message: message))
    }
}
