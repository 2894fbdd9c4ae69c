/// The consistent-hash ring: `virtualNodes` tokens per node at `hash("node/<id>/<i>")`, sorted.
/// A shard's candidates are the nodes met walking clockwise from its position.
struct HashRing: Sendable {
    /// Token positions, ascending, and the node (index into the placement's node list) of each.
    private(set) var positions: [UInt64] = []
    private(set) var owners: [Int32] = []
    /// Each node's token positions, ascending.
    private var nodeTokens: [[UInt64]] = []

    init(nodeIDs: [String], virtualNodes: Int) {
        var tokens: [(UInt64, Int32)] = []
        tokens.reserveCapacity(nodeIDs.count * virtualNodes)
        for (i, id) in nodeIDs.enumerated() {
            for v in 0..<virtualNodes { tokens.append((PortableHash.hash("node/\(id)/\(v)"), Int32(i))) }
        }
        // Equal positions (a 64-bit collision) are ordered by node, and nodes come sorted by id.
        tokens.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        nodeTokens = [[UInt64]](repeating: [], count: nodeIDs.count)
        for (position, owner) in tokens { nodeTokens[Int(owner)].append(position) }
        positions = tokens.map(\.0)
        owners = tokens.map(\.1)
    }

    var count: Int { positions.count }

    /// How far clockwise from `position` the node's first token is (the ring order of a
    /// shard's replicas: the nearest leads).
    func distance(from position: UInt64, to node: Int) -> UInt64 {
        let own = nodeTokens[node]
        guard let first = own.first else { return .max }
        var lo = 0, hi = own.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if own[mid] < position { lo = mid + 1 } else { hi = mid }
        }
        return (lo == own.count ? first : own[lo]) &- position
    }

    /// Index of the first token at or after `position`, wrapping to 0.
    func firstToken(atOrAfter position: UInt64) -> Int {
        var lo = 0, hi = positions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if positions[mid] < position { lo = mid + 1 } else { hi = mid }
        }
        return lo == positions.count ? 0 : lo
    }
}
