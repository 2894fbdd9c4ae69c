import PrismCheck
import PrismRaft
import PrismStorage

/// A replicated key-value store on Raft in the simulation: 3 or 5 unchanged `RaftCore`s on a
/// virtual clock (and spare nodes outside the group), a network that delays, reorders, duplicates
/// and loses messages and is cut by partitions, members that crash (losing what was not durable)
/// and restart from what was, membership changes one at a time (a spare added as a learner,
/// promoted, a voter or learner removed), and clients that send puts, gets (ReadIndex) and
/// compare-and-sets to any node, retry a write once through another node and then give up.
/// Writes go through client sessions (a session per client, requests numbered in it), so a
/// retried or duplicated write takes effect once; sessions expire, are evicted and are reopened
/// within a run. One seed, one run. What it checks: election safety (one leader per term), that every
/// member applies the same entries in the same order (log matching and state-machine safety,
/// leader completeness through them), and linearizability of the clients' history.
public struct RaftSimulation {
    public struct Options: Sendable {
        public var nodes = 3
        public var clients = 4
        /// Virtual run time, milliseconds.
        public var durationMillis: UInt64 = 3_000
        public var loss = 0.05
        public var duplication = 0.02
        public var clientTimeoutMillis: UInt64 = 60
        /// Each member snapshots its state machine and compacts its log every so many applied
        /// entries (0: never).
        public var snapshotEvery: UInt64 = 40
        /// Nodes started outside the group, for membership changes to add.
        public var spares = 2
        /// Propose a random membership change at the leader now and then; voters stay between
        /// `nodes` and `nodes + spares`.
        public var membershipChanges = true
        public init() {}
    }

    public struct Outcome: Sendable {
        public var seed: UInt64
        public var history: [KVOperation]
        public var violations: [String]
        public var crashes: Int
        public var partitions: Int
        public var snapshotsTaken: Int
        public var snapshotsInstalled: Int
        /// Membership changes that committed.
        public var membershipChanges: Int
        /// Ticks × nodes spent quiet (idle groups, odd seeds).
        public var quietNodeTicks: Int
        /// Leaders that crashed after sending appends and before they were durable.
        public var crashesBeforeDurable: Int
        /// Sessions clients opened, and requests answered "no such session" (expired or evicted).
        public var sessionsOpened: Int
        public var sessionsLost: Int
        /// Writes sent a second time, through another node, after the first try timed out.
        public var retries: Int
    }

    private enum Event {
        case tick
        case deliver(RaftEnvelope)
        case request(node: String, client: Int, request: UInt64)
        case reply(client: Int, request: UInt64, result: KVOperation.Result, output: String?)
        /// The client's session is open; its id.
        case opened(client: Int, request: UInt64, session: UInt64)
        /// The request's session is gone (expired or evicted): the client opens another.
        case sessionLost(client: Int, request: UInt64)
        case timeout(client: Int, request: UInt64)
        /// The node refused the request outright (it knows no leader): it never took effect.
        case refused(client: Int, request: UInt64)
        case fault
        case clientStart(client: Int)
        case reconfigure
        /// The failure detector's verdict after a crash or a partition reaches every node: quiet
        /// groups wake.
        case suspect
        /// Clients pause for a while (idle groups may go quiet).
        case pause
    }

    /// A proposal as its entry names it: session and sequence (session 0 and the nonce for an
    /// opening).
    private struct Proposal: Hashable {
        var session: UInt64
        var sequence: UInt64
    }

    private struct Node {
        var core: RaftCore<SplitMix64>
        var machine: KVStateMachine
        var appliedCount: UInt64 = 0
        /// Requests this node was asked and will answer: request → client.
        var pending: [UInt64: Int] = [:]
        /// Proposals this node made, by what their entries carry → request.
        var proposals: [Proposal: UInt64] = [:]
        /// Reads waiting for their index to be applied.
        var reads: [(ReadState, Int)] = []
    }

    private struct ClientOp {
        /// Nil for a session opening (not part of the history).
        var op: KVOperation?
        var command: KVCommand
        var attempts = 1
    }

    /// A client's session: its id once open, the last sequence number used.
    private struct ClientSession {
        var id: UInt64?
        var sequence: UInt64 = 0
    }

