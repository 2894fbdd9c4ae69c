import PrismGossip

/// The gossip benchmark's scenario in the simulation: N members join through one seed, idle,
/// one is killed, another is paused and resumed. Deterministic for a seed.
public struct GossipSimTrial {
    public var nodes: Int
    public var settings = SWIMSettings()
    public var network = NetworkConditions()
    public var idleSeconds = 10.0
    public var pauseSeconds = 3.0
    /// Longest wait for each phase before it is reported as not reached (the limit is the figure).
    public var phaseLimitSeconds = 120.0
    /// Curves for `--plot`: (seconds, fraction of members with the full view) and (seconds since
    /// the kill, fraction of survivors that marked it dead).
    public private(set) var joinCurve: [(Double, Double)] = []
    public private(set) var detectionCurve: [(Double, Double)] = []

    public init(nodes: Int) { self.nodes = nodes }

    private final class Tracker {
        var victim = -1
        var paused = -1
        var victimDownAt: [Int: Double] = [:]
        var pausedSuspected = false
    }

    public mutating func run(seed: UInt64, progress: (String) -> Void = { _ in }) -> GossipTrialResult {
        let n = nodes
        var sim = SWIMSimulation(seed: seed, settings: settings, network: network)
        sim.keepObservations = false
        sim.measureBytes = n <= 2000
        let tracker = Tracker()
        sim.onObservation = { [unowned tracker] o in
            let member = SWIMSimulation.index(of: o.event.member)
            if member == tracker.victim, o.event.change == .dead || o.event.change == .removed || o.event.change == .left,
               tracker.victimDownAt[o.observer] == nil {
                tracker.victimDownAt[o.observer] = Double(o.event.at.nanoseconds) / 1e9
            }
            if member == tracker.paused, o.event.change == .suspect || o.event.change == .dead { tracker.pausedSuspected = true }
        }
        let step = n > 1000 ? 0.05 : 0.01

        // Join: everyone at once through node 0.
        sim.start()
        for _ in 1..<n { sim.start(seeds: [0]) }
        var convergedAt = [Double?](repeating: nil, count: n)
        var pending = n
        var t = 0.0
        joinCurve = [(0, 0)]
        while pending > 0 && t < phaseLimitSeconds {
            t += step
            sim.run(until: t)
            for i in 0..<n where convergedAt[i] == nil && sim.aliveCount(i) == n - 1 {
                convergedAt[i] = t
                pending -= 1
            }
            joinCurve.append((t, Double(n - pending) / Double(n)))
        }
        for i in 0..<n where convergedAt[i] == nil {
            guard let core = sim.nodes[i] else { continue }
            let missing = (0..<n).filter { $0 != i && core.members[SWIMSimulation.name($0)]?.status != .alive }
            progress("  not converged: node \(i) lacks \(missing.prefix(5).map { "\($0):\(core.members[SWIMSimulation.name($0)]?.status.rawValue ?? "absent")" })")
            break
        }
        let joinTimes = convergedAt.map { $0 ?? phaseLimitSeconds }.sorted()
        progress(String(format: "joined: median %.2f s, all %.2f s", joinTimes[n / 2], joinTimes[n - 1]))
        progress(sim.diagnostics)

        // Idle traffic.
        let (d0, b0, idleStart) = (sim.datagramsSent, sim.bytesSent, sim.nowSeconds)
        sim.run(until: idleStart + idleSeconds)
        let datagrams = Double(sim.datagramsSent - d0) / Double(n) / idleSeconds
        let bytes = Double(sim.bytesSent - b0) / Double(n) / idleSeconds

        // Kill one member.
        tracker.victim = n / 2
        let killedAt = sim.nowSeconds
        sim.crash(tracker.victim)
        t = killedAt
        detectionCurve = [(0, 0)]
        while tracker.victimDownAt.count < n - 1 && t < killedAt + phaseLimitSeconds {
            t += step
            sim.run(until: t)
            detectionCurve.append((t - killedAt, Double(tracker.victimDownAt.count) / Double(n - 1)))
        }
        let downTimes = tracker.victimDownAt.values.sorted()
        let first = (downTimes.first ?? killedAt + phaseLimitSeconds) - killedAt
        let all = downTimes.count == n - 1 ? (downTimes.last ?? 0) - killedAt : phaseLimitSeconds
        progress(sim.diagnostics)
        progress(String(format: "detected: first %.2f s, all %.2f s", first, all))

        // Pause another, resume, and wait until everyone holds it alive.
        tracker.paused = n > 2 ? n / 3 : 0
        if tracker.paused == tracker.victim { tracker.paused = 1 }
        sim.pause(tracker.paused)
        sim.run(until: sim.nowSeconds + pauseSeconds)
        sim.resume(tracker.paused)
        let resumedAt = sim.nowSeconds
        var refute = 0.0
        if tracker.pausedSuspected {
            let seen: (SWIMSimulation) -> Bool = { s in
                (0..<n).allSatisfy { i in i == tracker.victim || i == tracker.paused || s.status(of: tracker.paused, seenBy: i) == .alive }
            }
            t = resumedAt
            while !seen(sim) && t < resumedAt + phaseLimitSeconds {
                t += step
                sim.run(until: t)
            }
            refute = t - resumedAt
        }
        progress(String(format: "paused %.1f s: refuted in %.2f s; false positives %d", pauseSeconds, refute, sim.falsePositives.count))

        return GossipTrialResult(
            joinConvergence: .init(median: joinTimes[n / 2], max: joinTimes[n - 1]),
            detection: .init(first: first, all: all), falsePositives: sim.falsePositives.count, refute: refute,
            datagramsPerNodePerSecond: datagrams, bytesPerNodePerSecond: sim.measureBytes ? bytes : 0)
    }
}
