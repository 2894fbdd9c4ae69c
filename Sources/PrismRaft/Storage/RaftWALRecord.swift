import PrismTransport

/// What one drain of the host makes durable, for every group that had something to persist:
/// the payload of one write-ahead log record. Replaying the records in order through
/// `RaftLogStore.save` rebuilds exactly what saving the readies directly would have stored.
/// Varints and length-prefixed bytes (`WireWriter`); decoding never traps.
public struct RaftWALRecord: Sendable, Equatable {
    public struct GroupWrite: Sendable, Equatable {
        public var group: UInt64
        public var snapshot: RaftSnapshot?
        public var hardState: HardState?
        public var entries: [LogEntry]

        public init(group: UInt64, snapshot: RaftSnapshot? = nil, hardState: HardState?, entries: [LogEntry]) {
            self.group = group
            self.snapshot = snapshot
            self.hardState = hardState
            self.entries = entries
        }

        /// The part of a ready the log store persists.
        public init(group: UInt64, _ ready: RaftReady) {
            self.init(group: group, snapshot: ready.snapshot, hardState: ready.hardState, entries: ready.entries)
        }

        /// As a ready for `RaftLogStore.save` (nothing to send, apply or answer).
        public var ready: RaftReady {
            RaftReady(snapshot: snapshot, hardState: hardState, entries: entries, committed: [], messages: [], reads: [])
        }
    }

    public var writes: [GroupWrite]

    public init(writes: [GroupWrite]) { self.writes = writes }

    static let formatVersion: UInt8 = 1

    public func encoded() -> [UInt8] {
        var size = 16
        for w in writes {
            size += 48 + (w.snapshot?.data.count ?? 0)
            for e in w.entries { size += 24 + e.data.count }
        }
        var out = WireWriter(capacity: size)
        out.byte(Self.formatVersion)
        out.varint(UInt64(writes.count))
        for w in writes {
            out.varint(w.group)
            out.byte((w.snapshot == nil ? 0 : 1) | (w.hardState == nil ? 0 : 2))
            if let s = w.snapshot {
                out.varint(s.index)
                out.varint(s.term)
                out.flag(s.membership != nil)
                if let m = s.membership { out.lengthPrefixed(m.encoded()) }
                out.lengthPrefixed(s.data)
            }
            if let hs = w.hardState {
                out.varint(hs.term)
                out.varint(hs.commit)
                out.flag(hs.vote != nil)
                if let vote = hs.vote { out.string(vote) }
            }
            out.varint(UInt64(w.entries.count))
            for e in w.entries {
                out.varint(e.index)
                out.varint(e.term)
                out.byte(e.kind.rawValue)
                out.lengthPrefixed(e.data)
            }
        }
        return out.bytes
    }

    public init(decoding bytes: [UInt8]) throws(RaftWALError) {
        var r = WireReader<RaftWALError>(bytes)
        let version = try r.byte()
        guard version == Self.formatVersion else { throw .malformed("record format \(version), this build reads \(Self.formatVersion)") }
        var writes: [GroupWrite] = []
        for _ in 0..<(try r.count(minimumSize: 3)) {
            let group = try r.varint()
            let flags = try r.byte()
            guard flags & ~3 == 0 else { throw .malformed("group \(group): flags \(flags)") }
            var snapshot: RaftSnapshot?
            if flags & 1 != 0 {
                let index = try r.varint(), term = try r.varint()
                var membership: Membership?
                if try r.flag() {
                    guard let m = Membership(encoded: try r.lengthPrefixed()) else { throw .malformed("group \(group): snapshot membership") }
                    membership = m
                }
                snapshot = RaftSnapshot(index: index, term: term, data: try r.lengthPrefixed(), membership: membership)
            }
            var hardState: HardState?
            if flags & 2 != 0 {
                let term = try r.varint(), commit = try r.varint()
                let vote = try r.flag() ? try r.string(maxLength: 255) : nil
                hardState = HardState(term: term, vote: vote, commit: commit)
            }
            var entries: [LogEntry] = []
            for _ in 0..<(try r.count(minimumSize: 4)) {
                let index = try r.varint(), term = try r.varint()
                let kindByte = try r.byte()
                guard let kind = LogEntry.Kind(rawValue: kindByte) else { throw .malformed("group \(group): entry kind \(kindByte)") }
                entries.append(LogEntry(term: term, index: index, data: try r.lengthPrefixed(), kind: kind))
            }
            writes.append(GroupWrite(group: group, snapshot: snapshot, hardState: hardState, entries: entries))
        }
        guard r.isAtEnd else { throw .malformed("\(r.remaining) bytes after the last group") }
        self.writes = writes
    }
}
