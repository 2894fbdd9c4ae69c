import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import PrismRaft
import PrismSimulation
import PrismStorage
import PrismTransport

/// `prism raft-node`: one node of a replicated key-value store on Raft groups (the state machine
/// the simulation checks), with its Raft log durable in a write-ahead log in front of LMDB (fsync
/// on; `--raft-log lmdb`: LMDB alone) and the Raft transport, answering the client protocol of
/// `KVWire`. What `prism bench raft` starts, three at a time.
struct RaftNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft-node",
        abstract: "Run one replicated key-value node on Raft (for prism bench raft).",
        shouldDisplay: false)

    @Option(help: "This node's id.") var id: String
    @Option(help: "Where the Raft transport listens (host:port).") var raft: String
    @Option(help: "Where clients connect (host:port).") var client: String
    @Option(help: "A peer as id=host:port (repeat for each).") var peer: [String] = []
    @Option(help: "Data directory (LMDB).") var dataDir: String
    @Option(help: "Raft groups hosted (1...N).") var groups: UInt64 = 1
    @Option(help: "Milliseconds per Raft tick.") var tickMs: Int = 10
    @Option(help: "Ticks without word from a leader before a follower campaigns (after a random wait up to twice that); a leader that has not heard from a majority for as long steps down (check-quorum).")
    var electionTicks: Int = 10
    @Option(help: "Idle ticks before a group goes quiet (0: never; otherwise groups also start quiet and elect on first use).")
    var quiesceTicks: Int = 0
    @Flag(help: "Exit when standard input closes (what starts the node holds it open; a node outlives no bench).")
    var exitWithStdin = false
    @Option(help: "Certificate (PEM) for mutual TLS on the Raft transport (with --key-path).") var certPath: String?
    @Option(help: "Private key (PEM) of --cert-path.") var keyPath: String?
    @Option(help: "CA bundle peers' certificates must chain to (default: the certificate itself).") var caPath: String?
    @Option(help: "Where a write is durable first: wal (a write-ahead log, one sync; LMDB follows) or lmdb (an LMDB commit, two syncs).")
    var raftLog = "wal"
    @Option(help: "Milliseconds a write-ahead log record waits before LMDB takes it (with the others of that time).")
    var walCatchUpMs = RaftWALStore.defaultCatchUpMilliseconds
    @Option(help: "Applied entries between snapshots of a group's state machine (its log is compacted up to each; 0: never).")
    var snapshotEntries = KVSnapshotTaker.defaultEntries
    @Option(help: "And the log since the last snapshot at least this many times that snapshot's size, so rewriting the whole state costs at most 1/ratio of the log written (0: entries alone decide).")
    var snapshotLogRatio = KVSnapshotTaker.defaultLogRatio

    func validate() throws {
        guard snapshotEntries >= 0 else { throw ValidationError("--snapshot-entries must be 0 (never) or more") }
        guard electionTicks >= 2 else { throw ValidationError("--election-ticks must be at least 2 (a heartbeat every tick must fit inside it), got \(electionTicks)") }
        guard snapshotLogRatio >= 0, snapshotLogRatio <= 1000 else { throw ValidationError("--snapshot-log-ratio must be between 0 and 1000") }
    }

    enum RaftLogMode: String { case wal, lmdb }

    /// Checks `--raft-log` and `--wal-catch-up-ms` (here and in `prism bench raft`, which passes them on).
    static func logMode(_ name: String, catchUpMs: Int) throws -> RaftLogMode {
        guard let mode = RaftLogMode(rawValue: name) else { throw ValidationError("--raft-log: '\(name)' is not one of wal, lmdb") }
        guard (0...600_000).contains(catchUpMs) else { throw ValidationError("--wal-catch-up-ms must be between 0 and 600000") }
        return mode
    }

    func run() async throws {
        if exitWithStdin {
            Thread.detachNewThread {
                // Reads until end of file: the parent is gone.
                _ = FileHandle.standardInput.readDataToEndOfFile()
                Glibc.exit(0)
            }
        }
        var peers: [String: (String, Int)] = [:]
        for p in peer {
            let parts = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let hp = Self.hostPort(parts[1]) else { throw ValidationError("--peer wants id=host:port, got \(p)") }
            peers[parts[0]] = hp
        }
        guard let raftAddress = Self.hostPort(raft), let clientAddress = Self.hostPort(client) else {
            throw ValidationError("--raft and --client want host:port")
        }
        var transportSettings = RaftTransport.Settings()
        switch (certPath, keyPath) {
        case (let cert?, let key?): transportSettings.tls = try ClusterTLS(certificatePath: cert, keyPath: key, caPath: caPath)
        case (nil, nil): guard caPath == nil else { throw ValidationError("--ca-path needs --cert-path and --key-path") }
        default: throw ValidationError("--cert-path and --key-path go together")
        }
        let voters = ([id] + peers.keys).sorted()
        let logMode = try Self.logMode(raftLog, catchUpMs: walCatchUpMs)
        // Behind the write-ahead log LMDB needs one sync per commit, not two (see RaftWALStore).
        let environment = try LMDBEnvironment(directory: dataDir, options: StorageOptions(syncMode: logMode == .wal ? .nometasync : .full))
        let store = try RaftLogStore(environment: environment)
        let writer = GroupCommitWriter(environment: environment)
        var walStore: RaftWALStore?
        if logMode == .wal {
            let opened = try RaftWALStore(directory: dataDir + "/raft-wal", environment: environment, store: store, writer: writer,
                                          catchUpMilliseconds: walCatchUpMs)
            if opened.replayedRecords > 0 {
                FileHandle.standardError.write(Data("prism raft-node \(id) replayed \(opened.replayedRecords) write-ahead log records into LMDB\n".utf8))
            }
            walStore = opened
        }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let state = NodeState(loop: loop, node: id, snapshotEntries: snapshotEntries, snapshotLogRatio: snapshotLogRatio)

        var host = MultiRaft<SplitMix64>(node: id)
        var machines: [UInt64: (KVStateMachine, UInt64)] = [:]
        var snapshotIndexes: [UInt64: UInt64] = [:]
        var snapshotLogs: [UInt64: NodeState.SnapshotLog] = [:]
        for group in 1...groups {
            let persisted = try environment.read { try store.loadAll(group: group, in: $0) }
            let config = RaftConfiguration(id: id, voters: voters, electionTicks: electionTicks, quiesceTicks: quiesceTicks, startQuiet: quiesceTicks > 0)
            host.create(group: group, core: RaftCore(configuration: config, hardState: persisted.hardState, snapshot: persisted.snapshot,
                                                     entries: persisted.entries, random: SplitMix64(seed: group &* 0x9E37 &+ UInt64(bitPattern: Int64(id.hashValue)))))
            // The state machine from the snapshot, then the durable log after it up to the
            // durable commit index.
            var machine = KVStateMachine()
            var applied: UInt64 = 0
            if let snapshot = persisted.snapshot {
                guard let restored = KVStateMachine(snapshot: snapshot.data) else {
                    throw ValidationError("group \(group): the snapshot at index \(snapshot.index) in \(dataDir) cannot be decoded (\(snapshot.data.count) bytes)")
                }
                machine = restored
                applied = snapshot.index
                snapshotIndexes[group] = snapshot.index
                snapshotLogs[group, default: .init()].lastSnapshotBytes = snapshot.data.count
            }
            for entry in persisted.entries where entry.index > applied && entry.index <= persisted.hardState.commit {
                if entry.kind == .normal, let command = KVCommand(entry.data) { _ = machine.apply(command, index: entry.index) }
                applied = entry.index
                snapshotLogs[group, default: .init()].bytesSince += NodeState.SnapshotLog.bytes(of: entry)
            }
            machines[group] = (machine, applied)
        }
        let loaded = machines, restoredSnapshots = snapshotIndexes, restoredLogs = snapshotLogs
        try await loop.submit {
            state.machines.value = loaded
            state.snapshotIndexes.value = restoredSnapshots
            state.snapshotLogs.value = restoredLogs
        }.get()
        if !restoredSnapshots.isEmpty {
            let newest = restoredSnapshots.values.max() ?? 0
            FileHandle.standardError.write(Data("prism raft-node \(id) restored \(restoredSnapshots.count) groups from their snapshots (newest at index \(newest)) and the log after them\n".utf8))
        }

        let shellBox = ShellSlot()
        let snapshots = KVSnapshotTaker(node: id, shell: shellBox, state: state)
        let transport = try await RaftTransport.start(node: id, host: raftAddress.0, port: raftAddress.1,
                                                       settings: transportSettings, loop: loop) { from, batch in
            shellBox.shell?.receive(batch, from: from)
        }
        for (peerID, (h, p)) in peers { transport.setAddress(try SocketAddress.makeAddressResolvingHost(h, port: p), of: peerID) }
        let shell = RaftHostShell(host: host, writer: writer, store: store, transport: transport, loop: loop,
                                  tickInterval: .milliseconds(Int64(tickMs)), walStore: walStore) { group, ready in
            if let due = state.apply(group: group, ready) { snapshots.take(group: group, due) }
        }
        shellBox.shell = shell
        let server = try await ServerBootstrap(group: loop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: 1 << 22)))
                    try child.pipeline.syncOperations.addHandler(KVRequestHandler(shell: shell, state: state))
                }
            }
            .bind(host: clientAddress.0, port: clientAddress.1).get()
        // A line on stderr whenever the groups' state changes (checked every 2 s): how many
        // are awake (ticking), how many this node leads, and the write-ahead log's segment files
        // (more than a few means LMDB is not catching up).
        let logStore = walStore
        let lastStats = NIOLoopBoundBox.makeBoxSendingValue("", eventLoop: loop)
        loop.scheduleRepeatedTask(initialDelay: .seconds(2), delay: .seconds(2)) { _ in
            let wal = logStore.map { " wal_segments=\($0.wal.segmentCount)" } ?? ""
            let lost = state.leadershipLostReplies.value
            let taken = state.snapshotsTaken.value, installed = state.snapshotsInstalled.value
            // Over every group (the counts are kept as they change: a pass over the groups, every 2 s).
            var sessions = 0, outcomes = 0
            for (machine, _) in state.machines.value.values {
                let counts = machine.counts
                sessions += counts.sessions
                outcomes += counts.outcomes
            }
            let sessionFigures = " sessions=\(sessions) session_outcomes=\(outcomes)"
            // Only while puts come: an idle node's line stays the same and is not repeated.
            let window = state.putLatency.value
            let latency = window.quantile(0.5).map { p50 in
                " puts=\(window.count) put_p50_ms=\(p50) put_p99_ms=\(window.quantile(0.99) ?? p50)"
            } ?? ""
            state.putLatency.value.reset()
            shell.inspect { host in
                "groups=\(host.count) awake=\(host.awake.count) leading=\(host.leading) unknown_group_messages=\(host.unknownGroupMessages) leadership_lost_replies=\(lost)"
                    + " snapshots_taken=\(taken) snapshots_installed=\(installed)" + sessionFigures + wal + latency
            }
                .whenSuccess { line in
                    guard line != lastStats.value else { return }
                    lastStats.value = line
                    FileHandle.standardError.write(Data("prism raft-node \(id) \(line)\n".utf8))
                }
        }
        // Requests held by a group this node stopped leading are answered within 50 ms.
        loop.scheduleRepeatedTask(initialDelay: .milliseconds(50), delay: .milliseconds(50)) { _ in
            guard !state.pending.value.isEmpty else { return }
            shell.inspect { host in state.answerLostLeadership(host) }.whenSuccess { answered in
                guard answered > 0 else { return }
                FileHandle.standardError.write(Data("prism raft-node \(id) answered \(answered) held requests leadership_lost (no longer the leader of their group in their term)\n".utf8))
            }
        }
        FileHandle.standardOutput.write(Data("prism raft-node ready id=\(id) raft=\(transport.port) tls=\(transportSettings.tls != nil) client=\(server.localAddress?.port ?? 0)\n".utf8))
        try await server.closeFuture.get()
    }

    static func hostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        return (String(text[..<colon]), port)
    }
}

