@testable import PrismConfig
import PrismTestSupport
import Testing

/// One test per class of configuration error: each names the file, line, key, value and what is
/// allowed, and a load with errors produces no configuration.
@Suite("Configuration errors")
struct ConfigErrorTests {
    func single(_ text: String) -> ConfigError? {
        let found = errors(text)
        #expect(found.count == 1, "expected one error, got \(found)")
        return found.first
    }

    @Test func unknownKeySuggestsTheClosestKnownOne() throws {
        let error = try #require(single("""
        [cluster.health]
        heartbeat_interval_ms = 1000
        failure_treshold = 3
        """))
        #expect(error.source == .file(path: "prism.toml", line: 3))
        #expect(error.key == "cluster.health.failure_treshold")
        #expect(error.message == "unknown key; did you mean cluster.health.failure_threshold?")
        #expect(error.description == "prism.toml:3: cluster.health.failure_treshold = 3: unknown key; did you mean cluster.health.failure_threshold?")
    }

    @Test func unknownSectionIsRefused() throws {
        let error = try #require(single("[clustr.health]\nfailure_threshold = 3\n"))
        #expect(error.key == "clustr.health")
        #expect(error.message.contains("did you mean cluster.health?"))
    }

    @Test func wrongTypeNamesTheExpectedType() throws {
        let error = try #require(single("[cluster.health]\nfailure_threshold = \"3\"\n"))
        #expect(error.source == .file(path: "prism.toml", line: 2))
        #expect(error.value == "\"3\"")
        #expect(error.message == "wrong type: got a string, expected an integer in 1...100")
    }

    @Test("placement and rebalancing keys refuse values outside their range", arguments: [
        ("[cluster.placement]\nload_slack = -0.5\n", "cluster.placement.load_slack"),
        ("[cluster.rebalancing]\npause_utc_offset_minutes = 900\n", "cluster.rebalancing.pause_utc_offset_minutes"),
    ])
    func placementRanges(text: String, key: String) throws {
        let error = try #require(single(text))
        #expect(error.key == key)
        #expect(error.source == .file(path: "prism.toml", line: 2))
    }

    @Test func outOfRangeNumber() throws {
        let error = try #require(single("[cluster.rebalancing]\nmax_concurrent_moves = 0\n"))
        #expect(error.key == "cluster.rebalancing.max_concurrent_moves")
        #expect(error.message == "out of range; expected an integer in 1...64")
    }

    @Test func unknownEnumValueListsTheAllowedOnes() throws {
        let error = try #require(single("[federation.consistency]\nread = \"strongest\"\n"))
        #expect(error.source == .file(path: "prism.toml", line: 2))
        #expect(error.value == "\"strongest\"")
        #expect(error.message == "unknown value; expected one of \"eventual\", \"read-your-writes\", \"bounded\", \"strong\"")
    }

    @Test(arguments: ["100 MBs", "fast", "-5MB", "1.2.3GB", ""])
    func malformedSize(text: String) throws {
        let error = try #require(single("[cluster.rebalancing]\nmax_bytes_per_sec = \"\(text)\"\n"))
        #expect(error.key == "cluster.rebalancing.max_bytes_per_sec")
        #expect(error.message.hasPrefix("malformed size"))
    }

    @Test(arguments: ["5 seconds", "soon", "1d"])
    func malformedDuration(text: String) throws {
        let error = try #require(single("[cluster.health]\nsuspect_timeout_ms = \"\(text)\"\n"))
        #expect(error.message.hasPrefix("malformed duration"))
    }

    @Test func durationsAcceptUnits() throws {
        let config = try load("[cluster.health]\nsuspect_timeout_ms = \"7s\"\nheartbeat_interval_ms = \"250ms\"\n")
        #expect(config.health.suspectTimeoutMillis == 7000)
        #expect(config.health.heartbeatIntervalMillis == 250)
    }

    @Test(arguments: ["0 9-17 * *", "61 * * * *", "0 9-17 * * FUNDAY", "0 17-9 * * *", "*/0 * * * *", "0 9-17 ** * *"])
    func malformedCron(text: String) throws {
        let error = try #require(single("[cluster.rebalancing]\npause_schedule = \"\(text)\"\n"))
        #expect(error.key == "cluster.rebalancing.pause_schedule")
        #expect(error.message.hasPrefix("malformed cron"))
    }

    @Test func indexBufferDocumentsIsBoundedAndReachesTheStore() throws {
        let error = try #require(single("[storage]\nindex_buffer_documents = -1\n"))
        #expect(error.key == "storage.index_buffer_documents")
        #expect(try load("[storage]\nindex_buffer_documents = 0\n").storage.indexBufferDocuments == 0)
        #expect(try load(nil).storage.indexBufferDocuments == 32_768)
    }

    @Test func replicationFactorBelowOne() throws {
        let error = try #require(single("[collection.replication]\nfactor = 0\n"))
        #expect(error.key == "collection.replication.factor")
        #expect(error.message == "out of range; expected an integer in 1...15")
    }

    @Test func minReplicasForWriteAboveFactor() throws {
        let error = try #require(single("[collection.replication]\nfactor = 2\nmin_replicas_for_write = 3\n"))
        #expect(error.key == "collection.replication.min_replicas_for_write")
        #expect(error.source == .file(path: "prism.toml", line: 3))
        #expect(error.message == "must not exceed collection.replication.factor (2)")
    }

    @Test func minSupportedVersionAboveProtocolVersion() throws {
        let error = try #require(single("[cluster]\nprotocol_version = 1\nmin_supported_version = 2\n"))
        #expect(error.key == "cluster.min_supported_version")
    }

    @Test func quicWithoutCertificateIsRefused() throws {
        let error = try #require(single("[cluster.transport]\ntransport = \"quic\"\n"))
        #expect(error.key == "cluster.transport.cert_path")
    }

    @Test func missingCertificateFileIsRefused() {
        let found = errors("[cluster.transport]\ncert_path = \"/nonexistent/c.pem\"\nkey_path = \"/nonexistent/k.pem\"\n")
        #expect(found.map(\.key).sorted() == ["cluster.transport.cert_path", "cluster.transport.key_path"])
        #expect(found.allSatisfy { $0.message == "file does not exist or is not readable" })
    }

    @Test func dnsBackendNeedsAName() throws {
        let error = try #require(single("[federation.discovery]\nbackend = \"dns\"\n"))
        #expect(error.key == "federation.discovery.dns_name")
    }

    @Test func redisCacheNeedsARedisURL() throws {
        let error = try #require(single("[embedding.cache]\nl2_backend = \"redis\"\nl2_url = \"http://x\"\n"))
        #expect(error.key == "embedding.cache.l2_url")
        #expect(error.message.contains("redis://"))
    }

    @Test func badAddressesAreRefused() {
        let found = errors("[federation.discovery]\nnodes = [\"node1:3000\", \"node2\"]\n[server]\nhttp = \"127.0.0.1:99999\"\n")
        #expect(found.map(\.key).sorted() == ["federation.discovery.nodes", "server.http"])
    }

    @Test func tomlSyntaxErrorNamesTheLine() throws {
        let error = try #require(single("[node]\nid = \"a\"\nzone = \n"))
        #expect(error.source == .file(path: "prism.toml", line: 3))
        #expect(error.message.hasPrefix("TOML syntax error"))
    }

    @Test func everyErrorIsReportedAtOnce() {
        let found = errors("""
        [node]
        zoen = "a"
        [cluster.health]
        failure_threshold = 0
        [federation.consistency]
        read = "strongest"
        """)
        #expect(found.map(\.key) .sorted() == ["cluster.health.failure_threshold", "federation.consistency.read", "node.zoen"])
        #expect(ConfigErrors(found).description.hasPrefix("invalid configuration (3 errors):"))
    }

    @Test func missingFileIsReported() {
        do {
            _ = try ConfigLoader(filePath: "/nonexistent/prism.toml").load()
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.errors.first?.message.contains("cannot read") == true)
        }
    }

    @Test func invalidNodeIDIsRefused() throws {
        let error = try #require(single("[node]\nid = \"bad id!\"\n"))
        #expect(error.key == "node.id")
    }

    @Test func attributesMustBeScalars() throws {
        let error = try #require(single("[node.attributes]\nlist = [\"a\"]\n"))
        #expect(error.key == "node.attributes")
    }
}
