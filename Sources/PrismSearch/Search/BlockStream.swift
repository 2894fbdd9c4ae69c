import PrismStorage

/// One term's postings pulled a block at a time, in document order (its LMDB blocks, then its
/// buffered ones), decoded into storage the stream owns. Walked by sequential LMDB `next`s: the
/// merge of two similar lists reads every block anyway, so it wants no seeks. Frequencies are
/// decoded only for blocks where `frequency(at:)` is asked (merges score only shared documents).
final class BlockStream {
    private let reader: ShardReader
    private let cursor: TableCursor
    private let prefix: [UInt8]
    private let buffered: [BufferedBlock]
    private var started = false
    private var bufferIndex: Int?
    /// The current block's documents; `count` of them are valid.
    let docs: UnsafeMutablePointer<UInt32>
    private let frequencies: UnsafeMutablePointer<UInt32>
    private(set) var count = 0
    private var postingsBytes: UnsafeRawBufferPointer?
    private var frequenciesOffset = 0
    private var frequenciesDecoded = false

    init(reader: ShardReader, field: Int, term: [UInt8]) throws {
        self.reader = reader
        prefix = reader.key.term(field, term)
        cursor = try TableCursor(reader.txn, reader.tables.postings)
        buffered = reader.buffered(field: field, term: term)?.blocks ?? []
        docs = .allocate(capacity: PostingsBlock.capacity)
        frequencies = .allocate(capacity: PostingsBlock.capacity)
    }

    deinit {
        docs.deallocate()
        frequencies.deallocate()
    }

    private func enter(_ postings: UnsafeRawBufferPointer) throws {
        guard let (n, offset) = PostingsBlock.decodeDocs(postings, into: docs), n > 0 else { throw reader.corruptBlock() }
        count = n
        frequenciesOffset = offset
        frequenciesDecoded = false
    }

    /// Decodes the next block; false past the last.
    func next() throws -> Bool {
        if bufferIndex == nil {
            let entry = started ? try cursor.next() : try cursor.seek(prefix)
            started = true
            if let (k, v) = entry, k.starts(with: prefix), k.count == prefix.count + ShardKey.blockSuffix {
                guard let (postings, _) = BlockRecord.split(v) else { throw reader.corruptBlock() }
                try enter(postings)
                postingsBytes = postings
                return true
            }
            bufferIndex = -1
            postingsBytes = nil
        }
        let i = (bufferIndex ?? -1) + 1
        bufferIndex = i
        guard i < buffered.count else {
            count = 0
            return false
        }
        try buffered[i].postings.withUnsafeBytes { try enter($0) }
        return true
    }

    /// The frequency of the current block's `i`th document.
    func frequency(at i: Int) throws -> UInt32 {
        if !frequenciesDecoded {
            let (offset, n, out) = (frequenciesOffset, count, frequencies)
            let ok: Bool
            if let bytes = postingsBytes {
                ok = PostingsBlock.decodeFrequencies(bytes, at: offset, count: n, into: out)
            } else if let b = bufferIndex, b >= 0, b < buffered.count {
                ok = buffered[b].postings.withUnsafeBytes { PostingsBlock.decodeFrequencies($0, at: offset, count: n, into: out) }
            } else {
                ok = false
            }
            guard ok else { throw reader.corruptBlock() }
            frequenciesDecoded = true
        }
        return frequencies[i]
    }
}
