import Dispatch
import NIOCore
import NIOPosix
import PrismStorage

/// Drives a `MultiRaft` host for real: a tick timer, the transport, and LMDB through the
/// group-commit writer. The host lives on one event loop. Inputs (ticks, batches, client work)
/// only mark it dirty; one drain runs after the inputs the loop has at hand and hands the readies
/// of every group that has one to the writer as one synced transaction. While the writer syncs,
/// the loop goes on reading the network and client requests into the cores; when the write is
/// durable the drain sends, hands each group's committed entries and reads to `apply`, advances,
/// and takes the next ready, which holds everything that arrived meanwhile (group commit with the
/// sync off the loop). A leader's appends go out before the write (`HostReady.early`). A ready
/// whose only change is a commit index is not written: the commit index need not be durable (a
/// restarted node learns it again from the leader).
///
/// With a `RaftWALStore` the write is one record synced into the write-ahead log (one
/// `fdatasync`; a small record on the loop itself unless the last sync was slow, a large one on a
/// thread of its own), and LMDB takes the same writes afterwards through the writer.
///
/// Snapshots the state machine takes (`compact`) go to LMDB once the entries they cover are there
/// (so the snapshot drops them for good): with the WAL, after the records persisted so far (not in
/// the WAL itself, where a large write would hold up every write behind it); without, as a
/// transaction of its own (what it covers was applied, so it is committed in LMDB already).
public final class RaftHostShell: Sendable {
    public typealias Host = MultiRaft<SplitMix64>
    /// Runs on the loop after a group's ready is durable and sent.
    public typealias Apply = @Sendable (_ group: UInt64, _ ready: RaftReady) -> Void

    public let loop: EventLoop
    public let transport: RaftTransport
    private let host: NIOLoopBoundBox<Host>
    private let writer: GroupCommitWriter
    private let store: RaftLogStore
    private let walStore: RaftWALStore?
    /// Where a large WAL record is written and synced, so the loop goes on reading meanwhile.
    private let walQueue = DispatchQueue(label: "prism.raft.wal.append")
    /// A record of at most this many entries is synced on the loop itself: under light load the
    /// two thread hops would cost more than the loop loses waiting for the disk; under heavy load
    /// records are large and the sync overlaps the next round's work.
    static let inlineWALEntries = 4
    /// After a sync this slow the next record goes to the thread whatever its size: a disk that
    /// stalls must not stop the loop's heartbeats for longer than an election could wait.
    static let slowSyncNanoseconds: UInt64 = 5_000_000
    private let apply: Apply
    private let drainScheduled: NIOLoopBoundBox<Bool>
    /// A ready is with the writer: the next waits until it is durable (a core gives out its
    /// unstable entries until `advance`).
    private let writing: NIOLoopBoundBox<Bool>
    /// Term and vote last made durable, per group (to tell a commit-only hard state apart).
    private let durableVotes: NIOLoopBoundBox<[UInt64: (UInt64, String?)]>

    public init(host: sending Host, writer: GroupCommitWriter, store: RaftLogStore, transport: RaftTransport, loop: EventLoop,
                tickInterval: TimeAmount, walStore: RaftWALStore? = nil, apply: @escaping Apply) {
        self.loop = loop
        self.transport = transport
        self.host = .makeBoxSendingValue(host, eventLoop: loop)
        self.writer = writer
        self.store = store
        self.walStore = walStore
        self.apply = apply
        drainScheduled = .makeBoxSendingValue(false, eventLoop: loop)
        writing = .makeBoxSendingValue(false, eventLoop: loop)
        durableVotes = .makeBoxSendingValue([:], eventLoop: loop)
        loop.scheduleRepeatedTask(initialDelay: tickInterval, delay: tickInterval) { [self] _ in
            self.host.value.tick()
            scheduleDrain()
        }
    }

    /// A batch from the transport (call on the loop: the transport's receiver runs there).
    public func receive(_ batch: HostBatch, from node: String) {
        loop.preconditionInEventLoop()
        host.value.step(batch, from: node)
        scheduleDrain()
    }

    /// Runs `body` on the host (a proposal, a read), then persists and sends what it caused.
    public func submit(_ body: @escaping @Sendable (inout Host) -> Void) {
        // Client requests read on this loop go straight in (a task per request cost an
        // allocation and a queue pass each); the drain still runs once after the read pass.
        guard loop.inEventLoop else { return loop.execute { [self] in submit(body) } }
        body(&host.value)
        scheduleDrain()
    }

