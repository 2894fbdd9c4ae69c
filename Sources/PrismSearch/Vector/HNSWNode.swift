/// One node of the HNSW graph: its top level and its neighbor lists per level.
/// Stored as `level:u8 { count:u16le { neighbor:u32le }*count }*(level+1)`.
struct HNSWNode: Equatable {
    var neighbors: [[UInt32]]

    var level: Int { neighbors.count - 1 }

    init(level: Int) { neighbors = [[UInt32]](repeating: [], count: level + 1) }

    init(neighbors: [[UInt32]]) { self.neighbors = neighbors }

    init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 1 else { return nil }
        let level = Int(bytes[0])
        var lists: [[UInt32]] = []
        lists.reserveCapacity(level + 1)
        var offset = 1
        for _ in 0...level {
            guard offset + 2 <= bytes.count else { return nil }
            let count = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            offset += 2
            guard offset + count * 4 <= bytes.count else { return nil }
            var list = [UInt32]()
            list.reserveCapacity(count)
            for i in 0..<count { list.append(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + i * 4, as: UInt32.self))) }
            offset += count * 4
            lists.append(list)
        }
        neighbors = lists
    }

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        HNSWNode.encode(bottom: neighbors.first ?? [], upper: neighbors.dropFirst(), into: &out)
        return out
    }

    /// Encodes the node with these lists into `out` (replacing what it held; its capacity is
    /// reused, so a batch writing thousands of nodes allocates once).
    static func encode(bottom: [UInt32], upper: ArraySlice<[UInt32]>, into out: inout [UInt8]) {
        var size = 1 + 2 + 4 * bottom.count
        for list in upper { size += 2 + 4 * list.count }
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(size)
        out.append(UInt8(upper.count))
        func append(_ list: [UInt32], to out: inout [UInt8]) {
            withUnsafeBytes(of: UInt16(list.count).littleEndian) { out.append(contentsOf: $0) }
            #if _endian(little)
            list.withUnsafeBytes { out.append(contentsOf: $0) }
            #else
            for n in list { withUnsafeBytes(of: n.littleEndian) { out.append(contentsOf: $0) } }
            #endif
        }
        append(bottom, to: &out)
        for list in upper { append(list, to: &out) }
    }

    /// Neighbors at `level` straight from the encoded record, without decoding other levels.
    static func neighbors(_ bytes: UnsafeRawBufferPointer, level: Int, into out: inout [UInt32]) {
        out.removeAll(keepingCapacity: true)
        guard bytes.count >= 1, level <= Int(bytes[0]) else { return }
        var offset = 1
        for l in 0...level {
            guard offset + 2 <= bytes.count else { return }
            let count = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            offset += 2
            if l == level {
                guard offset + count * 4 <= bytes.count else { return }
                for i in 0..<count { out.append(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + i * 4, as: UInt32.self))) }
                return
            }
            offset += count * 4
        }
    }
}

/// Entry point and size of a shard's graph.
struct HNSWMeta: Equatable {
    var entry: UInt32 = 0
    var maxLevel: Int = -1
    var count: UInt32 = 0

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: entry.littleEndian) { out += $0 }
        withUnsafeBytes(of: Int32(maxLevel).littleEndian) { out += $0 }
        withUnsafeBytes(of: count.littleEndian) { out += $0 }
        return out
    }

    static func decode(_ bytes: UnsafeRawBufferPointer?) -> HNSWMeta {
        guard let bytes, bytes.count >= 12 else { return HNSWMeta() }
        return HNSWMeta(entry: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                        maxLevel: Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: Int32.self))),
                        count: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
    }
}
