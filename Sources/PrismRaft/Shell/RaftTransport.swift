import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import PrismTransport
import Synchronization

/// Raft traffic between nodes over TCP: one outgoing connection per peer carries the batches of
/// every group this node shares with it (`HostBatch`, length-prefixed `RaftWire` frames), opened
/// on first use with a `hello` and reopened with exponential backoff when it breaks. Incoming
/// connections must start with a `hello` whose versions overlap ours; a bad frame, a missing or
/// incompatible hello, or an oversized frame closes that connection only, and is counted.
/// With `Settings.tls` every connection is mutual TLS first (`ClusterTLS`): a peer that cannot
/// prove it holds the cluster's key never gets to the hello.
///
/// Raft tolerates lost messages, so a full queue (a peer down, or not reading: backpressure)
/// drops instead of buffering without bound.
public final class RaftTransport: Sendable {
    public typealias Receiver = @Sendable (_ from: String, _ batch: HostBatch) -> Void

    public struct Settings: Sendable {
        public var maxFrameSize = 64 << 20
        /// Frames waiting for a connection, per peer, before new ones are dropped.
        public var maxQueuedBytes = 8 << 20
        public var connectTimeout: TimeAmount = .seconds(1)
        public var minimumBackoff: TimeAmount = .milliseconds(50)
        public var maximumBackoff: TimeAmount = .seconds(5)
        /// A connection that breaks sooner than this after opening counts as a failed attempt and
        /// backs off. Needed for TLS 1.3, where the client finishes its handshake before the server
        /// has checked the client's certificate: a refused client sees an open connection close.
        public var stableConnection: TimeAmount = .seconds(1)
        /// Nil: plain TCP.
        public var tls: ClusterTLS?
        public init() {}
    }

    public let node: String
    public let localAddress: SocketAddress
    public let statistics: RaftTransportStatistics
    private let settings: Settings
    private let server: Channel
    private let loop: EventLoop
    private let peers: NIOLoopBoundBox<[String: Outbound]>
    private let inbound: InboundConnections

