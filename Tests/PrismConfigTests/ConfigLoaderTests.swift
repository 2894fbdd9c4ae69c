@testable import PrismConfig
import PrismTestSupport
import Testing

/// Loads `text` as the file `prism.toml` with the given environment and flags.
func load(_ text: String?, env: [String: String] = [:], flags: [ConfigLoader.FlagValue] = []) throws(ConfigErrors) -> PrismConfig {
    try ConfigLoader(filePath: "prism.toml", environment: env, flags: flags).resolve(fileText: text).typed()
}

/// The errors a load produces (empty when it succeeds).
func errors(_ text: String?, env: [String: String] = [:], flags: [ConfigLoader.FlagValue] = []) -> [ConfigError] {
    do {
        _ = try load(text, env: env, flags: flags)
        return []
    } catch {
        return error.errors
    }
}

@Suite("Configuration loading")
struct ConfigLoaderTests {
    @Test func defaultsAreValidAndDocumented() throws {
        let config = try PrismConfig.defaults()
        #expect(config.server.http == HostPort(host: "127.0.0.1", port: 3080))
        #expect(config.storage.dataDirectory == "./data")
        #expect(config.storage.syncMode == .full)
        #expect(config.replication.factor == 1)
        #expect(config.health.heartbeatIntervalMillis == 1000)
        #expect(config.health.failureThreshold == 3)
        #expect(config.reads.level == .eventual)
        #expect(config.rebalancing.maxBytesPerSecond == 100_000_000)
        #expect(config.server.maxBodyBytes == 32 << 20)
        #expect(!config.node.id.isEmpty)
    }

