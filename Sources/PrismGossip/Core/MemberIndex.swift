/// A set of table slots in a deterministic order with O(1) insert, remove and random access, so
/// a core can sample random members without sorting its table (10,000-member simulations sample
/// thousands of times per virtual second). The order depends only on the history of inserts
/// and removals, never on hashing, so seeded runs replay.
struct MemberIndex: Sendable {
    typealias Slot = MemberTable.Slot

    private(set) var slots: [Slot] = []
    /// Position in `slots` per slot number, -1 when absent.
    private var positions: [Int32] = []

    var count: Int { slots.count }
    var isEmpty: Bool { slots.isEmpty }

    func contains(_ slot: Slot) -> Bool { Int(slot) < positions.count && positions[Int(slot)] >= 0 }

    subscript(_ i: Int) -> Slot { slots[i] }

    mutating func insert(_ slot: Slot) {
        guard !contains(slot) else { return }
        if positions.count <= Int(slot) {
            positions.append(contentsOf: repeatElement(-1, count: Int(slot) + 1 - positions.count))
        }
        positions[Int(slot)] = Int32(slots.count)
        slots.append(slot)
    }

    mutating func remove(_ slot: Slot) {
        guard contains(slot) else { return }
        let i = Int(positions[Int(slot)])
        positions[Int(slot)] = -1
        let last = slots.removeLast()
        if i < slots.count {
            slots[i] = last
            positions[Int(last)] = Int32(i)
        }
    }
}
