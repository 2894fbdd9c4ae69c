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
    private let cursor: TableCursor
    private let buffered: [BufferedBlock]
    /// Whether the current block comes from LMDB (false before the start and in the buffer).
    private var inStore = false
    /// The current buffered block, once the walk is past the LMDB blocks.
    private var bufferIndex: Int?
    private var started = false
    private var exhausted = false
    private(set) var docs: [UInt32] = []
    private(set) var frequencies: [UInt32] = []
    private var index = 0
    // Positions of the current block, decoded lazily up to `positionsDecodedFor`.
    private var positionsBytes: UnsafeRawBufferPointer?
    private var positionsOffset = 0
    private var positionsDecodedFor = -1
    private var positionData: [UInt32] = []
    /// Documents in the term's postings (its document frequency).
    let count: Int

    /// Blocks `advance(to:)` steps over by key before it seeks instead.
    static let stepsBeforeSeek = 4

    init(reader: ShardReader, field: Int, term: [UInt8]) throws {
        self.reader = reader
        prefix = reader.key.term(field, term)
        cursor = try TableCursor(reader.txn, reader.tables.postings)
        buffered = reader.buffered(field: field, term: term)?.blocks ?? []
        count = Int(try reader.documentFrequency(field: field, term: term))
        docs.reserveCapacity(PostingsBlock.capacity)
        frequencies.reserveCapacity(PostingsBlock.capacity)
    }

    /// The current document, or nil when exhausted or not started.
    var doc: UInt32? { !exhausted && index < docs.count ? docs[index] : nil }
    var frequency: UInt32 { frequencies[index] }

    private func resetBlock() {
        index = 0
        positionsBytes = nil
        positionsDecodedFor = -1
    }

    /// Makes an LMDB entry the current block; past the term's last LMDB block, the buffer's first.
    private func load(_ entry: TableCursor.Entry?) throws {
        guard let (k, v) = entry, k.starts(with: prefix), k.count == prefix.count + ShardKey.blockSuffix else {
            return try enterBuffer(at: 0)
        }
        guard let (postings, positions) = BlockRecord.split(v),
              PostingsBlock.decode(postings, docs: &docs, frequencies: &frequencies) else { throw reader.corruptBlock() }
        inStore = true
        resetBlock()
        positionsBytes = positions
    }

    /// Makes buffered block `i` current (exhausted past the last).
    private func enterBuffer(at i: Int) throws {
        inStore = false
        bufferIndex = i
        resetBlock()
        guard i < buffered.count else {
            exhausted = true
            docs.removeAll(keepingCapacity: true)
            return
        }
        let decoded = buffered[i].postings.withUnsafeBytes { PostingsBlock.decode($0, docs: &docs, frequencies: &frequencies) }
        guard decoded else { throw reader.corruptBlock() }
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
        if index >= docs.count { try nextBlock() }
        return doc
    }

    /// Moves to the first document ≥ `target` (never backwards).
    @discardableResult
    func advance(to target: UInt32) throws -> UInt32? {
        if exhausted { return nil }
        if let current = doc, current >= target { return current }
        if started, let last = docs.last, target <= last {
            while index < docs.count && docs[index] < target { index += 1 }
            return doc
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
            try load(found ?? (try cursor.seek(prefix + ShardKey.be32(target))))
        }
        while let d = doc, d < target {
            index += 1
            if index >= docs.count { try nextBlock() }
        }
        return doc
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
        return try positionData.withUnsafeBufferPointer(body)
    }

    /// Positions are stored document after document as `length, deltas...` varints: the
    /// documents before the current one are skipped by their byte lengths, and only the current
    /// document's positions are decoded (into `positionData`, empty when the bytes are damaged).
    private func decodePositions(_ bytes: UnsafeRawBufferPointer) {
        let target = index
        if positionsDecodedFor == target { return }
        var offset = positionsDecodedFor < 0 ? 0 : positionsOffset
        var decodedFor = positionsDecodedFor
        var data: [UInt32] = []
        swap(&data, &positionData)
        defer { swap(&data, &positionData) }
        data.removeAll(keepingCapacity: true)
        guard decodedFor < target else { return }
        while decodedFor + 1 < target {
            guard let length = Varint.read(bytes, &offset) else { return }
            offset += Int(length)
            decodedFor += 1
        }
        if let length = Varint.read(bytes, &offset) {
            let end = min(bytes.count, offset + Int(length))
            var p: UInt32 = 0
            while offset < end, let d = Varint.read(bytes, &offset) {
                p &+= d
                data.append(p)
            }
            offset = end
        }
        positionsOffset = offset
        positionsDecodedFor = target
    }
}
