import PrismCheck

/// A client's request as it travels in a Raft entry: the request id (so the node the client
/// asked can answer it when it applies the entry), the operation and its arguments.
public struct KVCommand: Equatable, Sendable {
    public var request: UInt64
    public var kind: KVOperation.Kind
    public var key: String
    public var value: String?
    public var expected: String?

    /// `id 0x1F kind 0x1F key 0x1F value 0x1F expected`, an absent value as 0x1E.
    public func encoded() -> [UInt8] {
        let fields = [String(request), kind.rawValue, key, value ?? "\u{1E}", expected ?? "\u{1E}"]
        return Array(fields.joined(separator: "\u{1F}").utf8)
    }

    public init(request: UInt64, kind: KVOperation.Kind, key: String, value: String?, expected: String?) {
        self.request = request
        self.kind = kind
        self.key = key
        self.value = value
        self.expected = expected
    }

    public init?(_ bytes: [UInt8]) {
        // Split as bytes (0x1F never occurs inside a UTF-8 sequence): splitting the String would
        // walk grapheme clusters, a cost every applied entry paid.
        let fields = bytes.split(separator: 0x1F, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard fields.count == 5, let request = UInt64(fields[0]), let kind = KVOperation.Kind(rawValue: fields[1]) else { return nil }
        self.init(request: request, kind: kind, key: fields[2], value: fields[3] == "\u{1E}" ? nil : fields[3],
                  expected: fields[4] == "\u{1E}" ? nil : fields[4])
    }
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

    /// The whole state (values and request outcomes) as bytes, in a fixed order.
    public func snapshot() -> [UInt8] {
        var lines = values.sorted { $0.key < $1.key }.map { "v\u{1F}\($0.key)\u{1F}\($0.value)" }
        lines += outcomes.sorted { $0.key < $1.key }.map { "o\u{1F}\($0.key)\u{1F}\($0.value ? 1 : 0)" }
        return Array(lines.joined(separator: "\n").utf8)
    }

    public init() {}

    public init?(snapshot bytes: [UInt8]) {
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let f = line.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 3 else { return nil }
            switch f[0] {
            case "v": values[f[1]] = f[2]
            case "o":
                guard let id = UInt64(f[1]) else { return nil }
                outcomes[id] = f[2] == "1"
            default: return nil
            }
        }
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
