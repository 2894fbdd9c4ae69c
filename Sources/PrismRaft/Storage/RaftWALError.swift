#if canImport(Glibc)
import Glibc
#endif
import PrismTransport

/// Why the Raft write-ahead log refused a record, a file, or a write.
public enum RaftWALError: WireDecodingFailure, Equatable, Sendable, CustomStringConvertible {
    case truncated
    case malformed(String)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// A segment holds bytes that are no record, where acknowledged records must be.
    case corrupt(path: String, offset: Int, why: String)
    /// An earlier sync failed, so what the page cache holds is unknown: the log takes no more writes.
    case failed

    public var description: String {
        switch self {
        case .truncated: "truncated write-ahead log record"
        case .malformed(let why): "malformed write-ahead log record: \(why)"
        case .io(let operation, let path, let code): "\(operation) \(path): \(String(cString: strerror(code)))"
        case .corrupt(let path, let offset, let why): "write-ahead log \(path) is damaged at byte \(offset): \(why)"
        case .failed: "the write-ahead log failed to sync earlier and takes no more writes"
        }
    }
}
