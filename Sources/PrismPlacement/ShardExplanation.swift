/// Why a shard's replicas are where they are, what is planned for it and what holds it back:
/// what `/cluster/shards` and `prism cluster placement` will show.
public struct ShardExplanation: Sendable, Equatable, CustomStringConvertible {
    public var shard: ShardID
    public var wanted: Int
    /// Where the placement wants the replicas, each with its reason (the first leads).
    public var placement: [ReplicaReason]
    public var actual: [ReplicaState]
    public var planned: ShardMove?
    public var blocked: HoldReason?
    /// Set when the shard cannot get all its replicas: fewer failure domains than replicas.
    public var underReplicated: String?

    public static func explain(_ shard: ShardID, view: [PlacementNode], collections: [CollectionLayout], policy: PlacementPolicy,
                               actual: [ShardID: [ReplicaState]], limits: RebalanceLimits, unixSeconds: Int64) -> ShardExplanation {
        let current = actual.mapValues { $0.map(\.node) }
        let desired = Placement(nodes: view, collections: collections, policy: policy, current: current, explain: [shard])
        let plan = RebalancePlanner.plan(desired: desired, actual: actual, view: view, limits: limits, unixSeconds: unixSeconds)
        let wanted = desired.wanted[shard] ?? 0
        let placed = desired.replicas[shard]?.count ?? 0
        return ShardExplanation(
            shard: shard, wanted: wanted, placement: desired.reasons[shard] ?? [], actual: actual[shard] ?? [],
            planned: plan.moves.first { $0.shard == shard }, blocked: plan.blocked[shard],
            underReplicated: placed < wanted
                ? "\(placed) of \(wanted) replicas: only \(desired.domainCount) \(policy.spreadAcross.rawValue == "none" ? "eligible node" : policy.spreadAcross.rawValue)(s) to spread over"
                : nil)
    }

    public var description: String {
        var lines = ["\(shard) (replication factor \(wanted))"]
        for (i, r) in placement.enumerated() {
            let why: String
            switch r.kind {
            case .kept: why = "already there, still eligible, in a domain of its own, within its bound"
            case .ring(let examined): why = "first eligible node in an unused domain under its bound on the ring walk (\(examined) looked at)"
            case .overBound(let examined): why = "over its bound: no node under its bound was left in an unused domain (\(examined) looked at)"
            case .balanced(let from): why = "moved from \(from), which held more than its share"
            }
            lines.append("  \(i == 0 ? "leader " : "replica") \(r.node): \(why)")
        }
        if let underReplicated { lines.append("  under-replicated: \(underReplicated)") }
        lines.append("  now: " + (actual.isEmpty ? "no replicas" : actual.map { "\($0.node) (\($0.role.rawValue)\($0.upToDate ? "" : ", behind"))" }.joined(separator: ", ")))
        if let planned { lines.append("  next: \(planned)") }
        if let blocked { lines.append("  blocked: \(blocked)") }
        if planned == nil && blocked == nil { lines.append("  next: nothing (in place)") }
        return lines.joined(separator: "\n")
    }
}
