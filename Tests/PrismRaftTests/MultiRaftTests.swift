import PrismRaft
import PrismStorage
import Testing

/// Three `MultiRaft` hosts wired in memory: every ready round persists (in memory), sends one
/// batch per destination, applies.
struct HostCluster {
    typealias Host = MultiRaft<SplitMix64>
    var hosts: [String: Host] = [:]
    let nodes = ["n1", "n2", "n3"]
    var down: Set<String> = []
    var applied: [String: [UInt64: [LogEntry]]] = [:]
    /// Batches sent per (from, to) pair, and what they carried.
    var batches = 0, carried = 0, plainHeartbeats = 0
    var leaders: [UInt64: [UInt64: String]] = [:]
    var violations: [String] = []

    init(groups: ClosedRange<UInt64>, quiesceTicks: Int = 0) {
        for node in nodes { hosts[node] = Host(node: node) }
        for group in groups { create(group: group, quiesceTicks: quiesceTicks) }
    }

    mutating func create(group: UInt64, quiesceTicks: Int = 0) {
        for (i, node) in nodes.enumerated() {
            let config = RaftConfiguration(id: node, voters: nodes, quiesceTicks: quiesceTicks)
            hosts[node]?.create(group: group, core: RaftCore(configuration: config, random: SplitMix64(seed: group &* 7919 &+ UInt64(i))))
        }
    }

    mutating func tick(_ n: Int = 1) {
        for _ in 0..<n {
            for node in nodes where !down.contains(node) { hosts[node]?.tick() }
            settle()
        }
    }

    mutating func settle(rounds: Int = 30) {
        for _ in 0..<rounds {
            var inFlight: [(String, String, HostBatch)] = []
            for node in nodes where !down.contains(node) {
                guard var host = hosts[node], host.hasReady else { continue }
                let ready = host.ready()
                for g in ready.groups {
                    applied[node, default: [:]][g.group, default: []].append(contentsOf: g.ready.committed)
                }
                for (to, batch) in ready.early.sorted(by: { $0.key < $1.key }) + ready.outgoing.sorted(by: { $0.key < $1.key }) {
                    batches += 1
                    carried += batch.count
                    plainHeartbeats += batch.messages.filter { if case .heartbeat(_, _, 0) = $0.message { true } else { false } }.count
                    inFlight.append((node, to, batch))
                }
                host.advance(ready)
                for (group, core) in host.groups where core.role == .leader {
                    if let other = leaders[group]?[core.term], other != node { violations.append("group \(group) term \(core.term): \(other) and \(node)") }
                    leaders[group, default: [:]][core.term] = node
                }
                hosts[node] = host
            }
            if inFlight.isEmpty { return }
            for (from, to, batch) in inFlight where !down.contains(to) { hosts[to]?.step(batch, from: from) }
        }
    }

    func leader(of group: UInt64) -> String? {
        // In place (`groups` would copy every core of the host for each look).
        func term(_ node: String) -> UInt64 { hosts[node]?.inspect(group: group) { $0.term } ?? 0 }
        return nodes.filter { !down.contains($0) && hosts[$0]?.inspect(group: group, { $0.role == .leader }) == true }
            .max { term($0) < term($1) }
    }
}

