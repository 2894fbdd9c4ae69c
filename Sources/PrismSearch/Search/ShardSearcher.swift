/// Evaluates a search plan on one shard with collection-wide statistics.
struct ShardSearcher {
    let reader: ShardReader
    let statistics: CollectionStatistics
    let k1: Float
    let b: Float

    func evaluate(_ plan: SearchPlan) throws -> ScoredDocs {
        switch plan {
        case .none:
            return ScoredDocs()
        case .all:
            return try constantScore { _ in true }
        case .exists(let field):
            let fields = reader.fieldTypes
            if field < fields.count, DocValues.supports(fields[field]) {
                let column = reader.values(field: field)
                return try constantScore { doc in try reader.value(column, field: field, doc: doc) != nil }
            }
            return try constantScore { doc in try reader.normID(field: field, doc: doc) > 0 }
        case .range(let field, let type, let lower, let upper, let includeLower, let includeUpper):
            let column = reader.values(field: field)
            return try constantScore { doc in
                guard let v = try reader.value(column, field: field, doc: doc) else { return false }
                if let lower {
                    let c = DocValues.compare(v, lower, as: type)
                    if c < 0 || (c == 0 && !includeLower) { return false }
                }
                if let upper {
                    let c = DocValues.compare(v, upper, as: type)
                    if c > 0 || (c == 0 && !includeUpper) { return false }
                }
                return true
            }
        case .term(let field, let term, let boost):
            return try termDocs(field: field, term: term, boost: boost)
        case .phrase(let field, let terms, let offsets, let boost):
            return try phraseDocs(field: field, terms: terms, offsets: offsets, boost: boost)
        case .boost(let inner, let factor):
            return try evaluate(inner).scaled(factor)
        case .boolean(let must, let should, let mustNot):
            var result: ScoredDocs
            if must.count >= 2, let terms = ShardSearcher.termsOnly(must), let leapfrog = try conjunction(terms) {
                result = leapfrog
                for clause in should where result.count > 0 {
                    result = result.addingScores(of: try evaluate(clause))
                }
            } else if let first = must.first {
                result = try evaluate(first)
                for clause in must.dropFirst() {
                    if result.count == 0 { break }
                    result = result.intersect(try evaluate(clause))
                }
                for clause in should where result.count > 0 {
                    result = result.addingScores(of: try evaluate(clause))
                }
            } else {
                result = ScoredDocs()
                for clause in should { result = result.union(try evaluate(clause)) }
            }
            for clause in mustNot where result.count > 0 {
                result = result.subtract(try evaluate(clause))
            }
            return result
        }
    }

    /// The k nearest live documents to `query` (already prepared for the metric) that `accept`
    /// lets through: exact when the shard is small or few documents qualify, HNSW otherwise, with
    /// the filter applied during the graph walk.
    func nearest(_ query: [Float], backend: CollectionSchema.VectorBackend, k: Int, ef: Int,
                 allowed: Set<UInt32>?) throws -> [HNSWSearch.Candidate] {
        let meta = try reader.graphMeta()
        guard meta.count > 0, k > 0 else { return [] }
        // The graph in memory may be newer than this snapshot: documents numbered from the
        // snapshot's next number on were committed after it and are walked through, never returned
        // (their hits would find no id here, and the search would come back short).
        let bound = reader.meta.nextDocnum
        let accept: (UInt32) throws -> Bool = { doc in
            if doc >= bound { return false }
            if let allowed, !allowed.contains(doc) { return false }
            return try !reader.isDeleted(doc)
        }
        let search = HNSWSearch(metric: backend.distance)
        return try query.withUnsafeBufferPointer { q in
            if meta.count <= ShardSearcher.exactSearchBelow || (allowed.map { $0.count <= ShardSearcher.exactSearchBelow } ?? false) {
                var best = CandidateHeap(nearestFirst: false)
                try reader.forEachVector { doc, v in
                    guard try accept(doc) else { return }
                    let c = HNSWSearch.Candidate(distance: VectorDistance.distance(backend.distance, v, q), doc: doc)
                    if best.count < k { best.push(c) } else if let worst = best.top, c < worst { _ = best.pop(); best.push(c) }
                }
                return best.items.sorted()
            }
            guard let entryVector = try reader.vector(meta.entry) else { return [] }
            let entry = HNSWSearch.Candidate(distance: VectorDistance.distance(backend.distance, entryVector, q), doc: meta.entry)
            // `current`: the graph walked is exactly this snapshot's, so without a filter or
            // deletions every document it reaches is accepted (no call per candidate).
            func walk<S: HNSWStorage>(_ storage: S, current: Bool) throws -> [HNSWSearch.Candidate] {
                var ep = entry
                var level = meta.maxLevel
                while level > 0 {
                    ep = try search.greedy(q, from: ep, level: level, storage)
                    level -= 1
                }
                let filter = current && allowed == nil && !reader.hasDeletions ? nil : accept
                return Array(try search.searchLayer(q, entries: [ep], ef: max(ef, k), level: 0, storage, accept: filter).prefix(k))
            }
            guard let memory = reader.vectorMemory else { return try walk(reader, current: true) }
            if memory.graph.currentVersion < meta.count {
                try memory.graph.reload(to: meta.count) { body in try reader.forEachGraphNode(body) }
            }
            return try memory.graph.withView { view, version in
                version >= meta.count
                    ? try walk(MemoryGraphStorage(graph: view, vectors: memory.vectors, reader: reader), current: version == meta.count)
                    : try walk(reader, current: true)
            }
        }
    }

