import PrismTransport
import PrismSimulation
import Testing

/// The key-value commands that travel in Raft entries, the state machine's client sessions, and
/// its snapshots.
@Suite("Key-value commands, client sessions and snapshots")
struct KVCommandTests {
    static let awkwardText = ["", "\u{1E}", "\u{1F}", "a\u{1F}b\u{1E}c", "line\nbreak\n", "clé ünïcødé 🔑", "e\u{301}\u{301} 👩‍👩‍👧 日本", "\u{301}starts with a combining mark"]

    static func put(session: UInt64, _ sequence: UInt64, ack: UInt64 = 0, time: UInt64 = 0, key: String = "k", value: String?) -> KVCommand {
        KVCommand(session: session, sequence: sequence, acknowledged: ack, time: time, kind: .put, key: key, value: value, expected: nil)
    }

    static func cas(session: UInt64, _ sequence: UInt64, ack: UInt64 = 0, time: UInt64 = 0, key: String = "k", expected: String?,
                    value: String?) -> KVCommand {
        KVCommand(session: session, sequence: sequence, acknowledged: ack, time: time, kind: .cas, key: key, value: value, expected: expected)
    }

    /// A machine with one session open (by the entry at index 1); its id.
    static func machineWithSession(limits: KVSessionLimits = KVSessionLimits(), time: UInt64 = 0) -> (KVStateMachine, UInt64) {
        var machine = KVStateMachine(limits: limits)
        guard case .opened(let id) = machine.apply(.openSession(nonce: 1, time: time), index: 1) else { return (machine, 0) }
        return (machine, id)
    }

    @Test("commands come back as they were encoded, whatever the text in them (separators and newlines too)")
    func roundTrip() {
        var commands = [
            Self.put(session: 1, 1, ack: 1, time: 5, key: "k1", value: "v"),
            KVCommand(session: 3, sequence: 2, acknowledged: 0, time: 0, kind: .get, key: "k", value: nil, expected: nil),
            Self.cas(session: UInt64.max, UInt64.max, ack: UInt64.max, time: UInt64.max, key: "", expected: "old", value: ""),
            Self.cas(session: 9, 9, expected: nil, value: nil),
            .openSession(nonce: 12345, time: 1_700_000_000_000),
        ]
        for (i, text) in Self.awkwardText.enumerated() {
            commands.append(Self.cas(session: 2, UInt64(100 + i), key: text, expected: text, value: text))
        }
        for command in commands {
            #expect(KVCommand(command.encoded()) == command, "\(command)")
        }
        #expect(KVCommand.openSession(nonce: 1, time: 0).kind == nil && commands[0].kind == .put)
    }

