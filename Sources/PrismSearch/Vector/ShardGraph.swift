import CPrefetch
import PrismStorage

/// A shard's HNSW graph in memory, mirroring the committed graph in LMDB so graph walks never
/// touch LMDB. The bottom level (every node, up to 2M neighbors) lives in flat chunks of 1024
/// nodes, `count, neighbor*` per node; the few nodes above it keep their upper lists in a map.
///
/// `version` is the graph's size (`HNSWMeta.count`, which only grows) that the memory reflects.
/// It moves forward two ways: a committed insert batch applies its changes (from a commit hook,
/// when the memory was at the batch's starting version), or a reader whose snapshot is newer
/// reloads the whole graph from that snapshot. A walk holds the lock shared for its duration,
/// so changes never land under a reader; a reader whose snapshot is older than the memory may
/// still use it: documents committed after its snapshot are walked through but never returned
/// (`ShardSearcher.nearest` accepts only numbers below the snapshot's next document number).
final class ShardGraph: @unchecked Sendable {
    static let chunkSize = 1024

    /// Neighbors a node keeps on the bottom level (the paper's M_max0 = 2M).
    let bottomDegree: Int
    private let stride: Int
    /// Where the bottom chunks live, this graph's and its insert batches' copies of them.
    let arena: ChunkArena
    private let lock = ReadWriteLock()
    // Guarded by `lock`.
    private var version: UInt32 = 0
    private var chunks: [UnsafeMutablePointer<UInt32>?] = []
    private var upper: [UInt32: [[UInt32]]] = [:]

    init(m: Int) {
        bottomDegree = 2 * max(2, m)
        stride = bottomDegree + 1
        arena = ShardGraph.arena(bottomDegree: bottomDegree)
    }

    /// An arena for bottom chunks of nodes with `bottomDegree` neighbors (the graph's own, or a
    /// batch's when no graph is in memory).
    static func arena(bottomDegree: Int) -> ChunkArena {
        ChunkArena(blockBytes: chunkSize * (bottomDegree + 1) * MemoryLayout<UInt32>.stride)
    }

    /// Read access for one walk; valid only inside `withView`.
    struct View {
        fileprivate let chunks: [UnsafeMutablePointer<UInt32>?]
        fileprivate let upper: [UInt32: [[UInt32]]]
        fileprivate let stride: Int

        @inline(__always)
        func neighbors(_ doc: UInt32, level: Int, into out: inout [UInt32]) {
            withNeighbors(doc, level: level) { list in
                out.removeAll(keepingCapacity: true)
                out.append(contentsOf: list)
            }
        }

        /// The neighbors in place (no copy); empty for an unknown node.
        @inline(__always)
        func withNeighbors<R>(_ doc: UInt32, level: Int, _ body: (UnsafeBufferPointer<UInt32>) throws -> R) rethrows -> R {
            if level == 0 {
                let c = Int(doc) / ShardGraph.chunkSize
                guard c < chunks.count, let chunk = chunks[c] else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
                let node = chunk + (Int(doc) % ShardGraph.chunkSize) * stride
                return try body(UnsafeBufferPointer(start: node + 1, count: min(Int(node[0]), stride - 1)))
            }
            guard let lists = upper[doc], level - 1 < lists.count else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
            return try lists[level - 1].withUnsafeBufferPointer(body)
        }

        @inline(__always)
        func prefetch(_ doc: UInt32) {
            let c = Int(doc) / ShardGraph.chunkSize
            guard c < chunks.count, let chunk = chunks[c] else { return }
            prism_prefetch(chunk + (Int(doc) % ShardGraph.chunkSize) * stride)
        }

        /// The bottom level's chunks (an insert batch copies those it changes).
        var bottomChunks: [UnsafeMutablePointer<UInt32>?] { chunks }

        /// The neighbor lists above the bottom level of `doc` (empty for a bottom-only node).
        func upperLists(_ doc: UInt32) -> [[UInt32]] { upper[doc] ?? [] }
    }

    /// Runs `body` with the graph held shared, passing a view and the version it reflects.
    func withView<T>(_ body: (View, UInt32) throws -> T) rethrows -> T {
        try lock.withShared {
            try body(View(chunks: chunks, upper: upper, stride: stride), version)
        }
    }