    /// Below this many vectors (in the shard, or passing the filter) search is exact.
    static let exactSearchBelow: UInt32 = 1000

    /// The plans' terms when every plan is a single term.
    static func termsOnly(_ plans: [SearchPlan]) -> [(field: Int, term: [UInt8], boost: Float)]? {
        var out: [(field: Int, term: [UInt8], boost: Float)] = []
        for plan in plans {
            guard case .term(let field, let term, let boost) = plan else { return nil }
            out.append((field, term, boost))
        }
        return out
    }

    /// Documents with every term, found by leapfrogging cursors from the rarest term (blocks of
    /// common terms that cannot hold its documents are skipped undecoded); scores add.
    /// Nil when the terms are about equally common: then merging whole lists is cheaper.
    private func conjunction(_ terms: [(field: Int, term: [UInt8], boost: Float)]) throws -> ScoredDocs? {
        let cursors = try terms.map { try PostingsCursor(reader: reader, field: $0.field, term: $0.term) }
        let counts = cursors.map(\.count).sorted()
        guard ShardSearcher.leapfrogPays(rarest: counts[0], next: counts[1]) else { return terms.count == 2 ? try mergedPair(terms[0], terms[1]) : nil }
        let scorers = terms.map { scorer(field: $0.field, idf: statistics.idf(.init(field: $0.field, term: $0.term)), boost: $0.boost) }
        let norms = terms.map { reader.norms(field: $0.field) }
        var out = ScoredDocs()
        if cursors.count == 2 {
            // Two terms, the common case: cursors, scorers and columns in locals.
            let (first, second) = (cursors[0], cursors[1])
            let (scoreFirst, scoreSecond) = (scorers[0], scorers[1])
            let (normsFirst, normsSecond) = (norms[0], norms[1])
            let (fieldFirst, fieldSecond) = (terms[0].field, terms[1].field)
            try leapfrogPair(first, second) { target in
                out.append(target, scoreFirst.score(frequency: try first.frequency(), normID: try reader.normID(normsFirst, field: fieldFirst, doc: target))
                               + scoreSecond.score(frequency: try second.frequency(), normID: try reader.normID(normsSecond, field: fieldSecond, doc: target)))
            }
            return out
        }
        try leapfrog(cursors) { target in
            var score: Float = 0
            for (i, cursor) in cursors.enumerated() {
                score += scorers[i].score(frequency: try cursor.frequency(), normID: try reader.normID(norms[i], field: terms[i].field, doc: target))
            }
            out.append(target, score)
        }
        return out
    }