    let seed: UInt64
    let options: Options
    private var random: SplitMix64
    private var queue = EventQueue<Event>()
    private var now: UInt64 = 0
    private let ids: [String]
    private let bootstrapVoters: [String]
    private var nodes: [String: Node] = [:]
    private var durable: [String: (HardState, [LogEntry])] = [:]
    private var durableSnapshot: [String: RaftSnapshot] = [:]
    /// The state machine at an index, as the first member to reach it had it: every other
    /// member at that index (applying, or installing a snapshot) must have the same.
    private var stateAt: [UInt64: [UInt8]] = [:]
    public private(set) var snapshotsTaken = 0, snapshotsInstalled = 0
    private var side: [String: Int] = [:]
    private var appliedLog: [String: [UInt64: LogEntry]] = [:]
    private var leaders: [UInt64: String] = [:]
    private var violations: [String] = []
    private var inFlight: [UInt64: ClientOp] = [:]
    private var history: [KVOperation] = []
    private var nextRequest: UInt64 = 0
    private var crashes = 0, partitions = 0, restarts = 0, refused = 0
    private var clientSessions: [Int: ClientSession] = [:]
    private var sessionsOpened = 0, sessionsLost = 0, retries = 0
    /// What each member's state machine remembers of clients: short timeouts (half the seeds)
    /// and, one seed in five, fewer sessions than clients, so expiry and eviction happen in runs.
    private let sessionLimits: KVSessionLimits
    /// How far each node's clock is ahead (milliseconds): proposers stamp entries with their own.
    private var clockSkew: [String: UInt64] = [:]
    /// Crashes of a leader between sending its appends and making them durable.
    private var crashesBeforeDurable = 0
    /// While clients pause, until then.
    private var clientsResume: UInt64 = 0
    /// Ticks × nodes spent quiet.
    private var quietNodeTicks = 0
    /// Committed membership entries seen applied (by index), to count each once.
    private var committedChanges: Set<UInt64> = []
    /// Each written value (every write's is its own) → the index of the entry whose apply wrote
    /// it: a write that acts a second time, from another entry, is a violation however the
    /// history reads (a duplicate that acts is often linearizable: the retried write's interval
    /// spans both).
    private var wroteAt: [String: UInt64] = [:]

    public init(seed: UInt64, options: Options = Options()) {
        self.seed = seed
        self.options = options
        random = SplitMix64(seed: seed)
        ids = (1...(max(1, options.nodes) + max(0, options.spares))).map { "r\($0)" }
        bootstrapVoters = Array(ids.prefix(max(1, options.nodes)))
        sessionLimits = KVSessionLimits(timeoutMillis: seed % 2 == 0 ? 30 : 150,
                                        maxSessions: seed % 5 == 0 ? max(1, options.clients - 1) : 64, maxOutcomesPerSession: 4)
        for id in ids { clockSkew[id] = random.next() % 8 }
        for id in ids { start(id) }
    }

    public static func run(seed: UInt64, options: Options = Options()) -> Outcome {
        var sim = RaftSimulation(seed: seed, options: options)
        return sim.run()
    }

    public mutating func run() -> Outcome {
        let end = options.durationMillis * 1000
        queue.push(.tick, at: 1000)
        queue.push(.fault, at: 200_000)
        if options.membershipChanges { queue.push(.reconfigure, at: 150_000) }
        queue.push(.pause, at: 250_000 + random.next() % 100_000)
        for c in 0..<options.clients { queue.push(.clientStart(client: c), at: 50_000 + UInt64(c) * 1000) }
        while let (time, event) = queue.pop() {
            if time > end + options.clientTimeoutMillis * 1000 { break }
            now = time
            handle(event, end: end)
        }
        // Operations still out when the run stopped never returned.
        for (_, op) in inFlight.sorted(by: { $0.key < $1.key }) { recordUnknown(op) }
        checkApplied()
        let verdict = LinearizabilityChecker.check(history)
        if !verdict.linearizable {
            violations.append("history not linearizable for keys \(verdict.failingKeys)" + (verdict.undecidedKeys.isEmpty ? "" : ", undecided \(verdict.undecidedKeys)"))
        }
        return Outcome(seed: seed, history: history.sorted { ($0.call, $0.client) < ($1.call, $1.client) }, violations: violations,
                       crashes: crashes, partitions: partitions, snapshotsTaken: snapshotsTaken, snapshotsInstalled: snapshotsInstalled,
                       membershipChanges: committedChanges.count, quietNodeTicks: quietNodeTicks,
                       crashesBeforeDurable: crashesBeforeDurable, sessionsOpened: sessionsOpened, sessionsLost: sessionsLost,
                       retries: retries)
    }

