import Hummingbird
import Logging
import PrismConfig
import PrismHTTP
import PrismMetrics
import PrismSearch
import PrismStorage
import PrismTestSupport
import ServiceLifecycle
import Synchronization

/// Runs a real node HTTP server on 127.0.0.1 (ephemeral port) over a real LMDB environment,
/// calls `body` with a client for it, then shuts everything down.
func withTestServer(
    environment env: [String: String] = [:],
    dataDirectory: TemporaryDirectory = TemporaryDirectory(),
    _ body: @Sendable (HTTPClient) async throws -> Void
) async throws {
    var settings = ["PRISM_SERVER_HTTP": "127.0.0.1:0", "PRISM_NODE_ID": "test-node"]
    for (k, v) in env { settings[k] = v }
    let config = try ConfigLoader(environment: settings).resolve(fileText: nil).typed()
    var quiet = Logger(label: "test")
    quiet.logLevel = .warning
    let storage = try LMDBEnvironment(directory: dataDirectory.path, logger: quiet)
    let writer = GroupCommitWriter(environment: storage, logger: quiet)
    let collections = try CollectionStore(environment: storage, writer: writer, logger: quiet)
    let api = PrismAPI(config: config, collections: collections, storage: storage, writer: writer, metrics: NodeMetrics(), logger: quiet)
    let port = Mutex<Int?>(nil)
    let app = Application(
        router: api.router(),
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
        logger: quiet)
    let group = ServiceGroup(configuration: .init(services: [app], logger: quiet))
    let running = Task { try await group.run() }
    defer {
        writer.shutdown()
        storage.close()
    }
    var waited = 0
    while port.withLock({ $0 }) == nil && waited < 3000 {
        try await Task.sleep(for: .milliseconds(5))
        waited += 5
    }
    guard let bound = port.withLock({ $0 }) else {
        await group.triggerGracefulShutdown()
        throw HTTPClient.Failure(description: "test server did not start")
    }
    do {
        try await body(HTTPClient(port: bound))
    } catch {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        throw error
    }
    await group.triggerGracefulShutdown()
    try await running.value
}