    /// Whether an AND should leapfrog from its rarest term rather than merge whole lists: when
    /// the next rarest is far more common, seeking into it skips most of its blocks. A leapfrog
    /// step per document of the rarest costs about what the merge pays for 30 postings (single
    /// queries on the natural corpus: at a ratio of 10 merging was as fast or faster, at 4.2 it
    /// was 1.9 times as fast; at 38–40 leapfrogging was faster).
    static func leapfrogPays(rarest: Int, next: Int) -> Bool { rarest * 32 < next }

    /// Top k of an AND of two terms (scores add) and the exact number of matches, without
    /// materializing every match: a rare and a common term leapfrog; two about equally common
    /// terms are merged block by block, and where the two current blocks' best possible scores
    /// (their envelopes) cannot add up to the collector's threshold the shared documents are
    /// only counted, never scored.
    func topConjunctionPair(_ x: (field: Int, term: [UInt8], boost: Float), _ y: (field: Int, term: [UInt8], boost: Float),
                            collector: inout TopKCollector) throws -> Int {
        let scoreA = scorer(field: x.field, idf: statistics.idf(.init(field: x.field, term: x.term)), boost: x.boost)
        let scoreB = scorer(field: y.field, idf: statistics.idf(.init(field: y.field, term: y.term)), boost: y.boost)
        var (normsA, normsB) = (NormCursor(reader.norms(field: x.field)), NormCursor(reader.norms(field: y.field)))
        let (countA, countB) = (try reader.documentFrequency(field: x.field, term: x.term), try reader.documentFrequency(field: y.field, term: y.term))
        var total = 0
        if ShardSearcher.leapfrogPays(rarest: Int(min(countA, countB)), next: Int(max(countA, countB))) {
            let first = try PostingsCursor(reader: reader, field: x.field, term: x.term)
            let second = try PostingsCursor(reader: reader, field: y.field, term: y.term)
            // Where the two current blocks' best possible scores cannot add up to the threshold,
            // a shared document is only counted: its frequencies are never decoded.
            var (enteredA, enteredB) = (-1, -1)
            var (boundA, boundB) = (Float.infinity, Float.infinity)
            try leapfrogPair(first, second) { target in
                total += 1
                if collector.isFull {
                    if first.blocksEntered != enteredA {
                        enteredA = first.blocksEntered
                        boundA = first.blockEnvelope().map { $0.bound(scoreA) } ?? .infinity
                    }
                    if second.blocksEntered != enteredB {
                        enteredB = second.blocksEntered
                        boundB = second.blockEnvelope().map { $0.bound(scoreB) } ?? .infinity
                    }
                    if boundA + boundB < collector.threshold { return }
                }
                try collector.offer(target, scoreA.score(frequency: try first.frequency(), normID: try normsA.normID(target))
                                        + scoreB.score(frequency: try second.frequency(), normID: try normsB.normID(target)))
            }
            return total
        }
        let a = try BlockStream(reader: reader, field: x.field, term: x.term)
        let b = try BlockStream(reader: reader, field: y.field, term: y.term)
        var boundA = Float.infinity, boundB = Float.infinity
        var countOnly = false
        try forEachSharedDocument(a, b, entered: { stream in
            if stream === a { boundA = a.block.envelope().map { $0.bound(scoreA) } ?? .infinity }
            if stream === b { boundB = b.block.envelope().map { $0.bound(scoreB) } ?? .infinity }
        }, overlapping: {
            // Nothing shared by these two blocks can enter the top k: count, do not score.
            countOnly = collector.isFull && boundA + boundB < collector.threshold
        }, shared: { p, i, j in
            total += 1
            if !countOnly {
                try collector.offer(p, scoreA.score(frequency: try a.frequency(at: i), normID: try normsA.normID(p))
                                       + scoreB.score(frequency: try b.frequency(at: j), normID: try normsB.normID(p)))
            }
        })
        return total
    }

