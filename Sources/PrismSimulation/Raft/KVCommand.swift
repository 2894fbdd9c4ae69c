import PrismCheck
import PrismTransport

/// A client's request as it travels in a Raft entry: the request id (so the node the client
/// asked can answer it when it applies the entry), the operation and its arguments.
public struct KVCommand: Equatable, Sendable {
    public var request: UInt64
    public var kind: KVOperation.Kind
    public var key: String
    public var value: String?
    public var expected: String?

    public init(request: UInt64, kind: KVOperation.Kind, key: String, value: String?, expected: String?) {
        self.request = request
        self.kind = kind
        self.key = key
        self.value = value
        self.expected = expected
    }

    /// Version, request id, kind, then key, value and expected length-prefixed (any text,
    /// separators and all, comes back as it went in; an absent string is a 0 presence byte).
    public func encoded() -> [UInt8] {
        var w = WireWriter(capacity: 24 + key.utf8.count + (value?.utf8.count ?? 0) + (expected?.utf8.count ?? 0))
        w.byte(Self.formatVersion)
        w.varint(request)
        w.byte(Self.code(kind))
        w.string(key)
        KVStateMachine.optional(value, into: &w)
        KVStateMachine.optional(expected, into: &w)
        return w.bytes
    }

    public init?(_ bytes: [UInt8]) {
        var r = WireReader<KVDecodingFailure>(bytes)
        do throws(KVDecodingFailure) {
            guard try r.byte() == Self.formatVersion else { return nil }
            let request = try r.varint()
            guard let kind = Self.kind(try r.byte()) else { return nil }
            let key = try r.string(maxLength: Int(UInt32.max))
            let value = try KVStateMachine.optional(&r), expected = try KVStateMachine.optional(&r)
            guard r.isAtEnd else { return nil }
            self.init(request: request, kind: kind, key: key, value: value, expected: expected)
        } catch {
            return nil
        }
    }

    static let formatVersion: UInt8 = 1

    static func code(_ kind: KVOperation.Kind) -> UInt8 {
        switch kind {
        case .put: 1
        case .get: 2
        case .cas: 3
        }
    }

    static func kind(_ code: UInt8) -> KVOperation.Kind? {
        switch code {
        case 1: .put
        case 2: .get
        case 3: .cas
        default: nil
        }
    }
}

/// Why bytes are not a command or a snapshot (never shown: decoding answers nil).
enum KVDecodingFailure: WireDecodingFailure {
    case truncated
    case malformed(String)
}
