/// Every key Prism reads, with its default. Sections follow the seed clustering guide plus
/// `[server]` and `[storage]`.
public enum ConfigSchema {
    static let maxPort: ClosedRange<Int64> = 1...65535

    public static let keys: [ConfigKey] = [
        // [node]
        ConfigKey("node.id", .string(allowEmpty: false), .unset,
                  "Unique node name; letters, digits, '.', '_' and '-'. Defaults to the host name.", aliases: ["NODE_ID"]),
        ConfigKey("node.zone", .string(allowEmpty: true), .string(""),
                  "Availability zone; replicas of a shard never share one (see cluster.placement.spread_across).", aliases: ["NODE_ZONE"]),
        ConfigKey("node.rack", .string(allowEmpty: true), .string(""), "Physical rack (optional).", aliases: ["NODE_RACK"]),
        ConfigKey("node.region", .string(allowEmpty: true), .string(""), "Cloud region (optional).", aliases: ["NODE_REGION"]),
        ConfigKey("node.attributes", .attributes, .table([:]),
                  "Free-form attributes carried in gossip; `storage_gb` weights placement. In the environment: `NAME=VALUE,NAME=VALUE`."),

        // [server]
        ConfigKey("server.http", .address, .string("127.0.0.1:3080"), "HTTP API listen address."),
        ConfigKey("server.max_body_size", .size(1024...(1 << 30)), .int(32 * 1024 * 1024),
                  "Largest request body accepted; larger requests get 413."),
        ConfigKey("server.gossip_addr", .address, .unset,
                  "Gossip (UDP/TCP) listen address. Unset: 0.0.0.0 and federation.discovery.gossip_port."),
        ConfigKey("server.gossip_advertise", .address, .unset,
                  "Gossip address other nodes use to reach this one (behind NAT or in containers). Unset: the gossip listen address, or this host's first non-loopback IPv4 address when listening on 0.0.0.0. Port 0: the listen port."),
        ConfigKey("server.rpc_addr", .address, .unset,
                  "Inter-node RPC listen address. Unset: 0.0.0.0 and cluster.transport.bind_port."),

        // [storage]
        ConfigKey("storage.data_dir", .string(allowEmpty: false), .string("./data"), "Directory of the node's LMDB environment and lock file."),
        ConfigKey("storage.map_size", .size((1 << 20)...(1 << 50)), .int(1 << 30),
                  "Initial LMDB map size; the map doubles by itself when full."),
        ConfigKey("storage.max_map_size", .size((1 << 20)...(1 << 50)), .int(1 << 40), "Upper bound for map growth."),
        ConfigKey("storage.sync_mode", .choice(["full", "nometasync", "nosync"]), .string("full"),
                  "`full`: fsync every commit (survives power loss). `nometasync`: skip the meta-page sync (a power loss may undo the last commit). `nosync`: survives a process crash only."),
        ConfigKey("storage.index_buffer_documents", .integer(0...10_000_000), .int(32_768),
                  "Documents per shard whose postings wait in memory before being written to LMDB in one run (faster indexing; rebuilt from the stored documents after a crash). 0 writes postings with every batch."),

        // [federation.discovery]
        ConfigKey("federation.discovery.backend", .choice(["static", "dns", "gossip"]), .string("static"),
                  "How peers are found. `static` with no nodes is a single node."),
        ConfigKey("federation.discovery.nodes", .addressList, .list([]), "Static peer list (`host:port` gossip addresses)."),
        ConfigKey("federation.discovery.dns_name", .string(allowEmpty: true), .string(""),
                  "DNS name resolved (A/AAAA and SRV) for peers when backend = \"dns\"."),
        ConfigKey("federation.discovery.dns_refresh_interval_secs", .integer(1...86_400), .int(30), "How often the DNS name is re-resolved."),
        ConfigKey("federation.discovery.gossip_port", .integer(maxPort), .int(7946), "Gossip port (UDP probes, TCP push-pull)."),
        ConfigKey("federation.discovery.gossip_seeds", .addressList, .list([]),
                  "Seeds to join through when backend = \"gossip\" (`--seeds`)."),
        ConfigKey("federation.discovery.gossip_keys", .stringList, .list([]),
                  "AES-256-GCM keys (base64 of 32 bytes, e.g. `openssl rand -base64 32`) that encrypt gossip. The first one seals what this node sends; all of them open what it receives, so keys rotate without downtime. Empty: gossip is not encrypted, and encrypted packets are refused."),

        // [cluster.transport]
        ConfigKey("cluster.transport.transport", .choice(["tcp", "quic"]), .string("tcp"), "Inter-node RPC transport."),
        ConfigKey("cluster.transport.bind_port", .integer(maxPort), .int(7000), "Inter-node RPC port."),
        ConfigKey("cluster.transport.quic_idle_timeout_ms", .durationMillis(1_000...3_600_000), .int(30_000), "QUIC idle timeout."),
        ConfigKey("cluster.transport.quic_max_streams", .integer(1...10_000), .int(100), "QUIC concurrent streams per connection."),
        ConfigKey("cluster.transport.cert_path", .string(allowEmpty: true), .string(""),
                  "Cluster certificate (PEM). With key_path, enables mutual TLS on the RPC port; required for QUIC."),
        ConfigKey("cluster.transport.key_path", .string(allowEmpty: true), .string(""), "Private key (PEM) of cert_path."),
        ConfigKey("cluster.transport.ca_path", .string(allowEmpty: true), .string(""),
                  "CA bundle peers' certificates must chain to. Empty: peers must present the cluster certificate itself."),

        // [cluster]
        ConfigKey("cluster.protocol_version", .integer(1...255), .int(1), "Wire protocol version this node speaks."),
        ConfigKey("cluster.min_supported_version", .integer(1...255), .int(1), "Oldest peer protocol version accepted."),

        // [collection.replication]
        ConfigKey("collection.replication.factor", .integer(1...15), .int(1), "Default replicas per shard for new collections."),
        ConfigKey("collection.replication.min_replicas_for_write", .integer(1...15), .int(1),
                  "Replicas that must hold a write durably before it is acknowledged; at most `factor`."),

        // [cluster.placement]
        ConfigKey("cluster.placement.spread_across", .choice(["zone", "rack", "region", "none"]), .string("zone"),
                  "Failure domain no two replicas of a shard may share; a node without that label is a domain of its own."),
        ConfigKey("cluster.placement.load_slack", .number(0...10), .double(0.1),
                  "ε of bounded loads: a node holds at most ⌈(1 + ε)·its fair share⌉ replicas when its domain allows."),

        // [federation.consistency]
        ConfigKey("federation.consistency.read", .choice(["eventual", "read-your-writes", "bounded", "strong"]), .string("eventual"),
                  "Default read consistency (per request: `consistency` or `X-Prism-Consistency`)."),
        ConfigKey("federation.consistency.bounded_staleness_ms", .durationMillis(1...86_400_000), .int(5_000),
                  "Most a `bounded` read may lag the leader."),

        // [federation.query]
        ConfigKey("federation.query.allow_partial_results", .boolean, .bool(true), "Answer searches when some shards fail, with the `shards` block."),
        ConfigKey("federation.query.partial_results_timeout_ms", .durationMillis(1...600_000), .int(5_000),
                  "How long a search waits for shards before answering with what it has."),
        ConfigKey("federation.query.min_successful_shards", .integer(1...100_000), .int(1),
                  "Fewer successful shards than this fails the search with 503."),

        // [cluster.health]
        ConfigKey("cluster.health.heartbeat_interval_ms", .durationMillis(10...60_000), .int(1_000), "SWIM protocol period (one probe per period)."),
        ConfigKey("cluster.health.failure_threshold", .integer(1...100), .int(3),
                  "Missed probes (direct and indirect) before a member is suspected."),
        ConfigKey("cluster.health.suspect_timeout_ms", .durationMillis(100...600_000), .int(5_000),
                  "Base suspicion timeout (suspect → dead) before Lifeguard scaling."),
        ConfigKey("cluster.health.on_node_failure", .choice(["rebalance", "none"]), .string("rebalance"),
                  "`rebalance`: re-replicate the shards of dead nodes; `none`: only report."),

        // [cluster.rebalancing]
        ConfigKey("cluster.rebalancing.imbalance_threshold_percent", .number(0...1_000), .double(15),
                  "A node further than this (percent) from its fair share of replicas triggers imbalance moves."),
        ConfigKey("cluster.rebalancing.max_concurrent_moves", .integer(1...64), .int(2), "Shard moves per node at once (sending or receiving)."),
        ConfigKey("cluster.rebalancing.max_bytes_per_sec", .size(1024...(1 << 40)), .int(100_000_000), "Snapshot streaming throttle per node."),
        ConfigKey("cluster.rebalancing.continuous_optimization", .boolean, .bool(false), "Move for balance even below the threshold."),
        ConfigKey("cluster.rebalancing.pause_schedule", .cron, .string(""),
                  "Cron (UTC); each firing pauses rebalancing for an hour (\"0 9-17 * * MON-FRI\": 9:00-18:00 on weekdays), when only under-replication repairs run. Empty: never paused."),

        ConfigKey("cluster.rebalancing.pause_utc_offset_minutes", .integer(-840...840), .int(0),
                  "Minutes east of UTC that pause_schedule is read in (60: UTC+1); a fixed offset, no daylight saving."),

        // [cluster.consistency]
        ConfigKey("cluster.consistency.min_nodes_for_write", .integerOrChoice(1...15, ["quorum", "all"]), .string("quorum"),
                  "Voters that must accept a write: \"quorum\" (majority), \"all\", or a count."),
        ConfigKey("cluster.consistency.partition_behavior", .choice(["read_only", "unavailable"]), .string("read_only"),
                  "What a minority side does: `read_only` keeps serving reads (see allow_stale_reads), `unavailable` refuses all."),
        ConfigKey("cluster.consistency.allow_stale_reads", .boolean, .bool(true), "Serve reads on a minority side."),

        // [embedding.cache]
        ConfigKey("embedding.cache.l1_enabled", .boolean, .bool(true), "Per-node embedding cache."),
        ConfigKey("embedding.cache.l1_max_entries", .integer(0...100_000_000), .int(10_000), "L1 capacity in entries."),
        ConfigKey("embedding.cache.l2_backend", .choice(["none", "redis", "sqlite", "s3"]), .string("none"), "Shared L2 cache backend."),
        ConfigKey("embedding.cache.l2_url", .string(allowEmpty: true), .string(""), "L2 location, e.g. `redis://redis:6379`."),
        ConfigKey("embedding.cache.l2_ttl_secs", .integer(1...31_536_000), .int(86_400), "L2 entry lifetime."),
    ]

