import Logging
import NIOCore
import PrismGossip
import PrismStorage
import PrismTransport
import Testing

/// Gossip agents on real UDP and TCP sockets on loopback, in this process.
@Suite("Gossip agents on loopback")
struct GossipAgentTests {
    /// A fast protocol so the tests finish quickly: 200 ms periods, 1 s suspicion.
    static let fast = SWIMSettings(probeInterval: .milliseconds(200), suspicionMaxTimeout: .milliseconds(1000))

    static func agent(_ id: String, seeds: [GossipAgent] = [], keys: [[UInt8]]? = nil, settings: SWIMSettings = fast) async throws -> GossipAgent {
        let configuration = GossipAgentConfiguration(
            id: id, bind: GossipEndpoint(host: "127.0.0.1", port: 0), metadata: MemberMetadata(zone: "z-\(id)"),
            settings: settings, seeds: seeds.map(\.endpoint), keyring: try keys.map { try Keyring(keys: $0) })
        var logger = Logger(label: "test.gossip.\(id)")
        logger.logLevel = .error
        return try await GossipAgent.start(configuration, logger: logger)
    }

    /// Polls `condition` every 50 ms for up to `seconds`.
    static func eventually(_ seconds: Double = 15, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    static func status(_ id: String, in agent: GossipAgent) async -> MemberStatus? {
        await agent.members.first { $0.id == id }?.status
    }

    @Test func agentsJoinDetectACrashAndSeeALeave() async throws {
        let a = try await Self.agent("a")
        let b = try await Self.agent("b", seeds: [a])
        let c = try await Self.agent("c", seeds: [a])
        let d = try await Self.agent("d", seeds: [b])
        let agents = [a, b, c, d]
        let tasks = agents.map { agent in Task { await agent.run() } }
        defer { for t in tasks { t.cancel() } }

        let joined = await Self.eventually {
            for x in agents where await x.members.filter({ $0.status == .alive }).count != 4 { return false }
            return true
        }
        #expect(joined, "four agents on loopback did not all see each other")
        #expect(await a.members.first { $0.id == "d" }?.metadata.zone == "z-d", "metadata travels with membership")

        // A crash: sockets close without a goodbye; the others must find out by probing.
        await d.stop(leave: false)
        let detected = await Self.eventually {
            for x in [a, b, c] where await Self.status("d", in: x) != .dead { return false }
            return true
        }
        #expect(detected, "the crashed agent was not marked dead by everyone")

        await c.stop(leave: true)
        let left = await Self.eventually {
            for x in [a, b] where await Self.status("c", in: x) != .left { return false }
            return true
        }
        #expect(left, "a graceful stop must be seen as left, not dead")
        #expect(await Self.status("a", in: b) == .alive)
        #expect(await Self.status("b", in: a) == .alive)
    }

    @Test func garbageAndForeignVersionsAreDroppedAndCounted() async throws {
        // Production periods (1 s), but suspicion that lasts beyond the test: a death can then
        // come only from garbage read as a message, never from a parallel test run starving both
        // agents of CPU for seconds (which the 5 s default did, once both cores were taken by
        // the process tests).
        var settings = SWIMSettings()
        settings.suspicionMinTimeout = .milliseconds(120_000)
        settings.suspicionMaxTimeout = .milliseconds(120_000)
        let a = try await Self.agent("a", settings: settings)
        let b = try await Self.agent("b", seeds: [a], settings: settings)
        let tasks = [a, b].map { agent in Task { await agent.run() } }
        defer { for t in tasks { t.cancel() } }
        // Every death either agent observes, from the start until the watchers are cancelled.
        let watchers = [a, b].map { agent in
            Task {
                var deaths: [String] = []
                for await seen in agent.events where seen.event.change == .dead { deaths.append(seen.event.member) }
                return deaths
            }
        }
        defer { for w in watchers { w.cancel() } }
        #expect(await Self.eventually { await Self.status("b", in: a) == .alive })

        let sender = try await DatagramSocket.bind(host: "127.0.0.1", port: 0)
        defer { Task { await sender.close() } }
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: a.endpoint.port)
        var random = SplitMix64(seed: 7)
        let droppedSoFar = { a.statistics.dropped.values.reduce(0, +) }
        for i in 0..<500 {
            let noise = (0..<Int(random.next() % 1400)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            // Half carry a valid header, so the garbage reaches the message decoder.
            sender.send(i % 2 == 0 ? noise : [GossipProtocol.version, 0] + noise, to: target)
            // In bursts of 25 the kernel's receive buffer never overflows, so every datagram
            // sent reaches the agent even when the other tests starve it of CPU.
            if i % 25 == 24 { _ = await Self.eventually { droppedSoFar() >= i + 1 } }
        }
        let otherVersion = [GossipProtocol.version &+ 1, 0] + GossipCodec.encodeBody([.ack(sequence: 1, source: "x")])
        sender.send(otherVersion, to: target)
        sender.send([], to: target)

        let counted = await Self.eventually {
            let s = a.statistics
            return s.dropped.values.reduce(0, +) == 502 && s.dropped["version", default: 0] >= 1
                && s.dropped["malformed", default: 0] + s.dropped["truncated", default: 0] >= 250
        }
        #expect(counted, "every bad datagram is counted: \(a.statistics.dropped)")
        // The mesh is unharmed: nobody was declared dead, and the two still answer each other's
        // probes. (A passing suspicion is no harm: with 200 ms periods and the other tests
        // loading both cores, an ack can be late; it is refuted and must not end in a death.)
        try await Task.sleep(for: .milliseconds(600))
        #expect(await Self.eventually(5) {
            let (seenB, seenA) = (await Self.status("b", in: a), await Self.status("a", in: b))
            return seenB == .alive && seenA == .alive
        })
        var deaths: [String] = []
        for w in watchers {
            w.cancel()
            deaths += await w.value
        }
        #expect(deaths.isEmpty, "garbage must not lead to a false death: \(deaths)")
    }

    @Test func agentsWithDifferentKeysNeverJoinAndSameKeysDo() async throws {
        let key1 = (0..<32).map { UInt8($0) }, key2 = (0..<32).map { UInt8(255 - $0) }
        let a = try await Self.agent("a", keys: [key1])
        let friend = try await Self.agent("friend", seeds: [a], keys: [key1])
        let stranger = try await Self.agent("stranger", seeds: [a], keys: [key2])
        let plain = try await Self.agent("plain", seeds: [a])
        let tasks = [a, friend, stranger, plain].map { agent in Task { await agent.run() } }
        defer { for t in tasks { t.cancel() } }

        #expect(await Self.eventually { await Self.status("friend", in: a) == .alive }, "agents sharing a key must join")
        // The stranger and the unencrypted agent keep retrying their join meanwhile.
        try await Task.sleep(for: .seconds(1.5))
        #expect(await Self.status("stranger", in: a) == nil, "an agent with a foreign key must not join")
        #expect(await Self.status("plain", in: a) == nil, "an unencrypted agent must not join an encrypted mesh")
        #expect(await stranger.members.count == 1)
        let dropped = a.statistics.dropped
        #expect(dropped["key", default: 0] > 0 && dropped["unencrypted", default: 0] > 0, "refusals are counted: \(dropped)")
    }

    @Test func aConfiguredPortWhoseTCPSideIsTakenIsAnError() async throws {
        // Something else listens on TCP at the port; its UDP side is free.
        let squatter = try await FrameServer.bind(host: "127.0.0.1", port: 0, maxFrameSize: 16)
        let configuration = GossipAgentConfiguration(id: "x", bind: GossipEndpoint(host: "127.0.0.1", port: squatter.port), settings: Self.fast)
        await #expect(throws: (any Error).self, "binding a configured port that is taken must fail, not move elsewhere") {
            _ = try await GossipAgent.start(configuration, logger: Logger(label: "test.gossip.x"))
        }
        await squatter.close()
    }

    @Test func watchConnectionsFindAStoppedProcessBeforeAnyProbe() async throws {
        // Probes every 30 s: no probe happens during this test, so only the watch connections
        // (each member is watched by the two after it in id order) can notice the stop.
        let slow = SWIMSettings(probeInterval: .milliseconds(30_000), suspicionMaxTimeout: .milliseconds(60_000))
        func agent(_ id: String, seeds: [GossipAgent]) async throws -> GossipAgent {
            var logger = Logger(label: "test.gossip.\(id)")
            logger.logLevel = .error
            return try await GossipAgent.start(GossipAgentConfiguration(id: id, bind: GossipEndpoint(host: "127.0.0.1", port: 0),
                                                                        settings: slow, seeds: seeds.map(\.endpoint)), logger: logger)
        }
        let a = try await agent("a", seeds: []), b = try await agent("b", seeds: [a])
        let c = try await agent("c", seeds: [a]), d = try await agent("d", seeds: [a])
        let tasks = [a, b, c, d].map { agent in Task { await agent.run() } }
        defer { for t in tasks { t.cancel() } }
        #expect(await Self.eventually {
            for x in [a, b, c, d] where await x.members.filter({ $0.status == .alive }).count != 4 { return false }
            return true
        })
        // c is watched by a and b (the two ids after it, wrapping: d, a; before it: a, b).
        await c.stop(leave: false)
        let detected = await Self.eventually(10) {
            let seen = [await Self.status("c", in: a), await Self.status("c", in: b), await Self.status("c", in: d)]
            return seen.allSatisfy { $0 == .dead }
        }
        #expect(detected, "a stopped member's watchers find it gone and the news reaches everyone")
        #expect(a.statistics.watchesLost + b.statistics.watchesLost >= 1, "found through a lost watch connection")
    }
}
