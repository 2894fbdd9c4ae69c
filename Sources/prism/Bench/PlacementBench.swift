import ArgumentParser
import PrismPlacement

/// `prism bench placement`: balance, domain violations, movement on a join and a leave against
/// the ideal, and planning time, for meshes of 3 to 100 nodes in 3 zones.
struct PlacementBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "placement",
        abstract: "Benchmark placement: balance, domain violations, movement on join/leave, planning time.")

    @Option(parsing: .upToNextOption, help: "Node counts, one scenario each.")
    var nodes: [Int] = [3, 5, 10, 50, 100]

    @Option(help: "Zones (node i is in zone i mod zones).")
    var zones = 3

    @Option(help: "Collections per scenario.")
    var collections = 64

    @Option(help: "Shards per collection.")
    var shards = 8

    @Option(help: "Replication factor.")
    var replicationFactor = 3

    @Option(name: .customLong("repeat"), help: "Timed repetitions of each planning run; the median is reported.")
    var repetitions = 5

    @Flag(help: "Print one JSON object: {\"scenarios\": [...]}.")
    var json = false

    struct Scenario: Encodable {
        var nodes: Int
        var zones: Int
        var replicas: Int
        var violations: Int
        var under_replicated: Int
        var max_over_mean: Double
        var ideal_max_over_mean: Double
        var std_over_mean: Double
        var moved_over_ideal_add: Double
        var moved_over_ideal_remove: Double
        var plan_ms: Double
        var plan_ms_10000_shards: Double
    }

    struct Output: Encodable { var scenarios: [Scenario] }

    func validate() throws {
        guard nodes.allSatisfy({ $0 >= 1 && $0 <= 10_000 }) else { throw ValidationError("--nodes: each count in 1...10000") }
        guard zones >= 1, collections >= 1, shards >= 1, (1...15).contains(replicationFactor), repetitions >= 1 else {
            throw ValidationError("--zones, --collections, --shards and --repeat are at least 1; --replication-factor is 1...15")
        }
    }

    func run() throws {
        let command = "prism bench placement --nodes \(nodes.map(String.init).joined(separator: " ")) --zones \(zones) "
            + "--collections \(collections) --shards \(shards) --replication-factor \(replicationFactor) --repeat \(repetitions)"
        BenchSupport.progress(command)
        var out: [Scenario] = []
        for n in nodes {
            let scenario = PlacementScenario(nodes: n, zones: zones, collections: collections, shardsPerCollection: shards,
                                             replicationFactor: replicationFactor)
            let f = scenario.figures()
            let planMs = planMilliseconds(scenario)
            let tenThousand = PlacementScenario(nodes: n, zones: zones, collections: 1250, shardsPerCollection: 8,
                                                replicationFactor: replicationFactor)
            let planMs10k = planMilliseconds(tenThousand)
            BenchSupport.progress(String(format: "%d nodes: max/mean %.3f (best possible %.3f), std/mean %.3f, violations %d, "
                + "moved/ideal %.2f on a join and %.2f on a leave, plan %.2f ms (10,000 shards: %.1f ms)",
                n, f.maxOverMean, f.idealMaxOverMean, f.stdOverMean, f.violations, f.movedOverIdealAdd, f.movedOverIdealRemove,
                planMs, planMs10k))
            out.append(Scenario(nodes: n, zones: zones, replicas: f.replicas, violations: f.violations, under_replicated: f.underReplicated,
                                max_over_mean: f.maxOverMean, ideal_max_over_mean: f.idealMaxOverMean, std_over_mean: f.stdOverMean,
                                moved_over_ideal_add: f.movedOverIdealAdd, moved_over_ideal_remove: f.movedOverIdealRemove,
                                plan_ms: planMs, plan_ms_10000_shards: planMs10k))
        }
        if json {
            try BenchSupport.printJSON(Output(scenarios: out))
        } else {
            print("nodes  zones  replicas  violations  max/mean  (best)  std/mean  moved/ideal join  leave  plan ms  10k shards ms")
            for s in out {
                print(String(format: "%5d  %5d  %8d  %10d  %8.3f  %6.3f  %8.3f  %16.2f  %5.2f  %7.2f  %13.1f", s.nodes, s.zones, s.replicas,
                             s.violations, s.max_over_mean, s.ideal_max_over_mean, s.std_over_mean, s.moved_over_ideal_add,
                             s.moved_over_ideal_remove, s.plan_ms, s.plan_ms_10000_shards))
            }
        }
        print("reproduce: \(command)\(json ? " --json" : "")")
    }

    /// One planning round after a node joined: the placement for the new view (kept where
    /// valid), then the planner's moves from the old replica sets. Median of `repeat` runs.
    private func planMilliseconds(_ scenario: PlacementScenario) -> Double {
        let before = Placement(nodes: scenario.view(nodes: scenario.nodes), collections: scenario.layouts, policy: scenario.policy)
        let actual = before.replicas.mapValues { $0.map { ReplicaState(node: $0, role: .voter, upToDate: true) } }
        let view = scenario.view(nodes: scenario.nodes + 1)
        let limits = RebalanceLimits(continuousOptimization: true)
        var times: [Double] = [], placing: [Double] = []
        let clock = ContinuousClock()
        var moves = 0
        for _ in 0..<repetitions {
            let start = clock.now
            let desired = Placement(nodes: view, collections: scenario.layouts, policy: scenario.policy, current: before.replicas)
            let placed = clock.now
            moves = RebalancePlanner.plan(desired: desired, actual: actual, view: view, limits: limits, unixSeconds: 0).moves.count
            times.append(BenchSupport.seconds(clock.now - start) * 1000)
            placing.append(BenchSupport.seconds(placed - start) * 1000)
        }
        let median = { (xs: [Double]) in xs.sorted()[xs.count / 2] }
        BenchSupport.progress(String(format: "  %d nodes, %d shards: a join plans %d first steps in %.2f ms (placement %.2f ms, planner %.2f ms)",
                                     scenario.nodes, scenario.collections * scenario.shardsPerCollection, moves, median(times),
                                     median(placing), median(times) - median(placing)))
        return median(times)
    }
}
