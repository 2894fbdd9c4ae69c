/// Where every shard's replicas belong: consistent hashing with bounded loads over the eligible
/// nodes, never two replicas of a shard in one failure domain, kept where they already are when
/// that stays valid, so a membership change moves close to the minimum.
///
/// Method, in four steps, each deterministic:
/// 1. **Bounds.** Each node's target is its weight's share of what its domain must hold (a
///    domain takes at most one replica per shard); its bound is ⌈(1 + ε)·target⌉.
/// 2. **Keep.** Replicas in `current` stay when their node is eligible, their domain is not
///    already used by the shard, and their node is within its bound.
/// 3. **Fill.** Missing replicas are chosen walking the ring clockwise from the shard's hash:
///    the first node in an unused domain under its bound (domains that would otherwise miss
///    their target take the shard first); past its bound only when nothing else is left.
/// 4. **Balance.** A replica moves from a node above its target to the node furthest below
///    its target that may take it when that lowers the spread (the two deviations differ by
///    more than one replica), so loads end within about one replica of their targets.
///
/// Every member computes the same placement from the same view and the same current
/// assignment, whatever order the view lists the nodes in: nodes are sorted by id, shards
/// visited in ring order, and the hash is portable.
public struct Placement: Sendable {
    /// The nodes that may hold replicas (up, not draining), sorted by id.
    public let nodes: [PlacementNode]
    /// Replicas of each shard, the first the preferred leader.
    public let replicas: [ShardID: [String]]
    /// The replication factor each shard asks for.
    public let wanted: [ShardID: Int]
    /// Most replicas each node may hold, and how many it holds.
    public let capacity: [String: Int]
    public let load: [String: Int]
    /// Each node's fair share: its weight's share of what its domain must hold.
    public let target: [String: Double]
    /// Distinct failure domains among the eligible nodes.
    public let domainCount: Int
    public let policy: PlacementPolicy
    /// Why each replica is where it is, per shard (filled for the traced shard only).
    public let reasons: [ShardID: [ReplicaReason]]

    /// Shards placed with fewer replicas than asked, because the domains are fewer than the
    /// replication factor (or there are no eligible nodes at all).
    public var underReplicated: [ShardID] {
        replicas.keys.filter { replicas[$0, default: []].count < wanted[$0, default: 0] }.sorted()
    }

    public var replicaCount: Int { load.values.reduce(0, +) }

