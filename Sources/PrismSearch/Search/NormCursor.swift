/// Reads one field's norm ids for documents in ascending order (a walk over postings), keeping
/// the current chunk in hand so a lookup is one load; only a document in another chunk goes
/// back to the column (whose bookkeeping, on a class, costs more than the read itself).
struct NormCursor {
    private let column: ChunkColumn
    private var chunkStart: UInt32 = 1
    private var chunkEnd: UInt32 = 0
    private var bytes: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)

    init(_ column: ChunkColumn) {
        self.column = column
    }

    /// The document's norm id (0 when it has none).
    @inline(__always)
    mutating func normID(_ doc: UInt32) throws -> UInt8 {
        if doc >= chunkStart && doc < chunkEnd {
            let slot = Int(doc &- chunkStart)
            return slot < bytes.count ? bytes[slot] : 0
        }
        return try enter(doc)
    }

    private mutating func enter(_ doc: UInt32) throws -> UInt8 {
        chunkStart = doc / IndexTables.docsPerChunk * IndexTables.docsPerChunk
        chunkEnd = chunkStart &+ IndexTables.docsPerChunk
        guard let (chunk, slot) = try column.chunk(for: doc) else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return 0
        }
        bytes = chunk
        return slot < chunk.count ? chunk[slot] : 0
    }
}