@Suite("Multi-Raft host")
struct MultiRaftTests {
    @Test("hundreds of groups on three nodes elect and replicate; a node pair exchanges one batch per round, heartbeats folded")
    func manyGroups() throws {
        var cluster = HostCluster(groups: 1...300)
        cluster.tick(60)
        let groups = UInt64(1)...300
        #expect(groups.allSatisfy { cluster.leader(of: $0) != nil })
        for group in stride(from: UInt64(1), through: 300, by: 7) {
            let leader = try #require(cluster.leader(of: group))
            cluster.hosts[leader]?.with(group: group) { $0.propose(Array("g\(group)".utf8)) }
        }
        cluster.settle()
        cluster.tick(3)
        for group in stride(from: UInt64(1), through: 300, by: 7) {
            for node in cluster.nodes {
                #expect(cluster.applied[node]?[group]?.last?.data == Array("g\(group)".utf8), "group \(group) on \(node)")
            }
        }
        // Steady state: ten ticks of heartbeats for 300 groups.
        let (batches, carried) = (cluster.batches, cluster.carried)
        cluster.tick(10)
        #expect(cluster.batches - batches <= 10 * 6 * 2, "at most a batch of heartbeats and one of answers per ordered pair and tick")
        #expect(cluster.carried - carried >= 10 * 300 * 2 * 2, "every group's heartbeats and answers are in them")
        #expect(cluster.plainHeartbeats == 0, "heartbeats travel folded")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("idle groups go quiet and cost no tick; work wakes only its group; suspicion wakes the groups of a dead leader")
    func quietGroups() throws {
        var cluster = HostCluster(groups: 1...100, quiesceTicks: 3)
        cluster.tick(60)
        cluster.tick(10)
        #expect(cluster.nodes.allSatisfy { cluster.hosts[$0]?.awake.isEmpty == true })
        let batches = cluster.batches
        cluster.tick(100)
        #expect(cluster.batches == batches, "quiet: nothing sent in 100 ticks")

        let leader = try #require(cluster.leader(of: 42))
        cluster.hosts[leader]?.with(group: 42) { $0.propose(Array("wake".utf8)) }
        cluster.settle()
        #expect(cluster.nodes.allSatisfy { cluster.hosts[$0]?.awake == [42] })
        cluster.tick()
        #expect(cluster.nodes.allSatisfy { cluster.applied[$0]?[42]?.last?.data == Array("wake".utf8) }, "followers learn the commit at the next heartbeat")
        cluster.tick(10)
        #expect(cluster.nodes.allSatisfy { cluster.hosts[$0]?.awake.isEmpty == true })

        // n1 dies; the groups it led are leaderless until the others suspect it.
        let led = (UInt64(1)...100).filter { cluster.leader(of: $0) == "n1" }
        #expect(!led.isEmpty)
        cluster.down.insert("n1")
        cluster.tick(50)
        #expect(led.allSatisfy { cluster.leader(of: $0) == nil })
        for node in ["n2", "n3"] { cluster.hosts[node]?.suspect("n1") }
        cluster.settle()
        cluster.tick(40)
        #expect(led.allSatisfy { cluster.leader(of: $0) != nil }, "every group n1 led has a new leader")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }

    @Test("groups are created and removed at runtime; messages for a group not hosted are counted and dropped")
    func createAndRemove() throws {
        var cluster = HostCluster(groups: 1...3)
        cluster.tick(40)
        cluster.create(group: 77)
        cluster.tick(40)
        let leader = try #require(cluster.leader(of: 77))
        for node in cluster.nodes where node != leader { cluster.hosts[node]?.remove(group: 77) }
        #expect(cluster.hosts[leader]?.count == 4)
        cluster.tick(3)
        let dropped = cluster.nodes.filter { $0 != leader }.map { cluster.hosts[$0]?.unknownGroupMessages ?? 0 }
        #expect(dropped.allSatisfy { $0 > 0 }, "the leader's heartbeats for 77 reach nodes that no longer host it")
        #expect((UInt64(1)...3).allSatisfy { cluster.leader(of: $0) != nil }, "the other groups carry on")

        // A group from the middle goes everywhere: the others (one of them moved into its place)
        // still replicate, and each core is still the one of its group.
        for node in cluster.nodes { cluster.hosts[node]?.remove(group: 2) }
        #expect(cluster.nodes.allSatisfy { cluster.hosts[$0]?.inspect(group: 2) { _ in true } == nil && cluster.hosts[$0]?.count == ($0 == leader ? 3 : 2) })
        for group in [UInt64(1), 3, 77] where cluster.leader(of: group) != nil {
            let l = try #require(cluster.leader(of: group))
            cluster.hosts[l]?.with(group: group) { $0.propose(Array("after \(group)".utf8)) }
        }
        cluster.tick(5)
        for group in [UInt64(1), 3] {
            #expect(cluster.nodes.allSatisfy { cluster.applied[$0]?[group]?.last?.data == Array("after \(group)".utf8) }, "group \(group)")
        }
        #expect(cluster.applied[leader]?[77]?.last?.data != Array("after 77".utf8), "77 alone cannot commit")
        #expect(cluster.violations.isEmpty, "\(cluster.violations)")
    }
}
