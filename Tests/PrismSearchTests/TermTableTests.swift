@testable import PrismSearch
import PrismStorage
import Testing

@Suite("Term table")
struct TermTableTests {
    /// Ids are dense and stable through growth; every key is found again; absent keys are not;
    /// keys sharing a hash (forced here) are still told apart by their bytes.
    @Test func keysGetDenseStableIds() {
        var table = TermTable(capacity: 2)
        var rng = SplitMix64(seed: 3)
        let keys: [[UInt8]] = [[]] + (0..<5000).map { i in Array("term\(i)-\(UInt32.random(in: 0...1000, using: &rng))".utf8) }
        var ids: [[UInt8]: Int] = [:]
        for key in keys {
            let (id, inserted) = key.withUnsafeBytes { table.insert($0, hash: StableHash.xxHash64(raw: $0)) }
            if let known = ids[key] {
                #expect(!inserted && id == known)
            } else {
                #expect(inserted && id == ids.count)
                ids[key] = id
            }
        }
        #expect(table.count == ids.count)
        for (key, id) in ids {
            #expect(key.withUnsafeBytes { table.find($0, hash: StableHash.xxHash64(raw: $0)) } == id)
            #expect(Array(table.bytes(id)) == key)
        }
        #expect(Array("absent".utf8).withUnsafeBytes { table.find($0, hash: StableHash.xxHash64(raw: $0)) } == nil)

        var colliding = TermTable()
        let a = Array("a".utf8), b = Array("b".utf8)
        let idA = a.withUnsafeBytes { colliding.insert($0, hash: 7) }
        let idB = b.withUnsafeBytes { colliding.insert($0, hash: 7) }
        #expect(idA.id == 0 && idB.id == 1 && idB.inserted)
        #expect(b.withUnsafeBytes { colliding.find($0, hash: 7) } == 1)
    }
}