    /// The version the memory reflects.
    var currentVersion: UInt32 { lock.withShared { version } }

    /// Applies a committed batch's changes when the memory is at `base` (else it stays behind
    /// until a reader reloads it) and moves to `next`. A batch built on these chunks hands over
    /// its copies of them (no reader holds a chunk while the lock is exclusive); one built from
    /// LMDB has its changed nodes copied in.
    func apply(_ changes: HNSWChanges, from base: UInt32, to next: UInt32) {
        lock.withExclusive {
            guard version == base else { return }
            if changes.hasBase {
                changes.adoptChunks { c, chunk in
                    if c >= chunks.count { chunks += [UnsafeMutablePointer<UInt32>?](repeating: nil, count: c + 1 - chunks.count) }
                    if let old = chunks[c] { arena.free(UnsafeMutableRawPointer(old)) }
                    chunks[c] = chunk
                }
            } else {
                changes.forEachBottom { doc, list in store(doc, bottom: list) }
            }
            for (doc, lists) in changes.upper { upper[doc] = lists.isEmpty ? nil : lists }
            version = next
        }
    }

    /// Replaces the memory with the graph of a snapshot at `snapshotVersion` when the memory is
    /// older. `nodes` visits the snapshot's stored nodes.
    func reload(to snapshotVersion: UInt32, nodes: ((UInt32, UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        try lock.withExclusive {
            guard version < snapshotVersion else { return }
            for case let chunk? in chunks { arena.free(UnsafeMutableRawPointer(chunk)) }
            chunks = []
            upper = [:]
            version = 0
            var list: [UInt32] = []
            try nodes { doc, bytes in
                HNSWNode.neighbors(bytes, level: 0, into: &list)
                list.withUnsafeBufferPointer { store(doc, bottom: $0) }
                let level = bytes.isEmpty ? 0 : Int(bytes[0])
                if level > 0 {
                    upper[doc] = (1...level).map { l in
                        HNSWNode.neighbors(bytes, level: l, into: &list)
                        return list
                    }
                }
            }
            version = snapshotVersion
        }
    }

    /// Writes a node's bottom list; callers hold the lock exclusively.
    private func store(_ doc: UInt32, bottom: UnsafeBufferPointer<UInt32>) {
        let c = Int(doc) / ShardGraph.chunkSize
        if c >= chunks.count { chunks += [UnsafeMutablePointer<UInt32>?](repeating: nil, count: c + 1 - chunks.count) }
        let chunk: UnsafeMutablePointer<UInt32>
        if let existing = chunks[c] {
            chunk = existing
        } else {
            chunk = arena.allocate().bindMemory(to: UInt32.self, capacity: ShardGraph.chunkSize * stride)
            chunk.initialize(repeating: 0, count: ShardGraph.chunkSize * stride)
            chunks[c] = chunk
        }
        let node = chunk + (Int(doc) % ShardGraph.chunkSize) * stride
        let n = min(bottom.count, stride - 1)
        node[0] = UInt32(n)
        if n > 0, let source = bottom.baseAddress { (node + 1).update(from: source, count: n) }
    }
}

/// A query's walk over the in-memory graph: neighbors from memory, vectors from the shard's
/// vector cache (the reader loads missing chunks from its snapshot).
struct MemoryGraphStorage: HNSWStorage {
    let graph: ShardGraph.View
    let vectors: ShardVectorCache
    let reader: ShardReader

    var documentBound: UInt32 { reader.documentBound }

    @inline(__always)
    func vector(_ doc: UInt32) throws -> UnsafeRawBufferPointer? {
        if let v = vectors.cached(doc) { return v }
        return try reader.vector(doc)
    }

    @inline(__always)
    func neighbors(_ doc: UInt32, level: Int, into out: inout [UInt32]) throws {
        graph.neighbors(doc, level: level, into: &out)
    }

    @inline(__always)
    func prefetchNeighbors(_ doc: UInt32) { graph.prefetch(doc) }

    @inline(__always)
    func withNeighbors<R>(_ doc: UInt32, level: Int, _ body: (UnsafeBufferPointer<UInt32>) throws -> R) throws -> R {
        try graph.withNeighbors(doc, level: level, body)
    }
}
