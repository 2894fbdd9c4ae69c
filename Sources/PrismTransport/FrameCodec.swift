import NIOCore

/// Length-prefixed frames on a TCP stream: a 4-byte big-endian length, then that many bytes.
/// A length over `maxFrameSize` closes the connection (a peer cannot make us buffer gigabytes).
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer
    public let maxFrameSize: Int

    public init(maxFrameSize: Int) { self.maxFrameSize = maxFrameSize }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= maxFrameSize else { throw TransportError.frameTooLarge(Int(length), limit: maxFrameSize) }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        guard let frame = buffer.readSlice(length: Int(length)) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }
}

public enum Frame {
    /// The one-byte request that turns a connection into a watch: the server keeps it open and
    /// silent, so the watcher learns of the process's end the moment the kernel closes it.
    /// (Gossip payloads start with the protocol version byte, never 0xFF.)
    public static let watchMarker: [UInt8] = [0xFF]

    public static func encode(_ payload: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 4 + payload.count)
        write(payload, into: &buffer)
        return buffer
    }

    /// Appends `payload` as one frame (several frames in a buffer leave in one write).
    public static func write(_ payload: [UInt8], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(payload.count))
        buffer.writeBytes(payload)
    }
}
