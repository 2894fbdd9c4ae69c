import PrismStorage
import Testing

@Suite("CRC-32C")
struct CRC32CTests {
    @Test("published check values (RFC 3720 B.4 and the standard check string)")
    func knownValues() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test("continuing from a prefix's checksum equals the checksum of the whole, at every split")
    func continuing() {
        let bytes = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = CRC32C.checksum(bytes)
        for split in 0...bytes.count {
            #expect(CRC32C.checksum(Array(bytes[split...]), continuing: CRC32C.checksum(Array(bytes[..<split]))) == whole)
        }
    }

    @Test("one flipped bit anywhere changes the checksum")
    func detectsFlips() {
        let bytes = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let whole = CRC32C.checksum(bytes)
        for i in 0..<bytes.count {
            for bit in 0..<8 {
                var damaged = bytes
                damaged[i] ^= 1 << bit
                #expect(CRC32C.checksum(damaged) != whole)
            }
        }
    }
}
