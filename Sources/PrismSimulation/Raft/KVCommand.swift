import PrismCheck
import PrismTransport

/// A client's request as it travels in a Raft entry (Raft dissertation §6.3): the client's session
/// and the request's number in it (so a request applied twice, a duplicated forward or a client's
/// retry, takes effect once), the lowest number the client still waits for (the outcomes below it
/// can be forgotten), the proposer's clock (sessions expire by the log's time, the same on every
/// replica), the operation and its arguments.
public struct KVCommand: Equatable, Sendable {
    /// What the command does: a key-value operation, or a client asking for a session.
    public enum Action: UInt8, Sendable {
        case put = 1, get = 2, cas = 3, openSession = 4
    }

    /// The session the request belongs to (0 for `openSession`: it makes one).
    public var session: UInt64
    /// The request's number within its session; for `openSession`, the client's nonce.
    public var sequence: UInt64
    /// Every request of the session numbered below this one has been answered.
    public var acknowledged: UInt64
    /// The proposing node's clock, milliseconds.
    public var time: UInt64
    public var action: Action
    public var key: String
    public var value: String?
    public var expected: String?

    public init(session: UInt64, sequence: UInt64, acknowledged: UInt64, time: UInt64, action: Action, key: String,
                value: String?, expected: String?) {
        self.session = session
        self.sequence = sequence
        self.acknowledged = acknowledged
        self.time = time
        self.action = action
        self.key = key
        self.value = value
        self.expected = expected
    }

    public init(session: UInt64, sequence: UInt64, acknowledged: UInt64, time: UInt64, kind: KVOperation.Kind, key: String,
                value: String?, expected: String?) {
        self.init(session: session, sequence: sequence, acknowledged: acknowledged, time: time, action: Self.action(kind),
                  key: key, value: value, expected: expected)
    }

    /// A request for a new session; `nonce` lets the client tell its answer from another's.
    public static func openSession(nonce: UInt64, time: UInt64) -> KVCommand {
        KVCommand(session: 0, sequence: nonce, acknowledged: 0, time: time, action: .openSession, key: "", value: nil, expected: nil)
    }

    /// The key-value operation (nil for `openSession`).
    public var kind: KVOperation.Kind? {
        switch action {
        case .put: .put
        case .get: .get
        case .cas: .cas
        case .openSession: nil
        }
    }

    /// Version, session, sequence, acknowledged and time as varints, the action, then key, value
    /// and expected length-prefixed (any text, separators and all, comes back as it went in; an
    /// absent string is a 0 presence byte).
    public func encoded() -> [UInt8] {
        var w = WireWriter(capacity: 40 + key.utf8.count + (value?.utf8.count ?? 0) + (expected?.utf8.count ?? 0))
        w.byte(Self.formatVersion)
        w.varint(session)
        w.varint(sequence)
        w.varint(acknowledged)
        w.varint(time)
        w.byte(action.rawValue)
        w.string(key)
        KVStateMachine.optional(value, into: &w)
        KVStateMachine.optional(expected, into: &w)
        return w.bytes
    }

    public init?(_ bytes: [UInt8]) {
        var r = WireReader<KVDecodingFailure>(bytes)
        do throws(KVDecodingFailure) {
            guard try r.byte() == Self.formatVersion else { return nil }
            let session = try r.varint(), sequence = try r.varint(), acknowledged = try r.varint(), time = try r.varint()
            guard let action = Action(rawValue: try r.byte()) else { return nil }
            let key = try r.string(maxLength: Int(UInt32.max))
            let value = try KVStateMachine.optional(&r), expected = try KVStateMachine.optional(&r)
            guard r.isAtEnd else { return nil }
            self.init(session: session, sequence: sequence, acknowledged: acknowledged, time: time, action: action, key: key,
                      value: value, expected: expected)
        } catch {
            return nil
        }
    }

    /// 2: sessions (1 carried a bare request id).
    static let formatVersion: UInt8 = 2

    static func action(_ kind: KVOperation.Kind) -> Action {
        switch kind {
        case .put: .put
        case .get: .get
        case .cas: .cas
        }
    }
}

/// Why bytes are not a command or a snapshot (never shown: decoding answers nil).
enum KVDecodingFailure: WireDecodingFailure {
    case truncated
    case malformed(String)
}
