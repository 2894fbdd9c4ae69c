import PrismPlacement
import PrismStorage
import Testing

/// Random topology: zones, racks, regions, weights, down and draining nodes, collections with
/// various shard counts and replication factors. Seeded; a failure names its seed.
struct RandomTopology {
    var nodes: [PlacementNode] = []
    var collections: [CollectionLayout] = []
    var policy = PlacementPolicy()

    init(seed: UInt64, maxNodes: Int = 40) {
        var random = SplitMix64(seed: seed)
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        let zones = 1 + pick(5), racks = 1 + pick(3), regions = 1 + pick(2)
        let weighted = pick(2) == 0
        let count = 1 + pick(maxNodes)
        for i in 0..<count {
            let zone = pick(zones)
            nodes.append(PlacementNode(
                id: "n\(i)", zone: "z\(zone)", rack: "r\(pick(racks))", region: "g\(zone % regions)",
                weight: weighted ? [1, 2, 4][pick(3)] : 1,
                status: pick(10) == 0 ? .down : .up, draining: pick(10) == 0))
        }
        for c in 0..<(1 + pick(6)) {
            collections.append(CollectionLayout(name: "c\(c)", shards: 1 + pick(16), replicationFactor: 1 + pick(5)))
        }
        policy = PlacementPolicy(spreadAcross: FailureDomain.allCases[pick(4)])
    }

    func placement() -> Placement { Placement(nodes: nodes, collections: collections, policy: policy) }
}

@Suite("Placement properties")
struct PlacementPropertyTests {
    @Test("never two replicas of a shard in one domain; as many replicas as domains allow; only eligible nodes",
          arguments: 0..<200)
    func domainsAndCounts(seed: UInt64) {
        let topology = RandomTopology(seed: seed)
        let placement = topology.placement()
        let eligible = Dictionary(uniqueKeysWithValues: topology.nodes.filter(\.eligible).map { ($0.id, $0) })
        let domains = Set(eligible.values.map { topology.policy.spreadAcross.key(of: $0) })
        for layout in topology.collections {
            for shard in layout.shardIDs {
                let replicas = placement.replicas[shard] ?? []
                let replicaDomains = replicas.compactMap { eligible[$0] }.map { topology.policy.spreadAcross.key(of: $0) }
                #expect(replicaDomains.count == replicas.count, "seed \(seed): \(shard) on a node that is down or draining: \(replicas)")
                #expect(Set(replicaDomains).count == replicas.count, "seed \(seed): \(shard) shares a domain: \(replicas)")
                #expect(replicas.count == min(layout.replicationFactor, domains.count), "seed \(seed): \(shard) has \(replicas.count)")
                #expect(placement.underReplicated.contains(shard) == (replicas.count < layout.replicationFactor), "seed \(seed)")
            }
        }
    }

    @Test("the same view in any order gives the same placement", arguments: 0..<400)
    func determinism(seed: UInt64) {
        let topology = RandomTopology(seed: seed)
        var shuffled = topology
        var random = SplitMix64(seed: seed ^ 0xfeed)
        shuffled.nodes.shuffle(using: &random)
        shuffled.collections.shuffle(using: &random)
        #expect(topology.placement().replicas == shuffled.placement().replicas, "seed \(seed)")
    }

    /// The walk exceeds a bound only when no node within its bound is left in an unused domain
    /// for a shard; in random topologies (mixed weights and replication factors, lopsided
    /// domains) that happens at the last few shards, by one replica. With equal replication
    /// factors and weights it never does (see `boundedLoadsWithUniformLayouts`).
    @Test("loads stay within their bound, exceeded only by a replica here and there", arguments: 0..<200)
    func boundedLoads(seed: UInt64) {
        let placement = RandomTopology(seed: seed).placement()
        var excess = 0
        for (node, load) in placement.load {
            let capacity = placement.capacity[node, default: 0]
            #expect(load <= capacity + 1, "seed \(seed): \(node) holds \(load) of \(capacity)")
            excess += max(0, load - capacity)
        }
        #expect(excess <= max(2, placement.replicaCount / 100), "seed \(seed): \(excess) replicas beyond bounds")
    }

    @Test("with one replication factor and equal weights no bound is exceeded", arguments: 0..<100)
    func boundedLoadsWithUniformLayouts(seed: UInt64) {
        var topology = RandomTopology(seed: seed)
        let rf = topology.collections[0].replicationFactor
        topology.collections = topology.collections.map { CollectionLayout(name: $0.name, shards: $0.shards, replicationFactor: rf) }
        topology.nodes = topology.nodes.map { PlacementNode(id: $0.id, zone: $0.zone, rack: $0.rack, region: $0.region, status: $0.status, draining: $0.draining) }
        let placement = topology.placement()
        for (node, load) in placement.load {
            #expect(load <= placement.capacity[node, default: 0], "seed \(seed): \(node) holds \(load) of \(placement.capacity[node, default: 0])")
        }
    }
}

@Suite("Placement movement")
struct PlacementMovementTests {
    /// Replicas that must arrive somewhere for the loads to change as they did: the least any
    /// placement with the new loads could move.
    func necessary(from: Placement, to: Placement) -> Int {
        Set(from.load.keys).union(to.load.keys).reduce(0) { $0 + max(0, to.load[$1, default: 0] - from.load[$1, default: 0]) }
    }

    /// A join or a leave moves what the change of loads requires and little more: no churn
    /// between nodes whose share did not change (at most a quarter more, plus two: a shard that loses
    /// the replica of a domain may need another shard to make room in its replacement domain).
    /// With equal domains the change itself is the joiner's share or the leaver's replicas
    /// (`PlacementScenarioTests`); lopsided domains also shift other domains' targets.
    @Test("a join or a leave moves close to the minimum", arguments: 0..<100)
    func minimalMovement(seed: UInt64) {
        var topology = RandomTopology(seed: seed)
        topology.nodes = topology.nodes.map { PlacementNode(id: $0.id, zone: $0.zone, rack: $0.rack, region: $0.region, weight: $0.weight) }
        let base = topology.placement()
        var random = SplitMix64(seed: seed ^ 0x5eed)
        let joiner = PlacementNode(id: "joiner", zone: "z\(random.next() % 3)", rack: "r0", region: "g0")
        let joined = Placement(nodes: topology.nodes + [joiner], collections: topology.collections, policy: topology.policy, current: base.replicas)
        let movedIn = PlacementScenario.moved(from: base, to: joined), neededIn = necessary(from: base, to: joined)
        #expect(movedIn <= neededIn + neededIn / 4 + 2, "seed \(seed): a join moved \(movedIn) replicas where \(neededIn) had to")

        guard topology.nodes.count > 1 else { return }
        let left = Placement(nodes: Array(topology.nodes.dropLast()), collections: topology.collections, policy: topology.policy,
                             current: base.replicas)
        let movedOut = PlacementScenario.moved(from: base, to: left), neededOut = necessary(from: base, to: left)
        #expect(movedOut <= neededOut + neededOut / 4 + 2, "seed \(seed): a leave moved \(movedOut) replicas where \(neededOut) had to")
    }
}
