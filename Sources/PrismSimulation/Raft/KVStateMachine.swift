import PrismTransport

/// The replicated state machine: a string map with put and compare-and-set, and the client
/// sessions that make each request take effect once (Raft dissertation §6.3).
///
/// A client opens a session (its id is the index of the entry that opened it) and numbers its
/// requests; the machine keeps each request's outcome until the client says it has its answer
/// (`acknowledged`), so a copy applied again (a duplicated forward, a retry through another
/// node) answers what the first did instead of acting twice. What it remembers is bounded: a
/// session expires when the log's clock (the proposers' clocks carried in the entries, the
/// same on every replica) has not seen it for `timeoutMillis`, the least recently active goes
/// when `maxSessions` are open, and a session holds at most `maxOutcomesPerSession` outcomes.
///
/// Keys live in `KeyValueBuckets` (small maps by hash, a bucket per eight keys or so) and
/// sessions in `sessionBucketCount` small maps, not in one map each. A snapshot takes a copy of
/// the machine while the node goes on applying; with one map, the first apply after that copied
/// every key (copy on write) on the node's event loop. With buckets only those written are
/// copied, so the copying is spread over the applies that follow and no single one waits for
/// all of it.
public struct KVStateMachine: Sendable {
    static let sessionBucketCount = 256
    public let limits: KVSessionLimits
    private var keyValues = KeyValueBuckets()
    private var sessionBuckets = [[UInt64: KVClientSession]](repeating: [:], count: KVStateMachine.sessionBucketCount)
    /// Kept as they change, so `counts` costs nothing (a node's state line reads it for every group).
    private var sessionCount = 0, outcomeCount = 0
    /// The latest proposer time applied, milliseconds (never goes back).
    public private(set) var clock: UInt64 = 0
    /// When (by `clock`) expired sessions are next looked for: every timeout/8, not on every
    /// entry, since the sweep visits every session.
    private var nextSweep: UInt64 = 0

    public init(limits: KVSessionLimits = KVSessionLimits()) {
        self.limits = limits
    }

    @inline(__always)
    private static func bucket(_ session: UInt64) -> Int {
        // Fibonacci hashing: session ids are log indices, often close together; their top bits spread.
        Int(truncatingIfNeeded: (session &* 0x9E37_79B9_7F4A_7C15) >> 56) & (sessionBucketCount - 1)
    }

    /// The value held for `key`.
    public func value(_ key: String) -> String? { keyValues.value(key) }

    /// Every key and value, as one map (built on each call: for checks and tests).
    public var values: [String: String] {
        var all: [String: String] = [:]
        all.reserveCapacity(keyValues.count)
        for bucket in keyValues.allBuckets { all.merge(bucket) { a, _ in a } }
        return all
    }

    /// Whether session `id` is open.
    public func hasSession(_ id: UInt64) -> Bool { sessionBuckets[Self.bucket(id)][id] != nil }

    /// Applies the command of entry `index`.
    public mutating func apply(_ command: KVCommand, index: UInt64) -> KVApplyResult {
        if command.time > clock { clock = command.time }
        if clock >= nextSweep {
            expireSessions()
            nextSweep = clock + max(1, limits.timeoutMillis / 8)
        }
        if command.action == .openSession {
            if sessionCount >= max(1, limits.maxSessions) { evictLeastRecentlyActive() }
            if sessionBuckets[Self.bucket(index)].updateValue(KVClientSession(lastActive: clock), forKey: index) == nil { sessionCount += 1 }
            return .opened(index)
        }
        let b = Self.bucket(command.session)
        // Taken out and put back, so the session's outcomes are changed in place (not copied).
        guard var session = sessionBuckets[b].removeValue(forKey: command.session) else { return .noSession }
        defer { sessionBuckets[b][command.session] = session }
        let held = session.outcomeCount
        defer { outcomeCount += session.outcomeCount - held }
        session.lastActive = clock
        session.raiseFloor(to: command.acknowledged)
        if command.sequence < session.floor { return .forgotten }
        if let earlier = session.outcome(command.sequence) { return .done(earlier) }
        let success = effect(command)
        session.record(command.sequence, success, limit: limits.maxOutcomesPerSession)
        return .done(success)
    }

    /// Keys held, sessions open and request outcomes remembered (what a snapshot's size grows with).
    public var counts: (values: Int, sessions: Int, outcomes: Int) { (keyValues.count, sessionCount, outcomeCount) }

    private mutating func expireSessions() {
        guard clock > limits.timeoutMillis else { return }
        let horizon = clock - limits.timeoutMillis
        // A bucket is copied (copy on write) only once something in it expires.
        for b in sessionBuckets.indices {
            for (id, session) in sessionBuckets[b] where session.lastActive < horizon {
                sessionBuckets[b][id] = nil
                sessionCount -= 1
                outcomeCount -= session.outcomeCount
            }
        }
    }

