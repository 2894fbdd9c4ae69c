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

/// Keeps the k best matches offered to it: a min-heap by score whose root is the worst kept.
///
/// Tie keys live in a column, so reading one costs a lookup, and with one-byte norms and small
/// term frequencies many matches score exactly the threshold. Those are not decided on arrival:
/// a match that equals the threshold waits in `tied`, and ties are read only when the waiting
/// list fills up or the result is taken, for the matches still tied with the worst kept. A match
/// scoring above the threshold pushes the threshold up and the waiting list is dropped unread.
struct TopKCollector {
    let k: Int
    /// The kept matches, a min-heap by score alone; `tie` is valid where `tieKnown` says so.
    private var heap: [RankedDoc] = []
    private var tieKnown: [Bool] = []
    /// Matches scoring exactly `threshold` that arrived once the heap was full.
    private var tied: [UInt32] = []
    let tieKey: (UInt32) throws -> UInt64
    /// How many matches may wait before their ties are read (bounds the collector's memory).
    let tiedLimit: Int

    init(k: Int, tiedLimit: Int = 4096, tieKey: @escaping (UInt32) throws -> UInt64) {
        self.k = k
        self.tieKey = tieKey
        self.tiedLimit = max(tiedLimit, 1)
        heap.reserveCapacity(min(k, 4096))
        tieKnown.reserveCapacity(min(k, 4096))
    }

    var isFull: Bool { heap.count >= k }
    /// The score a match must beat (or tie) to enter once full.
    var threshold: Float { heap.first?.score ?? -.infinity }

    @inline(__always)
    mutating func offer(_ doc: UInt32, _ score: Float) throws {
        if heap.count >= k {
            guard let root = heap.first, score >= root.score else { return }
        }
        try admit(doc, score)
    }

    private mutating func admit(_ doc: UInt32, _ score: Float) throws {
        guard k > 0, !score.isNaN else { return }
        if heap.count < k {
            heap.append(RankedDoc(doc: doc, score: score, tie: 0))
            tieKnown.append(false)
            siftUp(heap.count - 1)
            return
        }
        let floor = heap[0].score
        if score == floor {
            tied.append(doc)
            if tied.count >= tiedLimit { try settleTies() }
            return
        }
        // Above the threshold: the root leaves the heap, but it still ties with the new root
        // when their scores are equal, so it waits with the others.
        let leaving = heap[0]
        heap[0] = RankedDoc(doc: doc, score: score, tie: 0)
        tieKnown[0] = false
        siftDown(0)
        if heap[0].score == floor {
            tied.append(leaving.doc)
            if tied.count >= tiedLimit { try settleTies() }
        } else {
            tied.removeAll(keepingCapacity: true)
        }
    }

    /// Reads the ties of the kept matches at the threshold and of the waiting ones, and keeps
    /// the best of them in the heap; the waiting list is then empty.
    private mutating func settleTies() throws {
        guard !heap.isEmpty else { tied.removeAll(); return }
        let floor = heap[0].score
        var slots: [Int] = []
        var candidates: [RankedDoc] = []
        for i in heap.indices where heap[i].score == floor {
            slots.append(i)
            if !tieKnown[i] {
                heap[i].tie = try tieKey(heap[i].doc)
                tieKnown[i] = true
            }
            candidates.append(heap[i])
        }
        for doc in tied { candidates.append(RankedDoc(doc: doc, score: floor, tie: try tieKey(doc))) }
        tied.removeAll(keepingCapacity: true)
        guard candidates.count > slots.count else { return }
        candidates.sort { $0.tie < $1.tie }
        // Every slot holds the same score, so refilling them in place keeps the heap order.
        for (n, slot) in slots.enumerated() { heap[slot] = candidates[n] }
    }

    /// The kept matches, best first, each with its tie key.
    mutating func sorted() throws -> [RankedDoc] {
        try settleTies()
        for i in heap.indices where !tieKnown[i] {
            heap[i].tie = try tieKey(heap[i].doc)
            tieKnown[i] = true
        }
        return heap.sorted(by: RankedDoc.better)
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var worst = i
            if l < heap.count && heap[l].score < heap[worst].score { worst = l }
            if r < heap.count && heap[r].score < heap[worst].score { worst = r }
            if worst == i { return }
            heap.swapAt(i, worst)
            tieKnown.swapAt(i, worst)
            i = worst
        }
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[i].score < heap[parent].score {
                heap.swapAt(parent, i)
                tieKnown.swapAt(parent, i)
                i = parent
            } else { return }
        }
    }
}
