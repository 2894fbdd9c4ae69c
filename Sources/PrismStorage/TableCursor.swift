import CLMDB

/// A positioned walk over one table inside a read transaction, for callers that seek repeatedly
/// (skipping through postings). Keys and values are valid until the transaction ends. Like the
/// transaction itself, it must not outlive the closure the transaction was handed to.
public final class TableCursor {
    private var cursor: OpaquePointer?
    private var key = MDB_val()
    private var value = MDB_val()

    public init(_ txn: ReadTransaction, _ table: Table) throws {
        try check(mdb_cursor_open(txn.txn, table.handle, &cursor), "open cursor on \(table.name)")
    }

    deinit { mdb_cursor_close(cursor) }

    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    private var entry: Entry {
        (UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size), UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }

    private func result(_ code: Int32, _ operation: String) throws -> Entry? {
        if code == MDB_NOTFOUND { return nil }
        try check(code, operation)
        return entry
    }

    /// The first entry with a key ≥ `target`.
    public func seek(_ target: [UInt8]) throws -> Entry? {
        try result(ReadTransaction.seek(cursor, to: target, &key, &value), "seek")
    }

    public func next() throws -> Entry? {
        try result(mdb_cursor_get(cursor, &key, &value, MDB_NEXT), "next")
    }

    public func previous() throws -> Entry? {
        try result(mdb_cursor_get(cursor, &key, &value, MDB_PREV), "previous")
    }

    /// The last entry of the table.
    public func last() throws -> Entry? {
        try result(mdb_cursor_get(cursor, &key, &value, MDB_LAST), "last")
    }
}
