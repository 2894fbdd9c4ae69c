/// Checks a key-value history for linearizability in the manner of Porcupine: the history is
/// split by key (each key is an independent register, so the whole is linearizable exactly when
/// every key's part is: P-compositionality), and each part is searched depth-first for an order
/// of the operations that respects real time and the register's semantics (Wing and Gong's
/// algorithm with Lowe's memoization of visited (linearized set, state) pairs).
///
/// Operations whose outcome is unknown may take effect at any point after their call, or never.
/// A get whose outcome is unknown constrains nothing and is dropped, and so are compare-and-sets
/// that can neither take effect nor fail to (`droppingInert`): each operation left pending
/// forever multiplies the states the search may visit.
public enum LinearizabilityChecker {
    public struct Verdict: Sendable, Equatable {
        public var linearizable: Bool
        /// Keys whose history admits no linearization.
        public var failingKeys: [String]
        /// Keys the search gave up on (the state budget ran out): neither proven nor refuted.
        public var undecidedKeys: [String]
    }

    public static func check(_ history: [KVOperation], maxStatesPerKey: Int = 2_000_000) -> Verdict {
        var byKey: [String: [KVOperation]] = [:]
        for op in history where !(op.kind == .get && op.result == .unknown) { byKey[op.key, default: []].append(op) }
        var failing: [String] = [], undecided: [String] = []
        for key in byKey.keys.sorted() {
            switch checkRegister(droppingInert(byKey[key] ?? []), maxStates: maxStatesPerKey) {
            case .some(true): continue
            case .some(false): failing.append(key)
            case nil: undecided.append(key)
            }
        }
        return Verdict(linearizable: failing.isEmpty && undecided.isEmpty, failingKeys: failing, undecidedKeys: undecided)
    }

    /// A key's operations without the compare-and-sets whose expected value the register can never
    /// hold when they take effect: one that failed then always could (it is a read that cannot be
    /// wrong, placed anywhere in its interval), one whose outcome is unknown never took effect.
    /// The register holds nil until a write takes effect and never again after (there is no
    /// delete), and otherwise only values some operation of the key wrote.
    public static func droppingInert(_ ops: [KVOperation]) -> [KVOperation] {
        let written = Set(ops.compactMap { $0.kind == .get ? nil : $0.value })
        // A write acknowledged before an operation was called took effect before it.
        let firstAcknowledgedWrite = ops.filter { $0.kind != .get && $0.result == .ok }.map(\.returned).min()
        return ops.filter { op in
            guard op.kind == .cas, op.result != .ok else { return true }
            if let expected = op.expected { return written.contains(expected) }
            return !(firstAcknowledgedWrite.map { $0 < op.call } ?? false)
        }
    }

    /// The register's transition for one operation from `state` (values interned: -1 is absent),
    /// or nil if the operation cannot take effect there.
    static func step(_ op: InternedOperation, _ state: Int) -> Int? {
        switch (op.kind, op.result) {
        case (.put, _):
            return op.value
        case (.get, _):
            return op.output == state ? state : nil
        case (.cas, .ok):
            return state == op.expected ? op.value : nil
        case (.cas, .fail):
            return state != op.expected ? state : nil
        case (.cas, .unknown):
            // If it took effect it succeeded (had it failed, it changed nothing, which is the
            // same as not taking effect at all).
            return state == op.expected ? op.value : nil
        }
    }

    /// An operation with its values as small integers (-1: absent), so states hash cheaply.
    struct InternedOperation {
        var kind: KVOperation.Kind
        var result: KVOperation.Result
        var value: Int
        var expected: Int
        var output: Int
    }

    private struct Event {
        var op: Int
        var isCall: Bool
        var prev: Int
        var next: Int
        /// For a call: its return event (-1 for an operation whose outcome is unknown).
        var match: Int
    }

    /// The operations with a known outcome that are linearized, and the register's value.
    private struct Memo: Hashable {
        var known: [UInt64]
        var state: Int
    }

