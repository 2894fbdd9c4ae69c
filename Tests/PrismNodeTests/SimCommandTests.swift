import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PrismRaft
import PrismStorage
import PrismTestSupport
import Testing

@Suite("prism sim raft")
struct SimCommandTests {
    @Test("prints the summary as JSON and writes one JSON line per operation")
    func jsonAndHistories() async throws {
        let dir = TemporaryDirectory()
        let run = PrismProcess(arguments: ["sim", "raft", "--seeds", "3", "--start", "10", "--json", "--history-dir", dir.path])
        #expect(try await run.runToEnd(timeout: 120) == 0)
        let summary = try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any]
        #expect(summary?["runs"] as? Int == 3)
        #expect(summary?["violations"] as? Int == 0)
        #expect((summary?["failing_seeds"] as? [Any])?.isEmpty == true)
        #expect((summary?["membership_changes"] as? Int ?? 0) > 0, "spares join and leave")
        let ops = try #require(summary?["ops"] as? Int)
        var lines = 0
        for seed in 10..<13 {
            let text = try String(contentsOfFile: dir.file("seed-\(seed).jsonl"), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(Set(object.keys) == ["client", "key", "op", "value", "expected", "call", "return", "result", "output"])
                lines += 1
            }
        }
        #expect(lines == ops && ops > 0)
    }

    @Test func badArgumentsAreRefused() async throws {
        try await expectRefused(["sim", "raft", "--nodes", "4"], "--nodes must be 3 or 5")
        try await expectRefused(["sim", "raft", "--spares", "9"], "--spares must be between 0 and 8")
    }
}

