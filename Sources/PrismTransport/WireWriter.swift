/// Appends the wire format's primitives: bytes, LEB128 varints and length-prefixed UTF-8.
/// Inlinable, as `WireReader` is: other modules encode whole snapshots with it, and a call
/// across the module boundary per string cost more than copying the string.
public struct WireWriter {
    @usableFromInline var storage: [UInt8] = []

    public var bytes: [UInt8] { storage }

    @inlinable public init(capacity: Int = 256) { storage.reserveCapacity(capacity) }

    @inlinable public var count: Int { storage.count }

    @inlinable public mutating func byte(_ value: UInt8) { storage.append(value) }

    @inlinable public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            storage.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        storage.append(UInt8(v))
    }

    @inlinable public mutating func string(_ value: String) {
        let utf8 = value.utf8
        varint(UInt64(utf8.count))
        storage.append(contentsOf: utf8)
    }

    public mutating func raw(_ data: some Sequence<UInt8>) { storage.append(contentsOf: data) }

    /// Bytes after their length (what `WireReader.lengthPrefixed` reads).
    public mutating func lengthPrefixed(_ data: [UInt8]) {
        varint(UInt64(data.count))
        storage.append(contentsOf: data)
    }

    /// A boolean as one byte, 0 or 1 (what `WireReader.flag` reads).
    @inlinable public mutating func flag(_ value: Bool) { storage.append(value ? 1 : 0) }

    /// A map in key order, so equal maps encode to equal bytes.
    public mutating func map(_ value: [String: String]) {
        varint(UInt64(value.count))
        for key in value.keys.sorted() {
            string(key)
            string(value[key] ?? "")
        }
    }
}
