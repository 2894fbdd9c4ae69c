import Foundation

/// Every key's effective value and where it came from, before conversion to `PrismConfig`.
public struct ResolvedConfig: Sendable {
    public let values: [String: (ConfigValue, ConfigSource)]

    public func value(_ path: String) -> ConfigValue { values[path]?.0 ?? .unset }
    public func source(_ path: String) -> ConfigSource { values[path]?.1 ?? .defaultValue }

    func string(_ path: String) -> String {
        if case .string(let s) = value(path) { return s }
        return ""
    }

    func int(_ path: String) -> Int {
        switch value(path) {
        case .int(let i): return Int(i)
        case .double(let d): return Int(d)
        default: return 0
        }
    }

    func double(_ path: String) -> Double {
        switch value(path) {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return 0
        }
    }

    func bool(_ path: String) -> Bool {
        if case .bool(let b) = value(path) { return b }
        return false
    }

    func list(_ path: String) -> [String] {
        if case .list(let items) = value(path) { return items }
        return []
    }

    func address(_ path: String) -> HostPort? {
        guard case .string(let s) = value(path), case .success(let hp) = HostPort.parse(s) else { return nil }
        return hp
    }

    func error(_ path: String, _ message: String) -> ConfigError {
        ConfigError(source: source(path), key: path, value: value(path).description, message: message)
    }

    /// Converts to the typed configuration, checking rules that involve several keys.
    public func typed() throws(ConfigErrors) -> PrismConfig {
        var errors: [ConfigError] = []

        let nodeID = string("node.id").isEmpty ? ResolvedConfig.hostName() : string("node.id")
        if !nodeID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) || nodeID.count > 128 {
            errors.append(error("node.id", "must be 1-128 characters of letters, digits, '.', '_' and '-'"))
        }
        var attributes: [String: String] = [:]
        if case .table(let entries) = value("node.attributes") {
            for (k, v) in entries {
                if case .string(let s) = v { attributes[k] = s } else { attributes[k] = v.description }
            }
        }
        let node = NodeConfig(id: nodeID, zone: string("node.zone"), rack: string("node.rack"),
                              region: string("node.region"), attributes: attributes)

        let http = address("server.http") ?? HostPort(host: "127.0.0.1", port: 3080)
        let gossipPort = int("federation.discovery.gossip_port")
        let rpcPort = int("cluster.transport.bind_port")
        let server = ServerConfig(
            http: http, maxBodyBytes: int("server.max_body_size"),
            gossip: address("server.gossip_addr") ?? HostPort(host: "0.0.0.0", port: gossipPort),
            gossipAdvertise: address("server.gossip_advertise"),
            rpc: address("server.rpc_addr") ?? HostPort(host: "0.0.0.0", port: rpcPort))

        let storage = StorageConfig(
            dataDirectory: string("storage.data_dir"), mapSizeBytes: int("storage.map_size"),
            maxMapSizeBytes: int("storage.max_map_size"),
            syncMode: StorageConfig.SyncMode(rawValue: string("storage.sync_mode")) ?? .full,
            indexBufferDocuments: int("storage.index_buffer_documents"))
        if storage.maxMapSizeBytes < storage.mapSizeBytes {
            errors.append(error("storage.max_map_size", "must be at least storage.map_size (\(value("storage.map_size")))"))
        }

