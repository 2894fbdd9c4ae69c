import Foundation
import PrismTestSupport
import Testing

/// The real `prism` binary as child processes: start, serve, restart, refuse, stop.
@Suite("prism serve", .serialized)
struct ServeTests {
    @Test func servesPersistsAndStopsGracefully() async throws {
        let dir = TemporaryDirectory()
        let first = PrismProcess(arguments: ["serve", "--data-dir", dir.path, "--http", "127.0.0.1:0", "--node-id", "n1", "--zone", "z1"])
        try await first.startServing()
        let health = try await first.client.get("/health")
        #expect(health.status == 200)
        #expect(health.json["status"] as? String == "ok")
        #expect(try await first.client.get("/").json["node_id"] as? String == "n1")
        #expect(try await first.client.put("/collections/c", #"{"backends":{"text":{"fields":[{"name":"t","type":"text"}]}}}"#).status == 201)
        #expect(try await first.client.post("/collections/c/documents", #"{"documents":[{"id":"a","fields":{"t":"kept"}}]}"#).status == 201)
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0)
        #expect(first.standardError.contains("storage closed"))

        let second = PrismProcess(arguments: ["serve", "--data-dir", dir.path, "--http", "127.0.0.1:0"])
        try await second.startServing()
        let doc = try await second.client.get("/collections/c/documents/a")
        #expect((doc.json["fields"] as? [String: Any])?["t"] as? String == "kept")
        #expect(try await second.client.get("/health").json["collections"] as? Int == 1)
        second.signal(SIGINT)
        #expect(await second.waitForExit() == 0)
    }

    @Test func secondProcessOnTheSameDataDirectoryIsRefused() async throws {
        let dir = TemporaryDirectory()
        let owner = PrismProcess(arguments: ["serve", "--data-dir", dir.path, "--http", "127.0.0.1:0"])
        try await owner.startServing()
        let intruder = PrismProcess(arguments: ["serve", "--data-dir", dir.path, "--http", "127.0.0.1:0"])
        let status = try await intruder.runToEnd()
        #expect(status == 1)
        #expect(intruder.standardError.contains("already in use by another prism process (pid \(owner.process.processIdentifier))"))
        // The owner is unharmed.
        #expect(try await owner.client.get("/health").status == 200)
        owner.signal(SIGTERM)
        #expect(await owner.waitForExit() == 0)
    }

    @Test func invalidConfigurationStopsBeforeAnythingStarts() async throws {
        let dir = TemporaryDirectory()
        let file = dir.write("prism.toml", "[federation.consistency]\nread = \"strongest\"\n")
        let data = dir.file("data")
        let node = PrismProcess(arguments: ["serve", "--config", file, "--data-dir", data, "--http", "127.0.0.1:0"])
        #expect(try await node.runToEnd() == 2)
        #expect(node.standardError.contains("\(file):2: federation.consistency.read = \"strongest\": unknown value"))
        #expect(!FileManager.default.fileExists(atPath: data), "nothing may be created on a bad configuration")
    }

    @Test func badFlagValueIsRefused() async throws {
        let node = PrismProcess(arguments: ["serve", "--http", "nowhere", "--data-dir", TemporaryDirectory().path])
        #expect(try await node.runToEnd() == 2)
        #expect(node.standardError.contains("flag --http: server.http = nowhere: missing ':port'"))
    }

    @Test func environmentConfiguresTheNode() async throws {
        let dir = TemporaryDirectory()
        let node = PrismProcess(arguments: ["serve", "--http", "127.0.0.1:0"],
                                environment: ["PRISM_STORAGE_DATA_DIR": dir.path, "NODE_ID": "from-env"])
        try await node.startServing()
        #expect(try await node.client.get("/").json["node_id"] as? String == "from-env")
        #expect(FileManager.default.fileExists(atPath: dir.file("data.mdb")))
        node.signal(SIGTERM)
        #expect(await node.waitForExit() == 0)
    }

    @Test func versionPrints() async throws {
        let command = PrismProcess(arguments: ["version"])
        #expect(try await command.runToEnd() == 0)
        #expect(command.standardOutput.hasPrefix("prism "))
    }
}

@Suite("prism config check")
struct ConfigCheckTests {
    @Test func validFilePrintsTheEffectiveConfiguration() async throws {
        let dir = TemporaryDirectory()
        let file = dir.write("prism.toml", "[node]\nid = \"n7\"\n\n[cluster.health]\nfailure_threshold = 5\n")
        let command = PrismProcess(arguments: ["config", "check", file])
        #expect(try await command.runToEnd() == 0)
        #expect(command.standardOutput.contains("id = \"n7\"  # \(file):2"))
        #expect(command.standardOutput.contains("failure_threshold = 5  # \(file):5"))
        #expect(command.standardOutput.contains("read = \"eventual\"  # default"))
    }

    @Test func invalidFileListsEveryErrorAndExits2() async throws {
        let dir = TemporaryDirectory()
        let file = dir.write("prism.toml", "[collection.replication]\nfactor = 2\nmin_replicas_for_write = 3\n[cluster.rebalancing]\nmax_bytes_per_sec = \"100 MBs\"\n")
        let command = PrismProcess(arguments: ["config", "check", file])
        #expect(try await command.runToEnd() == 2)
        let text = command.standardError
        #expect(text.contains("invalid configuration (2 errors):"))
        #expect(text.contains("\(file):3: collection.replication.min_replicas_for_write = 3: must not exceed collection.replication.factor (2)"))
        #expect(text.contains("\(file):5: cluster.rebalancing.max_bytes_per_sec = \"100 MBs\": malformed size"))
    }

    @Test func missingFileExits2() async throws {
        let command = PrismProcess(arguments: ["config", "check", "/nonexistent/prism.toml"])
        #expect(try await command.runToEnd() == 2)
        #expect(command.standardError.contains("cannot read the configuration file"))
    }
}