    // MARK: Events

    private mutating func handle(_ event: Event, end: UInt64) {
        switch event {
        case .tick:
            for id in ids { nodes[id]?.core.tick() }
            quietNodeTicks += ids.filter { nodes[$0]?.core.isQuiesced == true }.count
            for id in ids { flush(id) }
            queue.push(.tick, at: now + 1000)
        case .deliver(let envelope):
            guard nodes[envelope.to] != nil, connected(envelope.from, envelope.to) else { return }
            nodes[envelope.to]?.core.step(envelope)
            flush(envelope.to)
        case .request(let node, let client, let request):
            guard nodes[node] != nil, let op = inFlight[request] else { return }
            nodes[node]?.pending[request] = client
            var command = op.command
            command.time = now / 1000 + clockSkew[node, default: 0]
            let proposal = Proposal(session: command.session, sequence: command.sequence)
            let accepted: Bool?
            if command.action == .get {
                accepted = nodes[node]?.core.readIndex(context: request)
            } else {
                nodes[node]?.proposals[proposal] = request
                accepted = nodes[node]?.core.propose(command.encoded())
            }
            if accepted != true {
                nodes[node]?.pending[request] = nil
                nodes[node]?.proposals[proposal] = nil
                queue.push(.refused(client: client, request: request), at: now + latency())
            }
            flush(node)
        case .reply(let client, let request, let result, let output):
            guard var op = inFlight.removeValue(forKey: request)?.op else { return }
            op.returned = now
            op.result = result
            op.output = output
            history.append(op)
            issue(client: client, end: end)
        case .opened(let client, let request, let session):
            guard inFlight.removeValue(forKey: request) != nil else { return }
            clientSessions[client] = ClientSession(id: session)
            sessionsOpened += 1
            issue(client: client, end: end)
        case .sessionLost(let client, let request):
            // The write may have taken effect before its session went (an earlier copy, or the
            // first try of a retry): the client cannot know, so it is unknown.
            guard let lost = inFlight.removeValue(forKey: request) else { return }
            sessionsLost += 1
            if clientSessions[client]?.id == lost.command.session { clientSessions[client] = nil }
            recordUnknown(lost)
            issue(client: client, end: end)
        case .refused(let client, let request):
            // Not in the history: the client knows it never happened (a checker drops such
            // operations anyway; leaving them pending forever would only slow it down). A
            // refused retry is another matter: the first try may have acted, so it is unknown.
            guard let refusedOp = inFlight.removeValue(forKey: request) else { return }
            refused += 1
            if refusedOp.attempts > 1 { recordUnknown(refusedOp) }
            issue(client: client, end: end)
        case .timeout(let client, let request):
            guard var timedOut = inFlight[request] else { return }
            if timedOut.attempts == 1, timedOut.command.action == .put || timedOut.command.action == .cas {
                // Once more through another node, with the same number: it must not act twice.
                timedOut.attempts += 1
                inFlight[request] = timedOut
                retries += 1
                send(request: request, from: client)
                return
            }
            inFlight[request] = nil
            recordUnknown(timedOut)
            issue(client: client, end: end)
        case .clientStart(let client):
            issue(client: client, end: end)
        case .fault:
            injectFault()
            queue.push(.suspect, at: now + 5_000 + random.next() % 10_000)
            if now < end { queue.push(.fault, at: now + 50_000 + random.next() % 250_000) }
        case .suspect:
            for id in ids { nodes[id]?.core.wake() }
            for id in ids { flush(id) }
        case .pause:
            clientsResume = now + 20_000 + random.next() % 30_000
            if now < end { queue.push(.pause, at: clientsResume + 100_000 + random.next() % 200_000) }
        case .reconfigure:
            reconfigure()
            if now < end { queue.push(.reconfigure, at: now + 100_000 + random.next() % 300_000) }
        }
    }

