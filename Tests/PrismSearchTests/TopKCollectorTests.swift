@testable import PrismSearch
import PrismStorage
import Testing

@Suite("Top-k collector")
struct TopKCollectorTests {
    /// Scores drawn from a few values (so most matches tie) and random tie keys: the collector,
    /// which reads ties late, keeps exactly what sorting every match by (score, tie) keeps, in
    /// that order, however small its waiting list, and reads no more tie keys than matches.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func keepsWhatAFullSortKeeps(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        for round in 0..<300 {
            let count = Int(rng.next() % 400)
            let distinct = 1 + rng.next() % 6
            let k = Int(rng.next() % 20)
            let tiedLimit = 1 + Int(rng.next() % 8)
            var ties: [UInt32: UInt64] = [:]
            var matches: [RankedDoc] = []
            for doc in 0..<UInt32(count) {
                // Distinct per document (an odd multiplier is a bijection), as id hashes are in practice.
                let tie = (UInt64(doc) &+ seed &* 1_000_003) &* 0x9E37_79B9_7F4A_7C15
                ties[doc] = tie
                matches.append(RankedDoc(doc: doc, score: Float(rng.next() % distinct), tie: tie))
            }
            let reads = Counter()
            var collector = TopKCollector(k: k, tiedLimit: tiedLimit) { doc in
                reads.value += 1
                return ties[doc] ?? 0
            }
            for m in matches.shuffledDeterministically(&rng) { try collector.offer(m.doc, m.score) }
            let kept = try collector.sorted()
            let expected = Array(matches.sorted(by: RankedDoc.better).prefix(k))
            #expect(kept.map(\.doc) == expected.map(\.doc), "seed \(seed) round \(round): k \(k), tiedLimit \(tiedLimit)")
            #expect(kept.map(\.tie) == expected.map(\.tie), "seed \(seed) round \(round)")
            #expect(reads.value <= count + k, "seed \(seed) round \(round): \(reads.value) tie reads for \(count) matches")
        }
    }

    /// With every match tied and a roomy waiting list, ties are read once at the end for the
    /// waiting and kept matches, not once per arrival against the root.
    @Test func tiesAreReadLate() throws {
        let reads = Counter()
        var collector = TopKCollector(k: 3, tiedLimit: 1000) { doc in
            reads.value += 1
            return UInt64(1000 - doc)
        }
        for doc in UInt32(0)..<100 { try collector.offer(doc, 1) }
        #expect(reads.value == 0)
        let kept = try collector.sorted()
        #expect(kept.map(\.doc) == [99, 98, 97])
        #expect(reads.value == 100)
    }

    /// A match above the threshold drops the waiting ties without reading them.
    @Test func aHigherScoreDropsTheWaiting() throws {
        let reads = Counter()
        var collector = TopKCollector(k: 2, tiedLimit: 1000) { doc in
            reads.value += 1
            return UInt64(doc)
        }
        for doc in UInt32(0)..<50 { try collector.offer(doc, 1) }
        try collector.offer(100, 2)
        try collector.offer(101, 2)
        let kept = try collector.sorted()
        #expect(kept.map(\.doc) == [100, 101])
        #expect(reads.value == 2)
    }

    @Test func nanAndZeroKAreIgnored() throws {
        var collector = TopKCollector(k: 2) { UInt64($0) }
        try collector.offer(1, .nan)
        try collector.offer(2, 1)
        #expect(try collector.sorted().map(\.doc) == [2])
        var none = TopKCollector(k: 0) { UInt64($0) }
        try none.offer(1, 5)
        #expect(try none.sorted().isEmpty)
    }
}

private final class Counter {
    var value = 0
}

private extension Array {
    func shuffledDeterministically(_ rng: inout SplitMix64) -> [Element] {
        var copy = self
        guard copy.count > 1 else { return copy }
        for i in stride(from: copy.count - 1, to: 0, by: -1) {
            copy.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return copy
    }
}
