import Foundation
import PrismSimulation
import Synchronization

/// The gossip benchmark's scenario with real `prism agent` processes on 127.0.0.1: N agents join
/// through the first, idle, one is SIGKILLed, another SIGSTOPped for a while and continued.
/// Everything is read from the agents' `--events` lines and from /proc.
struct GossipProcessTrial {
    enum Kind: String { case prism, serf }
    var nodes: Int
    var kind = Kind.prism
    var idleSeconds = 10.0
    var pauseSeconds = 3.0
    var phaseLimitSeconds = 60.0
    var environment: [String: String] = [:]
    private(set) var joinCurve: [(Double, Double)] = []
    private(set) var detectionCurve: [(Double, Double)] = []

    init(nodes: Int) { self.nodes = nodes }

    /// A port free for both TCP and UDP on 127.0.0.1 right now (bound to 0, read, released).
    static func freePort() throws -> Int {
        for _ in 0..<32 {
            let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(tcp) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(tcp, $0, length) == 0 && getsockname(tcp, $0, &length) == 0 }
            }
            guard bound else { continue }
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(udp) }
            let udpBound = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udp, $0, length) == 0 }
            }
            if udpBound { return Int(UInt16(bigEndian: address.sin_port)) }
        }
        throw BenchFailure("no free port found for a Serf agent")
    }

    /// UDP datagrams this host has sent (`Udp: OutDatagrams` of /proc/net/snmp).
    static func udpDatagramsSent() -> [Int] {
        guard let text = try? String(contentsOfFile: "/proc/net/snmp", encoding: .utf8) else { return [] }
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("Udp: ") }
        guard lines.count >= 2, let column = lines[0].split(separator: " ").firstIndex(of: "OutDatagrams"),
              let value = lines[1].split(separator: " ")[safe: column].flatMap({ Int($0) }) else { return [] }
        return [value]
    }

    mutating func run(progress: (String) -> Void) async throws -> GossipTrialResult {
        let n = nodes
        var agents: [AgentProcess] = []
        defer { for a in agents { a.signal(SIGKILL) } }
        switch kind {
        case .prism:
            let seed = try AgentProcess(id: "agent-0", seeds: nil, environment: environment)
            agents.append(seed)
            let port = try await seed.waitForPort()
            for i in 1..<n { agents.append(try AgentProcess(id: "agent-\(i)", seeds: "127.0.0.1:\(port)", environment: environment)) }
        case .serf:
            // Serf needs its ports named: each is one the kernel just handed out as free on both
            // UDP and TCP (fixed ranges collided with ports in use, and a Serf that cannot bind exits).
            let seedPort = try Self.freePort(), seedRPC = try Self.freePort()
            agents.append(try AgentProcess(serf: "agent-0", port: seedPort, rpcPort: seedRPC, seedPort: nil))
            try await Task.sleep(for: .milliseconds(300))
            for i in 1..<n {
                agents.append(try AgentProcess(serf: "agent-\(i)", port: try Self.freePort(), rpcPort: try Self.freePort(), seedPort: seedPort))
            }
        }
        let started = Date().timeIntervalSince1970
        progress("started \(n) agents")

        // Join: per agent, when it first held all N − 1 others alive.
        var converged = [Double?](repeating: nil, count: n)
        let joinDeadline = started + phaseLimitSeconds
        joinCurve = []
        while converged.contains(where: { $0 == nil }) && Date().timeIntervalSince1970 < joinDeadline {
            try await Task.sleep(for: .milliseconds(100))
            for (i, a) in agents.enumerated() where converged[i] == nil {
                if let at = a.firstTimeHoldingAlive(count: n - 1) { converged[i] = max(0, at - started) }
            }
            joinCurve.append((Date().timeIntervalSince1970 - started, Double(converged.compactMap { $0 }.count) / Double(n)))
        }
        let joinTimes = converged.map { $0 ?? phaseLimitSeconds }.sorted()
        progress(String(format: "joined: median %.2f s, all %.2f s", joinTimes[n / 2], joinTimes[n - 1]))
        let behind = converged.indices.filter { converged[$0] == nil }
        if !behind.isEmpty {
            progress("not converged: " + behind.prefix(5).map { "agent-\($0) holds \(agents[$0].aliveNow) of \(n - 1) alive" }.joined(separator: ", "))
            let exited = agents.indices.filter { !agents[$0].isRunning }
            if !exited.isEmpty { progress("exited: " + exited.map { "agent-\($0) (status \(agents[$0].exitStatus))" }.joined(separator: ", ")) }
            let silent = agents.indices.filter { agents[$0].aliveNow == 0 }
            if !silent.isEmpty { progress("no member seen by: " + silent.prefix(5).map { "agent-\($0)" }.joined(separator: ", ")) }
        }

        // Idle: counters and CPU over the window, RSS at its end.
        try await Task.sleep(for: .seconds(1))
        for a in agents { a.signal(SIGUSR1) }
        let cpu0 = agents.map(\.cpuSeconds)
        let udp0 = Self.udpDatagramsSent()
        let idleStart = Date()
        try await Task.sleep(for: .milliseconds(Int(idleSeconds * 1000)))
        for a in agents { a.signal(SIGUSR1) }
        let cpu1 = agents.map(\.cpuSeconds)
        let udp1 = Self.udpDatagramsSent()
        let idleElapsed = Date().timeIntervalSince(idleStart)
        try await Task.sleep(for: .milliseconds(300))
        // The host's UDP counter (/proc/net/snmp) counts both kinds of agent alike; Prism's own
        // counters also give bytes, Serf has none to read.
        let hostDatagrams = zip(udp0, udp1).map { Double($1 - $0) / Double(n) / idleElapsed }.first ?? 0
        let deltas = agents.compactMap { $0.statisticsDelta() }
        let datagrams = kind == .prism ? deltas.map(\.datagrams).reduce(0, +) / Double(max(1, deltas.count)) / idleElapsed : hostDatagrams
        let bytes = deltas.map(\.bytes).reduce(0, +) / Double(max(1, deltas.count)) / idleElapsed
        let cpu = zip(cpu0, cpu1).map { ($1 - $0) / idleElapsed * 100 }.reduce(0, +) / Double(n)
        let rss = agents.map(\.rssMiB).reduce(0, +) / Double(n)
        let privateMiB = agents.map(\.privateMiB).reduce(0, +) / Double(n)
        progress(String(format: "idle: %.2f datagrams/s sent (host UDP counter: %.2f), %.0f B/s, %.3f%% CPU, %.1f MiB RSS (%.1f MiB private) per agent",
                        datagrams, hostDatagrams, bytes, cpu, rss, privateMiB))

        // Kill one.
        let victim = n / 2
        let killedAt = Date().timeIntervalSince1970
        agents[victim].signal(SIGKILL)
        let survivors = agents.indices.filter { $0 != victim }
        var detected: [Double] = []
        detectionCurve = []
        while Date().timeIntervalSince1970 < killedAt + phaseLimitSeconds {
            try await Task.sleep(for: .milliseconds(50))
            detected = survivors.compactMap { agents[$0].firstTime(member: "agent-\(victim)", states: ["dead"], after: killedAt) }
            detectionCurve.append((Date().timeIntervalSince1970 - killedAt, Double(detected.count) / Double(survivors.count)))
            if detected.count == survivors.count { break }
        }
        let first = (detected.min() ?? killedAt + phaseLimitSeconds) - killedAt
        let all = detected.count == survivors.count ? (detected.max() ?? 0) - killedAt : phaseLimitSeconds
        progress(String(format: "detected: first %.2f s, all %.2f s", first, all))

        // Pause another.
        let paused = n > 2 ? n / 3 : 0
        let pausedID = "agent-\(paused)"
        let pausedAt = Date().timeIntervalSince1970
        agents[paused].signal(SIGSTOP)
        try await Task.sleep(for: .milliseconds(Int(pauseSeconds * 1000)))
        agents[paused].signal(SIGCONT)
        let resumedAt = Date().timeIntervalSince1970
        let observers = survivors.filter { $0 != paused }
        let suspected = observers.contains { agents[$0].firstTime(member: pausedID, states: ["suspect", "dead"], after: pausedAt) != nil }
        var refute = 0.0
        if suspected {
            while Date().timeIntervalSince1970 < resumedAt + phaseLimitSeconds {
                        if observers.allSatisfy({ agents[$0].latestState(of: pausedID) == "alive" }) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            refute = Date().timeIntervalSince1970 - resumedAt
        }
        try await Task.sleep(for: .seconds(1))
        var falsePositives: Set<String> = []
        for i in survivors {
            for id in agents[i].membersMarkedDead where id != "agent-\(victim)" { falsePositives.insert(id) }
        }
        progress(String(format: "paused %.1f s: refuted in %.2f s; false positives %d", pauseSeconds, refute, falsePositives.count))

        for i in survivors { agents[i].signal(SIGTERM) }
        for i in survivors { await agents[i].waitForExit(seconds: 10) }
        return GossipTrialResult(
            joinConvergence: .init(median: joinTimes[n / 2], max: joinTimes[n - 1]),
            detection: .init(first: first, all: all), falsePositives: falsePositives.count, refute: refute,
            datagramsPerNodePerSecond: datagrams, bytesPerNodePerSecond: bytes, cpuPercentPerNode: cpu, rssMiBPerNode: rss,
            privateMiBPerNode: privateMiB)
    }
}

