/// Field lengths quantized to one byte, exactly as Lucene's `SmallFloat.intToByte4` and Tantivy's
/// fieldnorm table: lengths below 24 are exact, larger ones keep 4 significant bits. BM25 uses the
/// decoded length, so rankings match Tantivy's.
enum FieldNorm {
    static let exactValues = 24

    static func id(forLength length: Int) -> UInt8 {
        if length < exactValues { return UInt8(length) }
        return UInt8(min(255, exactValues + longToInt4(UInt64(length - exactValues))))
    }

    static func length(forID id: UInt8) -> Int {
        let i = Int(id)
        if i < exactValues { return i }
        return exactValues + Int(int4ToLong(i - exactValues))
    }

    private static func longToInt4(_ i: UInt64) -> Int {
        let bits = 64 - i.leadingZeroBitCount
        if bits < 4 { return Int(i) }
        let shift = bits - 4
        var encoded = Int(i >> UInt64(shift)) & 0x07
        encoded |= (shift + 1) << 3
        return encoded
    }

    private static func int4ToLong(_ i: Int) -> UInt64 {
        let bits = UInt64(i & 0x07)
        let shift = (i >> 3) - 1
        return shift == -1 ? bits : (bits | 0x08) << UInt64(shift)
    }

    /// Decoded lengths of all 256 ids.
    static let table: [Float] = (0..<256).map { Float(length(forID: UInt8($0))) }
}
