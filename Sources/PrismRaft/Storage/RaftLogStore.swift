import PrismStorage

/// Raft logs and hard states of many groups in one LMDB environment: entries keyed by
/// (group, index) big-endian, so a group's log is one ordered range (value: term, kind, data);
/// hard state and snapshot (index, term, membership, data) keyed by group.
/// Writes go into a caller's transaction, so the host persists the readies of every group that
/// has one in a single transaction and one sync (the group-commit writer's batch).
public struct RaftLogStore: Sendable {
    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case corruptEntry(group: UInt64, bytes: Int)
        case corruptHardState(group: UInt64, bytes: Int)
        case corruptSnapshot(group: UInt64, bytes: Int)

        public var description: String {
            switch self {
            case .corruptEntry(let group, let bytes): "raft log of group \(group): an entry of \(bytes) bytes cannot be decoded"
            case .corruptHardState(let group, let bytes): "raft hard state of group \(group): \(bytes) bytes cannot be decoded"
            case .corruptSnapshot(let group, let bytes): "raft snapshot of group \(group): \(bytes) bytes cannot be decoded"
            }
        }
    }

    let entries: Table
    let states: Table
    let snapshots: Table
    /// The sequence of the last write-ahead log record this environment holds (`RaftWALStore`).
    let walProgress: Table

    /// What a group persisted, as `RaftCore.init` takes it.
    public struct Persisted: Sendable, Equatable {
        public var hardState: HardState
        public var snapshot: RaftSnapshot?
        public var entries: [LogEntry]
    }

    public init(environment: LMDBEnvironment) throws {
        entries = try environment.table("raft_entries")
        states = try environment.table("raft_state")
        snapshots = try environment.table("raft_snapshot")
        walProgress = try environment.table("raft_wal")
    }

    /// The last write-ahead log record saved here (0: none).
    public func walSequence(in txn: ReadTransaction) throws -> UInt64 {
        guard let bytes = try txn.get(walProgress, Self.walSequenceKey), bytes.count == 8 else { return 0 }
        return Self.readBigEndian(bytes, at: 0)
    }

    public func setWALSequence(_ sequence: UInt64, in txn: WriteTransaction) throws {
        try txn.put(walProgress, Self.walSequenceKey, Self.bigEndian(sequence))
    }

    static let walSequenceKey: [UInt8] = Array("applied".utf8)

    /// Persists a snapshot of the group's state machine (taken by this node, or received from
    /// the leader) and drops the entries it covers; entries after it stay only if they continue it.
    /// A snapshot older than the one stored changes nothing (one taken here may reach the
    /// store after a newer one received from the leader). Returns the entries dropped.
    ///
    /// `dropLimit`: drop at most this many of the entries it covers now, the rest later through
    /// `dropCovered` (a snapshot covers a hundred thousand entries by default, and dropping them
    /// all in one transaction stalls the writer for the others). Entries the snapshot covers that
    /// are still stored are harmless: loading skips them. A snapshot that does not continue the
    /// log drops all of it at once.
    @discardableResult
    public func saveSnapshot(group: UInt64, _ snapshot: RaftSnapshot, dropLimit: Int = .max, in txn: WriteTransaction) throws -> Int {
        if let stored = try txn.get(snapshots, Self.bigEndian(group)), stored.count >= 8, Self.readBigEndian(stored, at: 0) >= snapshot.index {
            return 0
        }
        let continues = try txn.get(entries, Self.key(group, snapshot.index)).map { $0.count >= 9 && Self.readBigEndian($0, at: 0) == snapshot.term } ?? false
        // One cursor over the covered range.
        let dropped = try txn.deletePrefix(entries, Self.bigEndian(group), through: continues ? Self.key(group, snapshot.index) : nil,
                                           limit: continues ? dropLimit : .max)
        let membership = snapshot.membership?.encoded()
        let length = membership.map { UInt32($0.count) } ?? UInt32.max
        let lengthBytes = (0..<4).map { UInt8(truncatingIfNeeded: length >> (24 - 8 * UInt32($0))) }
        try txn.put(snapshots, Self.bigEndian(group),
                    Self.bigEndian(snapshot.index) + Self.bigEndian(snapshot.term) + lengthBytes + (membership ?? []) + snapshot.data)
        return dropped
    }

    /// Drops up to `limit` stored entries of `group` at or below `index` (what its snapshot
    /// covers); returns how many (fewer than `limit`: none is left).
    public func dropCovered(group: UInt64, through index: UInt64, limit: Int, in txn: WriteTransaction) throws -> Int {
        try txn.deletePrefix(entries, Self.bigEndian(group), through: Self.key(group, index), limit: limit)
    }

    /// Persists what a ready asks (hard state, entries replacing any conflicting suffix).
    public func save(group: UInt64, _ ready: RaftReady, in txn: WriteTransaction) throws {
        if let snapshot = ready.snapshot { try saveSnapshot(group: group, snapshot, in: txn) }
        if let hs = ready.hardState { try txn.put(states, Self.bigEndian(group), Self.encode(hs)) }
        guard let first = ready.entries.first else { return }
        // A suffix from `first.index` on was replaced by the leader: drop what is stored there.
        var stale: [[UInt8]] = []
        try txn.scan(entries, prefix: Self.bigEndian(group), from: Self.key(group, first.index)) { key, _ in
            stale.append(Array(key))
            return true
        }
        for key in stale { _ = try txn.delete(entries, key) }
        for entry in ready.entries {
            var value = Self.bigEndian(entry.term)
            value.append(entry.kind.rawValue)
            value.append(contentsOf: entry.data)
            try txn.put(entries, Self.key(group, entry.index), value)
        }
    }

    /// The group's hard state, snapshot and log.
    public func loadAll(group: UInt64, in txn: ReadTransaction) throws -> Persisted {
        let (hardState, log) = try load(group: group, in: txn)
        var snapshot: RaftSnapshot?
        if let bytes = try txn.get(snapshots, Self.bigEndian(group)) {
            guard let decoded = Self.decodeSnapshot(bytes) else { throw DecodeError.corruptSnapshot(group: group, bytes: bytes.count) }
            snapshot = decoded
        }
        // Entries the snapshot covers may still be stored (`dropCovered` removes them bit by bit).
        return Persisted(hardState: hardState, snapshot: snapshot, entries: snapshot.map { s in log.filter { $0.index > s.index } } ?? log)
    }

    /// The group's hard state and log entries.
    public func load(group: UInt64, in txn: ReadTransaction) throws -> (HardState, [LogEntry]) {
        var hardState = HardState()
        if let bytes = try txn.get(states, Self.bigEndian(group)) {
            guard let hs = Self.decodeHardState(bytes) else { throw DecodeError.corruptHardState(group: group, bytes: bytes.count) }
            hardState = hs
        }
        var log: [LogEntry] = []
        var failure: DecodeError?
        try txn.scan(entries, prefix: Self.bigEndian(group)) { key, value in
            guard key.count == 16, value.count >= 9, let kind = LogEntry.Kind(rawValue: value[value.startIndex + 8]) else {
                failure = .corruptEntry(group: group, bytes: value.count)
                return false
            }
            let index = Self.readBigEndian(key, at: 8)
            log.append(LogEntry(term: Self.readBigEndian(value, at: 0), index: index, data: Array(value[(value.startIndex + 9)...]), kind: kind))
            return true
        }
        if let failure { throw failure }
        return (hardState, log)
    }

    /// Forgets a group (it was removed from this node).
    public func remove(group: UInt64, in txn: WriteTransaction) throws {
        _ = try txn.deletePrefix(entries, Self.bigEndian(group))
        _ = try txn.delete(states, Self.bigEndian(group))
        _ = try txn.delete(snapshots, Self.bigEndian(group))
    }

    // MARK: Encoding

    static func key(_ group: UInt64, _ index: UInt64) -> [UInt8] { bigEndian(group) + bigEndian(index) }

    static func bigEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) } }

    static func readBigEndian<C: Collection>(_ bytes: C, at offset: Int) -> UInt64 where C.Element == UInt8, C.Index == Int {
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[bytes.startIndex + offset + i]) }
        return v
    }

    /// term (8), commit (8), vote length (1) and vote (UTF-8).
    static func encode(_ hs: HardState) -> [UInt8] {
        let vote = Array((hs.vote ?? "").utf8.prefix(255))
        return bigEndian(hs.term) + bigEndian(hs.commit) + [hs.vote == nil ? 0xFF : UInt8(vote.count)] + vote
    }

    static func decodeSnapshot(_ bytes: [UInt8]) -> RaftSnapshot? {
        guard bytes.count >= 20 else { return nil }
        let length = bytes[16..<20].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        var membership: Membership?
        var dataStart = 20
        if length != UInt32.max {
            guard 20 + Int(length) <= bytes.count, let m = Membership(encoded: bytes[20..<(20 + Int(length))]) else { return nil }
            membership = m
            dataStart = 20 + Int(length)
        }
        return RaftSnapshot(index: readBigEndian(bytes, at: 0), term: readBigEndian(bytes, at: 8), data: Array(bytes[dataStart...]),
                            membership: membership)
    }

    static func decodeHardState(_ bytes: [UInt8]) -> HardState? {
        guard bytes.count >= 17 else { return nil }
        let term = readBigEndian(bytes, at: 0), commit = readBigEndian(bytes, at: 8)
        if bytes[16] == 0xFF { return bytes.count == 17 ? HardState(term: term, vote: nil, commit: commit) : nil }
        let length = Int(bytes[16])
        guard bytes.count == 17 + length else { return nil }
        return HardState(term: term, vote: String(decoding: bytes[17...], as: UTF8.self), commit: commit)
    }
}
