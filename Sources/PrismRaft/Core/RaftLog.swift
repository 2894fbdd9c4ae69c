/// A group's log in memory: the entries after the last snapshot, with what of it is durable,
/// committed and handed out for applying. Indexes are absolute; `entries[0]` is the entry at
/// `snapshotIndex + 1`.
struct RaftLog: Sendable {
    private(set) var entries: [LogEntry] = []
    /// The last entry the snapshot covers (0: no snapshot), and its term.
    private(set) var snapshotIndex: UInt64 = 0
    private(set) var snapshotTerm: UInt64 = 0
    /// Entries up to here are durable (reported back through `advance`).
    private(set) var stable: UInt64 = 0
    private(set) var committed: UInt64 = 0
    /// Handed to the shell to apply, up to here.
    private(set) var applying: UInt64 = 0

    /// From what was persisted: a snapshot (or none), the entries after it, the commit index.
    init(snapshotIndex: UInt64 = 0, snapshotTerm: UInt64 = 0, entries: [LogEntry] = [], commit: UInt64 = 0) {
        self.snapshotIndex = snapshotIndex
        self.snapshotTerm = snapshotTerm
        self.entries = entries.filter { $0.index > snapshotIndex }
        stable = self.entries.last?.index ?? snapshotIndex
        committed = max(snapshotIndex, min(commit, stable))
        applying = committed
    }

    var lastIndex: UInt64 { entries.last?.index ?? snapshotIndex }
    var lastTerm: UInt64 { entries.last?.term ?? snapshotTerm }

    /// nil: beyond the log, or compacted into the snapshot.
    func term(at index: UInt64) -> UInt64? {
        if index == snapshotIndex { return snapshotTerm }
        guard index > snapshotIndex, index <= lastIndex else { return index == 0 ? 0 : nil }
        return entries[Int(index - snapshotIndex - 1)].term
    }

    /// Up to `max` entries from `index`, stopping before `maxBytes` of data (one entry at least).
    func slice(from index: UInt64, max: Int, maxBytes: Int = .max) -> [LogEntry] {
        guard index > snapshotIndex, index <= lastIndex else { return [] }
        let start = Int(index - snapshotIndex - 1)
        var end = start, bytes = 0
        while end < min(entries.count, start + max) {
            bytes += entries[end].data.count
            if end > start && bytes > maxBytes { break }
            end += 1
        }
        return Array(entries[start..<end])
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
        for entry in new where entry.index > snapshotIndex {
            if let existing = term(at: entry.index) {
                if existing == entry.term { continue }
                precondition(entry.index > committed, "a leader overwrote committed entry \(entry.index)")
                entries.removeSubrange(Int(entry.index - snapshotIndex - 1)...)
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
    var unstable: [LogEntry] { stable < lastIndex ? Array(entries[Int(stable - snapshotIndex)...]) : [] }

    /// Committed, durable entries not yet handed out for applying.
    mutating func takeCommitted() -> [LogEntry] {
        let upTo = min(committed, stable)
        guard upTo > applying else { return [] }
        let out = Array(entries[Int(applying - snapshotIndex)..<Int(upTo - snapshotIndex)])
        applying = upTo
        return out
    }

    var hasCommittedToApply: Bool { min(committed, stable) > applying }

    mutating func markStable(through index: UInt64, term: UInt64) {
        // Only if the entry there is still the one persisted (a later truncation may have replaced it).
        guard index > stable, self.term(at: index) == term else { return }
        stable = index
    }

    /// Drops the entries the state machine's snapshot at `index` covers (applied and durable).
    mutating func compact(through index: UInt64) {
        guard index > snapshotIndex, index <= applying, index <= stable, let t = term(at: index) else { return }
        entries.removeFirst(Int(index - snapshotIndex))
        snapshotIndex = index
        snapshotTerm = t
    }

    /// Replaces the log with a leader's snapshot at (`index`, `term`): what follows it here is
    /// kept if it continues the snapshot's log, otherwise dropped.
    mutating func restore(index: UInt64, term t: UInt64) {
        if index > snapshotIndex, term(at: index) == t {
            entries.removeFirst(Int(index - snapshotIndex))
            stable = max(stable, index)
        } else {
            entries = []
            stable = index
        }
        snapshotIndex = index
        snapshotTerm = t
        committed = max(committed, index)
        applying = max(applying, index)
    }
}