    public static let byPath: [String: ConfigKey] = Dictionary(uniqueKeysWithValues: keys.map { ($0.path, $0) })

    /// Sections that exist (so `[cluster.health]` is known even though it holds no value itself).
    public static let sections: Set<String> = {
        var result = Set<String>()
        for key in keys {
            var parts = key.path.split(separator: ".").dropLast()
            while !parts.isEmpty {
                result.insert(parts.joined(separator: "."))
                parts = parts.dropLast()
            }
        }
        return result
    }()

    /// The known key or section closest to an unknown one, for "did you mean".
    public static func suggestion(for unknown: String) -> String? {
        let candidates = keys.map(\.path) + sections
        let section = unknown.split(separator: ".").dropLast().joined(separator: ".")
        let leaf = unknown.split(separator: ".").last.map(String.init) ?? unknown
        // Prefer a key of the same section whose last part is close (typo in the name).
        var best: (String, Int)?
        for candidate in candidates {
            let distance: Int
            if !section.isEmpty, candidate.hasPrefix(section + "."), !candidate.dropFirst(section.count + 1).contains(".") {
                distance = EditDistance.between(leaf, String(candidate.dropFirst(section.count + 1)))
            } else {
                distance = EditDistance.between(unknown, candidate)
            }
            if let current = best, current.1 <= distance { continue }
            best = (candidate, distance)
        }
        guard let (candidate, distance) = best else { return nil }
        let limit = max(2, leaf.count / 3)
        return distance <= limit ? candidate : nil
    }
}

enum EditDistance {
    static func between(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased()), y = Array(b.lowercased())
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[y.count]
    }
}