@Suite("prism bench raft")
struct RaftBenchCommandTests {
    @Test("three real node processes replicate puts and answer strong gets; the figures come out as JSON")
    func runs() async throws {
        // Long enough for the nodes' state line (every 2 s) to fall inside the puts.
        let run = PrismProcess(arguments: ["bench", "raft", "--clients", "4", "--seconds", "2.5", "--json"])
        #expect(try await run.runToEnd(timeout: 120) == 0, "\(run.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        for key in ["puts_per_s", "put_p50_ms", "put_p99_ms", "gets_per_s", "get_p50_ms", "cpu_us_per_put", "clients"] {
            #expect(object[key] != nil, "\(key) missing")
        }
        #expect((object["puts_per_s"] as? Double ?? 0) > 0)
        #expect((object["gets_per_s"] as? Double ?? 0) > 0)
        #expect(object["clients"] as? Int == 4)
        // One p99 per second of puts (2.5 s: three), each over puts that were made.
        let bySecond = try #require(object["put_p99_ms_by_second"] as? [Double])
        #expect(bySecond.count == 3 && bySecond.allSatisfy { $0 > 0 }, "\(bySecond)")
        // The leader's state line times the puts it answered, from read to reply.
        let figures = run.standardError.split(separator: "\n").filter { $0.contains(" put_p50_ms=") }.map { line in
            Dictionary(line.split(separator: " ").compactMap { field -> (String, Double)? in
                let parts = field.split(separator: "=")
                return parts.count == 2 ? Double(parts[1]).map { (String(parts[0]), $0) } : nil
            }, uniquingKeysWith: { a, _ in a })
        }
        #expect(!figures.isEmpty, "a state line with put latencies: \(run.standardError)")
        for f in figures {
            let p50 = f["put_p50_ms"] ?? -1, p99 = f["put_p99_ms"] ?? -1
            #expect((f["puts"] ?? 0) > 0 && p50 > 0 && p50 <= p99, "\(f)")
        }
    }

    /// 4 clients: write-ahead log records of a few entries, synced on the loop; 32: larger ones,
    /// synced on the log's own thread. LMDB is kept a minute behind the log, so every put after
    /// the warm-up comes back only through the log's replay (with the replay disabled, a
    /// deliberate mutation, this loses 1,646 of 1,646 keys).
    @Test("every acknowledged put is there after kill -9 of every node and a restart on the same data",
          arguments: [("wal", 4), ("wal", 32), ("lmdb", 4)])
    func acknowledgedPutsSurviveKill9(raftLog: String, clients: Int) async throws {
        let run = PrismProcess(arguments: ["bench", "raft", "--clients", "\(clients)", "--seconds", "0.5", "--crash-check", "--raft-log", raftLog,
                                           "--wal-catch-up-ms", raftLog == "wal" ? "60000" : "5", "--json"])
        #expect(try await run.runToEnd(timeout: 180) == 0, "\(run.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let check = try #require(object["crash_check"] as? [String: Int])
        #expect((check["acknowledged_keys"] ?? 0) > 0)
        #expect(check["lost"] == 0)
        #expect(object["raft_log"] as? String == raftLog)
        if raftLog == "wal" { #expect(run.standardError.contains("write-ahead log records into LMDB"), "\(run.standardError)") }
    }

    /// A leader whose followers are frozen cannot commit; check-quorum steps it down, and the put
    /// it holds must be answered leadership_lost rather than never (with the node's sweep of held
    /// requests disabled, a deliberate mutation, the reply never comes and the bench exits 1).
    @Test("a leader cut off from its followers answers the put and the strong get it holds leadership_lost")
    func leaderCutOffAnswersHeldPut() async throws {
        let run = PrismProcess(arguments: ["bench", "raft", "--clients", "2", "--seconds", "0.3", "--leader-loss-check", "--json"])
        #expect(try await run.runToEnd(timeout: 180) == 0, "\(run.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let check = try #require(object["leader_loss_check"] as? [String: Any])
        #expect(check["status"] as? String == "leadership_lost")
        #expect(check["get_status"] as? String == "leadership_lost", "a strong get waiting for its read index")
        // Within the 10 s the bench waits: an election timeout for check-quorum, then the 50 ms sweep.
        #expect((check["milliseconds"] as? Double ?? .infinity) < 10_000)
        #expect(run.standardError.contains("held requests leadership_lost"), "\(run.standardError)")
        #expect((object["command"] as? String)?.contains("--leader-loss-check") == true)
    }

    /// The leader compacts its log past a frozen follower, which must then catch up through the
    /// leader's snapshot (sent in chunks), and after kill -9 restart with the state its own
    /// snapshot holds; then every node is killed and every acknowledged put must read back from
    /// snapshots and logs. (With the follower ignoring the snapshot it receives, a deliberate
    /// mutation, the last key never reads back from it and the bench exits 1.)
    @Test("a follower left behind catches up through the leader's snapshot, and nodes restart from their own")
    func followerCatchesUpThroughSnapshot() async throws {
        let run = PrismProcess(arguments: ["bench", "raft", "--clients", "4", "--seconds", "0.5", "--snapshot-entries", "200",
                                           "--snapshot-check", "--crash-check", "--json"])
        #expect(try await run.runToEnd(timeout: 180) == 0, "\(run.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let check = try #require(object["snapshot_check"] as? [String: Any])
        #expect(check["passed"] as? Bool == true, "\(check)")
        #expect((check["leader_snapshots"] as? Int ?? 0) >= 1)
        #expect(check["installed"] as? Bool == true)
        #expect(check["restored"] as? Bool == true)
        #expect(check["values_after_restart"] as? Int == 410)
        let crash = try #require(object["crash_check"] as? [String: Int])
        #expect(crash["lost"] == 0 && (crash["acknowledged_keys"] ?? 0) > 0, "\(crash)")
        #expect(run.standardError.contains("installed the leader's snapshot of group 1"), "\(run.standardError)")
        #expect(run.standardError.contains("groups from their snapshots"))
        #expect((object["command"] as? String)?.contains("--snapshot-entries 200") == true)
    }

    /// Client sessions on real nodes: a put sent twice with one number acts once, a copy below
    /// what the client acknowledged is refused, a put in a session never opened changes nothing,
    /// and the session survives kill -9 of the leader and of every node (restored from snapshots
    /// taken after it opened and the log). (With the state machine's duplicate check removed, a
    /// deliberate mutation, the key reads "second" and the bench exits 1.)
    @Test("a put sent twice in its session acts once, a late copy is refused, and sessions survive kill -9")
    func clientSessions() async throws {
        let run = PrismProcess(arguments: ["bench", "raft", "--clients", "4", "--seconds", "0.3", "--snapshot-entries", "20",
                                           "--snapshot-log-ratio", "0", "--session-check", "--json"])
        #expect(try await run.runToEnd(timeout: 180) == 0, "\(run.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let check = try #require(object["session_check"] as? [String: Any])
        #expect(check["passed"] as? Bool == true, "\(check)")
        #expect(check["duplicate_status"] as? String == "ok" && check["value_after_duplicate"] as? String == "first")
        #expect(check["forgotten_status"] as? String == "forgotten" && check["value_after_forgotten"] as? String == "third")
        #expect(check["unknown_session_status"] as? String == "no_session" && check["value_after_unknown_session"] as? String == "third")
        #expect(check["retry_after_kill_status"] as? String == "ok" && check["value_after_kill"] as? String == "third")
        #expect(check["retry_after_restart_status"] as? String == "ok" && check["value_after_restart"] as? String == "third")
        #expect((check["snapshots_after_session"] as? Int ?? 0) >= 1, "\(check)")
        #expect(object["sessions_lost"] as? Int == 0, "no session expires or is evicted in a short run")
        #expect(run.standardError.contains("client sessions"), "snapshot lines count the sessions")
        #expect(run.standardError.contains(" sessions="), "the state line counts the sessions")
        #expect((object["command"] as? String)?.contains("--session-check") == true)
    }

    /// With the log-size condition, a node snapshots again only once the log since its last
    /// snapshot is that many times the snapshot's size; with 0, every `--snapshot-entries`.
    @Test("a snapshot waits for the log to outgrow the last one by --snapshot-log-ratio")
    func snapshotsWaitForTheLogToOutgrowTheLast() async throws {
        /// Snapshots taken, and puts acknowledged.
        func snapshotsTaken(ratio: String) async throws -> (Int, Int) {
            let run = PrismProcess(arguments: ["bench", "raft", "--clients", "8", "--seconds", "1", "--snapshot-entries", "50",
                                               "--snapshot-log-ratio", ratio, "--json"])
            #expect(try await run.runToEnd(timeout: 120) == 0, "\(run.standardError)")
            let object = try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any]
            let puts = Int(object?["puts_per_s"] as? Double ?? 0)
            return (run.standardError.components(separatedBy: "took a snapshot of group 1").count - 1, puts)
        }
        // A 50-entry snapshot is a few kilobytes: a thousand times that is more than a second of puts.
        let (waiting, made) = try await snapshotsTaken(ratio: "1000")
        #expect(waiting <= 3, "one snapshot per node, then the log must reach 1000 × its size: \(waiting) for \(made) puts")
        // Each node's first comes after 50 entries plus its stagger (at most 16) and the warm-up's
        // few (a loaded machine may make fewer puts than that in the second).
        if made >= 80 { #expect(waiting == 3, "every node past its first threshold: \(waiting) snapshots for \(made) puts") }
        // Every 50 entries plus a stagger of at most 16, on each of the 3 nodes (counted from the
        // puts, not the time: a loaded machine makes fewer).
        let (every, puts) = try await snapshotsTaken(ratio: "0")
        #expect(puts > 0 && every >= 3 * (puts / 67 - 1) && every >= waiting, "every 50 entries: \(every) snapshots for \(puts) puts")
    }

    /// A bench killed with SIGKILL cannot remove its nodes' data; the next run of that kind
    /// removes folders whose process is gone, and leaves a running one's alone.
    @Test("a run removes the folders that killed runs left behind, and its own when it ends")
    func staleFoldersOfKilledRunsAreRemoved() async throws {
        let tmp = TemporaryDirectory()
        let dead = tmp.file("prism-bench-raft-4194305")  // above the kernel's largest pid
        let deadEtcd = tmp.file("prism-bench-raft-4194305-etcd")
        let alive = tmp.file("prism-bench-raft-\(getpid())")
        let other = tmp.file("prism-bench-raft-notapid")
        for folder in [dead, deadEtcd, alive, other] {
            try FileManager.default.createDirectory(atPath: folder + "/n1", withIntermediateDirectories: true)
        }
        let run = PrismProcess(arguments: ["bench", "raft", "--clients", "1", "--seconds", "0.2", "--json"], environment: ["TMPDIR": tmp.path])
        #expect(try await run.runToEnd(timeout: 120) == 0, "\(run.standardError)")
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(!FileManager.default.fileExists(atPath: deadEtcd))
        #expect(FileManager.default.fileExists(atPath: alive))
        #expect(FileManager.default.fileExists(atPath: other))
        #expect(run.standardError.contains("left by a run that was killed"), "\(run.standardError)")
        let left = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasPrefix("prism-bench-raft-") }.sorted()
        #expect(left == ["prism-bench-raft-\(getpid())", "prism-bench-raft-notapid"].sorted(), "the run's own folder is gone after it ends")
    }

    @Test("the same load over mutual TLS (a cluster certificate made by openssl)")
    func overTLS() async throws {
        let run = PrismProcess(arguments: ["bench", "raft", "--clients", "4", "--seconds", "0.5", "--tls", "--json"])
        #expect(try await run.runToEnd(timeout: 120) == 0, "\(run.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        #expect(object["tls"] as? Bool == true)
        #expect((object["puts_per_s"] as? Double ?? 0) > 0)
    }

    @Test("a node refuses to start on TLS files it cannot use, naming the setting and the file")
    func badTLSFiles() async throws {
        let dir = TemporaryDirectory()
        let garbage = dir.write("cert.pem", "not a certificate\n")
        let run = PrismProcess(arguments: ["raft-node", "--id", "n1", "--raft", "127.0.0.1:0", "--client", "127.0.0.1:0", "--data-dir", dir.file("data"),
                                           "--cert-path", garbage, "--key-path", dir.file("missing-key.pem")])
        #expect(try await run.runToEnd() != 0)
        #expect(run.standardError.contains("cluster.transport.cert_path = \"\(garbage)\""), "\(run.standardError)")
        let half = PrismProcess(arguments: ["raft-node", "--id", "n1", "--raft", "127.0.0.1:0", "--client", "127.0.0.1:0", "--data-dir", dir.file("data"),
                                            "--cert-path", garbage])
        #expect(try await half.runToEnd() == 64)
        #expect(half.standardError.contains("--cert-path and --key-path go together"))
    }

    @Test("a node whose write-ahead log is damaged refuses to start, naming the segment and the byte; an unknown --raft-log is refused")
    func damagedWriteAheadLog() async throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("data/raft-wal"), withIntermediateDirectories: true)
        let segment = dir.write("data/raft-wal/wal-0000000000000001.log", String(repeating: "garbage ", count: 100))
        let run = PrismProcess(arguments: ["raft-node", "--id", "n1", "--raft", "127.0.0.1:0", "--client", "127.0.0.1:0", "--data-dir", dir.file("data")])
        #expect(try await run.runToEnd() != 0)
        #expect(run.standardError.contains("write-ahead log \(segment) is damaged at byte 0"), "\(run.standardError)")
        // Nothing was changed: the segment is still there for whoever looks into it.
        #expect(FileManager.default.fileExists(atPath: segment))
        let mode = PrismProcess(arguments: ["raft-node", "--id", "n1", "--raft", "127.0.0.1:0", "--client", "127.0.0.1:0", "--data-dir", dir.file("data"),
                                            "--raft-log", "paper"])
        #expect(try await mode.runToEnd() == 64)
        #expect(mode.standardError.contains("--raft-log: 'paper' is not one of wal, lmdb"))
    }

    @Test("a node whose stored snapshot cannot be decoded refuses to start, naming the group, the index and the data directory")
    func undecodableSnapshot() async throws {
        let dir = TemporaryDirectory()
        let data = dir.file("data")
        do {
            let environment = try LMDBEnvironment(directory: data)
            let store = try RaftLogStore(environment: environment)
            try environment.write { _ = try store.saveSnapshot(group: 1, RaftSnapshot(index: 5, term: 1, data: [0xFF, 1, 2]), in: $0) }
            environment.close()
        }
        let run = PrismProcess(arguments: ["raft-node", "--id", "n1", "--raft", "127.0.0.1:0", "--client", "127.0.0.1:0", "--data-dir", data, "--raft-log", "lmdb"])
        #expect(try await run.runToEnd() != 0)
        #expect(run.standardError.contains("group 1: the snapshot at index 5 in \(data) cannot be decoded (3 bytes)"), "\(run.standardError)")
        // Nothing was changed: the snapshot is still there.
        let environment = try LMDBEnvironment(directory: data)
        let store = try RaftLogStore(environment: environment)
        let stored = try environment.read { try store.loadAll(group: 1, in: $0) }
        #expect(stored.snapshot?.data == [0xFF, 1, 2])
    }

    /// Process ids whose parent is `parent` (from /proc).
    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            // After "pid (comm) state": the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    @Test("the nodes exit when the bench that started them is killed with SIGKILL")
    func nodesDieWithTheBench() async throws {
        // Output to files that outlive the bench, so nothing but the bench's death tells the nodes.
        let dir = TemporaryDirectory()
        let run = Process()
        run.executableURL = URL(fileURLWithPath: PrismProcess.binary)
        run.arguments = ["bench", "raft", "--clients", "1", "--seconds", "60"]
        _ = FileManager.default.createFile(atPath: dir.file("err"), contents: nil)
        run.standardError = FileHandle(forWritingAtPath: dir.file("err"))
        run.standardOutput = FileHandle.nullDevice
        try run.run()
        let bench = run.processIdentifier
        var nodes: [Int32] = []
        for _ in 0..<600 where nodes.count < 3 {
            try await Task.sleep(for: .milliseconds(50))
            nodes = Self.children(of: bench)
        }
        #expect(nodes.count == 3, "three raft-node children: \(nodes)")
        kill(bench, SIGKILL)
        run.waitUntilExit()
        var alive = nodes
        for _ in 0..<100 where !alive.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            alive = alive.filter { kill($0, 0) == 0 && (try? String(contentsOfFile: "/proc/\($0)/stat", encoding: .utf8))?.contains(") Z") != true }
        }
        #expect(alive.isEmpty, "orphaned nodes still running: \(alive)")
        for pid in alive { kill(pid, SIGKILL) }
    }

    @Test func badArgumentsAreRefused() async throws {
        try await expectRefused(["bench", "raft", "--clients", "0"], "--clients must be between 1 and 4096")
        try await expectRefused(["bench", "raft", "--idle-groups", "0"], "--idle-groups must be between 1 and 100000")
        try await expectRefused(["bench", "raft", "--raft-log", "paper"], "--raft-log: 'paper' is not one of wal, lmdb")
        try await expectRefused(["bench", "raft", "--wal-catch-up-ms=-1"], "--wal-catch-up-ms must be between 0 and 600000")
        try await expectRefused(["bench", "raft", "--snapshot-entries=-1"], "--snapshot-entries must be 0 (never) or more")
        try await expectRefused(["bench", "raft", "--snapshot-check", "--snapshot-entries", "0"], "--snapshot-check needs --snapshot-entries between 1 and 10000")
        try await expectRefused(["bench", "raft", "--snapshot-check", "--nodes", "1"], "--snapshot-check needs --nodes 3 or more")
        try await expectRefused(["bench", "raft", "--session-check", "--nodes", "2"], "--session-check needs --nodes 3 or more")
        try await expectRefused(["bench", "raft", "--snapshot-log-ratio=-1"], "--snapshot-log-ratio must be between 0 and 1000")
        try await expectRefused(["raft-node", "--id", "a", "--raft", "127.0.0.1:1", "--client", "127.0.0.1:2", "--data-dir", "/nonexistent", "--snapshot-log-ratio", "1e9"],
                                "--snapshot-log-ratio must be between 0 and 1000")
        try await expectRefused(["raft-node", "--id", "a", "--raft", "127.0.0.1:1", "--client", "127.0.0.1:2", "--data-dir", "/nonexistent", "--snapshot-entries=-1"],
                                "--snapshot-entries must be 0 (never) or more")
    }
}

