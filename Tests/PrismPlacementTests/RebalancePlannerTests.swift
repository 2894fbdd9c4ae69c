import PrismConfig
import PrismPlacement
import PrismStorage
import Testing

/// The planner driven to completion against a model of the shard groups: learners catch up one
/// round after they are added; moves are applied as planned. Invariants are checked at every step.
struct ShardModel {
    var actual: [ShardID: [ReplicaState]] = [:]

    /// Applies a plan; returns a violation message if a step broke an invariant.
    mutating func apply(_ plan: RebalancePlan, desired: Placement, up: Set<String>, limits: RebalanceLimits) -> String? {
        // Limits: copies under way plus new ones, per node.
        var busy: [String: Int] = [:]
        for (_, replicas) in actual {
            let source = replicas.first { $0.role == .voter && $0.upToDate && up.contains($0.node) }?.node
            for r in replicas where r.role == .learner && !r.upToDate && up.contains(r.node) {
                busy[r.node, default: 0] += 1
                if let source { busy[source, default: 0] += 1 }
            }
        }
        var touched = Set<ShardID>()
        for move in plan.moves {
            guard touched.insert(move.shard).inserted else { return "two steps for \(move.shard) in one plan" }
            var replicas = actual[move.shard] ?? []
            let wanted = min(desired.wanted[move.shard] ?? 0, desired.replicas[move.shard]?.count ?? 0)
            let before = replicas.filter { $0.role == .voter && $0.upToDate && up.contains($0.node) }.count
            switch move.step {
            case .addLearner(let node, let source):
                busy[node, default: 0] += 1
                if let source { busy[source, default: 0] += 1 }
                if busy[node, default: 0] > limits.maxConcurrentMoves || source.map({ busy[$0, default: 0] > limits.maxConcurrentMoves }) == true {
                    return "\(move): over max_concurrent_moves"
                }
                guard !replicas.contains(where: { $0.node == node }) else { return "\(move): already there" }
                replicas.append(ReplicaState(node: node, role: .learner, upToDate: false))
            case .promote(let node):
                guard let i = replicas.firstIndex(where: { $0.node == node && $0.role == .learner && $0.upToDate }) else {
                    return "\(move): no caught-up learner"
                }
                replicas[i].role = .voter
            case .remove(let node):
                replicas.removeAll { $0.node == node }
                let after = replicas.filter { $0.role == .voter && $0.upToDate && up.contains($0.node) }.count
                if after < min(before, wanted) { return "\(move): up-to-date voters \(before) → \(after), wanted \(wanted)" }
            }
            actual[move.shard] = replicas
        }
        return nil
    }

    /// A round of copying: every learner on a running node has caught up.
    mutating func catchUp(up: Set<String>) {
        for (shard, replicas) in actual {
            actual[shard] = replicas.map { r in
                var r = r
                if r.role == .learner && up.contains(r.node) { r.upToDate = true }
                return r
            }
        }
    }

    /// A node fails: its replicas are no longer up to date.
    mutating func fail(_ node: String) {
        for (shard, replicas) in actual {
            actual[shard] = replicas.map { r in
                var r = r
                if r.node == node { r.upToDate = false }
                return r
            }
        }
    }

    var placement: [ShardID: [String]] { actual.mapValues { $0.map(\.node) } }
}

@Suite("Rebalance planner")
struct RebalancePlannerTests {
    /// Plans and applies until nothing is left to do (or `rounds` runs out).
    func converge(_ model: inout ShardModel, desired: Placement, view: [PlacementNode], limits: RebalanceLimits,
                  seed: UInt64, rounds: Int = 400) -> Int {
        let up = Set(view.filter { $0.status == .up }.map(\.id))
        for round in 0..<rounds {
            let plan = RebalancePlanner.plan(desired: desired, actual: model.actual, view: view, limits: limits, unixSeconds: 0)
            let reordered = RebalancePlanner.plan(desired: desired, actual: model.actual, view: view.reversed(), limits: limits, unixSeconds: 0)
            #expect(plan == reordered, "seed \(seed) round \(round): the plan depends on the view's order")
            if plan.moves.isEmpty && !model.actual.values.contains(where: { $0.contains { $0.role == .learner } }) { return round }
            if let violation = model.apply(plan, desired: desired, up: up, limits: limits) {
                Issue.record("seed \(seed) round \(round): \(violation)")
                return round
            }
            model.catchUp(up: up)
        }
        Issue.record("seed \(seed): no convergence in \(rounds) rounds")
        return rounds
    }

    func assertMatches(_ model: ShardModel, _ desired: Placement, seed: UInt64, _ what: String) {
        for (shard, nodes) in desired.replicas {
            let actual = model.actual[shard] ?? []
            #expect(Set(actual.map(\.node)) == Set(nodes), "seed \(seed) \(what): \(shard) is on \(actual.map(\.node)), placement says \(nodes)")
            #expect(actual.allSatisfy { $0.role == .voter }, "seed \(seed) \(what): \(shard) still has learners")
        }
    }

