import PrismTransport

/// The Raft RPC frame between two nodes: a version byte, a kind byte, then the kind's fields
/// (LEB128 varints, length-prefixed bytes). A connection opens with `hello` each way (the
/// versions each side speaks are checked before anything else), then carries `batch`es.
/// Decoding never traps: hostile bytes fail with a `RaftWireError`, and the connection that sent
/// them is closed and counted.
public enum RaftWire {
    public static let version: UInt8 = 1
    public static let minimumSupportedVersion: UInt8 = 1

    public enum Frame: Sendable, Equatable {
        /// Who is speaking, and the protocol versions it speaks.
        case hello(node: String, protocolVersion: UInt64, minimumSupported: UInt64)
        case batch(HostBatch)
    }

    enum Kind: UInt8 {
        case hello = 1, batch = 2
    }

    enum Tag: UInt8 {
        case preVote = 1, preVoteResponse, vote, voteResponse, append, appendResponse, heartbeat, heartbeatResponse
        case readIndex, readIndexResponse, snapshot, propose, timeoutNow, quiesce, snapshotAck
    }

    // MARK: Encoding

    public static func encode(_ frame: Frame) -> [UInt8] {
        var w = WireWriter()
        w.byte(version)
        switch frame {
        case .hello(let node, let protocolVersion, let minimumSupported):
            w.byte(Kind.hello.rawValue)
            w.string(node)
            w.varint(protocolVersion)
            w.varint(minimumSupported)
        case .batch(let batch):
            w.byte(Kind.batch.rawValue)
            w.varint(UInt64(batch.messages.count))
            for m in batch.messages {
                w.varint(m.group)
                write(m.message, into: &w)
            }
            w.varint(UInt64(batch.heartbeats.count))
            for h in batch.heartbeats {
                w.varint(h.group)
                w.varint(h.term)
                w.varint(h.commit)
            }
            w.varint(UInt64(batch.heartbeatResponses.count))
            for h in batch.heartbeatResponses {
                w.varint(h.group)
                w.varint(h.term)
            }
        }
        return w.bytes
    }

    static func write(_ message: RaftMessage, into w: inout WireWriter) {
        switch message {
        case .preVote(let term, let lastIndex, let lastTerm):
            w.byte(Tag.preVote.rawValue)
            w.varint(term); w.varint(lastIndex); w.varint(lastTerm)
        case .preVoteResponse(let term, let granted):
            w.byte(Tag.preVoteResponse.rawValue)
            w.varint(term); w.flag(granted)
        case .vote(let term, let lastIndex, let lastTerm, let transfer):
            w.byte(Tag.vote.rawValue)
            w.varint(term); w.varint(lastIndex); w.varint(lastTerm); w.flag(transfer)
        case .voteResponse(let term, let granted):
            w.byte(Tag.voteResponse.rawValue)
            w.varint(term); w.flag(granted)
        case .append(let term, let prevIndex, let prevTerm, let entries, let commit):
            w.byte(Tag.append.rawValue)
            w.varint(term); w.varint(prevIndex); w.varint(prevTerm); w.varint(commit)
            w.varint(UInt64(entries.count))
            for e in entries {
                w.varint(e.term); w.varint(e.index); w.byte(e.kind.rawValue)
                w.lengthPrefixed(e.data)
            }
        case .appendResponse(let term, let index, let rejected):
            w.byte(Tag.appendResponse.rawValue)
            w.varint(term); w.varint(index); w.flag(rejected)
        case .heartbeat(let term, let commit, let context):
            w.byte(Tag.heartbeat.rawValue)
            w.varint(term); w.varint(commit); w.varint(context)
        case .heartbeatResponse(let term, let context):
            w.byte(Tag.heartbeatResponse.rawValue)
            w.varint(term); w.varint(context)
        case .readIndex(let term, let context):
            w.byte(Tag.readIndex.rawValue)
            w.varint(term); w.varint(context)
        case .readIndexResponse(let term, let context, let index):
            w.byte(Tag.readIndexResponse.rawValue)
            w.varint(term); w.varint(context); w.varint(index)
        case .snapshot(let term, let snapshot, let offset, let done):
            w.byte(Tag.snapshot.rawValue)
            w.varint(term); w.varint(snapshot.index); w.varint(snapshot.term); w.varint(offset); w.flag(done)
            if let membership = snapshot.membership {
                w.flag(true)
                w.lengthPrefixed(membership.encoded())
            } else {
                w.flag(false)
            }
            w.lengthPrefixed(snapshot.data)
        case .snapshotAck(let term, let index, let received):
            w.byte(Tag.snapshotAck.rawValue)
            w.varint(term); w.varint(index); w.varint(received)
        case .propose(let term, let entries):
            w.byte(Tag.propose.rawValue)
            w.varint(term)
            w.varint(UInt64(entries.count))
            for e in entries { w.lengthPrefixed(e) }
        case .timeoutNow(let term):
            w.byte(Tag.timeoutNow.rawValue)
            w.varint(term)
        case .quiesce(let term, let commit):
            w.byte(Tag.quiesce.rawValue)
            w.varint(term); w.varint(commit)
        }
    }

    // MARK: Decoding

