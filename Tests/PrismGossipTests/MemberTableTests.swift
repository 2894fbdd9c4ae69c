@testable import PrismGossip
import PrismStorage
import Testing

/// The compact member table against a plain dictionary under random inserts, updates and
/// removals (removals exercise the backward shift of the open-addressing index).
@Suite("Member table")
struct MemberTableTests {
    private func member(_ id: String, incarnation: UInt64 = 0) -> Member {
        Member(id: id, endpoint: GossipEndpoint(host: "10.0.0.1", port: 7946), metadata: MemberMetadata(), status: .alive,
               incarnation: incarnation, since: Moment(nanoseconds: 0))
    }

    @Test("agrees with a dictionary under random inserts, updates and removals", arguments: 0..<20)
    func randomOperations(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var table = MemberTable()
        var model: [String: Member] = [:]
        var slots: [String: MemberTable.Slot] = [:]
        // Few distinct ids, so ids come back after removal and collide in small tables.
        let universe = Int(random.next() % 300) + 5
        for step in 0..<4000 {
            let id = "m\(random.next() % UInt64(universe))"
            switch random.next() % 4 {
            case 0, 1:
                if let slot = table.slot(of: id) {
                    #expect(slots[id] == slot, "seed \(seed) step \(step): a member keeps its slot")
                    table[slot: slot].incarnation += 1
                    model[id]?.incarnation += 1
                } else {
                    #expect(model[id] == nil, "seed \(seed) step \(step): \(id) lost")
                    slots[id] = table.insert(member(id))
                    model[id] = member(id)
                }
            case 2:
                if let slot = table.slot(of: id) {
                    table.remove(slot: slot)
                    model[id] = nil
                    slots[id] = nil
                }
            default:
                if random.next() % 50 == 0 { table.reserve(toHold: Int(random.next() % 600)) }
            }
            #expect(table.count == model.count, "seed \(seed) step \(step)")
        }
        for i in 0..<universe {
            let id = "m\(i)"
            #expect(table[id] == model[id], "seed \(seed): \(id)")
        }
        #expect(Set(table.values.map(\.id)) == Set(model.keys), "seed \(seed)")
    }

    @Test("slots freed by removals are handed out again, most recent first")
    func slotReuse() {
        var table = MemberTable()
        let a = table.insert(member("a")), b = table.insert(member("b")), c = table.insert(member("c"))
        #expect([a, b, c] == [0, 1, 2])
        table.remove(slot: b)
        table.remove(slot: a)
        #expect(table["a"] == nil && table["b"] == nil && table["c"]?.id == "c")
        #expect(table.insert(member("d")) == a)
        #expect(table.insert(member("e")) == b)
        #expect(table.insert(member("f")) == 3)
        #expect(table.slotCapacity == 4)
    }
}
