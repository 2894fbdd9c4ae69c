import PrismStorage

/// Walks one term's postings in document order with skipping: its LMDB blocks, then its blocks
/// in the shard's postings buffer (all of which hold later documents). LMDB blocks are keyed by
/// their last document, so `advance(to:)` finds the block that can hold the target with one
/// B-tree seek (the blocks in between are never read) and gets its positions from the same
/// record; a target in the buffer is found by binary search there. A conjunction or phrase driven
/// by a rare term therefore touches only the blocks of common terms that can hold its documents.
/// Positions are decoded only for the documents asked about.
final class PostingsCursor {
    let reader: ShardReader
    private let prefix: [UInt8]
    /// The prefix and a target document, rewritten in place for each seek.
    private var seekKey: [UInt8]
    private let cursor: TableCursor
    private let buffered: [BufferedBlock]
    /// Whether the current block comes from LMDB (false before the start and in the buffer).
    private var inStore = false
    /// The current buffered block, once the walk is past the LMDB blocks.
    private var bufferIndex: Int?
    private var started = false
    private var exhausted = false
    /// The current block (its documents; frequencies decoded on first use).
    private let block = DecodedBlock()
    private var index = 0
    // Positions of the current block, decoded lazily up to `positionsDecodedFor`.
    private var positionsBytes: UnsafeRawBufferPointer?
    private var positionsOffset = 0
    private var positionsDecodedFor = -1
    private var positionData: UnsafeMutablePointer<UInt32>
    private var positionCapacity = 64
    private var positionCount = 0
    /// Documents in the term's postings (its document frequency).
    let count: Int

    /// Blocks `advance(to:)` steps over by key before it seeks instead.
    static let stepsBeforeSeek = 4

    init(reader: ShardReader, field: Int, term: [UInt8]) throws {
        self.reader = reader
        prefix = reader.key.term(field, term)
        seekKey = prefix + [0, 0, 0, 0]
        cursor = try TableCursor(reader.txn, reader.tables.postings)
        buffered = reader.buffered(field: field, term: term)?.blocks ?? []
        count = Int(try reader.documentFrequency(field: field, term: term))
        positionData = .allocate(capacity: positionCapacity)
    }

    deinit { positionData.deallocate() }

    /// The current document, or nil when exhausted or not started.
    var doc: UInt32? { !exhausted && index < block.count ? block.docs[index] : nil }

    /// The current document's term frequency (the block's frequencies are decoded on first use).
    func frequency() throws -> UInt32 {
        guard let f = block.frequency(at: index) else { throw reader.corruptBlock() }
        return f
    }

    /// Counts the blocks entered, so a caller can tell when the current block changed.
    private(set) var blocksEntered = 0

    /// The current block's score envelope (nil with no block or damaged bytes).
    func blockEnvelope() -> ScoreEnvelope? { block.envelope() }

    private func enteredBlock(_ loaded: Bool) throws {
        guard loaded else { throw reader.corruptBlock() }
        blocksEntered &+= 1
        index = 0
        positionsBytes = nil
        positionsDecodedFor = -1
    }

    /// Makes an LMDB entry the current block; past the term's last LMDB block, the buffer's first.
    private func load(_ entry: TableCursor.Entry?) throws {
        guard let (k, v) = entry, k.starts(with: prefix), k.count == prefix.count + ShardKey.blockSuffix else {
            return try enterBuffer(at: 0)
        }
        guard let (postings, positions) = BlockRecord.split(v) else { throw reader.corruptBlock() }
        inStore = true
        try enteredBlock(block.load(stored: postings))
        positionsBytes = positions
    }

    /// Makes buffered block `i` current (exhausted past the last).
    private func enterBuffer(at i: Int) throws {
        inStore = false
        bufferIndex = i
        guard i < buffered.count else {
            exhausted = true
            block.clear()
            index = 0
            return
        }
        try enteredBlock(block.load(buffered: buffered[i]))
    }

    /// Moves to the next block, wherever it is.
    private func nextBlock() throws {
        if let i = bufferIndex { try enterBuffer(at: i + 1) } else { try load(try cursor.next()) }
    }

    @discardableResult
    func next() throws -> UInt32? {
        if exhausted { return nil }
        if !started {
            started = true
            try load(try cursor.seek(prefix))
            return doc
        }
        index += 1
        if index >= block.count { try nextBlock() }
        return doc
    }