    /// Listens on `host:port`; `receive` runs on the transport's event loop for each batch.
    public static func start(node: String, host: String, port: Int, settings: Settings = Settings(),
                             loop: EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
                             receive: @escaping Receiver) async throws -> RaftTransport {
        let statistics = RaftTransportStatistics()
        let inbound = InboundConnections()
        let server = try await ServerBootstrap(group: loop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    if let tls = settings.tls { try child.pipeline.syncOperations.addHandler(tls.serverHandler()) }
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: settings.maxFrameSize)))
                    try child.pipeline.syncOperations.addHandler(InboundHandler(statistics: statistics, connections: inbound, receive: receive))
                }
            }
            .bind(host: host, port: port).get()
        return try RaftTransport(node: node, server: server, loop: loop, settings: settings, statistics: statistics, inbound: inbound)
    }

    private init(node: String, server: Channel, loop: EventLoop, settings: Settings, statistics: RaftTransportStatistics,
                 inbound: InboundConnections) throws {
        guard let local = server.localAddress else { throw TransportError.notBound }
        self.node = node
        self.server = server
        self.loop = loop
        self.settings = settings
        localAddress = local
        peers = .makeBoxSendingValue([:], eventLoop: loop)
        self.statistics = statistics
        self.inbound = inbound
    }

    public var port: Int { localAddress.port ?? 0 }

    /// Where `peer` listens (from the membership view); a changed address drops the old connection.
    public func setAddress(_ address: SocketAddress, of peer: String) {
        loop.execute { [self] in
            if let existing = peers.value[peer] {
                guard existing.address != address else { return }
                existing.channel?.close(promise: nil)
            }
            peers.value[peer] = Outbound(address: address, backoff: settings.minimumBackoff)
        }
    }

    /// Sends `batch` to `peer` (queued while connecting; dropped and counted when the queue is full
    /// or the peer is unknown).
    public func send(_ batch: HostBatch, to peer: String) {
        let payload = RaftWire.encode(.batch(batch))
        // At once when called on the loop (the host shell does, before its disk write).
        inLoop { [self] in
            guard let outbound = peers.value[peer] else { return statistics.drop("unknown_peer") }
            let frame = Frame.encode(payload, allocator: ByteBufferAllocator())
            if let channel = outbound.channel, channel.isActive {
                guard channel.isWritable else { return statistics.drop("backpressure") }
                channel.writeAndFlush(frame, promise: nil)
                statistics.sent(bytes: frame.readableBytes)
                return
            }
            guard outbound.queuedBytes + frame.readableBytes <= settings.maxQueuedBytes else { return statistics.drop("queue_full") }
            outbound.queue.append(frame)
            outbound.queuedBytes += frame.readableBytes
            connect(peer, outbound)
        }
    }

    private func inLoop(_ work: @escaping @Sendable () -> Void) {
        if loop.inEventLoop { work() } else { loop.execute(work) }
    }

    /// Runs on the loop.
    private func connect(_ peer: String, _ outbound: Outbound) {
        let bound = NIOLoopBound(outbound, eventLoop: loop)
        guard !outbound.connecting, outbound.channel == nil else { return }
        let now = NIODeadline.now()
        if now < outbound.nextAttempt {
            // Backing off: try again when the wait is over (once).
            outbound.connecting = true
            loop.scheduleTask(deadline: outbound.nextAttempt) { [self] in
                let outbound = bound.value
                outbound.connecting = false
                if !outbound.queue.isEmpty { connect(peer, outbound) }
            }
            return
        }
        outbound.connecting = true
        let hello = Frame.encode(RaftWire.encode(.hello(node: node, protocolVersion: UInt64(RaftWire.version),
                                                        minimumSupported: UInt64(RaftWire.minimumSupportedVersion))),
                                 allocator: ByteBufferAllocator())
        ClientBootstrap(group: loop)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: settings.maxQueuedBytes / 2, high: settings.maxQueuedBytes))
            .channelInitializer { [settings, statistics, self] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let tls = settings.tls else { return }
                    try channel.pipeline.syncOperations.addHandler(tls.clientHandler())
                    try channel.pipeline.syncOperations.addHandler(OutboundHandshakeHandler(statistics: statistics) {
                        self.establish(bound.value)
                    })
                }
            }
            .connect(to: outbound.address)
            .whenComplete { [self] result in
                let outbound = bound.value
                outbound.connecting = false
                switch result {
                case .success(let channel):
                    guard peers.value[peer] === outbound else { return channel.close(promise: nil) }
                    outbound.channel = channel
                    // Plain TCP is established once connected; TLS once its handshake completes
                    // (the writes below wait in the TLS handler until then).
                    outbound.established = false
                    if settings.tls == nil { establish(outbound) }
                    channel.write(hello, promise: nil)
                    for frame in outbound.queue {
                        statistics.sent(bytes: frame.readableBytes)
                        channel.write(frame, promise: nil)
                    }
                    channel.flush()
                    outbound.queue = []
                    outbound.queuedBytes = 0
                    channel.closeFuture.whenComplete { [self] _ in
                        let outbound = bound.value
                        guard outbound.channel === channel else { return }
                        outbound.channel = nil
                        if outbound.established, NIODeadline.now() - outbound.establishedAt >= settings.stableConnection {
                            outbound.backoff = settings.minimumBackoff
                        } else {
                            // Refused (a failed handshake, a peer that does not trust us) or
                            // broken at once: back off as after a failed connect, instead of
                            // reconnecting at every send.
                            backOff(outbound)
                        }
                    }
                case .failure:
                    statistics.connectFailed()
                    backOff(outbound)
                    if !outbound.queue.isEmpty { connect(peer, outbound) }
                }
            }
    }

    /// Runs on the loop: the connection is usable.
    private func establish(_ outbound: Outbound) {
        outbound.established = true
        outbound.establishedAt = .now()
        statistics.connected()
    }

    private func backOff(_ outbound: Outbound) {
        outbound.nextAttempt = .now() + outbound.backoff
        outbound.backoff = min(outbound.backoff * 2, settings.maximumBackoff)
    }

    /// Whether an outgoing connection to `peer` is open now.
    public func isConnected(to peer: String) async -> Bool {
        (try? await loop.submit { [self] in peers.value[peer]?.channel?.isActive == true }.get()) ?? false
    }

    public func close() async {
        let channels: [Channel] = (try? await loop.submit { [self] () -> [Channel] in
            let open = peers.value.values.compactMap(\.channel)
            peers.value = [:]
            return open
        }.get()) ?? []
        for channel in channels { try? await channel.close() }
        try? await server.close()
        // As a process's exit would: peers see their connections to us end.
        for channel in inbound.closeAll() { try? await channel.close() }
    }
}

/// One peer's outgoing side; touched only on the transport's loop.
private final class Outbound {
    let address: SocketAddress
    var channel: Channel?
    var connecting = false
    /// The open channel has finished its TLS handshake (always, for plain TCP).
    var established = false
    var establishedAt = NIODeadline.uptimeNanoseconds(0)
    var queue: [ByteBuffer] = []
    var queuedBytes = 0
    var backoff: TimeAmount
    var nextAttempt = NIODeadline.uptimeNanoseconds(0)

