/// Updates waiting to be gossiped, each sent at most λ·⌈log10(N + 1)⌉ times, least-sent first
/// and newest first among equals (fresh news travels before old). A newer update about a member
/// replaces the older one.
///
/// It holds which members have news, not the news: the update sent is the member's state in the
/// table when it leaves (every update queued is applied to the table first, so that state is
/// the queued one or newer), plus the member that reported a suspicion or death, which the table
/// does not keep. An entry is a few bytes: a 10,000-member join queues thousands per member.
///
/// Entries sit in one bucket per transmit count, so taking a datagram's worth costs what it
/// takes, not a sort of the whole queue. Buckets hold (slot, order) pairs and are cleaned
/// lazily: a pair whose entry was replaced or taken is skipped when met.
struct Dissemination: Sendable {
    /// A table slot, or `Dissemination.me` for news about this node itself.
    typealias Key = MemberTable.Slot
    static let me: Key = -1

    /// What leaves: whose news, and who reported it (suspicions and deaths).
    struct Pending: Sendable, Equatable {
        var key: Key
        var from: String?
    }

    private struct Entry: Sendable {
        var from: String?
        var transmits: Int32
        var order: UInt64
    }

    private struct Queued: Sendable {
        var key: Key
        var order: UInt64
    }

    private var entries: [Key: Entry] = [:]
    private var buckets: [[Queued]] = []
    private var counter: UInt64 = 0

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    mutating func enqueue(_ key: Key, from: String? = nil) {
        counter += 1
        entries[key] = Entry(from: from, transmits: 0, order: counter)
        push(Queued(key: key, order: counter), transmits: 0)
    }

    /// Forgets a member's news (it left the table; its slot may be handed out again).
    mutating func remove(_ key: Key) {
        entries[key] = nil
        releaseIfDrained()
    }

    /// Up to `max` entries for one datagram, counted as transmitted; those at their limit leave.
    /// `first` (the buddy system: news about the datagram's recipient) goes ahead of the rest.
    mutating func take(max: Int, members: Int, multiplier: Int, first: Key? = nil) -> [Pending] {
        guard max > 0, !entries.isEmpty else { return [] }
        let limit = Int32(multiplier * Self.log10Ceiling(members + 1))
        var taken: [Key] = []
        if let first, entries[first] != nil { taken.append(first) }
        var bucket = 0
        while taken.count < max && bucket < buckets.count {
            guard let queued = buckets[bucket].popLast() else {
                bucket += 1
                continue
            }
            guard let entry = entries[queued.key], entry.order == queued.order, entry.transmits == bucket, queued.key != first else { continue }
            taken.append(queued.key)
        }
        var out: [Pending] = []
        out.reserveCapacity(taken.count)
        for key in taken {
            guard var entry = entries[key] else { continue }
            out.append(Pending(key: key, from: entry.from))
            entry.transmits += 1
            if entry.transmits >= limit {
                entries[key] = nil
            } else {
                entries[key] = entry
                push(Queued(key: key, order: entry.order), transmits: Int(entry.transmits))
            }
        }
        while let last = buckets.last, last.isEmpty { buckets.removeLast() }
        releaseIfDrained()
        return out
    }

    /// A drained queue gives its storage back: dictionaries and arrays keep their peak capacity
    /// otherwise, and every member of a large mesh peaks at the join.
    private mutating func releaseIfDrained() {
        guard entries.isEmpty, entries.capacity > 64 || !buckets.isEmpty else { return }
        entries = [:]
        buckets = []
    }

    private mutating func push(_ queued: Queued, transmits: Int) {
        while buckets.count <= transmits { buckets.append([]) }
        buckets[transmits].append(queued)
    }

    static func log10Ceiling(_ n: Int) -> Int {
        var value = 1, digits = 0
        while value < n {
            value *= 10
            digits += 1
        }
        return max(1, digits)
    }
}
