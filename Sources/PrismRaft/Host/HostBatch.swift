/// Everything one node sends another in one round, for all the groups they share: the messages,
/// and the plain heartbeats (and their answers) folded into one small record per group, so a
/// thousand groups led from the same node cost one message per tick, not a thousand.
public struct HostBatch: Sendable, Equatable {
    public var messages: [GroupMessage] = []
    public var heartbeats: [CoalescedHeartbeat] = []
    public var heartbeatResponses: [CoalescedHeartbeat] = []

    public init(messages: [GroupMessage] = [], heartbeats: [CoalescedHeartbeat] = [], heartbeatResponses: [CoalescedHeartbeat] = []) {
        self.messages = messages
        self.heartbeats = heartbeats
        self.heartbeatResponses = heartbeatResponses
    }

    public var isEmpty: Bool { messages.isEmpty && heartbeats.isEmpty && heartbeatResponses.isEmpty }
    public var count: Int { messages.count + heartbeats.count + heartbeatResponses.count }

    /// Adds a group's message, folding a heartbeat that confirms no read (and its answer).
    mutating func add(group: UInt64, _ message: RaftMessage) {
        switch message {
        case .heartbeat(let term, let commit, 0):
            heartbeats.append(CoalescedHeartbeat(group: group, term: term, commit: commit))
        case .heartbeatResponse(let term, 0):
            heartbeatResponses.append(CoalescedHeartbeat(group: group, term: term, commit: 0))
        default:
            messages.append(GroupMessage(group: group, message: message))
        }
    }

    /// The batch as the groups' own messages again, in the order a receiver steps them.
    public var expanded: [GroupMessage] {
        messages
            + heartbeats.map { GroupMessage(group: $0.group, message: .heartbeat(term: $0.term, commit: $0.commit, context: 0)) }
            + heartbeatResponses.map { GroupMessage(group: $0.group, message: .heartbeatResponse(term: $0.term, context: 0)) }
    }
}

public struct GroupMessage: Sendable, Equatable {
    public var group: UInt64
    public var message: RaftMessage

    public init(group: UInt64, message: RaftMessage) {
        self.group = group
        self.message = message
    }
}

/// A heartbeat (or its answer, `commit` unused) of one group, without the envelope.
public struct CoalescedHeartbeat: Sendable, Equatable {
    public var group: UInt64
    public var term: UInt64
    public var commit: UInt64

    public init(group: UInt64, term: UInt64, commit: UInt64) {
        self.group = group
        self.term = term
        self.commit = commit
    }
}
