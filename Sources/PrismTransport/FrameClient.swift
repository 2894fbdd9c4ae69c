import NIOCore
import NIOPosix

/// One request frame, one reply frame, over a fresh TCP connection (push-pull is rare enough
/// that keeping connections open would cost more than it saves).
public enum FrameClient {
    /// The reply, as a future completed on `loop` (a shell running on that loop handles it
    /// without a hop through the Swift concurrency pool).
    public static func request(_ payload: [UInt8], to address: SocketAddress, maxFrameSize: Int, timeout: TimeAmount,
                               on loop: EventLoop) -> EventLoopFuture<[UInt8]> {
        let reply = loop.makePromise(of: [UInt8].self)
        let expiry = loop.scheduleTask(in: timeout) { reply.fail(TransportError.timedOut("request to \(address)")) }
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)))
                    try channel.pipeline.syncOperations.addHandler(FrameReplyHandler(reply: reply))
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    channel.writeAndFlush(Frame.encode(payload, allocator: channel.allocator), promise: nil)
                    reply.futureResult.whenComplete { _ in channel.close(promise: nil) }
                case .failure(let error):
                    reply.fail(error)
                }
            }
        return reply.futureResult.always { _ in expiry.cancel() }
    }

    /// The same, awaited.
    public static func request(_ payload: [UInt8], to address: SocketAddress, maxFrameSize: Int, timeout: TimeAmount,
                               group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> [UInt8] {
        try await request(payload, to: address, maxFrameSize: maxFrameSize, timeout: timeout, on: group.next()).get()
    }
}

/// Completes the promise with the first frame, or fails it when the connection ends first.
private final class FrameReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let reply: EventLoopPromise<[UInt8]>

    init(reply: EventLoopPromise<[UInt8]>) { self.reply = reply }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reply.succeed(Array(unwrapInboundIn(data).readableBytesView))
    }

    func channelInactive(context: ChannelHandlerContext) {
        reply.fail(TransportError.closedWithoutReply)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        reply.fail(error)
        context.close(promise: nil)
    }
}

/// A watch connection: opened to a member's gossip port and left silent; it closes when that
/// process ends (the kernel closes its sockets), which is what the watcher waits for.
public enum FrameWatch {
    /// The open connection, on `loop`; watch its `closeFuture`.
    public static func open(to address: SocketAddress, timeout: TimeAmount, on loop: EventLoop) -> EventLoopFuture<Channel> {
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(to: address)
            .flatMap { channel in
                channel.writeAndFlush(Frame.encode(Frame.watchMarker, allocator: channel.allocator)).map { channel }
            }
    }
}
