/// LEB128 unsigned varints, the compression of postings.
enum Varint {
    @inline(__always)
    static func append(_ value: UInt32, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Bytes `append` writes for `value`.
    @inline(__always)
    static func size(_ value: UInt32) -> Int {
        value < 1 << 7 ? 1 : value < 1 << 14 ? 2 : value < 1 << 21 ? 3 : value < 1 << 28 ? 4 : 5
    }

    /// Reads one varint at `offset`, advancing it; nil on truncated or overlong input.
    @inline(__always)
    static func read(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) -> UInt32? {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while offset < bytes.count {
            let b = bytes[offset]
            offset += 1
            result |= UInt32(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 28 { return nil }
        }
        return nil
    }

    /// Reads `count` varints at `offset` into `out`, advancing `offset`; with `runningFrom` set,
    /// each value is a delta added to the previous output (the first to that base). False on
    /// truncated or overlong input. Eight bytes with no continuation bit are eight one-byte
    /// values, taken from one load: most document deltas of common terms and most term
    /// frequencies are that small, and the byte-at-a-time loop is the cost of every block decode.
    @inline(__always)
    static func readMany(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int, count: Int,
                         into out: UnsafeMutablePointer<UInt32>, runningFrom base: UInt32?) -> Bool {
        var i = 0
        var running = base ?? 0
        let accumulate = base != nil
        while i < count {
            if i + 8 <= count && offset + 8 <= bytes.count {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                if word & 0x8080_8080_8080_8080 == 0 {
                    for j in 0..<8 {
                        let v = UInt32(truncatingIfNeeded: word >> UInt64(8 * j)) & 0xFF
                        if accumulate {
                            running &+= v
                            out[i + j] = running
                        } else {
                            out[i + j] = v
                        }
                    }
                    i += 8
                    offset += 8
                    continue
                }
            }
            guard let v = read(bytes, &offset) else { return false }
            if accumulate {
                running &+= v
                out[i] = running
            } else {
                out[i] = v
            }
            i += 1
        }
        return true
    }
}
