import PrismRaft
import PrismStorage
import Testing

@Suite("Raft wire format")
struct RaftWireTests {
    static let members = Membership(voters: ["n1", "n2", "n3"], learners: ["n4"])

    /// One of every message, with the edge values a codec gets wrong.
    static let everyMessage: [RaftMessage] = [
        .preVote(term: 1, lastIndex: 0, lastTerm: 0),
        .preVoteResponse(term: .max, granted: true),
        .vote(term: 7, lastIndex: 1 << 40, lastTerm: 6, transfer: true),
        .voteResponse(term: 7, granted: false),
        .append(term: 3, prevIndex: 9, prevTerm: 2, entries: [
            LogEntry(term: 3, index: 10, data: []),
            LogEntry(term: 3, index: 11, data: Array(repeating: 0xAB, count: 300)),
            LogEntry(term: 3, index: 12, data: members.encoded(), kind: .membership),
        ], commit: 9),
        .append(term: 3, prevIndex: 12, prevTerm: 3, entries: [], commit: 12),
        .appendResponse(term: 3, index: 12, rejected: true),
        .heartbeat(term: 3, commit: 12, context: 99),
        .heartbeatResponse(term: 3, context: 99),
        .readIndex(term: 3, context: 5),
        .readIndexResponse(term: 3, context: 5, index: 12),
        .snapshot(term: 4, snapshot: RaftSnapshot(index: 40, term: 3, data: [1, 2, 3], membership: members), offset: 0, done: false),
        .snapshot(term: 4, snapshot: RaftSnapshot(index: 40, term: 3, data: []), offset: 1 << 40, done: true),
        .snapshotAck(term: 4, index: 40, received: 3),
        .propose(term: 4, entries: [[], [1], Array("put k v".utf8)]),
        .timeoutNow(term: 4),
        .quiesce(term: 4, commit: 40),
    ]

    static var batch: HostBatch {
        HostBatch(messages: everyMessage.enumerated().map { GroupMessage(group: UInt64($0.offset) * 1_000_003, message: $0.element) },
                  heartbeats: [CoalescedHeartbeat(group: 1, term: 2, commit: 3), CoalescedHeartbeat(group: .max, term: 9, commit: 0)],
                  heartbeatResponses: [CoalescedHeartbeat(group: 5, term: 2, commit: 0)])
    }

    @Test("every message, and a hello, survive encoding and decoding")
    func roundTrip() throws {
        #expect(try RaftWire.decode(RaftWire.encode(.batch(Self.batch))) == .batch(Self.batch))
        let hello = RaftWire.Frame.hello(node: "node-é", protocolVersion: 1, minimumSupported: 1)
        #expect(try RaftWire.decode(RaftWire.encode(hello)) == hello)
        #expect(try RaftWire.decode(RaftWire.encode(.batch(HostBatch()))) == .batch(HostBatch()))
    }

    @Test("every truncation of a frame is refused, none traps")
    func truncations() {
        let bytes = RaftWire.encode(.batch(Self.batch))
        for n in 0..<bytes.count {
            #expect(throws: RaftWireError.self) { try RaftWire.decode(Array(bytes.prefix(n))) }
        }
    }

    @Test("wrong versions, kinds, flags and trailing bytes are named")
    func refusals() {
        var bytes = RaftWire.encode(.batch(HostBatch(messages: [GroupMessage(group: 1, message: .voteResponse(term: 1, granted: true))])))
        #expect(throws: RaftWireError.unsupportedVersion(9)) { try RaftWire.decode([9] + bytes.dropFirst()) }
        #expect(throws: RaftWireError.unknownKind(7)) { try RaftWire.decode([RaftWire.version, 7]) }
        #expect(throws: RaftWireError.malformed("2 bytes after the frame")) { try RaftWire.decode(bytes + [0, 0]) }
        bytes[bytes.count - 3] = 2  // the granted flag, before the two empty heartbeat lists
        #expect(throws: RaftWireError.malformed("flag byte 2")) { try RaftWire.decode(bytes) }
        #expect(RaftWireError.unsupportedVersion(9).reason == "version")
    }

    @Test("random and mutated bytes never trap", arguments: 1...4)
    func garbage(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let valid = RaftWire.encode(.batch(Self.batch))
        var decoded = 0
        for _ in 0..<3000 {
            var bytes: [UInt8]
            if random.next() % 2 == 0 {
                bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if !bytes.isEmpty { bytes[0] = RaftWire.version }
            } else {
                bytes = valid
                for _ in 0..<(1 + random.next() % 3) { bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next()) }
            }
            if (try? RaftWire.decode(bytes)) != nil { decoded += 1 }
        }
        #expect(decoded < 3000, "garbage is mostly refused")
    }
}
