import CLMDB

/// How hard a commit pushes data to the disk before it returns.
public enum SyncMode: String, Sendable, CaseIterable {
    /// fsync data and meta page on every commit: an acknowledged write survives power loss.
    case full
    /// fsync data but not the meta page: a power loss may undo the last commit, never corrupt.
    case nometasync
    /// No fsync: survives a process crash (the page cache holds the data), not a power loss.
    case nosync

    var environmentFlags: UInt32 {
        switch self {
        case .full: return 0
        case .nometasync: return UInt32(MDB_NOMETASYNC)
        case .nosync: return UInt32(MDB_NOSYNC)
        }
    }
}
