import PrismSimulation
import Testing

/// The key-value commands that travel in Raft entries.
@Suite("Key-value command encoding")
struct KVCommandTests {
    @Test("commands come back as they were encoded, whatever the text in them")
    func roundTrip() {
        let commands = [
            KVCommand(request: 1, kind: .put, key: "k1", value: "v", expected: nil),
            KVCommand(request: 2, kind: .get, key: "k", value: nil, expected: nil),
            KVCommand(request: UInt64.max, kind: .cas, key: "", value: "", expected: "old"),
            KVCommand(request: 7, kind: .put, key: "clé ünïcødé 🔑", value: "e\u{301}\u{301} 👩‍👩‍👧 日本", expected: nil),
            KVCommand(request: 8, kind: .cas, key: "\u{301}starts with a combining mark", value: "\u{1E}x", expected: "\u{200D}"),
        ]
        for command in commands {
            #expect(KVCommand(command.encoded()) == command, "\(command)")
        }
    }

    @Test("bytes that are not a command decode to nothing")
    func malformed() {
        #expect(KVCommand([]) == nil)
        #expect(KVCommand(Array("1\u{1F}put\u{1F}k\u{1F}v".utf8)) == nil, "four fields")
        #expect(KVCommand(Array("x\u{1F}put\u{1F}k\u{1F}v\u{1F}\u{1E}".utf8)) == nil, "not a request id")
        #expect(KVCommand(Array("1\u{1F}delete\u{1F}k\u{1F}v\u{1F}\u{1E}".utf8)) == nil, "unknown kind")
        #expect(KVCommand(Array("1\u{1F}put\u{1F}k\u{1F}v\u{1F}\u{1E}\u{1F}".utf8)) == nil, "six fields")
    }
}
