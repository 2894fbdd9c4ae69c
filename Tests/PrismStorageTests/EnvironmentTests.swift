import PrismStorage
import PrismTestSupport
import Testing

@Suite("LMDB environment")
struct EnvironmentTests {
    @Test func putGetDeleteAndScanSurviveReopen() throws {
        let dir = TemporaryDirectory()
        do {
            let env = try LMDBEnvironment(directory: dir.path)
            let table = try env.table("docs")
            try env.write { txn in
                for i in 0..<100 { try txn.put(table, Array("k\(i / 10)-\(i)".utf8), [UInt8(i)]) }
                try txn.delete(table, Array("k0-3".utf8))
            }
            env.close()
        }
        let env = try LMDBEnvironment(directory: dir.path)
        defer { env.close() }
        let table = try env.table("docs")
        try env.read { txn throws in
            #expect(try txn.get(table, Array("k1-15".utf8)) == [15])
            #expect(try txn.get(table, Array("k0-3".utf8)) == nil)
            #expect(try txn.count(table) == 99)
            var seen: [String] = []
            try txn.scan(table, prefix: Array("k2-".utf8)) { key, _ in
                seen.append(String(decoding: key, as: UTF8.self))
                return true
            }
            #expect(seen == (20..<30).map { "k2-\($0)" })
        }
    }

    @Test func deletePrefixRemovesExactlyThePrefix() throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        defer { env.close() }
        let table = try env.table("t")
        try env.write { txn in
            for p in ["a", "ab", "b"] { for i in 0..<50 { try txn.put(table, Array("\(p)\u{0}\(i)".utf8), [1]) } }
        }
        let removed = try env.write { txn in try txn.deletePrefix(table, Array("ab\u{0}".utf8)) }
        #expect(removed == 50)
        #expect(try env.read { txn in try txn.count(table) } == 100)
        let last = try env.write { txn in try txn.deletePrefix(table, Array("b\u{0}".utf8)) }
        #expect(last == 50)
    }

    @Test("deletePrefix through a key stops after it, and removes nothing past the prefix")
    func deletePrefixThroughAKey() throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        defer { env.close() }
        let table = try env.table("t")
        func key(_ p: UInt8, _ i: UInt8) -> [UInt8] { [p, 0, i] }
        try env.write { txn in
            for p: UInt8 in [1, 2] { for i: UInt8 in 0..<50 { try txn.put(table, key(p, i), [1]) } }
        }
        #expect(try env.write { try $0.deletePrefix(table, [1], through: key(1, 19)) } == 20, "0 through 19")
        #expect(try env.write { try $0.deletePrefix(table, [1], through: [1, 0, 19, 0xFF]) } == 0, "between keys: none left up to there")
        #expect(try env.write { try $0.deletePrefix(table, [1], through: key(1, 24)) } == 5)
        #expect(try env.write { try $0.deletePrefix(table, [1], through: [1, 0xFF]) } == 25, "past the last key of the prefix")
        #expect(try env.read { try $0.count(table) } == 50, "the other prefix is untouched")
        #expect(try env.write { try $0.deletePrefix(table, [2], through: [2]) } == 0, "a bound before the first key")
    }

    @Test func mapGrowsInsteadOfFailing() throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path, options: StorageOptions(mapSize: 1 << 20))
        defer { env.close() }
        let table = try env.table("big")
        let value = [UInt8](repeating: 7, count: 4096)
        for batch in 0..<20 {
            try env.write { txn in
                for i in 0..<256 { try txn.put(table, Array("\(batch)-\(i)".utf8), value) }
            }
        }
        #expect(env.mapSize > 1 << 20)
        #expect(try env.read { txn in try txn.count(table) } == 20 * 256)
    }

    @Test func mapGrowthStopsAtTheConfiguredMaximum() throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path, options: StorageOptions(mapSize: 1 << 20, maxMapSize: 2 << 20))
        defer { env.close() }
        let table = try env.table("big")
        let value = [UInt8](repeating: 1, count: 8192)
        #expect(throws: StorageError.mapSizeLimitReached(bytes: 2 << 20)) {
            try env.write { txn in for i in 0..<1000 { try txn.put(table, Array("\(i)".utf8), value) } }
        }
        // The failed write changed nothing.
        #expect(try env.read { txn in try txn.count(table) } == 0)
    }

    @Test func secondOpenOfTheSameDirectoryIsRefused() throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        do {
            _ = try LMDBEnvironment(directory: dir.path)
            Issue.record("second open succeeded")
        } catch let error as StorageError {
            guard case .dataDirectoryInUse(let path, let holder) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path == dir.path)
            #expect(holder.hasPrefix("pid "))
            #expect(error.description.contains("already in use"))
        }
        env.close()
        // Released on close: a new owner may open it.
        let again = try LMDBEnvironment(directory: dir.path)
        again.close()
    }

    @Test func dataDirectoryThatIsAFileIsRefused() throws {
        let dir = TemporaryDirectory()
        let file = dir.write("plain", "x")
        #expect(throws: StorageError.dataDirectoryUnusable(path: file, reason: "it exists and is not a directory")) {
            _ = try LMDBEnvironment(directory: file)
        }
    }

    @Test func invalidKeysAreRefused() throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        defer { env.close() }
        let table = try env.table("t")
        #expect(throws: StorageError.self) { try env.write { txn in try txn.put(table, [], [1]) } }
        #expect(throws: StorageError.self) { try env.write { txn in try txn.put(table, [UInt8](repeating: 1, count: 600), [1]) } }
    }

    @Test func closedEnvironmentRefusesTransactions() throws {
        let dir = TemporaryDirectory()
        let env = try LMDBEnvironment(directory: dir.path)
        env.close()
        #expect(throws: StorageError.closed) { try env.read { _ in 1 } }
    }
}