/// Set once the shell exists (the transport, created first, hands it batches).
final class ShellSlot: @unchecked Sendable {
    // Written once before any batch can arrive at a peer that knows our address, read on the loop.
    var shell: RaftHostShell?
}

/// The node's state machines and waiting clients; touched only on the loop.
final class NodeState: Sendable {
    struct Waiting {
        var channel: Channel
        var id: UInt64
        var group: UInt64 = 0
        /// The term the node led the group in when it took the request.
        var term: UInt64 = 0
        /// When the request was read (`DispatchTime` nanoseconds).
        var received: UInt64 = 0
    }

    /// What a waiting request is found by when its entry is applied or its read index known.
    enum PendingKey: Hashable {
        /// A put: its entry names its session and sequence.
        case proposal(group: UInt64, session: UInt64, sequence: UInt64)
        /// A session opening: its entry names the client's nonce.
        case opening(group: UInt64, nonce: UInt64)
        /// A strong get: the read context this node gave it.
        case read(context: UInt64)
    }

    let machines: NIOLoopBoundBox<[UInt64: (KVStateMachine, UInt64)]>
    /// Who waits for what.
    let pending: NIOLoopBoundBox<[PendingKey: Waiting]>
    /// The last read context given out (contexts name this node's ReadIndex requests).
    let nextReadContext: NIOLoopBoundBox<UInt64>
    /// Reads whose index is known, waiting for it to be applied: group → (index, context, key).
    let reads: NIOLoopBoundBox<[UInt64: [(UInt64, UInt64, String)]]>
    let readKeys: NIOLoopBoundBox<[UInt64: String]>
    /// Requests answered `leadershipLost` so far (in the node's state line).
    let leadershipLostReplies: NIOLoopBoundBox<Int>
    /// Applied entries between snapshots (0: never), and each group's last snapshot (taken,
    /// being taken, or installed from the leader).
    let snapshotEntries: Int
    /// Entries this node adds to `snapshotEntries`, from its id: replicas apply the same entries,
    /// so without it every replica of a group would encode and write its snapshot at the same
    /// moment (on one machine, three times the burst on its cores and disk at once).
    let snapshotStagger: UInt64
    let snapshotIndexes: NIOLoopBoundBox<[UInt64: UInt64]>
    /// A snapshot also waits until the log since the last is `snapshotLogRatio` times that one's
    /// size (0: never waits). A snapshot rewrites the whole state, which keeps growing while the
    /// entries between snapshots stay as many: with entries alone deciding, the bytes snapshots
    /// write grow without bound against the bytes the log takes (the Raft dissertation's §5.1.3
    /// advice: snapshot when the log is well larger than the snapshot would be).
    let snapshotLogRatio: Double
    let snapshotLogs: NIOLoopBoundBox<[UInt64: SnapshotLog]>

