/// One step of moving a replica. A move is always *add learner → (it catches up) → promote →
/// remove the old replica*, so a shard never has fewer up-to-date voters than it had.
public struct ShardMove: Hashable, Sendable, CustomStringConvertible {
    public enum Step: Hashable, Sendable {
        /// Start copying the shard to `node` (from `source`, a voter holding it; nil when the
        /// shard is new and there is nothing to copy).
        case addLearner(node: String, source: String?)
        case promote(node: String)
        case remove(node: String)
    }

    /// Why the move runs, in the order moves get the limited slots.
    public enum Priority: Int, Comparable, Sendable, Hashable {
        /// Fewer up-to-date voters than the placement asks for (a node failed or drains).
        case underReplicated = 0
        /// No replica at all yet (a new collection).
        case unassigned = 1
        /// Healthy, but not where the placement wants it.
        case imbalance = 2

        public static func < (a: Priority, b: Priority) -> Bool { a.rawValue < b.rawValue }

        public var label: String {
            switch self {
            case .underReplicated: "under-replicated"
            case .unassigned: "unassigned"
            case .imbalance: "imbalance"
            }
        }
    }

    public var shard: ShardID
    public var step: Step
    public var priority: Priority

    public init(shard: ShardID, step: Step, priority: Priority) {
        self.shard = shard
        self.step = step
        self.priority = priority
    }

    public var description: String {
        switch step {
        case .addLearner(let node, let source): "\(shard): add learner on \(node)\(source.map { " from \($0)" } ?? "") (\(priority.label))"
        case .promote(let node): "\(shard): promote \(node) (\(priority.label))"
        case .remove(let node): "\(shard): remove \(node) (\(priority.label))"
        }
    }
}
