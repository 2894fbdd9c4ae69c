/// Key prefixes of one shard's index records: `collection 0x00 shard:u16be`, then the record's
/// own key. Everything of a shard is contiguous in every table, so a shard can be scanned, moved or
/// dropped by prefix.
struct ShardKey: Sendable, Hashable {
    let prefix: [UInt8]

    init(collection: String, shard: Int) {
        prefix = Array(collection.utf8) + [0, UInt8(truncatingIfNeeded: shard >> 8), UInt8(truncatingIfNeeded: shard)]
    }

    static func collectionPrefix(_ collection: String) -> [UInt8] { Array(collection.utf8) + [0] }

    /// The shard number (for logs).
    var shard: Int { prefix.count >= 2 ? Int(prefix[prefix.count - 2]) << 8 | Int(prefix[prefix.count - 1]) : 0 }

    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    static func readBE32(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    func id(_ id: String) -> [UInt8] { prefix + Array(id.utf8) }
    func docnum(_ n: UInt32) -> [UInt8] { prefix + ShardKey.be32(n) }
    var meta: [UInt8] { prefix }
    func chunk(_ chunk: UInt32) -> [UInt8] { prefix + ShardKey.be32(chunk) }
    func fieldChunk(_ field: Int, _ chunk: UInt32) -> [UInt8] { prefix + [UInt8(field >> 8), UInt8(field & 0xFF)] + ShardKey.be32(chunk) }

    /// Prefix of all blocks of `term` in `field`: field:u16 termLength:u16 term.
    func term(_ field: Int, _ term: [UInt8]) -> [UInt8] {
        term.withUnsafeBytes { self.term(field, $0) }
    }

    /// As above, from the term's bytes in place (one allocation: indexing makes a key per term
    /// per batch).
    func term(_ field: Int, _ term: UnsafeRawBufferPointer) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(prefix.count + 4 + term.count)
        key.append(contentsOf: prefix)
        key.append(UInt8(truncatingIfNeeded: field >> 8))
        key.append(UInt8(truncatingIfNeeded: field))
        key.append(UInt8(truncatingIfNeeded: term.count >> 8))
        key.append(UInt8(truncatingIfNeeded: term.count))
        key.append(contentsOf: term)
        return key
    }

    /// Key of a term's postings block: the term, the block's last document (so the first key at
    /// or after `term + target` is the block that can hold `target`), then the block's summary
    /// (count, min norm id, max frequency), so a scan bounds a block's score from its key alone
    /// and never touches the values (often overflow pages) of blocks it skips.
    func block(_ termPrefix: [UInt8], _ summary: BlockSummary) -> [UInt8] {
        var key = termPrefix + ShardKey.be32(summary.last)
        key.append(UInt8(truncatingIfNeeded: summary.count))
        summary.envelope.encode(into: &key)
        return key
    }

    /// Bytes a block key adds to its term key.
    static let blockSuffix = 5 + ScoreEnvelope.encodedSize

    /// The summary in a block key of a term key `termLength` bytes long; nil when it is not one.
    static func blockSummary(_ key: UnsafeRawBufferPointer, termLength: Int) -> BlockSummary? {
        guard key.count == termLength + blockSuffix else { return nil }
        return BlockSummary(last: readBE32(key, at: termLength), count: Int(key[termLength + 4]),
                            envelope: ScoreEnvelope.decode(key, at: termLength + 5))
    }
}
