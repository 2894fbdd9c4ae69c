/// One shard of a collection: `(collection, number)`, numbered from 0.
public struct ShardID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var collection: String
    public var number: Int

    public init(collection: String, number: Int) {
        self.collection = collection
        self.number = number
    }

    /// Where the shard sits on the ring.
    public var ringPosition: UInt64 { PortableHash.hash("shard/\(collection)/\(number)") }

    public static func < (a: ShardID, b: ShardID) -> Bool { (a.collection, a.number) < (b.collection, b.number) }
    public var description: String { "\(collection)/\(number)" }
}

/// A collection's layout: how many shards, how many replicas of each.
public struct CollectionLayout: Hashable, Sendable {
    public var name: String
    public var shards: Int
    public var replicationFactor: Int

    public init(name: String, shards: Int, replicationFactor: Int) {
        self.name = name
        self.shards = shards
        self.replicationFactor = replicationFactor
    }

    public var shardIDs: [ShardID] { (0..<max(0, shards)).map { ShardID(collection: name, number: $0) } }
}
