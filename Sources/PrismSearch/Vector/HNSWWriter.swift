import PrismStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Graph storage inside a write transaction. Vectors and nodes touched by the batch are copied
/// into memory (pointers into a write transaction's pages move as it writes), modified there, and
/// written back once at the end of the batch.
final class HNSWBuildStorage: HNSWStorage {
    let txn: WriteTransaction
    let tables: IndexTables
    let key: ShardKey
    private var vectorCache: [UInt32: UnsafeMutableRawBufferPointer] = [:]
    /// Committed vectors already in memory (read-only here: nothing from an uncommitted
    /// transaction may be published, since a replayed batch can renumber its documents).
    var shared: ShardVectorCache?
    private var nodes: [UInt32: HNSWNode] = [:]
    private var dirty = Set<UInt32>()

    var documentBound: UInt32

    init(txn: WriteTransaction, tables: IndexTables, key: ShardKey, documentBound: UInt32) {
        self.documentBound = documentBound
        self.txn = txn
        self.tables = tables
        self.key = key
    }

    deinit {
        for buffer in vectorCache.values { buffer.deallocate() }
    }

    func vector(_ doc: UInt32) throws -> UnsafeRawBufferPointer? {
        if let v = shared?.cached(doc) { return v }
        if let cached = vectorCache[doc] { return UnsafeRawBufferPointer(cached) }
        guard let copy = try txn.withValue(tables.vectors, key.docnum(doc), { bytes -> UnsafeMutableRawBufferPointer? in
            guard let bytes else { return nil }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
            buffer.copyMemory(from: bytes)
            return buffer
        }) else { return nil }
        vectorCache[doc] = copy
        return UnsafeRawBufferPointer(copy)
    }

    func addVector(_ doc: UInt32, _ bytes: [UInt8]) throws {
        try txn.put(tables.vectors, key.docnum(doc), bytes)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        vectorCache[doc]?.deallocate()
        vectorCache[doc] = buffer
    }

    func node(_ doc: UInt32) throws -> HNSWNode? {
        if let n = nodes[doc] { return n }
        guard let n = try txn.withValue(tables.graph, key.docnum(doc), { $0.flatMap(HNSWNode.init) }) else { return nil }
        nodes[doc] = n
        return n
    }

    func setNode(_ doc: UInt32, _ node: HNSWNode) {
        nodes[doc] = node
        dirty.insert(doc)
    }

    func neighbors(_ doc: UInt32, level: Int, into out: inout [UInt32]) throws {
        out.removeAll(keepingCapacity: true)
        if let n = try node(doc), level <= n.level { out.append(contentsOf: n.neighbors[level]) }
    }

    func flush() throws {
        for doc in dirty {
            if let n = nodes[doc] { try txn.put(tables.graph, key.docnum(doc), n.encoded()) }
        }
        dirty.removeAll()
    }
}

/// Inserts documents' vectors into a shard's HNSW graph.
struct HNSWWriter {
    let backend: CollectionSchema.VectorBackend
    let tables: IndexTables
    let key: ShardKey
    var cache: ShardVectorCache?

    var search: HNSWSearch { HNSWSearch(metric: backend.distance) }

    /// A level drawn from the geometric distribution of the paper, seeded by the document so
    /// rebuilding the same shard gives the same graph.
    func level(for doc: UInt32) -> Int {
        let h = StableHash.xxHash64(key.prefix + ShardKey.be32(doc))
        let u = (Double(h >> 11) + 1) / Double(UInt64(1) << 53)
        let mL = 1 / log(Double(max(2, backend.hnswM)))
        return min(Int(-log(u) * mL), 16)
    }

    func insert(_ vectors: [(doc: UInt32, vector: [Float])], _ txn: WriteTransaction) throws {
        guard !vectors.isEmpty else { return }
        let storage = HNSWBuildStorage(txn: txn, tables: tables, key: key, documentBound: (vectors.map(\.doc).max() ?? 0) + 1)
        storage.shared = cache
        var meta = try txn.withValue(tables.graphMeta, key.meta) { HNSWMeta.decode($0) }
        let m = backend.hnswM
        for (doc, raw) in vectors {
            let vector = VectorDistance.prepared(raw, backend.distance)
            try storage.addVector(doc, VectorDistance.bytes(vector))
            let level = level(for: doc)
            var node = HNSWNode(level: level)
            storage.setNode(doc, node)
            defer { meta.count += 1 }
            guard meta.maxLevel >= 0, let entryVector = try storage.vector(meta.entry) else {
                meta.entry = doc
                meta.maxLevel = level
                continue
            }
            try vector.withUnsafeBufferPointer { q in
                var ep = HNSWSearch.Candidate(distance: VectorDistance.distance(backend.distance, entryVector, q), doc: meta.entry)
                var l = meta.maxLevel
                while l > level {
                    ep = try search.greedy(q, from: ep, level: l, storage)
                    l -= 1
                }
                var entries = [ep]
                for l in stride(from: min(level, meta.maxLevel), through: 0, by: -1) {
                    let found = try search.searchLayer(q, entries: entries, ef: backend.hnswEfConstruction, level: l, storage)
                    let selected = try search.selectNeighbors(found, m: m, storage)
                    node.neighbors[l] = selected
                    let maxDegree = l == 0 ? 2 * m : m
                    for n in selected {
                        guard var neighbor = try storage.node(n), l <= neighbor.level else { continue }
                        neighbor.neighbors[l].append(doc)
                        if neighbor.neighbors[l].count > maxDegree, let nv = try storage.vector(n) {
                            var candidates: [HNSWSearch.Candidate] = []
                            for other in neighbor.neighbors[l] {
                                if let ov = try storage.vector(other) {
                                    candidates.append(.init(distance: VectorDistance.distance(backend.distance, nv, ov), doc: other))
                                }
                            }
                            neighbor.neighbors[l] = try search.selectNeighbors(candidates.sorted(), m: maxDegree, storage)
                        }
                        storage.setNode(n, neighbor)
                    }
                    entries = found
                }
            }
            storage.setNode(doc, node)
            if level > meta.maxLevel {
                meta.entry = doc
                meta.maxLevel = level
            }
        }
        try storage.flush()
        try txn.put(tables.graphMeta, key.meta, meta.encoded())
    }
}
