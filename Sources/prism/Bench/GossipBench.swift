import ArgumentParser
import Foundation
import PrismGossip
import PrismSimulation

/// `prism bench gossip`: join convergence, failure detection, false positives, refutation and
/// idle traffic, in the simulation (up to 10,000 members) or with real agent processes.
struct GossipBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gossip",
        abstract: "Benchmark membership: join convergence, detection, false positives, refutation, idle load.")

    enum Mode: String, ExpressibleByArgument, CaseIterable { case sim, process }

    @Option(help: "sim: SWIM cores in the deterministic simulation; process: real `prism agent` processes on 127.0.0.1.")
    var mode: Mode = .sim

    @Option(help: "Members (sim: up to 10000; process: up to 100).")
    var nodes = 20

    @Option(help: "Datagram loss in percent (sim only).")
    var loss = 0.0

    @Option(help: "One-way latency in milliseconds (sim only; jitter is half of it).")
    var latency = 0.5

    @Option(help: "Trials (each with its own seed in sim mode).")
    var trials = 3

    @Option(help: "Seconds the paused member stays stopped.")
    var pauseSeconds = 3.0

    @Option(help: "Seconds of idle traffic measured.")
    var idleSeconds = 10.0

    @Option(help: "First seed (sim mode).")
    var seed: UInt64 = 1

    @Flag(help: "Print one JSON object with the aggregated figures.")
    var json = false

    @Option(help: "Draw the join and detection curves of every trial into this SVG file.")
    var plot: String?

    @Flag(name: .customLong("vs-serf"), help: "Run the same scenario with Serf agents (needs the `serf` binary) and print the ratios.")
    var vsSerf = false

    func validate() throws {
        guard nodes >= 3 else { throw ValidationError("--nodes must be at least 3 (a seed, a victim and a paused member)") }
        if mode == .sim && nodes > 10_000 { throw ValidationError("--nodes: the simulation runs up to 10000 members") }
        if mode == .process && nodes > 100 { throw ValidationError("--nodes: process mode starts up to 100 agents on this host") }
        guard (0..<100).contains(loss) else { throw ValidationError("--loss is a percentage in 0..<100") }
        guard trials >= 1 else { throw ValidationError("--trials must be at least 1") }
        if vsSerf && mode != .process { throw ValidationError("--vs-serf compares real processes: use --mode process") }
    }

    func run() async throws {
        let command = "prism bench gossip --mode \(mode.rawValue) --nodes \(nodes) --trials \(trials)"
            + (mode == .sim ? " --loss \(loss) --latency \(latency) --seed \(seed)" : "") + " --pause-seconds \(pauseSeconds)"
        BenchSupport.progress(command)
        if vsSerf && !FileManager.default.isExecutableFile(atPath: "/usr/bin/serf") {
            throw ValidationError("--vs-serf needs the serf binary (Debian: apt-get install serf)")
        }
        var serfResults: [GossipTrialResult] = []
        var results: [GossipTrialResult] = []
        var curves: [(join: [(Double, Double)], detection: [(Double, Double)])] = []
        for trial in 0..<trials {
            BenchSupport.progress("trial \(trial + 1)/\(trials)")
            switch mode {
            case .sim:
                var scenario = GossipSimTrial(nodes: nodes)
                scenario.network = NetworkConditions(latencyMillis: latency, jitterMillis: latency / 2, loss: loss / 100)
                scenario.pauseSeconds = pauseSeconds
                scenario.idleSeconds = idleSeconds
                let started = ContinuousClock.now
                let result = scenario.run(seed: seed + UInt64(trial)) { BenchSupport.progress("  " + $0) }
                BenchSupport.progress(String(format: "  simulated in %.1f s of real time", BenchSupport.seconds(ContinuousClock.now - started)))
                results.append(result)
                curves.append((scenario.joinCurve, scenario.detectionCurve))
            case .process:
                var scenario = GossipProcessTrial(nodes: nodes)
                scenario.pauseSeconds = pauseSeconds
                scenario.idleSeconds = idleSeconds
                results.append(try await scenario.run { BenchSupport.progress("  " + $0) })
                curves.append((scenario.joinCurve, scenario.detectionCurve))
                if vsSerf {
                    BenchSupport.progress("  the same with Serf agents")
                    var serf = GossipProcessTrial(nodes: nodes)
                    serf.kind = .serf
                    serf.pauseSeconds = pauseSeconds
                    serf.idleSeconds = idleSeconds
                    serfResults.append(try await serf.run { BenchSupport.progress("    serf: " + $0) })
                    if !json { print("serf trial \(trial + 1): " + Self.summary(serfResults[trial])) }
                }
            }
            if !json { print("trial \(trial + 1): " + Self.summary(results[trial])) }
        }
        guard let total = GossipTrialResult.aggregate(results) else { return }
        if let plot {
            try GossipPlot.svg(title: command, curves: curves).write(toFile: plot, atomically: true, encoding: .utf8)
            BenchSupport.progress("plot written to \(plot)")
        }
        let serfTotal = GossipTrialResult.aggregate(serfResults)
        if json {
            try BenchSupport.printJSON(total)
        } else {
            print("all \(trials) trials: " + Self.summary(total))
            if let serfTotal {
                print("serf, all \(trials) trials: " + Self.summary(serfTotal))
                print(Self.ratios(total, serf: serfTotal))
            }
            print("reproduce: \(command)" + (vsSerf ? " --vs-serf" : ""))
        }
    }

    /// Serf's figure divided by Prism's: above 1 means Prism is faster or lighter.
    static func ratios(_ prism: GossipTrialResult, serf: GossipTrialResult) -> String {
        func ratio(_ s: Double, _ p: Double) -> String { p > 0 ? String(format: "%.1fx", s / p) : "n/a" }
        var parts = [
            "join median " + ratio(serf.joinConvergence.median, prism.joinConvergence.median),
            "join max " + ratio(serf.joinConvergence.max, prism.joinConvergence.max),
            "detection first " + ratio(serf.detection.first, prism.detection.first),
            "detection all " + ratio(serf.detection.all, prism.detection.all),
        ]
        if let sc = serf.cpuPercentPerNode, let pc = prism.cpuPercentPerNode { parts.append("CPU " + ratio(sc, pc)) }
        if let sr = serf.rssMiBPerNode, let pr = prism.rssMiBPerNode { parts.append("RSS " + ratio(sr, pr)) }
        if let sp = serf.privateMiBPerNode, let pp = prism.privateMiBPerNode { parts.append("private memory " + ratio(sp, pp)) }
        parts.append("datagrams " + ratio(serf.datagramsPerNodePerSecond, prism.datagramsPerNodePerSecond))
        return "Serf / Prism (above 1: Prism better): " + parts.joined(separator: ", ")
    }

    static func summary(_ r: GossipTrialResult) -> String {
        var s = String(format: "join median %.2f s, max %.2f s; detection first %.2f s, all %.2f s; false positives %d; refute %.2f s; %.2f datagrams/s and %.0f B/s per node",
                       r.joinConvergence.median, r.joinConvergence.max, r.detection.first, r.detection.all, r.falsePositives, r.refute,
                       r.datagramsPerNodePerSecond, r.bytesPerNodePerSecond)
        if let cpu = r.cpuPercentPerNode, let rss = r.rssMiBPerNode {
            s += String(format: "; %.3f%% CPU, %.1f MiB RSS (%.1f MiB private) per node", cpu, rss, r.privateMiBPerNode ?? 0)
        }
        return s
    }
}

