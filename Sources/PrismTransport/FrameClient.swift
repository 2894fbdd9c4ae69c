import NIOCore
import NIOPosix

/// One request frame, one reply frame, over a fresh TCP connection (push-pull is rare enough
/// that keeping connections open would cost more than it saves).
public enum FrameClient {
    public static func request(_ payload: [UInt8], to address: SocketAddress, maxFrameSize: Int, timeout: Duration,
                               group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> [UInt8] {
        try await withDeadline(timeout, "request to \(address)") {
            let connection = try await ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(to: address) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: maxFrameSize)))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            return try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(Frame.encode(payload, allocator: connection.channel.allocator))
                var iterator = inbound.makeAsyncIterator()
                guard let reply = try await iterator.next() else { throw TransportError.closedWithoutReply }
                return Array(reply.readableBytesView)
            }
        }
    }
}
