/// Walks one term's postings in document order with skipping: `advance(to:)` jumps over whole
/// blocks by their first documents (binary search, nothing decoded), so a conjunction or phrase
/// driven by a rare term touches only the blocks of common terms that can hold its documents.
/// Positions of the current block are decoded only when asked for.
final class PostingsCursor {
    private struct BlockRef {
        let first: UInt32
        let key: UnsafeRawBufferPointer
        let value: UnsafeRawBufferPointer
    }

    let reader: ShardReader
    private var blocks: [BlockRef] = []
    private var blockIndex = -1
    private(set) var docs: [UInt32] = []
    private(set) var frequencies: [UInt32] = []
    private var index = 0
    private var positionData: [UInt32] = []
    private var positionStarts: [Int] = []
    private var positionsDecoded = false
    /// Documents in the term's postings (from the block headers).
    private(set) var count = 0

    init(reader: ShardReader, field: Int, term: [UInt8]) throws {
        self.reader = reader
        try reader.forEachRawBlock(field: field, term: term) { k, v in
            blocks.append(BlockRef(first: ShardKey.readBE32(k, at: k.count - 4), key: k, value: v))
            count += v.isEmpty ? 0 : Int(v[0])
        }
        docs.reserveCapacity(PostingsBlock.capacity)
        frequencies.reserveCapacity(PostingsBlock.capacity)
    }

    /// The current document, or nil when exhausted (before the first `next`/`advance`: nil).
    var doc: UInt32? { blockIndex >= 0 && blockIndex < blocks.count && index < docs.count ? docs[index] : nil }
    var frequency: UInt32 { frequencies[index] }

    private func load(_ b: Int) throws {
        blockIndex = b
        index = 0
        positionsDecoded = false
        guard b < blocks.count else { docs.removeAll(); return }
        guard PostingsBlock.decode(blocks[b].value, first: blocks[b].first, docs: &docs, frequencies: &frequencies) else {
            throw EngineError.unavailable("corrupt postings block")
        }
    }

    @discardableResult
    func next() throws -> UInt32? {
        if blockIndex < 0 { try load(0); return doc }
        index += 1
        if index >= docs.count {
            guard blockIndex + 1 < blocks.count else { blockIndex = blocks.count; return nil }
            try load(blockIndex + 1)
        }
        return doc
    }

    /// Moves to the first document ≥ `target` (never backwards).
    @discardableResult
    func advance(to target: UInt32) throws -> UInt32? {
        if let current = doc, current >= target { return current }
        if blockIndex >= blocks.count { return nil }
        // Is the target past the current block? Find the last block starting at or before it.
        let nextFirst = blockIndex + 1 < blocks.count ? blocks[blockIndex + 1].first : UInt32.max
        if blockIndex < 0 || target >= nextFirst {
            var lo = max(blockIndex + 1, 0), hi = blocks.count - 1
            if lo > hi { blockIndex = blocks.count; return nil }
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if blocks[mid].first <= target { lo = mid } else { hi = mid - 1 }
            }
            try load(blocks[lo].first <= target ? lo : max(lo, blockIndex + 1))
        }
        while let d = doc, d < target { try next() }
        return doc
    }

    /// Positions of the current document.
    func positions() throws -> ArraySlice<UInt32> {
        if !positionsDecoded {
            positionsDecoded = true
            positionData.removeAll(keepingCapacity: true)
            positionStarts.removeAll(keepingCapacity: true)
            try reader.txn.withValue(reader.tables.positions, Array(blocks[blockIndex].key)) { bytes in
                guard let bytes else { return }
                var offset = 0
                for _ in 0..<docs.count {
                    positionStarts.append(positionData.count)
                    guard let n = Varint.read(bytes, &offset) else { return }
                    var p: UInt32 = 0
                    for _ in 0..<n {
                        guard let d = Varint.read(bytes, &offset) else { return }
                        p &+= d
                        positionData.append(p)
                    }
                }
            }
        }
        guard index < positionStarts.count else { return [] }
        let end = index + 1 < positionStarts.count ? positionStarts[index + 1] : positionData.count
        return positionData[positionStarts[index]..<end]
    }
}
