import Foundation
import Logging
import NIOCore
import NIOPosix
import PrismTransport
import Synchronization

/// The SWIM core on real sockets: UDP for probes and gossip, TCP for push-pull, a monotonic
/// clock for its timers. Everything the protocol decides happens in `SWIMCore`; this actor only
/// moves bytes, keeps time, counts and logs.
public actor GossipAgent {
    /// A membership change with the wall-clock time it was observed (for `--events`).
    public struct Observed: Sendable {
        public var unixTime: Double
        public var event: MembershipEvent
    }

    public let configuration: GossipAgentConfiguration
    public nonisolated let endpoint: GossipEndpoint
    public nonisolated let events: AsyncStream<Observed>
    /// Traffic counters; readable from any thread (the metrics scrape is synchronous).
    public nonisolated var statistics: GossipStatistics { counters.withLock { $0 } }
    private let counters = Mutex(GossipStatistics())

    private var core: SWIMCore<SystemRandomNumberGenerator>
    private let format: GossipPacketFormat
    private let socket: DatagramSocket
    private let server: FrameServer
    private let eventSink: AsyncStream<Observed>.Continuation
    private let logger: Logger
    private var addresses: [GossipEndpoint: SocketAddress] = [:]
    private var sleeper: Task<Void, Never>?
    private var plannedWake = Moment(nanoseconds: .max)
    private var lastVersionWarning: [String: Moment] = [:]
    private var stopped = false

    /// Binds the sockets; `run` then joins and serves.
    public static func start(_ configuration: GossipAgentConfiguration, logger: Logger) async throws -> GossipAgent {
        let socket = try await DatagramSocket.bind(host: configuration.bind.host, port: configuration.bind.port)
        do {
            // TCP takes the port UDP got, so one gossip address serves both.
            let server = try await FrameServer.bind(host: configuration.bind.host, port: socket.port,
                                                    maxFrameSize: configuration.maxPushPullBytes)
            return GossipAgent(configuration: configuration, socket: socket, server: server, logger: logger)
        } catch {
            await socket.close()
            throw error
        }
    }

    private init(configuration: GossipAgentConfiguration, socket: DatagramSocket, server: FrameServer, logger: Logger) {
        self.configuration = configuration
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

    /// Joins through the seeds and runs the protocol until the task is cancelled or `stop` is called.
    public func run() async {
        logger.info("gossip listening", metadata: [
            "node": "\(configuration.id)", "bind": "\(configuration.bind.host):\(socket.port)", "advertise": "\(endpoint)",
            "seeds": "\(configuration.seeds.map(\.description).joined(separator: ","))",
            "encrypted": "\(configuration.keyring != nil)",
        ])
        core.join(seeds: configuration.seeds)
        flush()
        let socket = self.socket, server = self.server
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await datagram in socket.incoming { await self.handle(datagram) }
            }
            group.addTask {
                await server.run { request in await self.servePushPull(request) }
            }
            group.addTask { await self.timerLoop() }
            await withTaskCancellationHandler {
                await group.next()
            } onCancel: {
                Task { await self.closeSockets() }
            }
            await closeSockets()
            group.cancelAll()
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
        sleeper?.cancel()
        await socket.close()
        await server.close()
    }

    private func timerLoop() async {
        while !stopped && !Task.isCancelled {
            let now = MonotonicClock.now()
            core.advance(to: now)
            flush()
            let deadline = core.nextDeadline
            plannedWake = deadline
            let wait = deadline.since(MonotonicClock.now())
            guard wait.nanoseconds > 0 else { continue }
            let sleep = Task<Void, Never> { try? await Task.sleep(for: .nanoseconds(Int64(min(wait.nanoseconds, 60_000_000_000)))) }
            sleeper = sleep
            await withTaskCancellationHandler { await sleep.value } onCancel: { sleep.cancel() }
            sleeper = nil
        }
    }

    /// Wakes the timer loop early when input created a deadline before its planned wake.
    private func rescheduleIfNeeded() {
        if core.nextDeadline < plannedWake { sleeper?.cancel() }
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
            core.advance(to: MonotonicClock.now())
            core.receive(messages)
            flush()
            rescheduleIfNeeded()
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
            rescheduleIfNeeded()
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
            rescheduleIfNeeded()
        } catch {
            refuse(error, from: peer.description)
        }
    }

    private func reachabilityChecked(member: String, sequence: UInt32, _ result: Reachability) {
        core.advance(to: MonotonicClock.now())
        core.receiveReachability(member: member, sequence: sequence, result)
        flush()
        rescheduleIfNeeded()
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
                let (limit, timeout) = (configuration.maxPushPullBytes, configuration.pushPullTimeout)
                Task {
                    do {
                        let reply = try await FrameClient.request(request, to: address, maxFrameSize: limit, timeout: timeout)
                        self.pushPullReplied(reply, from: to)
                    } catch {
                        self.pushPullFailed(to, error)
                    }
                }
            case .checkReachability(let member, let to, let sequence):
                guard let address = address(of: to) else { continue }
                let timeout = configuration.settings.probeTimeout
                Task {
                    if let result = await TCPReachability.check(address, timeout: .nanoseconds(Int64(timeout.nanoseconds))) {
                        self.reachabilityChecked(member: member, sequence: sequence, result == .refused ? .refused : .accepted)
                    }
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
        rescheduleIfNeeded()
    }

    public func updateMetadata(_ metadata: MemberMetadata) {
        core.updateMetadata(metadata)
        flush()
        rescheduleIfNeeded()
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
