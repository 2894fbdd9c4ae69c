import PrismStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Inserts documents' vectors into a shard's HNSW graph inside a write transaction. The changed
/// nodes are written to LMDB with the batch; after the commit they are applied to the shard's
/// in-memory graph and the new vectors published to its vector cache (never before: a replayed
/// batch can renumber its documents).
struct HNSWWriter {
    let backend: CollectionSchema.VectorBackend
    let tables: IndexTables
    let key: ShardKey
    let memory: ShardVectorMemory?

    /// A level drawn from the geometric distribution of the paper, seeded by the document so
    /// rebuilding the same shard gives the same graph.
    func level(for doc: UInt32) -> Int {
        let h = StableHash.xxHash64(key.prefix + ShardKey.be32(doc))
        let u = (Double(h >> 11) + 1) / Double(UInt64(1) << 53)
        let mL = 1 / log(Double(max(2, backend.hnswM)))
        return min(Int(-log(u) * mL), 16)
    }

    /// Inserts `vectors`, whose documents are new and numbered in ascending order.
    func insert(_ vectors: [(doc: UInt32, vector: [Float])], _ txn: WriteTransaction) throws {
        guard let firstDoc = vectors.first?.doc, let lastDoc = vectors.last?.doc, lastDoc >= firstDoc else { return }
        let meta = try txn.withValue(tables.graphMeta, key.meta) { HNSWMeta.decode($0) }
        let batch = BatchVectors(first: firstDoc, count: Int(lastDoc - firstDoc) + 1, dimension: backend.dimension)
        guard let memory else {
            try insert(vectors, meta: meta, batch: batch, base: nil, txn)
            return
        }
        let next = try memory.graph.withView { view, version in
            try insert(vectors, meta: meta, batch: batch, base: version == meta.count ? view : nil, txn)
        }
        txn.afterCommit {
            memory.graph.apply(next.changes, from: meta.count, to: next.meta.count)
            memory.vectors.publish(batch.batch)
        }
    }

    @discardableResult
    private func insert(_ vectors: [(doc: UInt32, vector: [Float])], meta start: HNSWMeta, batch: BatchVectors,
                        base: ShardGraph.View?, _ txn: WriteTransaction) throws -> (meta: HNSWMeta, changes: HNSWChanges) {
        var meta = start
        let m = backend.hnswM
        let search = HNSWSearch(metric: backend.distance)
        let bound = batch.first + UInt32(batch.count)
        let degree = 2 * max(2, m)
        // Without a graph in memory the copies are this batch's alone.
        let arena = memory?.graph.arena ?? ShardGraph.arena(bottomDegree: degree)
        let changes = HNSWChanges(bottomDegree: degree, bound: bound, base: base?.bottomChunks, arena: arena)
        let storage = HNSWBuildStorage(txn: txn, tables: tables, key: key, base: base, cache: memory?.vectors, vectors: batch,
                                       changes: changes, documentBound: bound)
        var list: [UInt32] = []
        for (doc, raw) in vectors {
            let vector = VectorDistance.prepared(raw, backend.distance)
            try txn.put(tables.vectors, key.docnum(doc), VectorDistance.bytes(vector))
            batch.setBatchVector(doc, vector)
            let level = level(for: doc)
            storage.addNode(doc, level: level)
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
                    try storage.setNeighbors(doc, level: l, selected)
                    let maxDegree = l == 0 ? 2 * m : m
                    for n in selected {
                        try storage.neighbors(n, level: l, into: &list)
                        list.append(doc)
                        if list.count > maxDegree, let nv = try storage.vector(n) {
                            var candidates: [HNSWSearch.Candidate] = []
                            candidates.reserveCapacity(list.count)
                            for other in list {
                                if let ov = try storage.vector(other) {
                                    candidates.append(.init(distance: VectorDistance.distance(backend.distance, nv, ov), doc: other))
                                }
                            }
                            candidates.sort()
                            list = try search.selectNeighbors(candidates, m: maxDegree, storage)
                        }
                        try storage.setNeighbors(n, level: l, list)
                    }
                    entries = found
                }
            }
            if level > meta.maxLevel {
                meta.entry = doc
                meta.maxLevel = level
            }
        }
        try storage.flush()
        try txn.put(tables.graphMeta, key.meta, meta.encoded())
        return (meta, storage.changes)
    }
}
