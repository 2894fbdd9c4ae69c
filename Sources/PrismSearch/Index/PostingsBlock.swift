/// Up to `capacity` postings of one term: documents (ascending internal numbers) and term
/// frequencies, with the block's `ScoreEnvelope` so a query can bound the block's best score
/// without decoding it. Layout:
/// `count:u8 envelope:12 first:u32le { docDelta:varint }*count { tf:varint }*count`.
/// Stored in a `BlockRecord` with the block's positions, keyed by the block's last document.
struct PostingsBlock: Equatable {
    static let capacity = 128
    /// Bytes before the document deltas.
    static let headerSize = 1 + ScoreEnvelope.encodedSize + 4

    var docs: [UInt32] = []
    var frequencies: [UInt32] = []
    /// What the envelope is computed from, packed `frequency << 8 | normID`: the postings
    /// appended, and the corners of the envelope a decoded block came with (its norms are not
    /// stored per posting).
    var envelopePoints: [UInt64] = []

    var count: Int { docs.count }
    var isFull: Bool { docs.count >= PostingsBlock.capacity }
    var envelope: ScoreEnvelope { ScoreEnvelope(points: envelopePoints) }

    mutating func append(doc: UInt32, frequency: UInt32, normID: UInt8) {
        docs.append(doc)
        frequencies.append(frequency)
        envelopePoints.append(UInt64(frequency) << 8 | UInt64(normID))
    }

    func encoded() -> [UInt8] { encoded(envelope: envelope) }

    /// Encodes with the block's envelope computed already (the writer puts it in the key too).
    func encoded(envelope: ScoreEnvelope) -> [UInt8] {
        // Room for the worst case (5-byte deltas and frequencies), so encoding never regrows.
        var out: [UInt8] = []
        out.reserveCapacity(PostingsBlock.headerSize + docs.count * 10)
        out.append(UInt8(docs.count))
        envelope.encode(into: &out)
        let first = docs.first ?? 0
        withUnsafeBytes(of: first.littleEndian) { out += $0 }
        var previous = first
        for doc in docs {
            Varint.append(doc - previous, to: &out)
            previous = doc
        }
        for tf in frequencies { Varint.append(tf, to: &out) }
        return out
    }

    /// Encodes packed postings (`PendingPostings` entries) straight into the block layout.
    static func encode(_ entries: UnsafeBufferPointer<UInt64>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(PostingsBlock.headerSize + entries.count * 10)
        out.append(UInt8(entries.count))
        ScoreEnvelope(count: entries.count) { UInt64(PendingPostings.frequency(entries[$0])) << 8 | UInt64(PendingPostings.normID(entries[$0])) }
            .encode(into: &out)
        let first = entries.first.map(PendingPostings.doc) ?? 0
        withUnsafeBytes(of: first.littleEndian) { out += $0 }
        var previous = first
        for entry in entries {
            let doc = PendingPostings.doc(entry)
            Varint.append(doc &- previous, to: &out)
            previous = doc
        }
        for entry in entries { Varint.append(PendingPostings.frequency(entry), to: &out) }
        return out
    }