    public static func decode(_ bytes: [UInt8]) throws(RaftWireError) -> Frame {
        var r = WireReader<RaftWireError>(bytes)
        let v = try r.byte()
        guard v >= minimumSupportedVersion && v <= version else { throw .unsupportedVersion(v) }
        let kindByte = try r.byte()
        guard let kind = Kind(rawValue: kindByte) else { throw .unknownKind(kindByte) }
        let frame: Frame
        switch kind {
        case .hello:
            frame = .hello(node: try r.string(maxLength: 255), protocolVersion: try r.varint(), minimumSupported: try r.varint())
        case .batch:
            var batch = HostBatch()
            // Each element takes at least two bytes: counts cannot claim more than the frame holds.
            for _ in 0..<(try r.count(minimumSize: 2)) {
                let group = try r.varint()
                batch.messages.append(GroupMessage(group: group, message: try readMessage(&r)))
            }
            for _ in 0..<(try r.count(minimumSize: 3)) {
                batch.heartbeats.append(CoalescedHeartbeat(group: try r.varint(), term: try r.varint(), commit: try r.varint()))
            }
            for _ in 0..<(try r.count(minimumSize: 2)) {
                batch.heartbeatResponses.append(CoalescedHeartbeat(group: try r.varint(), term: try r.varint(), commit: 0))
            }
            frame = .batch(batch)
        }
        guard r.isAtEnd else { throw .malformed("\(r.remaining) bytes after the frame") }
        return frame
    }

    static func readMessage(_ r: inout WireReader<RaftWireError>) throws(RaftWireError) -> RaftMessage {
        let tagByte = try r.byte()
        guard let tag = Tag(rawValue: tagByte) else { throw .unknownKind(tagByte) }
        switch tag {
        case .preVote:
            return .preVote(term: try r.varint(), lastIndex: try r.varint(), lastTerm: try r.varint())
        case .preVoteResponse:
            return .preVoteResponse(term: try r.varint(), granted: try r.flag())
        case .vote:
            return .vote(term: try r.varint(), lastIndex: try r.varint(), lastTerm: try r.varint(), transfer: try r.flag())
        case .voteResponse:
            return .voteResponse(term: try r.varint(), granted: try r.flag())
        case .append:
            let term = try r.varint(), prevIndex = try r.varint(), prevTerm = try r.varint(), commit = try r.varint()
            var entries: [LogEntry] = []
            for _ in 0..<(try r.count(minimumSize: 4)) {
                let t = try r.varint(), index = try r.varint()
                let kindByte = try r.byte()
                guard let kind = LogEntry.Kind(rawValue: kindByte) else { throw .malformed("entry kind \(kindByte)") }
                entries.append(LogEntry(term: t, index: index, data: try r.lengthPrefixed(), kind: kind))
            }
            return .append(term: term, prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: commit)
        case .appendResponse:
            return .appendResponse(term: try r.varint(), index: try r.varint(), rejected: try r.flag())
        case .heartbeat:
            return .heartbeat(term: try r.varint(), commit: try r.varint(), context: try r.varint())
        case .heartbeatResponse:
            return .heartbeatResponse(term: try r.varint(), context: try r.varint())
        case .readIndex:
            return .readIndex(term: try r.varint(), context: try r.varint())
        case .readIndexResponse:
            return .readIndexResponse(term: try r.varint(), context: try r.varint(), index: try r.varint())
        case .snapshot:
            let term = try r.varint(), index = try r.varint(), snapTerm = try r.varint(), offset = try r.varint(), done = try r.flag()
            var membership: Membership?
            if try r.flag() {
                guard let m = Membership(encoded: try r.lengthPrefixed()) else { throw .malformed("snapshot membership") }
                membership = m
            }
            return .snapshot(term: term, snapshot: RaftSnapshot(index: index, term: snapTerm, data: try r.lengthPrefixed(), membership: membership),
                             offset: offset, done: done)
        case .snapshotAck:
            return .snapshotAck(term: try r.varint(), index: try r.varint(), received: try r.varint())
        case .propose:
            let term = try r.varint()
            var entries: [[UInt8]] = []
            for _ in 0..<(try r.count(minimumSize: 1)) { entries.append(try r.lengthPrefixed()) }
            return .propose(term: term, entries: entries)
        case .timeoutNow:
            return .timeoutNow(term: try r.varint())
        case .quiesce:
            return .quiesce(term: try r.varint(), commit: try r.varint())
        }
    }

}

/// Why a Raft frame was refused; the connection is closed and counted under `reason`.
public enum RaftWireError: WireDecodingFailure, Equatable, Sendable, CustomStringConvertible {
    case truncated
    case malformed(String)
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)

    public var reason: String {
        switch self {
        case .truncated: "truncated"
        case .malformed, .unknownKind: "malformed"
        case .unsupportedVersion: "version"
        }
    }

    public var description: String {
        switch self {
        case .truncated: "truncated frame"
        case .malformed(let why): "malformed frame: \(why)"
        case .unsupportedVersion(let v): "protocol version \(v) is outside \(RaftWire.minimumSupportedVersion)...\(RaftWire.version)"
        case .unknownKind(let k): "unknown frame or message kind \(k)"
        }
    }
}
