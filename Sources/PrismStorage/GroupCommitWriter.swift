import CLMDB
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Batches concurrent write requests into one LMDB transaction and one sync, and completes each
/// request only after that commit is durable. One thread owns the write transaction (LMDB allows
/// one writer at a time anyway) and drains the queue: while it syncs, new requests pile up and go
/// into the next batch, so throughput grows with concurrency instead of being capped by fsync.
///
/// A request that throws is rolled back alone and its caller gets the error, while the rest of the
/// batch commits (see `runBatch`).
public final class GroupCommitWriter: @unchecked Sendable {
    public struct Statistics: Sendable, Equatable {
        /// Synced commits made.
        public var commits: Int = 0
        /// Requests that committed.
        public var committedRequests: Int = 0
        /// Requests that threw and were rolled back alone.
        public var failedRequests: Int = 0
        /// Largest batch so far.
        public var largestBatch: Int = 0
    }

    private struct Request {
        /// Runs the work; returns what completes the caller once the batch is durable.
        let run: (WriteTransaction) throws -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

    public let environment: LMDBEnvironment
    public let maxBatch: Int
    private let logger: Logger
    private let lock = ConditionLock()
    private var queue: [Request] = []
    private var stopping = false
    private var stopped = false
    private var statistics = Statistics()
    private var thread: pthread_t?

    public init(environment: LMDBEnvironment, maxBatch: Int = 4096, logger: Logger = Logger(label: "prism.storage.writer")) {
        self.environment = environment
        self.maxBatch = max(1, maxBatch)
        self.logger = logger
        let unmanaged = Unmanaged.passRetained(self)
        var handle = pthread_t()
        let created = pthread_create(&handle, nil, { argument in
            guard let argument else { return nil }
            let writer = Unmanaged<GroupCommitWriter>.fromOpaque(argument).takeRetainedValue()
            writer.runLoop()
            return nil
        }, unmanaged.toOpaque())
        if created == 0 {
            thread = handle
        } else {
            unmanaged.release()
            stopped = true
            logger.critical("cannot start the storage writer thread", metadata: ["errno": "\(created)"])
        }
    }

    /// Runs `work` inside the next batch and returns its result once the batch is durable.
    /// `work` may run more than once (a map resize replays the batch) and must touch only the
    /// transaction it is given.
    public func submit<T: Sendable>(_ work: @escaping @Sendable (WriteTransaction) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let request = Request(
                run: { txn in
                    let value = try work(txn)
                    return { continuation.resume(returning: value) }
                },
                fail: { continuation.resume(throwing: $0) }
            )
            enqueue(request)
        }
    }

    /// Callback form of `submit`, for event-loop code: `completion` runs on the writer thread once
    /// the batch is durable (or failed); hop to your own thread from there.
    public func submit<T: Sendable>(_ work: @escaping @Sendable (WriteTransaction) throws -> T,
                                    completion: @escaping @Sendable (Result<T, any Error>) -> Void) {
        enqueue(Request(
            run: { txn in
                let value = try work(txn)
                return { completion(.success(value)) }
            },
            fail: { completion(.failure($0)) }
        ))
    }

    /// Blocking form of `submit` for callers outside Swift concurrency (benchmarks, tools).
    public func submitAndWait<T: Sendable>(_ work: @escaping @Sendable (WriteTransaction) throws -> T) throws -> T {
        let done = ConditionLock()
        let box = ResultBox<T>()
        let request = Request(
            run: { txn in
                let value = try work(txn)
                return { done.withLock { box.result = .success(value) }; done.broadcast() }
            },
            fail: { error in done.withLock { box.result = .failure(error) }; done.broadcast() }
        )
        enqueue(request)
        let result = done.wait(until: { box.result != nil }, then: { box.result })
        guard let result else { throw StorageError.writerStopped }
        return try result.get()
    }

    private func enqueue(_ request: Request) {
        let accepted: Bool = lock.withLock {
            guard !stopping else { return false }
            queue.append(request)
            return true
        }
        if accepted { lock.broadcast() } else { request.fail(StorageError.writerStopped) }
    }

    public var stats: Statistics { lock.withLock { statistics } }

    /// Finishes every queued request, then stops the thread. Later submissions fail with
    /// `writerStopped`. Idempotent.
    public func shutdown() {
        let handle: pthread_t? = lock.withLock {
            stopping = true
            let h = thread
            thread = nil
            return h
        }
        lock.broadcast()
        if let handle { pthread_join(handle, nil) }
    }

