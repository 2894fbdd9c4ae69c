import PrismStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte strings (terms) to dense ids `0..<count`, by open addressing on their xxHash64, with
/// the bytes in one arena. Indexing hashes every token; Swift's `Dictionary` would allocate a
/// `String` per token and run SipHash over it, which made hashing a fifth of indexing time.
struct TermTable {
    private(set) var count = 0
    /// entry id + 1 per slot; 0 is empty. The length is a power of two.
    private var slots: [Int32]
    private var hashes: [UInt64] = []
    /// Entry `i` is `arena[starts[i]..<starts[i + 1]]`.
    private var starts: [Int] = [0]
    private var arena: [UInt8] = []

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
    }

    /// The bytes of entry `id`.
    func bytes(_ id: Int) -> ArraySlice<UInt8> { arena[starts[id]..<starts[id + 1]] }

    /// Calls `body` with the bytes of entry `id` in place.
    func withBytes<R>(_ id: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        arena.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[starts[id]..<starts[id + 1]])) }
    }

    /// Every id, ordered by its bytes (unsigned, shorter first on a common prefix: LMDB's order).
    func sortedIDs() -> [Int] {
        var ids = Array(0..<count)
        starts.withUnsafeBufferPointer { starts in
            arena.withUnsafeBufferPointer { arena in
                guard let base = arena.baseAddress else { return }
                ids.sort { a, b in
                    let (sa, la) = (starts[a], starts[a + 1] - starts[a])
                    let (sb, lb) = (starts[b], starts[b + 1] - starts[b])
                    let order = memcmp(base + sa, base + sb, min(la, lb))
                    return order != 0 ? order < 0 : la < lb
                }
            }
        }
        return ids
    }

    /// A fast hash for short keys (tokens), for a table whose hashes are never stored or compared
    /// with another table's: the first and last 8 bytes (overlapping when shorter than 16) and
    /// the length, mixed by multiplication; longer keys fold in every 8 bytes.
    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        let n = key.count
        let m: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = UInt64(truncatingIfNeeded: n) &* m
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                h = (h ^ UInt64(littleEndian: key.loadUnaligned(fromByteOffset: i, as: UInt64.self))) &* m
                h ^= h >> 29
                i += 8
            }
            h = (h ^ UInt64(littleEndian: key.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))) &* m
        } else if n >= 4 {
            let a = UInt64(UInt32(littleEndian: key.loadUnaligned(as: UInt32.self)))
            let b = UInt64(UInt32(littleEndian: key.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)))
            h = (h ^ (a << 32 | b)) &* m
        } else if n > 0 {
            let v = UInt64(key[0]) << 16 | UInt64(key[n / 2]) << 8 | UInt64(key[n - 1])
            h = (h ^ v) &* m
        }
        h ^= h >> 32
        h = h &* m
        return h ^ (h >> 29)
    }

    /// The id of `key`, adding it when new.
    @inline(__always)
    mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64) -> (id: Int, inserted: Bool) {
        if let id = find(key, hash: hash) { return (id, false) }
        if (count + 1) * 2 > slots.count { grow() }
        let id = count
        hashes.append(hash)
        arena.append(contentsOf: key)
        starts.append(arena.count)
        count += 1
        place(id, hash: hash)
        return (id, true)
    }

    /// The id of `key`, or nil.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        slots.withUnsafeBufferPointer { slots -> Int? in
            arena.withUnsafeBufferPointer { arena -> Int? in
                let mask = slots.count - 1
                var slot = Int(truncatingIfNeeded: hash) & mask
                while true {
                    let entry = Int(slots[slot]) - 1
                    if entry < 0 { return nil }
                    if hashes[entry] == hash {
                        let start = starts[entry], length = starts[entry + 1] - start
                        if length == key.count {
                            guard length > 0, let a = arena.baseAddress, let b = key.baseAddress else { return entry }
                            if memcmp(a + start, b, length) == 0 { return entry }
                        }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    private mutating func place(_ id: Int, hash: UInt64) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(id + 1)
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        for id in 0..<count { place(id, hash: hashes[id]) }
    }
}
