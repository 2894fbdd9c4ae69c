import PrismStorage

/// One term's postings not yet in LMDB blocks, in document order, packed in two arrays so that
/// appending a batch's postings to a buffered term is two array appends: per document
/// `doc << 32 | frequency << 8 | normID`, and all positions document after document (a document
/// has as many positions as its frequency).
struct PendingPostings {
    var entries: [UInt64] = []
    var positions: [UInt32] = []

    static let maxFrequency: UInt32 = (1 << 24) - 1

    var count: Int { entries.count }

    @inline(__always) static func doc(_ entry: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: entry >> 32) }
    @inline(__always) static func frequency(_ entry: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: entry >> 8) & maxFrequency }
    @inline(__always) static func normID(_ entry: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: entry) }

    /// Appends later documents' postings.
    mutating func append(entries moreEntries: UnsafeBufferPointer<UInt64>, positions morePositions: UnsafeBufferPointer<UInt32>) {
        entries.append(contentsOf: moreEntries)
        positions.append(contentsOf: morePositions)
    }

    /// Documents `range` (whose positions start at `positionOffset`) as one encoded block.
    func encodedBlock(_ range: Range<Int>, positionOffset: Int) -> BufferedBlock {
        entries.withUnsafeBufferPointer { allEntries in
            positions.withUnsafeBufferPointer { allPositions in
                let block = UnsafeBufferPointer(rebasing: allEntries[range])
                var encodedPositions: [UInt8] = []
                encodedPositions.reserveCapacity(range.count * 4)
                var p = positionOffset
                for entry in block {
                    let end = min(allPositions.count, p + Int(PendingPostings.frequency(entry)))
                    PositionsBlock.append(UnsafeBufferPointer(rebasing: allPositions[min(p, end)..<end]), to: &encodedPositions)
                    p = end
                }
                return BufferedBlock(first: PendingPostings.doc(allEntries[range.lowerBound]), last: PendingPostings.doc(allEntries[range.upperBound - 1]),
                                     count: range.count, positionsEnd: p, postings: PostingsBlock.encode(block), positions: encodedPositions)
            }
        }
    }
}

/// A term as a dictionary key: its `ShardKey.term` bytes, hashed once with xxHash64 (the
/// standard hashing of `[UInt8]` feeds the hasher byte by byte).
struct TermKey: Hashable, Sendable {
    let bytes: [UInt8]
    /// xxHash64 of `bytes` (what `TermTable` files it under).
    let hash: UInt64

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        hash = StableHash.xxHash64(bytes)
    }

    static func == (a: TermKey, b: TermKey) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

/// One encoded postings block (and its positions) held in memory, laid out as in LMDB.
struct BufferedBlock {
    let first: UInt32
    let last: UInt32
    let count: Int
    /// Where the next block's positions start in the term's `PendingPostings.positions`.
    let positionsEnd: Int
    let postings: [UInt8]
    let positions: [UInt8]
}

/// The postings of a batch of documents, term after term, in flat arrays (no allocation per
/// term but its key): what a batch hands to the postings buffer or writes to LMDB.
struct PostingsBatch: Sendable {
    private(set) var keys: [TermKey] = []
    private var entryStarts: [Int] = [0]
    private var positionStarts: [Int] = [0]
    private var entries: [UInt64] = []
    private var positions: [UInt32] = []

    var termCount: Int { keys.count }

    func entries(_ t: Int) -> ArraySlice<UInt64> { entries[entryStarts[t]..<entryStarts[t + 1]] }
    func positions(_ t: Int) -> ArraySlice<UInt32> { positions[positionStarts[t]..<positionStarts[t + 1]] }

    /// Calls `body` for every term with its key and postings as buffers valid during the call
    /// (no reference counting per term).
    func forEachTerm(_ body: (TermKey, UnsafeBufferPointer<UInt64>, UnsafeBufferPointer<UInt32>) throws -> Void) rethrows {
        try entries.withUnsafeBufferPointer { allEntries in
            try positions.withUnsafeBufferPointer { allPositions in
                for t in 0..<keys.count {
                    try body(keys[t],
                             UnsafeBufferPointer(rebasing: allEntries[entryStarts[t]..<entryStarts[t + 1]]),
                             UnsafeBufferPointer(rebasing: allPositions[positionStarts[t]..<positionStarts[t + 1]]))
                }
            }
        }
    }


    /// Starts the next term; its postings follow through `append(doc:...)` and `positions`.
    mutating func beginTerm(_ key: TermKey) {
        keys.append(key)
        entryStarts.append(entries.count)
        positionStarts.append(positions.count)
    }

    mutating func append(doc: UInt32, frequency: UInt32, normID: UInt8) {
        entries.append(UInt64(doc) << 32 | UInt64(min(frequency, PendingPostings.maxFrequency)) << 8 | UInt64(normID))
        entryStarts[entryStarts.count - 1] = entries.count
    }

    mutating func appendPosition(_ p: UInt32) {
        positions.append(p)
        positionStarts[positionStarts.count - 1] = positions.count
    }

