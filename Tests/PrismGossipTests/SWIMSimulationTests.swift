import PrismGossip
import PrismSimulation
import Testing

/// The SWIM core in the deterministic simulation, over many seeds. A failure names its seed;
/// `SWIMSimulation(seed:)` with it replays the run exactly.
@Suite("SWIM in simulation")
struct SWIMSimulationTests {
    static let seeds: [UInt64] = Array(1...12)

    func cluster(_ n: Int, seed: UInt64, network: NetworkConditions = NetworkConditions()) -> SWIMSimulation {
        var sim = SWIMSimulation(seed: seed, settings: SWIMSettings(), network: network)
        sim.start()
        for _ in 1..<n { sim.start(seeds: [0]) }
        return sim
    }

    @Test(arguments: seeds)
    func joinsConverge(seed: UInt64) {
        var sim = cluster(30, seed: seed)
        let all = Set(0..<30)
        let converged = sim.run(until: 10) { $0.everyoneSees(alive: all) }
        #expect(converged != nil, "seed \(seed): 30 nodes did not converge in 10 s")
        if let converged { #expect(converged < 3, "seed \(seed): converged only at \(converged) s") }
    }

    @Test(arguments: seeds)
    func crashedMemberIsDetectedByEveryone(seed: UInt64) {
        var sim = cluster(20, seed: seed)
        sim.run(until: 5)
        sim.crash(7)
        let detected = sim.run(until: 40) { $0.everyoneConsidersDown(7) }
        #expect(detected != nil, "seed \(seed): not everyone marked the crashed member down within 35 s")
        let survivorsAlive = sim.everyoneSees(alive: Set(0..<20).subtracting([7]))
        #expect(survivorsAlive, "seed \(seed): a survivor was marked down")
        // Reaped after the reap time, then a restart with a fresh incarnation rejoins cleanly.
        sim.run(until: 120)
        let removed = (0..<20).filter { $0 != 7 }.allSatisfy { sim.status(of: 7, seenBy: $0) == nil }
        #expect(removed, "seed \(seed): not removed")
        sim.start(7, seeds: [0])
        let rejoined = sim.run(until: 140) { $0.everyoneSees(alive: Set(0..<20)) }
        #expect(rejoined != nil, "seed \(seed): the restarted member did not rejoin")
    }

    /// 10% datagram loss for ten virtual minutes: probes fail now and then, but nobody alive is
    /// ever declared dead.
    @Test(arguments: seeds.prefix(4))
    func noFalsePositivesUnderLoss(seed: UInt64) {
        var sim = cluster(20, seed: seed, network: NetworkConditions(latencyMillis: 1, jitterMillis: 2, loss: 0.10))
        sim.run(until: 600)
        let deaths = sim.observations.filter { $0.event.change == .dead }
        #expect(deaths.isEmpty, "seed \(seed): \(deaths.count) false deaths, first \(deaths.first.map { "\($0.event.member) by node-\($0.observer) at \($0.event.at)" } ?? "")")
        let nobodyDown = (0..<20).allSatisfy { o in (0..<20).allSatisfy { m in m == o || sim.status(of: m, seenBy: o).map { !$0.isDown } == true } }
        #expect(nobodyDown, "seed \(seed): a member is down or missing in someone's view")
    }

    /// A member paused (CPU-starved, SIGSTOP) for 5 s is never declared dead.
    @Test(arguments: seeds.prefix(6))
    func brieflyPausedMemberIsNotDeclaredDead(seed: UInt64) {
        var sim = cluster(10, seed: seed)
        sim.run(until: 5)
        sim.pause(3)
        sim.run(until: 10)
        sim.resume(3)
        sim.run(until: 30)
        let deaths = sim.observations.filter { $0.event.change == .dead && $0.event.member == SWIMSimulation.name(3) }
        #expect(deaths.isEmpty, "seed \(seed): the paused member was declared dead")
        let allAlive = sim.everyoneSees(alive: Set(0..<10))
        #expect(allAlive, "seed \(seed)")
    }

    /// Two halves cut apart declare each other dead; after the partition heals they find each
    /// other again through reconnection attempts and refutation.
    @Test(arguments: seeds.prefix(6))
    func partitionHeals(seed: UInt64) {
        var sim = cluster(12, seed: seed)
        sim.run(until: 5)
        let left = Array(0..<6), right = Array(6..<12)
        sim.partition(left, right)
        sim.run(until: 40)
        let apart = left.allSatisfy { l in right.allSatisfy { sim.status(of: $0, seenBy: l)?.isDown ?? true } }
        #expect(apart, "seed \(seed): sides still see each other")
        sim.heal()
        let healed = sim.run(until: 200) { $0.everyoneSees(alive: Set(0..<12)) }
        #expect(healed != nil, "seed \(seed): the halves did not find each other again")
    }

    @Test(arguments: seeds.prefix(4))
    func gracefulLeaveIsSeenAsLeft(seed: UInt64) {
        var sim = cluster(10, seed: seed)
        sim.run(until: 5)
        sim.leave(4)
        sim.run(until: 6)
        sim.crash(4)
        let seen = sim.run(until: 10) { s in (0..<10).filter { $0 != 4 }.allSatisfy { s.status(of: 4, seenBy: $0) == .left } }
        #expect(seen != nil, "seed \(seed): the leave did not reach everyone as `left`")
        let declaredDead = sim.observations.contains { $0.event.change == .dead && $0.event.member == SWIMSimulation.name(4) }
        #expect(!declaredDead, "seed \(seed)")
    }

    /// A killed member is declared dead by everyone within the round-robin bound (every member
    /// probes every other within 2(N − 1) periods), and typically within a few seconds.
    @Test func killedMembersAreDetectedQuickly() {
        var times: [Double] = []
        for seed in Self.seeds {
            var sim = cluster(20, seed: seed)
            sim.run(until: 5)
            sim.crash(9)
            let detected = sim.run(until: 5 + 2 * 19 + 2) { $0.everyoneConsidersDown(9) }
            #expect(detected != nil, "seed \(seed): not detected within the round-robin bound")
            times.append((detected ?? 100) - 5)
        }
        times.sort()
        #expect(times[times.count / 2] < 3, "median detection by all \(times[times.count / 2]) s (all: \(times))")
    }

    /// 200 members joining at once through one seed converge in a few protocol periods.
    @Test func aMassJoinConvergesInAFewPeriods() {
        var sim = SWIMSimulation(seed: 5, settings: SWIMSettings())
        sim.keepObservations = false
        sim.start()
        for _ in 1..<200 { sim.start(seeds: [0]) }
        var t = 0.0
        while t < 10, !(0..<200).allSatisfy({ sim.aliveCount($0) == 199 }) {
            t += 0.1
            sim.run(until: t)
        }
        #expect(t <= 3, "200 members took \(t) s to see each other")
    }

    /// A member speaking a newer protocol than the others accept stays out of their view.
    @Test func incompatibleVersionsAreKeptOut() {
        var sim = cluster(5, seed: 3)
        sim.start(metadata: MemberMetadata(protocolVersion: GossipProtocol.version + 1), seeds: [0])
        sim.run(until: 10)
        let kept = (0..<5).allSatisfy { sim.status(of: 5, seenBy: $0) == nil }
        #expect(kept, "the incompatible member entered someone's view")
        #expect(sim.everyoneSees(alive: Set(0..<5)))
        #expect(sim.observations.contains { $0.event.change == .refused && $0.event.member == SWIMSimulation.name(5) })
    }

    @Test func sameSeedReplaysTheSameRun() {
        func run() -> [String] {
            var sim = cluster(15, seed: 42, network: NetworkConditions(latencyMillis: 1, jitterMillis: 3, loss: 0.05))
            sim.run(until: 5)
            sim.crash(2)
            sim.run(until: 30)
            return sim.observations.map { "\($0.observer) \($0.event.member) \($0.event.change) \($0.event.incarnation) \($0.event.at.nanoseconds)" }
        }
        let first = run()
        #expect(!first.isEmpty)
        #expect(first == run())
    }
}
