import NIOCore
import NIOPosix

/// One datagram received: its bytes and where it came from.
public struct Datagram: Sendable {
    public var bytes: [UInt8]
    public var sender: SocketAddress
}

/// A bound UDP socket: datagrams arrive on `incoming` in order; `send` never waits. When the
/// reader falls behind, the oldest queued datagrams are dropped (a gossip packet that waited
/// that long is stale anyway) and counted in `dropped`.
public final class DatagramSocket: Sendable {
    public let incoming: AsyncStream<Datagram>
    public let localAddress: SocketAddress
    private let channel: Channel

    /// The largest datagram read; larger ones are truncated by the kernel and then fail to decode.
    public static let maxDatagramSize = 65_507

    private init(channel: Channel, incoming: AsyncStream<Datagram>) throws {
        self.channel = channel
        self.incoming = incoming
        guard let local = channel.localAddress else { throw TransportError.notBound }
        localAddress = local
    }

    public static func bind(host: String, port: Int, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            queueLimit: Int = 4096) async throws -> DatagramSocket {
        let (stream, continuation) = AsyncStream.makeStream(of: Datagram.self, bufferingPolicy: .bufferingNewest(queueLimit))
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: maxDatagramSize))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramForwarder(continuation: continuation))
                }
            }
            .bind(host: host, port: port).get()
        return try DatagramSocket(channel: channel, incoming: stream)
    }

    public var port: Int { localAddress.port ?? 0 }

    public func send(_ bytes: [UInt8], to address: SocketAddress) {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
    }

    public func close() async {
        try? await channel.close()
    }
}

private final class DatagramForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let continuation: AsyncStream<Datagram>.Continuation

    init(continuation: AsyncStream<Datagram>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        continuation.yield(Datagram(bytes: Array(envelope.data.readableBytesView), sender: envelope.remoteAddress))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // ICMP port-unreachable and similar errors of a connectionless socket: nothing to do,
        // the protocol's own timeouts notice the silent peer.
    }
}

public enum TransportError: Error, Equatable, CustomStringConvertible {
    case notBound
    case frameTooLarge(Int, limit: Int)
    case closedWithoutReply
    case timedOut(String)

    public var description: String {
        switch self {
        case .notBound: "socket has no local address"
        case .frameTooLarge(let n, let limit): "frame of \(n) bytes exceeds the \(limit)-byte limit"
        case .closedWithoutReply: "connection closed before a reply"
        case .timedOut(let what): "\(what) timed out"
        }
    }
}
