import Dispatch
import Foundation
import NIOCore
import PrismSimulation

/// Takes the snapshots `NodeState.apply` asks for: the state machine (a copy) is encoded on a
/// thread of its own, so the loop goes on applying and answering meanwhile, and then handed to
/// the shell, which compacts the group's log through its index and persists it.
final class KVSnapshotTaker: Sendable {
    /// etcd's default (`--snapshot-count`): at 256-byte values a few tens of megabytes of log.
    static let defaultEntries = 100_000

    let node: String
    let shell: ShellSlot
    let state: NodeState
    private let queue = DispatchQueue(label: "prism.raft-node.snapshot")

    init(node: String, shell: ShellSlot, state: NodeState) {
        self.node = node
        self.shell = shell
        self.state = state
    }

    /// Call on the loop (the apply callback).
    func take(group: UInt64, _ due: NodeState.SnapshotDue) {
        let node = self.node, shell = self.shell, state = self.state
        queue.async {
            let start = ContinuousClock.now
            let data = due.machine.snapshot(ordered: false)
            let encoded = ContinuousClock.now - start
            guard let host = shell.shell else { return }
            host.compact(group: group, through: due.index, data: data) { taken in
                let ms = Double(encoded.components.attoseconds) / 1e15 + Double(encoded.components.seconds) * 1000
                guard taken else {
                    FileHandle.standardError.write(Data("prism raft-node \(node) dropped the snapshot of group \(group) at index \(due.index): the log moved past it\n".utf8))
                    return
                }
                state.snapshotsTaken.value += 1
                let counts = due.machine.counts
                FileHandle.standardError.write(Data(String(format: "prism raft-node %@ took a snapshot of group %llu at index %llu (%d bytes, %d keys, %d request outcomes, encoded in %.1f ms); its log is compacted through it\n",
                                                           node, group, due.index, data.count, counts.values, counts.outcomes, ms).utf8))
            }
        }
    }
}
