/// The Raft groups one node hosts, as one deterministic state machine: ticks go only to groups
/// that are awake (a quiet group costs nothing per tick), the readies of every group touched are
/// gathered into one `HostReady` (one durable write for all of them), and what they send is
/// batched per destination node with heartbeats coalesced.
public struct MultiRaft<Random: RandomNumberGenerator & Sendable>: Sendable {
    public typealias Core = RaftCore<Random>

    public let node: String
    public private(set) var groups: [UInt64: Core] = [:]
    /// Groups not quiet: the ones a tick reaches.
    public private(set) var awake: Set<UInt64> = []
    /// Groups stepped, ticked or given work since the last ready.
    private var touched: Set<UInt64> = []
    /// Messages for groups this node does not host (dropped; a replica is created before its
    /// leader sends to it).
    public private(set) var unknownGroupMessages = 0

    public init(node: String) {
        self.node = node
    }

    /// Hosts a group from its configuration and what it persisted (a new replica: nothing).
    public mutating func create(group: UInt64, core: Core) {
        precondition(core.configuration.id == node, "a core of \(core.configuration.id) hosted on \(node)")
        groups[group] = core
        awake.insert(group)
        touched.insert(group)
    }

    /// Stops hosting a group (the caller removes its storage in the same write it persists next).
    public mutating func remove(group: UInt64) {
        groups[group] = nil
        awake.remove(group)
        touched.remove(group)
    }

    public var count: Int { groups.count }

    /// One tick of the node's clock, for every awake group.
    public mutating func tick() {
        for group in awake {
            groups[group]?.tick()
            touched.insert(group)
            refresh(group)
        }
    }

    /// A batch from `from`: each message to its group.
    public mutating func step(_ batch: HostBatch, from: String) {
        for m in batch.expanded {
            guard groups[m.group] != nil else {
                unknownGroupMessages += 1
                continue
            }
            groups[m.group]?.step(RaftEnvelope(from: from, to: node, message: m.message))
            touched.insert(m.group)
            refresh(m.group)
        }
    }

    /// Runs `body` on a group's core (a proposal, a read, a membership change); false if not hosted.
    @discardableResult
    public mutating func with<T>(group: UInt64, _ body: (inout Core) throws -> T) rethrows -> T? {
        // Moved out and back, so the core's log is not copied on write.
        guard var core = groups.removeValue(forKey: group) else { return nil }
        defer {
            groups[group] = core
            refresh(group)
        }
        touched.insert(group)
        return try body(&core)
    }

    /// Wakes the quiet groups whose leader is `suspect` (the failure detector suspects it).
    public mutating func suspect(_ suspect: String) {
        for (group, core) in groups where core.isQuiesced && core.leader == suspect {
            groups[group]?.wake()
            touched.insert(group)
            refresh(group)
        }
    }

    public var hasReady: Bool { touched.contains { groups[$0]?.hasReady == true } }

    /// What every touched group asks: persist all `groups` readies in one write, then send
    /// `outgoing`, then apply each group's committed entries and serve its reads, then `advance`.
    public mutating func ready() -> HostReady {
        var out = HostReady()
        for group in touched.sorted() {
            // In place through the dictionary (a copy would copy the core's log).
            if groups[group]?.hasReady == true, let ready = groups[group]?.ready() {
                for envelope in ready.messages {
                    out.outgoing[envelope.to, default: HostBatch()].add(group: group, envelope.message)
                }
                out.groups.append(GroupReady(group: group, ready: ready))
            }
        }
        touched = []
        return out
    }

    /// Keeps `awake` to the groups that are not quiet.
    private mutating func refresh(_ group: UInt64) {
        switch groups[group]?.isQuiesced {
        case true?: awake.remove(group)
        case false?: awake.insert(group)
        case nil: break
        }
    }

    /// The shell persisted, sent and applied `ready`.
    public mutating func advance(_ ready: HostReady) {
        for g in ready.groups {
            groups[g.group]?.advance(g.ready)
            // Advancing may commit (a leader counting its own durable entries): look again.
            touched.insert(g.group)
        }
    }
}

public struct HostReady: Sendable {
    public var groups: [GroupReady] = []
    public var outgoing: [String: HostBatch] = [:]

    public init() {}

    public var isEmpty: Bool { groups.isEmpty && outgoing.isEmpty }
}

public struct GroupReady: Sendable {
    public var group: UInt64
    public var ready: RaftReady
}