    /// Merges two streams block by block and calls `shared` with every live document both hold
    /// (and its index in each current block). A whole block that ends before the other side's
    /// current document is passed at once. `entered` runs when a stream moves to a new block,
    /// `overlapping` before the documents of two overlapping current blocks are merged.
    @inline(__always)
    private func forEachSharedDocument(_ a: BlockStream, _ b: BlockStream, entered: (BlockStream) -> Void, overlapping: () -> Void,
                                       shared: (UInt32, Int, Int) throws -> Void) throws {
        guard try a.next(), try b.next() else { return }
        entered(a)
        entered(b)
        var i = 0, j = 0
        while true {
            if i == a.block.count {
                guard try a.next() else { break }
                i = 0
                entered(a)
            }
            if j == b.block.count {
                guard try b.next() else { break }
                j = 0
                entered(b)
            }
            let (da, db, na, nb) = (a.block.docs, b.block.docs, a.block.count, b.block.count)
            if da[na - 1] < db[j] {
                i = na
                continue
            }
            if db[nb - 1] < da[i] {
                j = nb
                continue
            }
            overlapping()
            while i < na && j < nb {
                let (p, q) = (da[i], db[j])
                if p < q {
                    i += 1
                } else if q < p {
                    j += 1
                } else {
                    if try !reader.isDeleted(p) { try shared(p, i, j) }
                    i += 1
                    j += 1
                }
            }
        }
    }

    /// Documents with both terms when both are about equally common: both lists are read once,
    /// block by block, and merged; only the documents in both are scored.
    private func mergedPair(_ x: (field: Int, term: [UInt8], boost: Float), _ y: (field: Int, term: [UInt8], boost: Float)) throws -> ScoredDocs {
        let a = try BlockStream(reader: reader, field: x.field, term: x.term)
        let b = try BlockStream(reader: reader, field: y.field, term: y.term)
        let scoreA = scorer(field: x.field, idf: statistics.idf(.init(field: x.field, term: x.term)), boost: x.boost)
        let scoreB = scorer(field: y.field, idf: statistics.idf(.init(field: y.field, term: y.term)), boost: y.boost)
        var (normsA, normsB) = (NormCursor(reader.norms(field: x.field)), NormCursor(reader.norms(field: y.field)))
        var out = ScoredDocs()
        try forEachSharedDocument(a, b, entered: { _ in }, overlapping: {}, shared: { p, i, j in
            out.append(p, scoreA.score(frequency: try a.frequency(at: i), normID: try normsA.normID(p))
                          + scoreB.score(frequency: try b.frequency(at: j), normID: try normsB.normID(p)))
        })
        return out
    }

    /// `leapfrog` for two cursors, kept in locals (the common case; no array traffic per candidate).
    private func leapfrogPair(_ first: PostingsCursor, _ second: PostingsCursor, _ body: (UInt32) throws -> Void) throws {
        let (lead, other) = first.count <= second.count ? (first, second) : (second, first)
        var candidate = try lead.next()
        while let target = candidate {
            guard let d = try other.advance(to: target) else { break }
            if d != target {
                candidate = try lead.advance(to: d)
                continue
            }
            if try !reader.isDeleted(target) { try body(target) }
            candidate = try lead.next()
        }
    }

    /// Calls `body` with every live document all cursors share, in order, each cursor standing on
    /// it: the rarest cursor leads and the others seek to its documents.
    private func leapfrog(_ cursors: [PostingsCursor], _ body: (UInt32) throws -> Void) throws {
        let lead = cursors.indices.min { cursors[$0].count < cursors[$1].count } ?? 0
        var candidate = try cursors[lead].next()
        outer: while let target = candidate {
            var aligned = target
            for c in cursors.indices where c != lead {
                guard let d = try cursors[c].advance(to: aligned) else { break outer }
                if d > aligned { aligned = d }
            }
            if aligned != target {
                candidate = try cursors[lead].advance(to: aligned)
                continue
            }
            if try !reader.isDeleted(target) { try body(target) }
            candidate = try cursors[lead].next()
        }
    }

    private func constantScore(_ include: (UInt32) throws -> Bool) throws -> ScoredDocs {
        var out = ScoredDocs()
        for doc in 0..<reader.meta.nextDocnum where try !reader.isDeleted(doc) {
            if try include(doc) { out.append(doc, 1) }
        }
        return out
    }

    private func scorer(field: Int, idf: Float, boost: Float) -> Bm25 {
        Bm25(idf: idf, averageLength: statistics.averageFieldLength(field), k1: k1, b: b, boost: boost)
    }

