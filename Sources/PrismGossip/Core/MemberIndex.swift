/// Member ids in a deterministic order with O(1) insert, remove and random access, so a core
/// can sample random members without sorting its table (10,000-member simulations sample
/// thousands of times per virtual second). The order depends only on the history of inserts
/// and removals, never on hashing, so seeded runs replay.
struct MemberIndex: Sendable {
    private(set) var ids: [String] = []
    private var positions: [String: Int] = [:]

    var count: Int { ids.count }
    var isEmpty: Bool { ids.isEmpty }

    func contains(_ id: String) -> Bool { positions[id] != nil }

    subscript(_ i: Int) -> String { ids[i] }

    mutating func insert(_ id: String) {
        guard positions[id] == nil else { return }
        positions[id] = ids.count
        ids.append(id)
    }

    mutating func remove(_ id: String) {
        guard let i = positions.removeValue(forKey: id) else { return }
        let last = ids.removeLast()
        if i < ids.count {
            ids[i] = last
            positions[last] = i
        }
    }
}
