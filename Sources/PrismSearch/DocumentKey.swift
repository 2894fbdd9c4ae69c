import PrismStorage

/// Keys of the `documents` table: `collection 0x00 shard:u16be id`. Grouping by collection and
/// shard keeps a shard's documents contiguous, so a shard can be scanned, streamed or dropped
/// by prefix.
enum DocumentKey {
    static func shard(of id: String, shards: Int) -> Int {
        StableHash.jumpHash(StableHash.xxHash64(id), buckets: shards)
    }

    static func collectionPrefix(_ collection: String) -> [UInt8] {
        Array(collection.utf8) + [0]
    }

    static func make(collection: String, shard: Int, id: String) -> [UInt8] {
        collectionPrefix(collection) + [UInt8(truncatingIfNeeded: shard >> 8), UInt8(truncatingIfNeeded: shard)] + Array(id.utf8)
    }
}
