import PrismMetrics
import PrismStorage

/// Publishes storage figures at scrape time.
enum StorageMetrics {
    static func register(environment: LMDBEnvironment, writer: GroupCommitWriter, on metrics: NodeMetrics) {
        metrics.onScrape { m in
            let stats = writer.stats
            m.gauge("prism_storage_map_size_bytes", help: "LMDB map size").set(Int64(environment.mapSize))
            m.gauge("prism_storage_used_bytes", help: "LMDB pages in use, in bytes").set(Int64(environment.usedBytes()))
            m.gauge("prism_storage_commits", help: "Synced group commits since start").set(Int64(stats.commits))
            m.gauge("prism_storage_committed_requests", help: "Write requests committed since start").set(Int64(stats.committedRequests))
            m.gauge("prism_storage_failed_requests", help: "Write requests rolled back since start").set(Int64(stats.failedRequests))
        }
    }
}
