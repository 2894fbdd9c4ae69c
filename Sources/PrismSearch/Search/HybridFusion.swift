/// Fuses a text ranking and a vector ranking (each best first) into one.
enum HybridFusion {
    typealias Entry = (ranked: RankedDoc, shard: Int)

    private struct Key: Hashable {
        let shard: Int
        let doc: UInt32
    }

    /// RRF: Σ 1/(k + rank) over the lists a document is in, rank from 1. Weighted: each list's
    /// scores divided by its maximum, then `textWeight·t + vectorWeight·v`.
    static func fuse(text: [Entry], vector: [Entry], strategy: CollectionSchema.MergeStrategy,
                     rrfK: Double, textWeight: Double, vectorWeight: Double) -> [Entry] {
        var fused: [Key: (score: Double, entry: Entry)] = [:]
        func add(_ list: [Entry], _ contribution: (Int, Entry) -> Double) {
            for (i, entry) in list.enumerated() {
                let key = Key(shard: entry.shard, doc: entry.ranked.doc)
                fused[key, default: (0, entry)].score += contribution(i, entry)
            }
        }
        switch strategy {
        case .rrf:
            add(text) { rank, _ in 1 / (rrfK + Double(rank + 1)) }
            add(vector) { rank, _ in 1 / (rrfK + Double(rank + 1)) }
        case .weighted:
            let textMax = Double(text.map(\.ranked.score).max() ?? 0)
            let vectorMax = Double(vector.map(\.ranked.score).max() ?? 0)
            add(text) { _, e in textMax > 0 ? textWeight * Double(e.ranked.score) / textMax : 0 }
            add(vector) { _, e in vectorMax > 0 ? vectorWeight * Double(e.ranked.score) / vectorMax : 0 }
        }
        return fused.values.map { value -> Entry in
            var entry = value.entry
            entry.ranked.score = Float(value.score)
            return entry
        }.sorted { RankedDoc.better($0.ranked, $1.ranked) }
    }
}