    /// Makes room for what an inversion is about to add.
    mutating func reserve(terms: Int, entries moreEntries: Int, positions morePositions: Int) {
        keys.reserveCapacity(keys.count + terms)
        entryStarts.reserveCapacity(entryStarts.count + terms)
        positionStarts.reserveCapacity(positionStarts.count + terms)
        entries.reserveCapacity(entries.count + moreEntries)
        positions.reserveCapacity(positions.count + morePositions)
    }

    /// Renumbers the documents: adds `base` to every document number.
    mutating func shiftDocuments(by base: UInt32) {
        guard base > 0 else { return }
        let shift = UInt64(base) << 32
        entries.withUnsafeMutableBufferPointer { all in
            for i in all.indices { all[i] &+= shift }
        }
    }

    /// Adds another batch's terms (another field of the same documents).
    mutating func append(contentsOf other: PostingsBatch) {
        for t in 0..<other.termCount {
            beginTerm(other.keys[t])
            entries += other.entries(t)
            positions += other.positions(t)
            entryStarts[entryStarts.count - 1] = entries.count
            positionStarts[positionStarts.count - 1] = positions.count
        }
    }
}

/// Inverts one text field over a batch of documents by sorting rather than by growing a list per
/// term: every token is appended as (term id, document << 32 | position) to two flat arrays (one
/// hash lookup per token, no per-term allocation), then a stable counting sort by term id scatters
/// the (document, position) pairs into term order, so the per-term pass reads them in sequence
/// (gathering them through a permutation missed the cache on every token). Pure: the index writer
/// stores the result, recovery rebuilds the postings buffer with it.
struct FieldInversion {
    var postings = PostingsBatch()
    /// Tokens per document that has any.
    var lengths: [(docnum: UInt32, tokens: Int)] = []

    init(_ texts: [(docnum: UInt32, text: String)], analyzer: Analyzer, shard: ShardKey, field: Int) {
        var table = TermTable()
        var tokenTerms: [Int32] = []
        var tokenPostings: [UInt64] = []
        let estimate = texts.reduce(0) { $0 + $1.text.utf8.count } / 6
        tokenTerms.reserveCapacity(estimate)
        tokenPostings.reserveCapacity(estimate)
        // Norm ids by document, in an array over the batch's document range.
        let docnums = texts.lazy.map(\.docnum)
        let lowest = docnums.min() ?? 0
        let span = Int((docnums.max() ?? lowest) - lowest) + 1
        var norms = [UInt8](repeating: 0, count: texts.isEmpty ? 0 : span)
        for (docnum, text) in texts {
            var tokens = 0
            let docBits = UInt64(docnum) << 32
            analyzer.forEachToken(text) { bytes, position in
                let id = table.insert(bytes, hash: TermTable.hash(bytes)).id
                tokenTerms.append(Int32(truncatingIfNeeded: id))
                tokenPostings.append(docBits | UInt64(UInt32(truncatingIfNeeded: position)))
                tokens += 1
            }
            guard tokens > 0 else { continue }
            lengths.append((docnum, tokens))
            norms[Int(docnum - lowest)] = FieldNorm.id(forLength: tokens)
        }
        let termCount = table.count
        guard termCount > 0 else { return }
        let tokenCount = tokenTerms.count
        var starts = [Int](repeating: 0, count: termCount + 1)
        var sorted = [UInt64](repeating: 0, count: tokenCount)
        tokenTerms.withUnsafeBufferPointer { terms in
            starts.withUnsafeMutableBufferPointer { starts in
                for t in terms { starts[Int(t) + 1] += 1 }
                for i in 1...termCount { starts[i] += starts[i - 1] }
                var fill = Array(starts)
                fill.withUnsafeMutableBufferPointer { fill in
                    tokenPostings.withUnsafeBufferPointer { pairs in
                        sorted.withUnsafeMutableBufferPointer { sorted in
                            for i in 0..<terms.count {
                                let t = Int(terms[i])
                                sorted[fill[t]] = pairs[i]
                                fill[t] += 1
                            }
                        }
                    }
                }
            }
        }
        postings.reserve(terms: termCount, entries: tokenCount, positions: tokenCount)
        sorted.withUnsafeBufferPointer { sorted in
            norms.withUnsafeBufferPointer { norms in
                for termID in 0..<termCount {
                    let key = table.withBytes(termID) { shard.term(field, $0) }
                    postings.beginTerm(TermKey(key))
                    var currentDoc: UInt32 = 0
                    var frequency: UInt32 = 0
                    for slot in starts[termID]..<starts[termID + 1] {
                        let pair = sorted[slot]
                        let doc = UInt32(truncatingIfNeeded: pair >> 32)
                        if frequency > 0 && doc != currentDoc {
                            postings.append(doc: currentDoc, frequency: frequency, normID: norms[Int(currentDoc - lowest)])
                            frequency = 0
                        }
                        currentDoc = doc
                        frequency += 1
                        postings.appendPosition(UInt32(truncatingIfNeeded: pair))
                    }
                    if frequency > 0 { postings.append(doc: currentDoc, frequency: frequency, normID: norms[Int(currentDoc - lowest)]) }
                }
            }
        }
    }
}
