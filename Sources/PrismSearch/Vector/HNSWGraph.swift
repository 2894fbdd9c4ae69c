import CPrefetch
import PrismStorage

/// Where the graph's vectors and nodes are read from (and, when building, written to).
protocol HNSWStorage {
    /// Exclusive upper bound of document numbers (sizes the visited set).
    var documentBound: UInt32 { get }
    /// The stored vector bytes of a document (valid while the storage is).
    func vector(_ doc: UInt32) throws -> UnsafeRawBufferPointer?
    func neighbors(_ doc: UInt32, level: Int, into out: inout [UInt32]) throws
    /// Starts loading what `neighbors(doc, level: 0)` will read (a hint; may do nothing).
    func prefetchNeighbors(_ doc: UInt32)
    /// Calls `body` with the neighbors in place where the storage can (no copy per expansion).
    func withNeighbors<R>(_ doc: UInt32, level: Int, _ body: (UnsafeBufferPointer<UInt32>) throws -> R) throws -> R
}

extension HNSWStorage {
    func prefetchNeighbors(_ doc: UInt32) {}

    func withNeighbors<R>(_ doc: UInt32, level: Int, _ body: (UnsafeBufferPointer<UInt32>) throws -> R) throws -> R {
        var list: [UInt32] = []
        try neighbors(doc, level: level, into: &list)
        return try list.withUnsafeBufferPointer(body)
    }
}

/// Hierarchical navigable small-world graph (Malkov & Yashunin 2016): greedy descent through the
/// upper levels, best-first search with a dynamic candidate list (`ef`) on the bottom level, and
/// neighbor selection by the paper's heuristic (keep a candidate only if it is closer to the new
/// node than to every neighbor already kept), which keeps the graph navigable on clustered data.
struct HNSWSearch {
    let metric: CollectionSchema.Distance
    /// Reused by every walk of this search (a search serves one thread at a time).
    let scratch = WalkScratch()

    struct Candidate: Comparable {
        var distance: Float
        var doc: UInt32
        static func < (a: Candidate, b: Candidate) -> Bool { a.distance != b.distance ? a.distance < b.distance : a.doc < b.doc }
    }

    /// Greedy walk to the closest node at one level.
    func greedy<S: HNSWStorage>(_ query: UnsafeBufferPointer<Float>, from entry: Candidate, level: Int, _ storage: S) throws -> Candidate {
        var best = entry
        var neighbors: [UInt32] = []
        var improved = true
        while improved {
            improved = false
            try storage.neighbors(best.doc, level: level, into: &neighbors)
            for n in neighbors {
                guard let v = try storage.vector(n) else { continue }
                let d = VectorDistance.distance(metric, v, query)
                if d < best.distance {
                    best = Candidate(distance: d, doc: n)
                    improved = true
                }
            }
        }
        return best
    }

