/// Column-stored values of `string` fields (exact keywords), for terms aggregations without
/// loading documents. Per field and chunk of 4096 documents: `count:u32` then `count + 1` u32
/// offsets into the UTF-8 bytes that follow (offset equal to the next one: no value). A missing
/// value is marked in a presence bitmap ahead of the offsets.
enum StringValues {
    static let slots = Int(IndexTables.docsPerChunk)

    static func decode(_ bytes: UnsafeRawBufferPointer?) -> [String?] {
        var out = [String?](repeating: nil, count: slots)
        guard let bytes, bytes.count >= slots / 8 + (slots + 1) * 4 else { return out }
        let base = slots / 8 + (slots + 1) * 4
        for i in 0..<slots where bytes[i / 8] & UInt8(1 << (i % 8)) != 0 {
            let start = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: slots / 8 + i * 4, as: UInt32.self)))
            let end = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: slots / 8 + (i + 1) * 4, as: UInt32.self)))
            guard start <= end, base + end <= bytes.count else { continue }
            out[i] = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(base + start)..<(base + end)]), as: UTF8.self)
        }
        return out
    }

    static func encode(_ values: [String?]) -> [UInt8] {
        var presence = [UInt8](repeating: 0, count: slots / 8)
        var offsets: [UInt8] = []
        offsets.reserveCapacity((slots + 1) * 4)
        var data: [UInt8] = []
        for i in 0..<slots {
            withUnsafeBytes(of: UInt32(data.count).littleEndian) { offsets += $0 }
            if i < values.count, let v = values[i] {
                presence[i / 8] |= UInt8(1 << (i % 8))
                data += Array(v.utf8)
            }
        }
        withUnsafeBytes(of: UInt32(data.count).littleEndian) { offsets += $0 }
        return presence + offsets + data
    }

    /// One value straight from the encoded chunk.
    static func get(_ bytes: UnsafeRawBufferPointer, slot: Int) -> String? {
        guard bytes.count >= slots / 8 + (slots + 1) * 4, bytes[slot / 8] & UInt8(1 << (slot % 8)) != 0 else { return nil }
        let base = slots / 8 + (slots + 1) * 4
        let start = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: slots / 8 + slot * 4, as: UInt32.self)))
        let end = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: slots / 8 + (slot + 1) * 4, as: UInt32.self)))
        guard start <= end, base + end <= bytes.count else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(base + start)..<(base + end)]), as: UTF8.self)
    }
}