    /// One random change at the current leader: a spare joins as a learner, a learner is promoted
    /// or leaves, or (above `nodes` voters) a voter leaves. Refusals (a change pending, a new
    /// leader) are part of the run.
    /// The running member that leads in the highest term (a deposed leader may not know yet).
    private var currentLeader: String? {
        ids.filter { nodes[$0]?.core.role == .leader }.max { (nodes[$0]?.core.term ?? 0) < (nodes[$1]?.core.term ?? 0) }
    }

    private mutating func reconfigure() {
        guard let leader = currentLeader, let membership = nodes[leader]?.core.membership else { return }
        var changes: [MembershipChange] = ids.filter { !membership.contains($0) }.map { .addLearner($0) }
        for learner in membership.learners { changes += [.promote(learner), .promote(learner), .remove(learner)] }
        if membership.voters.count > bootstrapVoters.count { changes += membership.voters.map { .remove($0) } }
        guard !changes.isEmpty else { return }
        let change = changes[Int(random.next() % UInt64(changes.count))]
        _ = try? nodes[leader]?.core.proposeMembershipChange(change)
        flush(leader)
    }

    private mutating func issue(client: Int, end: UInt64) {
        guard now < end else { return }
        if now < clientsResume { return queue.push(.clientStart(client: client), at: clientsResume) }
        nextRequest += 1
        guard var session = clientSessions[client], let id = session.id else {
            // First a session (the request id is the nonce); the operation comes after.
            clientSessions[client] = ClientSession()
            inFlight[nextRequest] = ClientOp(op: nil, command: .openSession(nonce: nextRequest, time: 0))
            return send(request: nextRequest, from: client)
        }
        session.sequence += 1
        clientSessions[client] = session
        let key = "k\(random.next() % 3)"
        let kind: KVOperation.Kind, value: String?, expected: String?
        switch random.next() % 3 {
        case 0: (kind, value, expected) = (.put, "v\(nextRequest)", nil)
        case 1: (kind, value, expected) = (.get, nil, nil)
        default:
            (kind, value) = (.cas, "v\(nextRequest)")
            expected = random.next() % 2 == 0 ? nil : "v\(random.next() % max(1, nextRequest))"
        }
        // One request at a time: everything before this one has been answered or given up.
        let command = KVCommand(session: id, sequence: session.sequence, acknowledged: session.sequence, time: 0, kind: kind, key: key,
                                value: value, expected: expected)
        let op = KVOperation(client: client, key: key, kind: kind, value: value, expected: expected, call: now, returned: 0, result: .unknown)
        inFlight[nextRequest] = ClientOp(op: op, command: command)
        send(request: nextRequest, from: client)
    }

    /// The operation goes into the history as unknown: it may or may not have acted (session
    /// openings are not operations).
    private mutating func recordUnknown(_ clientOp: ClientOp) {
        guard var op = clientOp.op else { return }
        op.result = .unknown
        history.append(op)
    }

    /// Sends a request to a random node (lost now and then) and starts its timeout.
    private mutating func send(request: UInt64, from client: Int) {
        let node = ids[Int(random.next() % UInt64(ids.count))]
        if random.next() % 100 >= 3 { queue.push(.request(node: node, client: client, request: request), at: now + latency()) }
        queue.push(.timeout(client: client, request: request), at: now + options.clientTimeoutMillis * 1000)
    }

    private mutating func injectFault() {
        switch random.next() % 4 {
        case 0:
            // Crash one running member, or restart one that is down.
            if let down = ids.first(where: { nodes[$0] == nil }) {
                start(down)
            } else {
                let victim = ids[Int(random.next() % UInt64(ids.count))]
                nodes[victim] = nil
                crashes += 1
            }
        case 1:
            side = [:]
            for id in ids where random.next() % 3 == 0 { side[id] = 1 }
            partitions += 1
        case 2:
            side = [:]
        default:
            // The leader alone on its side: it must stop answering reads it cannot confirm,
            // while the rest elect another and move on.
            side = [:]
            if let leader = currentLeader {
                side[leader] = 1
                partitions += 1
            }
        }
    }

