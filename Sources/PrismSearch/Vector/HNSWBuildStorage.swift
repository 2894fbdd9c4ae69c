import PrismStorage

/// Vectors an insert batch reads, at stable addresses for the batch's life: the batch's own new
/// vectors (consecutive document numbers from `first`) and copies of stored vectors that are
/// not in the shard's memory (pointers into a write transaction's pages move as it writes).
final class BatchVectors {
    let first: UInt32
    let count: Int
    let bytesPerVector: Int
    private let storage: UnsafeMutableRawPointer
    private let present: UnsafeMutablePointer<Bool>
    private var copies: [UInt32: UnsafeMutableRawPointer] = [:]

    /// Room for documents `first..<first + count`.
    init(first: UInt32, count: Int, dimension: Int) {
        self.first = first
        self.count = count
        bytesPerVector = dimension * 4
        storage = .allocate(byteCount: max(1, count * bytesPerVector), alignment: 16)
        present = .allocate(capacity: max(1, count))
        present.initialize(repeating: false, count: max(1, count))
    }

    deinit {
        storage.deallocate()
        present.deinitialize(count: max(1, count))
        present.deallocate()
        for copy in copies.values { copy.deallocate() }
    }

    /// A vector of this batch; nil when `doc` is not one of them.
    @inline(__always)
    func batchVector(_ doc: UInt32) -> UnsafeRawBufferPointer? {
        guard doc >= first else { return nil }
        let i = Int(doc - first)
        guard i < count, present[i] else { return nil }
        return UnsafeRawBufferPointer(start: storage + i * bytesPerVector, count: bytesPerVector)
    }

    func setBatchVector(_ doc: UInt32, _ vector: [Float]) {
        let i = Int(doc - first)
        guard doc >= first, i < count, vector.count * 4 == bytesPerVector else { return }
        vector.withUnsafeBytes { source in
            guard let base = source.baseAddress else { return }
            (storage + i * bytesPerVector).copyMemory(from: base, byteCount: bytesPerVector)
            present[i] = true
        }
    }

    /// Every vector of this batch, for publishing after the commit.
    var batch: [(doc: UInt32, bytes: UnsafeRawBufferPointer)] {
        (0..<count).compactMap { i in
            present[i] ? (first + UInt32(i), UnsafeRawBufferPointer(start: storage + i * bytesPerVector, count: bytesPerVector)) : nil
        }
    }

    /// A copy of a stored vector, read once through `load`.
    func copy(_ doc: UInt32, load: (UInt32) throws -> UnsafeRawBufferPointer?) rethrows -> UnsafeRawBufferPointer? {
        if let copy = copies[doc] { return UnsafeRawBufferPointer(start: copy, count: bytesPerVector) }
        guard let bytes = try load(doc), bytes.count == bytesPerVector, let source = bytes.baseAddress else { return nil }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: bytesPerVector, alignment: 16)
        copy.copyMemory(from: source, byteCount: bytesPerVector)
        copies[doc] = copy
        return UnsafeRawBufferPointer(start: copy, count: bytesPerVector)
    }
}

/// The graph as an insert batch sees it: its own changes first, then the committed graph in
/// memory when that is current, else the nodes stored in the write transaction.
struct HNSWBuildStorage: HNSWStorage {
    let txn: WriteTransaction
    let tables: IndexTables
    let key: ShardKey
    /// The committed graph in memory, when it reflects exactly what this transaction started from.
    let base: ShardGraph.View?
    /// Committed vectors in memory.
    let cache: ShardVectorCache?
    let vectors: BatchVectors
    let changes: HNSWChanges
    let documentBound: UInt32

    @inline(__always)
    func vector(_ doc: UInt32) throws -> UnsafeRawBufferPointer? {
        if let v = vectors.batchVector(doc) { return v }
        if let v = cache?.cached(doc) { return v }
        return try vectors.copy(doc) { d in try txn.valueUntilEnd(tables.vectors, key.docnum(d)) }
    }

    @inline(__always)
    func neighbors(_ doc: UInt32, level: Int, into out: inout [UInt32]) throws {
        try withNeighbors(doc, level: level) { list in
            out.removeAll(keepingCapacity: true)
            out.append(contentsOf: list)
        }
    }

    @inline(__always)
    func prefetchNeighbors(_ doc: UInt32) { changes.prefetch(doc) }

    @inline(__always)
    func withNeighbors<R>(_ doc: UInt32, level: Int, _ body: (UnsafeBufferPointer<UInt32>) throws -> R) throws -> R {
        if level == 0 {
            if let r = try changes.withBottom(doc, body) { return r }
        } else {
            if let lists = changes.upper[doc] {
                guard level - 1 < lists.count else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
                return try lists[level - 1].withUnsafeBufferPointer(body)
            }
            if let base { return try base.withNeighbors(doc, level: level, body) }
        }
        var list: [UInt32] = []
        try txn.withValue(tables.graph, key.docnum(doc)) { bytes in
            if let bytes { HNSWNode.neighbors(bytes, level: level, into: &list) }
        }
        return try list.withUnsafeBufferPointer(body)
    }

    /// A new node with empty lists up to `level`.
    func addNode(_ doc: UInt32, level: Int) {
        changes.setBottom(doc, [])
        if level > 0 { changes.upper[doc] = [[UInt32]](repeating: [], count: level) }
    }

    func setNeighbors(_ doc: UInt32, level: Int, _ list: [UInt32]) throws {
        if level == 0 { return changes.setBottom(doc, list) }
        var lists = try changes.upper[doc] ?? storedUpperLists(doc)
        guard level - 1 < lists.count else { return }
        lists[level - 1] = list
        changes.upper[doc] = lists
    }

    /// The upper lists of a node this batch has not changed.
    private func storedUpperLists(_ doc: UInt32) throws -> [[UInt32]] {
        if let base { return base.upperLists(doc) }
        guard let node = try txn.withValue(tables.graph, key.docnum(doc), { $0.flatMap(HNSWNode.init) }) else { return [] }
        return Array(node.neighbors.dropFirst())
    }

    /// Writes every changed node to the transaction, in key order (each put then finds its
    /// B-tree pages where the previous one left them).
    func flush() throws {
        var bottom: [UInt32] = []
        var bytes: [UInt8] = []
        for doc in changes.documents.sorted() {
            try neighbors(doc, level: 0, into: &bottom)
            let upper = try changes.upper[doc] ?? storedUpperLists(doc)
            HNSWNode.encode(bottom: bottom, upper: upper[...], into: &bytes)
            try txn.put(tables.graph, key.docnum(doc), bytes)
        }
    }
}
