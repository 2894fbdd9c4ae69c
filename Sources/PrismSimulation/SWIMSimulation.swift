import PrismGossip
import PrismStorage

/// Many SWIM cores in one process on a virtual clock and an in-memory network with latency,
/// jitter, loss, one-way partitions, crashed and paused (CPU-starved) members. Seeded: the same
/// seed and the same script replay the same run, event for event. The cores are the production
/// `SWIMCore`, unchanged.
public struct SWIMSimulation {
    public typealias Core = SWIMCore<SplitMix64>

    public struct Observation: Sendable {
        public let observer: Int
        public let event: MembershipEvent
    }

    private enum Event {
        case wake(node: Int, generation: Int)
        case datagram(to: Int, from: Int, [GossipMessage])
        case pushPullRequest(to: Int, from: Int, PushPullState)
        case pushPullReply(to: Int, from: Int, PushPullState)
        /// A TCP connection attempt from `to` to `member` has an answer (decided on arrival).
        case reachability(to: Int, member: Int, name: String, sequence: UInt32)
    }

    public let seed: UInt64
    public var network: NetworkConditions
    public let settings: SWIMSettings
    public private(set) var nodes: [Core?] = []
    /// Every membership event any node observed, in order.
    public private(set) var observations: [Observation] = []
    public private(set) var datagramsSent = 0
    /// Encoded size of every datagram sent (with the 2-byte header), when `measureBytes` is on.
    public private(set) var bytesSent = 0
    public var measureBytes = false
    /// Off for large runs: 10,000 nodes observe 10⁸ events while joining.
    public var keepObservations = true
    /// Called for every observation, kept or not.
    public var onObservation: ((Observation) -> Void)?
    /// Called for every datagram sent (time in seconds, from, to, messages), delivered or not.
    public var onDatagram: ((Double, Int, Int, [GossipMessage]) -> Void)?
    /// Members some node declared dead while they were running (paused ones included).
    public private(set) var falsePositives: Set<Int> = []
    public private(set) var now: UInt64 = 0

    private var random: SplitMix64
    private var queue = EventQueue<Event>()
    private var endpoints: [GossipEndpoint: Int] = [:]
    /// Bumped when a node crashes or restarts, so its stale wakes and deliveries are dropped.
    private var generations: [Int] = []
    private var paused: Set<Int> = []
    private var held: [Int: [Event]] = [:]
    private var scheduledWake: [UInt64] = []

    public init(seed: UInt64, settings: SWIMSettings, network: NetworkConditions = NetworkConditions()) {
        self.seed = seed
        self.settings = settings
        self.network = network
        random = SplitMix64(seed: seed)
    }

    public static func endpoint(_ node: Int) -> GossipEndpoint {
        GossipEndpoint(host: "10.\(node / 65536).\(node / 256 % 256).\(node % 256)", port: 7946)
    }

    public static func name(_ node: Int) -> String { "node-\(node)" }

    public static func index(of name: String) -> Int? {
        name.hasPrefix("node-") ? Int(name.dropFirst(5)) : nil
    }

    // MARK: Script

