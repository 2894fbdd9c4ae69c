/// The placement benchmark's figures for one topology: balance, domain violations, and how many
/// replicas move when one node joins or leaves, against the ideal (the joiner's share, or the
/// leaver's replicas). Pure, so tests check the same figures the benchmark prints.
public struct PlacementScenario: Sendable {
    public var nodes: Int
    public var zones: Int
    public var collections: Int
    public var shardsPerCollection: Int
    public var replicationFactor: Int
    public var policy: PlacementPolicy

    public init(nodes: Int, zones: Int = 3, collections: Int = 64, shardsPerCollection: Int = 8, replicationFactor: Int = 3,
                policy: PlacementPolicy = PlacementPolicy()) {
        self.nodes = nodes
        self.zones = zones
        self.collections = collections
        self.shardsPerCollection = shardsPerCollection
        self.replicationFactor = replicationFactor
        self.policy = policy
    }

    public struct Figures: Sendable, Equatable {
        public var replicas: Int
        public var violations: Int
        public var underReplicated: Int
        public var maxOverMean: Double
        /// The least max/mean any placement can reach here: with fewer nodes in one zone than
        /// another, each of them must hold more (one replica of every shard per zone).
        public var idealMaxOverMean: Double
        public var stdOverMean: Double
        public var movedOverIdealAdd: Double
        public var movedOverIdealRemove: Double
    }

    /// Node `i` in zone `i % zones`.
    public func view(nodes count: Int) -> [PlacementNode] {
        (0..<count).map { PlacementNode(id: "node-\($0)", zone: "zone-\($0 % max(1, zones))") }
    }

    public var layouts: [CollectionLayout] {
        (0..<collections).map { CollectionLayout(name: "collection-\($0)", shards: shardsPerCollection, replicationFactor: replicationFactor) }
    }

    public func figures() -> Figures {
        let view = view(nodes: nodes)
        let base = Placement(nodes: view, collections: layouts, policy: policy)
        let loads = view.map { Double(base.load[$0.id, default: 0]) }
        let mean = loads.reduce(0, +) / Double(max(1, loads.count))
        let variance = loads.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, loads.count))
        let targets = view.map { base.target[$0.id, default: 0] }
        let added = Placement(nodes: self.view(nodes: nodes + 1), collections: layouts, policy: policy, current: base.replicas)
        // The node leaving is the last one: its zone then has the fewest nodes, the case where
        // the others of that zone must take all it held.
        let removed = Placement(nodes: Array(view.dropLast()), collections: layouts, policy: policy, current: base.replicas)
        let replicas = base.replicaCount
        return Figures(
            replicas: replicas, violations: Self.violations(base, view: view, domain: policy.spreadAcross),
            underReplicated: base.underReplicated.count,
            maxOverMean: mean > 0 ? (loads.max() ?? 0) / mean : 0,
            idealMaxOverMean: mean > 0 ? (targets.max() ?? 0) / mean : 0,
            stdOverMean: mean > 0 ? variance.squareRoot() / mean : 0,
            movedOverIdealAdd: Double(Self.moved(from: base, to: added)) / (Double(replicas) / Double(nodes + 1)),
            movedOverIdealRemove: Double(Self.moved(from: base, to: removed)) / (Double(replicas) / Double(nodes)))
    }

    /// Replicas in `to` that `from` did not have on that node (each is a copy to make).
    public static func moved(from: Placement, to: Placement) -> Int {
        var count = 0
        for (shard, nodes) in to.replicas {
            let before = Set(from.replicas[shard] ?? [])
            count += nodes.filter { !before.contains($0) }.count
        }
        return count
    }

    /// Shards with two replicas in one domain.
    public static func violations(_ placement: Placement, view: [PlacementNode], domain: FailureDomain) -> Int {
        let byID = Dictionary(view.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return placement.replicas.values.filter { nodes in
            let domains = nodes.compactMap { byID[$0] }.map { domain.key(of: $0) }
            return Set(domains).count != nodes.count
        }.count
    }
}
