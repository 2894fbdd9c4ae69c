import PrismConfig

/// What the planner may do: `[cluster.rebalancing]` and `[cluster.health] on_node_failure`.
public struct RebalanceLimits: Sendable, Equatable {
    /// Copies a node may send or receive at once.
    public var maxConcurrentMoves: Int
    /// A node further than this (percent of the mean replica count) triggers imbalance moves.
    public var imbalanceThresholdPercent: Double
    /// Imbalance moves even below the threshold.
    public var continuousOptimization: Bool
    /// While it matches, only under-replication repairs start.
    public var pauseSchedule: CronSchedule?
    /// The schedule's clock, minutes east of UTC (0: UTC).
    public var pauseUTCOffsetMinutes: Int
    /// False (`on_node_failure = "none"`): shards that lost replicas to failed nodes are
    /// reported, not repaired.
    public var repairFailures: Bool

    public init(maxConcurrentMoves: Int = 2, imbalanceThresholdPercent: Double = 15, continuousOptimization: Bool = false,
                pauseSchedule: CronSchedule? = nil, pauseUTCOffsetMinutes: Int = 0, repairFailures: Bool = true) {
        self.maxConcurrentMoves = max(1, maxConcurrentMoves)
        self.imbalanceThresholdPercent = imbalanceThresholdPercent
        self.continuousOptimization = continuousOptimization
        self.pauseSchedule = pauseSchedule
        self.pauseUTCOffsetMinutes = pauseUTCOffsetMinutes
        self.repairFailures = repairFailures
    }

    public init(rebalancing: RebalancingConfig, health: HealthConfig) {
        self.init(maxConcurrentMoves: rebalancing.maxConcurrentMoves, imbalanceThresholdPercent: rebalancing.imbalanceThresholdPercent,
                  continuousOptimization: rebalancing.continuousOptimization, pauseSchedule: rebalancing.pauseSchedule,
                  pauseUTCOffsetMinutes: rebalancing.pauseUTCOffsetMinutes, repairFailures: health.onNodeFailure == .rebalance)
    }

    /// Whether rebalancing is paused at `unixSeconds`: each time the schedule fires (on the
    /// clock `pauseUTCOffsetMinutes` east of UTC), a
    /// pause of one hour starts. So `0 9-17 * * MON-FRI`, which fires at 9:00, 10:00 … 17:00,
    /// pauses from 9:00 to 18:00 on weekdays, as the seed guide's "business hours" means, and
    /// an expression firing every minute pauses for as long as it fires plus an hour.
    public func paused(atUnixSeconds unixSeconds: Int64) -> Bool {
        guard let schedule = pauseSchedule else { return false }
        let local = unixSeconds + Int64(pauseUTCOffsetMinutes) * 60
        let minuteStart = local - ((local % 60) + 60) % 60
        for back in 0..<60 {
            let t = UTCTime(unixSeconds: minuteStart - Int64(back) * 60)
            if schedule.matches(minute: t.minute, hour: t.hour, dayOfMonth: t.day, month: t.month, weekday: t.weekday) { return true }
        }
        return false
    }
}

/// Calendar fields of a Unix time in UTC (proleptic Gregorian), without Foundation.
public struct UTCTime: Sendable, Equatable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    /// 0 = Sunday.
    public var weekday: Int

    public init(unixSeconds: Int64) {
        let days = Int(unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400)
        let secondOfDay = Int(unixSeconds - Int64(days) * 86_400)
        hour = secondOfDay / 3600
        minute = secondOfDay / 60 % 60
        weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday
        // Days to civil date (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }
}
