/// Per-shard counters: the next internal document number, live documents, per indexed field the
/// total tokens (for BM25's average field length), and how far postings are in LMDB blocks (those
/// of later documents are in the shard's `PostingsBuffer`). Deleted documents keep counting in the
/// token totals and document frequencies until the shard is compacted, as in Lucene and Tantivy.
struct ShardMeta: Equatable {
    var nextDocnum: UInt32 = 0
    var liveDocs: UInt32 = 0
    var totalTokens: [UInt64] = []
    /// Postings of documents below this are in the LMDB postings tables.
    var flushedDocnum: UInt32 = 0

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: nextDocnum.littleEndian) { out += $0 }
        withUnsafeBytes(of: liveDocs.littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt16(totalTokens.count).littleEndian) { out += $0 }
        for t in totalTokens { withUnsafeBytes(of: t.littleEndian) { out += $0 } }
        withUnsafeBytes(of: flushedDocnum.littleEndian) { out += $0 }
        return out
    }

    static func decode(_ bytes: UnsafeRawBufferPointer?, fields: Int) -> ShardMeta {
        var meta = ShardMeta(totalTokens: [UInt64](repeating: 0, count: fields))
        guard let bytes, bytes.count >= 10 else { return meta }
        meta.nextDocnum = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        meta.liveDocs = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let n = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
        for i in 0..<min(n, fields) where 10 + i * 8 + 8 <= bytes.count {
            meta.totalTokens[i] = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 10 + i * 8, as: UInt64.self))
        }
        let flushedAt = 10 + n * 8
        meta.flushedDocnum = flushedAt + 4 <= bytes.count
            ? UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: flushedAt, as: UInt32.self)) : meta.nextDocnum
        return meta
    }
}
