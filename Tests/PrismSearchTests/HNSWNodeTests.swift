@testable import PrismSearch
import PrismStorage
import Testing

@Suite("HNSW node records")
struct HNSWNodeTests {
    /// Nodes of random levels and list lengths come back as they went in, whole and level by
    /// level, and encoding into a reused buffer leaves nothing of the previous node behind.
    @Test func roundTrips() {
        var rng = SplitMix64(seed: 11)
        var buffer: [UInt8] = []
        for _ in 0..<500 {
            let level = Int(rng.next() % 5)
            let lists = (0...level).map { _ in (0..<Int(rng.next() % 40)).map { _ in UInt32(truncatingIfNeeded: rng.next()) } }
            let node = HNSWNode(neighbors: lists)
            HNSWNode.encode(bottom: lists[0], upper: lists.dropFirst(), into: &buffer)
            #expect(buffer == node.encoded())
            #expect(buffer.count == 1 + lists.reduce(0) { $0 + 2 + 4 * $1.count })
            buffer.withUnsafeBytes { bytes in
                #expect(HNSWNode(bytes) == node)
                var out: [UInt32] = []
                for l in 0...level {
                    HNSWNode.neighbors(bytes, level: l, into: &out)
                    #expect(out == lists[l])
                }
                HNSWNode.neighbors(bytes, level: level + 1, into: &out)
                #expect(out.isEmpty)
            }
        }
    }

    @Test func truncatedRecordsAreRefused() {
        let node = HNSWNode(neighbors: [[1, 2, 3], [4]])
        let bytes = node.encoded()
        for cut in 0..<bytes.count {
            Array(bytes.prefix(cut)).withUnsafeBytes { #expect(HNSWNode($0) == nil, "cut at \(cut)") }
        }
    }
}
