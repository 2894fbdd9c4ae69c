/// One postings block's documents decoded into storage it owns, its frequencies decoded only
/// when first asked (cursors and merges that pass documents over seldom need them). Shared by
/// `PostingsCursor` and `BlockStream`: the innermost loops of conjunctions and phrases read
/// `docs` directly, with no array bookkeeping (uniqueness checks, retains) per posting.
final class DecodedBlock {
    /// The block's documents; `count` of them are valid.
    let docs: UnsafeMutablePointer<UInt32>
    private let frequencies: UnsafeMutablePointer<UInt32>
    private(set) var count = 0
    /// Where the encoded block lives, to decode its frequencies later: an LMDB value (valid for
    /// the read transaction) or a buffered block.
    private var stored: UnsafeRawBufferPointer?
    private var buffered: BufferedBlock?
    private var frequenciesOffset = 0
    private var frequenciesDecoded = false

    init() {
        docs = .allocate(capacity: PostingsBlock.capacity)
        frequencies = .allocate(capacity: PostingsBlock.capacity)
    }

    deinit {
        docs.deallocate()
        frequencies.deallocate()
    }

    /// Decodes an LMDB block's documents; false when the bytes are damaged.
    func load(stored postings: UnsafeRawBufferPointer) -> Bool {
        stored = postings
        buffered = nil
        return decodeDocs(postings)
    }

    /// Decodes a buffered block's documents; false when the bytes are damaged.
    func load(buffered block: BufferedBlock) -> Bool {
        stored = nil
        buffered = block
        return block.postings.withUnsafeBytes { decodeDocs($0) }
    }

    /// No block (past the last one).
    func clear() {
        count = 0
        stored = nil
        buffered = nil
    }

    private func decodeDocs(_ postings: UnsafeRawBufferPointer) -> Bool {
        guard let (n, offset) = PostingsBlock.decodeDocs(postings, into: docs) else {
            count = 0
            return false
        }
        count = n
        frequenciesOffset = offset
        frequenciesDecoded = false
        return true
    }

    /// The block's score envelope, from its header (nil with no block or damaged bytes).
    func envelope() -> ScoreEnvelope? {
        if let stored { return PostingsBlock.header(stored)?.envelope }
        if let buffered { return buffered.postings.withUnsafeBytes { PostingsBlock.header($0)?.envelope } }
        return nil
    }

    /// The frequency of the `i`th document; nil when the block's bytes are damaged.
    func frequency(at i: Int) -> UInt32? {
        if !frequenciesDecoded {
            let (offset, n, out) = (frequenciesOffset, count, frequencies)
            let ok: Bool
            if let stored {
                ok = PostingsBlock.decodeFrequencies(stored, at: offset, count: n, into: out)
            } else if let buffered {
                ok = buffered.postings.withUnsafeBytes { PostingsBlock.decodeFrequencies($0, at: offset, count: n, into: out) }
            } else {
                ok = false
            }
            guard ok else { return nil }
            frequenciesDecoded = true
        }
        return frequencies[i]
    }
}