    init(address: SocketAddress, backoff: TimeAmount) {
        self.address = address
        self.backoff = backoff
    }
}

/// An incoming connection: a hello first, then batches to `receive`.
private final class InboundHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let statistics: RaftTransportStatistics
    let connections: InboundConnections
    let receive: RaftTransport.Receiver
    private var peer: String?

    init(statistics: RaftTransportStatistics, connections: InboundConnections, receive: @escaping RaftTransport.Receiver) {
        self.statistics = statistics
        self.connections = connections
        self.receive = receive
    }

    func channelActive(context: ChannelHandlerContext) {
        connections.add(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connections.remove(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame: RaftWire.Frame
        do {
            frame = try RaftWire.decode(Array(unwrapInboundIn(data).readableBytesView))
        } catch {
            return refuse(context, error.reason)
        }
        switch (frame, peer) {
        case (.hello(let node, let version, let minimum), nil):
            // Compatible when the two ranges of versions meet.
            guard minimum <= UInt64(RaftWire.version), version >= UInt64(RaftWire.minimumSupportedVersion), minimum <= version else {
                return refuse(context, "version")
            }
            peer = node
        case (.batch(let batch), let from?):
            statistics.received()
            receive(from, batch)
        case (.batch, nil):
            refuse(context, "no_hello")
        case (.hello, _?):
            refuse(context, "malformed")
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // An oversized frame, a failed TLS handshake (or a broken stream): this connection goes,
        // the transport stays. A peer that vanishes without closing TLS is not a refusal.
        switch error {
        case NIOSSLError.uncleanShutdown: context.close(promise: nil)
        case is NIOSSLError, is BoringSSLError: refuse(context, "tls")
        case is TransportError: refuse(context, "too_large")
        default: refuse(context, "malformed")
        }
    }

    private func refuse(_ context: ChannelHandlerContext, _ reason: String) {
        statistics.drop(reason)
        context.close(promise: nil)
    }
}

/// On an outgoing TLS connection: reports the completed handshake, and counts and closes a failed
/// one (the peer does not trust our certificate, or we do not trust its).
private final class OutboundHandshakeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let statistics: RaftTransportStatistics
    let completed: () -> Void
    private var done = false

    init(statistics: RaftTransportStatistics, completed: @escaping () -> Void) {
        self.statistics = statistics
        self.completed = completed
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event, !done {
            done = true
            completed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Peers send nothing back on our outgoing connection; drop whatever comes.
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !done, (error as? NIOSSLError) != .uncleanShutdown { statistics.drop("tls_handshake") }
        context.close(promise: nil)
    }
}

/// The connections peers opened to us, so closing the transport ends them.
private final class InboundConnections: Sendable {
    private let open = Mutex<[ObjectIdentifier: Channel]>([:])
    func add(_ channel: Channel) { open.withLock { $0[ObjectIdentifier(channel)] = channel } }
    func remove(_ channel: Channel) { open.withLock { $0[ObjectIdentifier(channel)] = nil } }
    func closeAll() -> [Channel] { open.withLock { open in defer { open = [:] }; return Array(open.values) } }
}

/// Counters of a transport (for metrics and tests).
public final class RaftTransportStatistics: Sendable {
    private struct Counts {
        var framesSent = 0, bytesSent = 0, framesReceived = 0, connections = 0, connectFailures = 0
        var dropped: [String: Int] = [:]
    }
    private let counts = Mutex(Counts())

    public init() {}

    func sent(bytes: Int) { counts.withLock { $0.framesSent += 1; $0.bytesSent += bytes } }
    func received() { counts.withLock { $0.framesReceived += 1 } }
    func connected() { counts.withLock { $0.connections += 1 } }
    func connectFailed() { counts.withLock { $0.connectFailures += 1 } }
    func drop(_ reason: String) { counts.withLock { $0.dropped[reason, default: 0] += 1 } }

    public var framesSent: Int { counts.withLock { $0.framesSent } }
    public var framesReceived: Int { counts.withLock { $0.framesReceived } }
    public var connections: Int { counts.withLock { $0.connections } }
    public var connectFailures: Int { counts.withLock { $0.connectFailures } }
    public func dropped(_ reason: String) -> Int { counts.withLock { $0.dropped[reason, default: 0] } }
    /// Refusals by reason.
    public var drops: [String: Int] { counts.withLock { $0.dropped } }
}
