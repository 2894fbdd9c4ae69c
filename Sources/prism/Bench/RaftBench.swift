import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import PrismRaft
import PrismTransport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `prism bench raft`: three `prism raft-node` processes on loopback (write-ahead log and LMDB, fsync on), driven by
/// concurrent clients over the client protocol: puts for `--seconds`, then strong gets.
struct RaftBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft",
        abstract: "Replicated puts and linearizable gets against real Raft nodes on loopback.")

    @Option(help: "Nodes (processes).") var nodes = 3
    @Option(help: "Concurrent clients (one request in flight each).") var clients = 16
    @Option(help: "Seconds per phase (puts, then strong gets).") var seconds = 5.0
    @Option(help: "Bytes per value.") var valueBytes = 256
    @Option(help: "Raft groups per node (clients spread over them).") var groups: UInt64 = 1
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "The nodes' election timeout, ms (rounded to their 10 ms ticks). 1000 is etcd's default, which --vs-etcd runs: at 100, a follower busy with a slow sync under load could miss its answers for one timeout and the leader stepped down.")
    var electionMs = 1000
    @Option(help: "How Prism's clients wait for their replies: callback (each sends its next request from the reply's callback on its event loop) or task (a Swift task per client awaiting each reply, as before session 20).")
    var clientLoop: ClientLoop = .callback

    enum ClientLoop: String, ExpressibleByArgument, Sendable { case callback, task }
    @Flag(help: "Mutual TLS between the nodes, with a cluster certificate made by openssl as the clustering guide makes it.") var tls = false
    @Flag(help: "Then run the same load against a 3-member etcd (Debian's etcd-server) and print the ratios.") var vsEtcd = false
    @Option(help: "Instead of the load: host this many groups per node, let them go quiet, and report the CPU they cost idle over --seconds.")
    var idleGroups: UInt64?
    @Option(help: "Where the nodes make a write durable first: wal (write-ahead log, then LMDB) or lmdb (an LMDB commit).")
    var raftLog = "wal"
    @Option(help: "Milliseconds the nodes' write-ahead log records wait before LMDB takes them (a long wait makes --crash-check depend on replaying the log).")
    var walCatchUpMs = RaftWALStore.defaultCatchUpMilliseconds
    @Flag(help: "After the puts, kill -9 every node, restart them on their data and read back every acknowledged put (exit 1 if one is lost).")
    var crashCheck = false
    @Flag(help: "After the puts, freeze (SIGSTOP) every node but group 1's leader, send that leader a put and a strong get, and expect it to answer both leadership_lost once it steps down (exit 1 if it does not within 10 s).")
    var leaderLossCheck = false
    @Option(help: "Applied entries between the nodes' snapshots of a group (its log is compacted up to each; 0: never).")
    var snapshotEntries = KVSnapshotTaker.defaultEntries
    @Option(help: "And the log since a group's last snapshot at least this many times that snapshot's size (0: entries alone decide; --snapshot-check uses 0).")
    var snapshotLogRatio = KVSnapshotTaker.defaultLogRatio
    @Flag(help: "After the puts, freeze one follower of group 1, put 2 × --snapshot-entries + 10 keys so the leader compacts its log past it, resume it and expect it to catch up by installing the leader's snapshot, then kill -9 it and expect it to restore every key from its own (exit 1 otherwise).")
    var snapshotCheck = false
    @Flag(help: "After the puts, check client sessions on group 1: a put sent twice with one number acts once, a copy below what the client acknowledged is refused, a put in an unknown session changes nothing, and after kill -9 of the leader, and of every node, a retry still acts once (exit 1 otherwise).")
    var sessionCheck = false

    struct LeaderLossCheck: Encodable {
        /// The put's reply status: leadership_lost is the pass.
        var status: String
        /// The strong get's, sent beside it (it waits for a read index the frozen followers never confirm).
        var get_status: String
        /// From sending the put to its reply.
        var milliseconds: Double
    }

    struct Result: Encodable {
        var command: String
        var nodes: Int
        var clients: Int
        var groups: UInt64
        var tls: Bool
        var raft_log: String
        var value_bytes: Int
        var seconds: Double
        var puts_per_s: Double
        var put_p50_ms: Double
        var put_p99_ms: Double
        var gets_per_s: Double
        var get_p50_ms: Double
        var cpu_us_per_put: Double
        /// The put p99 of each second of the run, by when the put was sent: a stall shows as one
        /// high second, a tail that is there all along as every second high.
        var put_p99_ms_by_second: [Double]
        var etcd: Figures?
        /// Prism ÷ etcd (for CPU: etcd ÷ Prism, so above 1 is better for Prism everywhere).
        var ratios: [String: Double]?
        /// Requests that got no reply within 3 s and were sent again (a leader changed under them).
        var reply_timeouts: Int
        /// Requests a node answered leadership_lost (it stopped leading while holding them) and were sent again.
        var leadership_lost_replies: Int
        /// With --crash-check: keys whose last acknowledged put was read back after kill -9, and those lost.
        var crash_check: [String: Int]?
        /// With --leader-loss-check: what a leader cut off from its followers answered a held put.
        var leader_loss_check: LeaderLossCheck?
        /// With --snapshot-check: how a follower left behind caught up and restarted.
        var snapshot_check: SnapshotCheck?
        /// Puts answered no_session (their session expired or was evicted) and sent again in a new one.
        var sessions_lost: Int
        /// With --session-check: what duplicated, late and strange puts were answered.
        var session_check: SessionCheck?
    }

    struct Figures: Encodable {
        var puts_per_s: Double
        var put_p50_ms: Double
        var put_p99_ms: Double
        var gets_per_s: Double
        var get_p50_ms: Double
        var cpu_us_per_put: Double
        var put_p99_ms_by_second: [Double]
    }

    func validate() throws {
        guard nodes >= 1 && nodes <= 7 else { throw ValidationError("--nodes must be between 1 and 7") }
        guard clients >= 1 && clients <= 4096 else { throw ValidationError("--clients must be between 1 and 4096") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard groups >= 1 else { throw ValidationError("--groups must be at least 1") }
        guard electionMs >= 20 else { throw ValidationError("--election-ms must be at least 20 (two ticks), got \(electionMs)") }
        _ = try RaftNodeCommand.logMode(raftLog, catchUpMs: walCatchUpMs)
        if let idleGroups { guard idleGroups >= 1 && idleGroups <= 100_000 else { throw ValidationError("--idle-groups must be between 1 and 100000") } }
        guard snapshotEntries >= 0 else { throw ValidationError("--snapshot-entries must be 0 (never) or more") }
        guard snapshotLogRatio >= 0, snapshotLogRatio <= 1000 else { throw ValidationError("--snapshot-log-ratio must be between 0 and 1000") }
        if snapshotCheck {
            guard nodes >= 3 else { throw ValidationError("--snapshot-check needs --nodes 3 or more (a quorum while one follower is frozen)") }
            guard (1...10_000).contains(snapshotEntries) else { throw ValidationError("--snapshot-check needs --snapshot-entries between 1 and 10000") }
        }
        if sessionCheck {
            guard nodes >= 3 else { throw ValidationError("--session-check needs --nodes 3 or more (a quorum once the leader is killed)") }
        }
    }

    func run() async throws {
        let command = "prism bench raft --nodes \(nodes) --clients \(clients) --seconds \(seconds) --value-bytes \(valueBytes) --groups \(groups)"
            + (clientLoop == .callback ? "" : " --client-loop \(clientLoop.rawValue)") + (electionMs == 1000 ? "" : " --election-ms \(electionMs)")
            + (tls ? " --tls" : "") + " --raft-log \(raftLog)"
            + (walCatchUpMs == RaftWALStore.defaultCatchUpMilliseconds ? "" : " --wal-catch-up-ms \(walCatchUpMs)")
            + (snapshotEntries == KVSnapshotTaker.defaultEntries ? "" : " --snapshot-entries \(snapshotEntries)")
            + (snapshotLogRatio == KVSnapshotTaker.defaultLogRatio ? "" : " --snapshot-log-ratio \(snapshotLogRatio)")
            + (crashCheck ? " --crash-check" : "") + (leaderLossCheck ? " --leader-loss-check" : "") + (snapshotCheck ? " --snapshot-check" : "")
            + (sessionCheck ? " --session-check" : "")
        BenchSupport.progress("[raft] \(command)")
        let dir = BenchSupport.freshFolder(in: FileManager.default.temporaryDirectory.path, kind: "raft")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ids = (1...nodes).map { "n\($0)" }
        var raftPorts = try ids.map { _ in try Self.freePort() }, clientPorts = try ids.map { _ in try Self.freePort() }
        let hosted = idleGroups ?? groups
        let tlsArguments = tls ? try Self.makeClusterCertificate(in: dir) : []
        // The snapshot check needs the leader to compact within its few puts, whatever the log's size.
        let logArguments = ["--raft-log", raftLog, "--wal-catch-up-ms", "\(walCatchUpMs)", "--snapshot-entries", "\(snapshotEntries)",
                            "--snapshot-log-ratio", "\(snapshotCheck ? 0 : snapshotLogRatio)"]
        func nodeArguments() -> [[String]] {
            ids.enumerated().map { i, id in
                ["raft-node", "--id", id, "--raft", "127.0.0.1:\(raftPorts[i])", "--client", "127.0.0.1:\(clientPorts[i])",
                 "--data-dir", "\(dir)/\(id)", "--groups", "\(hosted)", "--election-ticks", "\(electionMs / 10)"] + logArguments + tlsArguments + (idleGroups == nil ? [] : ["--quiesce-ticks", "20"])
                    + ids.enumerated().filter { $0.offset != i }.flatMap { ["--peer", "\($0.element)=127.0.0.1:\(raftPorts[$0.offset])"] }
            }
        }
        var arguments = nodeArguments()
        let nodeCount = nodes
        var processes: [NodeProcess] = []
        defer { for p in processes { p.stop() } }
        func startNodes() async throws -> LeaderRouter {
            processes = arguments.map { NodeProcess(arguments: $0) }
            for p in processes { try p.start() }
            for p in processes { try await p.waitReady() }
            BenchSupport.progress("[raft] \(nodeCount) nodes ready; waiting for leaders")
            return try await connect()
        }
        func connect() async throws -> LeaderRouter {
            var connections: [String: [KVConnection]] = [:]
            for (i, id) in ids.enumerated() {
                // A few connections per node, shared by the clients.
                for _ in 0..<min(clients, 8) {
                    connections[id, default: []].append(try await KVConnection.connect(port: clientPorts[i], group: MultiThreadedEventLoopGroup.singleton))
                }
            }
            return LeaderRouter(ids: ids, connections: connections)
        }
        // Ports are found by binding port 0 and closing it, so another process can take one
        // before a node binds it (tests run several benches at once): a first start where a node
        // exits before it is ready is tried again on new ports.
        var router: LeaderRouter
        var attempt = 1
        while true {
            do {
                router = try await startNodes()
                break
            } catch {
                guard attempt < 3, processes.contains(where: { !$0.process.isRunning }) else { throw error }
                for p in processes { p.stop() }
                BenchSupport.progress("[raft] a node exited before it was ready (\(error)); starting again on new ports")
                raftPorts = try ids.map { _ in try Self.freePort() }
                clientPorts = try ids.map { _ in try Self.freePort() }
                arguments = nodeArguments()
                attempt += 1
            }
        }
        let value = String(repeating: "v", count: valueBytes)
        if let idleGroups {
            return try await measureIdle(groups: idleGroups, router: router, processes: processes, value: value, command: command)
        }
        for g in 1...groups { try await router.waitForLeader(group: g, value: value) }
        BenchSupport.progress("[raft] every group has a leader; \(seconds) s of puts from \(clients) clients")

        let cpuBefore = processes.map(\.cpuMicroseconds)
        let acknowledged = Mutex<[String: (UInt64, String)]>([:])
        let check = crashCheck
        let executors = EventLoopTaskExecutor.each(of: MultiThreadedEventLoopGroup.singleton)
        let benchCPUBefore = NodeProcess.cpuMicroseconds(pid: getpid())
        // Each put's value is its own (numbered), so a lost one cannot hide behind an equal value.
        let putValue: @Sendable (Int) -> String = { n in check ? "\(n)-" + value.dropFirst(min(value.count, "\(n)-".count)) : value }
        let puts: [LatencySample]
        switch clientLoop {
        case .callback:
            puts = try await CallbackClients.phase(clients: clients, seconds: seconds, groups: groups, router: router, executors: executors, step: { client, n in
                CallbackClients.Step(operation: .put, key: "k\(client)-\(n % 1000)", value: putValue(n))
            }, answered: { _, g, step in
                if check, let v = step.value { acknowledged.withLock { $0[step.key] = (g, v) } }
            })
        case .task:
            puts = try await Self.phase(clients: clients, seconds: seconds, groups: groups, executor: { executors[$0 % executors.count] }) { [router] client, n, g in
                let key = "k\(client)-\(n % 1000)", v = putValue(n)
                _ = try await router.call(.put, group: g, key: key, value: v)
                if check { acknowledged.withLock { $0[key] = (g, v) } }
            }
        }
        let cpuAfter = processes.map(\.cpuMicroseconds)
        let benchCPU = NodeProcess.cpuMicroseconds(pid: getpid()) - benchCPUBefore
        BenchSupport.progress(String(format: "[raft] puts: the clients (%@ loop) used %.0f%% of a core, the nodes %@", clientLoop.rawValue,
                                     benchCPU / (seconds * 1e4),
                                     zip(cpuBefore, cpuAfter).map { String(format: "%.0f%%", ($0.1 - $0.0) / (seconds * 1e4)) }.joined(separator: " ")))
        var crashResult: [String: Int]?
        var earlierTimeouts = 0, earlierSessionsLost = 0
        /// Closes a router whose nodes restarted (its connections are closed), keeping its counts.
        func retire(_ old: LeaderRouter) {
            old.close()
            earlierTimeouts += old.timeouts.load(ordering: .relaxed)
            earlierSessionsLost += old.sessionsLost.load(ordering: .relaxed)
        }
        var leaderLoss: LeaderLossCheck?
        if leaderLossCheck {
            leaderLoss = try await checkLeaderLoss(router: router, processes: processes, ids: ids, value: value)
        }
        var snapshotResult: SnapshotCheck?
        if snapshotCheck {
            snapshotResult = try await checkSnapshot(router: router, processes: &processes, ids: ids, arguments: arguments, clientPorts: clientPorts)
            // The follower restarted.
            retire(router)
            router = try await connect()
        }
        var sessionResult: SessionCheck?
        if sessionCheck {
            sessionResult = try await checkSessions(router: router, processes: &processes, ids: ids, arguments: arguments, connect: connect)
            // Every node restarted.
            retire(router)
            router = try await connect()
        }
        if crashCheck {
            BenchSupport.progress("[raft] kill -9 every node after \(puts.count) acknowledged puts; restarting them on their data")
            retire(router)
            for p in processes { p.kill() }
            router = try await startNodes()
            var lost = 0
            let expected = acknowledged.withLock { $0 }
            for (key, (g, v)) in expected.sorted(by: { $0.key < $1.key }) {
                let got = try await router.call(.getStrong, group: g, key: key, value: nil)
                if got != v { lost += 1 }
            }
            crashResult = ["acknowledged_keys": expected.count, "lost": lost]
            BenchSupport.progress("[raft] read back \(expected.count) keys after kill -9: \(lost) lost")
        }
        BenchSupport.progress("[raft] \(puts.count) puts; \(seconds) s of strong gets")
        let gets: [LatencySample]
        switch clientLoop {
        case .callback:
            gets = try await CallbackClients.phase(clients: clients, seconds: seconds, groups: groups, router: router, executors: executors, step: { client, n in
                CallbackClients.Step(operation: .getStrong, key: "k\(client)-\(n % 1000)", value: nil)
            }, answered: { _, _, _ in })
        case .task:
            gets = try await Self.phase(clients: clients, seconds: seconds, groups: groups, executor: { executors[$0 % executors.count] }) { [router] client, n, g in
                _ = try await router.call(.getStrong, group: g, key: "k\(client)-\(n % 1000)", value: nil)
            }
        }
        router.close()
        for p in processes { p.stop() }

        let cpu = zip(cpuBefore, cpuAfter).reduce(0.0) { $0 + ($1.1 - $1.0) }
        let prism = Self.figures(puts: puts, gets: gets, seconds: seconds, cpu: cpu)
        var result = Result(command: command + (vsEtcd ? " --vs-etcd" : ""), nodes: nodes, clients: clients, groups: groups, tls: tls, raft_log: raftLog, value_bytes: valueBytes,
                            seconds: seconds, puts_per_s: prism.puts_per_s, put_p50_ms: prism.put_p50_ms, put_p99_ms: prism.put_p99_ms,
                            gets_per_s: prism.gets_per_s, get_p50_ms: prism.get_p50_ms, cpu_us_per_put: prism.cpu_us_per_put,
                            put_p99_ms_by_second: prism.put_p99_ms_by_second,
                            reply_timeouts: earlierTimeouts + router.timeouts.load(ordering: .relaxed),
                            leadership_lost_replies: router.leadershipLost.load(ordering: .relaxed), crash_check: crashResult,
                            leader_loss_check: leaderLoss, snapshot_check: snapshotResult,
                            sessions_lost: earlierSessionsLost + router.sessionsLost.load(ordering: .relaxed), session_check: sessionResult)
        if vsEtcd && !crashCheck {
            guard EtcdCluster.installed else { throw ValidationError("--vs-etcd needs /usr/bin/etcd (apt-get install etcd-server)") }
            let etcd = try await runEtcd(value: value, directory: dir + "-etcd")
            result.etcd = etcd
            result.ratios = ["puts": prism.puts_per_s / max(etcd.puts_per_s, 1e-9), "strong_gets": prism.gets_per_s / max(etcd.gets_per_s, 1e-9),
                             "cpu_per_put": etcd.cpu_us_per_put / max(prism.cpu_us_per_put, 1e-9)]
        }
        if json {
            try BenchSupport.printJSON(result)
        } else {
            Self.printFigures("prism", prism, clients: clients)
            if let etcd = result.etcd { Self.printFigures("etcd", etcd, clients: clients) }
            if let r = result.ratios {
                print(String(format: "prism/etcd: puts %.2fx, strong gets %.2fx, CPU per put %.2fx less", r["puts"] ?? 0, r["strong_gets"] ?? 0, r["cpu_per_put"] ?? 0))
            }
            if let c = crashResult { print("after kill -9: \(c["acknowledged_keys"] ?? 0) acknowledged keys read back, \(c["lost"] ?? 0) lost") }
            if let l = leaderLoss {
                print(String(format: "leader cut off from its followers answered a held put %@ after %.0f ms, a held strong get %@", l.status, l.milliseconds, l.get_status))
            }
            if let c = snapshotResult {
                print(String(format: "a follower %d puts behind caught up through the leader's snapshot (%@) in %.0f ms, restored %d of %d keys from its own after kill -9: %@",
                             c.puts, c.installed ? "installed" : "not installed", c.caught_up_ms, c.values_after_restart, c.puts, c.passed ? "passed" : "FAILED"))
            }
            if let c = sessionResult {
                print("client sessions: a duplicated put \(c.duplicate_status) (reads \(c.value_after_duplicate ?? "nothing")), a late copy \(c.forgotten_status), a put in an unknown session \(c.unknown_session_status), a retry after kill -9 of \(c.killed_leader) \(c.retry_after_kill_status) (reads \(c.value_after_kill ?? "nothing")), after every node restarted \(c.retry_after_restart_status) (reads \(c.value_after_restart ?? "nothing")): \(c.passed ? "passed" : "FAILED")")
            }
            print("reproduce: \(result.command)")
        }
        if let c = crashResult, c["lost", default: 0] > 0 { throw ExitCode(1) }
        if let l = leaderLoss, l.status != "leadership_lost" || l.get_status != "leadership_lost" { throw ExitCode(1) }
        if let c = snapshotResult, !c.passed { throw ExitCode(1) }
        if let c = sessionResult, !c.passed { throw ExitCode(1) }
    }

    /// Freezes every node but group 1's leader, so its put can never commit, and times the
    /// leader's answer: check-quorum steps it down after an election timeout, and it must then
    /// answer `leadershipLost` instead of holding the request forever. The others resume after.
    func checkLeaderLoss(router: LeaderRouter, processes: [NodeProcess], ids: [String], value: String) async throws -> LeaderLossCheck {
        // The leader may move between learning it and freezing the others (two busy cores can
        // delay heartbeats past an election timeout): a notLeader answer means ask again.
        var attempt: UInt64 = 1
        while true {
            let check = try await freezeFollowersAndAsk(router: router, processes: processes, ids: ids, value: value, requestID: UInt64.max / 2 + attempt * 2)
            if check.status != KVWire.Status.notLeader.name || attempt == 3 { return check }
            attempt += 1
        }
    }

    /// One try of `checkLeaderLoss`: the others resume when it ends, however it ends.
    private func freezeFollowersAndAsk(router: LeaderRouter, processes: [NodeProcess], ids: [String], value: String,
                                       requestID: UInt64) async throws -> LeaderLossCheck {
        try await router.waitForLeader(group: 1, value: value)
        guard let leader = router.knownLeader(of: 1), let pool = router.connections[leader], let connection = pool.first else {
            throw ValidationError("--leader-loss-check: group 1 has no known leader")
        }
        let others = zip(ids, processes).filter { $0.0 != leader }.map(\.1)
        BenchSupport.progress("[raft] freezing every node but \(leader), the leader of group 1; sending it a put and a strong get")
        defer { for p in others { p.resume() } }
        for p in others {
            guard await p.freeze() else { throw ValidationError("--leader-loss-check: a node did not stop on SIGSTOP within 2 s") }
        }
        let start = ContinuousClock.now
        @Sendable func status(_ request: KVWire.Request) async throws -> String {
            do {
                let reply = try await connection.call(request, patience: .seconds(10))
                return reply.status.name
            } catch is KVConnection.ReplyTimeout {
                return "no reply"
            }
        }
        async let get = status(KVWire.Request(id: requestID + 1, operation: .getStrong, group: 1, key: "leader-loss", value: nil))
        let numbered = try await router.nextSequence(group: 1)
        defer { router.finish(group: 1, numbered) }
        let put = try await status(router.putRequest(id: requestID, group: 1, key: "leader-loss", value: value, numbered))
        let milliseconds = BenchSupport.seconds(ContinuousClock.now - start) * 1000
        let getStatus = try await get
        // The frozen nodes' states when the answers came (all `T` unless something resumed them).
        let states = zip(ids.filter { $0 != leader }, others).map { id, p in "\(id)=\(NodeProcess.state(pid: p.process.processIdentifier).map(String.init) ?? "?")" }
        BenchSupport.progress("[raft] \(leader) answered the put \(put) after \(Int(milliseconds)) ms, the strong get \(getStatus) (frozen: \(states.joined(separator: " "))); resuming the others")
        return LeaderLossCheck(status: put, get_status: getStatus, milliseconds: milliseconds)
    }

    /// Every group gets one put (so each has a leader and a committed entry), then goes quiet;
    /// the CPU of the node processes over `seconds` after that, per node, in cores.
    func measureIdle(groups: UInt64, router: LeaderRouter, processes: [NodeProcess], value: String, command: String) async throws {
        BenchSupport.progress("[raft] one put in each of \(groups) groups")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for lane in UInt64(0)..<64 {
                tasks.addTask {
                    var g = lane + 1
                    while g <= groups {
                        try await router.waitForLeader(group: g, value: value)
                        if g % 1000 == 0 { BenchSupport.progress("[raft] \(g) of \(groups) groups led") }
                        g += 64
                    }
                }
            }
            try await tasks.waitForAll()
        }
        router.close()
        BenchSupport.progress("[raft] \(groups) groups led; letting them go quiet, then \(seconds) s idle")
        try await Task.sleep(for: .seconds(2))
        let before = processes.map(\.cpuMicroseconds)
        try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        let used = zip(before, processes.map(\.cpuMicroseconds)).map { $1 - $0 }
        let cores = used.map { $0 / (seconds * 1_000_000) }
        let result: [String: Double] = ["idle_groups": Double(groups), "seconds": seconds, "max_core_per_node": cores.max() ?? 0,
                                        "mean_core_per_node": cores.reduce(0, +) / Double(max(1, cores.count))]
        if json {
            try BenchSupport.printJSON(result)
        } else {
            print(String(format: "%llu quiet groups per node: %.4f core per node (max %.4f) over %.1f s", groups, result["mean_core_per_node"] ?? 0,
                         result["max_core_per_node"] ?? 0, seconds))
            print("reproduce: \(command) --idle-groups \(groups)")
        }
    }

    static func figures(puts: [LatencySample], gets: [LatencySample], seconds: Double, cpu: Double) -> Figures {
        let putMs = puts.map(\.milliseconds), getMs = gets.map(\.milliseconds)
        var bySecond = [[Double]](repeating: [], count: max(1, Int(seconds.rounded(.up))))
        for s in puts { bySecond[min(bySecond.count - 1, max(0, Int(s.sentAt)))].append(s.milliseconds) }
        return Figures(puts_per_s: Double(puts.count) / seconds, put_p50_ms: percentile(putMs, 0.5), put_p99_ms: percentile(putMs, 0.99),
                       gets_per_s: Double(gets.count) / seconds, get_p50_ms: percentile(getMs, 0.5), cpu_us_per_put: puts.isEmpty ? 0 : cpu / Double(puts.count),
                       put_p99_ms_by_second: bySecond.map { (percentile($0, 0.99) * 10).rounded() / 10 })
    }

    /// One request: when it was sent (seconds since the phase began) and how long its answer took.
    struct LatencySample: Sendable {
        var sentAt: Double
        var milliseconds: Double
    }

    static func printFigures(_ name: String, _ f: Figures, clients: Int) {
        print(String(format: "%@: puts %.0f/s (p50 %.2f ms, p99 %.2f ms, %.0f µs CPU each), strong gets %.0f/s (p50 %.2f ms), %d clients",
                     name, f.puts_per_s, f.put_p50_ms, f.put_p99_ms, f.cpu_us_per_put, f.gets_per_s, f.get_p50_ms, clients))
    }

    /// The same phases against etcd: puts, then linearizable ranges, each client on its own
    /// keep-alive connection to the leader.
    func runEtcd(value: String, directory: String) async throws -> Figures {
        BenchSupport.progress("[raft] starting a 3-member etcd")
        let etcd = try EtcdCluster(members: 3, directory: directory)
        defer { etcd.stop() }
        let group = MultiThreadedEventLoopGroup.singleton
        let port = try await etcd.leaderPort(group: group)
        var pool: [HTTPJSONConnection] = []
        for _ in 0..<clients { pool.append(try await HTTPJSONConnection.connect(port: port, group: group)) }
        defer { for c in pool { c.close() } }
        let connections = pool
        // Each client's task on its own connection's loop.
        let executors = connections.map { EventLoopTaskExecutor(loop: $0.channel.eventLoop) }
        let encodedValue = Data(value.utf8).base64EncodedString()
        @Sendable func key(_ client: Int, _ n: Int) -> String { Data("k\(client)-\(n % 1000)".utf8).base64EncodedString() }
        _ = try await connections[0].post("/v3/kv/put", #"{"key":"\#(key(0, 0))","value":"\#(encodedValue)"}"#)
        BenchSupport.progress("[raft] etcd: \(seconds) s of puts from \(clients) clients")
        let before = etcd.cpuMicroseconds
        let puts = try await Self.phase(clients: clients, seconds: seconds, groups: 1, executor: { executors[$0] }) { client, n, _ in
            _ = try await connections[client].post("/v3/kv/put", #"{"key":"\#(key(client, n))","value":"\#(encodedValue)"}"#)
        }
        let cpu = etcd.cpuMicroseconds - before
        BenchSupport.progress("[raft] etcd: \(puts.count) puts; \(seconds) s of linearizable gets")
        let gets = try await Self.phase(clients: clients, seconds: seconds, groups: 1, executor: { executors[$0] }) { client, n, _ in
            _ = try await connections[client].post("/v3/kv/range", #"{"key":"\#(key(client, n))"}"#)
        }
        return Self.figures(puts: puts, gets: gets, seconds: seconds, cpu: cpu)
    }

    /// Runs `clients` loops of one request at a time for `seconds`; returns each request's latency.
    /// `executor`: where a client's task runs (the event loop of its connections).
    static func phase(clients: Int, seconds: Double, groups: UInt64, executor: (Int) -> EventLoopTaskExecutor,
                      _ request: @escaping @Sendable (Int, Int, UInt64) async throws -> Void) async throws -> [LatencySample] {
        let begin = ContinuousClock.now
        let deadline = begin + .milliseconds(Int(seconds * 1000))
        return try await withThrowingTaskGroup(of: [LatencySample].self) { tasks in
            for client in 0..<clients {
                tasks.addTask(executorPreference: executor(client)) {
                    var latencies: [LatencySample] = []
                    var n = 0
                    while ContinuousClock.now < deadline {
                        let start = ContinuousClock.now
                        try await request(client, n, UInt64(client + n) % groups + 1)
                        latencies.append(LatencySample(sentAt: BenchSupport.seconds(start - begin), milliseconds: BenchSupport.seconds(ContinuousClock.now - start) * 1000))
                        n += 1
                    }
                    return latencies
                }
            }
            var all: [LatencySample] = []
            for try await l in tasks { all += l }
            return all
        }
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
    }

    /// The clustering guide's command (a self-signed RSA 4096 certificate); the nodes' TLS flags.
    static func makeClusterCertificate(in dir: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["req", "-x509", "-newkey", "rsa:4096", "-keyout", "\(dir)/cluster-key.pem", "-out", "\(dir)/cluster-cert.pem",
                             "-days", "2", "-nodes", "-subj", "/CN=prism-cluster"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { throw ValidationError("--tls needs /usr/bin/openssl (apt-get install openssl): \(error)") }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("openssl req exited with \(process.terminationStatus)") }
        return ["--cert-path", "\(dir)/cluster-cert.pem", "--key-path", "\(dir)/cluster-key.pem"]
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ValidationError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Sends each request to the group's leader, learning it from `notLeader` replies.
final class LeaderRouter: Sendable {
    let ids: [String]
    let connections: [String: [KVConnection]]
    private let leaders = Mutex<[UInt64: String]>([:])
    private let nextID = Atomic<UInt64>(1)
    /// Requests that got no reply in time and were asked again.
    let timeouts = Atomic<Int>(0)
    /// Requests a node answered `leadershipLost` (it stopped leading while holding them), asked again.
    let leadershipLost = Atomic<Int>(0)
    /// Puts answered `noSession` (their session expired or was evicted): sent again in a new one.
    let sessionsLost = Atomic<Int>(0)
    let sessions = ClientSessions()

    init(ids: [String], connections: [String: [KVConnection]]) {
        self.ids = ids
        self.connections = connections
    }

    /// The next number in `group`'s client session (opened first if there is none); pass it
    /// to `finish` once answered.
    func nextSequence(group: UInt64, patience: Duration = .seconds(10)) async throws -> ClientSessions.Numbered {
        try await sessions.next(group: group) { [self] in try await openSession(group: group, patience: patience) }
    }

    func finish(group: UInt64, _ numbered: ClientSessions.Numbered) { sessions.finish(group: group, numbered) }

    /// A new client session in `group`; its id.
    func openSession(group: UInt64, patience: Duration) async throws -> UInt64 {
        let reply = try await call(.openSession, group: group, key: "", value: nil, patience: patience)
        guard let id = reply.flatMap({ UInt64($0) }) else { throw ValidationError("group \(group): a session opening answered \(reply ?? "nothing"), not an id") }
        return id
    }

    /// The reply's value (a get's; an opening's session id). A put is numbered in its group's
    /// session and keeps its number through every retry: it acts once however often it is sent.
    @discardableResult
    func call(_ operation: KVWire.Operation, group: UInt64, key: String, value: String?, patience: Duration = .seconds(10)) async throws -> String? {
        let deadline = ContinuousClock.now + patience
        var numbered = operation == .put ? try await nextSequence(group: group, patience: patience) : nil
        defer { if let numbered { finish(group: group, numbered) } }
        // An opening's nonce tells its answer from another's.
        let nonce = operation == .openSession ? UInt64.random(in: 1...UInt64.max) : 0
        while true {
            let put = numbered
            let reply = try await route(group: group, until: deadline, leaderAnswers: operation != .getEventual) { [self] id in
                if let put { return putRequest(id: id, group: group, key: key, value: value, put) }
                return KVWire.Request(id: id, operation: operation, group: group, key: key, value: value,
                                      sequence: operation == .openSession ? nonce : 0)
            }
            switch reply.status {
            case .noSession:
                // The session is gone; a new one, and the put again in it (an earlier copy may
                // have acted: a put of one value tolerates that).
                sessionsLost.add(1, ordering: .relaxed)
                guard let lost = numbered else { return nil }
                sessions.lost(group: group, session: lost.session)
                numbered = try await nextSequence(group: group, patience: patience)
            case .forgotten:
                throw ValidationError("group \(group): put \(put.map { "\($0.sequence) of session \($0.session)" } ?? "?") answered forgotten (numbered below what this client acknowledged)")
            default:
                return reply.value
            }
        }
    }

    /// A put numbered in its session, with what the client acknowledges there now.
    func putRequest(id: UInt64, group: UInt64, key: String, value: String?, _ put: ClientSessions.Numbered) -> KVWire.Request {
        KVWire.Request(id: id, operation: .put, group: group, key: key, value: value, session: put.session, sequence: put.sequence,
                       acknowledged: sessions.acknowledged(group: group, session: put.session))
    }

    /// Sends a request (`make` gives it the id of each try) to `group`'s leader, learning the
    /// leader from `notLeader` replies and asking around after a timeout, an unavailable group or
    /// a lost leadership, until a reply that is the group's answer (`ok`, `noSession`,
    /// `forgotten`) or `deadline`. `leaderAnswers`: an `ok` names the leader (not for eventual gets).
    func route(group: UInt64, until deadline: ContinuousClock.Instant, leaderAnswers: Bool = true,
               _ make: (UInt64) -> KVWire.Request) async throws -> KVWire.Reply {
        var attempt = 0
        while ContinuousClock.now < deadline {
            attempt += 1
            let node = leaders.withLock { $0[group] } ?? ids[attempt % ids.count]
            guard let pool = connections[node], !pool.isEmpty else { continue }
            let id = nextID.add(1, ordering: .relaxed).newValue
            let reply: KVWire.Reply
            do {
                reply = try await Self.pick(from: pool, id: id).call(make(id))
            } catch is KVConnection.ReplyTimeout {
                // Asked a leader that lost its term meanwhile, or a node that is gone: ask
                // around again (the same put, with the same number, acts once).
                timeouts.add(1, ordering: .relaxed)
                leaders.withLock { $0[group] = nil }
                continue
            } catch TransportError.closedWithoutReply {
                // The node is gone (killed): the others know who leads now.
                leaders.withLock { $0[group] = nil }
                try await Task.sleep(for: .milliseconds(5))
                continue
            }
            switch reply.status {
            case .ok, .noSession, .forgotten:
                // Only the leader answers a put or a strong get: remember it (a first guess that
                // was right never got a notLeader hint).
                if leaderAnswers { leaders.withLock { $0[group] = node } }
                return reply
            case .notLeader:
                let hint = reply.value.flatMap { ids.contains($0) ? $0 : nil }
                leaders.withLock { $0[group] = hint }
                // No leader known there yet (an election): wait a little before asking around.
                if hint == nil { try await Task.sleep(for: .milliseconds(5)) }
            case .unavailable:
                leaders.withLock { $0[group] = nil }
                try await Task.sleep(for: .milliseconds(5))
            case .leadershipLost:
                // The outcome of a put is unknown; sent again with its number, it acts once.
                leadershipLost.add(1, ordering: .relaxed)
                leaders.withLock { $0[group] = nil }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
        throw ValidationError("group \(group): no leader answered within the time allowed (\(attempt) attempts)")
    }

    /// The connection for a request: one on the loop the caller runs on if the pool has one (no
    /// thread hop to write it), the pool spread by request id.
    static func pick(from pool: [KVConnection], id: UInt64) -> KVConnection {
        let start = Int(id % UInt64(pool.count))
        for offset in 0..<pool.count {
            let c = pool[(start + offset) % pool.count]
            if c.channel.eventLoop.inEventLoop { return c }
        }
        return pool[start]
    }

    /// A session opened and a put that succeeds once the group has a leader (thousands of
    /// groups electing at once take a while).
    func waitForLeader(group: UInt64, value: String) async throws {
        finish(group: group, try await nextSequence(group: group, patience: .seconds(120)))
        try await call(.put, group: group, key: "warmup", value: value, patience: .seconds(120))
    }

    /// Drops what the router knows of `group`'s leader (the next request asks around).
    func forgetLeader(of group: UInt64) { leaders.withLock { $0[group] = nil } }

    /// A fresh request id.
    func nextRequestID() -> UInt64 { nextID.add(1, ordering: .relaxed).newValue }

    /// The node the router last learned leads `group`.
    func knownLeader(of group: UInt64) -> String? { leaders.withLock { $0[group] } }

    func close() { for list in connections.values { for c in list { c.close() } } }
}

/// One client connection: requests written as frames, replies matched by id.
final class KVConnection: Sendable {
    let channel: Channel
    /// Requests sent and not answered: their promise and when they time out. A sweep fails the
    /// late ones (a timer per request, tens of thousands a second, kept the loop busy with its
    /// timer heap).
    typealias Waiting = [UInt64: (Completion, NIODeadline)]
    /// Called once on the connection's loop with the reply or why there is none.
    typealias Completion = @Sendable (Result<KVWire.Reply, any Error>) -> Void
    /// How often the sweep looks for requests past their deadline (a late request fails up to this much late).
    static let sweepInterval = TimeAmount.milliseconds(100)
    private let waiting: NIOLoopBoundBox<Waiting>
    /// A flush is queued on the loop: requests written until it runs leave in one system call.
    private let flushQueued: NIOLoopBoundBox<Bool>

    private init(channel: Channel, waiting: NIOLoopBoundBox<Waiting>) {
        self.channel = channel
        self.waiting = waiting
        flushQueued = .makeBoxSendingValue(false, eventLoop: channel.eventLoop)
    }

    static func connect(port: Int, group: EventLoopGroup) async throws -> KVConnection {
        let loop = group.next()
        let waiting = NIOLoopBoundBox<Waiting>.makeBoxSendingValue([:], eventLoop: loop)
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameSize: 1 << 22)))
                    try channel.pipeline.syncOperations.addHandler(KVReplyHandler(waiting: waiting))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        loop.scheduleRepeatedTask(initialDelay: sweepInterval, delay: sweepInterval) { task in
            guard channel.isActive else { return task.cancel() }
            let now = NIODeadline.now()
            let late = waiting.value.filter { $0.value.1 <= now }
            for (id, (completion, _)) in late {
                waiting.value.removeValue(forKey: id)
                completion(.failure(ReplyTimeout()))
            }
        }
        return KVConnection(channel: channel, waiting: waiting)
    }

    /// A request whose reply does not come within `patience` fails with `ReplyTimeout` (a leader
    /// that lost its term while the request waited never answers it).
    func call(_ request: KVWire.Request, patience: TimeAmount = .seconds(3)) async throws -> KVWire.Reply {
        let promise = channel.eventLoop.makePromise(of: KVWire.Reply.self)
        send(request, patience: patience) { promise.completeWith($0) }
        return try await promise.futureResult.get()
    }

    /// `call` without a task: `completion` runs on the connection's loop with the reply, a
    /// `ReplyTimeout` after `patience`, or `closedWithoutReply`.
    func send(_ request: KVWire.Request, patience: TimeAmount = .seconds(3), completion: @escaping Completion) {
        let bytes = KVWire.encode(request)
        let send: @Sendable () -> Void = { [self] in
            // Closed: nothing would ever answer (nor sweep) it.
            guard channel.isActive else { return completion(.failure(TransportError.closedWithoutReply)) }
            waiting.value[request.id] = (completion, .now() + patience)
            let frame = Frame.encode(bytes, allocator: channel.allocator)
            // Alone on the connection: nobody else's request is coming to share the write.
            guard waiting.value.count > 1 else { return channel.writeAndFlush(frame, promise: nil) }
            channel.write(frame, promise: nil)
            // The clients an answer pass resumed on this loop write theirs before the flush runs
            // (its task is queued behind theirs), as a client library pipelining over one
            // connection does: hundreds of requests in one write instead of a system call each.
            guard !flushQueued.value else { return }
            flushQueued.value = true
            channel.eventLoop.execute { [self] in
                flushQueued.value = false
                channel.flush()
            }
        }
        if channel.eventLoop.inEventLoop { send() } else { channel.eventLoop.execute(send) }
    }

    struct ReplyTimeout: Error {}

    func close() { channel.close(promise: nil) }
}

private final class KVReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let waiting: NIOLoopBoundBox<KVConnection.Waiting>

    init(waiting: NIOLoopBoundBox<KVConnection.Waiting>) { self.waiting = waiting }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let reply = try? KVWire.reply(Array(unwrapInboundIn(data).readableBytesView)) else { return context.close(promise: nil) }
        waiting.value.removeValue(forKey: reply.id)?.0(.success(reply))
    }

    func channelInactive(context: ChannelHandlerContext) {
        for (_, (completion, _)) in waiting.value { completion(.failure(TransportError.closedWithoutReply)) }
        waiting.value = [:]
        context.fireChannelInactive()
    }
}

/// A `prism raft-node` child process.
final class NodeProcess: @unchecked Sendable {
    let process = Process()
    private let output = Mutex("")
    /// What the node wrote to stderr (also passed on to ours).
    private let errors = Mutex("")
    private let stdin = Pipe()

    init(arguments: [String]) {
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        process.arguments = arguments + ["--exit-with-stdin"]
        // Held open by this process only: when it ends, however it ends, the node sees its stdin
        // close and exits, instead of living on as an orphan.
        process.standardInput = stdin
        let pipe = Pipe()
        process.standardOutput = pipe
        let errorPipe = Pipe()
        process.standardError = errorPipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.output.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        errorPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard !data.isEmpty else { return }
            FileHandle.standardError.write(data)
            self?.errors.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
    }

    /// How many lines the node has written to stderr that contain `text`.
    func errorLines(containing text: String) -> Int {
        errors.withLock { $0.split(separator: "\n").reduce(0) { $0 + ($1.contains(text) ? 1 : 0) } }
    }

    func start() throws { try process.run() }

    func waitReady(timeout: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output.withLock({ $0.contains("prism raft-node ready") }) { return }
            guard process.isRunning else { throw ValidationError("raft-node exited with \(process.terminationStatus)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ValidationError("raft-node not ready in \(timeout) s")
    }

    /// User and system CPU so far, µs (from /proc).
    var cpuMicroseconds: Double { Self.cpuMicroseconds(pid: process.processIdentifier) }

    /// The fields of /proc/PID/stat after the command name (which may hold spaces): the state
    /// first (field 3 in proc(5)); nil when unreadable.
    static func statFields(pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    static func cpuMicroseconds(pid: Int32) -> Double {
        // utime and stime are fields 14 and 15 in proc(5).
        guard let fields = statFields(pid: pid), fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK))) * 1_000_000
    }

    /// SIGKILL: no chance to flush anything.
    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGSTOP: the node freezes (its sockets stay open, it answers nothing). Returns once the
    /// kernel shows it stopped (`T` in /proc), false if it does not within 2 s.
    func freeze() async -> Bool {
        let pid = process.processIdentifier
        guard pid > 0, Glibc.kill(pid, SIGSTOP) == 0 else { return false }
        for _ in 0..<200 {
            if Self.state(pid: pid) == "T" { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// SIGCONT, whatever Foundation thinks of the child meanwhile (a stopped child's SIGCHLD must
    /// not leave it frozen).
    func resume() {
        let pid = process.processIdentifier
        if pid > 0 { Glibc.kill(pid, SIGCONT) }
    }

    /// The process state letter from /proc (`R`, `S`, `T` …), nil when unreadable.
    static func state(pid: Int32) -> Character? { statFields(pid: pid)?.first?.first }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
