import PrismCheck
import PrismStorage
import Testing

@Suite("Linearizability checker")
struct LinearizabilityCheckerTests {
    func put(_ c: Int, _ v: String, _ call: UInt64, _ ret: UInt64, key: String = "k", result: KVOperation.Result = .ok) -> KVOperation {
        KVOperation(client: c, key: key, kind: .put, value: v, call: call, returned: ret, result: result)
    }
    func get(_ c: Int, _ out: String?, _ call: UInt64, _ ret: UInt64, key: String = "k") -> KVOperation {
        KVOperation(client: c, key: key, kind: .get, call: call, returned: ret, result: .ok, output: out)
    }
    func cas(_ c: Int, _ from: String?, _ to: String, _ call: UInt64, _ ret: UInt64, _ result: KVOperation.Result) -> KVOperation {
        KVOperation(client: c, key: "k", kind: .cas, value: to, expected: from, call: call, returned: ret, result: result)
    }
    func ok(_ h: [KVOperation]) -> Bool { LinearizabilityChecker.check(h).linearizable }

    @Test func sequentialAndConcurrentReads() {
        #expect(ok([put(1, "a", 0, 10), get(2, "a", 20, 30), put(1, "b", 40, 50), get(2, "b", 60, 70)]))
        #expect(ok([get(1, nil, 0, 5), put(1, "a", 10, 20)]), "absent before the first write")
        #expect(!ok([put(1, "a", 0, 10), put(1, "b", 20, 30), get(2, "a", 40, 50)]), "a stale read after a completed write")
        // A read overlapping a write may see either value.
        #expect(ok([put(1, "a", 0, 10), put(1, "b", 20, 60), get(2, "a", 30, 40)]))
        #expect(ok([put(1, "a", 0, 10), put(1, "b", 20, 60), get(2, "b", 30, 40)]))
        #expect(!ok([put(1, "a", 0, 10), get(2, "z", 30, 40)]), "a value nobody wrote")
    }

    @Test func concurrentWritesThenReadsMustAgree() {
        let writes = [put(1, "x", 0, 100), put(2, "y", 0, 100)]
        #expect(ok(writes + [get(3, "x", 200, 210), get(3, "x", 300, 310)]))
        #expect(!ok(writes + [get(3, "x", 200, 210), get(3, "y", 300, 310)]), "once both returned, one of them is final")
        #expect(ok(writes + [get(3, "x", 50, 60), get(3, "y", 70, 80)]), "while both run, reads may see x then y")
        #expect(!ok(writes + [get(3, "x", 50, 60), get(3, "y", 70, 80), get(3, "x", 200, 210)]))
    }

    @Test func compareAndSet() {
        #expect(ok([put(1, "a", 0, 10), cas(2, "a", "b", 20, 30, .ok), get(3, "b", 40, 50)]))
        #expect(!ok([put(1, "a", 0, 10), cas(2, "z", "b", 20, 30, .ok)]), "succeeded against the wrong value")
        #expect(ok([put(1, "a", 0, 10), cas(2, "z", "b", 20, 30, .fail), get(3, "a", 40, 50)]))
        #expect(!ok([put(1, "a", 0, 10), cas(2, "a", "b", 20, 30, .fail)]), "failed although the value matched")
    }

    @Test func unknownOutcomes() {
        // A write that timed out may or may not have happened; a read may show either, but
        // never flip back and forth.
        let lost = put(1, "b", 20, 30, result: .unknown)
        #expect(ok([put(1, "a", 0, 10), lost, get(2, "a", 100, 110)]))
        #expect(ok([put(1, "a", 0, 10), lost, get(2, "b", 100, 110)]))
        #expect(!ok([put(1, "a", 0, 10), lost, get(2, "b", 100, 110), get(2, "a", 200, 210)]))
        #expect(!ok([put(1, "a", 0, 10), lost, get(2, "b", 5, 8)]), "not before its call")
        #expect(ok([put(1, "a", 0, 10), cas(2, "a", "c", 20, 30, .unknown), get(3, "c", 40, 50)]))
        // An unknown write may take effect long after its call, after writes that followed it.
        let late = put(2, "b", 20, 0, result: .unknown)
        #expect(ok([put(1, "a", 0, 10), late, put(3, "c", 30, 40), get(4, "b", 50, 60)]))
        #expect(ok([put(1, "a", 0, 10), late, put(3, "c", 30, 40), get(4, "c", 50, 60), get(4, "b", 70, 80)]))
        #expect(!ok([put(1, "a", 0, 10), late, put(3, "c", 30, 40), get(4, "b", 50, 60), get(4, "c", 70, 80)]))
        // Several unknown writes, each overwritten unseen or seen once.
        let unknowns = (0..<12).map { put(10 + $0, "u\($0)", 20 + UInt64($0), 0, result: .unknown) }
        #expect(ok([put(1, "a", 0, 10)] + unknowns + [get(4, "u3", 100, 110), get(4, "u7", 120, 130), put(5, "z", 140, 150), get(4, "u1", 160, 170)]))
        #expect(!ok([put(1, "a", 0, 10)] + unknowns + [get(4, "u3", 100, 110), get(4, "u7", 120, 130), get(4, "u3", 160, 170)]))
    }