        let backend = DiscoveryConfig.Backend(rawValue: string("federation.discovery.backend")) ?? .static
        var discovery = DiscoveryConfig(
            backend: backend,
            nodes: list("federation.discovery.nodes").compactMap { try? HostPort.parse($0).get() },
            dnsName: string("federation.discovery.dns_name"),
            dnsRefreshIntervalSeconds: int("federation.discovery.dns_refresh_interval_secs"),
            gossipPort: gossipPort,
            gossipSeeds: list("federation.discovery.gossip_seeds").compactMap { try? HostPort.parse($0).get() },
            gossipKeys: [],
            gossipExplicit: address("server.gossip_addr") != nil)
        for (i, text) in list("federation.discovery.gossip_keys").enumerated() {
            if let key = Data(base64Encoded: text), key.count == 32 {
                discovery.gossipKeys.append([UInt8](key))
            } else {
                // Keys are secrets: the error names the key's position, never its text.
                errors.append(ConfigError(source: source("federation.discovery.gossip_keys"), key: "federation.discovery.gossip_keys",
                                          value: "(key \(i + 1), not shown)",
                                          message: "key \(i + 1) must be base64 of exactly 32 bytes (make one with `openssl rand -base64 32`)"))
            }
        }
        if backend == .dns && discovery.dnsName.isEmpty {
            errors.append(error("federation.discovery.dns_name", "is required when federation.discovery.backend = \"dns\""))
        }
        if backend == .gossip && discovery.gossipSeeds.isEmpty {
            errors.append(error("federation.discovery.gossip_seeds",
                                "needs at least one seed when federation.discovery.backend = \"gossip\" (or pass --seeds)"))
        }

        let transport = TransportConfig(
            kind: TransportConfig.Kind(rawValue: string("cluster.transport.transport")) ?? .tcp,
            bindPort: rpcPort,
            quicIdleTimeoutMillis: int("cluster.transport.quic_idle_timeout_ms"),
            quicMaxStreams: int("cluster.transport.quic_max_streams"),
            certPath: string("cluster.transport.cert_path"),
            keyPath: string("cluster.transport.key_path"),
            caPath: string("cluster.transport.ca_path"))
        if transport.certPath.isEmpty != transport.keyPath.isEmpty {
            let missing = transport.certPath.isEmpty ? "cluster.transport.cert_path" : "cluster.transport.key_path"
            errors.append(error(missing, "cert_path and key_path must be set together"))
        }
        if transport.kind == .quic && transport.certPath.isEmpty {
            errors.append(error("cluster.transport.cert_path", "is required when cluster.transport.transport = \"quic\" (QUIC always uses TLS)"))
        }
        for path in ["cluster.transport.cert_path", "cluster.transport.key_path", "cluster.transport.ca_path"] {
            let file = string(path)
            if !file.isEmpty && !FileManager.default.isReadableFile(atPath: file) {
                errors.append(error(path, "file does not exist or is not readable"))
            }
        }

        let clusterProtocol = ProtocolConfig(version: int("cluster.protocol_version"),
                                             minSupportedVersion: int("cluster.min_supported_version"))
        if clusterProtocol.minSupportedVersion > clusterProtocol.version {
            errors.append(error("cluster.min_supported_version",
                                "must not exceed cluster.protocol_version (\(clusterProtocol.version))"))
        }

        let replication = ReplicationConfig(factor: int("collection.replication.factor"),
                                            minReplicasForWrite: int("collection.replication.min_replicas_for_write"))
        if replication.minReplicasForWrite > replication.factor {
            errors.append(error("collection.replication.min_replicas_for_write",
                                "must not exceed collection.replication.factor (\(replication.factor))"))
        }

        let placement = PlacementConfig(spreadAcross: PlacementConfig.Domain(rawValue: string("cluster.placement.spread_across")) ?? .zone,
                                        loadSlack: double("cluster.placement.load_slack"))
        let reads = ReadConsistencyConfig(
            level: ReadConsistency(rawValue: string("federation.consistency.read")) ?? .eventual,
            boundedStalenessMillis: int("federation.consistency.bounded_staleness_ms"))
        let query = QueryConfig(allowPartialResults: bool("federation.query.allow_partial_results"),
                                partialResultsTimeoutMillis: int("federation.query.partial_results_timeout_ms"),
                                minSuccessfulShards: int("federation.query.min_successful_shards"))
        let health = HealthConfig(heartbeatIntervalMillis: int("cluster.health.heartbeat_interval_ms"),
                                  failureThreshold: int("cluster.health.failure_threshold"),
                                  suspectTimeoutMillis: int("cluster.health.suspect_timeout_ms"),
                                  onNodeFailure: HealthConfig.OnNodeFailure(rawValue: string("cluster.health.on_node_failure")) ?? .rebalance)
        let scheduleText = string("cluster.rebalancing.pause_schedule")
        let schedule = scheduleText.isEmpty ? nil : try? CronSchedule.parse(scheduleText).get()
        let rebalancing = RebalancingConfig(
            imbalanceThresholdPercent: double("cluster.rebalancing.imbalance_threshold_percent"),
            maxConcurrentMoves: int("cluster.rebalancing.max_concurrent_moves"),
            maxBytesPerSecond: int("cluster.rebalancing.max_bytes_per_sec"),
            continuousOptimization: bool("cluster.rebalancing.continuous_optimization"),
            pauseScheduleText: scheduleText, pauseSchedule: schedule,
            pauseUTCOffsetMinutes: int("cluster.rebalancing.pause_utc_offset_minutes"))

