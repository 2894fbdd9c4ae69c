/// Reads what `WireWriter` wrote, from bytes that may be hostile: every read is bounds-checked
/// and fails with a `GossipWireError` instead of trapping.
struct WireReader {
    private let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }
    var isAtEnd: Bool { offset >= bytes.count }

    mutating func byte() throws(GossipWireError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint() throws(GossipWireError) -> UInt64 {
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
    mutating func count(minimumSize: Int = 1) throws(GossipWireError) -> Int {
        let n = try varint()
        guard n <= UInt64(remaining / max(1, minimumSize)) else { throw .truncated }
        return Int(n)
    }

    mutating func string(maxLength: Int = 4096) throws(GossipWireError) -> String {
        let n = try count()
        guard n <= maxLength else { throw .malformed("string of \(n) bytes exceeds \(maxLength)") }
        let slice = bytes[offset..<offset + n]
        offset += n
        guard let s = String(validating: slice, as: UTF8.self) else { throw .malformed("invalid UTF-8") }
        return s
    }

    mutating func raw(_ n: Int) throws(GossipWireError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw .truncated }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    mutating func map(maxEntries: Int = 256) throws(GossipWireError) -> [String: String] {
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

/// Why bytes from the network were refused. The shell drops the packet and counts it under
/// `reason` (metric `prism_gossip_dropped_packets_total{reason}`).
public enum GossipWireError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated
    case malformed(String)
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)
    case undecryptable
    case unencrypted
    case tooLarge(Int)

    public var reason: String {
        switch self {
        case .truncated: "truncated"
        case .malformed: "malformed"
        case .unsupportedVersion: "version"
        case .unknownKind: "malformed"
        case .undecryptable: "key"
        case .unencrypted: "unencrypted"
        case .tooLarge: "too_large"
        }
    }

    public var description: String {
        switch self {
        case .truncated: "truncated packet"
        case .malformed(let why): "malformed packet: \(why)"
        case .unsupportedVersion(let v):
            "protocol version \(v) is outside \(GossipProtocol.minimumSupportedVersion)...\(GossipProtocol.version)"
        case .unknownKind(let k): "unknown message kind \(k)"
        case .undecryptable: "no key in the keyring opens the packet"
        case .unencrypted: "unencrypted packet while a keyring is configured"
        case .tooLarge(let n): "frame of \(n) bytes exceeds the limit"
        }
    }
}
