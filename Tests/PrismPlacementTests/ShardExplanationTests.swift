import PrismPlacement
import Testing

@Suite("Shard explanations")
struct ShardExplanationTests {
    @Test("says why each replica is placed, what comes next, and what blocks it")
    func explains() {
        let view = [PlacementNode(id: "a", zone: "z1"), PlacementNode(id: "b", zone: "z2"), PlacementNode(id: "c", zone: "z2", status: .down)]
        let layouts = [CollectionLayout(name: "docs", shards: 1, replicationFactor: 3)]
        let shard = ShardID(collection: "docs", number: 0)
        let actual = [shard: [ReplicaState(node: "a", role: .voter, upToDate: true), ReplicaState(node: "c", role: .voter, upToDate: false)]]
        let e = ShardExplanation.explain(shard, view: view, collections: layouts, policy: PlacementPolicy(), actual: actual,
                                         limits: RebalanceLimits(), unixSeconds: 0)
        #expect(e.placement.map(\.node).sorted() == ["a", "b"])
        #expect(e.placement.first { $0.node == "a" }?.kind == .kept)
        #expect(e.underReplicated?.contains("only 2 zone") == true, "\(e)")
        #expect(e.planned == ShardMove(shard: shard, step: .addLearner(node: "b", source: "a"), priority: .underReplicated))
        #expect(e.description.contains("next: docs/0: add learner on b from a (under-replicated)"), "\(e)")

        let held = ShardExplanation.explain(shard, view: view, collections: layouts, policy: PlacementPolicy(), actual: actual,
                                            limits: RebalanceLimits(repairFailures: false), unixSeconds: 0)
        #expect(held.planned == nil)
        #expect(held.blocked == .failuresNotRepaired)
        #expect(held.description.contains("blocked: cluster.health.on_node_failure = \"none\""), "\(held)")
    }
}
