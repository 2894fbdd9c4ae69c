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

    /// The short-key hash the inversion uses: keys of every length from 0 to 48 bytes (each of
    /// its code paths), ones that differ in a single byte, and ones that only differ in length
    /// get few collisions, and a table keyed by it finds every key again.
    @Test func shortKeyHashSpreadsTokens() {
        var rng = SplitMix64(seed: 9)
        var keys: [[UInt8]] = []
        for length in 0...48 {
            for _ in 0..<200 { keys.append((0..<length).map { _ in UInt8.random(in: 0x61...0x7A, using: &rng) }) }
        }
        // One byte apart, and a prefix of each other.
        for i in 0..<500 { keys.append(Array("word\(i)".utf8)); keys.append(Array("word\(i)x".utf8)) }
        keys.append(contentsOf: [[0], [0, 0], [0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0, 0]])
        let distinct = Set(keys)
        let hashes = Set(distinct.map { key in key.withUnsafeBytes { TermTable.hash($0) } })
        #expect(hashes.count >= distinct.count - 2, "\(distinct.count - hashes.count) collisions among \(distinct.count) keys")
        var table = TermTable()
        for key in distinct { _ = key.withUnsafeBytes { table.insert($0, hash: TermTable.hash($0)) } }
        #expect(table.count == distinct.count)
        for key in distinct {
            let id = key.withUnsafeBytes { table.find($0, hash: TermTable.hash($0)) }
            #expect(id.map { Array(table.bytes($0)) } == key)
        }
    }
}
