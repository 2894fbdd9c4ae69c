import ArgumentParser
import Foundation
import Logging
import PrismStorage
import Synchronization

/// `prism bench storage`: durable LMDB commit rates on this machine, raw and through the
/// group-commit writer, in one run so the ratio is what matters.
struct StorageBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Durable commits/s of one writer, entries/s in batches, and the group-commit writer under concurrent writers."
    )

    @Option(help: "Directory for the benchmark's LMDB files (a fresh subfolder is made and removed).")
    var dir: String = FileManager.default.temporaryDirectory.path

    @Option(help: "Seconds per measurement.")
    var seconds: Double = 3

    @Option(help: "Value size in bytes.")
    var valueBytes: Int = 256

    @Option(help: "Entries per transaction for the batched measurement.")
    var batch: Int = 256

    @Option(help: "Concurrent writers for the group-commit measurement.")
    var writers: Int = 64

    @Option(help: "Repetitions; the median is reported.")
    var trials: Int = 3

    @Option(help: "LMDB sync mode: full, nometasync or nosync.")
    var sync: String = "full"

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    struct Figures: Codable {
        var single_commits_per_s: Double
        var batched_entries_per_s: Double
        var batch_size: Int
        var group_commit_entries_per_s: Double
        var group_commit_writers: Int
        var group_commit_mean_batch: Double
        var group_commit_vs_batched: Double
        var batched_at_group_mean_entries_per_s: Double
        var group_commit_vs_same_batch: Double
        var value_bytes: Int
        var trials: Int
        var seconds: Double
    }

    func run() async throws {
        var quiet = Logger(label: "bench")
        quiet.logLevel = .error
        var singles: [Double] = [], batches: [Double] = [], groups: [Double] = [], means: [Double] = [], sameBatches: [Double] = []
        let base = BenchSupport.freshFolder(in: dir, kind: "storage")
        for trial in 1...max(1, trials) {
            let folder = "\(base)-\(trial)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            guard let mode = SyncMode(rawValue: sync) else { throw ValidationError("--sync: '\(sync)' is not one of full, nometasync, nosync") }
            let env = try LMDBEnvironment(directory: folder, options: StorageOptions(syncMode: mode), logger: quiet)
            defer { env.close() }
            let table = try env.table("bench")
            let value = [UInt8](repeating: 0xAB, count: valueBytes)

            BenchSupport.progress("trial \(trial)/\(trials): single-writer synced commits for \(seconds)s")
            singles.append(try measure { i in
                try env.write { txn in try txn.put(table, key(0, i), value) }
                return 1
            })

            BenchSupport.progress("trial \(trial)/\(trials): \(batch) entries per synced commit for \(seconds)s")
            batches.append(try batched(env: env, table: table, value: value, size: batch, phase: 1))

            BenchSupport.progress("trial \(trial)/\(trials): group-commit writer, \(writers) concurrent writers for \(seconds)s")
            let writer = GroupCommitWriter(environment: env, logger: quiet)
            let (rate, meanBatch) = try await groupCommit(writer: writer, table: table, value: value)
            writer.shutdown()
            groups.append(rate)
            means.append(meanBatch)

            let same = max(1, Int(meanBatch.rounded()))
            BenchSupport.progress("trial \(trial)/\(trials): \(same) entries per synced commit (the group commit's mean batch) for \(seconds)s")
            sameBatches.append(try batched(env: env, table: table, value: value, size: same, phase: 3))
        }
        let figures = Figures(
            single_commits_per_s: median(singles), batched_entries_per_s: median(batches), batch_size: batch,
            group_commit_entries_per_s: median(groups), group_commit_writers: writers,
            group_commit_mean_batch: median(means), group_commit_vs_batched: median(groups) / max(1, median(batches)),
            batched_at_group_mean_entries_per_s: median(sameBatches),
            group_commit_vs_same_batch: median(groups) / max(1, median(sameBatches)),
            value_bytes: valueBytes, trials: trials, seconds: seconds)
        let command = "prism bench storage --seconds \(seconds) --value-bytes \(valueBytes) --batch \(batch) --writers \(writers) --trials \(trials) --sync \(sync)"
        if json {
            try BenchSupport.printJSON(figures)
        } else {
            let rows: [(String, String)] = [
                ("single writer, 1 entry per commit", "\(format(figures.single_commits_per_s)) commits/s"),
                ("one writer, \(batch) entries per commit", "\(format(figures.batched_entries_per_s)) entries/s"),
                ("group-commit writer, \(writers) concurrent writers",
                 "\(format(figures.group_commit_entries_per_s)) entries/s (mean batch \(String(format: "%.1f", figures.group_commit_mean_batch)))"),
                ("one writer, the group commit's mean batch per commit", "\(format(figures.batched_at_group_mean_entries_per_s)) entries/s"),
                ("group commit / hand-batched (\(batch))", String(format: "%.2f×", figures.group_commit_vs_batched)),
                ("group commit / hand-batched (same batch size)", String(format: "%.2f×", figures.group_commit_vs_same_batch)),
            ]
            print("storage benchmark (LMDB, sync \(sync), \(valueBytes)-byte values, keys spread over \(writers) ranges, median of \(trials) × \(seconds)s, \(ProcessInfo.processInfo.activeProcessorCount) cores)")
            for (label, value) in rows { print("  " + label.padding(toLength: 56, withPad: " ", startingAt: 0) + value) }
            print("reproduce: \(command)")
        }
    }

    /// Entries per second of one thread committing `size` entries per synced transaction, with keys
    /// spread over `writers` ranges like the group-commit run's, so both touch as many pages.
    private func batched(env: LMDBEnvironment, table: Table, value: [UInt8], size: Int, phase: Int) throws -> Double {
        try measure { i in
            try env.write { txn in
                for j in 0..<size {
                    let n = i * size + j
                    try txn.put(table, key(phase, (n % writers) << 32 | n / writers), value)
                }
            }
            return size
        }
    }

    private func key(_ phase: Int, _ i: Int) -> [UInt8] {
        var k: [UInt8] = [UInt8(phase)]
        withUnsafeBytes(of: UInt64(i).bigEndian) { k.append(contentsOf: $0) }
        return k
    }

    /// Runs `step` (returning entries written) until `seconds` pass; entries per second.
    private func measure(_ step: (Int) throws -> Int) throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + .milliseconds(Int(seconds * 1000))
        var entries = 0
        var i = 0
        while clock.now < end {
            entries += try step(i)
            i += 1
        }
        return Double(entries) / BenchSupport.seconds(clock.now - start)
    }

    private func groupCommit(writer: GroupCommitWriter, table: Table, value: [UInt8]) async throws -> (Double, Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + .milliseconds(Int(seconds * 1000))
        let total = try await withThrowingTaskGroup(of: Int.self, returning: Int.self) { group in
            for w in 0..<writers {
                group.addTask {
                    var n = 0
                    while clock.now < end {
                        let k = key(2, w << 32 | n)
                        try await writer.submit { txn in try txn.put(table, k, value) }
                        n += 1
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = BenchSupport.seconds(clock.now - start)
        let stats = writer.stats
        return (Double(total) / elapsed, Double(stats.committedRequests) / Double(max(1, stats.commits)))
    }


    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    private func format(_ v: Double) -> String {
        v >= 10_000 ? String(format: "%.0fk", v / 1000) : String(format: "%.0f", v)
    }

}
