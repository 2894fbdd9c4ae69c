/// Updates waiting to be gossiped, each sent at most λ·⌈log10(N + 1)⌉ times, least-sent first
/// (fresh news travels before old). A newer update about a member replaces the older one.
struct Dissemination: Sendable {
    private struct Entry: Sendable {
        var update: MembershipUpdate
        var transmits: Int
        var order: UInt64
    }

    private var entries: [String: Entry] = [:]
    private var counter: UInt64 = 0

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    mutating func enqueue(_ update: MembershipUpdate) {
        counter += 1
        entries[update.memberID] = Entry(update: update, transmits: 0, order: counter)
    }

    /// Up to `max` updates for one datagram, counted as transmitted; those at their limit leave.
    /// `first` (the buddy system: news about the datagram's recipient) goes ahead of the rest.
    mutating func take(max: Int, members: Int, multiplier: Int, first: String? = nil) -> [MembershipUpdate] {
        guard max > 0, !entries.isEmpty else { return [] }
        let limit = multiplier * Self.log10Ceiling(members + 1)
        var order = entries.values.sorted { ($0.transmits, ~$0.order) < ($1.transmits, ~$1.order) }.map(\.update.memberID)
        if let first, let i = order.firstIndex(of: first) {
            order.remove(at: i)
            order.insert(first, at: 0)
        }
        let chosen = order.prefix(max)
        var out: [MembershipUpdate] = []
        for id in chosen {
            guard var entry = entries[id] else { continue }
            out.append(entry.update)
            entry.transmits += 1
            entries[id] = entry.transmits >= limit ? nil : entry
        }
        return out
    }

    static func log10Ceiling(_ n: Int) -> Int {
        var value = 1, digits = 0
        while value < n {
            value *= 10
            digits += 1
        }
        return max(1, digits)
    }
}
