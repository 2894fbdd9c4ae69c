#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive advisory lock on a data directory, held for the life of the process that owns it.
/// LMDB itself lets several processes share an environment; a Prism node must not, so a second
/// process on the same directory fails here, before it touches any data.
public final class DataDirectoryLock: @unchecked Sendable {
    public let path: String
    private var descriptor: Int32

    public init(directory: String) throws {
        let lockPath = directory + "/prism.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StorageError.dataDirectoryUnusable(path: directory, reason: "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = DataDirectoryLock.readHolder(fd)
            close(fd)
            throw StorageError.dataDirectoryInUse(path: directory, holder: holder)
        }
        // Record who holds it, so the next process can name the holder in its error.
        let text = "pid \(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        self.path = lockPath
        self.descriptor = fd
    }

    private static func readHolder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 63, 0) }
        guard n > 0 else { return "unknown pid" }
        let text = String(decoding: buffer[0..<n], as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? "unknown pid"
    }

    public func release() {
        guard descriptor >= 0 else { return }
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