    @Test("from nothing, then after failures and drains: reaches the placement, never lowering up-to-date voters, within limits",
          arguments: 0..<40)
    func convergesSafely(seed: UInt64) {
        var topology = RandomTopology(seed: seed, maxNodes: 20)
        topology.nodes = topology.nodes.map { PlacementNode(id: $0.id, zone: $0.zone, rack: $0.rack, region: $0.region, weight: $0.weight) }
        var random = SplitMix64(seed: seed ^ 0xabc)
        let limits = RebalanceLimits(maxConcurrentMoves: 1 + Int(random.next() % 3), continuousOptimization: true)
        var model = ShardModel()
        let first = topology.placement()
        _ = converge(&model, desired: first, view: topology.nodes, limits: limits, seed: seed)
        assertMatches(model, first, seed: seed, "initial")

        // One node fails, another drains.
        guard topology.nodes.count >= 3 else { return }
        let failed = Int(random.next() % UInt64(topology.nodes.count))
        let drained = (failed + 1) % topology.nodes.count
        topology.nodes[failed].status = .down
        topology.nodes[drained].draining = true
        model.fail(topology.nodes[failed].id)
        let second = Placement(nodes: topology.nodes, collections: topology.collections, policy: topology.policy, current: model.placement)
        _ = converge(&model, desired: second, view: topology.nodes, limits: limits, seed: seed)
        assertMatches(model, second, seed: seed, "after a failure and a drain")
        #expect(!model.actual.values.contains { $0.contains { $0.node == topology.nodes[failed].id || $0.node == topology.nodes[drained].id } },
                "seed \(seed): replicas left on the failed or drained node")
    }

    @Test("repairs go first: imbalance waits while the limit is used by under-replicated shards")
    func priorities() {
        let view = (0..<6).map { PlacementNode(id: "n\($0)", zone: "z\($0 % 3)") }
        let layouts = [CollectionLayout(name: "c", shards: 4, replicationFactor: 3)]
        let desired = Placement(nodes: view, collections: layouts)
        // Every shard healthy but on the wrong nodes, except c/3, which lost two replicas.
        var actual: [ShardID: [ReplicaState]] = [:]
        for shard in layouts[0].shardIDs {
            let wrong = desired.replicas[shard]!.map { id in view.first { $0.id != id && $0.zone == view.first { $0.id == id }!.zone }!.id }
            actual[shard] = wrong.map { ReplicaState(node: $0, role: .voter, upToDate: true) }
        }
        // c/3 kept one replica of three (two were removed after their nodes were replaced).
        let broken = ShardID(collection: "c", number: 3)
        actual[broken] = [ReplicaState(node: desired.replicas[broken]![0], role: .voter, upToDate: true)]
        let plan = RebalancePlanner.plan(desired: desired, actual: actual, view: view,
                                         limits: RebalanceLimits(maxConcurrentMoves: 1, continuousOptimization: true), unixSeconds: 0)
        #expect(plan.moves.first?.shard == broken && plan.moves.first?.priority == .underReplicated, "\(plan.moves)")
    }

    @Test("the pause schedule holds imbalance moves back, not repairs; on_node_failure = none holds repairs back")
    func pauseAndFailurePolicy() throws {
        let view = (0..<3).map { PlacementNode(id: "n\($0)", zone: "z\($0)") } + [PlacementNode(id: "n3", zone: "z0")]
        let layouts = [CollectionLayout(name: "c", shards: 8, replicationFactor: 3)]
        // All replicas on n0..n2: n3 (zone z0) gets none, so n0 is far above its share.
        var actual: [ShardID: [ReplicaState]] = [:]
        for shard in layouts[0].shardIDs { actual[shard] = (0..<3).map { ReplicaState(node: "n\($0)", role: .voter, upToDate: true) } }
        let desired = Placement(nodes: view, collections: layouts, current: actual.mapValues { $0.map(\.node) })
        #expect(desired.load["n3", default: 0] > 0)
        let business = try CronSchedule.parse("0 9-17 * * MON-FRI").get()
        let limits = RebalanceLimits(maxConcurrentMoves: 4, pauseSchedule: business)
        let mondayTen: Int64 = 1_796_601_600 + 10 * 3600 + 30 * 60  // Monday 2026-12-07 10:30 UTC
        let saturday: Int64 = 1_796_601_600 - 2 * 86_400 + 10 * 3600  // Saturday 10:00 UTC
        #expect(UTCTime(unixSeconds: mondayTen).weekday == 1 && UTCTime(unixSeconds: mondayTen).hour == 10)
        let paused = RebalancePlanner.plan(desired: desired, actual: actual, view: view, limits: limits, unixSeconds: mondayTen)
        #expect(paused.paused && paused.moves.isEmpty && !paused.blocked.isEmpty)
        // 8:30 UTC is 9:30 at UTC+1: paused there, not in UTC.
        let mondayEight = mondayTen - 2 * 3600
        #expect(!limits.paused(atUnixSeconds: mondayEight))
        #expect(RebalanceLimits(pauseSchedule: business, pauseUTCOffsetMinutes: 60).paused(atUnixSeconds: mondayEight))
        #expect(limits.paused(atUnixSeconds: mondayTen + 7 * 3600 + 29 * 60), "17:59 (the 17:00 firing's hour)")
        #expect(!limits.paused(atUnixSeconds: mondayTen + 8 * 3600), "18:30")
        let weekend = RebalancePlanner.plan(desired: desired, actual: actual, view: view, limits: limits, unixSeconds: saturday)
        #expect(!weekend.paused && !weekend.moves.isEmpty && weekend.moves.allSatisfy { $0.priority == .imbalance })

        // n1 fails during business hours: the repair runs anyway, unless on_node_failure = none.
        var failedView = view
        failedView[1].status = .down
        var failedActual = actual
        for (shard, replicas) in failedActual { failedActual[shard] = replicas.map { ReplicaState(node: $0.node, role: .voter, upToDate: $0.node != "n1") } }
        let repair = Placement(nodes: failedView, collections: layouts, current: failedActual.mapValues { $0.map(\.node) })
        let repairs = RebalancePlanner.plan(desired: repair, actual: failedActual, view: failedView, limits: limits, unixSeconds: mondayTen)
        #expect(repairs.moves.contains { $0.priority == .underReplicated })
        let none = RebalanceLimits(maxConcurrentMoves: 4, pauseSchedule: business, repairFailures: false)
        let reported = RebalancePlanner.plan(desired: repair, actual: failedActual, view: failedView, limits: none, unixSeconds: mondayTen)
        #expect(reported.moves.isEmpty)
        #expect(reported.blocked.values.allSatisfy { $0 == .failuresNotRepaired })
    }

    @Test("below the imbalance threshold nothing moves for balance; continuous optimization moves anyway")
    func threshold() {
        let view = (0..<4).map { PlacementNode(id: "n\($0)") }
        let layouts = [CollectionLayout(name: "c", shards: 40, replicationFactor: 1)]
        let desired = Placement(nodes: view, collections: layouts, policy: PlacementPolicy(spreadAcross: .none))
        // One shard on the wrong node: n0 holds 11 and n1 9 of a fair 10 (10% off).
        var actual = desired.replicas.mapValues { $0.map { ReplicaState(node: $0, role: .voter, upToDate: true) } }
        let moved = desired.replicas.first { $0.value == ["n1"] }!.key
        actual[moved] = [ReplicaState(node: "n0", role: .voter, upToDate: true)]
        let calm = RebalancePlanner.plan(desired: desired, actual: actual, view: view, limits: RebalanceLimits(imbalanceThresholdPercent: 15), unixSeconds: 0)
        #expect(calm.moves.isEmpty && !calm.imbalanceTriggered)
        let eager = RebalancePlanner.plan(desired: desired, actual: actual, view: view, limits: RebalanceLimits(continuousOptimization: true), unixSeconds: 0)
        #expect(eager.moves == [ShardMove(shard: moved, step: .addLearner(node: "n1", source: "n0"), priority: .imbalance)])
    }

    @Test func transferBudgetPacesChunks() {
        var budget = TransferBudget(bytesPerSecond: 1000, burstBytes: 500, now: 0)
        #expect(budget.take(500, now: 0) == 0, "a full bucket lets a burst through")
        #expect(budget.take(250, now: 0) == 0.25, "then the debt takes its time to refill")
        #expect(budget.take(0, now: 1) == 0)
        // Over ten simulated seconds of 100-byte chunks sent as soon as allowed: about 1000 B/s.
        var t = 1.0, sent = 0
        while t < 11 {
            t += budget.take(100, now: t)
            sent += 100
        }
        #expect(abs(Double(sent) - 10_000) <= 800, "\(sent) bytes in 10 s")
    }

    @Test func utcCalendar() {
        let cases: [(Int64, (Int, Int, Int, Int, Int, Int))] = [
            (0, (1970, 1, 1, 0, 0, 4)), (951_782_400, (2000, 2, 29, 0, 0, 2)), (1_796_124_686, (2026, 12, 1, 11, 31, 2)),
            (-1, (1969, 12, 31, 23, 59, 3)), (4_102_444_800, (2100, 1, 1, 0, 0, 5)),
        ]
        for (seconds, expected) in cases {
            let t = UTCTime(unixSeconds: seconds)
            #expect((t.year, t.month, t.day, t.hour, t.minute, t.weekday) == expected, "\(seconds)")
        }
    }
}
