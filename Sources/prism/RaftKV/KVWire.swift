import PrismTransport

/// The client protocol of `prism raft-node` (what `prism bench raft` drives): length-prefixed
/// frames, requests and replies matched by id on one connection, many in flight.
enum KVWire {
    /// `openSession`: a session for the client's puts in `group` (the value is a nonce); the
    /// reply's value is the session id in decimal.
    enum Operation: UInt8, Sendable { case put = 1, getStrong = 2, getEventual = 3, openSession = 4 }
    enum Status: UInt8, Sendable {
        case ok = 0
        /// Not the leader (puts and strong gets go there); `value` names it when known.
        case notLeader = 1
        /// No leader known yet, or the request could not be proposed: retry.
        case unavailable = 2
        /// The node stopped leading the group (stepped down or a new term began) while the
        /// request waited: a put may or may not have been applied, a strong get was not served.
        /// Ask the new leader (the same put, with the same session and sequence, acts once).
        case leadershipLost = 3
        /// The put's session is unknown (expired, evicted, or never opened): nothing was done now.
        /// Open another (whether an earlier copy of this put took effect cannot be known).
        case noSession = 4
        /// The put is numbered below what its session acknowledged: nothing was done now, and
        /// its earlier outcome is no longer remembered.
        case forgotten = 5

        /// As the bench's JSON and log lines show it.
        var name: String {
            switch self {
            case .ok: "ok"
            case .notLeader: "not_leader"
            case .unavailable: "unavailable"
            case .leadershipLost: "leadership_lost"
            case .noSession: "no_session"
            case .forgotten: "forgotten"
            }
        }
    }

    struct Request: Sendable, Equatable {
        var id: UInt64
        var operation: Operation
        var group: UInt64
        var key: String
        var value: String?
        /// Puts: the client session, the put's number in it, and the lowest number the client
        /// still waits for (every put below it has been answered).
        var session: UInt64 = 0
        var sequence: UInt64 = 0
        var acknowledged: UInt64 = 0
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
        w.varint(r.session)
        w.varint(r.sequence)
        w.varint(r.acknowledged)
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
        let group = try r.varint(), session = try r.varint(), sequence = try r.varint(), acknowledged = try r.varint()
        let request = Request(id: id, operation: op, group: group, key: try r.string(maxLength: 4096), value: try optional(&r),
                              session: session, sequence: sequence, acknowledged: acknowledged)
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
