import PrismTransport

/// The binary encoding of gossip messages and push-pull states: LEB128 varints, length-prefixed
/// UTF-8, maps in key order. Decoding never traps: hostile bytes fail with `GossipWireError`.
///
/// Message layout: one kind byte, then its fields in declaration order (see `MessageKind`).
public enum GossipCodec {
    enum MessageKind: UInt8 {
        case ping = 1, pingRequest, ack, nack, alive, suspect, dead
    }

    // MARK: Messages

    static func write(_ message: GossipMessage, into w: inout WireWriter) {
        switch message {
        case .ping(let seq, let target, let source, let sourceEndpoint):
            w.byte(MessageKind.ping.rawValue)
            w.varint(UInt64(seq))
            w.string(target)
            w.string(source)
            write(sourceEndpoint, into: &w)
        case .pingRequest(let seq, let target, let targetEndpoint, let source, let sourceEndpoint):
            w.byte(MessageKind.pingRequest.rawValue)
            w.varint(UInt64(seq))
            w.string(target)
            write(targetEndpoint, into: &w)
            w.string(source)
            write(sourceEndpoint, into: &w)
        case .ack(let seq, let source):
            w.byte(MessageKind.ack.rawValue)
            w.varint(UInt64(seq))
            w.string(source)
        case .nack(let seq, let source):
            w.byte(MessageKind.nack.rawValue)
            w.varint(UInt64(seq))
            w.string(source)
        case .update(.alive(let id, let incarnation, let endpoint, let metadata)):
            w.byte(MessageKind.alive.rawValue)
            w.string(id)
            w.varint(incarnation)
            write(endpoint, into: &w)
            write(metadata, into: &w)
        case .update(.suspect(let id, let incarnation, let from)):
            w.byte(MessageKind.suspect.rawValue)
            w.string(id)
            w.varint(incarnation)
            w.string(from)
        case .update(.dead(let id, let incarnation, let from)):
            w.byte(MessageKind.dead.rawValue)
            w.string(id)
            w.varint(incarnation)
            w.string(from)
        }
    }

    static func readMessage(_ r: inout GossipWireReader) throws(GossipWireError) -> GossipMessage {
        let tag = try r.byte()
        guard let kind = MessageKind(rawValue: tag) else { throw .unknownKind(tag) }
        switch kind {
        case .ping:
            return .ping(sequence: try sequence(&r), target: try r.string(), source: try r.string(), sourceEndpoint: try endpoint(&r))
        case .pingRequest:
            return .pingRequest(sequence: try sequence(&r), target: try r.string(), targetEndpoint: try endpoint(&r),
                                source: try r.string(), sourceEndpoint: try endpoint(&r))
        case .ack:
            return .ack(sequence: try sequence(&r), source: try r.string())
        case .nack:
            return .nack(sequence: try sequence(&r), source: try r.string())
        case .alive:
            return .update(.alive(id: try r.string(), incarnation: try r.varint(), endpoint: try endpoint(&r), metadata: try metadata(&r)))
        case .suspect:
            return .update(.suspect(id: try r.string(), incarnation: try r.varint(), from: try r.string()))
        case .dead:
            return .update(.dead(id: try r.string(), incarnation: try r.varint(), from: try r.string()))
        }
    }

    /// Encodes one message alone (used to size and pack datagrams).
    public static func encode(_ message: GossipMessage) -> [UInt8] {
        var w = WireWriter(capacity: 64)
        write(message, into: &w)
        return w.bytes
    }

    /// Encodes messages as one compound body: a count, then the messages.
    public static func encodeBody(_ messages: [GossipMessage]) -> [UInt8] {
        var w = WireWriter()
        w.varint(UInt64(messages.count))
        for m in messages { write(m, into: &w) }
        return w.bytes
    }