    /// What a group's log holds since its last snapshot, against that snapshot's size.
    struct SnapshotLog {
        /// Bytes counted per entry besides its data (index, term, framing).
        static let entryOverhead = 24
        static func bytes(of entry: LogEntry) -> Int { entry.data.count + entryOverhead }
        var bytesSince = 0
        var lastSnapshotBytes = 0

        func due(ratio: Double) -> Bool { Double(bytesSince) >= ratio * Double(lastSnapshotBytes) }
    }
    let snapshotsTaken: NIOLoopBoundBox<Int>
    let snapshotsInstalled: NIOLoopBoundBox<Int>
    /// Puts answered since the state line last read it, from read to reply.
    let putLatency: NIOLoopBoundBox<LatencyWindow>

    /// A group's state machine to snapshot (a copy: the loop goes on applying to its own).
    struct SnapshotDue {
        var machine: KVStateMachine
        var index: UInt64
    }

    /// This node's id (in log lines).
    let node: String
    /// Replies not yet written, per connection: the replies of one apply (hundreds under load)
    /// leave as one buffer in one write per connection, not one pipeline pass and system call each.
    let unflushed: NIOLoopBoundBox<[ObjectIdentifier: UnwrittenReplies]>
    struct UnwrittenReplies {
        var channel: Channel
        var frames: ByteBuffer
    }