    /// Best-first search at one level; returns up to `ef` closest, nearest first. `accept` (nil: all) marks
    /// documents allowed in the result (filters, deletions); others are still walked through.
    func searchLayer<S: HNSWStorage>(_ query: UnsafeBufferPointer<Float>, entries: [Candidate], ef: Int, level: Int, _ storage: S,
                     accept: ((UInt32) throws -> Bool)? = nil) throws -> [Candidate] {
        scratch.startWalk(bound: storage.documentBound)
        for e in entries { _ = scratch.visit(e.doc) }
        var candidates = CandidateHeap(nearestFirst: true)
        var results = CandidateHeap(nearestFirst: false)
        for e in entries {
            candidates.push(e)
            if try accept?(e.doc) ?? true { results.push(e) }
        }
        // The worst kept distance, mirrored in a local so the loop never unwraps the heap's top.
        var worst = results.count >= ef ? results.top?.distance ?? .infinity : .infinity
        let scratch = self.scratch
        while let nearest = candidates.pop() {
            if nearest.distance > worst { break }
            // The next expansion is most likely the new nearest candidate: its list loads while
            // this one's neighbors are measured (prefetching every pushed candidate's list wastes
            // the memory system on the many that are never expanded).
            if level == 0, let next = candidates.top { storage.prefetchNeighbors(next.doc) }
            // Unvisited neighbors' vectors are requested from memory all at once before any is
            // read, so their cache misses overlap instead of queueing one after another.
            let pending = try storage.withNeighbors(nearest.doc, level: level) { neighbors in
                scratch.reservePending(neighbors.count)
                var count = 0
                for n in neighbors where scratch.visit(n) {
                    guard let v = try storage.vector(n), let address = v.baseAddress else { continue }
                    for line in Swift.stride(from: 0, to: v.count, by: 64) { prism_prefetch(address + line) }
                    scratch.pendingDocs[count] = n
                    scratch.pendingVectors[count] = v
                    count += 1
                }
                return count
            }
            for i in 0..<pending {
                let n = scratch.pendingDocs[i]
                let d = VectorDistance.distance(metric, scratch.pendingVectors[i], query)
                guard d < worst else { continue }
                let c = Candidate(distance: d, doc: n)
                candidates.push(c)
                if try accept?(n) ?? true {
                    if results.count < ef { results.push(c) } else { results.replaceTop(c) }
                    if results.count >= ef { worst = results.top?.distance ?? .infinity }
                }
            }
        }
        return results.items.sorted()
    }

    /// The paper's neighbor-selection heuristic over candidates sorted nearest first.
    func selectNeighbors<S: HNSWStorage>(_ candidates: [Candidate], m: Int, _ storage: S) throws -> [UInt32] {
        var kept: [UnsafeRawBufferPointer] = []
        var result: [UInt32] = []
        for c in candidates {
            if result.count >= m { break }
            guard let v = try storage.vector(c.doc) else { continue }
            if !kept.contains(where: { VectorDistance.distance(metric, $0, v) < c.distance }) {
                kept.append(v)
                result.append(c.doc)
            }
        }
        return result
    }
}

/// A binary heap of candidates, nearest or farthest on top (not generic, so it specializes).
struct CandidateHeap {
    private(set) var items: [HNSWSearch.Candidate] = []
    let nearestFirst: Bool

    init(nearestFirst: Bool) {
        self.nearestFirst = nearestFirst
        items.reserveCapacity(256)
    }

    var count: Int { items.count }
    var top: HNSWSearch.Candidate? { items.first }

    @inline(__always)
    private static func above(_ a: HNSWSearch.Candidate, _ b: HNSWSearch.Candidate, _ nearestFirst: Bool) -> Bool {
        nearestFirst ? a < b : b < a
    }

    mutating func push(_ x: HNSWSearch.Candidate) {
        items.append(x)
        let nearestFirst = self.nearestFirst
        items.withUnsafeMutableBufferPointer { h in
            var i = h.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                guard CandidateHeap.above(x, h[p], nearestFirst) else { break }
                h[i] = h[p]
                i = p
            }
            h[i] = x
        }
    }

    mutating func pop() -> HNSWSearch.Candidate? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty { siftDown(last) }
        return first
    }

    /// Replaces the top with `x` (one sift instead of a pop and a push).
    mutating func replaceTop(_ x: HNSWSearch.Candidate) {
        guard !items.isEmpty else { return push(x) }
        siftDown(x)
    }

    /// Puts `x` at the root and sifts it down to its place.
    private mutating func siftDown(_ x: HNSWSearch.Candidate) {
        let nearestFirst = self.nearestFirst
        items.withUnsafeMutableBufferPointer { h in
            let n = h.count
            var i = 0
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                var m = l
                let r = l + 1
                if r < n && CandidateHeap.above(h[r], h[l], nearestFirst) { m = r }
                guard CandidateHeap.above(h[m], x, nearestFirst) else { break }
                h[i] = h[m]
                i = m
            }
            h[i] = x
        }
    }
}
