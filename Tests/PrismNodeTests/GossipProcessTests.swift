import Foundation
import PrismTestSupport
import Testing

/// Gossip between real `prism` processes on loopback: agents, serving nodes, events, the
/// members endpoint and the node-state metric.
@Suite("gossip between processes", .serialized)
struct GossipProcessTests {
    /// A fast protocol (200 ms periods, 1 s suspicion) through the environment, as users set it.
    static let fast = ["PRISM_CLUSTER_HEALTH_HEARTBEAT_INTERVAL_MS": "200", "PRISM_CLUSTER_HEALTH_SUSPECT_TIMEOUT_MS": "1000"]

    static func eventually(_ seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    static func saw(_ agent: PrismProcess, _ member: String, _ state: String) -> Bool {
        agent.jsonLines.contains { $0["member"] as? String == member && $0["state"] as? String == state }
    }

    @Test func agentsPrintEventsDetectAKillAndSeeALeave() async throws {
        func agent(_ id: String, seed: Int?) -> PrismProcess {
            var args = ["agent", "--node-id", id, "--gossip", "127.0.0.1:0", "--events"]
            if let seed { args += ["--seeds", "127.0.0.1:\(seed)"] }
            return PrismProcess(arguments: args, environment: Self.fast)
        }
        let a = agent("a", seed: nil)
        let port = try await a.startAgent()
        #expect(Self.executable(of: a).hasSuffix("/prism-agent"), "prism agent runs as the slim binary next to prism")
        let b = agent("b", seed: port), c = agent("c", seed: port)
        try await b.startAgent()
        try await c.startAgent()

        let joined = await Self.eventually {
            Self.saw(a, "b", "alive") && Self.saw(a, "c", "alive") && Self.saw(b, "c", "alive") && Self.saw(c, "b", "alive")
        }
        #expect(joined, "agents did not see each other:\n\(a.standardOutput)\n\(b.standardOutput)\n\(c.standardOutput)")
        let line = try #require(a.jsonLines.first)
        #expect(Set(line.keys) == ["t", "member", "state", "incarnation"], "the --events line shape")
        #expect((line["t"] as? Double ?? 0) > 1_700_000_000, "t is Unix time in seconds")

        c.signal(SIGKILL)
        let dead = await Self.eventually { Self.saw(a, "c", "dead") && Self.saw(b, "c", "dead") }
        #expect(dead, "a killed agent must be declared dead by both survivors:\n\(a.standardOutput)\n\(b.standardOutput)")

        b.signal(SIGTERM)
        #expect(await b.waitForExit() == 0)
        #expect(await Self.eventually { Self.saw(a, "b", "left") }, "SIGTERM leaves gracefully")
        #expect(!Self.saw(a, "b", "dead"))
        a.signal(SIGINT)
        #expect(await a.waitForExit() == 0)
    }

    @Test func servingNodesJoinAndShowTheirMembersAndMetrics() async throws {
        let d1 = TemporaryDirectory(), d2 = TemporaryDirectory()
        let n1 = PrismProcess(arguments: ["serve", "--data-dir", d1.path, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0",
                                          "--node-id", "n1", "--zone", "z1"], environment: Self.fast)
        try await n1.startServing()
        #expect(n1.gossipPort > 0, "the ready line names the gossip address")
        let n2 = PrismProcess(arguments: ["serve", "--data-dir", d2.path, "--http", "127.0.0.1:0", "--gossip", "127.0.0.1:0",
                                          "--node-id", "n2", "--zone", "z2", "--seeds", "127.0.0.1:\(n1.gossipPort)"], environment: Self.fast)
        try await n2.startServing()

        let seen = try await Self.eventually {
            let members = try await n2.client.get("/cluster/members").json["members"] as? [[String: Any]] ?? []
            return members.filter { $0["state"] as? String == "alive" }.count == 2
        }
        #expect(seen, "n2 must see n1 and itself alive")
        let view = try await n2.client.get("/cluster/members").json
        #expect(view["mode"] as? String == "gossip")
        let members = view["members"] as? [[String: Any]] ?? []
        let first = try #require(members.first { $0["id"] as? String == "n1" })
        #expect(first["zone"] as? String == "z1")
        #expect(first["http_addr"] as? String == "127.0.0.1:\(n1.httpPort)", "the real HTTP port, not the configured 0")
        #expect(first["gossip_addr"] as? String == "127.0.0.1:\(n1.gossipPort)")
        #expect(first["protocol_version"] as? Int == 1)

        let metrics = try await n1.client.get("/metrics").text
        let hasState = await Self.eventually {
            let text = (try? await n1.client.get("/metrics").text) ?? ""
            return text.contains(#"prism_node_state{node_id="n2",state="alive"} 1"#)
        }
        #expect(hasState, "prism_node_state for the peer:\n\(metrics)")
        #expect(metrics.contains(#"prism_node_state{node_id="n1",state="alive"} 1"#))
        #expect(metrics.contains(#"prism_gossip_dropped_packets_total{reason="malformed"} 0"#))

        n2.signal(SIGTERM)
        #expect(await n2.waitForExit() == 0)
        let left = await Self.eventually {
            let text = (try? await n1.client.get("/metrics").text) ?? ""
            return text.contains(#"prism_node_state{node_id="n2",state="left"} 1"#)
        }
        #expect(left, "a node shut down with SIGTERM is seen as left")
        n1.signal(SIGTERM)
        #expect(await n1.waitForExit() == 0)
    }

    @Test func aSingleNodeOpensNoGossipPortAndReportsItself() async throws {
        let dir = TemporaryDirectory()
        let node = PrismProcess(arguments: ["serve", "--data-dir", dir.path, "--http", "127.0.0.1:0", "--node-id", "solo"])
        try await node.startServing()
        #expect(node.gossipPort == 0)
        let view = try await node.client.get("/cluster/members").json
        #expect(view["mode"] as? String == "single")
        #expect((view["members"] as? [[String: Any]])?.first?["id"] as? String == "solo")
        node.signal(SIGTERM)
        #expect(await node.waitForExit() == 0)
    }

    static func executable(of p: PrismProcess) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(p.process.processIdentifier)/exe")) ?? ""
    }

    @Test func agentRunsInProcessWhenItsSlimBinaryIsMissing() async throws {
        // A `prism` with no `prism-agent` beside it (a hard link in a folder of its own).
        let folder = URL(fileURLWithPath: PrismProcess.binary).deletingLastPathComponent()
            .appendingPathComponent("agent-alone-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let alone = folder.appendingPathComponent("prism").path
        try FileManager.default.linkItem(atPath: PrismProcess.binary, toPath: alone)
        let a = PrismProcess(arguments: ["agent", "--node-id", "solo", "--gossip", "127.0.0.1:0", "--events"],
                             environment: Self.fast, binary: alone)
        try await a.startAgent()
        #expect(Self.executable(of: a) == alone, "without prism-agent the agent runs in the prism process")
        a.signal(SIGTERM)
        #expect(await a.waitForExit() == 0)
    }
}
