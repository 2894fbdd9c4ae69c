import Foundation
import PrismRaft
import PrismStorage
import PrismTestSupport
import Testing

@Suite("Raft write-ahead log segments")
struct RaftWALTests {
    /// A payload whose bytes say which record it is.
    func payload(_ n: Int, size: Int) -> [UInt8] {
        (0..<max(1, size)).map { UInt8(truncatingIfNeeded: n &* 31 &+ $0) }
    }

    func segments(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("wal-") }.sorted().map { dir + "/" + $0 }
    }

    /// A closed log of `count` records of 300 bytes in 4 KiB segments (about a dozen a segment).
    func writeLog(_ dir: TemporaryDirectory, count: Int) throws {
        let wal = try RaftWAL(directory: dir.path, nextSequence: 1, segmentBytes: 4096)
        for n in 0..<count { try wal.append(payload(n, size: 300)) }
    }

    func waitForSpare(_ wal: RaftWAL) async throws {
        for _ in 0..<500 where !wal.spareIsReady { try await Task.sleep(for: .milliseconds(10)) }
        #expect(wal.spareIsReady)
    }

    @Test("records of many sizes across many segments read back in order, with their sequences")
    func roundTrip() throws {
        let dir = TemporaryDirectory("wal")
        var random = SplitMix64(seed: 7)
        var written: [(UInt64, [UInt8])] = []
        do {
            let wal = try RaftWAL(directory: dir.path, nextSequence: 41, segmentBytes: 4096)
            for n in 0..<300 {
                // Now and then a record larger than a segment: it gets a segment of its own.
                let size = n % 97 == 5 ? 9000 : Int(random.next() % 700)
                let p = payload(n, size: size)
                written.append((try wal.append(p), p))
            }
            #expect(wal.nextSequence == 341)
            // The last append's write and sync were timed (the host shell reads it to keep a slow
            // disk off its event loop).
            #expect(wal.lastSyncNanoseconds > 0)
        }
        #expect(try segments(dir.path).count > 20)
        let read = try RaftWAL.records(in: dir.path)
        #expect(read.map(\.sequence) == written.map(\.0))
        #expect(read.map(\.payload) == written.map(\.1))
        #expect(written.first?.0 == 41)
    }

    @Test("a record torn by a crash ends the log: the records before it are all there")
    func tornTail() throws {
        let dir = TemporaryDirectory("wal")
        let wal = try RaftWAL(directory: dir.path, nextSequence: 1, segmentBytes: 1 << 20)
        var offsets: [Int] = []
        var offset = RaftWAL.headerBytes
        for n in 0..<5 {
            offsets.append(offset)
            try wal.append(payload(n, size: 100))
            offset += 16 + 100
        }
        let path = try #require(try segments(dir.path).last)
        // The last record half written: its payload's second half never reached the disk.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(offsets[4] + 16 + 50))
        handle.write(Data(repeating: 0, count: 50))
        try handle.close()
        let read = try RaftWAL.records(in: dir.path)
        #expect(read.map(\.sequence) == [1, 2, 3, 4])
    }

    @Test("damage before a whole record is lost data, not a torn write: reading refuses, naming file and byte")
    func damageBeforeLaterRecord() throws {
        let dir = TemporaryDirectory("wal")
        let wal = try RaftWAL(directory: dir.path, nextSequence: 1, segmentBytes: 1 << 20)
        for n in 0..<5 { try wal.append(payload(n, size: 100)) }
        let path = try #require(try segments(dir.path).last)
        let second = RaftWAL.headerBytes + 116
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(second + 16 + 3))
        handle.write(Data([0xEE]))
        try handle.close()
        #expect {
            try RaftWAL.records(in: dir.path)
        } throws: { error in
            guard case RaftWALError.corrupt(let p, let at, _) = error else { return false }
            return p == path && at == second
        }
    }

    @Test("damage in a full segment refuses even at its end (only the newest segment can hold a torn write)")
    func damageInSealedSegment() throws {
        let dir = TemporaryDirectory("wal")
        try writeLog(dir, count: 40)
        let first = try #require(try segments(dir.path).first)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: first)))
        // The first segment's last record: flip a byte in its payload.
        let records = (bytes.count - RaftWAL.headerBytes) / 316
        let last = RaftWAL.headerBytes + (records - 1) * 316
        bytes[last + 20] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: first))
        #expect(throws: RaftWALError.self) { try RaftWAL.records(in: dir.path) }
    }

    @Test("garbage where a segment should be is refused, not read")
    func garbageSegment() throws {
        let dir = TemporaryDirectory("wal")
        try writeLog(dir, count: 30)
        let first = try #require(try segments(dir.path).first)
        try Data("not a log at all".utf8).write(to: URL(fileURLWithPath: first))
        #expect(throws: RaftWALError.self) { try RaftWAL.records(in: dir.path) }
        // A new log refuses a directory that still holds segments.
        #expect(throws: RaftWALError.self) { try RaftWAL(directory: dir.path, nextSequence: 1) }
        try RaftWAL.removeSegments(in: dir.path)
        #expect(try segments(dir.path).isEmpty)
    }

    @Test("a newest segment whose header never made it (a new file of zeros, or a reused file still headed by its old records) holds no record")
    func newestSegmentWithoutHeader() throws {
        let dir = TemporaryDirectory("wal")
        try writeLog(dir, count: 30)
        let paths = try segments(dir.path)
        let expected = try RaftWAL.records(in: dir.path).map(\.sequence)
        #expect(expected == Array(1...30))
        // The segment after the last, crashed between its rename and its first record.
        let next = dir.path + "/wal-" + String(repeating: "0", count: 14) + String(31, radix: 16) + ".log"
        try Data(count: 4096).write(to: URL(fileURLWithPath: next))
        #expect(try RaftWAL.records(in: dir.path).map(\.sequence) == expected)
        try FileManager.default.removeItem(atPath: next)
        try FileManager.default.copyItem(atPath: try #require(paths.first), toPath: next)
        #expect(try RaftWAL.records(in: dir.path).map(\.sequence) == expected)
    }

    @Test("segments wholly behind LMDB's sequence are not read (a deletion undone by a power loss); a gap after it refuses")
    func gapsBehindAndAfter() throws {
        let dir = TemporaryDirectory("wal")
        try writeLog(dir, count: 100)
        let paths = try segments(dir.path)
        #expect(paths.count > 6)
        // Segments 2 and 3 are gone, segment 1 is left behind (and damaged, which does not matter).
        let firstOf = { (path: String) in UInt64(path.suffix(20).prefix(16), radix: 16) ?? 0 }
        let resumeAt = firstOf(paths[3])
        try FileManager.default.removeItem(atPath: paths[1])
        try FileManager.default.removeItem(atPath: paths[2])
        try Data("damaged".utf8).write(to: URL(fileURLWithPath: paths[0]))
        #expect(try RaftWAL.records(in: dir.path, after: resumeAt - 1).map(\.sequence) == Array(resumeAt...100))
        #expect(try RaftWAL.records(in: dir.path, after: resumeAt + 4).map(\.sequence) == Array((resumeAt + 5)...100))
        #expect(try RaftWAL.records(in: dir.path, after: 100).isEmpty)
        // LMDB lacks records the log no longer has: refused, never silently skipped.
        #expect(throws: RaftWALError.self) { try RaftWAL.records(in: dir.path, after: resumeAt - 3) }
        try FileManager.default.removeItem(atPath: paths[0])
        #expect {
            try RaftWAL.records(in: dir.path, after: resumeAt - 3)
        } throws: { error in
            guard case RaftWALError.corrupt(_, _, let why) = error else { return false }
            return why.contains("resumes at record \(resumeAt)")
        }
        // Without a bound the log reads from wherever it starts.
        #expect(try RaftWAL.records(in: dir.path).first?.sequence == resumeAt)
    }

    @Test("a released segment is reused as the next one; its old records after the new ones are not read")
    func recycledSegment() async throws {
        let dir = TemporaryDirectory("wal")
        let wal = try RaftWAL(directory: dir.path, nextSequence: 1, segmentBytes: 4096)
        try await waitForSpare(wal)
        var sequences: [UInt64] = []
        // Fill segment 1 and move into the first spare.
        while wal.segmentCount < 2 { sequences.append(try wal.append(payload(sequences.count, size: 200))) }
        #expect(!wal.spareIsReady)
        let sealedLast = try #require(wal.oldestSealedLastSequence)
        #expect(wal.release(through: sealedLast) == 1)
        // Segment 1 came back as the spare rather than being deleted.
        #expect(wal.spareIsReady)
        #expect(try segments(dir.path).count == 1)
        while wal.segmentCount < 2 { sequences.append(try wal.append(payload(sequences.count, size: 200))) }
        #expect(!wal.spareIsReady)
        // Two records into the reused file, which still holds segment 1's records further on.
        for _ in 0..<2 { sequences.append(try wal.append(payload(sequences.count, size: 200))) }
        let read = try RaftWAL.records(in: dir.path)
        #expect(read.first?.sequence == sealedLast + 1)
        #expect(read.map(\.sequence) == Array(sequences.drop { $0 <= sealedLast }))
        #expect(read.last?.payload == payload(sequences.count - 1, size: 200))
    }

    @Test("a segment released behind the spare is deleted; release never drops a record above its bound")
    func releaseBounds() throws {
        let dir = TemporaryDirectory("wal")
        let wal = try RaftWAL(directory: dir.path, nextSequence: 1, segmentBytes: 4096)
        for n in 0..<100 { try wal.append(payload(n, size: 300)) }
        let before = wal.segmentCount
        #expect(before > 5)
        #expect(wal.release(through: 0) == 0)
        let oldest = try #require(wal.oldestSealedLastSequence)
        #expect(wal.release(through: oldest - 1) == 0)
        #expect(wal.release(through: oldest) == 1)
        let read = try RaftWAL.records(in: dir.path)
        #expect(read.first?.sequence == oldest + 1)
        #expect(read.last?.sequence == 100)
        #expect(wal.release(through: 100) == before - 2)
        #expect(wal.segmentCount == 1)
    }
}

