import CLMDB

/// Errors surfaced by the storage layer. `MDB_MAP_FULL` never reaches callers: the environment grows
/// its map and retries instead.
public enum StorageError: Error, CustomStringConvertible, Sendable, Equatable {
    /// An LMDB call failed; `operation` names the call, `code` is LMDB's return code.
    case lmdb(operation: String, code: Int32)
    /// Another process holds the data directory.
    case dataDirectoryInUse(path: String, holder: String)
    /// The data directory cannot be created or opened.
    case dataDirectoryUnusable(path: String, reason: String)
    /// A key is empty or longer than LMDB's limit.
    case invalidKey(length: Int, maximum: Int)
    /// The writer was shut down before the request ran.
    case writerStopped
    /// The environment has been closed.
    case closed
    /// The map cannot grow past the configured maximum.
    case mapSizeLimitReached(bytes: Int)

    public var description: String {
        switch self {
        case .lmdb(let operation, let code):
            return "LMDB \(operation) failed: \(String(cString: mdb_strerror(code))) (code \(code))"
        case .dataDirectoryInUse(let path, let holder):
            return "data directory '\(path)' is already in use by another prism process (\(holder)); stop it or choose another --data-dir"
        case .dataDirectoryUnusable(let path, let reason):
            return "data directory '\(path)' cannot be used: \(reason)"
        case .invalidKey(let length, let maximum):
            return "storage key of \(length) bytes is invalid (1...\(maximum) bytes allowed)"
        case .writerStopped:
            return "the storage writer has stopped (node shutting down)"
        case .closed:
            return "the storage environment is closed"
        case .mapSizeLimitReached(let bytes):
            return "the storage map cannot grow past its limit of \(bytes) bytes; raise storage.max_map_size"
        }
    }

    var isMapFull: Bool {
        if case .lmdb(_, let code) = self { return code == MDB_MAP_FULL }
        return false
    }
}

@inline(__always)
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws {
    if code != MDB_SUCCESS { throw StorageError.lmdb(operation: operation(), code: code) }
}
