import Synchronization

/// A bench client's Raft client sessions, one per group it writes to (Raft dissertation §6.3):
/// each put gets the next number in its group's session and keeps it through every retry, so a
/// put sent again after a timeout or a lost leadership acts once; the client tells the group the
/// lowest number it still waits for, so the group forgets the outcomes below it.
final class ClientSessions: Sendable {
    /// A put's place in its session.
    struct Numbered: Sendable, Equatable {
        var session: UInt64
        var sequence: UInt64
    }

    private struct Session {
        var id: UInt64
        var last: UInt64 = 0
        /// Every number below it has been answered.
        var floor: UInt64 = 1
        /// Numbers above the floor already answered (puts finish out of order).
        var answered: Set<UInt64> = []
    }

    private let sessions = Mutex<[UInt64: Session]>([:])
    /// One opening at a time per group: the clients that find no session wait for the same one.
    private let opening = Mutex<[UInt64: Task<UInt64, any Error>]>([:])

    /// The next number in `group`'s session, opening the session with `open` when there is none.
    func next(group: UInt64, open: @escaping @Sendable () async throws -> UInt64) async throws -> Numbered {
        while true {
            if let numbered = nextIfOpen(group: group) { return numbered }
            let task = opening.withLock { tasks in
                if let running = tasks[group] { return running }
                let started = Task { try await open() }
                tasks[group] = started
                return started
            }
            let result = await task.result
            opening.withLock { tasks in
                if tasks[group] == task { tasks[group] = nil }
            }
            let id = try result.get()
            sessions.withLock { all in
                if all[group] == nil { all[group] = Session(id: id) }
            }
        }
    }

    /// The next number in `group`'s session if it has one open (nil: `next` must open it).
    func nextIfOpen(group: UInt64) -> Numbered? {
        sessions.withLock { all -> Numbered? in
            guard var session = all[group] else { return nil }
            session.last += 1
            all[group] = session
            return Numbered(session: session.id, sequence: session.last)
        }
    }

    /// What to send as `acknowledged` with a put of `session`.
    func acknowledged(group: UInt64, session: UInt64) -> UInt64 {
        sessions.withLock { all in all[group].flatMap { $0.id == session ? $0.floor : nil } ?? 0 }
    }

    /// The put's answer is in (or the client gave up on it): the floor moves past it once every
    /// number before it is answered too.
    func finish(group: UInt64, _ numbered: Numbered) {
        sessions.withLock { all in
            // Taken out while it changes: a copy left in the dictionary would make every change
            // copy the set of numbers answered (copy on write).
            guard var session = all.removeValue(forKey: group) else { return }
            defer { all[group] = session }
            guard session.id == numbered.session, numbered.sequence >= session.floor else { return }
            if numbered.sequence == session.floor {
                session.floor += 1
                while session.answered.remove(session.floor) != nil { session.floor += 1 }
            } else {
                session.answered.insert(numbered.sequence)
            }
        }
    }

    /// The group no longer knows `session` (expired or evicted): the next put opens another.
    func lost(group: UInt64, session: UInt64) {
        sessions.withLock { all in
            if all[group]?.id == session { all[group] = nil }
        }
    }
}