@Suite("Raft write-ahead log records")
struct RaftWALRecordTests {
    static let sample = RaftWALRecord(writes: [
        .init(group: 1, snapshot: RaftSnapshot(index: 9, term: 2, data: Array("state".utf8), membership: Membership(voters: ["a", "b", "c"], learners: ["d"])),
              hardState: HardState(term: 3, vote: "b", commit: 9), entries: [LogEntry(term: 3, index: 10, data: Array("x".utf8))]),
        .init(group: 1 << 40, hardState: HardState(term: 7, vote: nil, commit: 0), entries: []),
        .init(group: 5, hardState: nil, entries: (1...3).map { LogEntry(term: 1, index: $0, data: [], kind: $0 == 2 ? .membership : .normal) }),
    ])

    @Test("snapshots (with and without membership), hard states (with and without a vote) and entries round-trip")
    func roundTrip() throws {
        #expect(try RaftWALRecord(decoding: Self.sample.encoded()) == Self.sample)
        let plain = RaftWALRecord(writes: [.init(group: 2, snapshot: RaftSnapshot(index: 1, term: 1, data: []), hardState: nil, entries: [])])
        #expect(try RaftWALRecord(decoding: plain.encoded()) == plain)
    }

    @Test("every truncation, extra bytes, a wrong format byte and random bytes are refused without trapping")
    func hostileBytes() {
        let bytes = Self.sample.encoded()
        for n in 0..<bytes.count {
            #expect(throws: RaftWALError.self) { try RaftWALRecord(decoding: Array(bytes[..<n])) }
        }
        #expect(throws: RaftWALError.self) { try RaftWALRecord(decoding: bytes + [0]) }
        var wrongVersion = bytes
        wrongVersion[0] = 9
        #expect(throws: RaftWALError.self) { try RaftWALRecord(decoding: wrongVersion) }
        var random = SplitMix64(seed: 3)
        for _ in 0..<2000 {
            let garbage = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            _ = try? RaftWALRecord(decoding: garbage)
        }
    }
}