    private func runLoop() {
        while true {
            let batch: [Request]? = lock.wait(until: { !queue.isEmpty || stopping }) {
                if queue.isEmpty { return nil }
                let n = min(queue.count, maxBatch)
                let taken = Array(queue.prefix(n))
                queue.removeFirst(n)
                return taken
            }
            guard let batch else { break }
            commit(batch)
        }
        lock.withLock { stopped = true }
    }

    private func commit(_ batch: [Request]) {
        while true {
            do {
                let (completions, failures, hooks) = try environment.withSharedResizeLock {
                    try runBatch(batch)
                }
                // Statistics first, so a caller that was just completed reads its own request in them.
                lock.withLock {
                    statistics.commits += 1
                    statistics.committedRequests += completions.count
                    statistics.failedRequests += failures.count
                    statistics.largestBatch = max(statistics.largestBatch, batch.count)
                }
                for hook in hooks { hook() }
                for complete in completions { complete() }
                for (request, error) in failures { request.fail(error) }
                return
            } catch let error as StorageError where error.isMapFull {
                do {
                    try environment.grow()
                } catch {
                    logger.error("storage map cannot grow; failing batch", metadata: ["error": "\(error)", "requests": "\(batch.count)"])
                    for request in batch { request.fail(error) }
                    return
                }
            } catch {
                logger.error("storage commit failed", metadata: ["error": "\(error)", "requests": "\(batch.count)"])
                for request in batch { request.fail(error) }
                return
            }
        }
    }

    /// One attempt at the batch. Requests run straight in one transaction; when one throws, the
    /// transaction is abandoned and the batch replayed without it (nested LMDB transactions would
    /// isolate it too, but each costs a 2 MiB dirty-list allocation, which caps throughput). A batch
    /// with many failing requests switches to nested transactions so replays stay bounded.
    /// Throws (with everything aborted) on map-full or on a failure of the outer transaction.
    private func runBatch(_ batch: [Request]) throws -> ([@Sendable () -> Void], [(Request, any Error)], [() -> Void]) {
        var excluded: [Int: any Error] = [:]
        while true {
            let useNested = excluded.count >= GroupCommitWriter.replayLimit
            let parent = try environment.beginWrite(parent: nil)
            var completions: [@Sendable () -> Void] = []
            completions.reserveCapacity(batch.count)
            var hooks: [() -> Void] = []
            var failures: [(Request, any Error)] = []
            var replay = false
            for (index, request) in batch.enumerated() {
                if let error = excluded[index] {
                    failures.append((request, error))
                    continue
                }
                if useNested {
                    if let failure = try runNested(request, parent: parent, into: &completions, hooks: &hooks) {
                        failures.append((request, failure))
                    }
                    continue
                }
                do {
                    let write = WriteTransaction(txn: parent, maxKeySize: environment.maxKeySize)
                    completions.append(try request.run(write))
                    hooks += write.commitHooks
                } catch let error as StorageError where error.isMapFull {
                    mdb_txn_abort(parent)
                    throw error
                } catch {
                    excluded[index] = error
                    replay = true
                    break
                }
            }
            if replay {
                mdb_txn_abort(parent)
                continue
            }
            try check(mdb_txn_commit(parent), "commit")
            return (completions, failures, hooks)
        }
    }

    /// Failures in one batch after which the rest of it runs in nested transactions.
    static let replayLimit = 4

    /// Runs one request in a nested transaction; returns its own error, if any.
    private func runNested(_ request: Request, parent: OpaquePointer, into completions: inout [@Sendable () -> Void],
                           hooks: inout [() -> Void]) throws -> (any Error)? {
        let child: OpaquePointer
        do {
            child = try environment.beginWrite(parent: parent)
        } catch {
            mdb_txn_abort(parent)
            throw error
        }
        let complete: @Sendable () -> Void
        let write = WriteTransaction(txn: child, maxKeySize: environment.maxKeySize)
        do {
            complete = try request.run(write)
        } catch let error as StorageError where error.isMapFull {
            mdb_txn_abort(child)
            mdb_txn_abort(parent)
            throw error
        } catch {
            mdb_txn_abort(child)
            return error
        }
        // A failed commit frees the child; the batch is retried whole (after growing on map-full).
        let code = mdb_txn_commit(child)
        if code != MDB_SUCCESS {
            mdb_txn_abort(parent)
            throw StorageError.lmdb(operation: "commit nested transaction", code: code)
        }
        completions.append(complete)
        hooks += write.commitHooks
        return nil
    }

    deinit { shutdown() }
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
