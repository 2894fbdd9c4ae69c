/// A group's log in memory, with what of it is durable and committed. (Compaction and
/// snapshots come later; the log starts at index 1.)
struct RaftLog: Sendable {
    private(set) var entries: [LogEntry] = []
    /// Entries up to here are durable (reported back through `advance`).
    private(set) var stable: UInt64 = 0
    private(set) var committed: UInt64 = 0
    /// Handed to the shell to apply, up to here.
    private(set) var applying: UInt64 = 0

    init(entries: [LogEntry] = [], commit: UInt64 = 0) {
        self.entries = entries
        stable = entries.last?.index ?? 0
        committed = min(commit, stable)
        applying = committed
    }

    var lastIndex: UInt64 { entries.last?.index ?? 0 }
    var lastTerm: UInt64 { entries.last?.term ?? 0 }

    func term(at index: UInt64) -> UInt64? {
        if index == 0 { return 0 }
        guard index <= lastIndex else { return nil }
        return entries[Int(index - 1)].term
    }

    func slice(from index: UInt64, max: Int) -> [LogEntry] {
        guard index >= 1, index <= lastIndex else { return [] }
        let start = Int(index - 1)
        return Array(entries[start..<min(entries.count, start + max)])
    }

    /// Whether a log ending at (`index`, `term`) is at least as up to date as this one.
    func isUpToDate(lastIndex index: UInt64, lastTerm term: UInt64) -> Bool {
        term > lastTerm || (term == lastTerm && index >= lastIndex)
    }

    mutating func append(_ new: [LogEntry]) {
        entries.append(contentsOf: new)
    }

    /// Appends a leader's entries after `prevIndex`, dropping a conflicting suffix (never a
    /// committed entry: the leader's log holds every committed one). Returns the last index
    /// that now matches the leader.
    mutating func accept(_ new: [LogEntry], after prevIndex: UInt64) -> UInt64 {
        for entry in new {
            if let existing = term(at: entry.index) {
                if existing == entry.term { continue }
                precondition(entry.index > committed, "a leader overwrote committed entry \(entry.index)")
                entries.removeSubrange(Int(entry.index - 1)...)
                stable = min(stable, entry.index - 1)
            }
            entries.append(entry)
        }
        return prevIndex + UInt64(new.count)
    }

    mutating func commit(to index: UInt64) -> Bool {
        let target = min(index, lastIndex)
        guard target > committed else { return false }
        committed = target
        return true
    }

    /// Entries not yet durable.
    var unstable: [LogEntry] { stable < lastIndex ? Array(entries[Int(stable)...]) : [] }

    /// Committed, durable entries not yet handed out for applying.
    mutating func takeCommitted() -> [LogEntry] {
        let upTo = min(committed, stable)
        guard upTo > applying else { return [] }
        let out = Array(entries[Int(applying)..<Int(upTo)])
        applying = upTo
        return out
    }

    mutating func markStable(through index: UInt64, term: UInt64) {
        // Only if the entry there is still the one persisted (a later truncation may have replaced it).
        guard index > stable, self.term(at: index) == term else { return }
        stable = index
    }
}
