/// A point on a monotonic clock, in nanoseconds. The SWIM core never reads a clock: the shell
/// passes real monotonic time, the simulation passes virtual time.
public struct Moment: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static let zero = Moment(nanoseconds: 0)

    public static func < (a: Moment, b: Moment) -> Bool { a.nanoseconds < b.nanoseconds }

    public func adding(_ span: Span) -> Moment { Moment(nanoseconds: nanoseconds &+ span.nanoseconds) }

    /// Time from `earlier` to self (zero when `earlier` is later).
    public func since(_ earlier: Moment) -> Span { Span(nanoseconds: nanoseconds > earlier.nanoseconds ? nanoseconds - earlier.nanoseconds : 0) }

    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public var description: String { "\(nanoseconds / 1_000_000)ms" }
}

/// A length of time in nanoseconds (timeouts, intervals).
public struct Span: Comparable, Hashable, Sendable {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
    public static func milliseconds(_ ms: Int) -> Span { Span(nanoseconds: UInt64(max(0, ms)) * 1_000_000) }
    public static func < (a: Span, b: Span) -> Bool { a.nanoseconds < b.nanoseconds }

    public func scaled(by factor: Double) -> Span { Span(nanoseconds: UInt64(Double(nanoseconds) * factor)) }
    public var milliseconds: Double { Double(nanoseconds) / 1e6 }
}
