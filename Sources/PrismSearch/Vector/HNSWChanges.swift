/// The graph nodes one insert batch changed, in their final form: bottom-level lists in a flat
/// arena (one slot of `count, neighbor*` per node, as `ShardGraph` stores them), upper lists
/// whole. Written to LMDB inside the transaction, applied to the in-memory graph after commit.
struct HNSWChanges {
    let stride: Int
    /// document → slot in `arena` + 1 (0: unchanged), in chunks of 1024 documents made on first
    /// use: a walk looks every expanded node up here, so no hashing.
    private var slots: [[Int32]] = []
    /// Changed documents in the order they were first changed.
    private(set) var changedBottom: [UInt32] = []
    private var arena: [UInt32] = []
    /// document → its lists for levels 1...level.
    var upper: [UInt32: [[UInt32]]] = [:]

    private static let chunk = 1024

    init(bottomDegree: Int) { stride = bottomDegree + 1 }

    /// Every document with a changed node.
    var documents: Set<UInt32> { Set(changedBottom).union(upper.keys) }

    /// Every changed bottom list with its document.
    func forEachBottom(_ body: (UInt32, UnsafeBufferPointer<UInt32>) -> Void) {
        for doc in changedBottom {
            if let slot = bottomSlot(doc) { withBottom(slot) { body(doc, $0) } }
        }
    }

    @inline(__always)
    func withBottom<T>(_ slot: Int, _ body: (UnsafeBufferPointer<UInt32>) throws -> T) rethrows -> T {
        try arena.withUnsafeBufferPointer { a in
            let start = slot * stride
            return try body(UnsafeBufferPointer(rebasing: a[start + 1 ..< start + 1 + Int(a[start])]))
        }
    }

    @inline(__always)
    func bottomSlot(_ doc: UInt32) -> Int? {
        let c = Int(doc) / HNSWChanges.chunk
        guard c < slots.count else { return nil }
        let chunk = slots[c]
        guard !chunk.isEmpty else { return nil }
        let slot = Int(chunk[Int(doc) % HNSWChanges.chunk])
        return slot > 0 ? slot - 1 : nil
    }

    mutating func setBottom(_ doc: UInt32, _ list: [UInt32]) {
        let slot: Int
        if let existing = bottomSlot(doc) {
            slot = existing
        } else {
            slot = arena.count / stride
            arena.append(contentsOf: repeatElement(0, count: stride))
            let c = Int(doc) / HNSWChanges.chunk
            if c >= slots.count { slots += [[Int32]](repeating: [], count: c + 1 - slots.count) }
            if slots[c].isEmpty { slots[c] = [Int32](repeating: 0, count: HNSWChanges.chunk) }
            slots[c][Int(doc) % HNSWChanges.chunk] = Int32(slot + 1)
            changedBottom.append(doc)
        }
        let n = min(list.count, stride - 1)
        let start = slot * stride
        arena[start] = UInt32(n)
        for i in 0..<n { arena[start + 1 + i] = list[i] }
    }
}
