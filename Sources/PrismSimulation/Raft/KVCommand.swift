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

/// The replicated state machine: a string map with put and compare-and-set.
public struct KVStateMachine: Sendable {
    public private(set) var values: [String: String] = [:]
    /// Each request's outcome: a request applied twice (a forwarded proposal the network
    /// duplicated, a client retry) takes effect once and answers the same.
    private var outcomes: [UInt64: Bool] = [:]

    /// Applies a command; returns whether it succeeded (a cas against another value fails).
    public mutating func apply(_ command: KVCommand) -> Bool {
        if let earlier = outcomes[command.request] { return earlier }
        let success = effect(command)
        outcomes[command.request] = success
        return success
    }

    /// Keys held and request outcomes remembered (what a snapshot's size grows with).
    public var counts: (values: Int, outcomes: Int) { (values.count, outcomes.count) }

    static let snapshotVersion: UInt8 = 1

    /// The whole state (values and request outcomes) as bytes: version, the values as
    /// length-prefixed key and value, then the outcomes as request id and flag. `ordered`: sorted
    /// by key and by id, so replicas that applied the same entries give the same bytes (what the
    /// simulation compares); otherwise in the maps' own order (cheaper, and decodes the same).
    public func snapshot(ordered: Bool = true) -> [UInt8] {
        var size = 16 + outcomes.count * 6
        for (k, v) in values { size += k.utf8.count + v.utf8.count + 4 }
        var w = WireWriter(capacity: size)
        w.byte(Self.snapshotVersion)
        w.varint(UInt64(values.count))
        if ordered {
            for (k, v) in values.sorted(by: { $0.key < $1.key }) {
                w.string(k)
                w.string(v)
            }
        } else {
            for (k, v) in values {
                w.string(k)
                w.string(v)
            }
        }
        w.varint(UInt64(outcomes.count))
        for (id, success) in ordered ? outcomes.sorted(by: { $0.key < $1.key }) : Array(outcomes) {
            w.varint(id)
            w.flag(success)
        }
        return w.bytes
    }

    public init() {}

    /// The state `snapshot()` wrote; nil for bytes it did not write (truncated, another version).
    public init?(snapshot bytes: [UInt8]) {
        var r = WireReader<KVDecodingFailure>(bytes)
        do throws(KVDecodingFailure) {
            guard try r.byte() == Self.snapshotVersion else { return nil }
            let valueCount = try r.count(minimumSize: 2)
            values.reserveCapacity(valueCount)
            for _ in 0..<valueCount {
                let key = try r.string(maxLength: Int(UInt32.max))
                values[key] = try r.string(maxLength: Int(UInt32.max))
            }
            let outcomeCount = try r.count(minimumSize: 2)
            outcomes.reserveCapacity(outcomeCount)
            for _ in 0..<outcomeCount {
                let id = try r.varint()
                outcomes[id] = try r.flag()
            }
            guard r.isAtEnd else { return nil }
        } catch {
            return nil
        }
    }

    static func optional(_ value: String?, into w: inout WireWriter) {
        w.flag(value != nil)
        if let value { w.string(value) }
    }

    static func optional(_ r: inout WireReader<KVDecodingFailure>) throws(KVDecodingFailure) -> String? {
        try r.flag() ? try r.string(maxLength: Int(UInt32.max)) : nil
    }

    private mutating func effect(_ command: KVCommand) -> Bool {
        switch command.kind {
        case .put:
            values[command.key] = command.value
            return true
        case .cas:
            guard values[command.key] == command.expected else { return false }
            values[command.key] = command.value
            return true
        case .get:
            return true
        }
    }
}
