import NIOCore
import NIOPosix

/// A TCP server answering one length-prefixed request frame per connection with one reply frame
/// (gossip push-pull). A connection that sends nothing within `readTimeout` is closed; a
/// handler that returns nil closes the connection without a reply (refused request).
public final class FrameServer: Sendable {
    public typealias Handler = @Sendable ([UInt8]) async -> [UInt8]?
    private typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    private let server: NIOAsyncChannel<Connection, Never>
    public let localAddress: SocketAddress
    private let readTimeout: Duration

    private init(server: NIOAsyncChannel<Connection, Never>, readTimeout: Duration) throws {
        self.server = server
        self.readTimeout = readTimeout
        guard let local = server.channel.localAddress else { throw TransportError.notBound }
        localAddress = local
    }

    public static func bind(host: String, port: Int, maxFrameSize: Int, readTimeout: Duration = .seconds(5),
                            group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> FrameServer {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)))
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        return try FrameServer(server: server, readTimeout: readTimeout)
    }

    public var port: Int { localAddress.port ?? 0 }

    /// Serves until the task is cancelled or `close` is called.
    public func run(_ handler: @escaping Handler) async {
        let timeout = readTimeout
        await withDiscardingTaskGroup { group in
            do {
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await Self.serve(connection, timeout: timeout, handler: handler) }
                    }
                }
            } catch {
                // The listening socket closed (shutdown): stop accepting.
            }
        }
    }

    public func close() async {
        try? await server.channel.close()
    }

    private static func serve(_ connection: Connection, timeout: Duration, handler: @escaping Handler) async {
        try? await connection.executeThenClose { inbound, outbound in
            guard let request = try await withDeadline(timeout, "request read", { () async throws -> ByteBuffer? in
                var iterator = inbound.makeAsyncIterator()
                return try await iterator.next()
            }) else { return }
            guard let reply = await handler(Array(request.readableBytesView)) else { return }
            try await outbound.write(Frame.encode(reply, allocator: connection.channel.allocator))
        }
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
