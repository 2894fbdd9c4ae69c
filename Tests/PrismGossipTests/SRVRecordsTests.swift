import PrismGossip
import PrismStorage
import Testing

/// The SRV answer parser on hand-built DNS responses and on damaged or random bytes.
@Suite("SRV records")
struct SRVRecordsTests {
    static func name(_ labels: [String]) -> [UInt8] {
        labels.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }

    /// A response to `_gossip._udp.mesh` with two SRV answers (the second one's owner and target
    /// compressed against the question), an A answer in between, and a "." target.
    static let response: [UInt8] = {
        var m: [UInt8] = u16(0x1234) + u16(0x8180) + u16(1) + u16(4) + u16(0) + u16(0)
        let questionName = 12
        m += name(["_gossip", "_udp", "mesh"]) + u16(33) + u16(1)
        func answer(type: UInt16, rdata: [UInt8]) -> [UInt8] {
            [0xC0, UInt8(questionName)] + u16(type) + u16(1) + [0, 0, 0, 30] + u16(UInt16(rdata.count)) + rdata
        }
        m += answer(type: 33, rdata: u16(10) + u16(5) + u16(7946) + name(["node-a", "mesh"]))
        m += answer(type: 1, rdata: [10, 0, 0, 1])
        // Target "node-b" followed by a pointer to "mesh" inside the question name (offset 12 + 8 + 5).
        m += answer(type: 33, rdata: u16(20) + u16(0) + u16(7947) + [6] + Array("node-b".utf8) + [0xC0, UInt8(questionName + 8 + 5)])
        m += answer(type: 33, rdata: u16(0) + u16(0) + u16(0) + [0])
        return m
    }()

    @Test func readsEverySRVAnswerFollowingCompression() throws {
        let records = try SRVRecords.parse(Self.response)
        #expect(records == [
            SRVRecord(priority: 10, weight: 5, port: 7946, target: "node-a.mesh"),
            SRVRecord(priority: 20, weight: 0, port: 7947, target: "node-b.mesh"),
        ])
    }

    @Test func everyTruncationIsAnErrorNotACrash() {
        for cut in 0..<Self.response.count {
            #expect(throws: SRVRecords.Malformed.self, "cut at \(cut)") { try SRVRecords.parse(Array(Self.response.prefix(cut))) }
        }
    }

    @Test func pointerLoopsAndQueriesAreRefused() {
        var loop = Self.u16(1) + Self.u16(0x8180) + Self.u16(1) + Self.u16(0) + Self.u16(0) + Self.u16(0)
        loop += [0xC0, 12]  // the question name points at itself
        #expect(throws: SRVRecords.Malformed(reason: "compression pointer loop")) { try SRVRecords.parse(loop) }
        var query = Self.response
        query[2] = 0x01  // QR bit clear: a query, not a response
        #expect(throws: SRVRecords.Malformed(reason: "not a response")) { try SRVRecords.parse(query) }
    }

    @Test(arguments: 1...4) func randomBytesNeverCrash(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for _ in 0..<5_000 {
            var bytes = Self.response
            // Flip a few bytes of a valid response, or take pure noise.
            if random.next() % 4 == 0 {
                bytes = (0..<Int(random.next() % 300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            } else {
                for _ in 0..<(1 + random.next() % 4) { bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next()) }
            }
            _ = try? SRVRecords.parse(bytes)
        }
    }
}