    // MARK: Nodes

    private mutating func start(_ id: String) {
        let (hardState, entries) = durable[id] ?? (HardState(), [])
        let snapshot = durableSnapshot[id]
        restarts += 1
        // One seed in four runs without check-quorum: its lease makes a deposed leader step down
        // about when the others may elect anew, which would hide a read answered unconfirmed.
        // Odd seeds let idle groups go quiet after 5 ticks; half of them start quiet too (they
        // elect a leader only when a client's request arrives). Two seeds in three stream
        // snapshots in chunks of 96 bytes (the key-value state is a few kilobytes).
        let config = RaftConfiguration(id: id, voters: bootstrapVoters.contains(id) ? bootstrapVoters : [], electionTicks: 10, heartbeatTicks: 1,
                                       checkQuorum: seed % 4 != 3, maxEntriesPerMessage: 16, maxInflightMessages: 8,
                                       quiesceTicks: seed % 2 == 1 ? 5 : 0, startQuiet: seed % 4 == 1,
                                       maxSnapshotChunkBytes: seed % 3 == 1 ? 1 << 20 : 96)
        var node = Node(core: RaftCore(configuration: config, hardState: hardState, snapshot: snapshot, entries: entries,
                                       random: SplitMix64(seed: seed &* 0x9E37_79B9 &+ UInt64(restarts))),
                        machine: KVStateMachine(limits: sessionLimits))
        // The state machine is rebuilt from the snapshot, then the durable log up to the
        // durable commit index.
        if let snapshot {
            guard let machine = KVStateMachine(snapshot: snapshot.data, limits: sessionLimits) else {
                violations.append("\(id): its snapshot at \(snapshot.index) cannot be read")
                return
            }
            node.machine = machine
            node.appliedCount = snapshot.index
        }
        for entry in entries where entry.index > node.appliedCount && entry.index <= hardState.commit {
            if entry.kind == .normal, let command = KVCommand(entry.data) { _ = node.machine.apply(command, index: entry.index) }
            node.appliedCount = entry.index
        }
        nodes[id] = node
    }

