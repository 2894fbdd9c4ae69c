/// The node's validated configuration. Built only by `ConfigLoader`, so every value here is in
/// range and consistent with the others.
public struct PrismConfig: Sendable, Equatable {
    public var node: NodeConfig
    public var server: ServerConfig
    public var storage: StorageConfig
    public var discovery: DiscoveryConfig
    public var transport: TransportConfig
    public var protocolVersions: ProtocolConfig
    public var replication: ReplicationConfig
    public var placement: PlacementConfig
    public var reads: ReadConsistencyConfig
    public var query: QueryConfig
    public var health: HealthConfig
    public var rebalancing: RebalancingConfig
    public var clusterConsistency: ClusterConsistencyConfig
    public var embeddingCache: EmbeddingCacheConfig

    /// The built-in defaults (what `make run` uses).
    public static func defaults() throws(ConfigErrors) -> PrismConfig {
        try ConfigLoader().resolve(fileText: nil).typed()
    }
}

public struct NodeConfig: Sendable, Equatable {
    public var id: String
    public var zone: String
    public var rack: String
    public var region: String
    public var attributes: [String: String]
}

public struct ServerConfig: Sendable, Equatable {
    public var http: HostPort
    public var maxBodyBytes: Int
    public var gossip: HostPort
    /// The gossip address others use; nil: derived from `gossip` (see server.gossip_advertise).
    public var gossipAdvertise: HostPort?
    public var rpc: HostPort
}

public struct StorageConfig: Sendable, Equatable {
    public enum SyncMode: String, Sendable { case full, nometasync, nosync }
    public var dataDirectory: String
    public var mapSizeBytes: Int
    public var maxMapSizeBytes: Int
    public var syncMode: SyncMode
    /// Documents per shard whose postings are buffered in memory before a flush to LMDB.
    public var indexBufferDocuments: Int
}

public struct DiscoveryConfig: Sendable, Equatable {
    public enum Backend: String, Sendable { case `static`, dns, gossip }
    public var backend: Backend
    public var nodes: [HostPort]
    public var dnsName: String
    public var dnsRefreshIntervalSeconds: Int
    public var gossipPort: Int
    public var gossipSeeds: [HostPort]
    /// Gossip encryption keys (32 bytes each); the first one is primary. Empty: no encryption.
    public var gossipKeys: [[UInt8]]
    /// `server.gossip_addr` was given (`--gossip`).
    public var gossipExplicit: Bool

    /// Whether this node runs gossip: a gossip address was given or there are peers to find.
    /// A node with no peers and no gossip address is a single node and opens no gossip port.
    public var gossipEnabled: Bool {
        gossipExplicit || backend != .static || !nodes.isEmpty
    }

    /// The peers to join through: the static list, or the gossip seeds (DNS peers are resolved at run time).
    public var joinSeeds: [HostPort] {
        switch backend {
        case .static: nodes
        case .gossip: gossipSeeds
        case .dns: []
        }
    }
}

public struct TransportConfig: Sendable, Equatable {
    public enum Kind: String, Sendable { case tcp, quic }
    public var kind: Kind
    public var bindPort: Int
    public var quicIdleTimeoutMillis: Int
    public var quicMaxStreams: Int
    public var certPath: String
    public var keyPath: String
    public var caPath: String
    public var tlsEnabled: Bool { !certPath.isEmpty }
}

public struct ProtocolConfig: Sendable, Equatable {
    public var version: Int
    public var minSupportedVersion: Int
}

public struct ReplicationConfig: Sendable, Equatable {
    public var factor: Int
    public var minReplicasForWrite: Int
}

public struct PlacementConfig: Sendable, Equatable {
    public enum Domain: String, Sendable { case zone, rack, region, none }
    public var spreadAcross: Domain
    /// ε of bounded loads (`cluster.placement.load_slack`).
    public var loadSlack: Double
}

public enum ReadConsistency: String, Sendable, CaseIterable {
    case eventual
    case readYourWrites = "read-your-writes"
    case bounded
    case strong
}

public struct ReadConsistencyConfig: Sendable, Equatable {
    public var level: ReadConsistency
    public var boundedStalenessMillis: Int
}

public struct QueryConfig: Sendable, Equatable {
    public var allowPartialResults: Bool
    public var partialResultsTimeoutMillis: Int
    public var minSuccessfulShards: Int
}

public struct HealthConfig: Sendable, Equatable {
    public enum OnNodeFailure: String, Sendable { case rebalance, none }
    public var heartbeatIntervalMillis: Int
    public var failureThreshold: Int
    public var suspectTimeoutMillis: Int
    public var onNodeFailure: OnNodeFailure
}

public struct RebalancingConfig: Sendable, Equatable {
    public var imbalanceThresholdPercent: Double
    public var maxConcurrentMoves: Int
    public var maxBytesPerSecond: Int
    public var continuousOptimization: Bool
    public var pauseScheduleText: String
    public var pauseSchedule: CronSchedule?
    /// `pause_utc_offset_minutes`: the schedule's clock, minutes east of UTC.
    public var pauseUTCOffsetMinutes: Int
}

public struct ClusterConsistencyConfig: Sendable, Equatable {
    public enum WriteQuorum: Sendable, Equatable { case quorum, all, count(Int) }
    public enum PartitionBehavior: String, Sendable { case readOnly = "read_only", unavailable }
    public var minNodesForWrite: WriteQuorum
    public var partitionBehavior: PartitionBehavior
    public var allowStaleReads: Bool
}

public struct EmbeddingCacheConfig: Sendable, Equatable {
    public enum Backend: String, Sendable { case none, redis, sqlite, s3 }
    public var l1Enabled: Bool
    public var l1MaxEntries: Int
    public var l2Backend: Backend
    public var l2URL: String
    public var l2TTLSeconds: Int
}
