import PrismTransport

/// The replicated state machine: a string map with put and compare-and-set.
///
/// Keys and request outcomes are spread over `bucketCount` small maps by hash, not held in one
/// map each. A snapshot takes a copy of the machine while the node goes on applying; with one
/// map, the first apply after that copied every key (copy on write) on the node's event loop,
/// tens of milliseconds at 100,000 keys. With buckets only the bucket written is copied, so the
/// copying is spread over the applies that follow and no single one waits for all of it.
public struct KVStateMachine: Sendable {
    static let bucketCount = 256
    private var valueBuckets = [[String: String]](repeating: [:], count: KVStateMachine.bucketCount)
    /// Each request's outcome: a request applied twice (a forwarded proposal the network
    /// duplicated, a client retry) takes effect once and answers the same.
    private var outcomeBuckets = [[UInt64: Bool]](repeating: [:], count: KVStateMachine.bucketCount)

    public init() {}

    @inline(__always)
    private static func bucket(_ key: String) -> Int { key.hashValue & (bucketCount - 1) }

    @inline(__always)
    private static func bucket(_ request: UInt64) -> Int {
        // Fibonacci hashing: request ids are often sequential, and their top bits then spread.
        Int(truncatingIfNeeded: (request &* 0x9E37_79B9_7F4A_7C15) >> 56) & (bucketCount - 1)
    }

    /// The value held for `key`.
    public func value(_ key: String) -> String? { valueBuckets[Self.bucket(key)][key] }

    /// Every key and value, as one map (built on each call: for checks and tests).
    public var values: [String: String] {
        var all: [String: String] = [:]
        all.reserveCapacity(counts.values)
        for bucket in valueBuckets { all.merge(bucket) { a, _ in a } }
        return all
    }

    /// Applies a command; returns whether it succeeded (a cas against another value fails).
    public mutating func apply(_ command: KVCommand) -> Bool {
        let o = Self.bucket(command.request)
        if let earlier = outcomeBuckets[o][command.request] { return earlier }
        let success = effect(command)
        outcomeBuckets[o][command.request] = success
        return success
    }

    /// Keys held and request outcomes remembered (what a snapshot's size grows with).
    public var counts: (values: Int, outcomes: Int) {
        (valueBuckets.reduce(0) { $0 + $1.count }, outcomeBuckets.reduce(0) { $0 + $1.count })
    }

    static let snapshotVersion: UInt8 = 1

    /// The whole state (values and request outcomes) as bytes: version, the values as
    /// length-prefixed key and value, then the outcomes as request id and flag. `ordered`: sorted
    /// by key and by id, so replicas that applied the same entries give the same bytes (what the
    /// simulation compares); otherwise in the maps' own order (cheaper, and decodes the same).
    public func snapshot(ordered: Bool = true) -> [UInt8] {
        let (valueCount, outcomeCount) = counts
        var size = 16 + outcomeCount * 6
        for bucket in valueBuckets {
            for (k, v) in bucket { size += k.utf8.count + v.utf8.count + 4 }
        }
        var w = WireWriter(capacity: size)
        w.byte(Self.snapshotVersion)
        w.varint(UInt64(valueCount))
        Self.forEach(valueBuckets, ordered: ordered) { key, value in
            w.string(key)
            w.string(value)
        }
        w.varint(UInt64(outcomeCount))
        Self.forEach(outcomeBuckets, ordered: ordered) { id, success in
            w.varint(id)
            w.flag(success)
        }
        return w.bytes
    }

    /// Every entry of the buckets: sorted by key, or in the buckets' own order.
    private static func forEach<Key: Comparable, Value>(_ buckets: [[Key: Value]], ordered: Bool, _ body: (Key, Value) -> Void) {
        if ordered {
            for (key, value) in buckets.joined().sorted(by: { $0.key < $1.key }) { body(key, value) }
        } else {
            for bucket in buckets {
                for (key, value) in bucket { body(key, value) }
            }
        }
    }

    /// The state `snapshot()` wrote; nil for bytes it did not write (truncated, another version,
    /// a key or request id twice).
    public init?(snapshot bytes: [UInt8]) {
        var r = WireReader<KVDecodingFailure>(bytes)
        do throws(KVDecodingFailure) {
            guard try r.byte() == Self.snapshotVersion else { return nil }
            let keys = try r.count(minimumSize: 2)
            for _ in 0..<keys {
                let key = try r.string(maxLength: Int(UInt32.max))
                let value = try r.string(maxLength: Int(UInt32.max))
                guard valueBuckets[Self.bucket(key)].updateValue(value, forKey: key) == nil else { return nil }
            }
            let outcomes = try r.count(minimumSize: 2)
            for _ in 0..<outcomes {
                let id = try r.varint()
                guard outcomeBuckets[Self.bucket(id)].updateValue(try r.flag(), forKey: id) == nil else { return nil }
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
            put(command.key, command.value)
            return true
        case .cas:
            guard value(command.key) == command.expected else { return false }
            put(command.key, command.value)
            return true
        case .get:
            return true
        }
    }

    private mutating func put(_ key: String, _ value: String?) {
        valueBuckets[Self.bucket(key)][key] = value
    }
}
