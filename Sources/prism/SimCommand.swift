import ArgumentParser
import Foundation
import PrismCheck
import PrismSimulation

/// `prism sim ...`: seeded simulations that check a protocol's safety.
struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run seeded simulations and check their safety properties.",
        subcommands: [RaftSim.self])
}

/// `prism sim raft`: seeded histories of a replicated key-value store on Raft under loss,
/// duplication, reordering, partitions, crashes and restarts, each checked for election safety,
/// identical applied logs, and linearizability of the clients' history.
struct RaftSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft",
        abstract: "Run seeded Raft key-value histories and check safety and linearizability.")

    @Option(help: "How many seeds to run.")
    var seeds = 100

    @Option(help: "First seed.")
    var start: UInt64 = 0

    @Option(help: "Bootstrap voters per run (3 or 5; 0: alternate as the test suite does).")
    var nodes = 0

    @Option(help: "Nodes outside the group at the start, for membership changes to add (0 to 8).")
    var spares = 2

    @Option(help: "Each member snapshots and compacts its log every so many applied entries (0: never).")
    var snapshotEvery: UInt64 = 40

    @Flag(help: "No membership changes (a fixed group).")
    var fixedMembership = false

    @Option(help: "Virtual milliseconds per run.")
    var durationMs: UInt64 = 1_000

    @Option(help: "Write each run's client history as JSON lines into this directory (seed-N.jsonl).")
    var historyDir: String?

    @Flag(help: "Print one JSON object: {\"runs\", \"ops\", \"violations\", \"failing_seeds\", \"membership_changes\", \"sessions_opened\", \"sessions_lost\", \"retries\"}.")
    var json = false

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard [0, 3, 5].contains(nodes) else { throw ValidationError("--nodes must be 3 or 5 (or 0 to alternate)") }
        guard (0...8).contains(spares) else { throw ValidationError("--spares must be between 0 and 8") }
        guard durationMs >= 100 else { throw ValidationError("--duration-ms must be at least 100") }
    }

    struct Summary: Encodable {
        var runs: Int
        var ops: Int
        var violations: Int
        var failing_seeds: [UInt64]
        /// Committed membership changes, over all runs.
        var membership_changes: Int
        /// Client sessions opened, requests answered "no such session" (expired or evicted), and
        /// writes retried through another node with the same number, over all runs.
        var sessions_opened: Int
        var sessions_lost: Int
        var retries: Int
    }

    struct HistoryLine: Encodable {
        var client: Int
        var key: String
        var op: String
        var value: String?
        var expected: String?
        var call: UInt64
        var `return`: UInt64?
        var result: String
        var output: String?

        enum CodingKeys: String, CodingKey { case client, key, op, value, expected, call, `return`, result, output }

        /// Every key on every line, absent values as null (an absent output is a read of an
        /// absent key, which an independent checker must see).
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(client, forKey: .client)
            try c.encode(key, forKey: .key)
            try c.encode(op, forKey: .op)
            if let value { try c.encode(value, forKey: .value) } else { try c.encodeNil(forKey: .value) }
            if let expected { try c.encode(expected, forKey: .expected) } else { try c.encodeNil(forKey: .expected) }
            try c.encode(call, forKey: .call)
            if let `return` { try c.encode(`return`, forKey: .return) } else { try c.encodeNil(forKey: .return) }
            try c.encode(result, forKey: .result)
            if let output { try c.encode(output, forKey: .output) } else { try c.encodeNil(forKey: .output) }
        }
    }

    func run() throws {
        if let historyDir { try FileManager.default.createDirectory(atPath: historyDir, withIntermediateDirectories: true) }
        let command = "prism sim raft --seeds \(seeds) --start \(start) --nodes \(nodes) --spares \(spares) --snapshot-every \(snapshotEvery) --duration-ms \(durationMs)"
            + (fixedMembership ? " --fixed-membership" : "")
        FileHandle.standardError.write(Data("[sim] \(command)\n".utf8))
        var ops = 0, violations = 0, changes = 0, opened = 0, lost = 0, retries = 0
        var failing: [UInt64] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for seed in start..<(start + UInt64(seeds)) {
            var options = RaftSimulation.Options()
            options.nodes = nodes == 0 ? (seed % 3 == 0 ? 5 : 3) : nodes
            options.durationMillis = durationMs
            options.spares = spares
            options.snapshotEvery = snapshotEvery
            options.membershipChanges = !fixedMembership
            let outcome = RaftSimulation.run(seed: seed, options: options)
            ops += outcome.history.count
            changes += outcome.membershipChanges
            opened += outcome.sessionsOpened
            lost += outcome.sessionsLost
            retries += outcome.retries
            if !outcome.violations.isEmpty {
                violations += outcome.violations.count
                failing.append(seed)
                FileHandle.standardError.write(Data("[sim] seed \(seed): \(outcome.violations.joined(separator: "; "))\n".utf8))
            }
            if let historyDir {
                var text = ""
                for op in outcome.history {
                    let line = HistoryLine(client: op.client, key: op.key, op: op.kind.rawValue, value: op.value, expected: op.expected, call: op.call,
                                           return: op.result == .unknown ? nil : op.returned, result: op.result.rawValue, output: op.output)
                    text += String(decoding: try encoder.encode(line), as: UTF8.self) + "\n"
                }
                try text.write(toFile: "\(historyDir)/seed-\(seed).jsonl", atomically: true, encoding: .utf8)
            }
            let done = Int(seed - start) + 1
            if done % 50 == 0 || done == seeds {
                FileHandle.standardError.write(Data("[sim] \(done)/\(seeds) runs, \(ops) operations, \(failing.count) failing\n".utf8))
            }
        }
        if json {
            let data = try encoder.encode(Summary(runs: seeds, ops: ops, violations: violations, failing_seeds: failing, membership_changes: changes,
                                               sessions_opened: opened, sessions_lost: lost, retries: retries))
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(seeds) runs, \(ops) operations, \(changes) membership changes, \(opened) sessions opened, \(lost) lost, \(retries) retried writes, \(violations) violations" + (failing.isEmpty ? "" : "; failing seeds: \(failing.map(String.init).joined(separator: " "))"))
            print("reproduce: \(command)")
        }
        if !failing.isEmpty { throw ExitCode(1) }
    }
}
