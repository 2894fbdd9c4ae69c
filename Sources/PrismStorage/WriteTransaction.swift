import CLMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A write view of the environment. Like `ReadTransaction`, it lives only inside the closure that
/// received it. Writes become visible to others when the surrounding commit succeeds.
public final class WriteTransaction: ReadTransaction {
    /// Run in order on the committing thread once this transaction's writes are durable, before
    /// any caller is told; dropped when it aborts (or is replayed). In-memory structures that
    /// mirror the stored state (graph caches, RAM segments) are updated here, never inside the
    /// replayable work itself.
    private(set) var commitHooks: [() -> Void] = []

    /// Registers `hook` to run after this transaction commits (see `commitHooks`).
    public func afterCommit(_ hook: @escaping () -> Void) {
        commitHooks.append(hook)
    }

    /// Stores `value` under `key`, replacing any previous value.
    public func put(_ table: Table, _ key: [UInt8], _ value: [UInt8]) throws {
        try validate(key)
        let code: Int32 = key.withUnsafeBytes { rawKey in
            value.withUnsafeBytes { rawValue in
                var k = MDB_val(mv_size: rawKey.count, mv_data: UnsafeMutableRawPointer(mutating: rawKey.baseAddress))
                var v = MDB_val(mv_size: rawValue.count, mv_data: UnsafeMutableRawPointer(mutating: rawValue.baseAddress))
                return mdb_put(txn, table.handle, &k, &v, 0)
            }
        }
        try check(code, "put into \(table.name)")
    }

    /// Removes `key`; returns whether it existed.
    @discardableResult
    public func delete(_ table: Table, _ key: [UInt8]) throws -> Bool {
        try validate(key)
        let code: Int32 = key.withUnsafeBytes { raw in
            var k = MDB_val(mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
            return mdb_del(txn, table.handle, &k, nil)
        }
        if code == MDB_NOTFOUND { return false }
        try check(code, "delete from \(table.name)")
        return true
    }

    /// Removes every entry whose key starts with `prefix` (and, with `through`, is not above that
    /// key), walking one cursor, at most `limit` of them; returns how many.
    @discardableResult
    public func deletePrefix(_ table: Table, _ prefix: [UInt8], through last: [UInt8]? = nil, limit: Int = .max) throws -> Int {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, table.handle, &cursor), "open cursor on \(table.name)")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        var removed = 0
        var code = ReadTransaction.seek(cursor, to: prefix, &key, &value)
        while code == MDB_SUCCESS, removed < limit {
            let k = UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)
            guard k.starts(with: prefix) else { break }
            if let last, !k.lexicographicallyPrecedes(last), !k.elementsEqual(last) { break }
            try check(mdb_cursor_del(cursor, 0), "delete range from \(table.name)")
            removed += 1
            // After a delete the cursor already points at the next entry.
            code = mdb_cursor_get(cursor, &key, &value, MDB_GET_CURRENT)
        }
        if code != MDB_SUCCESS && code != MDB_NOTFOUND && code != Int32(EINVAL) {
            try check(code, "delete range from \(table.name)")
        }
        return removed
    }

    /// Removes every entry of the table.
    public func clear(_ table: Table) throws {
        try check(mdb_drop(txn, table.handle, 0), "clear \(table.name)")
    }
}
