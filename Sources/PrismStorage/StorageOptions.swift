/// How a node opens its LMDB environment.
public struct StorageOptions: Sendable, Equatable {
    /// Initial map size in bytes; the map doubles when full, up to `maxMapSize`.
    public var mapSize: Int
    /// Upper bound for map growth.
    public var maxMapSize: Int
    public var syncMode: SyncMode
    /// Named tables the environment may hold.
    public var maxTables: Int
    /// Most concurrent read transactions.
    public var maxReaders: Int

    public init(
        mapSize: Int = 1 << 30,
        maxMapSize: Int = 1 << 40,
        syncMode: SyncMode = .full,
        maxTables: Int = 128,
        maxReaders: Int = 512
    ) {
        self.mapSize = mapSize
        self.maxMapSize = maxMapSize
        self.syncMode = syncMode
        self.maxTables = maxTables
        self.maxReaders = maxReaders
    }
}
