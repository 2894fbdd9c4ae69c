import PrismMetrics
import PrismSearch

/// Publishes index figures at scrape time.
enum IndexMetrics {
    static func register(collections: CollectionStore, on metrics: NodeMetrics) {
        metrics.onScrape { m in
            m.gauge("prism_index_buffered_documents", help: "Documents whose postings wait in memory for the next flush to LMDB")
                .set(Int64(collections.bufferedDocuments))
            m.gauge("prism_index_postings_flushes", help: "Postings buffers written to LMDB since start")
                .set(Int64(collections.postingsFlushes))
            m.gauge("prism_index_postings_flush_seconds", help: "Seconds the writer spent writing postings buffers to LMDB since start")
                .set(collections.postingsFlushSeconds)
            m.gauge("prism_index_cached_column_bytes", help: "Bytes of full column chunks (norms, doc values, tie keys) copied into memory for queries")
                .set(Int64(collections.cachedColumnBytes))
        }
    }
}
