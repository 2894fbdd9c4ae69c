import Prometheus
import Synchronization

/// The node's Prometheus registry and the metrics every layer records. Names follow the seed
/// guide's table; one instance per node (no global registry), handed to the layers that record.
public final class NodeMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let refreshers = Mutex<[@Sendable (NodeMetrics) -> Void]>([])

    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
    ]

    public init() {}

    /// A descriptor carrying the full metric name as given (the guide's names already end in their unit).
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// One HTTP request: `route` is the matched pattern (`/collections/{name}`), never the raw
    /// path, so label cardinality stays bounded.
    public func recordHTTPRequest(method: String, route: String, status: Int, duration: Duration) {
        let labels = [("method", method), ("route", route), ("status", String(status))]
        counter("prism_http_requests_total", labels: labels, help: "HTTP requests answered, by method, route and status")
            .increment()
        registry.makeDurationHistogram(descriptor: NodeMetrics.descriptor("prism_http_request_duration_seconds", "HTTP request latency"),
                                       labels: [("method", method), ("route", route)],
                                       buckets: NodeMetrics.latencyBuckets).record(duration)
    }

    public func counter(_ name: String, labels: [(String, String)] = [], help: String) -> Counter {
        registry.makeCounter(descriptor: NodeMetrics.descriptor(name, help), labels: labels)
    }

    public func gauge(_ name: String, labels: [(String, String)] = [], help: String) -> Gauge {
        registry.makeGauge(descriptor: NodeMetrics.descriptor(name, help), labels: labels)
    }

    /// Registers work to run before each scrape (for values read from elsewhere, like storage
    /// statistics), so they are fresh without a timer.
    public func onScrape(_ refresh: @escaping @Sendable (NodeMetrics) -> Void) {
        refreshers.withLock { $0.append(refresh) }
    }

    /// Prometheus text exposition format.
    public func exposition() -> [UInt8] {
        let work = refreshers.withLock { $0 }
        for refresh in work { refresh(self) }
        return registry.emitToBuffer()
    }
}