    public static func decodeBody(_ bytes: [UInt8]) throws(GossipWireError) -> [GossipMessage] {
        var r = GossipWireReader(bytes)
        let n = try r.count(minimumSize: 2)
        var out: [GossipMessage] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try readMessage(&r)) }
        guard r.isAtEnd else { throw .malformed("\(r.remaining) bytes after the last message") }
        return out
    }

    /// Splits messages into compound bodies that each fit `budget` bytes, keeping their order
    /// (the probe that leads a send stays first). A message that cannot fit even alone is left
    /// out and counted in `oversized`; push-pull (TCP) still carries that state.
    public static func packBodies(_ messages: [GossipMessage], budget: Int) -> (bodies: [[UInt8]], oversized: Int) {
        var bodies: [[UInt8]] = []
        var current: [[UInt8]] = []
        var size = 0
        var oversized = 0
        func flush() {
            guard !current.isEmpty else { return }
            var w = WireWriter(capacity: size + 2)
            w.varint(UInt64(current.count))
            for m in current { w.raw(m) }
            bodies.append(w.bytes)
            current.removeAll()
            size = 0
        }
        // A count below 128 takes one varint byte; bodies never hold more.
        for message in messages {
            let encoded = encode(message)
            if encoded.count + 1 > budget {
                oversized += 1
                continue
            }
            if size + encoded.count + 1 > budget || current.count == 127 { flush() }
            current.append(encoded)
            size += encoded.count
        }
        flush()
        return (bodies, oversized)
    }

    // MARK: Push-pull

    public static func encode(_ state: PushPullState) -> [UInt8] {
        var w = WireWriter(capacity: 64 + state.members.count * 96)
        w.string(state.sender)
        w.byte(state.join ? 1 : 0)
        w.varint(UInt64(state.members.count))
        for m in state.members {
            w.string(m.id)
            write(m.endpoint, into: &w)
            write(m.metadata, into: &w)
            w.byte(statusCode(m.status))
            w.varint(m.incarnation)
        }
        return w.bytes
    }

    /// `receivedAt` becomes each member's `since` (how long it has been in its state is local knowledge).
    public static func decodePushPull(_ bytes: [UInt8], receivedAt: Moment) throws(GossipWireError) -> PushPullState {
        var r = GossipWireReader(bytes)
        let sender = try r.string()
        let join = try r.byte()
        guard join <= 1 else { throw .malformed("join flag \(join)") }
        let n = try r.count(minimumSize: 8)
        var members: [Member] = []
        members.reserveCapacity(n)
        for _ in 0..<n {
            let id = try r.string()
            let ep = try endpoint(&r)
            let meta = try metadata(&r)
            let code = try r.byte()
            guard let status = status(code) else { throw .malformed("member status \(code)") }
            members.append(Member(id: id, endpoint: ep, metadata: meta, status: status, incarnation: try r.varint(), since: receivedAt))
        }
        guard r.isAtEnd else { throw .malformed("\(r.remaining) bytes after the last member") }
        return PushPullState(sender: sender, join: join == 1, members: members)
    }

    // MARK: Parts

    static func write(_ endpoint: GossipEndpoint, into w: inout WireWriter) {
        w.string(endpoint.host)
        w.varint(UInt64(max(0, endpoint.port)))
    }

    static func endpoint(_ r: inout GossipWireReader) throws(GossipWireError) -> GossipEndpoint {
        let host = try r.string(maxLength: 255)
        let port = try r.varint()
        guard port <= 65_535 else { throw .malformed("port \(port)") }
        return GossipEndpoint(host: host, port: Int(port))
    }

    static func write(_ m: MemberMetadata, into w: inout WireWriter) {
        w.string(m.zone)
        w.string(m.rack)
        w.string(m.region)
        w.map(m.attributes)
        w.string(m.httpAddress)
        w.string(m.rpcAddress)
        w.byte(m.protocolVersion)
        w.string(m.buildVersion)
        w.map(m.state)
    }

    static func metadata(_ r: inout GossipWireReader) throws(GossipWireError) -> MemberMetadata {
        MemberMetadata(zone: try r.string(maxLength: 255), rack: try r.string(maxLength: 255), region: try r.string(maxLength: 255),
                       attributes: try r.map(), httpAddress: try r.string(maxLength: 300), rpcAddress: try r.string(maxLength: 300),
                       protocolVersion: try r.byte(), buildVersion: try r.string(maxLength: 255), state: try r.map())
    }

    static func sequence(_ r: inout GossipWireReader) throws(GossipWireError) -> UInt32 {
        let v = try r.varint()
        guard v <= UInt64(UInt32.max) else { throw .malformed("sequence \(v)") }
        return UInt32(v)
    }

    static func statusCode(_ s: MemberStatus) -> UInt8 {
        switch s {
        case .alive: 0
        case .suspect: 1
        case .dead: 2
        case .left: 3
        }
    }

    static func status(_ code: UInt8) -> MemberStatus? {
        switch code {
        case 0: .alive
        case 1: .suspect
        case 2: .dead
        case 3: .left
        default: nil
        }
    }
}