    /// Moves to the first document ≥ `target` (never backwards).
    @discardableResult
    func advance(to target: UInt32) throws -> UInt32? {
        if exhausted { return nil }
        let (docs, blockCount) = (block.docs, block.count)
        if index < blockCount {
            if docs[index] >= target { return docs[index] }
            if docs[blockCount - 1] >= target {
                index = PostingsCursor.firstAtOrAfter(target, docs, from: index + 1, count: blockCount)
                return docs[index]
            }
        }
        started = true
        if let first = buffered.first, target >= first.first || bufferIndex != nil {
            // The target lies in the buffer: find its block there (LMDB holds only earlier documents).
            var lo = bufferIndex ?? 0, hi = buffered.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if buffered[mid].last < target { lo = mid + 1 } else { hi = mid }
            }
            try enterBuffer(at: lo)
        } else {
            // The first block whose last document is at or after the target holds it, if any does.
            // A near target is reached by stepping: keys are last documents, so the blocks passed
            // are never decoded; a far one by one B-tree seek.
            var found: TableCursor.Entry?? = nil
            if inStore {
                for _ in 0..<PostingsCursor.stepsBeforeSeek {
                    guard let entry = try cursor.next(), entry.key.starts(with: prefix), entry.key.count == prefix.count + ShardKey.blockSuffix else {
                        found = .some(nil)
                        break
                    }
                    if ShardKey.readBE32(entry.key, at: prefix.count) >= target {
                        found = entry
                        break
                    }
                }
            }
            try load(found ?? (try cursor.seek(seekKey(to: target))))
        }
        // The block entered holds the target or ends before it only when damaged or past the end.
        if !exhausted, block.count > 0, block.docs[block.count - 1] >= target {
            index = PostingsCursor.firstAtOrAfter(target, block.docs, from: index, count: block.count)
            return block.docs[index]
        }
        while let d = doc, d < target {
            index += 1
            if index >= block.count { try nextBlock() }
        }
        return doc
    }

    /// The term's block key for a last document of `target` (the stored key, rewritten in place).
    private func seekKey(to target: UInt32) -> [UInt8] {
        let p = prefix.count
        seekKey[p] = UInt8(truncatingIfNeeded: target >> 24)
        seekKey[p + 1] = UInt8(truncatingIfNeeded: target >> 16)
        seekKey[p + 2] = UInt8(truncatingIfNeeded: target >> 8)
        seekKey[p + 3] = UInt8(truncatingIfNeeded: target)
        return seekKey
    }

    /// The first index in `from..<count` whose document is at or past `target`, given that the
    /// last one is. Branch-free halving: the comparisons depend on the data, so a branching
    /// binary search mispredicts on about every step, and a linear walk costs a step per document.
    @inline(__always)
    static func firstAtOrAfter(_ target: UInt32, _ docs: UnsafeMutablePointer<UInt32>, from start: Int, count: Int) -> Int {
        var base = start
        var n = count - start
        while n > 1 {
            let half = n >> 1
            base = docs[base + half - 1] < target ? base + half : base
            n -= half
        }
        return base
    }

    /// Positions of the current document (decoding the block's positions only up to it).
    func positions() throws -> [UInt32] {
        try withPositions { Array($0) }
    }

    /// Calls `body` with the current document's positions, in place.
    func withPositions<R>(_ body: (UnsafeBufferPointer<UInt32>) throws -> R) throws -> R {
        if inStore {
            guard let bytes = positionsBytes else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
            decodePositions(bytes)
        } else {
            guard let i = bufferIndex, i < buffered.count else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
            buffered[i].positions.withUnsafeBytes { decodePositions($0) }
        }
        return try body(UnsafeBufferPointer(start: positionData, count: positionCount))
    }

    /// Positions are stored document after document as `length, deltas...` varints: the
    /// documents before the current one are skipped by their byte lengths, and only the current
    /// document's positions are decoded (into `positionData`; none when the bytes are damaged).
    private func decodePositions(_ bytes: UnsafeRawBufferPointer) {
        let target = index
        if positionsDecodedFor == target { return }
        positionCount = 0
        var offset = positionsDecodedFor < 0 ? 0 : positionsOffset
        var decodedFor = positionsDecodedFor
        guard decodedFor < target else { return }
        while decodedFor + 1 < target {
            guard let length = Varint.read(bytes, &offset) else { return }
            offset += Int(length)
            decodedFor += 1
        }
        if let length = Varint.read(bytes, &offset) {
            let end = min(bytes.count, offset + Int(length))
            // A document's positions take at least a byte each, so `length` bounds their count.
            if Int(length) > positionCapacity {
                positionData.deallocate()
                positionCapacity = Int(length)
                positionData = .allocate(capacity: positionCapacity)
            }
            var p: UInt32 = 0
            var n = 0
            while offset < end, let d = Varint.read(bytes, &offset) {
                p &+= d
                positionData[n] = p
                n += 1
            }
            positionCount = n
            offset = end
        }
        positionsOffset = offset
        positionsDecodedFor = target
    }
}