    /// - Parameter current: where replicas are now (shard → nodes); empty for a fresh placement.
    public init(nodes view: [PlacementNode], collections: [CollectionLayout], policy: PlacementPolicy = PlacementPolicy(),
                current: [ShardID: [String]] = [:], explain: Set<ShardID> = []) {
        self.policy = policy
        let nodes = Self.eligibleNodes(view)
        self.nodes = nodes
        let domainKeys = nodes.map { policy.spreadAcross.key(of: $0) }
        var domainIndex: [String: Int] = [:]
        let domainOf = domainKeys.map { key in
            if let i = domainIndex[key] { return i }
            let i = domainIndex.count
            domainIndex[key] = i
            return i
        }
        let domainCount = domainIndex.count
        self.domainCount = domainCount
        var nodeIndex: [String: Int] = [:]
        for (i, node) in nodes.enumerated() { nodeIndex[node.id] = i }

        var shards: [(ShardID, Int)] = []
        var seenCollections = Set<String>()
        for layout in collections.sorted(by: { $0.name < $1.name }) where seenCollections.insert(layout.name).inserted {
            for shard in layout.shardIDs { shards.append((shard, max(0, layout.replicationFactor))) }
        }
        var wanted: [ShardID: Int] = [:]
        for (shard, rf) in shards { wanted[shard] = rf }
        self.wanted = wanted

        let (caps, domainTargets, nodeTargets) = Self.capacities(nodes: nodes, domainOf: domainOf, domainCount: domainCount,
                                                                 wants: shards.map { min($0.1, domainCount) }, slack: policy.loadSlack)
        let ring = HashRing(nodeIDs: nodes.map(\.id), virtualNodes: policy.virtualNodes)
        let ordered = shards.map { ($0.0, $0.1, $0.0.ringPosition) }.sorted { $0.2 != $1.2 ? $0.2 < $1.2 : $0.0 < $1.0 }
        var load = [Int](repeating: 0, count: nodes.count)
        var domainAssigned = [Int](repeating: 0, count: domainCount)
        var assigned = [[Int]](repeating: [], count: ordered.count)
        var why = [[ReplicaReason.Kind]](repeating: [], count: ordered.count)
        let tracing = ordered.map { explain.contains($0.0) }

        // 2. Keep what is valid.
        for (visit, (shard, rf, _)) in ordered.enumerated() {
            let want = min(rf, domainCount)
            var used: [Int] = []
            for id in current[shard] ?? [] {
                guard assigned[visit].count < want, let n = nodeIndex[id], !assigned[visit].contains(n), !used.contains(domainOf[n]),
                      load[n] < caps[n] else { continue }
                assigned[visit].append(n)
                used.append(domainOf[n])
                load[n] += 1
                domainAssigned[domainOf[n]] += 1
                if tracing[visit] { why[visit].append(.kept) }
            }
        }

        // 3. Fill on the ring.
        let domainNeeds = domainTargets.map { Int(($0 + 1e-9).rounded(.down)) }
        var seen = [Int](repeating: -1, count: nodes.count)
        var stamp = 0
        for (visit, (_, rf, position)) in ordered.enumerated() where assigned[visit].count < min(rf, domainCount) && ring.count > 0 {
            let want = min(rf, domainCount)
            let remainingAfter = ordered.count - visit - 1
            var used = assigned[visit].map { domainOf[$0] }
            // Domains obliged to take this shard; when more are obliged than replicas are
            // missing, the furthest behind first.
            var obliged = (0..<domainCount).filter { !used.contains($0) && domainNeeds[$0] - domainAssigned[$0] > remainingAfter }
            let missing = want - assigned[visit].count
            if obliged.count > missing {
                obliged.sort { (domainNeeds[$0] - domainAssigned[$0], -$0) > (domainNeeds[$1] - domainAssigned[$1], -$1) }
                obliged.removeLast(obliged.count - missing)
            }
            let start = ring.firstToken(atOrAfter: position)
            // Passes: obliged domains within bounds; any domain within the node's target
            // (rounded up), then within its bound; past its bound when nothing else is left.
            for pass in 0..<4 where assigned[visit].count < want && (pass > 0 || !obliged.isEmpty) {
                stamp += 1
                var examined = 0
                for step in 0..<ring.count {
                    let n = Int(ring.owners[(start + step) % ring.count])
                    if seen[n] == stamp { continue }
                    seen[n] = stamp
                    examined += 1
                    let d = domainOf[n]
                    let room = pass == 1 ? Double(load[n]) < nodeTargets[n] - 1e-9 : pass == 3 || load[n] < caps[n]
                    if !assigned[visit].contains(n) && !used.contains(d) && (pass > 0 || obliged.contains(d)) && room {
                        assigned[visit].append(n)
                        used.append(d)
                        load[n] += 1
                        domainAssigned[d] += 1
                        if tracing[visit] { why[visit].append(pass == 3 ? .overBound(examined: examined) : .ring(examined: examined)) }
                        if assigned[visit].count == want { break }
                    }
                    if examined == nodes.count { break }
                }
            }
        }

        // 4. Balance: a replica on a node above its target moves to the node furthest below
        // its target that may take it (ties: the lower id), when the two
        // deviations differ by more than one replica, so every move lowers the spread and the
        // passes end. Taking the furthest below keeps chains of small moves from starting: a
        // node that joined takes its share directly from those above theirs.
        if ring.count > 0 {
            for _ in 0..<64 {
                // Nodes below their target, furthest below first (then by id): rebuilt after
                // each move, which is rare next to the replicas looked at.
                func belowTarget() -> [Int] {
                    nodes.indices.filter { Double(load[$0]) < nodeTargets[$0] }
                        .sorted { (Double(load[$0]) - nodeTargets[$0], $0) < (Double(load[$1]) - nodeTargets[$1], $1) }
                }
                var receivers = belowTarget()
                guard let deepest = receivers.first,
                      let highest = nodes.indices.max(by: { Double(load[$0]) - nodeTargets[$0] < Double(load[$1]) - nodeTargets[$1] }),
                      (Double(load[highest]) - nodeTargets[highest]) - (Double(load[deepest]) - nodeTargets[deepest]) > 1 else { break }
                var moved = false
                for visit in ordered.indices {
                    for r in assigned[visit].indices {
                        let o = assigned[visit][r]
                        let over = Double(load[o]) - nodeTargets[o]
                        guard over > 0 else { continue }
                        var chosen: Int?
                        for u in receivers {
                            let under = Double(load[u]) - nodeTargets[u]
                            if over - under <= 1 { break }  // sorted: nobody further on qualifies
                            guard load[u] < caps[u], !assigned[visit].contains(u) else { continue }
                            let d = domainOf[u]
                            if d != domainOf[o] && assigned[visit].contains(where: { domainOf[$0] == d }) { continue }
                            chosen = u
                            break
                        }
                        guard let u = chosen else { continue }
                        assigned[visit][r] = u
                        load[o] -= 1
                        load[u] += 1
                        if tracing[visit] { why[visit][r] = .balanced(from: nodes[o].id) }
                        moved = true
                        receivers = belowTarget()
                    }
                }
                if !moved { break }
            }
        }

        var replicas: [ShardID: [String]] = [:]
        var reasons: [ShardID: [ReplicaReason]] = [:]
        replicas.reserveCapacity(ordered.count)
        for (visit, (shard, _, position)) in ordered.enumerated() {
            // The first on the ring leads: the same leader for the same set, however it was built.
            let order = assigned[visit].indices.sorted {
                ring.distance(from: position, to: assigned[visit][$0]) < ring.distance(from: position, to: assigned[visit][$1])
            }
            replicas[shard] = order.map { nodes[assigned[visit][$0]].id }
            if tracing[visit] {
                reasons[shard] = order.map { ReplicaReason(node: nodes[assigned[visit][$0]].id, kind: why[visit][$0]) }
            }
        }
        self.replicas = replicas
        self.reasons = reasons
        var capacity: [String: Int] = [:], loads: [String: Int] = [:], targets: [String: Double] = [:]
        for (i, node) in nodes.enumerated() {
            capacity[node.id] = caps[i]
            loads[node.id] = load[i]
            targets[node.id] = nodeTargets[i]
        }
        self.capacity = capacity
        self.load = loads
        self.target = targets
    }