    @Test func everySectionOfTheSeedGuideParses() throws {
        let dir = TemporaryDirectory()
        let cert = dir.write("cluster.pem", "cert"), key = dir.write("cluster-key.pem", "key")
        let text = """
        [node]
        id = "prism-node-1"
        zone = "eu-west-1a"
        rack = "rack-42"
        region = "eu-west-1"

        [node.attributes]
        disk_type = "ssd"
        storage_gb = 500

        [federation.discovery]
        backend = "dns"
        dns_name = "prism-headless.prism.svc.cluster.local"
        dns_refresh_interval_secs = 30
        nodes = ["node1:3000", "node2:3000", "node3:3000"]
        gossip_port = 7946
        gossip_seeds = ["seed1:7946", "seed2:7946"]

        [cluster.transport]
        transport = "quic"
        bind_port = 7000
        quic_idle_timeout_ms = 30000
        quic_max_streams = 100
        cert_path = "\(cert)"
        key_path = "\(key)"

        [collection.replication]
        factor = 3
        min_replicas_for_write = 2

        [cluster.placement]
        spread_across = "zone"

        [federation.consistency]
        read = "bounded"
        bounded_staleness_ms = 5000

        [federation.query]
        allow_partial_results = true
        partial_results_timeout_ms = 5000
        min_successful_shards = 1

        [cluster.health]
        heartbeat_interval_ms = 1000
        failure_threshold = 3
        suspect_timeout_ms = 5000
        on_node_failure = "rebalance"

        [cluster.rebalancing]
        imbalance_threshold_percent = 15
        max_concurrent_moves = 2
        max_bytes_per_sec = "100MB"
        continuous_optimization = false
        pause_schedule = "0 9-17 * * MON-FRI"

        [cluster.consistency]
        min_nodes_for_write = "quorum"
        partition_behavior = "read_only"
        allow_stale_reads = true

        [embedding.cache]
        l1_enabled = true
        l1_max_entries = 10000
        l2_backend = "redis"
        l2_url = "redis://cache-cluster:6379"
        l2_ttl_secs = 86400

        [cluster]
        protocol_version = 1
        min_supported_version = 1

        [server]
        http = "0.0.0.0:3080"
        max_body_size = "64MiB"

        [storage]
        data_dir = "/data"
        map_size = "2GiB"
        sync_mode = "nometasync"
        """
        let config = try load(text)
        #expect(config.node == NodeConfig(id: "prism-node-1", zone: "eu-west-1a", rack: "rack-42", region: "eu-west-1",
                                          attributes: ["disk_type": "ssd", "storage_gb": "500"]))
        #expect(config.discovery.backend == .dns)
        #expect(config.discovery.nodes.map(\.description) == ["node1:3000", "node2:3000", "node3:3000"])
        #expect(config.discovery.gossipSeeds.count == 2)
        #expect(config.transport.kind == .quic)
        #expect(config.transport.tlsEnabled)
        #expect(config.replication == ReplicationConfig(factor: 3, minReplicasForWrite: 2))
        #expect(config.reads == ReadConsistencyConfig(level: .bounded, boundedStalenessMillis: 5000))
        #expect(config.rebalancing.maxBytesPerSecond == 100_000_000)
        #expect(config.rebalancing.pauseSchedule?.hours == Set(9...17))
        #expect(config.rebalancing.pauseSchedule?.daysOfWeek == Set(1...5))
        #expect(config.clusterConsistency.minNodesForWrite == .quorum)
        #expect(config.embeddingCache.l2Backend == .redis)
        #expect(config.server.maxBodyBytes == 64 << 20)
        #expect(config.server.http == HostPort(host: "0.0.0.0", port: 3080))
        #expect(config.storage.mapSizeBytes == 2 << 30)
        #expect(config.storage.syncMode == .nometasync)
        #expect(config.server.gossip == HostPort(host: "0.0.0.0", port: 7946))
        #expect(config.server.rpc == HostPort(host: "0.0.0.0", port: 7000))
    }

    @Test func precedenceIsFlagThenEnvironmentThenFileThenDefault() throws {
        let file = """
        [node]
        id = "from-file"
        zone = "file-zone"
        rack = "file-rack"
        """
        let env = ["PRISM_NODE_ZONE": "env-zone", "PRISM_NODE_RACK": "env-rack", "NODE_ID": "alias-id"]
        let flags = [ConfigLoader.FlagValue(key: "node.rack", flag: "--rack", text: "flag-rack")]
        let config = try load(file, env: env, flags: flags)
        #expect(config.node.id == "alias-id")
        #expect(config.node.zone == "env-zone")
        #expect(config.node.rack == "flag-rack")
        #expect(config.node.region == "")
    }

    @Test func prismPrefixedVariableBeatsItsAlias() throws {
        let config = try load(nil, env: ["NODE_ID": "alias", "PRISM_NODE_ID": "prefixed", "NODE_ZONE": "z1"])
        #expect(config.node.id == "prefixed")
        #expect(config.node.zone == "z1")
    }

    @Test func environmentValuesAreTypeChecked() {
        let found = errors(nil, env: ["PRISM_CLUSTER_HEALTH_FAILURE_THRESHOLD": "three"])
        #expect(found.count == 1)
        #expect(found.first?.source == .environment(variable: "PRISM_CLUSTER_HEALTH_FAILURE_THRESHOLD"))
        #expect(found.first?.message.contains("not an integer") == true)
    }

    @Test func environmentListsAndSizes() throws {
        let config = try load(nil, env: [
            "PRISM_FEDERATION_DISCOVERY_GOSSIP_SEEDS": "a:7946, b:7946",
            "PRISM_FEDERATION_DISCOVERY_BACKEND": "gossip",
            "PRISM_SERVER_MAX_BODY_SIZE": "1MB",
            "PRISM_FEDERATION_QUERY_ALLOW_PARTIAL_RESULTS": "false",
        ])
        #expect(config.discovery.gossipSeeds == [HostPort(host: "a", port: 7946), HostPort(host: "b", port: 7946)])
        #expect(config.server.maxBodyBytes == 1_000_000)
        #expect(!config.query.allowPartialResults)
    }

    @Test func unknownPrismVariableIsRefusedWithASuggestion() {
        let found = errors(nil, env: ["PRISM_NODE_ZOEN": "x"])
        #expect(found.count == 1)
        #expect(found.first?.message.contains("did you mean PRISM_NODE_ZONE?") == true)
    }

    @Test func flagsAreValidated() {
        let found = errors(nil, flags: [.init(key: "server.http", flag: "--http", text: "localhost")])
        #expect(found.count == 1)
        #expect(found.first?.source == .flag(name: "--http"))
        #expect(found.first?.message.contains("missing ':port'") == true)
    }

    @Test func seedsFlagNeedsSeedsForGossip() {
        let found = errors("[federation.discovery]\nbackend = \"gossip\"\n")
        #expect(found.map(\.key) == ["federation.discovery.gossip_seeds"])
    }

    @Test func gossipKeysMustBe32BytesAndAreNeverEchoed() throws {
        let good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
        let config = try load("[federation.discovery]\ngossip_keys = [\"\(good)\"]\n")
        #expect(config.discovery.gossipKeys == [Array(0..<32)])
        let secret = "c2VjcmV0LWJ1dC10b28tc2hvcnQ="
        let found = errors("[federation.discovery]\ngossip_keys = [\"\(good)\", \"\(secret)\"]\n")
        #expect(found.map(\.key) == ["federation.discovery.gossip_keys"])
        #expect(found.first?.message.contains("key 2 must be base64 of exactly 32 bytes") == true)
        #expect(!found.description.contains(secret) && !found.description.contains(good), "a key must never appear in an error")
    }

    @Test func gossipRunsOnlyWithPeersOrAnExplicitAddress() throws {
        #expect(try load(nil).discovery.gossipEnabled == false, "a single node opens no gossip port")
        #expect(try load(nil, flags: [.init(key: "server.gossip_addr", flag: "--gossip", text: "127.0.0.1:7946")]).discovery.gossipEnabled)
        #expect(try load("[federation.discovery]\nnodes = [\"a:7946\"]\n").discovery.joinSeeds == [HostPort(host: "a", port: 7946)])
        let advertised = try load("[server]\ngossip_advertise = \"10.1.2.3:0\"\n").server.gossipAdvertise
        #expect(advertised == HostPort(host: "10.1.2.3", port: 0))
    }
}
