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
