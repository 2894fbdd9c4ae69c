import NIOCore
import NIOPosix
import Synchronization

/// A TCP server answering one length-prefixed request frame per connection with one reply frame
/// (gossip push-pull). The handler set with `serve` runs on the connection's event loop; a
/// handler that returns nil, or none set yet, closes the connection without a reply (refused
/// request). A connection is closed `connectionTimeout` after it opened, whatever it did by then.
///
/// Connections are plain NIO channels with a small handler, not `NIOAsyncChannel`s: an async
/// server channel traps when it is closed while an accepted connection still waits in its
/// stream (apple/swift-nio#2637), and a gossip port must survive any connection at any moment.
public final class FrameServer: Sendable {
    public typealias Handler = @Sendable ([UInt8]) -> [UInt8]?

    private let channel: Channel
    private let handler: HandlerSlot
    public let localAddress: SocketAddress

    private init(channel: Channel, handler: HandlerSlot) throws {
        self.channel = channel
        self.handler = handler
        guard let local = channel.localAddress else { throw TransportError.notBound }
        localAddress = local
    }

    /// Binds; with `group` a single event loop, every connection is served on that loop.
    public static func bind(host: String, port: Int, maxFrameSize: Int, connectionTimeout: TimeAmount = .seconds(5),
                            group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> FrameServer {
        let slot = HandlerSlot()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)))
                    try child.pipeline.syncOperations.addHandler(FrameRequestHandler(slot: slot, timeout: connectionTimeout))
                }
            }
            .bind(host: host, port: port).get()
        return try FrameServer(channel: channel, handler: slot)
    }

    public var port: Int { localAddress.port ?? 0 }

    /// Answers every request from now on with `handler`.
    public func serve(_ handler: @escaping Handler) {
        self.handler.set(handler)
    }

    public func close() async {
        handler.set(nil)
        try? await channel.close()
    }
}

final class HandlerSlot: Sendable {
    private let handler = Mutex<FrameServer.Handler?>(nil)
    func set(_ h: FrameServer.Handler?) { handler.withLock { $0 = h } }
    func get() -> FrameServer.Handler? { handler.withLock { $0 } }
}

/// Answers a connection's first frame and ignores the rest; closes the connection after the
/// reply, when its time is up, or when it sends a bad frame.
private final class FrameRequestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let slot: HandlerSlot
    let timeout: TimeAmount
    private var answered = false

    init(slot: HandlerSlot, timeout: TimeAmount) {
        self.slot = slot
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Only the first frame is a request; a peer that sends more gets no more answers.
        guard !answered else { return }
        answered = true
        let frame = unwrapInboundIn(data)
        guard let reply = slot.get()?(Array(frame.readableBytesView)) else { return context.close(promise: nil) }
        let channel = context.channel
        channel.writeAndFlush(Frame.encode(reply, allocator: channel.allocator)).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // An oversized or broken frame: the connection goes, the server stays.
        context.close(promise: nil)
    }
}
