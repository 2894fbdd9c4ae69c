/// The members a core knows, each in a numbered slot: a record array and an open-addressing
/// index of slot numbers (4 bytes a bucket, probed by the member's id), instead of a
/// `[String: Member]` dictionary beside string-keyed side tables.
///
/// Why: a simulated 10,000-member mesh holds 10⁸ member entries, and a dictionary at its
/// power-of-two capacity costs about twice the record; with the side tables keyed by slot
/// numbers (`Int32`) too, an entry is its record plus a few bytes. Slots are handed out and
/// reused in the order of inserts and removals only, so seeded runs replay (the hash decides
/// where an id is looked up, never an order anyone observes).
public struct MemberTable: Sendable {
    /// One number per known member, stable while it stays in the table.
    public typealias Slot = Int32

    private var records: [Member?] = []
    private var freeSlots: [Slot] = []
    /// Slot + 1 per bucket, 0 when empty; linear probing, at most 5/8 full.
    private var buckets: [Slot] = []
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

    /// One more than the highest slot in use or free (side tables indexed by slot use it).
    public var slotCapacity: Int { records.count }

    public subscript(id: String) -> Member? {
        guard let slot = slot(of: id) else { return nil }
        return records[Int(slot)]
    }

    /// The member in a slot in use.
    subscript(slot slot: Slot) -> Member {
        get { records[Int(slot)]! }
        set { records[Int(slot)] = newValue }
    }

    func slot(of id: String) -> Slot? {
        guard !buckets.isEmpty else { return nil }
        let mask = buckets.count - 1
        var b = Self.hash(id) & mask
        while true {
            let entry = buckets[b]
            if entry == 0 { return nil }
            if records[Int(entry - 1)]?.id == id { return entry - 1 }
            b = (b + 1) & mask
        }
    }

    /// Room for `total` members without growing one at a time (a push-pull merge knows how
    /// many may come; growing by doubling would leave up to half of each array unused).
    mutating func reserve(toHold total: Int) {
        guard total > count else { return }
        let slotsNeeded = records.count + max(0, total - count - freeSlots.count)
        if slotsNeeded > records.capacity { records.reserveCapacity(slotsNeeded) }
        if total * 8 > buckets.count * 5 { rehash(minimum: total) }
    }

    /// Adds a member whose id is not in the table; returns its slot.
    @discardableResult
    mutating func insert(_ member: Member) -> Slot {
        if (count + 1) * 8 > buckets.count * 5 { rehash(minimum: count + 1) }
        let slot: Slot
        if let free = freeSlots.popLast() {
            slot = free
            records[Int(slot)] = member
        } else {
            slot = Slot(records.count)
            // Grows by a quarter, not the doubling append does: tables are the simulation's
            // memory, and most of them grow one member at a time.
            if records.count == records.capacity { records.reserveCapacity(max(16, records.count + records.count / 4)) }
            records.append(member)
        }
        place(slot, id: member.id)
        count += 1
        return slot
    }

    /// Removes the member in `slot`; the slot may be handed out again.
    mutating func remove(slot: Slot) {
        guard let member = records[Int(slot)] else { return }
        let mask = buckets.count - 1
        var b = Self.hash(member.id) & mask
        while buckets[b] != slot + 1 { b = (b + 1) & mask }
        // Backward-shift deletion: entries after the hole move back when their home allows,
        // so lookups never need tombstones.
        var hole = b
        var next = (hole + 1) & mask
        while buckets[next] != 0 {
            let entry = buckets[next]
            let home = Self.hash(records[Int(entry - 1)]?.id ?? "") & mask
            // Movable when its home is not in the (cyclic) range (hole, next].
            if (next - home) & mask >= (next - hole) & mask {
                buckets[hole] = entry
                hole = next
            }
            next = (next + 1) & mask
        }
        buckets[hole] = 0
        records[Int(slot)] = nil
        freeSlots.append(slot)
        count -= 1
    }

    /// Every member, in slot order.
    public var values: some Sequence<Member> { records.lazy.compactMap { $0 } }

    private mutating func place(_ slot: Slot, id: String) {
        let mask = buckets.count - 1
        var b = Self.hash(id) & mask
        while buckets[b] != 0 { b = (b + 1) & mask }
        buckets[b] = slot + 1
    }

    private mutating func rehash(minimum: Int) {
        var size = max(16, buckets.count)
        while minimum * 8 > size * 5 { size *= 2 }
        buckets = [Slot](repeating: 0, count: size)
        for (i, record) in records.enumerated() {
            if let record { place(Slot(i), id: record.id) }
        }
    }

    private static func hash(_ id: String) -> Int { id.hashValue }
}