    /// Drops the session heard from longest ago (the lowest id among equals, so every replica
    /// drops the same one).
    private mutating func evictLeastRecentlyActive() {
        var victim: (id: UInt64, lastActive: UInt64)?
        for bucket in sessionBuckets {
            for (id, session) in bucket {
                if let v = victim, (v.lastActive, v.id) <= (session.lastActive, id) { continue }
                victim = (id, session.lastActive)
            }
        }
        guard let victim, let dropped = sessionBuckets[Self.bucket(victim.id)].removeValue(forKey: victim.id) else { return }
        sessionCount -= 1
        outcomeCount -= dropped.outcomeCount
    }

    static let snapshotVersion: UInt8 = 2

    /// The whole state as bytes: version, clock and next sweep, the values as length-prefixed
    /// key and value, then each session as id, last active, floor and its outcomes (sequence and
    /// flag). `ordered`: sorted by key and by id, so replicas that applied the same entries give
    /// the same bytes (what the simulation compares); otherwise in the maps' own order (cheaper,
    /// and decodes the same).
    public func snapshot(ordered: Bool = true) -> [UInt8] {
        let (keys, sessions, outcomes) = counts
        var size = 32 + sessions * 16 + outcomes * 4
        let valueBuckets = keyValues.allBuckets
        for bucket in valueBuckets {
            for (k, v) in bucket { size += k.utf8.count + v.utf8.count + 4 }
        }
        var w = WireWriter(capacity: size)
        w.byte(Self.snapshotVersion)
        w.varint(clock)
        w.varint(nextSweep)
        w.varint(UInt64(keys))
        Self.forEach(valueBuckets, ordered: ordered) { key, value in
            w.string(key)
            w.string(value)
        }
        w.varint(UInt64(sessions))
        Self.forEach(sessionBuckets, ordered: ordered) { id, session in
            w.varint(id)
            w.varint(session.lastActive)
            w.varint(session.floor)
            w.varint(UInt64(session.outcomeCount))
            for outcome in session.heldOutcomes {
                w.varint(outcome.sequence)
                w.flag(outcome.success)
            }
        }
        return w.bytes
    }

    /// Every entry of the buckets: sorted by key, or in the buckets' own order.
    private static func forEach<Key: Comparable, Value>(_ buckets: [[Key: Value]], ordered: Bool, _ body: (Key, Value) -> Void) {
        if ordered {
            for (key, value) in buckets.joined().sorted(by: { $0.key < $1.key }) { body(key, value) }
        } else {
            for bucket in buckets {
                for (key, value) in bucket { body(key, value) }
            }
        }
    }

    /// The state `snapshot()` wrote; nil for bytes it did not write (truncated, another version,
    /// a key or session twice, a session's outcomes out of order or below its floor).
    public init?(snapshot bytes: [UInt8], limits: KVSessionLimits = KVSessionLimits()) {
        self.limits = limits
        var r = WireReader<KVDecodingFailure>(bytes)
        do throws(KVDecodingFailure) {
            guard try r.byte() == Self.snapshotVersion else { return nil }
            clock = try r.varint()
            nextSweep = try r.varint()
            let keys = try r.count(minimumSize: 2)
            keyValues = KeyValueBuckets(capacity: keys)
            for _ in 0..<keys {
                let key = try r.string(maxLength: Int(UInt32.max))
                let value = try r.string(maxLength: Int(UInt32.max))
                guard keyValues.updateValue(value, forKey: key) == nil else { return nil }
            }
            let sessions = try r.count(minimumSize: 4)
            for _ in 0..<sessions {
                let id = try r.varint(), lastActive = try r.varint(), floor = try r.varint()
                let held = try r.count(minimumSize: 2)
                var outcomes: [(sequence: UInt64, success: Bool)] = []
                outcomes.reserveCapacity(held)
                for _ in 0..<held { outcomes.append((try r.varint(), try r.flag())) }
                guard let session = KVClientSession(lastActive: lastActive, floor: floor, outcomes: outcomes),
                      sessionBuckets[Self.bucket(id)].updateValue(session, forKey: id) == nil else { return nil }
                outcomeCount += held
            }
            sessionCount = sessions
            guard r.isAtEnd else { return nil }
        } catch {
            return nil
        }
    }

    static func optional(_ value: String?, into w: inout WireWriter) {
        w.flag(value != nil)
        if let value { w.string(value) }
    }

    static func optional(_ r: inout WireReader<KVDecodingFailure>) throws(KVDecodingFailure) -> String? {
        try r.flag() ? try r.string(maxLength: Int(UInt32.max)) : nil
    }

    private mutating func effect(_ command: KVCommand) -> Bool {
        switch command.action {
        case .put:
            put(command.key, command.value)
            return true
        case .cas:
            guard value(command.key) == command.expected else { return false }
            put(command.key, command.value)
            return true
        case .get, .openSession:
            return true
        }
    }

    private mutating func put(_ key: String, _ value: String?) {
        if let value {
            keyValues.updateValue(value, forKey: key)
        } else {
            keyValues.removeValue(forKey: key)
        }
    }
}
