@testable import PrismGossip
import PrismStorage
import PrismTransport
import Testing

/// The wire format: round trips, datagram packing, and hostile bytes (never a crash, always a
/// `GossipWireError`).
@Suite("Gossip wire format")
struct GossipCodecTests {
    static let seeds: [UInt64] = Array(1...8)

    struct Generator {
        var random: SplitMix64

        mutating func int(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }

        mutating func string(max: Int = 12) -> String {
            let alphabet = Array("abcXYZ019-_.:é雪🙂 \"\\")
            return String((0..<int(max + 1)).map { _ in alphabet[int(alphabet.count)] })
        }

        mutating func endpoint() -> GossipEndpoint {
            GossipEndpoint(host: int(2) == 0 ? "10.0.\(int(256)).\(int(256))" : "fe80::\(int(9999))", port: int(65_536))
        }

        mutating func map() -> [String: String] {
            var m: [String: String] = [:]
            for _ in 0..<int(4) { m[string()] = string() }
            return m
        }

        mutating func metadata() -> MemberMetadata {
            MemberMetadata(zone: string(), rack: string(), region: string(), attributes: map(), httpAddress: string(),
                           rpcAddress: string(), protocolVersion: UInt8(int(256)), buildVersion: string(), state: map())
        }

        mutating func incarnation() -> UInt64 { int(3) == 0 ? UInt64.max - UInt64(int(3)) : UInt64(int(1000)) }

        mutating func message() -> GossipMessage {
            let seq = UInt32(truncatingIfNeeded: random.next())
            switch int(7) {
            case 0: return .ping(sequence: seq, target: string(), source: string(), sourceEndpoint: endpoint())
            case 1: return .pingRequest(sequence: seq, target: string(), targetEndpoint: endpoint(), source: string(), sourceEndpoint: endpoint())
            case 2: return .ack(sequence: seq, source: string())
            case 3: return .nack(sequence: seq, source: string())
            case 4: return .update(.alive(id: string(), incarnation: incarnation(), endpoint: endpoint(), metadata: metadata()))
            case 5: return .update(.suspect(id: string(), incarnation: incarnation(), from: string()))
            default: return .update(.dead(id: string(), incarnation: incarnation(), from: string()))
            }
        }

        mutating func member() -> Member {
            Member(id: string(), endpoint: endpoint(), metadata: metadata(), status: MemberStatus.allCases[int(4)],
                   incarnation: incarnation(), since: Moment(nanoseconds: 42))
        }
    }

    @Test(arguments: seeds)
    func messagesRoundTrip(seed: UInt64) throws {
        var g = Generator(random: SplitMix64(seed: seed))
        for _ in 0..<200 {
            let messages = (0..<g.int(6)).map { _ in g.message() }
            let decoded = try GossipCodec.decodeBody(GossipCodec.encodeBody(messages))
            #expect(decoded == messages, "seed \(seed)")
        }
    }

    @Test(arguments: seeds)
    func pushPullStatesRoundTrip(seed: UInt64) throws {
        var g = Generator(random: SplitMix64(seed: seed))
        let state = PushPullState(sender: g.string(), join: g.int(2) == 0, members: (0..<g.int(50)).map { _ in g.member() })
        let decoded = try GossipCodec.decodePushPull(GossipCodec.encode(state), receivedAt: Moment(nanoseconds: 42))
        #expect(decoded == state, "seed \(seed)")
    }

