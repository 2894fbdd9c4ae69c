import ArgumentParser
import Foundation

/// `prism bench raft --session-check`: client sessions against real nodes. A put sent twice with
/// one number acts once; a copy numbered below what the client acknowledged is refused, not
/// applied; a put in a session the group never opened changes nothing; and a session outlives
/// the leader that opened it (kill -9), and every node restarting on its data (its snapshot and
/// log), so a retry after either still acts once.
extension RaftBench {
    struct SessionCheck: Encodable {
        var session: UInt64
        /// Put 1 "first", then put 1 again with another value: both `ok`, and the key reads "first".
        var duplicate_status: String
        var value_after_duplicate: String?
        /// Put 2 "third" acknowledging 1, then put 1 again: `forgotten`, and the key still reads "third".
        var forgotten_status: String
        var value_after_forgotten: String?
        /// A put in a session no group opened: `no_session`, and the key still reads "third".
        var unknown_session_status: String
        var value_after_unknown_session: String?
        /// The leader of group 1, killed with kill -9 before put 2 is sent again with another value.
        var killed_leader: String
        var retry_after_kill_status: String
        var value_after_kill: String?
        /// Snapshots of group 1 taken after the session opened and before every node was killed
        /// (with a small --snapshot-entries, puts to other keys make sure of some): the session
        /// then comes back from a snapshot, not only from the log.
        var snapshots_after_session: Int
        /// Then every node killed and restarted on its data, and put 2 sent once more.
        var retry_after_restart_status: String
        var value_after_restart: String?
        var passed: Bool
    }

    /// `connect`: a router on new connections to the nodes (after they restart).
    func checkSessions(router: LeaderRouter, processes: inout [NodeProcess], ids: [String], arguments: [[String]],
                       connect: () async throws -> LeaderRouter) async throws -> SessionCheck {
        try await router.waitForLeader(group: 1, value: "warmup")
        let key = "session-check"
        let tookLine = "took a snapshot of group 1 "
        // Per process (the leader is replaced by a new one, which starts with none).
        var snapshotsBefore: [ObjectIdentifier: Int] = [:]
        for p in processes { snapshotsBefore[ObjectIdentifier(p)] = p.errorLines(containing: tookLine) }
        let session = try await router.openSession(group: 1, patience: .seconds(30))
        BenchSupport.progress("[raft] session check: opened session \(session) in group 1")
        func put(session: UInt64, _ sequence: UInt64, acknowledged: UInt64, _ value: String, via router: LeaderRouter) async throws -> String {
            let reply = try await router.route(group: 1, until: ContinuousClock.now + .seconds(30)) { id in
                KVWire.Request(id: id, operation: .put, group: 1, key: key, value: value, session: session, sequence: sequence, acknowledged: acknowledged)
            }
            return reply.status.name
        }
        func read(via router: LeaderRouter) async throws -> String? {
            try await router.call(.getStrong, group: 1, key: key, value: nil, patience: .seconds(30))
        }

        let first = try await put(session: session, 1, acknowledged: 1, "first", via: router)
        let duplicate = try await put(session: session, 1, acknowledged: 1, "second", via: router)
        let afterDuplicate = try await read(via: router)
        let third = try await put(session: session, 2, acknowledged: 2, "third", via: router)
        let forgotten = try await put(session: session, 1, acknowledged: 2, "late copy", via: router)
        let afterForgotten = try await read(via: router)
        // Session ids are indices of the entries that opened them: this one was never opened.
        let unknown = try await put(session: UInt64.max / 2, 1, acknowledged: 1, "stranger", via: router)
        let afterUnknown = try await read(via: router)

        guard let leader = router.knownLeader(of: 1), let l = ids.firstIndex(of: leader) else {
            throw ValidationError("--session-check: group 1 has no known leader")
        }
        BenchSupport.progress("[raft] session check: kill -9 \(leader), the leader of group 1; sending put 2 of session \(session) again")
        processes[l].kill()
        let retried = try await put(session: session, 2, acknowledged: 2, "after the crash", via: router)
        let afterKill = try await read(via: router)
        BenchSupport.progress("[raft] session check: restarting \(leader), then kill -9 every node and restarting them on their data")
        let restarted = NodeProcess(arguments: arguments[l])
        processes[l] = restarted
        try restarted.start()
        try await restarted.waitReady()
        // Enough puts to other keys for every node to snapshot past the session's entries.
        let filler = snapshotEntries > 0 ? min(2 * snapshotEntries + 10, 2000) : 0
        try await withThrowingTaskGroup(of: Void.self) { lanes in
            for lane in 0..<8 {
                lanes.addTask {
                    for i in stride(from: lane, to: filler, by: 8) { try await router.call(.put, group: 1, key: "session-filler-\(i)", value: "f\(i)") }
                }
            }
            try await lanes.waitForAll()
        }
        // A snapshot is encoded off the loop after its entries apply: it comes a little later.
        var snapshotsAfter = 0
        for _ in 0..<(filler > 0 ? 250 : 0) {
            snapshotsAfter = processes.reduce(0) { $0 + $1.errorLines(containing: tookLine) - snapshotsBefore[ObjectIdentifier($1), default: 0] }
            if snapshotsAfter >= processes.count { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        router.close()
        for p in processes { p.kill() }
        processes = arguments.map { NodeProcess(arguments: $0) }
        for p in processes { try p.start() }
        for p in processes { try await p.waitReady() }
        let again = try await connect()
        defer { again.close() }
        let afterRestartStatus = try await put(session: session, 2, acknowledged: 2, "after every node restarted", via: again)
        let afterRestart = try await read(via: again)

        let passed = first == "ok" && duplicate == "ok" && afterDuplicate == "first" && third == "ok" && forgotten == "forgotten"
            && afterForgotten == "third" && unknown == "no_session" && afterUnknown == "third" && retried == "ok" && afterKill == "third"
            && afterRestartStatus == "ok" && afterRestart == "third"
        BenchSupport.progress("[raft] session check: duplicate \(duplicate) (reads \(afterDuplicate ?? "nothing")), late copy \(forgotten), unknown session \(unknown), retry after kill -9 \(retried) (reads \(afterKill ?? "nothing")), after every node restarted \(afterRestartStatus) (reads \(afterRestart ?? "nothing")): \(passed ? "passed" : "FAILED")")
        return SessionCheck(session: session, duplicate_status: duplicate, value_after_duplicate: afterDuplicate, forgotten_status: forgotten,
                            value_after_forgotten: afterForgotten, unknown_session_status: unknown, value_after_unknown_session: afterUnknown,
                            killed_leader: leader, retry_after_kill_status: retried, value_after_kill: afterKill,
                            snapshots_after_session: snapshotsAfter, retry_after_restart_status: afterRestartStatus, value_after_restart: afterRestart, passed: passed)
    }
}
