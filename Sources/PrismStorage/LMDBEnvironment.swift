import CLMDB
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The node's one LMDB environment: the data directory's lock, the memory map, and the named
/// tables. Transactions are handed out only inside synchronous closures so none spans an `await`.
/// The map grows by itself: `MDB_MAP_FULL` is retried after doubling the map, never surfaced.
public final class LMDBEnvironment: @unchecked Sendable {
    public let directory: String
    public let options: StorageOptions
    let env: OpaquePointer
    let maxKeySize: Int
    /// Every transaction holds it shared, a resize exclusively (LMDB requires that no transaction is
    /// open in the process while the map size changes).
    private let resizeLock = ReadWriteLock()
    private let state = StateBox()
    private let lock: DataDirectoryLock
    private let logger: Logger

    public init(directory: String, options: StorageOptions = StorageOptions(), logger: Logger = Logger(label: "prism.storage")) throws {
        try LMDBEnvironment.ensureDirectory(directory)
        self.lock = try DataDirectoryLock(directory: directory)
        self.directory = directory
        self.options = options
        self.logger = logger
        var handle: OpaquePointer?
        try check(mdb_env_create(&handle), "env_create")
        guard let handle else { throw StorageError.lmdb(operation: "env_create", code: -1) }
        do {
            try check(mdb_env_set_maxdbs(handle, MDB_dbi(options.maxTables)), "set_maxdbs")
            try check(mdb_env_set_maxreaders(handle, UInt32(options.maxReaders)), "set_maxreaders")
            // An existing environment may already be larger than the configured start size.
            try check(mdb_env_set_mapsize(handle, options.mapSize), "set_mapsize")
            let flags = UInt32(MDB_NOTLS) | UInt32(MDB_NORDAHEAD) | options.syncMode.environmentFlags
            try check(mdb_env_open(handle, directory, flags, 0o644), "env_open \(directory)")
        } catch {
            mdb_env_close(handle)
            lock.release()
            throw error
        }
        self.env = handle
        self.maxKeySize = Int(mdb_env_get_maxkeysize(handle))
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        state.mapSize = info.me_mapsize
        logger.info("storage opened", metadata: [
            "dir": "\(directory)", "map_bytes": "\(info.me_mapsize)", "sync": "\(options.syncMode.rawValue)",
        ])
    }

    private static func ensureDirectory(_ path: String) throws {
        var isDir = stat()
        if stat(path, &isDir) == 0 {
            if (isDir.st_mode & S_IFMT) != S_IFDIR {
                throw StorageError.dataDirectoryUnusable(path: path, reason: "it exists and is not a directory")
            }
            return
        }
        // Create parents one by one, like `mkdir -p`.
        var built = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            built += "/" + part
            if mkdir(built, 0o755) != 0 && errno != EEXIST {
                throw StorageError.dataDirectoryUnusable(path: path, reason: "cannot create \(built): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Current size of the memory map in bytes.
    public var mapSize: Int { resizeLock.withShared { state.mapSize } }

    /// Opens (creating if needed) a named table.
    public func table(_ name: String) throws -> Table {
        try write { txn in
            var dbi: MDB_dbi = 0
            try check(mdb_dbi_open(txn.txn, name, UInt32(MDB_CREATE), &dbi), "open table \(name)")
            return Table(name: name, handle: dbi)
        }
    }

    /// Runs `body` in a read transaction.
    public func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        try resizeLock.withShared {
            guard !state.closed else { throw StorageError.closed }
            var txn: OpaquePointer?
            try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "begin read transaction")
            guard let txn else { throw StorageError.closed }
            defer { mdb_txn_abort(txn) }
            return try body(ReadTransaction(txn: txn, maxKeySize: maxKeySize))
        }
    }

    /// Runs `body` in its own write transaction and commits it (one sync per call). For many small
    /// writes use `GroupCommitWriter`, which shares one commit among many requests.
    /// `body` may run more than once (after a map resize) and must touch only the transaction.
    public func write<T>(_ body: (WriteTransaction) throws -> T) throws -> T {
        while true {
            do {
                return try resizeLock.withShared {
                    guard !state.closed else { throw StorageError.closed }
                    var txn: OpaquePointer?
                    try check(mdb_txn_begin(env, nil, 0, &txn), "begin write transaction")
                    guard let txn else { throw StorageError.closed }
                    let result: T
                    let write = WriteTransaction(txn: txn, maxKeySize: maxKeySize)
                    do {
                        result = try body(write)
                    } catch {
                        mdb_txn_abort(txn)
                        throw error
                    }
                    try check(mdb_txn_commit(txn), "commit")
                    for hook in write.commitHooks { hook() }
                    return result
                }
            } catch let error as StorageError where error.isMapFull {
                try grow()
            }
        }
    }

    /// Doubles the map. Called with no transaction open by this thread; waits for all others.
    func grow() throws {
        try resizeLock.withExclusive {
            let current = state.mapSize
            guard current < options.maxMapSize else {
                throw StorageError.mapSizeLimitReached(bytes: options.maxMapSize)
            }
            let next = min(current * 2, options.maxMapSize)
            try check(mdb_env_set_mapsize(env, next), "set_mapsize \(next)")
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            state.mapSize = info.me_mapsize
            logger.notice("storage map grown", metadata: ["from_bytes": "\(current)", "to_bytes": "\(info.me_mapsize)"])
        }
    }

    /// Begins a raw write transaction for the group-commit writer (which owns the retry loop).
    func beginWrite(parent: OpaquePointer?) throws -> OpaquePointer {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, parent, 0, &txn), parent == nil ? "begin write transaction" : "begin nested transaction")
        guard let txn else { throw StorageError.closed }
        return txn
    }

    func withSharedResizeLock<T>(_ body: () throws -> T) throws -> T {
        try resizeLock.withShared {
            guard !state.closed else { throw StorageError.closed }
            return try body()
        }
    }

    /// Bytes used by the data file (pages in use times the page size).
    public func usedBytes() -> Int {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(env, &info)
        mdb_env_stat(env, &stat)
        return (info.me_last_pgno + 1) * Int(stat.ms_psize)
    }

    /// Makes every commit so far durable, whatever the sync mode (with `nometasync` a commit's
    /// meta page otherwise waits for the next commit's sync).
    public func sync() throws {
        try resizeLock.withShared {
            guard !state.closed else { throw StorageError.closed }
            try check(mdb_env_sync(env, 1), "sync")
        }
    }

    /// Flushes and closes the environment, then releases the directory lock. Idempotent.
    public func close() {
        resizeLock.withExclusive {
            guard !state.closed else { return }
            state.closed = true
            mdb_env_sync(env, 1)
            mdb_env_close(env)
            lock.release()
            logger.info("storage closed", metadata: ["dir": "\(directory)"])
        }
    }

    deinit { close() }
}

/// Mutable fields of `LMDBEnvironment`, only touched under its resize lock.
private final class StateBox: @unchecked Sendable {
    var mapSize = 0
    var closed = false
}