    /// Starts a node (a new one, or a crashed one again with a fresh incarnation) joining through `seeds`.
    @discardableResult
    public mutating func start(_ node: Int? = nil, zone: String = "", metadata: MemberMetadata? = nil, seeds: [Int] = [],
                               delayMillis: Double = 0) -> Int {
        let index = node ?? nodes.count
        while nodes.count <= index {
            nodes.append(nil)
            generations.append(0)
            scheduledWake.append(.max)
        }
        generations[index] += 1
        let endpoint = Self.endpoint(index)
        endpoints[endpoint] = index
        var core = Core(id: Self.name(index), endpoint: endpoint, metadata: metadata ?? MemberMetadata(zone: zone), settings: settings,
                        random: SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &+ UInt64(generations[index]) << 32),
                        now: Moment(nanoseconds: now))
        core.join(seeds: seeds.map(Self.endpoint))
        nodes[index] = core
        scheduledWake[index] = .max
        if delayMillis > 0 {
            schedule(.wake(node: index, generation: generations[index]), afterMillis: delayMillis)
        } else {
            flush(index)
        }
        return index
    }

    /// Kills a node: no more messages in or out, state lost.
    public mutating func crash(_ node: Int) {
        nodes[node] = nil
        generations[node] += 1
        paused.remove(node)
        held[node] = nil
    }

    /// Stops a node's clock and message handling (like SIGSTOP); what arrives meanwhile waits.
    public mutating func pause(_ node: Int) { paused.insert(node) }

    public mutating func resume(_ node: Int) {
        guard paused.remove(node) != nil else { return }
        for event in held.removeValue(forKey: node) ?? [] { handle(event) }
        wake(node)
    }

    /// Asks a node to leave gracefully.
    public mutating func leave(_ node: Int) {
        guard nodes[node] != nil else { return }
        nodes[node]?.leave()
        flush(node)
    }

    public mutating func updateMetadata(_ node: Int, _ change: (inout MemberMetadata) -> Void) {
        guard var metadata = nodes[node]?.me.metadata else { return }
        change(&metadata)
        nodes[node]?.updateMetadata(metadata)
        flush(node)
    }

    /// Cuts traffic from every node of `a` to every node of `b` and back.
    public mutating func partition(_ a: [Int], _ b: [Int]) {
        for x in a {
            for y in b {
                network.blocked.insert(.init(from: x, to: y))
                network.blocked.insert(.init(from: y, to: x))
            }
        }
    }

    public mutating func heal() { network.blocked.removeAll() }

    /// Runs events until virtual time `seconds`.
    public mutating func run(until seconds: Double) {
        let end = UInt64(seconds * 1e9)
        while let next = queue.nextTime, next <= end, let (time, event) = queue.pop() {
            now = max(now, time)
            handle(event)
        }
        now = max(now, end)
    }

    /// Runs until `condition` holds (checked after every event) or `seconds` pass; returns the
    /// virtual time it first held, or nil.
    public mutating func run(until seconds: Double, stopWhen condition: (SWIMSimulation) -> Bool) -> Double? {
        let end = UInt64(seconds * 1e9)
        if condition(self) { return Double(now) / 1e9 }
        while let next = queue.nextTime, next <= end, let (time, event) = queue.pop() {
            now = max(now, time)
            handle(event)
            if condition(self) { return Double(now) / 1e9 }
        }
        now = max(now, end)
        return nil
    }

    // MARK: Views

    public var nowSeconds: Double { Double(now) / 1e9 }

    public func isRunning(_ node: Int) -> Bool { node < nodes.count && nodes[node] != nil }

    public func isPaused(_ node: Int) -> Bool { paused.contains(node) }

    /// Local health and queued broadcasts across running nodes (for progress lines).
    public var diagnostics: String {
        let running = nodes.compactMap { $0 }
        guard !running.isEmpty else { return "no running node" }
        let health = running.map(\.localHealth)
        let queued = running.map(\.pendingBroadcasts)
        return "local health mean \(Double(health.reduce(0, +)) / Double(running.count)) max \(health.max() ?? 0); "
            + "queued broadcasts mean \(Double(queued.reduce(0, +)) / Double(running.count)) max \(queued.max() ?? 0)"
    }

    /// How many other members `node` holds alive (nil when it is not running).
    public func aliveCount(_ node: Int) -> Int? { node < nodes.count ? nodes[node]?.aliveCount : nil }

    /// What `observer` believes about `member` (nil: not in its table, or removed).
    public func status(of member: Int, seenBy observer: Int) -> MemberStatus? {
        guard let core = nodes[observer] else { return nil }
        if member == observer { return core.me.status }
        return core.members[Self.name(member)]?.status
    }

    /// Whether every running node sees exactly `alive` as alive (and nothing else alive).
    public func everyoneSees(alive: Set<Int>) -> Bool {
        for (i, core) in nodes.enumerated() {
            guard let core, !paused.contains(i), alive.contains(i) else { continue }
            var seen = Set(core.members.values.filter { $0.status == .alive }.map(\.id))
            seen.insert(core.me.id)
            if seen != Set(alive.map(Self.name)) { return false }
        }
        return true
    }

    /// Whether every running node other than `member` has it as dead/left or no longer knows it.
    public func everyoneConsidersDown(_ member: Int) -> Bool {
        for (i, core) in nodes.enumerated() where i != member {
            guard let core, !paused.contains(i) else { continue }
            if let m = core.members[Self.name(member)], !m.status.isDown { return false }
        }
        return true
    }

    // MARK: Engine

    private mutating func schedule(_ event: Event, afterMillis ms: Double) {
        queue.push(event, at: now &+ UInt64(max(0, ms) * 1e6))
    }

    private mutating func handle(_ event: Event) {
        switch event {
        case .wake(let node, let generation):
            guard generation == generations[node] else { return }
            if scheduledWake[node] <= now { scheduledWake[node] = .max }
            if paused.contains(node) {
                return // resume() wakes it
            }
            wake(node)
        case .datagram(let to, _, let messages):
            guard nodes[to] != nil else { return }
            if paused.contains(to) { return held[to, default: []].append(event) }
            nodes[to]?.advance(to: Moment(nanoseconds: now))
            nodes[to]?.receive(messages)
            flush(to)
        case .pushPullRequest(let to, let from, let state):
            guard nodes[to] != nil else { return }
            if paused.contains(to) { return held[to, default: []].append(event) }
            nodes[to]?.advance(to: Moment(nanoseconds: now))
            guard let reply = nodes[to]?.receivePushPull(state) else { return }
            flush(to)
            send(.pushPullReply(to: from, from: to, reply), from: to, to: from, reliable: true)
        case .reachability(let to, let member, let name, let sequence):
            guard nodes[to] != nil else { return }
            if paused.contains(to) { return held[to, default: []].append(event) }
            // A crashed process's port refuses; a paused one's kernel still accepts.
            let result: Reachability = nodes[member] == nil ? .refused : .accepted
            nodes[to]?.advance(to: Moment(nanoseconds: now))
            nodes[to]?.receiveReachability(member: name, sequence: sequence, result)
            flush(to)
        case .pushPullReply(let to, _, let state):
            guard nodes[to] != nil else { return }
            if paused.contains(to) { return held[to, default: []].append(event) }
            nodes[to]?.advance(to: Moment(nanoseconds: now))
            nodes[to]?.receivePushPullReply(state)
            flush(to)
        }
    }

    private mutating func wake(_ node: Int) {
        guard nodes[node] != nil else { return }
        nodes[node]?.advance(to: Moment(nanoseconds: now))
        flush(node)
    }

    /// Delivers a node's outputs to the network and schedules its next wake.
    private mutating func flush(_ node: Int) {
        guard var core = nodes[node] else { return }
        let outputs = core.takeOutputs()
        let deadline = core.nextDeadline.nanoseconds
        nodes[node] = core
        for output in outputs {
            switch output {
            case .send(let endpoint, let messages):
                guard let to = endpoints[endpoint] else { continue }
                datagramsSent += 1
                onDatagram?(nowSeconds, node, to, messages)
                if measureBytes { bytesSent += 2 + GossipCodec.encodeBody(messages).count }
                send(.datagram(to: to, from: node, messages), from: node, to: to, reliable: false)
            case .pushPull(let endpoint, let state):
                guard let to = endpoints[endpoint] else { continue }
                send(.pushPullRequest(to: to, from: node, state), from: node, to: to, reliable: true)
            case .checkReachability(let name, let endpoint, let sequence):
                guard let target = endpoints[endpoint] else { continue }
                // A handshake there and back: lost only to partitions (TCP retransmits).
                if network.blocked.contains(.init(from: node, to: target)) || network.blocked.contains(.init(from: target, to: node)) { continue }
                schedule(.reachability(to: node, member: target, name: name, sequence: sequence), afterMillis: 2 * network.latencyMillis)
            case .checkGone:
                // Asked only after a lost watch connection, which the simulation does not model.
                continue
            case .event(let event):
                let observation = Observation(observer: node, event: event)
                if keepObservations { observations.append(observation) }
                onObservation?(observation)
                if event.change == .dead, let member = Self.index(of: event.member), isRunning(member) {
                    falsePositives.insert(member)
                }
            }
        }
        if deadline < scheduledWake[node] {
            scheduledWake[node] = deadline
            queue.push(.wake(node: node, generation: generations[node]), at: max(deadline, now))
        }
    }

    private mutating func send(_ event: Event, from: Int, to: Int, reliable: Bool) {
        if network.blocked.contains(.init(from: from, to: to)) { return }
        if !reliable && network.loss > 0 && Double(random.next() >> 11) / Double(1 << 53) < network.loss { return }
        let jitter = network.jitterMillis * Double(random.next() >> 11) / Double(1 << 53)
        schedule(event, afterMillis: network.latencyMillis + jitter)
    }
}
