/// One DNS SRV record (RFC 2782): a member's host and gossip port.
public struct SRVRecord: Hashable, Sendable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    public var target: String

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: String) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
}

/// Reads the SRV answers out of a raw DNS response message (what `res_query` returns). Any
/// malformed input (truncated, pointer loops, lengths past the end) is an error, never a crash:
/// the bytes come from the network.
public enum SRVRecords {
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { "malformed DNS response: \(reason)" }
    }

    static let typeSRV: UInt16 = 33
    static let classIN: UInt16 = 1

    public static func parse(_ message: [UInt8]) throws(Malformed) -> [SRVRecord] {
        var reader = Reader(bytes: message)
        _ = try reader.u16()  // id
        let flags = try reader.u16()
        let questions = try reader.u16(), answers = try reader.u16()
        _ = try reader.u16()  // authority
        _ = try reader.u16()  // additional
        guard flags & 0x8000 != 0 else { throw Malformed(reason: "not a response") }
        for _ in 0..<questions {
            _ = try reader.name()
            try reader.skip(4)  // type, class
        }
        var records: [SRVRecord] = []
        for _ in 0..<answers {
            _ = try reader.name()
            let type = try reader.u16(), klass = try reader.u16()
            try reader.skip(4)  // ttl
            let length = Int(try reader.u16())
            let end = reader.offset + length
            guard end <= message.count else { throw Malformed(reason: "record data past the end") }
            if type == typeSRV && klass == classIN {
                guard length >= 7 else { throw Malformed(reason: "SRV record of \(length) bytes") }
                let priority = try reader.u16(), weight = try reader.u16(), port = try reader.u16()
                let target = try reader.name()
                guard reader.offset <= end else { throw Malformed(reason: "SRV target past its record") }
                // "." means the service is decidedly not available at this name (RFC 2782).
                if !target.isEmpty { records.append(SRVRecord(priority: priority, weight: weight, port: port, target: target)) }
            }
            reader.offset = end
        }
        return records
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func u16() throws(Malformed) -> UInt16 {
            guard offset + 2 <= bytes.count else { throw Malformed(reason: "truncated at byte \(offset)") }
            defer { offset += 2 }
            return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }

        mutating func skip(_ n: Int) throws(Malformed) {
            guard offset + n <= bytes.count else { throw Malformed(reason: "truncated at byte \(offset)") }
            offset += n
        }

        /// A domain name at the cursor, following compression pointers (at most 32 of them,
        /// so a pointer loop ends), without the trailing dot.
        mutating func name() throws(Malformed) -> String {
            var labels: [String] = []
            var cursor = offset
            var jumped = false
            var jumps = 0
            var total = 0
            while true {
                guard cursor < bytes.count else { throw Malformed(reason: "name runs past the end") }
                let length = Int(bytes[cursor])
                switch length & 0xC0 {
                case 0x00:
                    if length == 0 {
                        if !jumped { offset = cursor + 1 }
                        return labels.joined(separator: ".")
                    }
                    guard cursor + 1 + length <= bytes.count else { throw Malformed(reason: "label runs past the end") }
                    total += length + 1
                    guard total <= 255 else { throw Malformed(reason: "name longer than 255 bytes") }
                    labels.append(String(decoding: bytes[(cursor + 1)..<(cursor + 1 + length)], as: UTF8.self))
                    cursor += 1 + length
                case 0xC0:
                    guard cursor + 1 < bytes.count else { throw Malformed(reason: "pointer runs past the end") }
                    jumps += 1
                    guard jumps <= 32 else { throw Malformed(reason: "compression pointer loop") }
                    if !jumped { offset = cursor + 2 }
                    jumped = true
                    cursor = (length & 0x3F) << 8 | Int(bytes[cursor + 1])
                default:
                    throw Malformed(reason: "unknown label type \(length >> 6)")
                }
            }
        }
    }
}
