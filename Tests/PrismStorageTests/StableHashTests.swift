import PrismStorage
import Testing

@Suite("Stable hash")
struct StableHashTests {
    // Reference values of xxHash64 with seed 0 (from the xxHash specification's test vectors).
    @Test(arguments: [
        ("", UInt64(0xEF46_DB37_51D8_E999)),
        ("a", UInt64(0xD24E_C4F1_A98C_6E5B)),
        ("abc", UInt64(0x44BC_2CF5_AD77_0999)),
        ("Nobody inspects the spammish repetition", UInt64(0xFBCE_A83C_8A37_8BF1)),
    ])
    func xxHash64MatchesReferenceVectors(input: String, expected: UInt64) {
        #expect(StableHash.xxHash64(input) == expected)
        #expect(StableHash.xxHash64(Array(input.utf8)) == expected)
    }

    @Test func longInputsUseTheStripedPath() {
        let text = String(repeating: "0123456789", count: 10)
        #expect(StableHash.xxHash64(text) == StableHash.xxHash64(Array(text.utf8)))
        #expect(StableHash.xxHash64(text) != StableHash.xxHash64(String(text.dropLast())))
    }

    @Test func jumpHashIsBalancedAndMovesFewKeys() {
        let keys = (0..<20_000).map { StableHash.xxHash64("doc-\($0)") }
        var counts = [Int](repeating: 0, count: 8)
        for k in keys { counts[StableHash.jumpHash(k, buckets: 8)] += 1 }
        for c in counts { #expect(abs(c - 2500) < 250) }
        // Growing from 8 to 9 buckets moves about 1/9 of keys, all of them to the new bucket.
        var moved = 0
        for k in keys {
            let before = StableHash.jumpHash(k, buckets: 8), after = StableHash.jumpHash(k, buckets: 9)
            if before != after {
                moved += 1
                #expect(after == 8)
            }
        }
        #expect(abs(Double(moved) / Double(keys.count) - 1.0 / 9.0) < 0.02)
    }
}
