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
    /// The current block.
    let block = DecodedBlock()

    init(reader: ShardReader, field: Int, term: [UInt8]) throws {
        self.reader = reader
        prefix = reader.key.term(field, term)
        cursor = try TableCursor(reader.txn, reader.tables.postings)
        buffered = reader.buffered(field: field, term: term)?.blocks ?? []
    }

    /// Decodes the next block; false past the last.
    func next() throws -> Bool {
        if bufferIndex == nil {
            let entry = started ? try cursor.next() : try cursor.seek(prefix)
            started = true
            if let (k, v) = entry, k.starts(with: prefix), k.count == prefix.count + ShardKey.blockSuffix {
                guard let (postings, _) = BlockRecord.split(v), block.load(stored: postings), block.count > 0 else { throw reader.corruptBlock() }
                return true
            }
            bufferIndex = -1
        }
        let i = (bufferIndex ?? -1) + 1
        bufferIndex = i
        guard i < buffered.count else {
            block.clear()
            return false
        }
        guard block.load(buffered: buffered[i]), block.count > 0 else { throw reader.corruptBlock() }
        return true
    }

    /// The frequency of the current block's `i`th document.
    func frequency(at i: Int) throws -> UInt32 {
        guard let f = block.frequency(at: i) else { throw reader.corruptBlock() }
        return f
    }
}
