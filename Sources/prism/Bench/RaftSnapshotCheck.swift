import ArgumentParser
import Foundation
import NIOPosix

/// `prism bench raft --snapshot-check`: a follower left behind by more than the leader keeps in
/// its log must catch up through the leader's snapshot, and a node restarted on its data must
/// come back with the state its snapshot holds.
extension RaftBench {
    struct SnapshotCheck: Encodable {
        var follower: String
        /// Keys put to group 1 while the follower was frozen.
        var puts: Int
        /// Snapshots of group 1 the other nodes took meanwhile (their logs compacted past the follower's).
        var leader_snapshots: Int
        /// The follower installed the leader's snapshot (its stderr says so).
        var installed: Bool
        /// From resuming the follower to reading the last key from it (eventual get); -1: never.
        var caught_up_ms: Double
        /// After kill -9 the follower restarted from its own snapshot (its stderr says so).
        var restored: Bool
        /// Of `puts`, the keys the restarted follower answers with their value (eventual gets to it alone).
        var values_after_restart: Int
        var passed: Bool
    }

    func checkSnapshot(router: LeaderRouter, processes: inout [NodeProcess], ids: [String], arguments: [[String]],
                       clientPorts: [Int]) async throws -> SnapshotCheck {
        try await router.waitForLeader(group: 1, value: "warmup")
        guard let leader = router.knownLeader(of: 1), let f = ids.firstIndex(where: { $0 != leader }) else {
            throw ValidationError("--snapshot-check: group 1 has no known leader")
        }
        let follower = processes[f], others = processes.enumerated().filter { $0.offset != f }.map(\.element)
        let tookLine = "took a snapshot of group 1 "
        let before = others.reduce(0) { $0 + $1.errorLines(containing: tookLine) }
        let installedBefore = follower.errorLines(containing: "installed the leader's snapshot of group 1 ")
        let puts = 2 * snapshotEntries + 10
        BenchSupport.progress("[raft] freezing \(ids[f]) (a follower of group 1); \(puts) puts so \(leader) compacts its log past it")
        guard await follower.freeze() else {
            follower.resume()
            throw ValidationError("--snapshot-check: \(ids[f]) did not stop on SIGSTOP within 2 s")
        }
        do {
            try await withThrowingTaskGroup(of: Void.self) { lanes in
                for lane in 0..<8 {
                    lanes.addTask {
                        for i in stride(from: lane, to: puts, by: 8) {
                            try await router.call(.put, group: 1, key: "snapshot-\(i)", value: "s\(i)")
                        }
                    }
                }
                try await lanes.waitForAll()
            }
        } catch {
            follower.resume()
            throw error
        }
        // A snapshot is encoded off the loop after its entries apply: it comes a little later.
        var leaderSnapshots = 0
        for _ in 0..<500 {
            leaderSnapshots = others.reduce(0) { $0 + $1.errorLines(containing: tookLine) } - before
            if leaderSnapshots > 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        follower.resume()
        let start = ContinuousClock.now
        BenchSupport.progress("[raft] \(leaderSnapshots) snapshots of group 1 taken; \(ids[f]) resumed, reading the last key from it")
        let lastKey = "snapshot-\(puts - 1)"
        var caughtUp = -1.0
        let connection = try await KVConnection.connect(port: clientPorts[f], group: MultiThreadedEventLoopGroup.singleton)
        while ContinuousClock.now - start < .seconds(30) {
            if try await Self.eventual(connection, key: lastKey) == "s\(puts - 1)" {
                caughtUp = BenchSupport.seconds(ContinuousClock.now - start) * 1000
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        connection.close()
        let installed = follower.errorLines(containing: "installed the leader's snapshot of group 1 ") > installedBefore

        BenchSupport.progress("[raft] kill -9 \(ids[f]); restarting it on its data")
        follower.kill()
        let restarted = NodeProcess(arguments: arguments[f])
        processes[f] = restarted
        try restarted.start()
        try await restarted.waitReady()
        let restored = restarted.errorLines(containing: "groups from their snapshots") > 0
        // Keys the snapshot holds come back only from it (the leader sends a node whose log is
        // current no snapshot); keys after it come back from the node's log once committed again.
        let again = try await KVConnection.connect(port: clientPorts[f], group: MultiThreadedEventLoopGroup.singleton)
        var found = 0
        let restartedAt = ContinuousClock.now
        while ContinuousClock.now - restartedAt < .seconds(10) {
            found = 0
            for i in 0..<puts where try await Self.eventual(again, key: "snapshot-\(i)") == "s\(i)" { found += 1 }
            if found == puts { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        again.close()
        let passed = leaderSnapshots > 0 && installed && caughtUp >= 0 && restored && found == puts
        BenchSupport.progress("[raft] \(ids[f]) caught up in \(Int(caughtUp)) ms (snapshot installed: \(installed)); after kill -9 restored from its snapshot: \(restored), \(found) of \(puts) keys")
        return SnapshotCheck(follower: ids[f], puts: puts, leader_snapshots: leaderSnapshots, installed: installed, caught_up_ms: caughtUp,
                             restored: restored, values_after_restart: found, passed: passed)
    }

    /// What one node's own state machine holds for `key` (nil: absent or no answer).
    static func eventual(_ connection: KVConnection, key: String) async throws -> String? {
        let reply = try await connection.call(KVWire.Request(id: UInt64.random(in: 1...UInt64.max / 4), operation: .getEventual, group: 1, key: key, value: nil))
        return reply.status == .ok ? reply.value : nil
    }
}