    @Test("bytes that are not a command decode to nothing")
    func malformed() {
        let good = Self.put(session: 1, 7, value: "v").encoded()
        #expect(KVCommand(good) != nil)
        #expect(KVCommand([]) == nil)
        #expect(KVCommand(Array("1\u{1F}put\u{1F}k\u{1F}v\u{1F}\u{1E}".utf8)) == nil, "the old text form")
        for cut in 1..<good.count { #expect(KVCommand(Array(good.prefix(cut))) == nil, "truncated to \(cut) bytes") }
        #expect(KVCommand(good + [0]) == nil, "trailing byte")
        var badAction = good
        badAction[5] = 9  // version, then four one-byte varints, then the action
        #expect(KVCommand(badAction) == nil, "unknown action")
        var badVersion = good
        badVersion[0] = 1
        #expect(KVCommand(badVersion) == nil, "another format version (1: before sessions)")
    }

    @Test("a request applied twice in its session acts once and answers as the first time did")
    func duplicatesActOnce() {
        var (machine, s) = Self.machineWithSession()
        #expect(s == 1, "the session's id is the index of the entry that opened it")
        #expect(machine.apply(Self.put(session: s, 1, value: "first"), index: 2) == .done(true))
        #expect(machine.apply(Self.put(session: s, 1, value: "second"), index: 3) == .done(true), "the copy answers like the first")
        #expect(machine.value("k") == "first", "and does not act")
        #expect(machine.apply(Self.cas(session: s, 2, expected: "other", value: "x"), index: 4) == .done(false))
        #expect(machine.apply(Self.put(session: s, 3, value: "third"), index: 5) == .done(true))
        // Request 2 failed; its copy, after request 3 made the key something else, still fails.
        #expect(machine.apply(Self.cas(session: s, 2, expected: "third", value: "x"), index: 6) == .done(false))
        #expect(machine.value("k") == "third")
        // The same numbers in another session are other requests.
        guard case .opened(let t) = machine.apply(.openSession(nonce: 2, time: 0), index: 7) else { return #expect(Bool(false)) }
        #expect(t == 7 && t != s)
        #expect(machine.apply(Self.put(session: t, 1, value: "t1"), index: 8) == .done(true))
        #expect(machine.value("k") == "t1")
        #expect(machine.counts.sessions == 2 && machine.counts.outcomes == 4)
    }

    @Test("acknowledged outcomes are forgotten, and a late copy below them is refused, not applied")
    func acknowledgementForgets() {
        var (machine, s) = Self.machineWithSession()
        #expect(machine.apply(Self.put(session: s, 1, ack: 1, value: "one"), index: 2) == .done(true))
        #expect(machine.apply(Self.put(session: s, 2, ack: 1, value: "two"), index: 3) == .done(true))
        #expect(machine.counts.outcomes == 2)
        #expect(machine.apply(Self.put(session: s, 3, ack: 3, value: "three"), index: 4) == .done(true))
        #expect(machine.counts.outcomes == 1, "requests 1 and 2 were acknowledged")
        #expect(machine.apply(Self.put(session: s, 1, ack: 1, value: "one again"), index: 5) == .forgotten)
        #expect(machine.apply(Self.put(session: s, 2, ack: 3, value: "two again"), index: 6) == .forgotten)
        #expect(machine.value("k") == "three")
        #expect(machine.apply(Self.put(session: s, 3, ack: 3, value: "three again"), index: 7) == .done(true), "3 is still remembered")
        #expect(machine.value("k") == "three")
    }

    @Test("a request in a session never opened (or another machine's) changes nothing")
    func unknownSession() {
        var (machine, s) = Self.machineWithSession()
        #expect(machine.apply(Self.put(session: s + 100, 1, value: "x"), index: 2) == .noSession)
        #expect(machine.apply(Self.put(session: 0, 1, value: "x"), index: 3) == .noSession, "0 is never a session")
        #expect(machine.value("k") == nil && machine.counts.outcomes == 0)
    }

    @Test("a session expires when the log's clock has not seen it for the timeout; others stay")
    func expiry() {
        let limits = KVSessionLimits(timeoutMillis: 1000, maxSessions: 100, maxOutcomesPerSession: 100)
        var (machine, idle) = Self.machineWithSession(limits: limits, time: 10_000)
        guard case .opened(let busy) = machine.apply(.openSession(nonce: 2, time: 10_000), index: 2) else { return #expect(Bool(false)) }
        for step in UInt64(1)...30 {
            // The busy client's requests carry its node's clock; the log's clock moves with them.
            #expect(machine.apply(Self.put(session: busy, step, ack: step, time: 10_000 + step * 100, value: "\(step)"), index: 2 + step) == .done(true))
        }
        #expect(machine.clock == 13_000)
        #expect(!machine.hasSession(idle) && machine.hasSession(busy))
        #expect(machine.apply(Self.put(session: idle, 1, time: 13_000, value: "late"), index: 40) == .noSession)
        #expect(machine.value("k") == "30")
        // A proposer whose clock is behind does not move the log's clock back.
        _ = machine.apply(Self.put(session: busy, 31, ack: 31, time: 5, value: "31"), index: 41)
        #expect(machine.clock == 13_000 && machine.hasSession(busy))
    }

    @Test("opening a session past the limit drops the least recently active one")
    func eviction() {
        let limits = KVSessionLimits(timeoutMillis: 1_000_000, maxSessions: 3, maxOutcomesPerSession: 100)
        var machine = KVStateMachine(limits: limits)
        var ids: [UInt64] = []
        for i in UInt64(1)...3 {
            if case .opened(let id) = machine.apply(.openSession(nonce: i, time: i), index: i) { ids.append(id) }
        }
        #expect(ids == [1, 2, 3])
        // Session 1 is used last, so 2 is the least recently active.
        #expect(machine.apply(Self.put(session: 1, 1, time: 10, value: "a"), index: 4) == .done(true))
        #expect(machine.apply(.openSession(nonce: 4, time: 11), index: 5) == .opened(5))
        #expect(machine.counts.sessions == 3)
        #expect(!machine.hasSession(2) && machine.hasSession(1) && machine.hasSession(3) && machine.hasSession(5))
        #expect(machine.apply(Self.put(session: 2, 1, time: 12, value: "b"), index: 6) == .noSession)
        // Equal activity: the lowest id goes, so every replica drops the same one.
        for (i, id) in [UInt64(5), 3, 1].enumerated() {
            #expect(machine.apply(Self.put(session: id, 2, time: 20, value: "c"), index: 7 + UInt64(i)) == .done(true))
        }
        #expect(machine.apply(.openSession(nonce: 5, time: 20), index: 10) == .opened(10))
        #expect(!machine.hasSession(1) && machine.hasSession(3) && machine.hasSession(5) && machine.hasSession(10))
    }

    @Test("a session holds at most its limit of outcomes: the older half goes, and a copy of one of them is refused")
    func outcomeCap() {
        let limits = KVSessionLimits(timeoutMillis: 1_000_000, maxSessions: 10, maxOutcomesPerSession: 8)
        var (machine, s) = Self.machineWithSession(limits: limits)
        // A client that never acknowledges.
        for q in UInt64(1)...9 { #expect(machine.apply(Self.put(session: s, q, value: "\(q)"), index: 1 + q) == .done(true)) }
        #expect(machine.counts.outcomes <= 8)
        #expect(machine.apply(Self.put(session: s, 1, value: "again"), index: 20) == .forgotten)
        #expect(machine.apply(Self.put(session: s, 9, value: "again"), index: 21) == .done(true))
        #expect(machine.value("k") == "9")
        for q in UInt64(10)...1000 { _ = machine.apply(Self.put(session: s, q, value: "\(q)"), index: 20 + q) }
        #expect(machine.counts.outcomes <= 8 && machine.counts.outcomes >= 4)
    }

    @Test("requests out of order within a session (concurrent ones) each act once")
    func outOfOrder() {
        var (machine, s) = Self.machineWithSession()
        var index: UInt64 = 2
        for q in [UInt64(3), 1, 2, 5, 4] {
            #expect(machine.apply(Self.put(session: s, q, key: "k\(q)", value: "v\(q)"), index: index) == .done(true))
            index += 1
        }
        for q in UInt64(1)...5 {
            #expect(machine.apply(Self.put(session: s, q, key: "k\(q)", value: "again"), index: index) == .done(true))
            index += 1
            #expect(machine.value("k\(q)") == "v\(q)")
        }
        #expect(machine.counts.outcomes == 5)
    }

    @Test("a long stream with a moving acknowledgement keeps the outcome table small")
    func boundedUnderLongStream() {
        var (machine, s) = Self.machineWithSession()
        // 32 requests in flight at a time, acknowledged as they are answered.
        for q in UInt64(1)...100_000 {
            let ack = q > 32 ? q - 32 : 0
            _ = machine.apply(Self.put(session: s, q, ack: ack, key: "k\(q % 100)", value: "\(q)"), index: q + 1)
        }
        #expect(machine.counts.outcomes <= 33)
        #expect(machine.counts.values == 100)
        let restored = KVStateMachine(snapshot: machine.snapshot())
        #expect(restored?.counts.outcomes == machine.counts.outcomes)
    }

    @Test("a snapshot restores values, sessions and outcomes (a re-applied request answers as before), whatever the text")
    func snapshotRoundTrip() throws {
        var (machine, s) = Self.machineWithSession(time: 77)
        for (i, text) in Self.awkwardText.enumerated() {
            _ = machine.apply(Self.put(session: s, UInt64(i + 1), key: text, value: text + "!"), index: UInt64(i + 2))
        }
        #expect(machine.apply(Self.cas(session: s, 50, key: "\u{1F}", expected: "wrong", value: "x"), index: 60) == .done(false))
        _ = machine.apply(.openSession(nonce: 9, time: 80), index: 61)
        let bytes = machine.snapshot()
        var restored = try #require(KVStateMachine(snapshot: bytes))
        #expect(restored.values == machine.values)
        #expect(restored.counts.values == Self.awkwardText.count && restored.counts.sessions == 2)
        #expect(restored.counts.outcomes == Self.awkwardText.count + 1)
        #expect(restored.clock == 80)
        #expect(restored.snapshot() == bytes, "the same state gives the same bytes")
        // Request 50 failed before the snapshot: applied again (a retry), it fails again and changes nothing.
        #expect(restored.apply(Self.cas(session: s, 50, key: "\u{1F}", expected: "\u{1F}!", value: "x"), index: 62) == .done(false))
        #expect(restored.values["\u{1F}"] == "\u{1F}!")
        #expect(KVStateMachine(snapshot: KVStateMachine().snapshot())?.values.isEmpty == true)
        let unordered = try #require(KVStateMachine(snapshot: machine.snapshot(ordered: false)))
        #expect(unordered.values == machine.values && unordered.snapshot() == bytes, "the maps' own order decodes to the same state")
        // What was acknowledged stays forgotten after a restore.
        _ = restored.apply(Self.put(session: s, 51, ack: 51, value: "51"), index: 63)
        let again = try #require(KVStateMachine(snapshot: restored.snapshot()))
        var copy = again
        #expect(copy.apply(Self.put(session: s, 50, value: "late"), index: 64) == .forgotten)
    }

    @Test("bytes that are not a snapshot restore nothing")
    func malformedSnapshot() {
        var (machine, s) = Self.machineWithSession()
        _ = machine.apply(Self.put(session: s, 1, key: "key", value: "value"), index: 2)
        let good = machine.snapshot()
        #expect(KVStateMachine(snapshot: good) != nil)
        #expect(KVStateMachine(snapshot: []) == nil)
        for cut in 1..<good.count { #expect(KVStateMachine(snapshot: Array(good.prefix(cut))) == nil, "truncated to \(cut) bytes") }
        #expect(KVStateMachine(snapshot: good + [0]) == nil, "trailing byte")
        #expect(KVStateMachine(snapshot: [1] + good.dropFirst()) == nil, "another format version (1: before sessions)")
        #expect(KVStateMachine(snapshot: Array("v\u{1F}key\u{1F}value".utf8)) == nil, "the old text form")
    }

    /// Version 2 with no values and the given sessions: (id, floor, outcome sequences).
    static func snapshotBytes(sessions: [(UInt64, UInt64, [UInt64])], keys: [String] = []) -> [UInt8] {
        var w = WireWriter(capacity: 64)
        w.byte(2)
        w.varint(0)
        w.varint(0)
        w.varint(UInt64(keys.count))
        for key in keys { w.string(key); w.string("value") }
        w.varint(UInt64(sessions.count))
        for (id, floor, sequences) in sessions {
            w.varint(id)
            w.varint(0)
            w.varint(floor)
            w.varint(UInt64(sequences.count))
            for q in sequences { w.varint(q); w.flag(true) }
        }
        return w.bytes
    }

    @Test("a snapshot naming a key or a session twice, or a session's outcomes out of order or below its floor, restores nothing")
    func inconsistentSnapshots() {
        #expect(KVStateMachine(snapshot: Self.snapshotBytes(sessions: [(1, 2, [2, 5])], keys: ["a"])) != nil, "the well-formed one")
        #expect(KVStateMachine(snapshot: Self.snapshotBytes(sessions: [], keys: ["key", "key"])) == nil, "a key twice")
        #expect(KVStateMachine(snapshot: Self.snapshotBytes(sessions: [(1, 0, []), (1, 0, [])])) == nil, "a session twice")
        #expect(KVStateMachine(snapshot: Self.snapshotBytes(sessions: [(1, 0, [5, 2])])) == nil, "outcomes out of order")
        #expect(KVStateMachine(snapshot: Self.snapshotBytes(sessions: [(1, 0, [3, 3])])) == nil, "an outcome twice")
        #expect(KVStateMachine(snapshot: Self.snapshotBytes(sessions: [(1, 4, [3])])) == nil, "an outcome below the floor")
    }

    @Test("a copy (what a snapshot encodes) keeps its state while the original goes on applying")
    func copyIsIndependent() throws {
        var (machine, s) = Self.machineWithSession()
        for i in UInt64(0)..<2000 { _ = machine.apply(Self.put(session: s, i + 1, key: "k\(i)", value: "v\(i)"), index: i + 2) }
        let copy = machine
        let before = copy.snapshot()
        for i in UInt64(0)..<2000 { _ = machine.apply(Self.put(session: s, 10_000 + i, key: "k\(i)", value: "w\(i)"), index: 3000 + i) }
        _ = machine.apply(Self.put(session: s, 20_000, key: "k7", value: nil), index: 6000)
        #expect(copy.snapshot() == before)
        #expect(copy.value("k7") == "v7" && machine.value("k7") == nil && machine.value("k8") == "w8")
        #expect(copy.counts.values == 2000)
        #expect(machine.counts.values == 1999)
        let restored = try #require(KVStateMachine(snapshot: machine.snapshot(ordered: false)))
        #expect(restored.values == machine.values && restored.counts.values == 1999 && restored.counts.outcomes == machine.counts.outcomes)
    }
}
