import PrismTransport
import PrismSimulation
import Testing

/// The key-value commands that travel in Raft entries, and the state machine's snapshots.
@Suite("Key-value command and snapshot encoding")
struct KVCommandTests {
    static let awkwardText = ["", "\u{1E}", "\u{1F}", "a\u{1F}b\u{1E}c", "line\nbreak\n", "clé ünïcødé 🔑", "e\u{301}\u{301} 👩‍👩‍👧 日本", "\u{301}starts with a combining mark"]

    @Test("commands come back as they were encoded, whatever the text in them (separators and newlines too)")
    func roundTrip() {
        var commands = [
            KVCommand(request: 1, kind: .put, key: "k1", value: "v", expected: nil),
            KVCommand(request: 2, kind: .get, key: "k", value: nil, expected: nil),
            KVCommand(request: UInt64.max, kind: .cas, key: "", value: "", expected: "old"),
            KVCommand(request: 9, kind: .cas, key: "k", value: nil, expected: nil),
        ]
        for (i, text) in Self.awkwardText.enumerated() {
            commands.append(KVCommand(request: UInt64(100 + i), kind: .cas, key: text, value: text, expected: text))
        }
        for command in commands {
            #expect(KVCommand(command.encoded()) == command, "\(command)")
        }
    }

    @Test("bytes that are not a command decode to nothing")
    func malformed() {
        let good = KVCommand(request: 7, kind: .put, key: "k", value: "v", expected: nil).encoded()
        #expect(KVCommand(good) != nil)
        #expect(KVCommand([]) == nil)
        #expect(KVCommand(Array("1\u{1F}put\u{1F}k\u{1F}v\u{1F}\u{1E}".utf8)) == nil, "the old text form")
        for cut in 1..<good.count { #expect(KVCommand(Array(good.prefix(cut))) == nil, "truncated to \(cut) bytes") }
        #expect(KVCommand(good + [0]) == nil, "trailing byte")
        var badKind = good
        badKind[2] = 9
        #expect(KVCommand(badKind) == nil, "unknown kind")
        var badVersion = good
        badVersion[0] = 2
        #expect(KVCommand(badVersion) == nil, "another format version")
    }

    @Test("a snapshot restores the same values and outcomes (a re-applied request answers as before), whatever the text")
    func snapshotRoundTrip() throws {
        var machine = KVStateMachine()
        for (i, text) in Self.awkwardText.enumerated() {
            _ = machine.apply(KVCommand(request: UInt64(i + 1), kind: .put, key: text, value: text + "!", expected: nil))
        }
        let failed = machine.apply(KVCommand(request: 50, kind: .cas, key: "\u{1F}", value: "x", expected: "wrong"))
        #expect(failed == false)
        let bytes = machine.snapshot()
        var restored = try #require(KVStateMachine(snapshot: bytes))
        #expect(restored.values == machine.values)
        #expect(restored.counts.values == Self.awkwardText.count)
        #expect(restored.counts.outcomes == Self.awkwardText.count + 1)
        #expect(restored.snapshot() == bytes, "the same state gives the same bytes")
        // Request 50 failed before the snapshot: applied again (a retry), it fails again and changes nothing.
        let retried = restored.apply(KVCommand(request: 50, kind: .cas, key: "\u{1F}", value: "x", expected: "\u{1F}!"))
        #expect(retried == false)
        #expect(restored.values["\u{1F}"] == "\u{1F}!")
        #expect(KVStateMachine(snapshot: KVStateMachine().snapshot())?.values.isEmpty == true)
        let unordered = try #require(KVStateMachine(snapshot: machine.snapshot(ordered: false)))
        #expect(unordered.values == machine.values && unordered.snapshot() == bytes, "the maps' own order decodes to the same state")
    }

    @Test("bytes that are not a snapshot restore nothing")
    func malformedSnapshot() {
        var machine = KVStateMachine()
        _ = machine.apply(KVCommand(request: 1, kind: .put, key: "key", value: "value", expected: nil))
        let good = machine.snapshot()
        #expect(KVStateMachine(snapshot: []) == nil)
        for cut in 1..<good.count { #expect(KVStateMachine(snapshot: Array(good.prefix(cut))) == nil, "truncated to \(cut) bytes") }
        #expect(KVStateMachine(snapshot: good + [0]) == nil, "trailing byte")
        #expect(KVStateMachine(snapshot: [2] + good.dropFirst()) == nil, "another format version")
        #expect(KVStateMachine(snapshot: Array("v\u{1F}key\u{1F}value".utf8)) == nil, "the old text form")
    }

    @Test("a copy (what a snapshot encodes) keeps its state while the original goes on applying")
    func copyIsIndependent() throws {
        var machine = KVStateMachine()
        for i in 0..<2000 { _ = machine.apply(KVCommand(request: UInt64(i), kind: .put, key: "k\(i)", value: "v\(i)", expected: nil)) }
        let copy = machine
        let before = copy.snapshot()
        for i in 0..<2000 { _ = machine.apply(KVCommand(request: UInt64(10_000 + i), kind: .put, key: "k\(i)", value: "w\(i)", expected: nil)) }
        _ = machine.apply(KVCommand(request: 20_000, kind: .put, key: "k7", value: nil, expected: nil))
        #expect(copy.snapshot() == before)
        #expect(copy.value("k7") == "v7" && machine.value("k7") == nil && machine.value("k8") == "w8")
        #expect(copy.counts.values == 2000 && copy.counts.outcomes == 2000)
        #expect(machine.counts.values == 1999 && machine.counts.outcomes == 4001)
        let restored = try #require(KVStateMachine(snapshot: machine.snapshot(ordered: false)))
        #expect(restored.values == machine.values && restored.counts.values == 1999 && restored.counts.outcomes == 4001)
    }

    @Test("a snapshot naming a key or a request twice restores nothing")
    func duplicateEntriesInASnapshot() {
        var w = WireWriter(capacity: 64)
        w.byte(1)
        w.varint(2)
        for _ in 0..<2 { w.string("key"); w.string("value") }
        w.varint(0)
        #expect(KVStateMachine(snapshot: w.bytes) == nil)
        var o = WireWriter(capacity: 64)
        o.byte(1)
        o.varint(0)
        o.varint(2)
        for _ in 0..<2 { o.varint(7); o.flag(true) }
        #expect(KVStateMachine(snapshot: o.bytes) == nil)
    }
}
