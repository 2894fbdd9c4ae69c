import Hummingbird
import NIOCore
import PrismConfig

/// `/`, `/health`, `/metrics`, `/stats/server`.
struct NodeRoutes {
    let api: PrismAPI

    struct Root: Encodable {
        let name = "prism"
        let version: String
        let status = "ok"
        let node_id: String
    }

    struct Health: Encodable {
        let status = "ok"
        let version: String
        let collections: Int
        let uptime_secs: Int64
    }

    struct ServerStats: Encodable {
        struct Storage: Encodable {
            let data_dir: String
            let map_size_bytes: Int
            let used_bytes: Int
            let sync_mode: String
            let commits: Int
            let committed_requests: Int
            let failed_requests: Int
            let largest_batch: Int
        }
        let version: String
        let node_id: String
        let uptime_secs: Int64
        let collections: Int
        let storage: Storage
    }

    func register(on router: Router<some RequestContext>) {
        router.get("/") { _, _ in
            JSONBody.response(Root(version: PrismBuild.version, node_id: api.config.node.id))
        }
        router.get("/health") { _, _ in
            JSONBody.response(Health(version: PrismBuild.version, collections: api.collections.count, uptime_secs: api.uptimeSeconds))
        }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: api.metrics.exposition())))
        }
        router.get("/stats/server") { _, _ in
            let writer = api.writer.stats
            return JSONBody.response(ServerStats(
                version: PrismBuild.version, node_id: api.config.node.id, uptime_secs: api.uptimeSeconds,
                collections: api.collections.count,
                storage: .init(data_dir: api.storage.directory, map_size_bytes: api.storage.mapSize, used_bytes: api.storage.usedBytes(),
                               sync_mode: api.storage.options.syncMode.rawValue, commits: writer.commits,
                               committed_requests: writer.committedRequests, failed_requests: writer.failedRequests,
                               largest_batch: writer.largestBatch)))
        }
    }
}