/// A small SVG with two panels: the fraction of members holding the full view over time, and
/// the fraction of survivors that marked the killed member dead, one line per trial.
enum GossipPlot {
    static func svg(title: String, curves: [(join: [(Double, Double)], detection: [(Double, Double)])]) -> String {
        let (w, h, pad) = (420.0, 260.0, 40.0)
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
        func panel(_ x0: Double, _ label: String, _ series: [[(Double, Double)]]) -> String {
            let maxX = max(0.1, series.flatMap { $0.map(\.0) }.max() ?? 1)
            var out = "<g transform=\"translate(\(x0),30)\">"
            out += "<rect x=\"\(pad)\" y=\"0\" width=\"\(w - pad)\" height=\"\(h - pad)\" fill=\"none\" stroke=\"#888\"/>"
            out += "<text x=\"\(pad)\" y=\"-8\" font-size=\"12\">\(label)</text>"
            out += "<text x=\"\(pad)\" y=\"\(h - pad + 16)\" font-size=\"10\">0</text>"
            out += "<text x=\"\(w - 30)\" y=\"\(h - pad + 16)\" font-size=\"10\">\(String(format: "%.1f s", maxX))</text>"
            out += "<text x=\"\(pad - 22)\" y=\"10\" font-size=\"10\">1.0</text><text x=\"\(pad - 22)\" y=\"\(h - pad)\" font-size=\"10\">0</text>"
            for (i, points) in series.enumerated() {
                let path = points.map { p in
                    String(format: "%.1f,%.1f", pad + (w - pad) * p.0 / maxX, (h - pad) * (1 - p.1))
                }.joined(separator: " ")
                out += "<polyline fill=\"none\" stroke=\"\(colors[i % colors.count])\" stroke-width=\"1.5\" points=\"\(path)\"/>"
            }
            return out + "</g>"
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(2 * w + 60)\" height=\"\(h + 40)\" font-family=\"sans-serif\">"
        svg += "<text x=\"10\" y=\"14\" font-size=\"12\">\(title.replacingOccurrences(of: "<", with: "&lt;"))</text>"
        svg += panel(0, "fraction of members with the full view (s since start)", curves.map(\.join))
        svg += panel(w + 30, "fraction of survivors that marked the killed member dead (s since kill)", curves.map(\.detection))
        return svg + "</svg>\n"
    }
}