    private func termDocs(field: Int, term: [UInt8], boost: Float) throws -> ScoredDocs {
        let bm25 = scorer(field: field, idf: statistics.idf(.init(field: field, term: term)), boost: boost)
        let norms = reader.norms(field: field)
        var out = ScoredDocs()
        let df = Int(try reader.documentFrequency(field: field, term: term))
        out.docs.reserveCapacity(df)
        out.scores.reserveCapacity(df)
        try reader.forEachBlock(field: field, term: term) { docs, frequencies in
            for i in docs.indices where try !reader.isDeleted(docs[i]) {
                out.append(docs[i], bm25.score(frequency: frequencies[i], normID: try reader.normID(norms, field: field, doc: docs[i])))
            }
        }
        return out
    }

    /// Top k of a single-term query without scoring every posting: a block whose best possible
    /// score (its score envelope, in the block's key) cannot enter the top k is only
    /// counted, its value never read. Returns the best matches and the exact number of matches.
    func topTerm(field: Int, term: [UInt8], boost: Float, collector: inout TopKCollector) throws -> Int {
        let bm25 = scorer(field: field, idf: statistics.idf(.init(field: field, term: term)), boost: boost)
        var norms = NormCursor(reader.norms(field: field))
        var docs: [UInt32] = [], frequencies: [UInt32] = []
        docs.reserveCapacity(PostingsBlock.capacity)
        frequencies.reserveCapacity(PostingsBlock.capacity)
        var total = 0
        // State goes in and out as parameters: a nested function called from closures would
        // box every variable it captures, and this is the loop over every block of the term.
        func visit(_ count: Int, envelope: ScoreEnvelope, _ block: () throws -> UnsafeRawBufferPointer, _ collector: inout TopKCollector,
                   _ norms: inout NormCursor, _ docs: inout [UInt32], _ frequencies: inout [UInt32], _ total: inout Int) throws {
            let skip = collector.isFull && envelope.bound(bm25) < collector.threshold
            if skip && !reader.hasDeletions {
                total += count
                return
            }
            guard PostingsBlock.decode(try block(), docs: &docs, frequencies: &frequencies) else { throw reader.corruptBlock() }
            guard reader.hasDeletions else {
                total += docs.count
                for i in 0..<min(docs.count, frequencies.count) {
                    try collector.offer(docs[i], bm25.score(frequency: frequencies[i], normID: try norms.normID(docs[i])))
                }
                return
            }
            for i in docs.indices where try !reader.isDeleted(docs[i]) {
                total += 1
                if !skip {
                    try collector.offer(docs[i], bm25.score(frequency: frequencies[i], normID: try norms.normID(docs[i])))
                }
            }
        }
        try reader.forEachStoredBlock(field: field, term: term) { summary, block in
            try visit(summary.count, envelope: summary.envelope, block, &collector, &norms, &docs, &frequencies, &total)
        }
        for block in reader.buffered(field: field, term: term)?.blocks ?? [] {
            try block.postings.withUnsafeBytes { v in
                guard let header = PostingsBlock.header(v) else { throw reader.corruptBlock() }
                try visit(header.count, envelope: header.envelope, { v }, &collector, &norms, &docs, &frequencies, &total)
            }
        }
        return total
    }

