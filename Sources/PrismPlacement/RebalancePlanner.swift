/// The next moves from where replicas are to where the placement wants them: under-replicated
/// shards first, then unassigned ones, then imbalance (only past the threshold, or always with
/// continuous optimization, and never while the pause schedule holds), within the per-node
/// limit on concurrent copies. Pure: the same inputs give the same plan on every node.
public struct RebalancePlan: Sendable, Equatable {
    public var moves: [ShardMove]
    /// Shards that need a move the limits or the configuration hold back, and why.
    public var blocked: [ShardID: HoldReason]
    /// The pause schedule matched: only under-replication repairs were planned.
    public var paused: Bool
    /// Some node deviated from the mean by more than the threshold (or continuous optimization).
    public var imbalanceTriggered: Bool
}

/// Why a shard that needs a move does not get one now.
public enum HoldReason: Hashable, Sendable, CustomStringConvertible {
    case paused
    case belowThreshold
    case failuresNotRepaired
    /// `node` already sends or receives `limit` copies.
    case moveLimit(node: String, limit: Int)

    public var description: String {
        switch self {
        case .paused: "paused by cluster.rebalancing.pause_schedule"
        case .belowThreshold: "imbalance within cluster.rebalancing.imbalance_threshold_percent"
        case .failuresNotRepaired: "cluster.health.on_node_failure = \"none\": failed replicas are not replaced"
        case .moveLimit(let node, let limit): "\(node) already runs cluster.rebalancing.max_concurrent_moves = \(limit) copies"
        }
    }
}

public enum RebalancePlanner {
    /// - Parameters:
    ///   - desired: the placement for the current view (`Placement`).
    ///   - actual: every shard's replicas as they are.
    ///   - view: all members with their status (down nodes' replicas are not up to date).
    ///   - unixSeconds: now, for the pause schedule.
    public static func plan(desired: Placement, actual: [ShardID: [ReplicaState]], view: [PlacementNode],
                            limits: RebalanceLimits, unixSeconds: Int64) -> RebalancePlan {
        let up = Set(view.filter { $0.status == .up }.map(\.id))
        let paused = limits.paused(atUnixSeconds: unixSeconds)
        let triggered = limits.continuousOptimization || imbalanced(actual: actual, desired: desired, threshold: limits.imbalanceThresholdPercent)

        // Copies under way: a learner not caught up is receiving, its shard's first healthy
        // voter is sending.
        var busy: [String: Int] = [:]
        for (_, replicas) in actual {
            let source = replicas.first { $0.role == .voter && $0.upToDate && up.contains($0.node) }?.node
            for learner in replicas where learner.role == .learner && !learner.upToDate && up.contains(learner.node) {
                busy[learner.node, default: 0] += 1
                if let source { busy[source, default: 0] += 1 }
            }
        }

        struct Work {
            var shard: ShardID
            var priority: ShardMove.Priority
        }
        var work: [Work] = []
        for (shard, want) in desired.wanted {
            let target = desired.replicas[shard] ?? []
            let replicas = actual[shard] ?? []
            let differs = replicas.count != target.count || replicas.contains { $0.role == .learner || !target.contains($0.node) }
            guard differs || want == 0 else { continue }
            let healthyVoters = replicas.reduce(0) { $0 + ($1.role == .voter && $1.upToDate && up.contains($1.node) ? 1 : 0) }
            if replicas.isEmpty {
                work.append(Work(shard: shard, priority: .unassigned))
            } else if healthyVoters < min(want, target.count) || replicas.contains(where: { !up.contains($0.node) }) {
                work.append(Work(shard: shard, priority: .underReplicated))
            } else if differs {
                work.append(Work(shard: shard, priority: .imbalance))
            }
        }
        work.sort { ($0.priority, $0.shard) < ($1.priority, $1.shard) }

        var moves: [ShardMove] = []
        var blocked: [ShardID: HoldReason] = [:]
        for item in work {
            let shard = item.shard
            let target = desired.replicas[shard] ?? []
            let wanted = min(desired.wanted[shard] ?? 0, target.count)
            let replicas = actual[shard] ?? []
            if item.priority == .imbalance {
                if paused { blocked[shard] = .paused; continue }
                // Leaving a draining node is what the operator asked for, threshold or not.
                let draining = replicas.contains { desired.capacity[$0.node] == nil }
                if !triggered && !draining { blocked[shard] = .belowThreshold; continue }
            }
            let lostToFailures = replicas.contains { !up.contains($0.node) }
            if item.priority == .underReplicated && lostToFailures && !limits.repairFailures {
                blocked[shard] = .failuresNotRepaired
                continue
            }
            let step = nextStep(replicas: replicas, target: target, wanted: wanted, up: up)
            switch step {
            case nil:
                continue
            case .some(.addLearner(let node, let source)):
                let sourceBusy = source.map { busy[$0, default: 0] >= limits.maxConcurrentMoves } ?? false
                if busy[node, default: 0] >= limits.maxConcurrentMoves || sourceBusy {
                    let who = busy[node, default: 0] >= limits.maxConcurrentMoves ? node : source ?? node
                    blocked[shard] = .moveLimit(node: who, limit: limits.maxConcurrentMoves)
                    continue
                }
                busy[node, default: 0] += 1
                if let source { busy[source, default: 0] += 1 }
                moves.append(ShardMove(shard: shard, step: .addLearner(node: node, source: source), priority: item.priority))
            case .some(let step):
                moves.append(ShardMove(shard: shard, step: step, priority: item.priority))
            }
        }
        return RebalancePlan(moves: moves, blocked: blocked, paused: paused, imbalanceTriggered: triggered)
    }

