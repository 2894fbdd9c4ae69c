/// Column-stored values of numeric, date and boolean fields, for range filters, sorting and
/// aggregations without loading documents. Per field and chunk of 4096 documents: a presence
/// bitmap (512 bytes) followed by one 8-byte little-endian slot per document holding the value's
/// bit pattern (i64, u64, f64 bits, epoch microseconds, 0/1).
enum DocValues {
    static let presenceBytes = Int(IndexTables.docsPerChunk) / 8
    static let chunkBytes = presenceBytes + Int(IndexTables.docsPerChunk) * 8

    static func emptyChunk() -> [UInt8] { [UInt8](repeating: 0, count: chunkBytes) }

    /// The 8-byte pattern stored for a field value, or nil for types without doc values.
    static func bits(_ value: FieldValue) -> UInt64? {
        switch value {
        case .int(let i): return UInt64(bitPattern: i)
        case .uint(let u): return u
        case .double(let d): return d.bitPattern
        case .date(let micros): return UInt64(bitPattern: micros)
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    static func set(_ chunk: inout [UInt8], slot: Int, bits: UInt64) {
        chunk[slot / 8] |= UInt8(1 << (slot % 8))
        withUnsafeBytes(of: bits.littleEndian) { bytes in
            for i in 0..<8 { chunk[presenceBytes + slot * 8 + i] = bytes[i] }
        }
    }

    /// The bits at `slot`, or nil when the document has no value.
    @inline(__always)
    static func get(_ chunk: UnsafeRawBufferPointer, slot: Int) -> UInt64? {
        guard chunk[slot / 8] & UInt8(1 << (slot % 8)) != 0 else { return nil }
        return UInt64(littleEndian: chunk.loadUnaligned(fromByteOffset: presenceBytes + slot * 8, as: UInt64.self))
    }

    /// Whether a field type keeps doc values.
    static func supports(_ type: FieldType) -> Bool {
        switch type {
        case .i64, .u64, .f64, .date, .bool: return true
        default: return false
        }
    }

    /// Orders two stored patterns of a field type.
    @inline(__always)
    static func compare(_ a: UInt64, _ b: UInt64, as type: FieldType) -> Int {
        switch type {
        case .i64, .date:
            let x = Int64(bitPattern: a), y = Int64(bitPattern: b)
            return x < y ? -1 : x > y ? 1 : 0
        case .f64:
            let x = Double(bitPattern: a), y = Double(bitPattern: b)
            return x < y ? -1 : x > y ? 1 : 0
        default:
            return a < b ? -1 : a > b ? 1 : 0
        }
    }

    /// Reads a query bound for a field type: integers, numbers, RFC 3339 or `YYYY-MM-DD` dates,
    /// `true`/`false`.
    static func parseBound(_ text: String, as type: FieldType) -> UInt64? {
        switch type {
        case .i64: return Int64(text).map { UInt64(bitPattern: $0) }
        case .u64: return UInt64(text)
        case .f64: return Double(text).flatMap { $0.isFinite ? $0.bitPattern : nil }
        case .date:
            if let micros = RFC3339.parse(text) ?? RFC3339.parse(text + "T00:00:00Z") { return UInt64(bitPattern: micros) }
            return Int64(text).map { UInt64(bitPattern: $0) }
        case .bool:
            switch text.lowercased() {
            case "true": return 1
            case "false": return 0
            default: return nil
            }
        default: return nil
        }
    }
}
