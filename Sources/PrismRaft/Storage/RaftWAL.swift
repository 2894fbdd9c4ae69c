import Dispatch
import PrismStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An append-only log of records in segment files, each append made durable by one `fdatasync`.
/// The Raft log's fast path to the disk (etcd's WAL does the same): an LMDB commit with sync is
/// two syncs in a row (its data pages, then its meta page) and grows the file, which makes the
/// file system journal its size too; a record here goes into a segment whose blocks are
/// reserved (or, once segments are reused, already written), so its sync carries little more
/// than the record's own pages.
///
/// A segment starts with a 32-byte header (magic, first sequence, capacity); each record is its
/// payload's length (4 bytes), a CRC-32C of its sequence and payload (4), its sequence (8) and the
/// payload, little-endian. A zero length ends a segment. Sequences run on without a gap.
/// `append` runs on one thread at a time (the host's event loop); `release` may run on another.
public final class RaftWAL: Sendable {
    public static let headerBytes = 32
    static let recordHeaderBytes = 16
    static let magic: [UInt8] = Array("PRSMWAL".utf8) + [1]

    public let directory: String
    public let segmentBytes: Int

    struct Segment: Equatable {
        var path: String
        var firstSequence: UInt64
        var lastSequence: UInt64
        var capacity: Int
    }

    private struct State {
        var fd: Int32 = -1
        var current = Segment(path: "", firstSequence: 0, lastSequence: 0, capacity: 0)
        var offset = RaftWAL.headerBytes
        var capacity = 0
        var nextSequence: UInt64
        /// Full segments not released yet, oldest first.
        var sealed: [Segment] = []
        var spareReady = false
        var spareBeingMade = false
        var failed = false
        var lastSyncNanoseconds: UInt64 = 0
    }

    private let state: Mutex<State>
    private let spareQueue = DispatchQueue(label: "prism.raft.wal.spare")