        let minNodes: ClusterConsistencyConfig.WriteQuorum
        switch value("cluster.consistency.min_nodes_for_write") {
        case .string("all"): minNodes = .all
        case .int(let n): minNodes = .count(Int(n))
        default: minNodes = .quorum
        }
        let clusterConsistency = ClusterConsistencyConfig(
            minNodesForWrite: minNodes,
            partitionBehavior: ClusterConsistencyConfig.PartitionBehavior(rawValue: string("cluster.consistency.partition_behavior")) ?? .readOnly,
            allowStaleReads: bool("cluster.consistency.allow_stale_reads"))
        if case .count(let n) = minNodes, n > replication.factor {
            errors.append(error("cluster.consistency.min_nodes_for_write",
                                "must not exceed collection.replication.factor (\(replication.factor))"))
        }

        let cache = EmbeddingCacheConfig(
            l1Enabled: bool("embedding.cache.l1_enabled"), l1MaxEntries: int("embedding.cache.l1_max_entries"),
            l2Backend: EmbeddingCacheConfig.Backend(rawValue: string("embedding.cache.l2_backend")) ?? .none,
            l2URL: string("embedding.cache.l2_url"), l2TTLSeconds: int("embedding.cache.l2_ttl_secs"))
        let schemes: [EmbeddingCacheConfig.Backend: [String]] = [.redis: ["redis://", "rediss://"], .s3: ["s3://"], .sqlite: [""]]
        if cache.l2Backend != .none {
            if cache.l2URL.isEmpty {
                errors.append(error("embedding.cache.l2_url", "is required when embedding.cache.l2_backend = \"\(cache.l2Backend.rawValue)\""))
            } else if let prefixes = schemes[cache.l2Backend], !prefixes.contains(where: { cache.l2URL.hasPrefix($0) }) {
                errors.append(error("embedding.cache.l2_url", "must start with \(prefixes.joined(separator: " or ")) for l2_backend = \"\(cache.l2Backend.rawValue)\""))
            }
        }

        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return PrismConfig(node: node, server: server, storage: storage, discovery: discovery, transport: transport,
                           protocolVersions: clusterProtocol, replication: replication, placement: placement,
                           reads: reads, query: query, health: health, rebalancing: rebalancing,
                           clusterConsistency: clusterConsistency, embeddingCache: cache)
    }

    /// The effective configuration as TOML, each key annotated with its source.
    public func render() -> String {
        var out: [String] = []
        var currentSection = ""
        let nodeID = string("node.id").isEmpty ? ResolvedConfig.hostName() : string("node.id")
        for key in ConfigSchema.keys {
            if key.section != currentSection {
                if !out.isEmpty { out.append("") }
                out.append("[\(key.section)]")
                currentSection = key.section
            }
            var shown = value(key.path)
            if key.path == "node.id" && string("node.id").isEmpty { shown = .string(nodeID) }
            if case .unset = shown {
                out.append("# \(key.name) is unset")
                continue
            }
            var line = "\(key.name) = \(shown.description)"
            if case .size = key.kind, case .int(let bytes) = shown { line += "  # \(ByteSize.format(bytes))," }
            else { line += "  #" }
            line += " \(source(key.path))"
            out.append(line)
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func hostName() -> String {
        let name = ProcessInfo.processInfo.hostName
        let short = name.split(separator: ".").first.map(String.init) ?? name
        return short.isEmpty ? "prism-node" : short
    }
}
