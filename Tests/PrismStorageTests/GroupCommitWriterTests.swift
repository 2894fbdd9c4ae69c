import PrismStorage
import Synchronization
import PrismTestSupport
import Testing

@Suite("Group-commit writer")
struct GroupCommitWriterTests {
    struct Refused: Error, Equatable {}

    final class HookLog: Sendable {
        let runs = Mutex<[Int: [Bool]]>([:])
    }

    @Test func concurrentWritersShareCommitsAndAllLand() async throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        let table = try env.table("t")
        let writer = GroupCommitWriter(environment: env)
        let writers = 64, perWriter = 20
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    for i in 0..<perWriter {
                        try await writer.submit { txn in try txn.put(table, Array("\(w)-\(i)".utf8), [UInt8(i)]) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let stats = writer.stats
        #expect(stats.committedRequests == writers * perWriter)
        // With 64 concurrent writers, requests must have shared syncs.
        #expect(stats.commits < stats.committedRequests)
        #expect(stats.largestBatch > 1)
        writer.shutdown()
        env.close()
        let reopened = try LMDBEnvironment(directory: dir.path)
        defer { reopened.close() }
        let t = try reopened.table("t")
        #expect(try reopened.read { txn in try txn.count(t) } == writers * perWriter)
    }

    /// `count` concurrent requests, every `failEvery`-th of which writes and then throws. A few
    /// failures in a batch are replayed away; many switch the batch to nested transactions. Either
    /// way exactly the requests that did not throw must land, and each caller learns its outcome.
    @Test(arguments: [(40, 4), (200, 2)])
    func failingRequestsRollBackAloneAndOthersCommit(count: Int, failEvery: Int) async throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        defer { env.close() }
        let table = try env.table("t")
        let writer = GroupCommitWriter(environment: env)
        defer { writer.shutdown() }
        // Commit hooks: once per committed request, after the commit (its write is visible to a
        // new reader), never for a request that threw or for an attempt that was replayed.
        let hookRuns = HookLog()
        let succeeded = await withTaskGroup(of: Int?.self, returning: Set<Int>.self) { group in
            for i in 0..<count {
                group.addTask {
                    do {
                        try await writer.submit { txn in
                            try txn.put(table, Array("k\(i)".utf8), [1])
                            txn.afterCommit {
                                let visible = (try? env.read { try $0.get(table, Array("k\(i)".utf8)) }) == [1]
                                hookRuns.runs.withLock { $0[i, default: []].append(visible) }
                            }
                            if i % failEvery == 0 { throw Refused() }
                        }
                        return i
                    } catch {
                        return nil
                    }
                }
            }
            return await group.reduce(into: []) { if let i = $1 { $0.insert(i) } }
        }
        let expected = Set((0..<count).filter { $0 % failEvery != 0 })
        #expect(succeeded == expected)
        #expect(try env.read { txn in try txn.count(table) } == expected.count)
        #expect(try env.read { txn in try txn.get(table, Array("k0".utf8)) } == nil)
        #expect(try env.read { txn in try txn.get(table, Array("k1".utf8)) } == [1])
        #expect(writer.stats.failedRequests == count - expected.count)
        let runs = hookRuns.runs.withLock { $0 }
        #expect(Set(runs.keys) == expected)
        #expect(runs.values.allSatisfy { $0 == [true] })
    }

    @Test func directWritesRunCommitHooksOnlyAfterCommitting() throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        defer { env.close() }
        let table = try env.table("t")
        var seen: [UInt8]?? = .none
        try env.write { txn in
            try txn.put(table, [1], [7])
            txn.afterCommit { seen = .some(try? env.read { try $0.get(table, [1]) }) }
        }
        #expect(seen == .some([7]))
        var ran = false
        #expect(throws: Refused.self) {
            try env.write { txn in
                txn.afterCommit { ran = true }
                throw Refused()
            }
        }
        #expect(!ran)
    }

    @Test func resultsAndErrorsReachTheirCaller() async throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        defer { env.close() }
        let table = try env.table("t")
        let writer = GroupCommitWriter(environment: env)
        defer { writer.shutdown() }
        let value = try await writer.submit { txn -> Int in
            try txn.put(table, [1], [2])
            return 42
        }
        #expect(value == 42)
        await #expect(throws: Refused.self) { try await writer.submit { _ in throw Refused() } }
        #expect(try writer.submitAndWait { txn in try txn.get(table, [1]) } == [2])
    }

    @Test func batchesGrowTheMapWhenFull() async throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path, options: StorageOptions(mapSize: 1 << 20))
        defer { env.close() }
        let table = try env.table("t")
        let writer = GroupCommitWriter(environment: env)
        defer { writer.shutdown() }
        let value = [UInt8](repeating: 3, count: 2048)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<16 {
                group.addTask {
                    for i in 0..<100 {
                        try await writer.submit { txn in try txn.put(table, Array("\(w)/\(i)".utf8), value) }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(env.mapSize > 1 << 20)
        #expect(try env.read { txn in try txn.count(table) } == 1600)
    }

    @Test func shutdownDrainsQueuedWorkAndRefusesNewWork() async throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        defer { env.close() }
        let table = try env.table("t")
        let writer = GroupCommitWriter(environment: env)
        try await writer.submit { txn in try txn.put(table, [9], [9]) }
        writer.shutdown()
        await #expect(throws: StorageError.writerStopped) {
            try await writer.submit { txn in try txn.put(table, [8], [8]) }
        }
        try env.read { txn throws in
            #expect(try txn.get(table, [9]) == [9])
            #expect(try txn.get(table, [8]) == nil)
        }
    }
}
