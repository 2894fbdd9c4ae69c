import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Whether anything accepts TCP connections at an address: the gossip shell asks this about a
/// member whose pings go unanswered. A refused connection means the process is gone; an
/// accepted one means it exists (the kernel completes the handshake even for a stopped process).
public enum TCPReachability {
    public enum Result: Sendable, Equatable { case refused, accepted }

    /// nil when the attempt timed out or failed otherwise (no evidence either way).
    public static func check(_ address: SocketAddress, timeout: Duration,
                             group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async -> Result? {
        let millis = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(max(1, millis)))
                .connect(to: address).get()
            try? await channel.close()
            return .accepted
        } catch let error as NIOConnectionError {
            return error.connectionErrors.contains { isRefusal($0.error) } ? .refused : nil
        } catch {
            return isRefusal(error) ? .refused : nil
        }
    }

    private static func isRefusal(_ error: any Error) -> Bool {
        if let io = error as? IOError { return io.errnoCode == ECONNREFUSED }
        return false
    }
}
