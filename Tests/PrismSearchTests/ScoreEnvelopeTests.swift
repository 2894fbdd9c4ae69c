@testable import PrismSearch
import PrismStorage
import Testing

@Suite("Score envelope")
struct ScoreEnvelopeTests {
    /// For random blocks and random BM25 parameters, the envelope's bound is at least the best
    /// posting's score (a skipped block never held a top-k match), it survives encoding, and it
    /// is never looser than the single (max frequency, min norm) corner it replaces.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func boundsEveryPosting(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for round in 0..<200 {
            let count = 1 + Int(rng.next() % 128)
            let points: [UInt64] = (0..<count).map { _ in
                let frequency = rng.next() % 10 == 0 ? UInt32(rng.next() % 70_000) + 1 : UInt32(rng.next() % 6) + 1
                return UInt64(frequency) << 8 | UInt64(rng.next() % 256)
            }
            let envelope = ScoreEnvelope(points: points)
            var bytes: [UInt8] = []
            envelope.encode(into: &bytes)
            #expect(bytes.count == ScoreEnvelope.encodedSize)
            let decoded = bytes.withUnsafeBytes { ScoreEnvelope.decode($0, at: 0) }
            let bm25 = Bm25(idf: 0.5 + Float(rng.next() % 100) / 10, averageLength: 1 + Float(rng.next() % 300),
                            k1: 0.5 + Float(rng.next() % 20) / 10, b: Float(rng.next() % 11) / 10)
            let best = points.map { bm25.score(frequency: UInt32($0 >> 8), normID: UInt8($0 & 0xFF)) }.max() ?? 0
            let maxFrequency = points.map { UInt32($0 >> 8) }.max() ?? 0
            let minNorm = points.map { UInt8($0 & 0xFF) }.min() ?? 255
            let single = bm25.score(frequency: maxFrequency, normID: minNorm)
            #expect(envelope.bound(bm25) >= best, "seed \(seed) round \(round)")
            #expect(decoded.bound(bm25) >= best, "seed \(seed) round \(round): encoding lost the bound")
            #expect(envelope.bound(bm25) <= single, "seed \(seed) round \(round)")
        }
    }

    /// A block whose most frequent posting is long and whose shortest posting is rare (the case
    /// a single corner handles worst) gets a bound equal to its best posting's score.
    @Test func separatesFrequentAndShortPostings() {
        let points: [UInt64] = [UInt64(9) << 8 | 200, UInt64(1) << 8 | 3, UInt64(2) << 8 | 100]
        let bm25 = Bm25(idf: 2, averageLength: 100, k1: 1.2, b: 0.75)
        let best = points.map { bm25.score(frequency: UInt32($0 >> 8), normID: UInt8($0 & 0xFF)) }.max() ?? 0
        #expect(ScoreEnvelope(points: points).bound(bm25) == best)
        #expect(bm25.score(frequency: 9, normID: 3) > best)
    }

    /// A stored block keeps its envelope through a decode and re-encode with more postings (how
    /// the writer extends a partial last block, whose norms are not stored per posting).
    @Test func extendedBlockStillBoundsItsFirstPostings() {
        var block = PostingsBlock()
        block.append(doc: 1, frequency: 40, normID: 90)
        block.append(doc: 5, frequency: 1, normID: 2)
        let encoded = block.encoded()
        guard var extended = encoded.withUnsafeBytes({ PostingsBlock.decode($0) }) else {
            Issue.record("block did not decode")
            return
        }
        #expect(extended.docs == [1, 5] && extended.frequencies == [40, 1])
        extended.append(doc: 9, frequency: 3, normID: 30)
        let bm25 = Bm25(idf: 1, averageLength: 50, k1: 1.2, b: 0.75)
        let bound = extended.envelope.bound(bm25)
        for (f, n) in [(UInt32(40), UInt8(90)), (1, 2), (3, 30)] { #expect(bound >= bm25.score(frequency: f, normID: n)) }
    }
}
