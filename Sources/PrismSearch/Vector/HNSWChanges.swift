/// The graph nodes one insert batch changed, in their final form: bottom-level lists in a flat
/// arena (one slot of `count, neighbor*` per node, as `ShardGraph` stores them), upper lists
/// whole. Written to LMDB inside the transaction, applied to the in-memory graph after commit.
struct HNSWChanges {
    let stride: Int
    /// document → slot in `arena`.
    private(set) var bottom: [UInt32: Int] = [:]
    private var arena: [UInt32] = []
    /// document → its lists for levels 1...level.
    var upper: [UInt32: [[UInt32]]] = [:]

    init(bottomDegree: Int) { stride = bottomDegree + 1 }

    /// Every document with a changed node.
    var documents: Set<UInt32> { Set(bottom.keys).union(upper.keys) }

    @inline(__always)
    func withBottom<T>(_ slot: Int, _ body: (UnsafeBufferPointer<UInt32>) throws -> T) rethrows -> T {
        try arena.withUnsafeBufferPointer { a in
            let start = slot * stride
            return try body(UnsafeBufferPointer(rebasing: a[start + 1 ..< start + 1 + Int(a[start])]))
        }
    }

    /// Copies the changed bottom list of `doc` into `out`; false when it did not change.
    @inline(__always)
    func bottom(_ doc: UInt32, into out: inout [UInt32]) -> Bool {
        guard let slot = bottom[doc] else { return false }
        out.removeAll(keepingCapacity: true)
        withBottom(slot) { out.append(contentsOf: $0) }
        return true
    }

    mutating func setBottom(_ doc: UInt32, _ list: [UInt32]) {
        let slot: Int
        if let existing = bottom[doc] {
            slot = existing
        } else {
            slot = arena.count / stride
            arena.append(contentsOf: repeatElement(0, count: stride))
            bottom[doc] = slot
        }
        let n = min(list.count, stride - 1)
        let start = slot * stride
        arena[start] = UInt32(n)
        for i in 0..<n { arena[start + 1 + i] = list[i] }
    }
}