    /// Header only: count, score envelope, first document, and where the doc deltas start.
    @inline(__always)
    static func header(_ bytes: UnsafeRawBufferPointer) -> (count: Int, envelope: ScoreEnvelope, first: UInt32, body: Int)? {
        guard bytes.count >= headerSize else { return nil }
        let first = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: headerSize - 4, as: UInt32.self))
        return (Int(bytes[0]), ScoreEnvelope.decode(bytes, at: 1), first, headerSize)
    }

    /// Count, first document and where the doc deltas start (what decoding needs).
    @inline(__always)
    private static func layout(_ bytes: UnsafeRawBufferPointer) -> (count: Int, first: UInt32, body: Int)? {
        guard bytes.count >= headerSize else { return nil }
        return (Int(bytes[0]), UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: headerSize - 4, as: UInt32.self)), headerSize)
    }

    /// Decodes only the documents into `docs` (room for `capacity`); returns their count and
    /// where the frequencies start, for `decodeFrequencies` (cursors that skip through a block
    /// seldom need them). Nil when the bytes are damaged.
    @inline(__always)
    static func decodeDocs(_ bytes: UnsafeRawBufferPointer, into docs: UnsafeMutablePointer<UInt32>) -> (count: Int, frequencies: Int)? {
        guard let (count, first, body) = layout(bytes), count <= capacity else { return nil }
        var offset = body
        guard Varint.readMany(bytes, &offset, count: count, into: docs, runningFrom: first) else { return nil }
        return (count, offset)
    }

    /// Decodes `count` frequencies starting at `offset` (from `decodeDocs`); false when damaged.
    @inline(__always)
    static func decodeFrequencies(_ bytes: UnsafeRawBufferPointer, at offset: Int, count: Int, into frequencies: UnsafeMutablePointer<UInt32>) -> Bool {
        var offset = offset
        return Varint.readMany(bytes, &offset, count: count, into: frequencies, runningFrom: nil)
    }

    /// Decodes into `docs` and `frequencies` (replaced; their storage is reused). Writes through
    /// buffer pointers: this is the innermost loop of every query.
    static func decode(_ bytes: UnsafeRawBufferPointer, docs: inout [UInt32], frequencies: inout [UInt32]) -> Bool {
        guard let (count, first, body) = layout(bytes) else { return false }
        if docs.count != count {
            docs.removeAll(keepingCapacity: true)
            docs.append(contentsOf: repeatElement(0, count: count))
        }
        if frequencies.count != count {
            frequencies.removeAll(keepingCapacity: true)
            frequencies.append(contentsOf: repeatElement(0, count: count))
        }
        var offset = body
        let ok = docs.withUnsafeMutableBufferPointer { out -> Bool in
            guard let base = out.baseAddress else { return count == 0 }
            return Varint.readMany(bytes, &offset, count: count, into: base, runningFrom: first)
        }
        guard ok else { return false }
        return frequencies.withUnsafeMutableBufferPointer { out -> Bool in
            guard let base = out.baseAddress else { return count == 0 }
            return Varint.readMany(bytes, &offset, count: count, into: base, runningFrom: nil)
        }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> PostingsBlock? {
        var block = PostingsBlock()
        guard decode(bytes, docs: &block.docs, frequencies: &block.frequencies),
              let (_, envelope, _, _) = header(bytes) else { return nil }
        block.envelopePoints = envelope.points
        return block
    }
}

/// One stored block as its key describes it: enough to bound the block's best score without
/// reading the block.
struct BlockSummary: Equatable {
    var last: UInt32
    var count: Int
    var envelope: ScoreEnvelope

    init(last: UInt32, count: Int, envelope: ScoreEnvelope) {
        self.last = last
        self.count = count
        self.envelope = envelope
    }

    init(_ block: PostingsBlock) {
        self.init(last: block.docs.last ?? 0, count: block.count, envelope: block.envelope)
    }

    /// The summary of an encoded block whose last document is `last`.
    init?(encoded: UnsafeRawBufferPointer, last: UInt32) {
        guard let header = PostingsBlock.header(encoded) else { return nil }
        self.init(last: last, count: header.count, envelope: header.envelope)
    }
}

/// What `ix_postings` stores per block: `postingsLength:varint postings positions`, so one lookup
/// (the block is keyed by its last document, so one `seek` finds the block holding a target)
/// yields a block's documents and, for phrases, its positions.
enum BlockRecord {
    static func encode(postings: [UInt8], positions: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(5 + postings.count + positions.count)
        Varint.append(UInt32(postings.count), to: &out)
        out += postings
        out += positions
        return out
    }

    /// The postings and positions parts of a record; nil when it is damaged.
    static func split(_ bytes: UnsafeRawBufferPointer) -> (postings: UnsafeRawBufferPointer, positions: UnsafeRawBufferPointer)? {
        var offset = 0
        guard let length = Varint.read(bytes, &offset), offset + Int(length) <= bytes.count else { return nil }
        return (UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + Int(length)]),
                UnsafeRawBufferPointer(rebasing: bytes[(offset + Int(length))...]))
    }
}

/// Token positions of the postings in one block, per document: `length:varint { delta:varint }*`
/// where `length` is the byte length of the deltas, so a reader skips a document in one step (a
/// phrase check on a common term's block wants one document out of 128, each with many positions).
enum PositionsBlock {
    /// Appends one document's positions to an encoded block (blocks are plain concatenations).
    static func append(_ positions: ArraySlice<UInt32>, to out: inout [UInt8]) {
        positions.withUnsafeBufferPointer { append($0, to: &out) }
    }

    static func append(_ positions: UnsafeBufferPointer<UInt32>, to out: inout [UInt8]) {
        var length = 0
        var previous: UInt32 = 0
        for p in positions {
            length += Varint.size(p &- previous)
            previous = p
        }
        Varint.append(UInt32(length), to: &out)
        previous = 0
        for p in positions {
            Varint.append(p &- previous, to: &out)
            previous = p
        }
    }
}