    @Test("compare-and-sets that can neither take effect nor fail to are left out of the search, and only those")
    func inertCompareAndSetsAreDropped() {
        let kept = [put(1, "a", 0, 10), cas(2, "a", "b", 20, 30, .unknown), cas(3, "b", "c", 20, 30, .fail),
                    cas(4, nil, "d", 5, 30, .unknown), cas(5, nil, "e", 5, 30, .fail), cas(6, "zz", "f", 40, 50, .ok)]
        let inert = [cas(7, "never", "g", 20, 30, .unknown), cas(8, "never", "h", 20, 30, .fail),
                     cas(9, nil, "i", 15, 30, .unknown), cas(10, nil, "j", 15, 30, .fail)]
        #expect(LinearizabilityChecker.droppingInert(kept + inert).map(\.client) == kept.map(\.client))
        // What the dropping must not hide: a failed compare-and-set against the value the key
        // surely held, and one against absence before any write.
        #expect(!ok([put(1, "a", 0, 10), cas(2, "a", "b", 20, 30, .fail)]))
        #expect(!ok([cas(2, nil, "b", 0, 10, .fail), put(1, "a", 20, 30)]))
        #expect(ok([put(1, "a", 0, 10), cas(2, "never", "b", 20, 30, .fail), cas(3, nil, "c", 20, 30, .fail), get(4, "a", 40, 50)]))
    }

    @Test func keysAreCheckedApartAndReported() {
        let h = [put(1, "a", 0, 10, key: "x"), get(2, "a", 20, 30, key: "x"), put(1, "a", 0, 10, key: "y"), get(2, "q", 20, 30, key: "y")]
        let verdict = LinearizabilityChecker.check(h)
        #expect(!verdict.linearizable && verdict.failingKeys == ["y"])
    }

    /// Histories made by running operations one at a time, each taking effect at a random point
    /// inside its own random interval, are linearizable by construction; changing one read to a
    /// value never written makes them not.
    @Test("generated linearizable histories pass; one corrupted read fails them", arguments: 0..<200)
    func generated(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var state: [String: String] = [:]
        var history: [KVOperation] = []
        var t: UInt64 = 0
        for n in 0..<30 {
            t += random.next() % 20
            let effect = t
            let call = effect - min(effect, random.next() % 50), ret = effect + random.next() % 50
            let key = "k\(random.next() % 2)"
            switch random.next() % 3 {
            case 0:
                let v = "v\(n)"
                state[key] = v
                history.append(KVOperation(client: n, key: key, kind: .put, value: v, call: call, returned: ret, result: .ok))
            case 1:
                history.append(KVOperation(client: n, key: key, kind: .get, call: call, returned: ret, result: .ok, output: state[key]))
            default:
                let expected = random.next() % 2 == 0 ? state[key] : "nope"
                let success = state[key] == expected
                if success { state[key] = "c\(n)" }
                history.append(KVOperation(client: n, key: key, kind: .cas, value: "c\(n)", expected: expected, call: call, returned: ret,
                                           result: success ? .ok : .fail))
            }
        }
        #expect(LinearizabilityChecker.check(history).linearizable, "seed \(seed)")
        if let i = history.indices.first(where: { history[$0].kind == .get }) {
            history[i].output = "never-written"
            #expect(!LinearizabilityChecker.check(history).linearizable, "seed \(seed)")
        }
    }
}