    init(loop: EventLoop, node: String = "", snapshotEntries: Int = 0, snapshotLogRatio: Double = 0) {
        self.node = node
        self.snapshotEntries = snapshotEntries
        snapshotStagger = NodeState.stagger(node: node, entries: snapshotEntries)
        self.snapshotLogRatio = snapshotLogRatio
        snapshotLogs = .makeBoxSendingValue([:], eventLoop: loop)
        unflushed = .makeBoxSendingValue([:], eventLoop: loop)
        snapshotIndexes = .makeBoxSendingValue([:], eventLoop: loop)
        snapshotsTaken = .makeBoxSendingValue(0, eventLoop: loop)
        snapshotsInstalled = .makeBoxSendingValue(0, eventLoop: loop)
        putLatency = .makeBoxSendingValue(LatencyWindow(), eventLoop: loop)
        machines = .makeBoxSendingValue([:], eventLoop: loop)
        pending = .makeBoxSendingValue([:], eventLoop: loop)
        nextReadContext = .makeBoxSendingValue(0, eventLoop: loop)
        reads = .makeBoxSendingValue([:], eventLoop: loop)
        readKeys = .makeBoxSendingValue([:], eventLoop: loop)
        leadershipLostReplies = .makeBoxSendingValue(0, eventLoop: loop)
    }

