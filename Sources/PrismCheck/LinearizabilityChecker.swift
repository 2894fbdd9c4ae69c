/// Checks a key-value history for linearizability in the manner of Porcupine: the history is
/// split by key (each key is an independent register, so the whole is linearizable exactly when
/// every key's part is: P-compositionality), and each part is searched depth-first for an order
/// of the operations that respects real time and the register's semantics (Wing and Gong's
/// algorithm with Lowe's memoization of visited (linearized set, state) pairs).
///
/// Operations whose outcome is unknown may take effect at any point after their call, or never.
/// A get whose outcome is unknown constrains nothing and is dropped.
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
            switch checkRegister(byKey[key] ?? [], maxStates: maxStatesPerKey) {
            case .some(true): continue
            case .some(false): failing.append(key)
            case nil: undecided.append(key)
            }
        }
        return Verdict(linearizable: failing.isEmpty && undecided.isEmpty, failingKeys: failing, undecidedKeys: undecided)
    }

    /// The register's transition for one operation from `state`, or nil if the operation
    /// cannot take effect there.
    static func step(_ op: KVOperation, _ state: String?) -> String?? {
        switch (op.kind, op.result) {
        case (.put, _):
            return .some(op.value)
        case (.get, _):
            return op.output == state ? .some(state) : nil
        case (.cas, .ok):
            return state == op.expected ? .some(op.value) : nil
        case (.cas, .fail):
            return state != op.expected ? .some(state) : nil
        case (.cas, .unknown):
            // If it took effect it succeeded (had it failed, it changed nothing, which is the
            // same as not taking effect at all).
            return state == op.expected ? .some(op.value) : nil
        }
    }

    private struct Event {
        var op: Int
        var isCall: Bool
        var prev: Int
        var next: Int
        /// For a call: its return event (-1 for an operation whose outcome is unknown).
        var match: Int
    }

    private struct Memo: Hashable {
        var linearized: [UInt64]
        var state: String?
    }

    /// true: linearizable; false: not; nil: gave up after `maxStates`.
    static func checkRegister(_ ops: [KVOperation], maxStates: Int) -> Bool? {
        guard !ops.isEmpty else { return true }
        // Events in time order; at equal times calls first (operations touching at an instant
        // count as concurrent, the permissive reading).
        var raw: [(time: UInt64, isCall: Bool, op: Int)] = []
        for (i, op) in ops.enumerated() {
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

        var linearized = [UInt64](repeating: 0, count: (ops.count + 63) / 64)
        var state: String? = nil
        var stack: [(call: Int, state: String?)] = []
        var seen = Set<Memo>()
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
                if let next = step(ops[e.op], state) {
                    var candidate = linearized
                    candidate[e.op / 64] |= 1 << UInt64(e.op % 64)
                    if seen.insert(Memo(linearized: candidate, state: next)).inserted {
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
