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

/// The k best of a shard's matches, best first.
enum TopK {
    static func select(_ matches: ScoredDocs, k: Int, tieKey: (UInt32) throws -> UInt64) rethrows -> [RankedDoc] {
        guard k > 0, matches.count > 0 else { return [] }
        let better = RankedDoc.better
        if matches.count <= k {
            var all: [RankedDoc] = []
            all.reserveCapacity(matches.count)
            for i in 0..<matches.count { all.append(RankedDoc(doc: matches.docs[i], score: matches.scores[i], tie: try tieKey(matches.docs[i]))) }
            return all.sorted(by: better)
        }
        // A min-heap of the k best seen so far: its root is the worst of them.
        var heap: [RankedDoc] = []
        heap.reserveCapacity(k)
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var worst = i
                if l < heap.count && better(heap[worst], heap[l]) { worst = l }
                if r < heap.count && better(heap[worst], heap[r]) { worst = r }
                if worst == i { return }
                heap.swapAt(i, worst)
                i = worst
            }
        }
        func siftUp(_ start: Int) {
            var i = start
            while i > 0 {
                let parent = (i - 1) / 2
                if better(heap[parent], heap[i]) { heap.swapAt(parent, i); i = parent } else { return }
            }
        }
        for i in 0..<matches.count {
            // The tie key is read only when the score alone cannot decide.
            if heap.count == k && matches.scores[i] < heap[0].score { continue }
            let candidate = RankedDoc(doc: matches.docs[i], score: matches.scores[i], tie: try tieKey(matches.docs[i]))
            if heap.count < k {
                heap.append(candidate)
                siftUp(heap.count - 1)
            } else if better(candidate, heap[0]) {
                heap[0] = candidate
                siftDown(0)
            }
        }
        return heap.sorted(by: better)
    }
}