    /// The state machine of `group` as of `index` (applied here) is `data`: the core drops the
    /// entries it covers and sends it to followers that need them, and it is persisted (the store
    /// then drops the same entries); a snapshot lost in a crash costs nothing, the log still holds
    /// what it covers. Call from any thread; `taken` runs on
    /// the loop with whether the core took it (not when the log moved past `index` meanwhile,
    /// through a snapshot from the leader or a newer one).
    public func compact(group: UInt64, through index: UInt64, data: [UInt8], taken: (@Sendable (Bool) -> Void)? = nil) {
        loop.execute { [self] in
            let snapshot: RaftSnapshot? = host.value.with(group: group) { core in
                guard let term = core.term(at: index) else { return nil }
                core.compact(RaftSnapshot(index: index, term: term, data: data))
                return core.snapshot?.index == index ? core.snapshot : nil
            } ?? nil
            if let snapshot {
                if let walStore {
                    // LMDB takes it after the records holding what it covers; no WAL write waits for it.
                    walStore.saveSnapshot(group: group, snapshot)
                } else {
                    let store = self.store
                    writer.submit({ txn in _ = try store.saveSnapshot(group: group, snapshot, in: txn) }, completion: { _ in })
                }
            }
            taken?(snapshot != nil)
        }
    }

    /// Reads the host on its loop (figures for logs and metrics).
    public func inspect<T: Sendable>(_ body: @escaping @Sendable (Host) -> T) -> EventLoopFuture<T> {
        loop.submit { [self] in body(host.value) }
    }

    /// One drain after whatever else the loop has queued now (client requests read in the same
    /// pass go into one write).
    private func scheduleDrain() {
        guard !drainScheduled.value else { return }
        drainScheduled.value = true
        loop.execute { [self] in
            drainScheduled.value = false
            drain()
        }
    }

    private func drain() {
        while !writing.value {
            let ready = host.value.ready()
            if ready.groups.isEmpty { return }
            // Leaders' appends go out now, so the followers write while we do.
            for (node, batch) in ready.early { transport.send(batch, to: node) }
            let mustWrite = ready.groups.contains { g in
                guard g.ready.entries.isEmpty, g.ready.snapshot == nil else { return true }
                guard let hs = g.ready.hardState else { return false }
                guard let durable = durableVotes.value[g.group] else { return true }
                return durable.0 != hs.term || durable.1 != hs.vote
            }
            guard mustWrite else {
                finish(ready)
                continue
            }
            if let walStore {
                let writes = ready.groups.compactMap { g -> RaftWALRecord.GroupWrite? in
                    g.ready.entries.isEmpty && g.ready.snapshot == nil && g.ready.hardState == nil ? nil : RaftWALRecord.GroupWrite(group: g.group, g.ready)
                }
                // A snapshot from the leader is large: never synced on the loop.
                if writes.reduce(0, { $0 + $1.entries.count }) <= Self.inlineWALEntries, !writes.contains(where: { $0.snapshot != nil }),
                   walStore.wal.lastSyncNanoseconds < Self.slowSyncNanoseconds {
                    // Not durable: the readies are dropped (the cores retransmit); the next input tries again.
                    guard (try? walStore.persist(writes)) != nil else { return }
                    markDurable(ready)
                    finish(ready)
                    continue
                }
                writing.value = true
                walQueue.async { [self] in
                    let durable = (try? walStore.persist(writes)) != nil
                    loop.execute { [self] in
                        writing.value = false
                        // Not durable: as on the loop, the next input tries again (not at once,
                        // which would spin on a log that failed for good).
                        guard durable else { return }
                        markDurable(ready)
                        finish(ready)
                        drain()
                    }
                }
                return
            }
            writing.value = true
            let groups = ready.groups, store = self.store
            writer.submit({ txn in
                for g in groups { try store.save(group: g.group, g.ready, in: txn) }
            }, completion: { [self] result in
                loop.execute { [self] in
                    writing.value = false
                    if case .success = result {
                        markDurable(ready)
                        finish(ready)
                    }
                    // Not durable: nothing may be sent or acknowledged. The readies are dropped;
                    // the cores retransmit, and a node that cannot write stays silent.
                    drain()
                }
            })
        }
    }

    private func markDurable(_ ready: HostReady) {
        for g in ready.groups { if let hs = g.ready.hardState { durableVotes.value[g.group] = (hs.term, hs.vote) } }
    }

    /// Runs on the loop once `ready` is durable (or needed no write).
    private func finish(_ ready: HostReady) {
        for (node, batch) in ready.outgoing { transport.send(batch, to: node) }
        for g in ready.groups { apply(g.group, g.ready) }
        host.value.advance(ready)
    }
}
