import Dispatch
import Foundation
import NIOCore
import PrismSimulation
import Synchronization

/// Takes the snapshots `NodeState.apply` asks for: the state machine (a copy) is encoded on a
/// thread of its own at a low priority (nice 10), so the loop goes on applying and answering
/// meanwhile and keeps the cores it needs, and then handed to the shell, which compacts the
/// group's log through its index and persists it.
final class KVSnapshotTaker: Sendable {
    /// etcd's default (`--snapshot-count`): at 256-byte values a few tens of megabytes of log.
    static let defaultEntries = 100_000
    /// The log since the last snapshot must be twice that snapshot's size: snapshots then write
    /// at most half as many bytes as the log does, however large the state grows.
    static let defaultLogRatio = 2.0

    let node: String
    let shell: ShellSlot
    let state: NodeState
    private let worker = LowPriorityWorker(name: "prism-snapshot", nice: 10)

    init(node: String, shell: ShellSlot, state: NodeState) {
        self.node = node
        self.shell = shell
        self.state = state
    }

    /// Call on the loop (the apply callback).
    func take(group: UInt64, _ due: NodeState.SnapshotDue) {
        let node = self.node, shell = self.shell, state = self.state
        worker.run {
            let start = ContinuousClock.now
            let cpuStart = KVSnapshotTaker.threadCPUNanoseconds()
            let data = due.machine.snapshot(ordered: false)
            let encoded = ContinuousClock.now - start
            // Wall time alone mixes the work with waiting for a core (the thread runs at nice 10).
            let cpuMs = Double(KVSnapshotTaker.threadCPUNanoseconds() - cpuStart) / 1e6
            guard let host = shell.shell else { return }
            host.compact(group: group, through: due.index, data: data) { taken in
                let ms = BenchSupport.seconds(encoded) * 1000
                guard taken else {
                    FileHandle.standardError.write(Data("prism raft-node \(node) dropped the snapshot of group \(group) at index \(due.index): the log moved past it\n".utf8))
                    return
                }
                state.snapshotsTaken.value += 1
                state.snapshotTaken(group: group, bytes: data.count)
                let counts = due.machine.counts
                FileHandle.standardError.write(Data(String(format: "prism raft-node %@ took a snapshot of group %llu at index %llu (%d bytes, %d keys, %d client sessions, %d request outcomes, encoded in %.1f ms, %.1f ms of CPU); its log is compacted through it\n",
                                                           node, group, due.index, data.count, counts.values, counts.sessions, counts.outcomes, ms, cpuMs).utf8))
            }
        }
    }
}

extension KVSnapshotTaker {
    /// CPU time the calling thread has used.
    static func threadCPUNanoseconds() -> UInt64 {
        var t = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0 else { return 0 }
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }
}

/// One thread that runs jobs in order at a lower scheduling priority than the process (a
/// dispatch queue's threads are shared with other queues, so one cannot be reniced).
final class LowPriorityWorker: Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let ready = DispatchSemaphore(value: 0)

    /// `name`: at most 15 bytes (what Linux keeps of a thread's name).
    init(name: String, nice: Int32) {
        // The thread holds the worker for good (a worker lives as long as its process).
        let thread = Thread { [self] in
            // The nice value is per thread on Linux: who 0 lowers only this one.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
            while true {
                self.ready.wait()
                guard let job = self.jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
                job()
            }
        }
        thread.name = name
        thread.start()
    }

    func run(_ job: @escaping @Sendable () -> Void) {
        jobs.withLock { $0.append(job) }
        ready.signal()
    }
}
