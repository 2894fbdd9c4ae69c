import CPrefetch

/// The graph nodes one insert batch changed, in their final form. Bottom-level lists live in
/// private copies of the in-memory graph's chunks (`ShardGraph`'s layout: 1024 nodes of `count,
/// neighbor*`): the batch copies a chunk the first time it changes one of its nodes and reads
/// every node through one table holding its copy or the committed chunk, so a walk's lookup is
/// the same pointer arithmetic as a query's. After the commit the graph adopts the copies whole.
/// A batch that starts without a current graph in memory starts from zeroed chunks and marks
/// which nodes hold lists (the rest are read from LMDB). Upper lists are kept whole.
///
/// A class over raw memory with fixed sizes (the batch knows its document bound), so reads
/// cost no exclusivity or uniqueness checks; chunks not adopted are freed with it.
final class HNSWChanges {
    let stride: Int
    /// Whether unchanged nodes are read from the committed graph's chunks (else from LMDB).
    let hasBase: Bool
    let chunkCount: Int
    /// Where this batch's copies come from: the graph's arena, which takes over those it adopts.
    private let arena: ChunkArena
    /// Per chunk: this batch's copy, else the committed chunk (with a base), else nil.
    private let table: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>
    /// Per chunk: whether `table` holds this batch's own copy.
    private let owned: UnsafeMutablePointer<Bool>
    /// Per document below the bound: whether this batch wrote its bottom list.
    private let changed: UnsafeMutablePointer<UInt64>
    private let changedWords: Int
    /// Changed documents in the order they were first changed.
    private(set) var changedBottom: [UInt32] = []
    /// document → its lists for levels 1...level.
    var upper: [UInt32: [[UInt32]]] = [:]

    private static let chunkSize = ShardGraph.chunkSize

    /// Room for documents below `bound`; `base` is the committed graph's bottom chunks, when
    /// the memory reflects exactly what the batch starts from.
    init(bottomDegree: Int, bound: UInt32, base: [UnsafeMutablePointer<UInt32>?]?, arena: ChunkArena) {
        stride = bottomDegree + 1
        self.arena = arena
        hasBase = base != nil
        chunkCount = Int(bound) / HNSWChanges.chunkSize + 1
        table = .allocate(capacity: chunkCount)
        owned = .allocate(capacity: chunkCount)
        for c in 0..<chunkCount {
            (table + c).initialize(to: base.flatMap { c < $0.count ? $0[c] : nil })
            (owned + c).initialize(to: false)
        }
        changedWords = Int(bound) / 64 + 1
        changed = .allocate(capacity: changedWords)
        changed.initialize(repeating: 0, count: changedWords)
    }

    deinit {
        for c in 0..<chunkCount where owned[c] {
            if let chunk = table[c] { arena.free(UnsafeMutableRawPointer(chunk)) }
        }
        table.deallocate()
        owned.deallocate()
        changed.deallocate()
    }

    /// Every document with a changed node.
    var documents: Set<UInt32> { Set(changedBottom).union(upper.keys) }

    @inline(__always)
    func isChanged(_ doc: UInt32) -> Bool {
        let word = Int(doc >> 6)
        return word < changedWords && changed[word] & (UInt64(1) << UInt64(doc & 63)) != 0
    }

    /// The bottom list of `doc` as this batch sees it: its own when changed, the committed one
    /// otherwise (with a base); nil when neither holds it (read LMDB).
    @inline(__always)
    func withBottom<T>(_ doc: UInt32, _ body: (UnsafeBufferPointer<UInt32>) throws -> T) rethrows -> T? {
        guard hasBase || isChanged(doc) else { return nil }
        let c = Int(doc) / HNSWChanges.chunkSize
        guard c < chunkCount, let chunk = table[c] else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        let node = chunk + (Int(doc) % HNSWChanges.chunkSize) * stride
        return try body(UnsafeBufferPointer(start: node + 1, count: min(Int(node[0]), stride - 1)))
    }

    /// Starts loading the bottom list of `doc` (a hint).
    @inline(__always)
    func prefetch(_ doc: UInt32) {
        let c = Int(doc) / HNSWChanges.chunkSize
        guard c < chunkCount, let chunk = table[c] else { return }
        prism_prefetch(chunk + (Int(doc) % HNSWChanges.chunkSize) * stride)
    }

    /// Every changed bottom list with its document.
    func forEachBottom(_ body: (UInt32, UnsafeBufferPointer<UInt32>) -> Void) {
        for doc in changedBottom { _ = withBottom(doc) { body(doc, $0) } }
    }

    func setBottom(_ doc: UInt32, _ list: [UInt32]) {
        let c = Int(doc) / HNSWChanges.chunkSize
        guard c < chunkCount else { return }
        if !owned[c] {
            let copy = arena.allocate().bindMemory(to: UInt32.self, capacity: HNSWChanges.chunkSize * stride)
            if let committed = table[c] {
                copy.initialize(from: committed, count: HNSWChanges.chunkSize * stride)
            } else {
                copy.initialize(repeating: 0, count: HNSWChanges.chunkSize * stride)
            }
            table[c] = copy
            owned[c] = true
        }
        let word = Int(doc >> 6), mask = UInt64(1) << UInt64(doc & 63)
        if changed[word] & mask == 0 {
            changed[word] |= mask
            changedBottom.append(doc)
        }
        guard let chunk = table[c] else { return }
        let node = chunk + (Int(doc) % HNSWChanges.chunkSize) * stride
        let n = min(list.count, stride - 1)
        node[0] = UInt32(n)
        list.withUnsafeBufferPointer { source in
            if n > 0, let from = source.baseAddress { (node + 1).update(from: from, count: n) }
        }
    }

    /// Hands this batch's chunk copies to `body` (chunk index, copy) and gives up their
    /// ownership; only for a batch built on the committed chunks it replaces.
    func adoptChunks(_ body: (Int, UnsafeMutablePointer<UInt32>) -> Void) {
        for c in 0..<chunkCount where owned[c] {
            guard let chunk = table[c] else { continue }
            owned[c] = false
            body(c, chunk)
        }
    }
}
