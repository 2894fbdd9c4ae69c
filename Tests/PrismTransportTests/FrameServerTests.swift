import NIOCore
import NIOPosix
import PrismTransport
import Synchronization
import Testing

/// The push-pull server on real TCP sockets: replies, refusals, bad frames, and closing while
/// connections arrive (which must never bring the process down).
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

@Suite("Frame server")
struct FrameServerTests {
    static func server(maxFrameSize: Int = 1024, timeout: TimeAmount = .seconds(5)) async throws -> FrameServer {
        try await FrameServer.bind(host: "127.0.0.1", port: 0, maxFrameSize: maxFrameSize, connectionTimeout: timeout)
    }

    static func address(_ server: FrameServer) throws -> SocketAddress {
        try SocketAddress(ipAddress: "127.0.0.1", port: server.port)
    }

    /// Writes raw bytes on a fresh connection and returns what came back before the server closed
    /// it; nil when the server had not closed it after 30 s (a hang guard, not a timing check).
    static func raw(_ bytes: [UInt8], to address: SocketAddress) async throws -> [UInt8]? {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let expired = Flag()
        let guardTask = Task {
            try await Task.sleep(for: .seconds(30))
            expired.set()
            try await channel.channel.close()
        }
        defer { guardTask.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            // The server may close first (a refused or timed-out connection): the write then fails.
            try? await outbound.write(ByteBuffer(bytes: bytes))
            var received: [UInt8] = []
            do {
                for try await chunk in inbound { received += Array(chunk.readableBytesView) }
            } catch {
                // A reset ends the stream like a close.
            }
            return expired.isSet ? nil : received
        }
    }

    @Test func answersEachRequestAndRefusesWhatTheHandlerRefuses() async throws {
        let server = try await Self.server()
        server.serve { request in request == [9] ? nil : request.reversed() }
        let address = try Self.address(server)
        let reply = try await FrameClient.request([1, 2, 3], to: address, maxFrameSize: 1024, timeout: .seconds(5))
        #expect(reply == [3, 2, 1])
        await #expect(throws: TransportError.closedWithoutReply) {
            try await FrameClient.request([9], to: address, maxFrameSize: 1024, timeout: .seconds(5))
        }
        await server.close()
    }

    @Test func badFramesCloseTheirConnectionOnly() async throws {
        let server = try await Self.server(maxFrameSize: 16)
        server.serve { $0 }
        let address = try Self.address(server)
        // A length over the limit: closed without a reply and without reading the body.
        #expect(try await Self.raw([0, 0, 1, 0] + [UInt8](repeating: 7, count: 64), to: address) == [])
        // Two frames on one connection: only the first is answered.
        let answered = try await Self.raw([0, 0, 0, 1, 5, 0, 0, 0, 1, 6], to: address)
        #expect(answered == [0, 0, 0, 1, 5])
        #expect(try await FrameClient.request([4], to: address, maxFrameSize: 16, timeout: .seconds(5)) == [4])
        await server.close()
    }

    @Test func idleConnectionsAreClosedWhenTheirTimeIsUp() async throws {
        let server = try await Self.server(timeout: .milliseconds(200))
        server.serve { $0 }
        // Sends half a frame and waits: the server, not this client, ends the connection.
        #expect(try await Self.raw([0, 0, 0, 8, 1], to: try Self.address(server)) == [], "the server did not close an idle connection")
        await server.close()
    }

    @Test(arguments: 0..<10) func closingWhileConnectionsArriveNeverTraps(round: Int) async throws {
        var server: FrameServer? = try await Self.server()
        let address = try Self.address(try #require(server))
        // Half the rounds never start serving: their requests are refused.
        if round % 2 == 0 { server?.serve { $0 } }
        let clients = (0..<20).map { i in
            Task { try? await FrameClient.request([UInt8(i)], to: address, maxFrameSize: 1024, timeout: .seconds(2)) }
        }
        // Connections that open and close at once, as reachability checks do.
        for _ in 0..<20 {
            _ = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(to: address).get().close()
        }
        try await Task.sleep(for: .milliseconds(20 + round))
        await server?.close()
        server = nil
        for c in clients { _ = await c.value }
        await #expect(throws: (any Error).self) {
            try await FrameClient.request([1], to: address, maxFrameSize: 1024, timeout: .seconds(2))
        }
    }

    @Test func watchConnectionsStayOpenUntilTheServerCloses() async throws {
        // A connection timeout short enough to pass during the test, long enough that a loaded
        // machine still delivers the marker and the request within it.
        let server = try await Self.server(timeout: .seconds(1))
        server.serve { $0 }
        let address = try Self.address(server)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let watch = try await FrameWatch.open(to: address, timeout: .seconds(5), on: loop).get()
        #expect(await Self.eventuallyTrue { server.watchCount == 1 })
        try await Task.sleep(for: .milliseconds(2500))
        #expect(watch.isActive, "a watch outlives the connection timeout")
        #expect(try await FrameClient.request([7], to: address, maxFrameSize: 1024, timeout: .seconds(5)) == [7], "requests are still served")
        await server.close()
        #expect(await Self.eventuallyTrue { !watch.isActive }, "closing the server ends its watches, as an exit would")
    }

    @Test func watchesBeyondTheLimitAreClosed() async throws {
        let server = try await FrameServer.bind(host: "127.0.0.1", port: 0, maxFrameSize: 1024, maxWatches: 2)
        let address = try Self.address(server)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        var watches: [Channel] = []
        for _ in 0..<3 { watches.append(try await FrameWatch.open(to: address, timeout: .seconds(5), on: loop).get()) }
        #expect(await Self.eventuallyTrue { watches.filter(\.isActive).count == 2 }, "the third watch is refused")
        #expect(server.watchCount == 2)
        await server.close()
    }

    static func eventuallyTrue(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<200 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return condition()
    }
}
