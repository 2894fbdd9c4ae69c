import PrismTransport

/// The client protocol of `prism raft-node` (what `prism bench raft` drives): length-prefixed
/// frames, requests and replies matched by id on one connection, many in flight.
enum KVWire {
    enum Operation: UInt8, Sendable { case put = 1, getStrong = 2, getEventual = 3 }
    enum Status: UInt8, Sendable {
        case ok = 0
        /// Not the leader (puts and strong gets go there); `value` names it when known.
        case notLeader = 1
        /// No leader known yet, or the request could not be proposed: retry.
        case unavailable = 2
        /// The node stopped leading the group (stepped down or a new term began) while the
        /// request waited: a put may or may not have been applied, a strong get was not served.
        /// Ask the new leader (a put of the same value is safe to send again).
        case leadershipLost = 3
    }

    struct Request: Sendable, Equatable {
        var id: UInt64
        var operation: Operation
        var group: UInt64
        var key: String
        var value: String?
    }

    struct Reply: Sendable, Equatable {
        var id: UInt64
        var status: Status
        var value: String?
    }

    static func encode(_ r: Request) -> [UInt8] {
        var w = WireWriter(capacity: 32 + r.key.utf8.count + (r.value?.utf8.count ?? 0))
        w.byte(1)
        w.varint(r.id)
        w.byte(r.operation.rawValue)
        w.varint(r.group)
        w.string(r.key)
        optional(r.value, into: &w)
        return w.bytes
    }

    static func encode(_ r: Reply) -> [UInt8] {
        var w = WireWriter(capacity: 16 + (r.value?.utf8.count ?? 0))
        w.byte(2)
        w.varint(r.id)
        w.byte(r.status.rawValue)
        optional(r.value, into: &w)
        return w.bytes
    }

    static func optional(_ value: String?, into w: inout WireWriter) {
        if let value {
            w.byte(1)
            w.string(value)
        } else {
            w.byte(0)
        }
    }

    static func optional(_ r: inout WireReader<KVWireError>) throws(KVWireError) -> String? {
        switch try r.byte() {
        case 0: return nil
        case 1: return try r.string(maxLength: 1 << 20)
        case let b: throw .malformed("presence byte \(b)")
        }
    }

    static func request(_ bytes: [UInt8]) throws(KVWireError) -> Request {
        var r = WireReader<KVWireError>(bytes)
        guard try r.byte() == 1 else { throw .malformed("not a request") }
        let id = try r.varint()
        let opByte = try r.byte()
        guard let op = Operation(rawValue: opByte) else { throw .malformed("operation \(opByte)") }
        let request = Request(id: id, operation: op, group: try r.varint(), key: try r.string(maxLength: 4096), value: try optional(&r))
        guard r.isAtEnd else { throw .malformed("trailing bytes") }
        return request
    }

    static func reply(_ bytes: [UInt8]) throws(KVWireError) -> Reply {
        var r = WireReader<KVWireError>(bytes)
        guard try r.byte() == 2 else { throw .malformed("not a reply") }
        let id = try r.varint()
        let statusByte = try r.byte()
        guard let status = Status(rawValue: statusByte) else { throw .malformed("status \(statusByte)") }
        let reply = Reply(id: id, status: status, value: try optional(&r))
        guard r.isAtEnd else { throw .malformed("trailing bytes") }
        return reply
    }
}

enum KVWireError: WireDecodingFailure, Equatable {
    case truncated
    case malformed(String)
}
