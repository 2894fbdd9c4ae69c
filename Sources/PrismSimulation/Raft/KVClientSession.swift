/// What the state machine remembers of one client session: when it was last heard from (the
/// log's clock) and the outcome of each request it may still ask about again.
///
/// Outcomes are kept sorted by sequence number. A client numbers its requests in order and
/// acknowledges them nearly in order, so a new outcome almost always goes at the end and the
/// acknowledged ones leave from the front; the front is skipped by an offset and the array is
/// compacted only once most of it is skipped, so neither costs a shift per request.
struct KVClientSession: Sendable {
    /// The log's clock (milliseconds) when the session's last request was applied.
    var lastActive: UInt64
    /// Requests numbered below this were answered (or given up) by the client: their outcomes
    /// are gone, and a copy of one that arrives late is refused rather than applied again.
    private(set) var floor: UInt64 = 0
    private var outcomes: [(sequence: UInt64, success: Bool)] = []
    private var head = 0

    init(lastActive: UInt64) {
        self.lastActive = lastActive
    }

    /// A session as a snapshot held it; nil unless the outcomes are strictly ascending and none
    /// is below the floor (what `heldOutcomes` gives).
    init?(lastActive: UInt64, floor: UInt64, outcomes: [(sequence: UInt64, success: Bool)]) {
        var previous: UInt64?
        for o in outcomes {
            guard o.sequence >= floor, previous.map({ o.sequence > $0 }) ?? true else { return nil }
            previous = o.sequence
        }
        self.lastActive = lastActive
        self.floor = floor
        self.outcomes = outcomes
    }

    /// The outcomes still held, in ascending sequence order.
    var heldOutcomes: ArraySlice<(sequence: UInt64, success: Bool)> { outcomes[head...] }

    var outcomeCount: Int { outcomes.count - head }

    /// The outcome of request `sequence`, if it was applied and is still remembered.
    func outcome(_ sequence: UInt64) -> Bool? {
        let i = firstIndex(atLeast: sequence)
        return i < outcomes.count && outcomes[i].sequence == sequence ? outcomes[i].success : nil
    }

    /// Remembers a request's outcome. Past `limit` outcomes the floor rises to the median: the
    /// older half is forgotten, as if the client had acknowledged it (a client that keeps more
    /// requests unanswered than that gets "forgotten" for a late retry of an old one, never a
    /// second effect).
    mutating func record(_ sequence: UInt64, _ success: Bool, limit: Int) {
        let i = firstIndex(atLeast: sequence)
        if i < outcomes.count, outcomes[i].sequence == sequence { return }
        if i == outcomes.count {
            outcomes.append((sequence, success))
        } else {
            outcomes.insert((sequence, success), at: i)
        }
        if outcomeCount > max(1, limit) { raiseFloor(to: outcomes[head + outcomeCount / 2].sequence) }
    }

    /// Forgets every outcome numbered below `floor` (never lowers it).
    mutating func raiseFloor(to newFloor: UInt64) {
        guard newFloor > floor else { return }
        floor = newFloor
        head = firstIndex(atLeast: newFloor)
        if head > 64 && head > outcomes.count / 2 {
            outcomes.removeFirst(head)
            head = 0
        }
    }

    /// The first held position whose sequence is at least `sequence`.
    private func firstIndex(atLeast sequence: UInt64) -> Int {
        var low = head, high = outcomes.count
        // The common cases first: past the end (a new request), or at the front.
        if high == low || outcomes[high - 1].sequence < sequence { return high }
        while low < high {
            let mid = (low + high) / 2
            if outcomes[mid].sequence < sequence { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// How much the state machine remembers of its clients. Every replica must use the same limits
/// (they decide what an entry does); they are part of the replicated machine's definition.
public struct KVSessionLimits: Sendable, Equatable {
    /// A session not heard from for this long (by the log's clock) is dropped.
    public var timeoutMillis: UInt64
    /// Opening a session beyond this many drops the one least recently active.
    public var maxSessions: Int
    /// Outcomes held per session; past it the older half is forgotten.
    public var maxOutcomesPerSession: Int

    public init(timeoutMillis: UInt64 = 3_600_000, maxSessions: Int = 10_000, maxOutcomesPerSession: Int = 65_536) {
        self.timeoutMillis = timeoutMillis
        self.maxSessions = maxSessions
        self.maxOutcomesPerSession = maxOutcomesPerSession
    }
}

/// What applying a command did.
public enum KVApplyResult: Equatable, Sendable {
    /// The operation ran now or earlier (a duplicate answers what the first copy did): whether it
    /// succeeded (a cas against another value fails).
    case done(Bool)
    /// A session was opened; its id (the entry's index).
    case opened(UInt64)
    /// The session is unknown (never opened, expired or evicted): nothing happened.
    case noSession
    /// The request is numbered below what its client acknowledged, so its outcome is forgotten:
    /// nothing happened now (it may have happened before).
    case forgotten
}