    /// Answers `leadershipLost` to every held put and every strong get still waiting for its
    /// read index in a group this node no longer leads in the term it took them in: the core
    /// forgets them when it steps down, so they would otherwise wait forever. A get whose index
    /// is known stays: it is served once applied, leader or not. Returns how many were answered.
    @discardableResult
    func answerLostLeadership(_ host: RaftHostShell.Host) -> Int {
        guard !pending.value.isEmpty else { return 0 }
        var leads: [UInt64: UInt64?] = [:]
        var lost: [PendingKey] = []
        for (key, waiting) in pending.value {
            var context: UInt64?
            if case .read(let c) = key { context = c }
            let awaitsIndex = context.map { readKeys.value[$0] != nil } ?? false
            let term: UInt64?
            if let known = leads[waiting.group] {
                term = known
            } else {
                term = host.inspect(group: waiting.group) { core in core.role == .leader ? core.term : nil } ?? nil
                leads[waiting.group] = term
            }
            guard term != waiting.term else { continue }
            if !awaitsIndex, let context, reads.value[waiting.group]?.contains(where: { $0.1 == context }) == true { continue }
            lost.append(key)
        }
        for key in lost {
            guard let waiting = pending.value.removeValue(forKey: key) else { continue }
            if case .read(let context) = key { readKeys.value.removeValue(forKey: context) }
            reply(waiting, .leadershipLost, nil, flush: false)
        }
        flushReplies()
        leadershipLostReplies.value += lost.count
        return lost.count
    }

    /// `flush` false: the reply waits until `flushReplies` (with the others for its connection).
    func reply(_ waiting: Waiting, _ status: KVWire.Status, _ value: String?, flush: Bool = true) {
        let bytes = KVWire.encode(KVWire.Reply(id: waiting.id, status: status, value: value))
        let channel = waiting.channel
        Frame.write(bytes, into: &unflushed.value[ObjectIdentifier(channel), default: UnwrittenReplies(channel: channel, frames: channel.allocator.buffer(capacity: 1024))].frames)
        if flush { flushReplies() }
    }

    /// Writes and sends every reply held.
    func flushReplies() {
        guard !unflushed.value.isEmpty else { return }
        for replies in unflushed.value.values { replies.channel.writeAndFlush(replies.frames, promise: nil) }
        unflushed.value.removeAll(keepingCapacity: true)
    }