    /// true: linearizable; false: not; nil: gave up after `maxStates`.
    ///
    /// The memo is Lowe's, with dominance for operations whose outcome is unknown: a
    /// configuration whose known operations and value were reached before with a subset of its
    /// unknown operations used is not explored again. The earlier one had every choice it has
    /// (an unknown operation has no return, so it never forces anything; one still available
    /// may be left out), and it failed.
    static func checkRegister(_ history: [KVOperation], maxStates: Int) -> Bool? {
        guard !history.isEmpty else { return true }
        var values: [String: Int] = [:]
        func intern(_ v: String?) -> Int {
            guard let v else { return -1 }
            if let id = values[v] { return id }
            values[v] = values.count
            return values.count - 1
        }
        let ops = history.map { InternedOperation(kind: $0.kind, result: $0.result, value: intern($0.value), expected: intern($0.expected),
                                                   output: intern($0.output)) }
        let words = (ops.count + 63) / 64
        var knownMask = [UInt64](repeating: 0, count: words)
        for (i, op) in ops.enumerated() where op.result != .unknown { knownMask[i / 64] |= 1 << UInt64(i % 64) }

        // Events in time order; at equal times calls first (operations touching at an instant
        // count as concurrent, the permissive reading).
        var raw: [(time: UInt64, isCall: Bool, op: Int)] = []
        for (i, op) in history.enumerated() {
            raw.append((op.call, true, i))
            if op.result != .unknown { raw.append((max(op.returned, op.call), false, i)) }
        }
        raw.sort { ($0.time, $0.isCall ? 0 : 1, $0.op) < ($1.time, $1.isCall ? 0 : 1, $1.op) }
        // A doubly linked list with a sentinel head at index 0.
        var events = [Event(op: -1, isCall: false, prev: -1, next: 1, match: -1)]
        var callIndex = [Int](repeating: -1, count: ops.count)
        for (n, e) in raw.enumerated() {
            let index = n + 1
            events.append(Event(op: e.op, isCall: e.isCall, prev: index - 1, next: index + 1 <= raw.count ? index + 1 : -1, match: -1))
            if e.isCall { callIndex[e.op] = index } else { events[callIndex[e.op]].match = index }
        }
        if events.count == 1 { events[0].next = -1 }

        func unlink(_ i: Int) {
            let (p, n) = (events[i].prev, events[i].next)
            events[p].next = n
            if n >= 0 { events[n].prev = p }
        }
        func relink(_ i: Int) {
            let (p, n) = (events[i].prev, events[i].next)
            events[p].next = i
            if n >= 0 { events[n].prev = i }
        }

        var linearized = [UInt64](repeating: 0, count: words)
        var state = -1
        var stack: [(call: Int, state: Int)] = []
        var seen: [Memo: [[UInt64]]] = [:]
        /// Records the configuration `candidate` at `value`; false when it (or one dominating it) was seen.
        func firstVisit(_ candidate: [UInt64], _ value: Int) -> Bool {
            var known = candidate, unknown = candidate
            for w in 0..<words {
                known[w] &= knownMask[w]
                unknown[w] &= ~knownMask[w]
            }
            let key = Memo(known: known, state: value)
            if let earlier = seen[key] {
                for used in earlier where (0..<words).allSatisfy({ used[$0] & ~unknown[$0] == 0 }) { return false }
            }
            seen[key, default: []].append(unknown)
            return true
        }
        /// Undoes the last linearized operation; returns where to look next (nil: nothing left to undo).
        func backtrack() -> Int? {
            guard let top = stack.popLast() else { return nil }
            let op = events[top.call].op
            linearized[op / 64] &= ~(1 << UInt64(op % 64))
            state = top.state
            if events[top.call].match >= 0 { relink(events[top.call].match) }
            relink(top.call)
            return events[top.call].next
        }

        var cursor = events[0].next
        var visited = 0
        while events[0].next >= 0 {
            visited += 1
            if visited > maxStates { return nil }
            if cursor < 0 {
                // Only calls of operations with an unknown outcome are left: they never happened.
                var i = events[0].next
                var onlyUnknown = true
                while i >= 0 {
                    if !(events[i].isCall && events[i].match < 0) { onlyUnknown = false; break }
                    i = events[i].next
                }
                if onlyUnknown { return true }
                guard let resume = backtrack() else { return false }
                cursor = resume
                continue
            }
            let e = events[cursor]
            if e.isCall {
                // A put right after an operation of unknown outcome: what that one wrote nobody
                // saw, so the sibling branch without it, which also puts, dominates this one.
                let overwritesUnseen = ops[e.op].kind == .put && stack.last.map { ops[events[$0.call].op].result == .unknown } == true
                if !overwritesUnseen, let next = step(ops[e.op], state) {
                    var candidate = linearized
                    candidate[e.op / 64] |= 1 << UInt64(e.op % 64)
                    if firstVisit(candidate, next) {
                        stack.append((cursor, state))
                        linearized = candidate
                        state = next
                        unlink(cursor)
                        if e.match >= 0 { unlink(e.match) }
                        cursor = events[0].next
                        continue
                    }
                }
                cursor = e.next
            } else {
                // The return of an operation not yet linearized: everything before it was tried.
                guard let resume = backtrack() else { return false }
                cursor = resume
            }
        }
        return true
    }
}