/// One `prism agent --events` child and what it printed.
final class AgentProcess: Sendable {
    struct Event: Sendable {
        var t: Double
        var member: String
        var state: String
    }

    struct Counters: Sendable {
        var datagrams: Double
        var bytes: Double
    }

    private let process: Process
    private let id: String
    /// Events come from Serf's log lines rather than `--events` JSON lines.
    private let serfLog: Bool
    private let state = Mutex<(buffer: String, events: [Event], stats: [Counters], port: Int?)>(("", [], [], nil))

    init(id: String, seeds: String?, environment: [String: String]) throws {
        self.id = id
        serfLog = false
        process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        var args = ["agent", "--node-id", id, "--gossip", "127.0.0.1:0", "--events", "--log-level", "error"]
        if let seeds { args += ["--seeds", seeds] }
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.consume(String(decoding: data, as: UTF8.self))
        }
        try process.run()
    }

    /// A Serf agent (LAN profile: 1 s probes, like Prism's default). Its membership events are
    /// read from its log as they happen (`serf: EventMemberJoin: NAME ...`), stamped on arrival:
    /// the event-handler route would add Serf's 1 s coalescing delay, which is not detection time.
    init(serf id: String, port: Int, rpcPort: Int, seedPort: Int?) throws {
        self.id = id
        serfLog = true
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var args = ["serf", "agent", "-node=\(id)", "-bind=127.0.0.1:\(port)", "-rpc-addr=127.0.0.1:\(rpcPort)", "-log-level=info"]
        if let seedPort { args.append("-join=127.0.0.1:\(seedPort)") }
        process.arguments = args
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.consume(String(decoding: data, as: UTF8.self))
        }
        try process.run()
    }

    private func consume(_ text: String) {
        state.withLock { s in
            s.buffer += text
            while let newline = s.buffer.firstIndex(of: "\n") {
                let line = String(s.buffer[..<newline])
                s.buffer.removeSubrange(...newline)
                if serfLog {
                    if let event = Self.serfEvent(line), event.member != id { s.events.append(event) }
                    continue
                }
                if line.hasPrefix("prism agent ready"), let field = line.split(separator: " ").first(where: { $0.hasPrefix("gossip=") }) {
                    s.port = field.split(separator: ":").last.flatMap { Int($0) }
                    continue
                }
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                      let t = object["t"] as? Double else { continue }
                if let stats = object["stats"] as? [String: Any] {
                    s.stats.append(Counters(datagrams: (stats["datagrams_sent"] as? Double) ?? 0, bytes: (stats["bytes_sent"] as? Double) ?? 0))
                } else if let member = object["member"] as? String, let st = object["state"] as? String, member != id {
                    s.events.append(Event(t: t, member: member, state: st))
                }
            }
        }
    }

    static func serfEvent(_ line: String) -> Event? {
        guard let range = line.range(of: "serf: EventMember") else { return nil }
        let rest = line[range.upperBound...].split(separator: " ")
        guard rest.count >= 2 else { return nil }
        let state: String
        switch rest[0] {
        case "Join:": state = "alive"
        case "Failed:": state = "dead"
        case "Leave:": state = "left"
        case "Reap:": state = "removed"
        case "Update:": state = "updated"
        default: return nil
        }
        return Event(t: Date().timeIntervalSince1970, member: String(rest[1]), state: state)
    }

    func waitForPort() async throws -> Int {
        for _ in 0..<600 {
            if let port = state.withLock({ $0.port }) { return port }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw BenchFailure("an agent did not print its ready line in 6 s")
    }

    var isRunning: Bool { process.isRunning }
    var exitStatus: Int32 { process.isRunning ? 0 : process.terminationStatus }

    func signal(_ sig: Int32) {
        if process.isRunning { kill(process.processIdentifier, sig) }
    }

    func waitForExit(seconds: Double) async {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    }

    /// When this agent first held `count` other members alive at once.
    func firstTimeHoldingAlive(count: Int) -> Double? {
        state.withLock { s in
            var alive: Set<String> = []
            for e in s.events {
                if e.state == "alive" { alive.insert(e.member) } else if e.state != "updated" { alive.remove(e.member) }
                if alive.count >= count { return e.t }
            }
            return nil
        }
    }

    /// How many other members this agent holds alive after every event it printed so far.
    var aliveNow: Int {
        state.withLock { s in
            var alive: Set<String> = []
            for e in s.events {
                if e.state == "alive" { alive.insert(e.member) } else if e.state != "updated" { alive.remove(e.member) }
            }
            return alive.count
        }
    }

    func firstTime(member: String, states: Set<String>, after: Double) -> Double? {
        state.withLock { s in s.events.first { $0.member == member && states.contains($0.state) && $0.t >= after }?.t }
    }

    func latestState(of member: String) -> String? {
        state.withLock { s in s.events.last { $0.member == member && $0.state != "updated" }?.state }
    }

    var membersMarkedDead: Set<String> {
        state.withLock { s in Set(s.events.filter { $0.state == "dead" }.map(\.member)) }
    }

    /// Sent traffic between the last two SIGUSR1 snapshots.
    func statisticsDelta() -> Counters? {
        state.withLock { s in
            guard s.stats.count >= 2 else { return nil }
            let a = s.stats[s.stats.count - 2], b = s.stats[s.stats.count - 1]
            return Counters(datagrams: b.datagrams - a.datagrams, bytes: b.bytes - a.bytes)
        }
    }

    /// User + system CPU seconds so far (from /proc).
    var cpuSeconds: Double {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Pages only this process maps (Private_Clean + Private_Dirty of smaps_rollup).
    var privateMiB: Double {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/smaps_rollup", encoding: .utf8) else { return 0 }
        let kb = text.split(separator: "\n").filter { $0.hasPrefix("Private_Clean:") || $0.hasPrefix("Private_Dirty:") }
            .compactMap { $0.split(separator: " ").dropFirst().first.flatMap { Double($0) } }.reduce(0, +)
        return kb / 1024
    }

    var rssMiB: Double {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return 0 }
        return kb / 1024
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
