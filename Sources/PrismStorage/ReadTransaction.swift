import CLMDB

/// A read view of the environment. Valid only inside the closure that received it: it must not
/// escape, and must not be used across an `await`.
public class ReadTransaction {
    let txn: OpaquePointer
    let maxKeySize: Int

    init(txn: OpaquePointer, maxKeySize: Int) {
        self.txn = txn
        self.maxKeySize = maxKeySize
    }

    /// The value stored under `key`, copied out, or nil.
    public func get(_ table: Table, _ key: [UInt8]) throws -> [UInt8]? {
        try withValue(table, key) { $0.map { Array($0) } }
    }

    /// Calls `body` with the value under `key` without copying it (nil when absent). The buffer is
    /// valid only during the call.
    public func withValue<T>(
        _ table: Table, _ key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> T
    ) throws -> T {
        try validate(key)
        var data = MDB_val()
        let code: Int32 = key.withUnsafeBytes { raw in
            var k = MDB_val(mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
            return mdb_get(txn, table.handle, &k, &data)
        }
        if code == MDB_NOTFOUND {
            return try body(nil)
        }
        try check(code, "get from \(table.name)")
        let buffer = UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size)
        return try body(buffer)
    }

    /// The value under `key` without copying, valid until this transaction ends (LMDB keeps read
    /// pages mapped for the transaction's life). For hot read paths that revisit the same records.
    public func valueUntilEnd(_ table: Table, _ key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        try withValue(table, key) { $0 }
    }

    /// Visits entries whose key starts with `prefix`, in key order, until `body` returns false.
    /// `from` (a key starting with `prefix`) starts the walk further in.
    public func scan(
        _ table: Table, prefix: [UInt8], from start: [UInt8]? = nil,
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, table.handle, &cursor), "open cursor on \(table.name)")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        var code = ReadTransaction.seek(cursor, to: start ?? prefix, &key, &value)
        while code == MDB_SUCCESS {
            let k = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
            guard k.starts(with: prefix) else { return }
            let v = UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
            let goOn = try body(k, v)
            if !goOn { return }
            code = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        }
        if code != MDB_NOTFOUND { try check(code, "scan \(table.name)") }
    }

    /// The entry with the greatest key that starts with `prefix`, or nil; the buffers are valid
    /// only during `body`.
    public func withLast<T>(
        _ table: Table, prefix: [UInt8],
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, table.handle, &cursor), "open cursor on \(table.name)")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        // Seek past every key with the prefix, then step back one.
        let beyond = prefix + [UInt8](repeating: 0xFF, count: 16)
        var code = ReadTransaction.seek(cursor, to: beyond, &key, &value)
        if code == MDB_NOTFOUND {
            code = mdb_cursor_get(cursor, &key, &value, MDB_LAST)
        } else if code == MDB_SUCCESS {
            code = mdb_cursor_get(cursor, &key, &value, MDB_PREV)
        }
        if code == MDB_NOTFOUND { return nil }
        try check(code, "seek last in \(table.name)")
        let k = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
        guard k.starts(with: prefix) else { return nil }
        return try body(k, UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }

    /// Number of entries in the table.
    public func count(_ table: Table) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(txn, table.handle, &stat), "stat \(table.name)")
        return stat.ms_entries
    }

    /// Positions `cursor` on the first entry at or after `prefix`.
    static func seek(_ cursor: OpaquePointer?, to prefix: [UInt8], _ key: inout MDB_val, _ value: inout MDB_val) -> Int32 {
        prefix.withUnsafeBytes { raw in
            if raw.isEmpty { return mdb_cursor_get(cursor, &key, &value, MDB_FIRST) }
            key = MDB_val(mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
            return mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE)
        }
    }

    func validate(_ key: [UInt8]) throws {
        if key.isEmpty || key.count > maxKeySize {
            throw StorageError.invalidKey(length: key.count, maximum: maxKeySize)
        }
    }
}

