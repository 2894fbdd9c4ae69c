import Foundation
import Logging
import NIOCore
import NIOPosix
import PrismTransport
import Synchronization

/// The SWIM core on real sockets: UDP for probes and gossip, TCP for push-pull, a monotonic
/// clock for its timers. Everything the protocol decides happens in `SWIMCore`; this actor only
/// moves bytes, keeps time, counts and logs.
///
/// The actor runs on a NIO event loop of its own (`unownedExecutor`), and so do its sockets and
/// timers: a datagram, a push-pull request or a timer is handled right on that loop's thread,
/// never queued behind work on the Swift concurrency pool. A node busy with searches on every
/// core still answers probes on time, which is what keeps it from being declared dead.
public actor GossipAgent {
    /// A membership change with the wall-clock time it was observed (for `--events`).
    public struct Observed: Sendable {
        public var unixTime: Double
        public var event: MembershipEvent
    }

    /// The gossip thread: one event loop for every agent of the process, never shut down.
    static let threads = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    public let configuration: GossipAgentConfiguration
    public nonisolated let endpoint: GossipEndpoint
    public nonisolated let events: AsyncStream<Observed>
    /// Traffic counters; readable from any thread (the metrics scrape is synchronous).
    public nonisolated var statistics: GossipStatistics { counters.withLock { $0 } }
    private let counters = Mutex(GossipStatistics())
    private nonisolated let loop: any EventLoop
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }

    private var core: SWIMCore<SystemRandomNumberGenerator>
    private let format: GossipPacketFormat
    private let socket: DatagramSocket
    private let server: FrameServer
    private let eventSink: AsyncStream<Observed>.Continuation
    private let logger: Logger
    private var addresses: [GossipEndpoint: SocketAddress] = [:]
    private var wake: Scheduled<Void>?
    private var plannedWake = Moment(nanoseconds: .max)
    private var lastVersionWarning: [String: Moment] = [:]
    private var started = false
    private var stopped = false
    /// Watch connections to the members after this one in id order (`SWIMCore.watchTargets`).
    private var watches: [String: Watch] = [:]
    private var watchedVersion = UInt64.max
    private var watchTokens: UInt64 = 0
    /// Each member is watched by this many others.
    static let watchers = 2

    private struct Watch {
        let endpoint: GossipEndpoint
        /// Tells this connection's callbacks from those of an earlier one to the same member.
        let token: UInt64
        var channel: Channel?
        var connecting = true
        /// No new attempt before this (a dead member must not be reconnected in a loop).
        var retryAt: Moment
    }
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []

    /// Binds the sockets; `run` then joins and serves.
    public static func start(_ configuration: GossipAgentConfiguration, logger: Logger) async throws -> GossipAgent {
        let loop = threads.next()
        // TCP takes the port UDP got, so one gossip address serves both. With port 0 the port UDP
        // picks may be the local port of someone's outgoing TCP connection (ephemeral ports share
        // one range): then another port is tried. A configured port that is taken is an error.
        var attempt = 0
        while true {
            attempt += 1
            let socket = try await DatagramSocket.bind(host: configuration.bind.host, port: configuration.bind.port, group: loop)
            do {
                let server = try await FrameServer.bind(host: configuration.bind.host, port: socket.port,
                                                        maxFrameSize: configuration.maxPushPullBytes, group: loop)
                return GossipAgent(configuration: configuration, loop: loop, socket: socket, server: server, logger: logger)
            } catch {
                await socket.close()
                guard configuration.bind.port == 0, attempt < 16 else { throw error }
                logger.debug("gossip TCP port taken, trying another", metadata: ["port": "\(socket.port)", "error": "\(error)"])
            }
        }
    }

    private init(configuration: GossipAgentConfiguration, loop: any EventLoop, socket: DatagramSocket, server: FrameServer, logger: Logger) {
        self.configuration = configuration
        self.loop = loop
        self.socket = socket
        self.server = server
        self.logger = logger
        format = GossipPacketFormat(keyring: configuration.keyring)
        let advertised = configuration.advertise.map { GossipEndpoint(host: $0.host, port: $0.port == 0 ? socket.port : $0.port) }
            ?? GossipEndpoint(host: Self.advertisableHost(configuration.bind.host), port: socket.port)
        endpoint = advertised
        (events, eventSink) = AsyncStream.makeStream(of: Observed.self, bufferingPolicy: .bufferingNewest(65_536))
        core = SWIMCore(id: configuration.id, endpoint: advertised, metadata: configuration.metadata, settings: configuration.settings,
                        random: SystemRandomNumberGenerator(), now: MonotonicClock.now())
    }

    // MARK: Running

    /// Joins through the seeds and runs the protocol until the task is cancelled (a crash: no
    /// goodbye) or `stop` is called.
    public func run() async {
        guard !started, !stopped else { return }
        started = true
        logger.info("gossip listening", metadata: [
            "node": "\(configuration.id)", "bind": "\(configuration.bind.host):\(socket.port)", "advertise": "\(endpoint)",
            "seeds": "\(configuration.seeds.map(\.description).joined(separator: ","))",
            "encrypted": "\(configuration.keyring != nil)",
        ])
        // Both callbacks run on this actor's loop, so they enter the actor without a hop.
        socket.onReceive { datagram in self.assumeIsolated { $0.handle(datagram) } }
        server.serve { request in self.assumeIsolated { $0.servePushPull(request) } }
        core.join(seeds: configuration.seeds)
        flush()
        scheduleWake()
        await withTaskCancellationHandler {
            await withCheckedContinuation { waiter in
                if stopped { waiter.resume() } else { stopWaiters.append(waiter) }
            }
        } onCancel: {
            Task { await self.stop(leave: false) }
        }
        eventSink.finish()
    }

    /// Leaves the mesh gracefully (the others see `left`, not `dead`), then closes the sockets.
    public func stop(leave: Bool = true) async {
        guard !stopped else { return }
        if leave {
            core.leave()
            flush()
            // Give the leave datagrams a moment to go out before the socket closes.
            try? await Task.sleep(for: .milliseconds(50))
        }
        await closeSockets()
    }

    private func closeSockets() async {
        guard !stopped else { return }
        stopped = true
        wake?.cancel()
        wake = nil
        let open = watches.values.compactMap(\.channel)
        watches = [:]
        for channel in open { try? await channel.close() }
        await socket.close()
        await server.close()
        for waiter in stopWaiters { waiter.resume() }
        stopWaiters = []
        if !started { eventSink.finish() }
    }

    /// Runs the core's due timers, then sleeps until its next deadline.
    private func tick() {
        wake = nil
        plannedWake = Moment(nanoseconds: .max)
        guard !stopped else { return }
        core.advance(to: MonotonicClock.now())
        flush()
        scheduleWake()
    }

    /// Arms the timer for the core's next deadline when it comes before the one already armed
    /// (input can only bring deadlines forward; a later one is re-armed by the tick itself).
    private func scheduleWake() {
        let deadline = core.nextDeadline
        guard !stopped, wake == nil || deadline < plannedWake else { return }
        wake?.cancel()
        plannedWake = deadline
        let wait = min(deadline.since(MonotonicClock.now()).nanoseconds, 60_000_000_000)
        wake = loop.scheduleTask(in: .nanoseconds(Int64(wait))) { self.assumeIsolated { $0.tick() } }
    }

    // MARK: Input

    private func handle(_ datagram: Datagram) {
        counters.withLock {
            $0.datagramsReceived += 1
            $0.bytesReceived += datagram.bytes.count
        }
        do throws(GossipWireError) {
            let body = try format.unwrap(datagram.bytes)
            let messages = try GossipCodec.decodeBody(body)
            feed { $0.receive(messages) }
        } catch {
            refuse(error, from: "\(datagram.sender)")
        }
    }

    private func servePushPull(_ request: [UInt8]) -> [UInt8]? {
        do throws(GossipWireError) {
            let now = MonotonicClock.now()
            let state = try GossipCodec.decodePushPull(try format.unwrap(request), receivedAt: now)
            core.advance(to: now)
            let reply = core.receivePushPull(state)
            counters.withLock { $0.pushPullsServed += 1 }
            flush()
            scheduleWake()
            return format.wrap(GossipCodec.encode(reply))
        } catch {
            refuse(error, from: "push-pull peer")
            return nil
        }
    }

    private func pushPullReplied(_ reply: [UInt8], from peer: GossipEndpoint) {
        do throws(GossipWireError) {
            let now = MonotonicClock.now()
            let state = try GossipCodec.decodePushPull(try format.unwrap(reply), receivedAt: now)
            core.advance(to: now)
            core.receivePushPullReply(state)
            flush()
            scheduleWake()
        } catch {
            refuse(error, from: peer.description)
        }
    }

    private func reachabilityChecked(member: String, sequence: UInt32, _ result: Reachability) {
        feed { $0.receiveReachability(member: member, sequence: sequence, result) }
    }

    /// Brings the core to now, hands it one input, sends what it produced and re-arms the timer.
    private func feed(_ input: (inout SWIMCore<SystemRandomNumberGenerator>) -> Void) {
        core.advance(to: MonotonicClock.now())
        input(&core)
        flush()
        scheduleWake()
    }

    private func pushPullFailed(_ peer: GossipEndpoint, _ error: any Error) {
        counters.withLock { $0.pushPullsFailed += 1 }
        logger.debug("push-pull failed", metadata: ["peer": "\(peer)", "error": "\(error)"])
    }

    private func refuse(_ error: GossipWireError, from sender: String) {
        counters.withLock { $0.dropped[error.reason, default: 0] += 1 }
        if case .unsupportedVersion = error {
            // Loud, but once a minute per sender: an old node keeps sending every second.
            let now = MonotonicClock.now()
            if let last = lastVersionWarning[sender], now.since(last) < .milliseconds(60_000) { return }
            lastVersionWarning[sender] = now
            logger.warning("refused a peer with an incompatible protocol version", metadata: ["peer": "\(sender)", "error": "\(error)"])
        } else {
            logger.debug("dropped a gossip packet", metadata: ["peer": "\(sender)", "error": "\(error)"])
        }
    }

    // MARK: Output

    private func flush() {
        defer { updateWatches() }
        for output in core.takeOutputs() {
            switch output {
            case .send(let to, let messages):
                guard let address = address(of: to) else { continue }
                let (bodies, oversized) = GossipCodec.packBodies(messages, budget: format.datagramBodyBudget)
                counters.withLock { $0.oversizedMessages += oversized }
                for body in bodies {
                    let packet = format.wrap(body)
                    counters.withLock {
                        $0.datagramsSent += 1
                        $0.bytesSent += packet.count
                    }
                    socket.send(packet, to: address)
                }
            case .pushPull(let to, let state):
                guard let address = address(of: to) else { continue }
                counters.withLock { $0.pushPullsStarted += 1 }
                let request = format.wrap(GossipCodec.encode(state))
                FrameClient.request(request, to: address, maxFrameSize: configuration.maxPushPullBytes,
                                    timeout: configuration.pushPullTimeout, on: loop).whenComplete { result in
                    self.assumeIsolated { agent in
                        switch result {
                        case .success(let reply): agent.pushPullReplied(reply, from: to)
                        case .failure(let error): agent.pushPullFailed(to, error)
                        }
                    }
                }
            case .checkGone(let member, let to):
                guard let address = address(of: to) else { continue }
                let timeout = TimeAmount.nanoseconds(Int64(configuration.settings.probeTimeout.nanoseconds))
                TCPReachability.check(address, timeout: timeout, on: loop).whenSuccess { result in
                    guard let result else { return }
                    self.assumeIsolated { $0.feed { $0.receiveGoneCheck(member: member, result == .refused ? .refused : .accepted) } }
                }
            case .checkReachability(let member, let to, let sequence):
                guard let address = address(of: to) else { continue }
                let timeout = TimeAmount.nanoseconds(Int64(configuration.settings.probeTimeout.nanoseconds))
                TCPReachability.check(address, timeout: timeout, on: loop).whenSuccess { result in
                    guard let result else { return }
                    self.assumeIsolated { $0.reachabilityChecked(member: member, sequence: sequence, result == .refused ? .refused : .accepted) }
                }
            case .event(let event):
                let level: Logger.Level = switch event.change {
                case .dead, .refused: .warning
                case .alive, .left, .suspect: .info
                case .removed, .updated: .debug
                }
                logger.log(level: level, "member \(event.change.rawValue)", metadata: [
                    "member": "\(event.member)", "incarnation": "\(event.incarnation)",
                ])
                eventSink.yield(Observed(unixTime: Date().timeIntervalSince1970, event: event))
            }
        }
    }

    // MARK: Watch connections

    /// Opens and closes watch connections to follow `watchTargets` when the live set changed, and
    /// retries lost ones (at most once per probe period each).
    private func updateWatches() {
        guard !stopped else { return }
        let now = MonotonicClock.now()
        let retryDue = watches.values.contains { $0.channel == nil && !$0.connecting && $0.retryAt <= now }
        guard core.membershipVersion != watchedVersion || retryDue else { return }
        watchedVersion = core.membershipVersion
        let targets = core.watchTargets(count: Self.watchers)
        for (id, watch) in watches where !targets.contains(where: { $0.id == id && $0.endpoint == watch.endpoint }) {
            watches[id] = nil
            watch.channel?.close(promise: nil)
        }
        for target in targets {
            if let watch = watches[target.id], watch.channel != nil || watch.connecting || watch.retryAt > now { continue }
            openWatch(target.id, target.endpoint, now: now)
        }
    }

    private func openWatch(_ id: String, _ endpoint: GossipEndpoint, now: Moment) {
        guard let address = address(of: endpoint) else { return }
        watchTokens += 1
        let token = watchTokens
        watches[id] = Watch(endpoint: endpoint, token: token, retryAt: now.adding(configuration.settings.probeInterval))
        let timeout = TimeAmount.nanoseconds(Int64(configuration.settings.probeTimeout.nanoseconds))
        FrameWatch.open(to: address, timeout: timeout, on: loop).whenComplete { result in
            self.assumeIsolated { $0.watchOpened(id, token: token, result) }
        }
    }

    private func watchOpened(_ id: String, token: UInt64, _ result: Result<Channel, any Error>) {
        guard var watch = watches[id], watch.token == token else {
            // Superseded or stopped while connecting.
            if case .success(let channel) = result { channel.close(promise: nil) }
            return
        }
        watch.connecting = false
        switch result {
        case .success(let channel):
            watch.channel = channel
            watches[id] = watch
            channel.closeFuture.whenComplete { _ in self.assumeIsolated { $0.watchClosed(id, token: token) } }
        case .failure:
            watches[id] = watch
            watchLost(id)
        }
    }

    private func watchClosed(_ id: String, token: UInt64) {
        // A connection this agent closed itself is no longer (or never was) the current one.
        guard var watch = watches[id], watch.token == token, watch.channel != nil else { return }
        watch.channel = nil
        watch.retryAt = MonotonicClock.now().adding(configuration.settings.probeInterval)
        watches[id] = watch
        watchLost(id)
    }

    private func watchLost(_ id: String) {
        counters.withLock { $0.watchesLost += 1 }
        logger.debug("watch connection lost", metadata: ["member": "\(id)"])
        feed { $0.receiveConnectionLost(member: id) }
    }

    private func address(of endpoint: GossipEndpoint) -> SocketAddress? {
        if let known = addresses[endpoint] { return known }
        guard let resolved = try? SocketAddress.makeAddressResolvingHost(endpoint.host, port: endpoint.port) else {
            counters.withLock { $0.unresolvable += 1 }
            logger.debug("cannot resolve gossip endpoint", metadata: ["endpoint": "\(endpoint)"])
            return nil
        }
        addresses[endpoint] = resolved
        return resolved
    }

    // MARK: Views and changes

    /// This node and every member it knows (down ones until reaped), sorted by id.
    public var members: [Member] { ([core.me] + core.members.values).sorted { $0.id < $1.id } }
    public var me: Member { core.me }
    public var localHealth: Int { core.localHealth }

    /// Replaces the seeds (DNS re-resolution); a node with no live member joins through them at once.
    public func setSeeds(_ seeds: [GossipEndpoint]) {
        core.join(seeds: seeds)
        flush()
        scheduleWake()
    }

    public func updateMetadata(_ metadata: MemberMetadata) {
        core.updateMetadata(metadata)
        flush()
        scheduleWake()
    }

    /// The host others should use to reach a socket bound to `host`.
    static func advertisableHost(_ host: String) -> String {
        guard host == "0.0.0.0" || host == "::" || host.isEmpty else { return host }
        let devices = (try? System.enumerateDevices()) ?? []
        for device in devices {
            guard let address = device.address, case .v4 = address, let ip = address.ipAddress, !ip.hasPrefix("127.") else { continue }
            return ip
        }
        return "127.0.0.1"
    }
}
