import CChecksum

/// CRC-32C (Castagnoli), the checksum of write-ahead log records: it tells a record torn by a
/// crash, or damaged on disk, from a whole one. The CPU's instruction where it has one (x86-64
/// with SSE 4.2), else table-driven, eight bytes per step.
public enum CRC32C {
    private static let polynomial: UInt32 = 0x82F6_3B78

    /// tables[k][b]: the CRC of byte b followed by k zero bytes (slicing-by-8).
    private static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for b in 0..<256 {
            var crc = UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
            tables[0][b] = crc
        }
        for k in 1..<8 {
            for b in 0..<256 { tables[k][b] = (tables[k - 1][b] >> 8) ^ tables[0][Int(tables[k - 1][b] & 0xFF)] }
        }
        return tables
    }()

    /// Whether `checksum` uses the CPU's instruction.
    public static let usesHardware = prism_crc32c_hardware() != 0

    /// The checksum of `bytes`, continuing from `crc` (the checksum of what came before).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard usesHardware else { return tableChecksum(bytes, continuing: crc) }
        guard let base = bytes.baseAddress else { return crc }
        return ~prism_crc32c_update(~crc, base, bytes.count)
    }

    /// The same by table, whatever the CPU (what `checksum` does without the instruction).
    public static func tableChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        var i = 0
        let n = bytes.count
        tables.withUnsafeBufferPointer { t in
            let t0 = t[0], t1 = t[1], t2 = t[2], t3 = t[3], t4 = t[4], t5 = t[5], t6 = t[6], t7 = t[7]
            while n - i >= 8 {
                let lo = c ^ (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
                let hi = UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 24
                c = t7[Int(lo & 0xFF)] ^ t6[Int((lo >> 8) & 0xFF)] ^ t5[Int((lo >> 16) & 0xFF)] ^ t4[Int(lo >> 24)]
                    ^ t3[Int(hi & 0xFF)] ^ t2[Int((hi >> 8) & 0xFF)] ^ t1[Int((hi >> 16) & 0xFF)] ^ t0[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = (c >> 8) ^ t0[Int((c ^ UInt32(bytes[i])) & 0xFF)]
                i += 1
            }
        }
        return ~c
    }

    public static func checksum(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: crc) }
    }
}