    /// Top k of an OR of terms (scores add) through a dense accumulator indexed by document
    /// number: each posting is one add, with no list merging; returns the exact match count.
    func topDisjunction(_ terms: [(field: Int, term: [UInt8], boost: Float)], collector: inout TopKCollector) throws -> Int {
        let size = Int(reader.meta.nextDocnum)
        var scores = [Float](repeating: 0, count: size)
        var seen = [UInt64](repeating: 0, count: size / 64 + 1)
        try scores.withUnsafeMutableBufferPointer { acc in
            try seen.withUnsafeMutableBufferPointer { bits in
                for t in terms {
                    let bm25 = scorer(field: t.field, idf: statistics.idf(.init(field: t.field, term: t.term)), boost: t.boost)
                    var norms = NormCursor(reader.norms(field: t.field))
                    try reader.forEachBlock(field: t.field, term: t.term) { docs, frequencies in
                        try docs.withUnsafeBufferPointer { docs in
                            try frequencies.withUnsafeBufferPointer { frequencies in
                                for i in 0..<min(docs.count, frequencies.count) {
                                    let d = Int(docs[i])
                                    guard d < size else { continue }
                                    acc[d] += bm25.score(frequency: frequencies[i], normID: try norms.normID(docs[i]))
                                    bits[d >> 6] |= UInt64(1) << UInt64(d & 63)
                                }
                            }
                        }
                    }
                }
            }
        }
        var total = 0
        for (w, word) in seen.enumerated() where word != 0 {
            var rest = word
            while rest != 0 {
                let d = w * 64 + rest.trailingZeroBitCount
                rest &= rest - 1
                if try reader.isDeleted(UInt32(d)) { continue }
                total += 1
                try collector.offer(UInt32(d), scores[d])
            }
        }
        return total
    }

    /// Documents where the terms occur at their relative offsets; scored with the phrase count as
    /// the frequency and the sum of the terms' idf, as Tantivy does. The rarest term leads and the
    /// others skip to its documents; positions are decoded only for documents holding every term.
    private func phraseDocs(field: Int, terms: [[UInt8]], offsets: [UInt32], boost: Float) throws -> ScoredDocs {
        let cursors = try terms.map { try PostingsCursor(reader: reader, field: field, term: $0) }
        let idf = terms.reduce(Float(0)) { $0 + statistics.idf(.init(field: field, term: $1)) }
        let bm25 = scorer(field: field, idf: idf, boost: boost)
        let norms = reader.norms(field: field)
        var out = ScoredDocs()
        if cursors.count == 2 {
            // Two words, the common case: the cursors stay in locals (no array traffic per candidate).
            let (first, second) = (cursors[0], cursors[1])
            let gap = offsets[1] &- offsets[0]
            try leapfrogPair(first, second) { target in
                let matches = try ShardSearcher.pairMatches(first, second, gap: gap)
                if matches > 0 {
                    out.append(target, bm25.score(frequency: matches, normID: try reader.normID(norms, field: field, doc: target)))
                }
            }
            return out
        }
        try leapfrog(cursors) { target in
            let matches = try phraseMatches(cursors, offsets)
            if matches > 0 {
                out.append(target, bm25.score(frequency: matches, normID: try reader.normID(norms, field: field, doc: target)))
            }
        }
        return out
    }

    /// How many start positions of the first term have every other term at its offset. Walks
    /// the sorted position lists together; two-word phrases (the common case) allocate nothing.
    /// Start positions of `a` with `b` at `gap` after them, both cursors on the same document.
    private static func pairMatches(_ a: PostingsCursor, _ b: PostingsCursor, gap: UInt32) throws -> UInt32 {
        try a.withPositions { first in
            try b.withPositions { second in
                var matches: UInt32 = 0
                var j = 0
                for start in first {
                    let wanted: UInt32 = start &+ gap
                    while j < second.count, second[j] < wanted { j += 1 }
                    if j == second.count { break }
                    if second[j] == wanted { matches += 1 }
                }
                return matches
            }
        }
    }

    private func phraseMatches(_ cursors: [PostingsCursor], _ offsets: [UInt32]) throws -> UInt32 {
        if cursors.count == 2 { return try ShardSearcher.pairMatches(cursors[0], cursors[1], gap: offsets[1] &- offsets[0]) }
        let first = try cursors[0].positions()
        var lists: [[UInt32]] = []
        for cursor in cursors { lists.append(try cursor.positions()) }
        var pointers = [Int](repeating: 0, count: cursors.count)
        var matches: UInt32 = 0
        for start in first {
            var ok = true
            for t in 1..<cursors.count {
                let list = lists[t]
                let wanted: UInt32 = start &+ offsets[t] &- offsets[0]
                var p: Int = pointers[t]
                while p < list.count, list[p] < wanted { p += 1 }
                pointers[t] = p
                if p >= list.count || list[p] != wanted {
                    ok = false
                    break
                }
            }
            if ok { matches += 1 }
        }
        return matches
    }
}
