/// A member as placement sees it: identity, failure domains, weight and whether it may hold
/// replicas. Built from the gossip view (the membership layer's `Member` and its metadata).
public struct PlacementNode: Hashable, Sendable {
    public enum Status: String, Sendable, Hashable {
        /// Alive or suspect: a suspicion is not a failure, and moving on every suspicion would
        /// churn replicas for nothing.
        case up
        /// Dead, left or removed from the view.
        case down
    }

    public var id: String
    public var zone: String
    public var rack: String
    public var region: String
    /// Relative capacity (`storage_gb`; 1 when unset): a node takes replicas in proportion.
    public var weight: Double
    public var status: Status
    /// The operator asked it to hand its replicas over (gossip state `drain`).
    public var draining: Bool

    public init(id: String, zone: String = "", rack: String = "", region: String = "", weight: Double = 1,
                status: Status = .up, draining: Bool = false) {
        self.id = id
        self.zone = zone
        self.rack = rack
        self.region = region
        self.weight = weight.isFinite && weight > 0 ? weight : 1
        self.status = status
        self.draining = draining
    }

    /// Whether the ring includes it: up and not draining.
    public var eligible: Bool { status == .up && !draining }

    /// The weight an attribute map gives (`storage_gb`, a positive number; otherwise 1).
    public static func weight(attributes: [String: String]) -> Double {
        guard let text = attributes["storage_gb"], let value = Double(text), value.isFinite, value > 0 else { return 1 }
        return value
    }
}

/// Which label no two replicas of a shard may share (`cluster.placement.spread_across`).
public enum FailureDomain: String, Sendable, Hashable, CaseIterable {
    case zone, rack, region, none

    /// The domain a node belongs to. Labels are qualified by the ones above them (a rack is a
    /// rack of its zone), and a node without the label is a domain of its own: refusing to place
    /// a second replica anywhere because zones were never configured would help nobody.
    public func key(of node: PlacementNode) -> String {
        switch self {
        case .none: return "node:\(node.id)"
        case .region: return node.region.isEmpty ? "node:\(node.id)" : "region:\(node.region)"
        case .zone: return node.zone.isEmpty ? "node:\(node.id)" : "zone:\(node.region)/\(node.zone)"
        case .rack: return node.rack.isEmpty ? "node:\(node.id)" : "rack:\(node.region)/\(node.zone)/\(node.rack)"
        }
    }
}
