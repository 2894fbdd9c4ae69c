import NIOCore
import NIOPosix

/// A TCP server answering one length-prefixed request frame per connection with one reply frame
/// (gossip push-pull). A connection is closed `connectionTimeout` after it opened, whatever it
/// did by then; a handler that returns nil closes the connection without a reply (refused request).
///
/// Connections are plain NIO channels with a small handler, not `NIOAsyncChannel`s: an async
/// server channel traps when it is closed while an accepted connection still waits in its
/// stream (apple/swift-nio#2637), and a gossip port must survive any connection at any moment.
public final class FrameServer: Sendable {
    public typealias Handler = @Sendable ([UInt8]) async -> [UInt8]?

    private let channel: Channel
    private let requests: AsyncStream<FrameRequest>
    public let localAddress: SocketAddress

    private init(channel: Channel, requests: AsyncStream<FrameRequest>) throws {
        self.channel = channel
        self.requests = requests
        guard let local = channel.localAddress else { throw TransportError.notBound }
        localAddress = local
    }

    public static func bind(host: String, port: Int, maxFrameSize: Int, connectionTimeout: TimeAmount = .seconds(5),
                            group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> FrameServer {
        let (stream, continuation) = AsyncStream.makeStream(of: FrameRequest.self, bufferingPolicy: .bufferingNewest(1024))
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)))
                    try child.pipeline.syncOperations.addHandler(FrameRequestForwarder(continuation: continuation, timeout: connectionTimeout))
                }
            }
            .bind(host: host, port: port).get()
        channel.closeFuture.whenComplete { _ in continuation.finish() }
        return try FrameServer(channel: channel, requests: stream)
    }

    public var port: Int { localAddress.port ?? 0 }

    /// Serves until `close` is called (requests are answered concurrently).
    public func run(_ handler: @escaping Handler) async {
        await withDiscardingTaskGroup { group in
            for await request in requests {
                group.addTask {
                    guard let reply = await handler(request.payload) else { return request.close() }
                    request.reply(reply)
                }
            }
        }
    }

    public func close() async {
        try? await channel.close()
    }
}

/// One request frame and the connection it came on.
struct FrameRequest: Sendable {
    let payload: [UInt8]
    let channel: Channel

    func reply(_ bytes: [UInt8]) {
        channel.writeAndFlush(Frame.encode(bytes, allocator: channel.allocator)).whenComplete { _ in channel.close(promise: nil) }
    }

    func close() { channel.close(promise: nil) }
}

/// Hands a connection's first frame to the server's stream and ignores the rest; closes the
/// connection when its time is up or when it sends a bad frame.
private final class FrameRequestForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncStream<FrameRequest>.Continuation
    let timeout: TimeAmount

    init(continuation: AsyncStream<FrameRequest>.Continuation, timeout: TimeAmount) {
        self.continuation = continuation
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // Only the first frame is a request; a peer that sends more gets no more answers.
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        switch continuation.yield(FrameRequest(payload: Array(frame.readableBytesView), channel: context.channel)) {
        case .enqueued: break
        case .dropped(let oldest): oldest.close()  // a flood: the longest-waiting request goes unanswered
        case .terminated: context.close(promise: nil)  // the server is closing
        @unknown default: context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // An oversized or broken frame: the connection goes, the server stays.
        context.close(promise: nil)
    }
}

/// Runs `body`, failing with `TransportError.timedOut` when it takes longer than `limit`.
public func withDeadline<T: Sendable>(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw TransportError.timedOut(what)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TransportError.timedOut(what) }
        return first
    }
}
