import NIOCore
import NIOPosix

/// One datagram received: its bytes and where it came from.
public struct Datagram: Sendable {
    public var bytes: [UInt8]
    public var sender: SocketAddress
}

/// A bound UDP socket. Datagrams go to the receiver set with `onReceive`, called on the socket's
/// event loop as each one is read (none is queued: a shell that runs on the same loop handles it
/// at once, so a busy Swift concurrency pool never delays a probe's answer); `send` never waits.
public final class DatagramSocket: Sendable {
    public typealias Receiver = @Sendable (Datagram) -> Void
    public let localAddress: SocketAddress
    private let channel: Channel
    private let receiver: CallbackSlot<DatagramSocket.Receiver>

    /// The largest datagram read; larger ones are truncated by the kernel and then fail to decode.
    public static let maxDatagramSize = 65_507

    private init(channel: Channel, receiver: CallbackSlot<DatagramSocket.Receiver>) throws {
        self.channel = channel
        self.receiver = receiver
        guard let local = channel.localAddress else { throw TransportError.notBound }
        localAddress = local
    }

    public static func bind(host: String, port: Int, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> DatagramSocket {
        let slot = CallbackSlot<Receiver>()
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: maxDatagramSize))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramForwarder(slot: slot))
                }
            }
            .bind(host: host, port: port).get()
        return try DatagramSocket(channel: channel, receiver: slot)
    }

    public var port: Int { localAddress.port ?? 0 }
    public var eventLoop: EventLoop { channel.eventLoop }

    /// Hands every datagram read from now on to `receive` (earlier ones were dropped).
    public func onReceive(_ receive: @escaping Receiver) {
        receiver.set(receive)
    }

    public func send(_ bytes: [UInt8], to address: SocketAddress) {
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: buffer), promise: nil)
    }

    public func close() async {
        receiver.set(nil)
        try? await channel.close()
    }
}

private final class DatagramForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let slot: CallbackSlot<DatagramSocket.Receiver>

    init(slot: CallbackSlot<DatagramSocket.Receiver>) { self.slot = slot }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        slot.get()?(Datagram(bytes: Array(envelope.data.readableBytesView), sender: envelope.remoteAddress))
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
