import PrismStorage

/// One term's postings pulled a block at a time, in document order (its LMDB blocks, then its
/// buffered ones), decoded into plain arrays. A value type walked by sequential LMDB `next`s: the
/// merge of two similar lists reads every block anyway, so it wants neither seeks nor a cursor
/// object consulted per posting.
struct BlockStream {
    private let reader: ShardReader
    private let cursor: TableCursor
    private let prefix: [UInt8]
    private let buffered: [BufferedBlock]
    private var started = false
    private var bufferIndex: Int?
    private(set) var docs: [UInt32] = []
    private(set) var frequencies: [UInt32] = []

    init(reader: ShardReader, field: Int, term: [UInt8]) throws {
        self.reader = reader
        prefix = reader.key.term(field, term)
        cursor = try TableCursor(reader.txn, reader.tables.postings)
        buffered = reader.buffered(field: field, term: term)?.blocks ?? []
        docs.reserveCapacity(PostingsBlock.capacity)
        frequencies.reserveCapacity(PostingsBlock.capacity)
    }

    /// Decodes the next block; false past the last.
    mutating func next() throws -> Bool {
        if bufferIndex == nil {
            let entry = started ? try cursor.next() : try cursor.seek(prefix)
            started = true
            if let (k, v) = entry, k.starts(with: prefix), k.count == prefix.count + ShardKey.blockSuffix {
                guard let (postings, _) = BlockRecord.split(v), PostingsBlock.decode(postings, docs: &docs, frequencies: &frequencies) else {
                    throw reader.corruptBlock()
                }
                return true
            }
            bufferIndex = -1
        }
        let i = (bufferIndex ?? -1) + 1
        bufferIndex = i
        guard i < buffered.count else { return false }
        guard buffered[i].postings.withUnsafeBytes({ PostingsBlock.decode($0, docs: &docs, frequencies: &frequencies) }) else {
            throw reader.corruptBlock()
        }
        return true
    }
}
