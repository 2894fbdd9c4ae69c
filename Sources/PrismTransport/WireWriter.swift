/// Appends the wire format's primitives: bytes, LEB128 varints and length-prefixed UTF-8.
public struct WireWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public var count: Int { bytes.count }

    public mutating func byte(_ value: UInt8) { bytes.append(value) }

    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func string(_ value: String) {
        let utf8 = value.utf8
        varint(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    public mutating func raw(_ data: some Sequence<UInt8>) { bytes.append(contentsOf: data) }

    /// Bytes after their length (what `WireReader.lengthPrefixed` reads).
    public mutating func lengthPrefixed(_ data: [UInt8]) {
        varint(UInt64(data.count))
        bytes.append(contentsOf: data)
    }

    /// A boolean as one byte, 0 or 1 (what `WireReader.flag` reads).
    public mutating func flag(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// A map in key order, so equal maps encode to equal bytes.
    public mutating func map(_ value: [String: String]) {
        varint(UInt64(value.count))
        for key in value.keys.sorted() {
            string(key)
            string(value[key] ?? "")
        }
    }
}
