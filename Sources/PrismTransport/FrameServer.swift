import NIOCore
import NIOPosix
import Synchronization

/// A TCP server answering one length-prefixed request frame per connection with one reply frame
/// (gossip push-pull). The handler set with `serve` runs on the connection's event loop; a
/// handler that returns nil, or none set yet, closes the connection without a reply (refused
/// request). A connection is closed `connectionTimeout` after it opened, whatever it did by then.
///
/// A connection whose first frame is `Frame.watchMarker` is a watch: kept open without a timeout
/// or an answer (at most `maxWatches` of them; more are closed), and closed with the server.
///
/// Connections are plain NIO channels with a small handler, not `NIOAsyncChannel`s: an async
/// server channel traps when it is closed while an accepted connection still waits in its
/// stream (apple/swift-nio#2637), and a gossip port must survive any connection at any moment.
public final class FrameServer: Sendable {
    public typealias Handler = @Sendable ([UInt8]) -> [UInt8]?

    private let channel: Channel
    private let handler: CallbackSlot<FrameServer.Handler>
    private let watches: WatchedConnections
    public let localAddress: SocketAddress

    private init(channel: Channel, handler: CallbackSlot<FrameServer.Handler>, watches: WatchedConnections) throws {
        self.channel = channel
        self.handler = handler
        self.watches = watches
        guard let local = channel.localAddress else { throw TransportError.notBound }
        localAddress = local
    }

    /// Binds; with `group` a single event loop, every connection is served on that loop.
    public static func bind(host: String, port: Int, maxFrameSize: Int, connectionTimeout: TimeAmount = .seconds(5),
                            maxWatches: Int = 256, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> FrameServer {
        let slot = CallbackSlot<Handler>()
        let watches = WatchedConnections(limit: maxWatches)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)))
                    try child.pipeline.syncOperations.addHandler(FrameRequestHandler(slot: slot, watches: watches, timeout: connectionTimeout))
                }
            }
            .bind(host: host, port: port).get()
        return try FrameServer(channel: channel, handler: slot, watches: watches)
    }

    public var port: Int { localAddress.port ?? 0 }

    /// Answers every request from now on with `handler`.
    public func serve(_ handler: @escaping Handler) {
        self.handler.set(handler)
    }

    /// Watch connections open now.
    public var watchCount: Int { watches.count }

    public func close() async {
        handler.set(nil)
        try? await channel.close()
        // A closing server ends its watches too, as a process's exit would.
        for watch in watches.closeAll() { try? await watch.close() }
    }
}

/// Answers a connection's first frame and ignores the rest; closes the connection after the
/// reply, when its time is up, or when it sends a bad frame.
private final class FrameRequestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let slot: CallbackSlot<FrameServer.Handler>
    let watches: WatchedConnections
    let timeout: TimeAmount
    private var answered = false
    private var expiry: Scheduled<Void>?

    init(slot: CallbackSlot<FrameServer.Handler>, watches: WatchedConnections, timeout: TimeAmount) {
        self.slot = slot
        self.watches = watches
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        expiry = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Only the first frame is a request; a peer that sends more gets no more answers.
        guard !answered else { return }
        answered = true
        let frame = unwrapInboundIn(data)
        if frame.readableBytesView.elementsEqual(Frame.watchMarker) {
            let channel = context.channel
            guard watches.add(channel) else { return context.close(promise: nil) }
            expiry?.cancel()
            let watches = self.watches
            channel.closeFuture.whenComplete { _ in watches.remove(channel) }
            return
        }
        guard let reply = slot.get()?(Array(frame.readableBytesView)) else { return context.close(promise: nil) }
        let channel = context.channel
        channel.writeAndFlush(Frame.encode(reply, allocator: channel.allocator)).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // An oversized or broken frame: the connection goes, the server stays.
        context.close(promise: nil)
    }
}

/// The watch connections a server holds, bounded, so a stranger cannot pin unbounded sockets.
final class WatchedConnections: Sendable {
    private let limit: Int
    private let open = Mutex<[ObjectIdentifier: Channel]>([:])

    init(limit: Int) { self.limit = limit }

    var count: Int { open.withLock { $0.count } }

    func add(_ channel: Channel) -> Bool {
        open.withLock { open in
            guard open.count < limit else { return false }
            open[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: Channel) { open.withLock { $0[ObjectIdentifier(channel)] = nil } }

    func closeAll() -> [Channel] { open.withLock { open in defer { open = [:] }; return Array(open.values) } }
}
