/// Updates waiting to be gossiped, each sent at most λ·⌈log10(N + 1)⌉ times, least-sent first
/// and newest first among equals (fresh news travels before old). A newer update about a member
/// replaces the older one.
///
/// Entries sit in one bucket per transmit count, so taking a datagram's worth costs what it
/// takes, not a sort of the whole queue (a 10,000-member join queues thousands of updates).
/// Buckets hold (id, order) pairs and are cleaned lazily: a pair whose entry was replaced or
/// taken is skipped when met.
struct Dissemination: Sendable {
    private struct Entry: Sendable {
        var update: MembershipUpdate
        var transmits: Int
        var order: UInt64
    }

    private struct Slot: Sendable {
        var id: String
        var order: UInt64
    }

    private var entries: [String: Entry] = [:]
    private var buckets: [[Slot]] = []
    private var counter: UInt64 = 0

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    mutating func enqueue(_ update: MembershipUpdate) {
        counter += 1
        entries[update.memberID] = Entry(update: update, transmits: 0, order: counter)
        push(Slot(id: update.memberID, order: counter), transmits: 0)
    }

    /// Up to `max` updates for one datagram, counted as transmitted; those at their limit leave.
    /// `first` (the buddy system: news about the datagram's recipient) goes ahead of the rest.
    mutating func take(max: Int, members: Int, multiplier: Int, first: String? = nil) -> [MembershipUpdate] {
        guard max > 0, !entries.isEmpty else { return [] }
        let limit = multiplier * Self.log10Ceiling(members + 1)
        var taken: [String] = []
        if let first, entries[first] != nil { taken.append(first) }
        var bucket = 0
        while taken.count < max && bucket < buckets.count {
            guard let slot = buckets[bucket].popLast() else {
                bucket += 1
                continue
            }
            guard let entry = entries[slot.id], entry.order == slot.order, entry.transmits == bucket, slot.id != first else { continue }
            taken.append(slot.id)
        }
        var out: [MembershipUpdate] = []
        out.reserveCapacity(taken.count)
        for id in taken {
            guard var entry = entries[id] else { continue }
            out.append(entry.update)
            entry.transmits += 1
            if entry.transmits >= limit {
                entries[id] = nil
            } else {
                entries[id] = entry
                push(Slot(id: id, order: entry.order), transmits: entry.transmits)
            }
        }
        while let last = buckets.last, last.isEmpty { buckets.removeLast() }
        return out
    }

    private mutating func push(_ slot: Slot, transmits: Int) {
        while buckets.count <= transmits { buckets.append([]) }
        buckets[transmits].append(slot)
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
