/// The Raft groups one node hosts, as one deterministic state machine: ticks go only to groups
/// that are awake (a quiet group costs nothing per tick), the readies of every group touched are
/// gathered into one `HostReady` (one durable write for all of them), and what they send is
/// batched per destination node with heartbeats coalesced.
public struct MultiRaft<Random: RandomNumberGenerator & Sendable>: Sendable {
    public typealias Core = RaftCore<Random>

    public let node: String
    /// The cores in an array, found through `slots`, and reached through its buffer: a core is a
    /// large value with many references, which a dictionary would move out and back on every
    /// mutation and an array's getter would copy out for every read (a node with thousands of
    /// groups touches thousands of them per tick). `peek` and `poke` work on it in place.
    @usableFromInline var cores: [Core] = []
    private var groupOfSlot: [UInt64] = []
    @usableFromInline var slots: [UInt64: Int] = [:]
    /// Groups not quiet: the ones a tick reaches.
    public var awake: Set<UInt64> { awakeGroups }
    @usableFromInline var awakeGroups: Set<UInt64> = []
    /// Groups stepped, ticked or given work since the last ready, in the order first touched
    /// (deterministic, no sorting), with a flag per slot against duplicates.
    @usableFromInline var touched: [UInt64] = []
    @usableFromInline var isTouched: [Bool] = []
    /// Messages for groups this node does not host (dropped; a replica is created before its
    /// leader sends to it).
    public private(set) var unknownGroupMessages = 0

    public init(node: String) {
        self.node = node
    }

    /// Hosts a group from its configuration and what it persisted (a new replica: nothing).
    public mutating func create(group: UInt64, core: Core) {
        precondition(core.configuration.id == node, "a core of \(core.configuration.id) hosted on \(node)")
        if let slot = slots[group] {
            cores[slot] = core
        } else {
            slots[group] = cores.count
            cores.append(core)
            groupOfSlot.append(group)
            isTouched.append(false)
        }
        touch(group)
        refresh(group)
    }

    /// Stops hosting a group (the caller removes its storage in the same write it persists next).
    public mutating func remove(group: UInt64) {
        guard let slot = slots.removeValue(forKey: group) else { return }
        awakeGroups.remove(group)
        if isTouched[slot] { touched.removeAll { $0 == group } }
        // The last core moves into the freed slot.
        let last = cores.count - 1
        if slot != last {
            cores.swapAt(slot, last)
            groupOfSlot.swapAt(slot, last)
            isTouched.swapAt(slot, last)
            slots[groupOfSlot[slot]] = slot
        }
        cores.removeLast()
        groupOfSlot.removeLast()
        isTouched.removeLast()
    }

    public var count: Int { cores.count }

    /// Every core, copied: for tests and inspection, not for paths that run per request.
    public var groups: [UInt64: Core] {
        Dictionary(uniqueKeysWithValues: zip(groupOfSlot, cores))
    }

    /// Reads a group's core in place; nil if not hosted.
    @inlinable
    public func inspect<T>(group: UInt64, _ body: (borrowing Core) throws -> T) rethrows -> T? {
        guard let slot = slots[group] else { return nil }
        return try peek(slot, body)
    }

    /// Groups this node leads (a scan of every core).
    public var leading: Int {
        cores.withUnsafeBufferPointer { cores in cores.indices.reduce(0) { $0 + (cores[$1].role == .leader ? 1 : 0) } }
    }

    /// The leader a group's core knows of.
    public func leader(of group: UInt64) -> String? {
        guard let slot = slots[group] else { return nil }
        return peek(slot) { $0.leader }
    }

    // Inlinable, like `with` and `inspect` (callers in other modules get them specialized
    // instead of looking up generic metadata on every call).
    @inlinable
    func peek<T>(_ slot: Int, _ body: (borrowing Core) throws -> T) rethrows -> T {
        try cores.withUnsafeBufferPointer { try body($0[slot]) }
    }

    @inlinable
    mutating func poke<T>(_ slot: Int, _ body: (inout Core) throws -> T) rethrows -> T {
        try cores.withUnsafeMutableBufferPointer { try body(&$0[slot]) }
    }

