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

    /// nil when the attempt timed out or failed otherwise (no evidence either way); completed on `loop`.
    public static func check(_ address: SocketAddress, timeout: TimeAmount, on loop: EventLoop) -> EventLoopFuture<Result?> {
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .connect(to: address)
            .map { channel -> Result? in
                channel.close(promise: nil)
                return .accepted
            }
            .flatMapErrorThrowing { error -> Result? in
                if let error = error as? NIOConnectionError {
                    return error.connectionErrors.contains { isRefusal($0.error) } ? .refused : nil
                }
                return isRefusal(error) ? .refused : nil
            }
    }

    /// The same, awaited.
    public static func check(_ address: SocketAddress, timeout: TimeAmount,
                             group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async -> Result? {
        (try? await check(address, timeout: timeout, on: group.next()).get()) ?? nil
    }

    private static func isRefusal(_ error: any Error) -> Bool {
        if let io = error as? IOError { return io.errnoCode == ECONNREFUSED }
        return false
    }
}
