/// One replica of a shard as it is now (reported by the shard group).
public struct ReplicaState: Hashable, Sendable {
    public enum Role: String, Sendable, Hashable {
        /// Counts for quorum.
        case voter
        /// Receives the log without voting, until it has caught up and is promoted.
        case learner
    }

    public var node: String
    public var role: Role
    /// Holds the group's log up to the leader's commit (a learner: caught up).
    public var upToDate: Bool

    public init(node: String, role: Role, upToDate: Bool) {
        self.node = node
        self.role = role
        self.upToDate = upToDate
    }
}
