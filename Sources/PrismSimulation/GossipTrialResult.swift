/// What one gossip benchmark trial measured (simulated or real processes), in the units and
/// names `prism bench gossip --json` prints.
public struct GossipTrialResult: Codable, Sendable, Equatable {
    public struct Spread: Codable, Sendable, Equatable {
        public var median: Double
        public var max: Double
        public init(median: Double, max: Double) {
            self.median = median
            self.max = max
        }
    }

    public struct Detection: Codable, Sendable, Equatable {
        public var first: Double
        public var all: Double
        public init(first: Double, all: Double) {
            self.first = first
            self.all = all
        }
    }

    /// Per member: seconds from the start of the join until it saw all N members alive.
    public var joinConvergence: Spread
    /// Seconds from the kill until the first / the last survivor marked the killed member dead.
    public var detection: Detection
    /// Members that were running (paused ones included) and were marked dead by someone.
    public var falsePositives: Int
    /// Seconds from the paused member's resume until everyone held it alive again (0 if nobody
    /// suspected it).
    public var refute: Double
    /// Idle traffic per member, sent.
    public var datagramsPerNodePerSecond: Double
    public var bytesPerNodePerSecond: Double
    /// Real processes only.
    public var cpuPercentPerNode: Double?
    public var rssMiBPerNode: Double?
    /// Memory no other process shares (private pages), real processes only; printed, not in
    /// the JSON (whose keys are fixed): RSS also counts the binary's and libraries' shared pages.
    public var privateMiBPerNode: Double? = nil

    public init(joinConvergence: Spread, detection: Detection, falsePositives: Int, refute: Double,
                datagramsPerNodePerSecond: Double, bytesPerNodePerSecond: Double,
                cpuPercentPerNode: Double? = nil, rssMiBPerNode: Double? = nil, privateMiBPerNode: Double? = nil) {
        self.joinConvergence = joinConvergence
        self.detection = detection
        self.falsePositives = falsePositives
        self.refute = refute
        self.datagramsPerNodePerSecond = datagramsPerNodePerSecond
        self.bytesPerNodePerSecond = bytesPerNodePerSecond
        self.cpuPercentPerNode = cpuPercentPerNode
        self.rssMiBPerNode = rssMiBPerNode
        self.privateMiBPerNode = privateMiBPerNode
    }

    enum CodingKeys: String, CodingKey {
        case joinConvergence = "join_convergence_s"
        case detection = "detection_s"
        case falsePositives = "false_positives"
        case refute = "refute_s"
        case datagramsPerNodePerSecond = "datagrams_per_node_per_s"
        case bytesPerNodePerSecond = "bytes_per_node_per_s"
        case cpuPercentPerNode = "cpu_percent_per_node"
        case rssMiBPerNode = "rss_mib_per_node"
    }

    /// Trials combined: medians of typical values, the worst of worst cases (join max,
    /// detection by all), false positives summed.
    public static func aggregate(_ trials: [GossipTrialResult]) -> GossipTrialResult? {
        guard !trials.isEmpty else { return nil }
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        func optionalMedian(_ values: [Double?]) -> Double? {
            let present = values.compactMap { $0 }
            return present.isEmpty ? nil : median(present)
        }
        return GossipTrialResult(
            joinConvergence: Spread(median: median(trials.map(\.joinConvergence.median)), max: trials.map(\.joinConvergence.max).max() ?? 0),
            detection: Detection(first: median(trials.map(\.detection.first)), all: trials.map(\.detection.all).max() ?? 0),
            falsePositives: trials.map(\.falsePositives).reduce(0, +),
            refute: median(trials.map(\.refute)),
            datagramsPerNodePerSecond: median(trials.map(\.datagramsPerNodePerSecond)),
            bytesPerNodePerSecond: median(trials.map(\.bytesPerNodePerSecond)),
            cpuPercentPerNode: optionalMedian(trials.map(\.cpuPercentPerNode)),
            rssMiBPerNode: optionalMedian(trials.map(\.rssMiBPerNode)),
            privateMiBPerNode: optionalMedian(trials.map(\.privateMiBPerNode)))
    }
}
