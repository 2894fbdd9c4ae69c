import PrismSimulation
import PrismStorage
import Testing

/// The state machine's key-value buckets: a map like any other through every incremental
/// doubling, and a value (a copy taken mid-doubling never changes).
@Suite("Key-value buckets")
struct KeyValueBucketsTests {
    @Test(arguments: [1, 2, 3, 4, 5, 6])
    func behavesAsADictionaryThroughEveryDoubling(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var buckets = KeyValueBuckets()
        var reference: [String: String] = [:]
        var snapshots: [(KeyValueBuckets, [String: String])] = []
        let keySpace = 2 + rng.next() % 6000
        for step in 0..<12_000 {
            let key = "k\(rng.next() % keySpace)"
            if rng.next() % 5 == 0 {
                #expect(buckets.removeValue(forKey: key) == reference.removeValue(forKey: key), "seed \(seed) step \(step): remove \(key)")
            } else {
                let value = "v\(step)"
                #expect(buckets.updateValue(value, forKey: key) == reference.updateValue(value, forKey: key), "seed \(seed) step \(step): put \(key)")
            }
            if step % 1500 == 0 { snapshots.append((buckets, reference)) }
        }
        #expect(buckets.count == reference.count, "seed \(seed)")
        for (key, value) in reference { #expect(buckets.value(key) == value, "seed \(seed): \(key)") }
        #expect(buckets.value("absent") == nil)
        var merged: [String: String] = [:]
        for bucket in buckets.allBuckets {
            for (key, value) in bucket { #expect(merged.updateValue(value, forKey: key) == nil, "seed \(seed): \(key) in two buckets") }
        }
        #expect(merged == reference, "seed \(seed): the buckets hold exactly the map")
        for (i, (copy, expected)) in snapshots.enumerated() {
            #expect(copy.count == expected.count, "seed \(seed) copy \(i)")
            for (key, value) in expected { #expect(copy.value(key) == value, "seed \(seed) copy \(i): \(key)") }
        }
    }

    /// About eight keys per bucket, however many there are, so a write copies few of them.
    @Test func bucketsGrowWithTheKeys() {
        var buckets = KeyValueBuckets()
        #expect(buckets.bucketCount == 16)
        for i in 0..<100_000 { buckets.updateValue("v", forKey: "key-\(i)") }
        #expect(buckets.bucketCount >= 100_000 / 8 / 2, "\(buckets.bucketCount) buckets for 100,000 keys")
        #expect(buckets.bucketCount <= 100_000 / 8 * 3, "\(buckets.bucketCount) buckets for 100,000 keys")
        #expect(KeyValueBuckets(capacity: 100_000).bucketCount == 16_384, "sized up front for a restored snapshot")
    }
}