    @Test(arguments: seeds)
    func packedDatagramsFitTheBudgetAndKeepOrder(seed: UInt64) throws {
        var g = Generator(random: SplitMix64(seed: seed))
        let format = GossipPacketFormat()
        let messages = (0..<300).map { _ in g.message() }
        let (bodies, oversized) = GossipCodec.packBodies(messages, budget: format.datagramBodyBudget)
        #expect(oversized == 0)
        #expect(bodies.count > 1, "300 messages need several datagrams")
        for body in bodies { #expect(format.wrap(body).count <= GossipPacketFormat.maxDatagramSize, "seed \(seed)") }
        let unpacked = try bodies.flatMap { try GossipCodec.decodeBody($0) }
        #expect(unpacked == messages, "seed \(seed): packing lost or reordered messages")
    }

    @Test func aMessageTooLargeForADatagramIsLeftOutAndCounted() throws {
        let huge = MemberMetadata(attributes: ["blob": String(repeating: "x", count: 2000)])
        let messages: [GossipMessage] = [.ack(sequence: 1, source: "a"),
                                         .update(.alive(id: "b", incarnation: 1, endpoint: GossipEndpoint(host: "h", port: 1), metadata: huge)),
                                         .nack(sequence: 2, source: "a")]
        let (bodies, oversized) = GossipCodec.packBodies(messages, budget: 1000)
        #expect(oversized == 1)
        #expect(try bodies.flatMap { try GossipCodec.decodeBody($0) } == [messages[0], messages[2]])
    }

    @Test(arguments: seeds)
    func randomBytesNeverCrashTheDecoder(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var refused = 0
        for _ in 0..<20_000 {
            let bytes = (0..<Int(random.next() % 200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            do {
                _ = try GossipCodec.decodeBody(bytes)
            } catch {
                refused += 1
            }
            _ = try? GossipCodec.decodePushPull(bytes, receivedAt: .zero)
            _ = try? GossipPacketFormat().unwrap(bytes)
        }
        #expect(refused > 19_000, "seed \(seed): random bytes are almost never a valid body")
    }

    @Test(arguments: seeds)
    func everyTruncationAndMostBitFlipsOfAValidPacketAreRefused(seed: UInt64) {
        var g = Generator(random: SplitMix64(seed: seed))
        var random = SplitMix64(seed: seed ^ 0xABCD)
        for _ in 0..<50 {
            let messages = (0..<1 + g.int(4)).map { _ in g.message() }
            let body = GossipCodec.encodeBody(messages)
            for cut in 0..<body.count {
                #expect(throws: GossipWireError.self, "seed \(seed): a body cut at \(cut) of \(body.count) bytes was accepted") {
                    try GossipCodec.decodeBody(Array(body.prefix(cut)))
                }
            }
            // A flipped bit may still decode (it can land inside a string), but must never trap.
            for _ in 0..<100 {
                var mutated = body
                mutated[Int(random.next() % UInt64(body.count))] ^= UInt8(1) << UInt8(random.next() % 8)
                _ = try? GossipCodec.decodeBody(mutated)
            }
        }
    }

    @Test func hostileCountsAndLengthsAreRefusedWithoutAllocating() {
        // A count of 2^63 messages, a string claiming 2^40 bytes, a varint that never ends.
        let cases: [[UInt8]] = [
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
            [0x01, 0x03, 0x05, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20],
            [0x01] + [UInt8](repeating: 0x80, count: 20),
            [0x01, 0x09],
        ]
        for bytes in cases {
            #expect(throws: GossipWireError.self) { try GossipCodec.decodeBody(bytes) }
        }
    }

    @Test func packetsCarryTheVersionAndOtherVersionsAreRefused() throws {
        let format = GossipPacketFormat()
        let packet = format.wrap(GossipCodec.encodeBody([.ack(sequence: 7, source: "a")]))
        #expect(packet[0] == GossipProtocol.version)
        #expect(try GossipCodec.decodeBody(format.unwrap(packet)) == [.ack(sequence: 7, source: "a")])
        for version: UInt8 in [0, GossipProtocol.version + 1, 255] {
            var other = packet
            other[0] = version
            #expect(throws: GossipWireError.unsupportedVersion(version)) { try format.unwrap(other) }
        }
        var flagged = packet
        flagged[1] = 0x80
        #expect(throws: GossipWireError.self) { try format.unwrap(flagged) }
    }
}
