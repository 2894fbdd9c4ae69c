@testable import PrismSearch
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
}
