import PrismStorage

/// Walks one term's postings in document order with skipping: `advance(to:)` seeks the LMDB
/// cursor straight to the block that can hold the target (a B-tree lookup; the blocks in between
/// are never read), so a conjunction or phrase driven by a rare term touches only the blocks of
/// common terms that can hold its documents. Positions are decoded only as far as asked.
final class PostingsCursor {
    let reader: ShardReader
    private let prefix: [UInt8]
    private let cursor: TableCursor
    private var blockKey: UnsafeRawBufferPointer?
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

    init(reader: ShardReader, field: Int, term: [UInt8]) throws {
        self.reader = reader
        prefix = reader.key.term(field, term)
        cursor = try TableCursor(reader.txn, reader.tables.postings)
        count = Int(try reader.documentFrequency(field: field, term: term))
        docs.reserveCapacity(PostingsBlock.capacity)
        frequencies.reserveCapacity(PostingsBlock.capacity)
    }

    /// The current document, or nil when exhausted or not started.
    var doc: UInt32? { !exhausted && index < docs.count ? docs[index] : nil }
    var frequency: UInt32 { frequencies[index] }

    private func load(_ entry: TableCursor.Entry?) throws {
        guard let (k, v) = entry, k.starts(with: prefix), k.count == prefix.count + 4 else {
            exhausted = true
            docs.removeAll(keepingCapacity: true)
            return
        }
        blockKey = k
        index = 0
        positionsBytes = nil
        positionsDecodedFor = -1
        guard PostingsBlock.decode(v, first: ShardKey.readBE32(k, at: k.count - 4), docs: &docs, frequencies: &frequencies) else {
            throw EngineError.unavailable("corrupt postings block")
        }
    }

    @discardableResult
    func next() throws -> UInt32? {
        if exhausted { return nil }
        if blockKey == nil {
            try load(try cursor.seek(prefix))
            return doc
        }
        index += 1
        if index >= docs.count { try load(try cursor.next()) }
        return doc
    }

    /// Moves to the first document ≥ `target` (never backwards).
    @discardableResult
    func advance(to target: UInt32) throws -> UInt32? {
        if exhausted { return nil }
        if let current = doc, current >= target { return current }
        if blockKey != nil, let last = docs.last, target <= last {
            while index < docs.count && docs[index] < target { index += 1 }
            return doc
        }
        // Seek the first block starting at or after the target; the block before it may hold it.
        let found = try cursor.seek(prefix + ShardKey.be32(target))
        if let (k, _) = found, k.starts(with: prefix), ShardKey.readBE32(k, at: k.count - 4) == target {
            try load(found)
        } else {
            let previous = found == nil ? try cursor.last() : try cursor.previous()
            if let (k, _) = previous, k.starts(with: prefix), k.count == prefix.count + 4 {
                try load(previous)
                if let last = docs.last, last < target { try load(try cursor.next()) }
            } else {
                try load(found == nil ? nil : try cursor.next())
            }
        }
        while let d = doc, d < target {
            index += 1
            if index >= docs.count { try load(try cursor.next()) }
        }
        return doc
    }

    /// Positions of the current document (decoding the block's positions only up to it). The
    /// decoding state is moved into locals for the loop: class properties touched in a loop pay
    /// a dynamic exclusivity check on every access.
    func positions() throws -> ArraySlice<UInt32> {
        guard let key = blockKey else { return [] }
        if positionsBytes == nil {
            positionsBytes = try reader.txn.valueUntilEnd(reader.tables.positions, Array(key))
            positionsOffset = 0
            positionsDecodedFor = -1
        }
        guard let bytes = positionsBytes else { return [] }
        var data: [UInt32] = []
        swap(&data, &positionData)
        var offset = positionsOffset
        var decodedFor = positionsDecodedFor
        let target = index
        while decodedFor < target {
            data.removeAll(keepingCapacity: true)
            guard let n = Varint.read(bytes, &offset) else { break }
            var p: UInt32 = 0
            for _ in 0..<n {
                guard let d = Varint.read(bytes, &offset) else { break }
                p &+= d
                data.append(p)
            }
            decodedFor += 1
        }
        positionsOffset = offset
        positionsDecodedFor = decodedFor
        swap(&data, &positionData)
        return decodedFor == target ? positionData[...] : []
    }
}
