/// Who belongs to a group: voters (elections and commits count them) and learners (they get the
/// log but never vote, so a new member catches up without weakening the quorum). Each membership
/// entry in the log holds the whole membership, not a change, so a member that joins learns it
/// from the first such entry it receives.
public struct Membership: Hashable, Sendable, CustomStringConvertible {
    public private(set) var voters: [String]
    public private(set) var learners: [String]

    public init(voters: [String], learners: [String] = []) {
        self.voters = Array(Set(voters)).sorted()
        self.learners = Array(Set(learners).subtracting(voters)).sorted()
    }

    public var quorum: Int { voters.count / 2 + 1 }
    public func isVoter(_ id: String) -> Bool { voters.contains(id) }
    public func contains(_ id: String) -> Bool { voters.contains(id) || learners.contains(id) }
    /// Everyone the leader replicates to.
    public var members: [String] { voters + learners }

    public var description: String { "voters \(voters) learners \(learners)" }

    /// The membership after `change`, or why it cannot be made.
    public func applying(_ change: MembershipChange) throws(MembershipChangeError) -> Membership {
        switch change {
        case .addLearner(let id):
            guard !id.isEmpty else { throw .invalid("a member needs an id") }
            guard !contains(id) else { throw .invalid("\(id) is already a member") }
            return Membership(voters: voters, learners: learners + [id])
        case .promote(let id):
            guard learners.contains(id) else { throw .invalid("\(id) is not a learner (add it as one first)") }
            return Membership(voters: voters + [id], learners: learners.filter { $0 != id })
        case .remove(let id):
            guard contains(id) else { throw .invalid("\(id) is not a member") }
            guard voters != [id] else { throw .invalid("\(id) is the last voter") }
            return Membership(voters: voters.filter { $0 != id }, learners: learners.filter { $0 != id })
        }
    }

    // MARK: Encoding (the data of a membership entry, and part of a snapshot)

    public func encoded() -> [UInt8] {
        var out: [UInt8] = [UInt8(voters.count >> 8), UInt8(voters.count & 0xFF), UInt8(learners.count >> 8), UInt8(learners.count & 0xFF)]
        for id in voters + learners {
            let bytes = Array(id.utf8)
            out.append(UInt8(bytes.count >> 8))
            out.append(UInt8(bytes.count & 0xFF))
            out.append(contentsOf: bytes)
        }
        return out
    }

    public init?(encoded bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count >= 4 else { return nil }
        let voterCount = Int(b[0]) << 8 | Int(b[1]), learnerCount = Int(b[2]) << 8 | Int(b[3])
        var ids: [String] = []
        var i = 4
        for _ in 0..<(voterCount + learnerCount) {
            guard i + 2 <= b.count else { return nil }
            let n = Int(b[i]) << 8 | Int(b[i + 1])
            i += 2
            guard i + n <= b.count else { return nil }
            ids.append(String(decoding: b[i..<(i + n)], as: UTF8.self))
            i += n
        }
        guard i == b.count else { return nil }
        self.init(voters: Array(ids[..<voterCount]), learners: Array(ids[voterCount...]))
    }
}

/// One change at a time: a quorum of the old voters and one of the new always overlap, so two
/// leaders can never be elected from the two memberships (Ongaro's dissertation, §4.1).
public enum MembershipChange: Hashable, Sendable {
    case addLearner(String)
    /// A learner becomes a voter (once it has caught up, or the group may stall while it does).
    case promote(String)
    /// A voter or a learner leaves. A leader that removes itself leads until the change commits.
    case remove(String)
}

public enum MembershipChangeError: Error, Equatable, Sendable, CustomStringConvertible {
    case notLeader(leader: String?)
    /// The previous change is not committed yet.
    case changePending(index: UInt64)
    /// A new leader changes membership only after committing an entry of its own term: otherwise
    /// two overlapping single changes from leaders of different terms could both take effect.
    case leaderNotReady
    case transferringLeadership
    case invalid(String)

    public var description: String {
        switch self {
        case .notLeader(let leader): "not the leader" + (leader.map { "; the leader is \($0)" } ?? "; no leader known")
        case .changePending(let index): "the membership change at index \(index) is not committed yet; one change at a time"
        case .leaderNotReady: "the leader has not committed an entry of its term yet; retry shortly"
        case .transferringLeadership: "leadership is being transferred; retry shortly"
        case .invalid(let why): why
        }
    }
}
