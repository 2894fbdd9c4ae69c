/// How a wire format reports bytes it refuses; each format has its own error (with its own
/// metric reasons), the reader only needs these two.
public protocol WireDecodingFailure: Error {
    static var truncated: Self { get }
    static func malformed(_ why: String) -> Self
}

/// Reads what `WireWriter` wrote, from bytes that may be hostile: every read is bounds-checked
/// and fails with the format's `Failure` instead of trapping.
///
/// Inlinable so that callers in other modules get it specialized for their `Failure`: generic
/// code reached across modules otherwise looks up type metadata at run time on every read
/// (2–3% of a Raft node's CPU under load, in the profile).
public struct WireReader<Failure: WireDecodingFailure> {
    @usableFromInline let bytes: [UInt8]
    @usableFromInline var position: Int

    @inlinable
    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.position = offset
    }

    /// Bytes read so far.
    @inlinable public var offset: Int { position }

    @inlinable public var remaining: Int { bytes.count - position }
    @inlinable public var isAtEnd: Bool { position >= bytes.count }

    @inlinable public mutating func byte() throws(Failure) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    @inlinable public mutating func varint() throws(Failure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            if shift == 63 && b > 1 { throw .malformed("varint overflows 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { throw .malformed("varint longer than 10 bytes") }
        }
    }

    /// A count or length that must fit in what is left (each element takes at least `minimumSize` bytes).
    @inlinable public mutating func count(minimumSize: Int = 1) throws(Failure) -> Int {
        let n = try varint()
        guard n <= UInt64(remaining / max(1, minimumSize)) else { throw .truncated }
        return Int(n)
    }

    @inlinable public mutating func string(maxLength: Int = 4096) throws(Failure) -> String {
        let n = try count()
        guard n <= maxLength else { throw .malformed("string of \(n) bytes exceeds \(maxLength)") }
        let start = position
        position += n
        let s: String? = bytes.withUnsafeBufferPointer { all in
            let slice = UnsafeBufferPointer(rebasing: all[start..<start + n])
            // ASCII (what keys and values mostly are) needs no check: the standard library's
            // validating initializer walks the bytes in generic code (4% of a Raft leader's CPU).
            return Self.isASCII(slice) ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self)
        }
        guard let s else { throw .malformed("invalid UTF-8") }
        return s
    }

    /// No byte has its high bit set; eight at a time.
    @inlinable static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var i = 0
        var seen: UInt64 = 0
        while i + 8 <= bytes.count {
            seen |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            seen |= UInt64(bytes[i])
            i += 1
        }
        return seen & 0x8080_8080_8080_8080 == 0
    }

    @inlinable public mutating func raw(_ n: Int) throws(Failure) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw .truncated }
        defer { position += n }
        return bytes[position..<position + n]
    }

    /// Bytes after their length (what `WireWriter.lengthPrefixed` wrote).
    @inlinable public mutating func lengthPrefixed() throws(Failure) -> [UInt8] {
        Array(try raw(try count()))
    }

    /// A boolean byte: 0 or 1, anything else is malformed.
    @inlinable public mutating func flag() throws(Failure) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let b: throw .malformed("flag byte \(b)")
        }
    }

    @inlinable public mutating func map(maxEntries: Int = 256) throws(Failure) -> [String: String] {
        let n = try count(minimumSize: 2)
        guard n <= maxEntries else { throw .malformed("map of \(n) entries exceeds \(maxEntries)") }
        var out: [String: String] = [:]
        out.reserveCapacity(n)
        for _ in 0..<n {
            let key = try string(maxLength: 256)
            out[key] = try string()
        }
        return out
    }
}