    /// One shard's next step: finish what is under way before starting anything new. (Arrays,
    /// not sets: a shard has a handful of replicas, and planning 10,000 shards must stay cheap.)
    static func nextStep(replicas: [ReplicaState], target: [String], wanted: Int, up: Set<String>) -> ShardMove.Step? {
        var upToDateVoters = 0
        var firstHealthyVoter: String?
        var copying = false
        var stale: String?, gone: String?, old: String?
        for r in replicas {
            let healthy = r.upToDate && up.contains(r.node)
            let isWanted = target.contains(r.node)
            switch r.role {
            case .learner:
                // A caught-up learner where the placement wants a replica becomes a voter.
                if healthy && isWanted { return .promote(node: r.node) }
                if !isWanted { stale = stale ?? r.node }
                if !r.upToDate { copying = true }
            case .voter:
                if healthy {
                    upToDateVoters += 1
                    firstHealthyVoter = firstHealthyVoter ?? r.node
                }
                if !isWanted {
                    if healthy { old = old ?? r.node } else { gone = gone ?? r.node }
                }
            }
        }
        // A learner the placement no longer wants is dropped (its copy is abandoned).
        if let stale { return .remove(node: stale) }
        // An unwanted voter goes once the others keep as many up-to-date voters as asked for:
        // a failed one first (removing it costs nothing that is up to date).
        if let gone, upToDateVoters >= wanted { return .remove(node: gone) }
        if let old, upToDateVoters - 1 >= wanted { return .remove(node: old) }
        // A copy under way: wait for it.
        if copying { return nil }
        // Start a copy to the first wanted node that has none.
        guard let node = target.first(where: { id in !replicas.contains { $0.node == id } }) else { return nil }
        return .addLearner(node: node, source: firstHealthyVoter)
    }

    /// Whether some eligible node's replica count deviates from the mean by more than
    /// `threshold` percent.
    static func imbalanced(actual: [ShardID: [ReplicaState]], desired: Placement, threshold: Double) -> Bool {
        var load: [String: Int] = [:]
        for node in desired.nodes { load[node.id] = 0 }
        for (_, replicas) in actual {
            for r in replicas where load[r.node] != nil { load[r.node, default: 0] += 1 }
        }
        guard !load.isEmpty else { return false }
        // Against each node's own fair share, so weights and lopsided domains do not count.
        for (node, count) in load {
            let fair = desired.target[node, default: 0]
            guard fair > 0 else { continue }
            if abs(Double(count) - fair) / fair * 100 > threshold { return true }
        }
        return false
    }
}
