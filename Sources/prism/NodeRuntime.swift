import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PrismConfig
import PrismHTTP
import PrismMetrics
import PrismRuntime
import PrismSearch
import PrismStorage
import ServiceLifecycle

/// Wires one node from its configuration: storage, collections, HTTP; runs until SIGINT or
/// SIGTERM, then finishes in-flight requests and writes and closes LMDB cleanly.
struct NodeRuntime {
    let config: PrismConfig
    let logger: Logger
    let printEvents: Bool

    init(config: PrismConfig, logger: Logger, printEvents: Bool = false) throws {
        self.config = config
        self.logger = logger
        self.printEvents = printEvents
    }

    func run() async throws {
        let storageOptions = StorageOptions(
            mapSize: config.storage.mapSizeBytes, maxMapSize: config.storage.maxMapSizeBytes,
            syncMode: SyncMode(rawValue: config.storage.syncMode.rawValue) ?? .full)
        let environment: LMDBEnvironment
        do {
            environment = try LMDBEnvironment(directory: config.storage.dataDirectory, options: storageOptions,
                                              logger: Logger(label: "prism.storage"))
        } catch let error as StorageError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let writer = GroupCommitWriter(environment: environment, logger: Logger(label: "prism.storage.writer"))
        defer {
            writer.shutdown()
            environment.close()
        }
        let collections = try CollectionStore(environment: environment, writer: writer,
                                              postingsBufferDocuments: config.storage.indexBufferDocuments)
        let metrics = NodeMetrics()

        let http = config.server.http
        let nodeID = config.node.id
        // A node with peers to find (or an explicit --gossip) joins the mesh; otherwise it is a
        // single node and opens no gossip port.
        let gossip = config.discovery.gossipEnabled
            ? try await GossipRuntime.start(config: config, httpAddress: "\(http)", printEvents: printEvents, metrics: metrics, logger: logger)
            : nil
        let gossipTask = gossip.map { runtime in Task { await runtime.agent.run() } }
        let gossipField = gossip.map { " gossip=\($0.agent.endpoint)" } ?? ""
        let api = PrismAPI(config: config, collections: collections, storage: environment, writer: writer, metrics: metrics,
                           membership: gossip?.agent)
        let app = Application(
            router: api.router(),
            configuration: .init(address: .hostname(http.host, port: http.port), serverName: "prism"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? http.port
                if let agent = gossip?.agent, port != http.port {
                    // Listening on port 0: tell the mesh the port we got.
                    var metadata = await agent.me.metadata
                    metadata.httpAddress = "\(http.host):\(port)"
                    await agent.updateMetadata(metadata)
                }
                // One machine-readable line on stdout so scripts and tests know where we listen.
                FileHandle.standardOutput.write(Data("prism ready node=\(nodeID) http=\(http.host):\(port)\(gossipField)\n".utf8))
            },
            logger: Logger(label: "prism.http")
        )
        let group = ServiceGroup(configuration: .init(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("starting node", metadata: [
            "node": "\(config.node.id)", "zone": "\(config.node.zone)", "http": "\(http)",
            "data_dir": "\(config.storage.dataDirectory)", "version": "\(PrismBuild.version)",
        ])
        try await group.run()
        if let gossip {
            logger.info("leaving the mesh", metadata: ["node": "\(config.node.id)"])
            await gossip.stop()
            gossipTask?.cancel()
            await gossipTask?.value
        }
        logger.info("node stopped; flushing storage", metadata: ["node": "\(config.node.id)"])
        // Buffered postings go to LMDB now, so the next start has nothing to rebuild.
        do {
            try await collections.flushPostings()
        } catch {
            logger.warning("postings not flushed; they will be rebuilt at the next start", metadata: ["error": "\(error)"])
        }
    }
}