    /// Up, not draining, one entry per id (the view should not repeat one; if it does, the
    /// first in a fixed order wins, so the result still does not depend on the view's order).
    static func eligibleNodes(_ view: [PlacementNode]) -> [PlacementNode] {
        let sorted = view.filter(\.eligible).sorted {
            ($0.id, $0.region, $0.zone, $0.rack, $0.weight) < ($1.id, $1.region, $1.zone, $1.rack, $1.weight)
        }
        var out: [PlacementNode] = []
        for node in sorted where out.last?.id != node.id { out.append(node) }
        return out
    }

    /// Each node's bound: ⌈(1 + ε)·target⌉, where the target is the node's weight's share of
    /// its domain's. A domain's target is what it would hold if every shard's replicas were
    /// spread by weight, at most one per domain (water-filling per shard: what a heavy domain
    /// cannot take of a shard, because it takes one replica at most, goes to the others).
    static func capacities(nodes: [PlacementNode], domainOf: [Int], domainCount: Int, wants: [Int],
                           slack: Double) -> (capacities: [Int], domainTargets: [Double], nodeTargets: [Double]) {
        guard !nodes.isEmpty else { return ([], [], []) }
        var domainWeight = [Double](repeating: 0, count: domainCount)
        for (i, node) in nodes.enumerated() { domainWeight[domainOf[i]] += node.weight }
        var shardsWanting: [Int: Int] = [:]
        for want in wants where want > 0 { shardsWanting[want, default: 0] += 1 }
        var target = [Double](repeating: 0, count: domainCount)
        // In a fixed order: floating-point sums in another order differ in the last bits,
        // and every member must compute the same targets.
        for (want, count) in shardsWanting.sorted(by: { $0.key < $1.key }) {
            for (d, share) in Self.spread(want, over: domainWeight).enumerated() { target[d] += Double(count) * share }
        }
        let shares = nodes.indices.map { target[domainOf[$0]] * nodes[$0].weight / domainWeight[domainOf[$0]] }
        let capacities = shares.map { max(1, Int(($0 * (1 + slack) - 1e-9).rounded(.up))) }
        return (capacities, target, shares)
    }

    /// One shard's `replicas` spread over domains by weight, at most 1 each: min(1, λ·w).
    static func spread(_ replicas: Int, over weights: [Double]) -> [Double] {
        var capped = [Bool](repeating: false, count: weights.count)
        var lambda = 0.0
        while true {
            let freeWeight = weights.indices.filter { !capped[$0] }.reduce(0.0) { $0 + weights[$1] }
            guard freeWeight > 0 else { break }
            lambda = Double(replicas - capped.filter { $0 }.count) / freeWeight
            var newlyCapped = false
            for d in weights.indices where !capped[d] && lambda * weights[d] > 1 {
                capped[d] = true
                newlyCapped = true
            }
            if !newlyCapped { break }
        }
        return weights.indices.map { capped[$0] ? 1 : lambda * weights[$0] }
    }
}

/// Why a replica is on its node.
public struct ReplicaReason: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// It was there already and still may be.
        case kept
        /// Chosen on the ring walk: the first node in an unused domain under its bound
        /// (`examined` nodes were looked at).
        case ring(examined: Int)
        /// Chosen past its bound: no node under its bound was left in an unused domain.
        case overBound(examined: Int)
        /// Moved here from a node above its target.
        case balanced(from: String)
    }
    public var node: String
    public var kind: Kind
}
