import Foundation

/// Lifeguard's dynamic suspicion timeout: it starts at the maximum and shrinks towards the
/// minimum as independent members confirm the suspicion, logarithmically in their number, so
/// a truly failed member is declared dead quickly while a lone (possibly wrong) suspicion waits.
struct Suspicion: Sendable {
    let started: Moment
    let incarnation: UInt64
    /// Members that suspect it (the first suspecter included).
    private(set) var suspecters: Set<String>
    private let expected: Int
    private var minimum: Span
    private var maximum: Span

    init(started: Moment, incarnation: UInt64, from: String, expected: Int, minimum: Span, maximum: Span) {
        self.started = started
        self.incarnation = incarnation
        suspecters = [from]
        self.expected = max(0, expected)
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Direct evidence of death (a refused connection): the timeout becomes `span` at most.
    mutating func shorten(to span: Span) {
        minimum = min(minimum, span)
        maximum = min(maximum, span)
    }

    /// Adds a confirmation; true when it is a new one (it is then gossiped further).
    mutating func confirm(_ from: String) -> Bool { suspecters.insert(from).inserted }

    var confirmations: Int { suspecters.count - 1 }

    /// max − (max − min)·log(c + 1)/log(k + 1) for c confirmations of k expected, at least min.
    var timeout: Span {
        guard expected > 0 else { return minimum }
        let fraction = Foundation.log(Double(min(confirmations, expected) + 1)) / Foundation.log(Double(expected + 1))
        let ns = Double(maximum.nanoseconds) - Double(maximum.nanoseconds - min(maximum.nanoseconds, minimum.nanoseconds)) * fraction
        return Span(nanoseconds: max(minimum.nanoseconds, UInt64(ns)))
    }

    var deadline: Moment { started.adding(timeout) }
}