    /// Starts an empty log in `directory` (created if needed; it must hold no segments, which
    /// recovery removes once their records are in LMDB) whose first record gets `nextSequence`.
    public init(directory: String, nextSequence: UInt64, segmentBytes: Int = 32 << 20) throws(RaftWALError) {
        self.directory = directory
        self.segmentBytes = max(segmentBytes, 4096)
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw .io(operation: "mkdir", path: directory, errno: errno) }
        let existing = try Self.segmentPaths(in: directory)
        guard existing.isEmpty else { throw .corrupt(path: existing[0], offset: 0, why: "a new log must start in a directory without segments") }
        state = Mutex(State(nextSequence: nextSequence))
        try state.withLock { (s: inout State) throws(RaftWALError) in
            try openSegment(&s, first: nextSequence, minimumCapacity: 0)
            makeSpare(&s)
        }
    }

    deinit {
        state.withLock { s in if s.fd >= 0 { close(s.fd) } }
    }

    /// Writes one record and syncs it; returns its sequence. Nothing is durable when it throws,
    /// and after a failed sync every later append fails (`.failed`).
    @discardableResult
    public func append(_ payload: [UInt8]) throws(RaftWALError) -> UInt64 {
        try state.withLock { (s: inout State) throws(RaftWALError) -> UInt64 in
            guard !s.failed else { throw .failed }
            let size = Self.recordHeaderBytes + payload.count
            if s.offset + size > s.capacity {
                do throws(RaftWALError) {
                    try seal(&s, minimumCapacity: size)
                } catch {
                    // Half rotated (the old segment closed, no new one open): no way on.
                    s.failed = true
                    throw error
                }
            }
            let sequence = s.nextSequence
            var record = [UInt8](repeating: 0, count: size)
            Self.store(UInt32(payload.count), into: &record, at: 0)
            Self.store(sequence, into: &record, at: 8)
            record.withUnsafeMutableBytes { raw in
                if !payload.isEmpty { payload.withUnsafeBytes { raw.baseAddress!.advanced(by: 16).copyMemory(from: $0.baseAddress!, byteCount: payload.count) } }
                let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[8...]))
                raw.storeBytes(of: crc.littleEndian, toByteOffset: 4, as: UInt32.self)
            }
            do throws(RaftWALError) {
                let start = Self.monotonicNanoseconds()
                try Self.writeAll(s.fd, record, at: s.offset, path: s.current.path)
                guard fdatasync(s.fd) == 0 else { throw RaftWALError.io(operation: "fdatasync", path: s.current.path, errno: errno) }
                s.lastSyncNanoseconds = Self.monotonicNanoseconds() &- start
            } catch {
                // After a failed write or sync the page cache may hold, or have dropped, any part
                // of the record: nothing written from now on could be trusted.
                s.failed = true
                throw error
            }
            s.offset += size
            s.nextSequence += 1
            s.current.lastSequence = sequence
            return sequence
        }
    }

    /// Drops the full segments whose records are all at or below `sequence` (the caller has made
    /// them durable elsewhere): one becomes the spare when none is ready (its old records are
    /// overwritten in place, which syncs cheaper than blocks a file system must still allocate or
    /// convert), the rest are deleted. Returns how many went.
    @discardableResult
    public func release(through sequence: UInt64) -> Int {
        state.withLock { s in
            let n = s.sealed.prefix { $0.lastSequence <= sequence }.count
            for segment in s.sealed.prefix(n) {
                if !s.spareReady, !s.spareBeingMade, segment.capacity == segmentBytes, rename(segment.path, sparePath) == 0 {
                    s.spareReady = true
                } else {
                    unlink(segment.path)
                }
            }
            s.sealed.removeFirst(n)
            return n
        }
    }

    /// The last sequence of the oldest full segment still kept (nil: none).
    public var oldestSealedLastSequence: UInt64? { state.withLock { $0.sealed.first?.lastSequence } }

    /// How long the last append took to write and sync.
    public var lastSyncNanoseconds: UInt64 { state.withLock { $0.lastSyncNanoseconds } }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    /// Whether the next segment is ready to be renamed into place.
    public var spareIsReady: Bool { state.withLock { $0.spareReady } }

    /// Segment files in use (full ones kept and the current one).
    public var segmentCount: Int { state.withLock { $0.sealed.count + 1 } }

    /// The sequence the next record gets.
    public var nextSequence: UInt64 { state.withLock { $0.nextSequence } }

    // MARK: Segments

    private func seal(_ s: inout State, minimumCapacity: Int) throws(RaftWALError) {
        s.sealed.append(s.current)
        close(s.fd)
        s.fd = -1
        // No new spare here: the segment just sealed becomes one once it is released (soon after
        // LMDB has its records), and a reused file syncs cheaper than new blocks.
        try openSegment(&s, first: s.nextSequence, minimumCapacity: minimumCapacity)
    }

    /// Opens the segment whose first record is `first`: the spare when it is ready and large
    /// enough, otherwise one made now (when no released segment came back in time).
    private func openSegment(_ s: inout State, first: UInt64, minimumCapacity: Int) throws(RaftWALError) {
        let path = Self.segmentPath(directory, first)
        let capacity = max(segmentBytes, Self.headerBytes + minimumCapacity)
        if s.spareReady && capacity == segmentBytes {
            s.spareReady = false
            guard rename(sparePath, path) == 0 else { throw .io(operation: "rename", path: sparePath, errno: errno) }
        } else {
            try Self.makePreallocated(path: path + ".tmp", bytes: capacity)
            guard rename(path + ".tmp", path) == 0 else { throw .io(operation: "rename", path: path + ".tmp", errno: errno) }
        }
        try Self.syncDirectory(directory)
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        var header = [UInt8](repeating: 0, count: Self.headerBytes)
        header.replaceSubrange(0..<8, with: Self.magic)
        Self.store(first, into: &header, at: 8)
        Self.store(UInt64(capacity), into: &header, at: 16)
        do {
            try Self.writeAll(fd, header, at: 0, path: path)
        } catch {
            close(fd)
            throw error
        }
        s.fd = fd
        s.current = Segment(path: path, firstSequence: first, lastSequence: first &- 1, capacity: capacity)
        s.offset = Self.headerBytes
        s.capacity = capacity
    }

    private var sparePath: String { directory + "/spare" }

    /// Makes the first spare off the appending thread, so the first rotation is a rename.
    /// Called with the state locked.
    private func makeSpare(_ s: inout State) {
        guard !s.spareReady, !s.spareBeingMade else { return }
        s.spareBeingMade = true
        let path = sparePath, bytes = segmentBytes
        spareQueue.async { [self] in
            let made = (try? Self.makePreallocated(path: path + ".tmp", bytes: bytes)) != nil && rename(path + ".tmp", path) == 0
            state.withLock { s in
                s.spareBeingMade = false
                s.spareReady = made
            }
        }
    }

    /// A segment file with its blocks reserved (`posix_fallocate`), reading as zeros. Not filled with
    /// zeros: writing and syncing a whole segment at once stalls every other sync on the disk
    /// (measured: elections during a 1000-client run).
    static func makePreallocated(path: String, bytes: Int) throws(RaftWALError) {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "create", path: path, errno: errno) }
        defer { close(fd) }
        let code = posix_fallocate(fd, 0, off_t(bytes))
        guard code == 0 else { throw .io(operation: "fallocate", path: path, errno: code) }
        guard fsync(fd) == 0 else { throw .io(operation: "fsync", path: path, errno: errno) }
    }

    static func syncDirectory(_ directory: String) throws(RaftWALError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: directory, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .io(operation: "fsync", path: directory, errno: errno) }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String) throws(RaftWALError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!.advanced(by: done), bytes.count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "write", path: path, errno: errno)
            }
            done += n
        }
    }

    static func segmentPath(_ directory: String, _ first: UInt64) -> String {
        let hex = String(first, radix: 16)
        return directory + "/wal-" + String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".log"
    }

    /// The segment files of `directory`, oldest first (their names sort by first sequence).
    static func segmentPaths(in directory: String) throws(RaftWALError) -> [String] {
        guard let dir = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw .io(operation: "opendir", path: directory, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix("wal-") && name.hasSuffix(".log") && name.count == 24 { names.append(name) }
        }
        return names.sorted().map { directory + "/" + $0 }
    }

    /// Deletes every segment (and a spare) in `directory`, once their records are durable elsewhere.
    public static func removeSegments(in directory: String) throws(RaftWALError) {
        for path in try segmentPaths(in: directory) + [directory + "/spare"] {
            if unlink(path) != 0 && errno != ENOENT { throw .io(operation: "unlink", path: path, errno: errno) }
        }
        if access(directory, F_OK) == 0 { try syncDirectory(directory) }
    }

    // MARK: Reading

    /// Every record in `directory`'s segments, in sequence order. A record torn by a crash ends
    /// the last segment (it was never acknowledged: appends are acknowledged only after their
    /// sync, one at a time); damage anywhere else, or a gap in the sequences, throws. A segment
    /// made from a released one still holds older records after its own: a record numbered below
    /// the segment's first (its file name) ends it.
    ///
    /// With `after`, only the records after it are returned (those LMDB already holds are not
    /// needed), segments holding only older records are not read (after a power loss a released
    /// segment's deletion may be undone, leaving an old file behind a gap), and the first record
    /// returned must be `after + 1`.
    public static func records(in directory: String, after: UInt64? = nil) throws(RaftWALError) -> [(sequence: UInt64, payload: [UInt8])] {
        let floor = after ?? 0
        let paths = try segmentPaths(in: directory)
        let firsts = try paths.map { path throws(RaftWALError) -> UInt64 in
            guard let first = UInt64(path.suffix(20).prefix(16), radix: 16) else { throw .corrupt(path: path, offset: 0, why: "no sequence in its name") }
            return first
        }
        var out: [(sequence: UInt64, payload: [UInt8])] = []
        for (i, path) in paths.enumerated() {
            let isLast = i == paths.count - 1
            let first = firsts[i]
            if !isLast, firsts[i + 1] <= floor + 1 { continue }
            let bytes = try readFile(path)
            let hasMagic = bytes.count >= headerBytes && Array(bytes[0..<8]) == magic
            guard hasMagic, load(bytes, at: 8, as: UInt64.self) == first else {
                // The first record's sync carries the header with it, so a segment whose header
                // did not make it holds no record: a new file (zeros) or a reused one (an older
                // header). Only the newest segment can be like that.
                if isLast && (hasMagic || bytes.allSatisfy { $0 == 0 }) { break }
                throw .corrupt(path: path, offset: 0, why: "no write-ahead log header for sequence \(first)")
            }
            if let previous = out.last, first != previous.sequence + 1 || first <= floor {
                throw .corrupt(path: path, offset: 8, why: "segment starts at \(first), after record \(previous.sequence)")
            }
            var offset = headerBytes
            var expected = first
            while let record = wholeRecord(bytes, at: offset) {
                if record.sequence < first { break }
                guard record.sequence == expected else {
                    throw .corrupt(path: path, offset: offset, why: "record \(record.sequence) where \(expected) belongs")
                }
                if record.sequence > floor { out.append((record.sequence, Array(bytes[(offset + recordHeaderBytes)..<record.end]))) }
                expected += 1
                offset = record.end
            }
            if wholeRecord(bytes, at: offset) == nil, !isEnd(bytes, at: offset) {
                // Damage: a torn last write, unless a record of this segment lies beyond it.
                if !isLast || laterRecordFollows(bytes, after: offset, from: first) {
                    throw .corrupt(path: path, offset: offset, why: "record \(expected) fails its checksum")
                }
            }
        }
        if let after, let start = out.first?.sequence, start != after + 1 {
            throw .corrupt(path: directory, offset: 0, why: "the log resumes at record \(start), but \(after + 1) is the next one needed")
        }
        return out
    }

    /// The record at `offset` when its length fits and its checksum holds.
    static func wholeRecord(_ bytes: [UInt8], at offset: Int) -> (sequence: UInt64, end: Int)? {
        guard offset + recordHeaderBytes <= bytes.count else { return nil }
        let length = Int(load(bytes, at: offset, as: UInt32.self))
        let end = offset + recordHeaderBytes + length
        guard length > 0, end <= bytes.count else { return nil }
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(offset + 8)..<end])) }
        guard crc == load(bytes, at: offset + 4, as: UInt32.self) else { return nil }
        return (load(bytes, at: offset + 8, as: UInt64.self), end)
    }

    /// Where no record was ever written: zeros (or the end of the file).
    static func isEnd(_ bytes: [UInt8], at offset: Int) -> Bool {
        guard offset + recordHeaderBytes <= bytes.count else { return true }
        return bytes[offset..<(offset + recordHeaderBytes)].allSatisfy { $0 == 0 }
    }

    /// Whether a whole record of this segment (numbered from `first` on) lies after a damaged one
    /// at `offset`: then the damage is not a torn last write but lost acknowledged data.
    static func laterRecordFollows(_ bytes: [UInt8], after offset: Int, from first: UInt64) -> Bool {
        var probe = offset + 1
        while probe + recordHeaderBytes <= bytes.count {
            if let record = wholeRecord(bytes, at: probe), record.sequence >= first { return true }
            probe += 1
        }
        return false
    }

    static func readFile(_ path: String) throws(RaftWALError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(operation: "stat", path: path, errno: errno) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress!.advanced(by: done), $0.count - done, off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .io(operation: "read", path: path, errno: n < 0 ? errno : EIO) }
            done += n
        }
        return bytes
    }

    static func load<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as: T.Type) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    static func store<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8], at offset: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self) }
    }
}
