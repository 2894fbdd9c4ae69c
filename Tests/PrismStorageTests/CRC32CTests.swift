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

    @Test("the CPU's instruction and the tables agree on every length, alignment and continuation")
    func hardwareMatchesTables() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let bytes = (0..<300).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        bytes.withUnsafeBytes { all in
            for start in 0..<9 {
                for length in stride(from: 0, through: all.count - start, by: 7) {
                    let part = UnsafeRawBufferPointer(rebasing: all[start..<start + length])
                    #expect(CRC32C.checksum(part) == CRC32C.tableChecksum(part), "start \(start), length \(length)")
                    #expect(CRC32C.checksum(part, continuing: 0x1234_5678) == CRC32C.tableChecksum(part, continuing: 0x1234_5678))
                }
            }
        }
        // Where the CPU has the instruction (every x86-64 machine this runs on), it is used.
        #if arch(x86_64)
        #expect(CRC32C.usesHardware)
        #endif
    }
}
