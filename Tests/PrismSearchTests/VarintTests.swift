@testable import PrismSearch
import PrismStorage
import Testing

/// Postings and positions are LEB128 varints; the reader has a one-byte fast path.
@Suite("Varint")
struct VarintTests {
    @Test func roundTripsEveryLengthAndRefusesDamage() {
        let values: [UInt32] = [0, 1, 127, 128, 255, 300, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455, 268_435_456, .max]
        var bytes: [UInt8] = []
        for v in values { Varint.append(v, to: &bytes) }
        #expect(bytes.count == values.map(Varint.size).reduce(0, +))
        bytes.withUnsafeBytes { raw in
            var offset = 0
            for v in values { #expect(Varint.read(raw, &offset) == v) }
            #expect(offset == raw.count)
            #expect(Varint.read(raw, &offset) == nil, "past the end")
        }
        // Truncated in the middle of a value, and six bytes for one value.
        for damaged: [UInt8] in [[0x80], [0xFF, 0xFF], [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]] {
            damaged.withUnsafeBytes { raw in
                var offset = 0
                #expect(Varint.read(raw, &offset) == nil, "\(damaged)")
            }
        }
    }

    /// `readMany` (eight one-byte values per load where it can) reads what `read` reads, one
    /// value at a time: runs of small values broken by large ones at every alignment, as values
    /// and as running deltas, and refuses every truncation.
    @Test(arguments: [1, 2, 3, 4, 5, 6])
    func readManyMatchesReadingOneByOne(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for round in 0..<300 {
            let count = Int(rng.next() % 140)
            let values: [UInt32] = (0..<count).map { _ in
                switch rng.next() % 10 {
                case 0: return UInt32(truncatingIfNeeded: rng.next())
                case 1: return 128 + UInt32(rng.next() % 20_000)
                default: return UInt32(rng.next() % 128)
                }
            }
            var bytes: [UInt8] = []
            for v in values { Varint.append(v, to: &bytes) }
            let trailing = Int(rng.next() % 12)
            bytes += (0..<trailing).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let base = UInt32(rng.next() % 1000)
            bytes.withUnsafeBytes { raw in
                let out = UnsafeMutablePointer<UInt32>.allocate(capacity: max(count, 1))
                defer { out.deallocate() }
                var offset = 0
                #expect(Varint.readMany(raw, &offset, count: count, into: out, runningFrom: nil))
                #expect(Array(UnsafeBufferPointer(start: out, count: count)) == values, "seed \(seed) round \(round)")
                #expect(offset == raw.count - trailing)
                offset = 0
                #expect(Varint.readMany(raw, &offset, count: count, into: out, runningFrom: base))
                var running = base
                let sums = values.map { running &+= $0; return running }
                #expect(Array(UnsafeBufferPointer(start: out, count: count)) == sums, "seed \(seed) round \(round)")
            }
            guard count > 0 else { continue }
            // Cut anywhere inside the values: never reads past the cut, always refuses.
            let encodedLength = bytes.count - trailing
            let cut = Int(rng.next() % UInt64(encodedLength))
            Array(bytes[..<cut]).withUnsafeBytes { raw in
                let out = UnsafeMutablePointer<UInt32>.allocate(capacity: count)
                defer { out.deallocate() }
                var offset = 0
                #expect(!Varint.readMany(raw, &offset, count: count, into: out, runningFrom: nil), "seed \(seed) round \(round) cut \(cut)")
            }
        }
    }
}
