/// Matching documents of one shard in ascending internal number, each with its score.
struct ScoredDocs {
    var docs: [UInt32] = []
    var scores: [Float] = []

    var count: Int { docs.count }

    mutating func append(_ doc: UInt32, _ score: Float) {
        docs.append(doc)
        scores.append(score)
    }

    /// Documents in both; scores added.
    func intersect(_ other: ScoredDocs) -> ScoredDocs {
        var out = ScoredDocs()
        var i = 0, j = 0
        while i < docs.count && j < other.docs.count {
            if docs[i] == other.docs[j] {
                out.append(docs[i], scores[i] + other.scores[j])
                i += 1; j += 1
            } else if docs[i] < other.docs[j] { i += 1 } else { j += 1 }
        }
        return out
    }

    /// Documents in either; scores of those in both added.
    func union(_ other: ScoredDocs) -> ScoredDocs {
        var out = ScoredDocs()
        out.docs.reserveCapacity(docs.count + other.docs.count)
        out.scores.reserveCapacity(docs.count + other.docs.count)
        var i = 0, j = 0
        while i < docs.count || j < other.docs.count {
            if j >= other.docs.count || (i < docs.count && docs[i] < other.docs[j]) {
                out.append(docs[i], scores[i]); i += 1
            } else if i >= docs.count || other.docs[j] < docs[i] {
                out.append(other.docs[j], other.scores[j]); j += 1
            } else {
                out.append(docs[i], scores[i] + other.scores[j]); i += 1; j += 1
            }
        }
        return out
    }

    /// Documents of self not in other; scores kept.
    func subtract(_ other: ScoredDocs) -> ScoredDocs {
        var out = ScoredDocs()
        var j = 0
        for (i, doc) in docs.enumerated() {
            while j < other.docs.count && other.docs[j] < doc { j += 1 }
            if j < other.docs.count && other.docs[j] == doc { continue }
            out.append(doc, scores[i])
        }
        return out
    }

    /// Self's documents, plus the scores of `other` where it also matches (optional clauses).
    func addingScores(of other: ScoredDocs) -> ScoredDocs {
        var out = self
        var j = 0
        for (i, doc) in docs.enumerated() {
            while j < other.docs.count && other.docs[j] < doc { j += 1 }
            if j < other.docs.count && other.docs[j] == doc { out.scores[i] += other.scores[j] }
        }
        return out
    }

    func scaled(_ factor: Float) -> ScoredDocs {
        var out = self
        for i in out.scores.indices { out.scores[i] *= factor }
        return out
    }
}