    /// Applies a group's durable ready: the leader's snapshot if it sent one, then the committed
    /// entries (answering their clients), then the reads they make answerable. Returns the
    /// state machine to snapshot when `snapshotEntries` more have been applied since the last.
    func apply(group: UInt64, _ ready: RaftReady) -> SnapshotDue? {
        // Taken out while it changes: a copy left in the dictionary would make every apply copy
        // the whole key-value state (copy on write).
        guard var (machine, applied) = machines.value.removeValue(forKey: group) else { return nil }
        if let snapshot = ready.snapshot {
            // The leader's state as of its snapshot replaces ours (the log before it is gone).
            guard let restored = KVStateMachine(snapshot: snapshot.data, limits: machine.limits) else {
                // Going on would serve a state that is not the group's.
                FileHandle.standardError.write(Data("prism raft-node \(node): error: the snapshot of group \(group) at index \(snapshot.index) from the leader cannot be decoded (\(snapshot.data.count) bytes); stopping\n".utf8))
                Glibc.exit(70)
            }
            machine = restored
            applied = snapshot.index
            snapshotIndexes.value[group] = snapshot.index
            snapshotLogs.value[group] = SnapshotLog(bytesSince: 0, lastSnapshotBytes: snapshot.data.count)
            snapshotsInstalled.value += 1
            FileHandle.standardError.write(Data("prism raft-node \(node) installed the leader's snapshot of group \(group) at index \(snapshot.index) (\(snapshot.data.count) bytes, \(restored.counts.values) keys)\n".utf8))
        }
        var logBytes = 0
        let now = DispatchTime.now().uptimeNanoseconds
        for entry in ready.committed {
            applied = entry.index
            logBytes += SnapshotLog.bytes(of: entry)
            guard entry.kind == .normal, let command = KVCommand(entry.data) else { continue }
            let result = machine.apply(command, index: entry.index)
            let key: PendingKey = command.action == .openSession
                ? .opening(group: group, nonce: command.sequence) : .proposal(group: group, session: command.session, sequence: command.sequence)
            guard let waiting = pending.value.removeValue(forKey: key) else { continue }
            if command.action == .put { putLatency.value.record(nanoseconds: now &- waiting.received) }
            switch result {
            case .done(let success): reply(waiting, success ? .ok : .unavailable, nil, flush: false)
            case .opened(let session): reply(waiting, .ok, String(session), flush: false)
            case .noSession: reply(waiting, .noSession, nil, flush: false)
            case .forgotten: reply(waiting, .forgotten, nil, flush: false)
            }
        }
        for read in ready.reads {
            guard let key = readKeys.value.removeValue(forKey: read.context) else { continue }
            reads.value[group, default: []].append((read.index, read.context, key))
        }
        machines.value[group] = (machine, applied)
        // Reads whose index is applied are answered from the state machine.
        if var waiting = reads.value[group], !waiting.isEmpty {
            waiting.removeAll { index, context, key in
                guard index <= applied else { return false }
                if let w = pending.value.removeValue(forKey: .read(context: context)) { reply(w, .ok, machine.value(key), flush: false) }
                return true
            }
            reads.value[group] = waiting
        }
        flushReplies()
        snapshotLogs.value[group, default: SnapshotLog()].bytesSince += logBytes
        guard snapshotEntries > 0, applied >= snapshotIndexes.value[group, default: 0] + UInt64(snapshotEntries) + snapshotStagger,
              snapshotLogs.value[group, default: SnapshotLog()].due(ratio: snapshotLogRatio) else { return nil }
        snapshotIndexes.value[group] = applied
        // Counted from here; the size is the encoded one once taken (`snapshotTaken`).
        snapshotLogs.value[group, default: SnapshotLog()].bytesSince = 0
        return SnapshotDue(machine: machine, index: applied)
    }

    /// Up to a third of `entries`, the same for a node id in every process.
    static func stagger(node: String, entries: Int) -> UInt64 {
        UInt64(entries) * (StableHash.xxHash64(node) % 1000) / 3000
    }

    /// Records the size of a snapshot taken (on the loop), which the next one waits on.
    func snapshotTaken(group: UInt64, bytes: Int) {
        snapshotLogs.value[group, default: SnapshotLog()].lastSnapshotBytes = bytes
    }
}

/// Decodes client requests and hands them to the group's core; replies come from `NodeState`.
/// Puts, session openings and strong gets read in one pass go to the cores together when the
/// pass ends (`NodeState.take`): hundreds of puts under load become one proposal, one append to
/// each follower and one acknowledgement back, not one of each per put.
final class KVRequestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let shell: RaftHostShell
    let state: NodeState
    /// Read in this pass, in the order read.
    private var held: [(KVWire.Request, NodeState.Waiting)] = []

    init(shell: RaftHostShell, state: NodeState) {
        self.shell = shell
        self.state = state
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !held.isEmpty {
            let requests = NIOLoopBound(held, eventLoop: context.eventLoop)
            held.removeAll(keepingCapacity: true)
            // The proposer's clock, carried in the entries: sessions expire by it.
            let time = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
            let state = self.state
            shell.submit { host in state.take(requests.value, time: time, host: &host) }
        }
        state.flushReplies()
        context.fireChannelReadComplete()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let request = try? KVWire.request(Array(unwrapInboundIn(data).readableBytesView)) else {
            return context.close(promise: nil)
        }
        let waiting = NodeState.Waiting(channel: context.channel, id: request.id, group: request.group, received: DispatchTime.now().uptimeNanoseconds)
        switch request.operation {
        case .getEventual:
            // Sent when the read pass ends (one write for the gets read in it).
            state.reply(waiting, .ok, state.machines.value[request.group]?.0.value(request.key), flush: false)
        case .put, .getStrong, .openSession:
            held.append((request, waiting))
        }
    }
}