    /// Runs a node's ready loop: persist, send, apply and answer.
    private mutating func flush(_ id: String) {
        guard var node = nodes[id] else { return }
        while node.core.hasReady {
            let ready = node.core.ready()
            if ready.sendBeforePersisting {
                // A leader's appends leave before its own write; now and then it crashes during
                // that write, and what the ready held never becomes durable here.
                for message in ready.messages { send(message) }
                if !ready.entries.isEmpty, random.next() % 1000 == 0, ids.allSatisfy({ nodes[$0] != nil }) {
                    nodes[id] = nil
                    crashes += 1
                    crashesBeforeDurable += 1
                    return
                }
            }
            var (hardState, log) = durable[id] ?? (HardState(), [])
            if let snap = ready.snapshot {
                // Persist the snapshot; the log keeps only what continues it.
                durableSnapshot[id] = snap
                let continues = log.first { $0.index == snap.index }?.term == snap.term
                log = continues ? log.filter { $0.index > snap.index } : []
                guard let machine = KVStateMachine(snapshot: snap.data, limits: sessionLimits) else {
                    violations.append("\(id): a snapshot at \(snap.index) cannot be read")
                    nodes[id] = nil
                    return
                }
                node.machine = machine
                node.appliedCount = snap.index
                snapshotsInstalled += 1
                record(state: snap.data, at: snap.index, by: id)
            }
            if let hs = ready.hardState { hardState = hs }
            if let first = ready.entries.first {
                log.removeAll { $0.index >= first.index }
                log.append(contentsOf: ready.entries)
            }
            durable[id] = (hardState, log)
            if !ready.sendBeforePersisting {
                for message in ready.messages { send(message) }
            }
            for entry in ready.committed {
                if node.appliedCount + 1 != entry.index {
                    violations.append("\(id) applied entry \(entry.index) after \(node.appliedCount)")
                }
                appliedLog[id, default: [:]][entry.index] = entry
                node.appliedCount = entry.index
                if entry.kind == .membership { committedChanges.insert(entry.index) }
                guard entry.kind == .normal, let command = KVCommand(entry.data) else { continue }
                let before = node.machine.value(command.key)
                let result = node.machine.apply(command, index: entry.index)
                if let written = command.value, before != written, node.machine.value(command.key) == written {
                    if let first = wroteAt[written], first != entry.index {
                        violations.append("\(id): the write of \(written) acted twice (entries \(first) and \(entry.index))")
                    }
                    wroteAt[written] = wroteAt[written] ?? entry.index
                }
                guard let request = node.proposals.removeValue(forKey: Proposal(session: command.session, sequence: command.sequence)),
                      let client = node.pending.removeValue(forKey: request) else { continue }
                let answer: Event
                switch result {
                case .done(let success): answer = .reply(client: client, request: request, result: success ? .ok : .fail, output: nil)
                case .opened(let session): answer = .opened(client: client, request: request, session: session)
                case .noSession: answer = .sessionLost(client: client, request: request)
                case .forgotten: answer = .reply(client: client, request: request, result: .unknown, output: nil)
                }
                // Now and then the answer is lost on its way: the client retries a write that acted.
                if random.next() % 100 >= 3 { queue.push(answer, at: now + latency()) }
            }
            node.reads.append(contentsOf: ready.reads.compactMap { read in node.pending[read.context].map { (read, $0) } })
            node.core.advance(ready)
            // Snapshot and compact now and then (durable first: the snapshot, then the log).
            if options.snapshotEvery > 0, node.appliedCount >= (node.core.snapshot?.index ?? 0) + options.snapshotEvery,
               node.appliedCount <= (durable[id]?.1.last?.index ?? 0), let term = durable[id]?.1.first(where: { $0.index == node.appliedCount })?.term {
                let snap = RaftSnapshot(index: node.appliedCount, term: term, data: node.machine.snapshot(),
                                        membership: node.core.membership(at: node.appliedCount))
                durableSnapshot[id] = snap
                durable[id]?.1.removeAll { $0.index <= snap.index }
                node.core.compact(snap)
                snapshotsTaken += 1
                record(state: snap.data, at: snap.index, by: id)
            }
        }
        // Reads whose index has been applied are answered from the state machine.
        var waiting: [(ReadState, Int)] = []
        for (read, client) in node.reads {
            guard node.appliedCount >= read.index, let op = inFlight[read.context] else {
                if inFlight[read.context] != nil { waiting.append((read, client)) }
                continue
            }
            node.pending[read.context] = nil
            queue.push(.reply(client: client, request: read.context, result: .ok, output: node.machine.value(op.command.key)), at: now + latency())
        }
        node.reads = waiting
        if node.core.role == .leader {
            if let other = leaders[node.core.term], other != id { violations.append("term \(node.core.term) has two leaders: \(other) and \(id)") }
            leaders[node.core.term] = id
        }
        nodes[id] = node
    }

    private mutating func send(_ envelope: RaftEnvelope) {
        guard connected(envelope.from, envelope.to) else { return }
        if Double(random.next() >> 11) / Double(1 << 53) < options.loss { return }
        queue.push(.deliver(envelope), at: now + latency())
        if Double(random.next() >> 11) / Double(1 << 53) < options.duplication { queue.push(.deliver(envelope), at: now + latency() * 3) }
    }

    private func connected(_ a: String, _ b: String) -> Bool { side[a, default: 0] == side[b, default: 0] }

    private mutating func record(state: [UInt8], at index: UInt64, by id: String) {
        if let known = stateAt[index] {
            if known != state { violations.append("\(id): state machine at \(index) differs from another member's") }
        } else {
            stateAt[index] = state
        }
    }

    /// 100–600 µs: enough spread to reorder messages.
    private mutating func latency() -> UInt64 { 100 + random.next() % 500 }

    /// Every member applied the same entry at every index it applied.
    private mutating func checkApplied() {
        var first: [UInt64: LogEntry] = [:]
        for id in ids {
            for (index, entry) in appliedLog[id, default: [:]].sorted(by: { $0.key < $1.key }) {
                if let other = first[index], other != entry {
                    violations.append("\(id) applied term \(entry.term) at \(index), where another member applied term \(other.term)")
                    break
                }
                first[index] = first[index] ?? entry
            }
        }
    }
}
