/// A match with its tie-break key.
struct RankedDoc {
    var doc: UInt32
    var score: Float
    var tie: UInt64

    /// Higher score first; equal scores by the id's hash, so the order is the same however the
    /// collection is sharded.
    @inline(__always)
    static func better(_ a: RankedDoc, _ b: RankedDoc) -> Bool {
        a.score != b.score ? a.score > b.score : a.tie < b.tie
    }
}

/// Keeps the k best matches offered to it: a min-heap whose root is the worst kept, so a new
/// match is compared with one element and the tie key is read only when scores are equal.
struct TopKCollector {
    let k: Int
    private(set) var heap: [RankedDoc] = []
    let tieKey: (UInt32) throws -> UInt64

    init(k: Int, tieKey: @escaping (UInt32) throws -> UInt64) {
        self.k = k
        self.tieKey = tieKey
        heap.reserveCapacity(min(k, 4096))
    }

    var isFull: Bool { heap.count >= k }
    /// The score a match must beat (or tie) to enter once full.
    var threshold: Float { heap.first?.score ?? -.infinity }

    mutating func offer(_ doc: UInt32, _ score: Float) throws {
        guard k > 0 else { return }
        if heap.count == k && score < heap[0].score { return }
        let candidate = RankedDoc(doc: doc, score: score, tie: try tieKey(doc))
        if heap.count < k {
            heap.append(candidate)
            siftUp(heap.count - 1)
        } else if RankedDoc.better(candidate, heap[0]) {
            heap[0] = candidate
            siftDown(0)
        }
    }

    func sorted() -> [RankedDoc] { heap.sorted(by: RankedDoc.better) }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var worst = i
            if l < heap.count && RankedDoc.better(heap[worst], heap[l]) { worst = l }
            if r < heap.count && RankedDoc.better(heap[worst], heap[r]) { worst = r }
            if worst == i { return }
            heap.swapAt(i, worst)
            i = worst
        }
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            if RankedDoc.better(heap[parent], heap[i]) { heap.swapAt(parent, i); i = parent } else { return }
        }
    }
}

enum TopK {
    /// The k best of a shard's matches, best first.
    static func select(_ matches: ScoredDocs, k: Int, tieKey: @escaping (UInt32) throws -> UInt64) throws -> [RankedDoc] {
        var collector = TopKCollector(k: k, tieKey: tieKey)
        for i in 0..<matches.count { try collector.offer(matches.docs[i], matches.scores[i]) }
        return collector.sorted()
    }
}
