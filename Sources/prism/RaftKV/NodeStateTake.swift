import PrismRaft
import PrismSimulation

extension NodeState {
    /// Hands the requests one read pass held to their groups' cores, in the order read. Each
    /// run of puts and session openings between strong gets of a group is one proposal batch
    /// (one append per follower, one durable write); a strong get after puts asks its read index
    /// after them, as it would have one by one. Runs on the loop.
    func take(_ requests: [(KVWire.Request, Waiting)], time: UInt64, host: inout RaftHostShell.Host) {
        var start = 0
        while start < requests.count {
            let group = requests[start].0.group
            var end = start + 1
            while end < requests.count, requests[end].0.group == group { end += 1 }
            take(requests[start..<end], group: group, time: time, host: &host)
            start = end
        }
        flushReplies()
    }

    /// One group's requests: all answered `notLeader` (with the leader when known) unless this
    /// node leads it; otherwise held until their entries apply or their read index is known.
    private func take(_ run: ArraySlice<(KVWire.Request, Waiting)>, group: UInt64, time: UInt64, host: inout RaftHostShell.Host) {
        var held: [(PendingKey, Waiting, String?)] = []
        var refused: [Waiting] = []
        let leads: Bool? = host.with(group: group) { core in
            guard core.role == .leader else {
                // A group started quiet elects when first used.
                core.wakeForWork()
                return false
            }
            var batch: [[UInt8]] = []
            var batched: [(PendingKey, Waiting)] = []
            func proposeBatch() {
                guard !batch.isEmpty else { return }
                if core.propose(batch: batch) {
                    held.append(contentsOf: batched.lazy.map { ($0.0, $0.1, nil) })
                } else {
                    refused.append(contentsOf: batched.lazy.map(\.1))
                }
                batch.removeAll(keepingCapacity: true)
                batched.removeAll(keepingCapacity: true)
            }
            for (request, var waiting) in run {
                waiting.term = core.term
                switch request.operation {
                case .put:
                    batch.append(KVCommand(session: request.session, sequence: request.sequence, acknowledged: request.acknowledged,
                                           time: time, kind: .put, key: request.key, value: request.value, expected: nil).encoded())
                    batched.append((.proposal(group: group, session: request.session, sequence: request.sequence), waiting))
                case .openSession:
                    batch.append(KVCommand.openSession(nonce: request.sequence, time: time).encoded())
                    batched.append((.opening(group: group, nonce: request.sequence), waiting))
                case .getStrong:
                    proposeBatch()
                    nextReadContext.value += 1
                    let context = nextReadContext.value
                    if core.readIndex(context: context) {
                        held.append((.read(context: context), waiting, request.key))
                    } else {
                        refused.append(waiting)
                    }
                case .getEventual:
                    // Answered when read, never held.
                    break
                }
            }
            proposeBatch()
            return true
        }
        guard leads == true else {
            let status: KVWire.Status = leads == nil ? .unavailable : .notLeader
            let leader = leads == nil ? nil : host.leader(of: group)
            for (_, waiting) in run { reply(waiting, status, leader, flush: false) }
            return
        }
        for waiting in refused { reply(waiting, .unavailable, nil, flush: false) }
        for (key, waiting, readKey) in held {
            pending.value[key] = waiting
            if case .read(let context) = key, let readKey { readKeys.value[context] = readKey }
        }
    }
}
