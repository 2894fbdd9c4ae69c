import PrismStorage
import PrismTestSupport
import Testing

@Suite("Group-commit writer")
struct GroupCommitWriterTests {
    struct Refused: Error, Equatable {}

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

    @Test func aFailingRequestRollsBackAloneAndOthersCommit() async throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        defer { env.close() }
        let table = try env.table("t")
        let writer = GroupCommitWriter(environment: env)
        defer { writer.shutdown() }
        let outcomes = await withTaskGroup(of: Bool.self, returning: [Bool].self) { group in
            for i in 0..<40 {
                group.addTask {
                    do {
                        try await writer.submit { txn in
                            try txn.put(table, Array("k\(i)".utf8), [1])
                            if i % 4 == 0 { throw Refused() }
                        }
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 30)
        try env.read { txn throws in
            #expect(try txn.count(table) == 30)
            #expect(try txn.get(table, Array("k0".utf8)) == nil)
            #expect(try txn.get(table, Array("k1".utf8)) == [1])
        }
        #expect(writer.stats.failedRequests == 10)
    }

    @Test func manyFailuresInOneBatchStillIsolateEachRequest() async throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        defer { env.close() }
        let table = try env.table("t")
        let writer = GroupCommitWriter(environment: env)
        defer { writer.shutdown() }
        // Half of 200 concurrent requests fail after writing: batches replay and then fall back to
        // nested transactions; either way exactly the successful half must land.
        let succeeded = await withTaskGroup(of: Int?.self, returning: Set<Int>.self) { group in
            for i in 0..<200 {
                group.addTask {
                    do {
                        try await writer.submit { txn in
                            try txn.put(table, Array("k\(i)".utf8), [UInt8(i % 256)])
                            if i % 2 == 1 { throw Refused() }
                        }
                        return i
                    } catch {
                        return nil
                    }
                }
            }
            return await group.reduce(into: []) { if let i = $1 { $0.insert(i) } }
        }
        #expect(succeeded == Set(stride(from: 0, to: 200, by: 2)))
        #expect(try env.read { txn in try txn.count(table) } == 100)
        #expect(try env.read { txn in try txn.get(table, Array("k3".utf8)) } == nil)
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
