import Hummingbird
import Logging
import PrismConfig
import PrismGossip
import PrismMetrics
import PrismSearch
import PrismStorage

/// The HTTP API of one node (API.md): builds the router over the node's collections.
public struct PrismAPI: Sendable {
    public let config: PrismConfig
    public let collections: CollectionStore
    public let storage: LMDBEnvironment
    public let writer: GroupCommitWriter
    public let metrics: NodeMetrics
    public let logger: Logger
    /// This node's gossip agent; nil for a single node.
    public let membership: GossipAgent?
    let started = ContinuousClock.now

    public init(config: PrismConfig, collections: CollectionStore, storage: LMDBEnvironment, writer: GroupCommitWriter,
                metrics: NodeMetrics, membership: GossipAgent? = nil, logger: Logger = Logger(label: "prism.http")) {
        self.membership = membership
        self.config = config
        self.collections = collections
        self.storage = storage
        self.writer = writer
        self.metrics = metrics
        self.logger = logger
        StorageMetrics.register(environment: storage, writer: writer, on: metrics)
        IndexMetrics.register(collections: collections, on: metrics)
    }

    var uptimeSeconds: Int64 { (ContinuousClock.now - started).components.seconds }

    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorMiddleware(metrics: metrics, logger: logger))
        NodeRoutes(api: self).register(on: router)
        CollectionRoutes(api: self).register(on: router)
        DocumentRoutes(api: self).register(on: router)
        SearchRoutes(api: self).register(on: router)
        ClusterRoutes(api: self).register(on: router)
        return router
    }

    func schemaParser() -> SchemaParser {
        SchemaParser(defaultReplication: .init(factor: config.replication.factor,
                                               minReplicasForWrite: config.replication.minReplicasForWrite))
    }
}
