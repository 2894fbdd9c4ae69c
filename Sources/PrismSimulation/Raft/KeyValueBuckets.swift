/// The state machine's keys and values, spread by hash over small dictionaries whose number
/// grows with the keys (about `load` per bucket).
///
/// A snapshot takes a copy of the machine while the node goes on applying, and the first write
/// to a bucket after that copies the bucket (copy on write) on the node's event loop. An apply
/// of a thousand puts writes to a thousand buckets: with a fixed 256 it copied nearly every key
/// at once (177 ms at 330,000 keys, measured, long enough for an election); with a bucket per
/// eight keys it copies a few percent of them, and the copying is spread over the next applies.
///
/// The table doubles incrementally, so no single write rehashes every key: while it grows, each
/// insert moves two old buckets into the new table, and a lookup finds a key in the old bucket
/// until that bucket has moved. Old bucket `j` splits into new buckets `j` and `j + count`.
public struct KeyValueBuckets: Sendable {
    /// Keys per bucket, on average, above which the table doubles.
    static let load = 8
    static let initialBuckets = 16

    private var buckets: [[String: String]]
    /// While doubling: the table twice the size, and how many old buckets have moved into it.
    private var grown: [[String: String]]?
    private var moved = 0
    public private(set) var count = 0

    /// Sized for `capacity` keys without growing.
    public init(capacity: Int = 0) {
        var n = Self.initialBuckets
        while n * Self.load < capacity { n <<= 1 }
        buckets = Array(repeating: [:], count: n)
    }

    /// Buckets, counting both tables while the table doubles (for tests and figures).
    public var bucketCount: Int { buckets.count + (grown?.count ?? 0) }

    /// Where `key` lives now: in the new table once its old bucket has moved.
    @inline(__always)
    private func place(_ key: String) -> (inGrown: Bool, index: Int) {
        let hash = key.hashValue
        let old = hash & (buckets.count - 1)
        if grown != nil && old < moved { return (true, hash & (buckets.count * 2 - 1)) }
        return (false, old)
    }

    public func value(_ key: String) -> String? {
        let (inGrown, i) = place(key)
        return inGrown ? grown?[i][key] : buckets[i][key]
    }

    /// Sets `key`; returns the value it replaced.
    @discardableResult
    public mutating func updateValue(_ value: String, forKey key: String) -> String? {
        let (inGrown, i) = place(key)
        let replaced = inGrown ? grown?[i].updateValue(value, forKey: key) ?? nil : buckets[i].updateValue(value, forKey: key)
        if replaced == nil {
            count += 1
            grow()
        }
        return replaced
    }

    /// Removes `key`; returns its value.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> String? {
        let (inGrown, i) = place(key)
        let removed = inGrown ? grown?[i].removeValue(forKey: key) ?? nil : buckets[i].removeValue(forKey: key)
        if removed != nil { count -= 1 }
        return removed
    }

    /// Every bucket of both tables (while the table doubles, the moved old ones are empty).
    public var allBuckets: [[String: String]] { grown.map { buckets + $0 } ?? buckets }

    /// Starts doubling past `load` keys per bucket; while doubling, moves two old buckets. The
    /// doubling ends within `count / 2` inserts, before the new table is over its load.
    private mutating func grow() {
        if grown == nil {
            guard count > buckets.count * Self.load else { return }
            grown = Array(repeating: [:], count: buckets.count * 2)
            moved = 0
        }
        for _ in 0..<2 where grown != nil { moveOneBucket() }
    }

    private mutating func moveOneBucket() {
        let mask = buckets.count * 2 - 1
        let leaving = buckets[moved]
        buckets[moved] = [:]
        for (key, value) in leaving { grown?[key.hashValue & mask][key] = value }
        moved += 1
        if moved == buckets.count, let table = grown {
            grown = nil
            buckets = table
            moved = 0
        }
    }
}