@Suite("prism bench vector")
struct VectorBenchCommandTests {
    @Test func badArgumentsAreRefused() async throws {
        try await expectRefused(["bench", "vector", "--passes", "0"], "--passes must be at least 1, got 0")
        try await expectRefused(["bench", "vector", "--queries", "0"], "--queries must be at least 1, got 0")
    }

    @Test("a small run prints both figures and its kernel as JSON, queries/s from the passes asked")
    func smallRunReportsJSON() async throws {
        let run = PrismProcess(arguments: ["bench", "vector", "--vectors", "300", "--dim", "8", "--queries", "10", "--passes", "2", "--json"])
        #expect(try await run.runToEnd(timeout: 120) == 0, "\(run.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        let prism = try #require(object["prism"] as? [String: Any])
        #expect((prism["queries_per_s"] as? Double ?? 0) > 0)
        #expect((prism["recall_at_10"] as? Double ?? 0) > 0.5)
        #expect(["sse", "avx2", "avx512"].contains(object["distance_kernel"] as? String ?? ""))
        #expect((object["command"] as? String)?.contains("--passes 2") == true)
    }
}

/// `prism ARGUMENTS` exits 64 (a usage error) and says `message` on stderr.
func expectRefused(_ arguments: [String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let run = PrismProcess(arguments: arguments)
    #expect(try await run.runToEnd() == 64, sourceLocation: sourceLocation)
    #expect(run.standardError.contains(message), "\(run.standardError)", sourceLocation: sourceLocation)
}