    /// One tick of the node's clock, for every awake group.
    public mutating func tick() {
        var ticked: [(UInt64, Int)] = [], quiet: [UInt64] = []
        ticked.reserveCapacity(awakeGroups.count)
        cores.withUnsafeMutableBufferPointer { cores in
            for group in awakeGroups {
                guard let slot = slots[group] else { continue }
                cores[slot].tick()
                ticked.append((group, slot))
                if cores[slot].isQuiesced { quiet.append(group) }
            }
        }
        for (group, slot) in ticked { touch(group, slot: slot) }
        for group in quiet { awakeGroups.remove(group) }
    }

    /// A batch from `from`: each message to its group.
    public mutating func step(_ batch: HostBatch, from: String) {
        for m in batch.expanded {
            guard let slot = slots[m.group] else {
                unknownGroupMessages += 1
                continue
            }
            let envelope = RaftEnvelope(from: from, to: node, message: m.message)
            poke(slot) { $0.step(envelope) }
            touch(m.group, slot: slot)
            refresh(m.group, slot: slot)
        }
    }

    /// Runs `body` on a group's core (a proposal, a read, a membership change); nil if not hosted.
    @discardableResult @inlinable
    public mutating func with<T>(group: UInt64, _ body: (inout Core) throws -> T) rethrows -> T? {
        guard let slot = slots[group] else { return nil }
        defer {
            touch(group, slot: slot)
            refresh(group, slot: slot)
        }
        return try poke(slot, body)
    }

    /// Wakes the quiet groups whose leader is `suspect` (the failure detector suspects it).
    public mutating func suspect(_ suspect: String) {
        for slot in cores.indices where peek(slot, { $0.isQuiesced && $0.leader == suspect }) {
            poke(slot) { $0.wake() }
            touch(groupOfSlot[slot], slot: slot)
            refresh(groupOfSlot[slot], slot: slot)
        }
    }

    public var hasReady: Bool { touched.contains { group in slots[group].map { peek($0) { $0.hasReady } } == true } }

    /// What every touched group asks: send `early` (or not before the write), persist all
    /// `groups` readies in one write, then send `outgoing`, then apply each group's committed entries and serve its reads, then `advance`.
    public mutating func ready() -> HostReady {
        var out = HostReady()
        for group in touched {
            guard let slot = slots[group] else { continue }
            isTouched[slot] = false
            guard let ready = poke(slot, { $0.hasReady ? $0.ready() : nil }) else { continue }
            for envelope in ready.messages {
                if ready.sendBeforePersisting {
                    out.early[envelope.to, default: HostBatch()].add(group: group, envelope.message)
                } else {
                    out.outgoing[envelope.to, default: HostBatch()].add(group: group, envelope.message)
                }
            }
            out.groups.append(GroupReady(group: group, ready: ready))
        }
        touched.removeAll(keepingCapacity: true)
        return out
    }

    @inlinable
    mutating func touch(_ group: UInt64, slot: Int? = nil) {
        guard let slot = slot ?? slots[group], !isTouched[slot] else { return }
        isTouched[slot] = true
        touched.append(group)
    }

    /// Keeps `awake` to the groups that are not quiet.
    @inlinable
    mutating func refresh(_ group: UInt64, slot: Int? = nil) {
        guard let slot = slot ?? slots[group] else { return }
        if peek(slot, { $0.isQuiesced }) {
            awakeGroups.remove(group)
        } else if !awakeGroups.contains(group) {
            awakeGroups.insert(group)
        }
    }

    /// The shell persisted, sent and applied `ready`.
    public mutating func advance(_ ready: HostReady) {
        for g in ready.groups {
            guard let slot = slots[g.group] else { continue }
            poke(slot) { $0.advance(g.ready) }
            // Advancing may commit (a leader counting its own durable entries): look again.
            touch(g.group, slot: slot)
        }
    }
}

public struct HostReady: Sendable {
    public var groups: [GroupReady] = []
    /// To send once the groups' readies are durable.
    public var outgoing: [String: HostBatch] = [:]
    /// May be sent before (leaders' appends and heartbeats: `RaftReady.sendBeforePersisting`),
    /// so the followers' writes overlap the leader's.
    public var early: [String: HostBatch] = [:]

    public init() {}

    public var isEmpty: Bool { groups.isEmpty && outgoing.isEmpty && early.isEmpty }
}

public struct GroupReady: Sendable {
    public var group: UInt64
    public var ready: RaftReady
}
