/// Memory the graph walks of one query or one insert batch reuse: which documents the current
/// walk has seen, and the neighbors waiting for their distances. A class over raw memory, so
/// marking a document neither copies nor checks uniqueness, and a batch's thousands of walks
/// allocate it once.
final class WalkScratch {
    private var bits: UnsafeMutablePointer<UInt64>
    private var words: Int
    /// Documents at or past the bound the bitmap was sized for (a storage that undercounts).
    private var overflow = Set<UInt32>()

    private(set) var pendingDocs: UnsafeMutablePointer<UInt32>
    private(set) var pendingVectors: UnsafeMutablePointer<UnsafeRawBufferPointer>
    private var pendingCapacity: Int

    init() {
        words = 1
        bits = .allocate(capacity: 1)
        bits.initialize(to: 0)
        pendingCapacity = 64
        pendingDocs = .allocate(capacity: 64)
        pendingVectors = .allocate(capacity: 64)
    }

    deinit {
        bits.deallocate()
        pendingDocs.deallocate()
        pendingVectors.deallocate()
    }

    /// Forgets every mark, with room for documents below `bound`.
    func startWalk(bound: UInt32) {
        let needed = Int(bound) / 64 + 1
        if needed > words {
            bits.deallocate()
            words = needed
            bits = .allocate(capacity: needed)
        }
        bits.initialize(repeating: 0, count: words)
        if !overflow.isEmpty { overflow.removeAll(keepingCapacity: true) }
    }

    /// Marks `doc`; false when the walk had already marked it.
    @inline(__always)
    func visit(_ doc: UInt32) -> Bool {
        let word = Int(doc >> 6)
        guard word < words else { return overflow.insert(doc).inserted }
        let mask = UInt64(1) << UInt64(doc & 63)
        let old = bits[word]
        bits[word] = old | mask
        return old & mask == 0
    }

    /// Makes room for `count` pending neighbors.
    @inline(__always)
    func reservePending(_ count: Int) {
        guard count > pendingCapacity else { return }
        let capacity = max(count, 2 * pendingCapacity)
        pendingDocs.deallocate()
        pendingVectors.deallocate()
        pendingDocs = .allocate(capacity: capacity)
        pendingVectors = .allocate(capacity: capacity)
        pendingCapacity = capacity
    }
}
