/// The SWIM membership protocol with Lifeguard, as a deterministic state machine: messages and
/// time in, datagrams, push-pull requests and membership events out (`takeOutputs`). It never
/// reads a clock, opens a socket or draws unseeded randomness, so the real UDP shell and the
/// simulation drive the same code, and a seed replays a run exactly.
///
/// Per probe period it pings one member (shuffled round-robin), asks `indirectProbes` others to
/// probe it when the ping goes unanswered, and suspects it when the period ends without an ack.
/// Suspicion turns into death after Lifeguard's dynamic timeout unless the member refutes it
/// with a higher incarnation. Updates are piggybacked on probes and acks, also pushed to a few
/// members every gossip interval, and whole states are exchanged by push-pull on join and
/// periodically.
public struct SWIMCore<Random: RandomNumberGenerator>: Sendable where Random: Sendable {
    public let settings: SWIMSettings
    public private(set) var me: Member
    /// Every other member known, down ones included until reaped.
    public private(set) var members = MemberTable()
    public private(set) var now: Moment

    private var random: Random
    private var health: LocalHealth
    private var broadcasts = Dissemination()
    private var suspicions: [String: Suspicion] = [:]
    private var outputs: [SWIMOutput] = []
    private var sequence: UInt32 = 0

    /// Members not down (alive or suspect), and members down (dead or left) until reaped.
    private var live = MemberIndex()
    private var down = MemberIndex()
    /// Members this node holds alive (not suspect), for views that must not scan the table.
    public private(set) var aliveCount = 0
    /// Bumped whenever a member joins or leaves the live set (the shell re-reads `watchTargets`).
    public private(set) var membershipVersion: UInt64 = 0

    private var probeOrder: [MemberTable.Slot] = []
    private var probeIndex = 0
    private var probe: ProbeRound?
    /// Ping requests we relay: our ping's sequence → who asked, under which sequence.
    private var relays: [UInt32: Relay] = [:]

    private var nextProbe: Moment
    private var nextGossip: Moment
    private var nextPushPull: Moment
    private var seeds: [GossipEndpoint] = []
    private var nextJoinAttempt: Moment?
    private var joinBackoff: Span
    /// A join push-pull is out and unanswered.
    private var awaitingJoin = false
    /// Full exchanges still to run soon after the join, before the regular interval resumes.
    private var joinFollowUps = 0
    /// The member that answered our join: it heard every member that joined through it.
    private var joinedThrough: String?
    private var leaving = false
    /// Members whose probes failed while their gossip port still accepted connections: since when.
    private var unresponsiveSince: [String: Moment] = [:]
    /// Members refused for an incompatible protocol version (reported once each).
    private var refusedVersions: Set<String> = []

    private struct ProbeRound: Sendable {
        let sequence: UInt32
        let target: String
        let ackDeadline: Moment
        let periodEnd: Moment
        var acked = false
        /// Whether the indirect probes went out, and to how many helpers.
        var indirectDone = false
        var helpers = 0
        var nacks = 0
        var reachability: Reachability?
    }

    private struct Relay: Sendable {
        let origin: GossipEndpoint
        let originSequence: UInt32
        let nackDeadline: Moment
    }

    public init(id: String, endpoint: GossipEndpoint, metadata: MemberMetadata, settings: SWIMSettings, random: Random, now: Moment) {
        self.settings = settings
        self.random = random
        self.now = now
        me = Member(id: id, endpoint: endpoint, metadata: metadata, status: .alive, incarnation: 0, since: now)
        health = LocalHealth(maximum: settings.maxLocalHealth)
        nextProbe = now.adding(settings.probeInterval)
        nextGossip = now.adding(settings.gossipInterval)
        nextPushPull = now.adding(settings.pushPullInterval)
        joinBackoff = settings.joinRetryMin
    }

    // MARK: Inputs

    /// Joins through `seeds` (push-pull with each); retried with backoff while none answers.
    public mutating func join(seeds: [GossipEndpoint]) {
        self.seeds = seeds.filter { $0 != me.endpoint }
        joinBackoff = settings.joinRetryMin
        attemptJoin()
    }

    /// Leaves gracefully: the mesh learns it left (not failed) and stops probing it.
    public mutating func leave() {
        guard !leaving else { return }
        leaving = true
        me.status = .left
        let update = MembershipUpdate.dead(id: me.id, incarnation: me.incarnation, from: me.id)
        broadcasts.enqueue(Dissemination.me)
        for target in gossipTargets(count: settings.gossipFanout * 2) {
            outputs.append(.send(to: target.endpoint, [.update(update)]))
        }
    }

    /// Publishes new metadata (a drain flag, load): a higher incarnation carries it to everyone.
    public mutating func updateMetadata(_ metadata: MemberMetadata) {
        guard metadata != me.metadata else { return }
        me.metadata = metadata
        me.incarnation += 1
        broadcasts.enqueue(Dissemination.me)
    }

    /// Runs every timer due at `now`.
    public mutating func advance(to time: Moment) {
        if time > now { now = time }
        if let at = nextJoinAttempt, at <= now { attemptJoin() }
        if let round = probe {
            if !round.acked && !round.indirectDone && round.ackDeadline <= now { sendIndirectProbes() }
            if round.periodEnd <= now { finishProbe() }
        }
        if probe == nil && nextProbe <= now { startProbe() }
        expireRelays()
        expireSuspicions()
        reap()
        // Gossip is event-driven: news goes out as soon as it arrives, then at most once per
        // gossip interval while there is more; an idle node does not wake up for it.
        if nextGossip <= now && !broadcasts.isEmpty {
            gossip()
            nextGossip = now.adding(settings.gossipInterval)
        }
        if nextPushPull <= now {
            if joinFollowUps == 1, let seed = joinedThrough.flatMap({ members[$0] }), !seed.status.isDown {
                // The last follow-up asks the member that answered the join, which by then has
                // heard every member that joined through it.
                outputs.append(.pushPull(to: seed.endpoint, pushPullState(join: false)))
            } else {
                antiEntropy()
            }
            if joinFollowUps > 0 { joinFollowUps -= 1 }
            nextPushPull = now.adding(joinFollowUps > 0 ? settings.probeInterval.scaled(by: 1.5) : settings.pushPullInterval)
        }
    }

    /// The earliest moment `advance` has work to do.
    public var nextDeadline: Moment {
        var t = nextPushPull
        if !broadcasts.isEmpty { t = min(t, nextGossip) }
        if let round = probe {
            t = min(t, round.periodEnd)
            if !round.acked && !round.indirectDone { t = min(t, round.ackDeadline) }
        } else {
            t = min(t, nextProbe)
        }
        if let join = nextJoinAttempt { t = min(t, join) }
        for relay in relays.values { t = min(t, relay.nackDeadline) }
        for s in suspicions.values { t = min(t, s.deadline) }
        return t
    }

    /// Handles one datagram's messages (replies go to the addresses the messages carry).
    public mutating func receive(_ messages: [GossipMessage]) {
        for message in messages {
            switch message {
            case .update(let update):
                apply(update)
            case .ping(let seq, let target, let sender, let senderEndpoint):
                guard target == me.id, !leaving else { continue }
                outputs.append(.send(to: senderEndpoint, [.ack(sequence: seq, source: me.id)] + piggyback(for: sender)))
            case .pingRequest(let seq, let target, let targetEndpoint, _, let senderEndpoint):
                guard !leaving else { continue }
                let own = nextSequence()
                relays[own] = Relay(origin: senderEndpoint, originSequence: seq,
                                    nackDeadline: now.adding(settings.probeTimeout.scaled(by: 0.8)))
                outputs.append(.send(to: targetEndpoint, [.ping(sequence: own, target: target, source: me.id, sourceEndpoint: me.endpoint)] + piggyback(for: target)))
            case .ack(let seq, _):
                if let relay = relays.removeValue(forKey: seq) {
                    outputs.append(.send(to: relay.origin, [.ack(sequence: relay.originSequence, source: me.id)]))
                } else if var round = probe, round.sequence == seq, !round.acked {
                    round.acked = true
                    probe = round
                    unresponsiveSince[round.target] = nil
                    health.better()
                }
            case .nack(let seq, _):
                if var round = probe, round.sequence == seq {
                    round.nacks += 1
                    probe = round
                }
            }
        }
    }

    /// Answers a push-pull request: merges the sender's state and returns ours.
    public mutating func receivePushPull(_ state: PushPullState) -> PushPullState {
        merge(state)
        return pushPullState(join: false)
    }

    /// Merges the reply to a push-pull this core asked for.
    public mutating func receivePushPullReply(_ state: PushPullState) {
        merge(state)
        if awaitingJoin {
            // Members that joined at about the same time were gossiped before we were there to
            // hear it: two more full exchanges soon after the join (about half a period, then
            // 1.5 periods later) catch them, instead of waiting for the regular interval. The
            // first is spread over a tenth of a period: members started together would
            // otherwise all exchange whole states in the same millisecond.
            awaitingJoin = false
            joinFollowUps = 2
            joinedThrough = state.sender
            let spread = 0.45 + 0.1 * Double(random.next() >> 11) / Double(1 << 53)
            nextPushPull = min(nextPushPull, now.adding(settings.probeInterval.scaled(by: spread)))
        }
    }

    /// Outputs produced since the last call.
    public mutating func takeOutputs() -> [SWIMOutput] {
        defer { outputs.removeAll(keepingCapacity: true) }
        return outputs
    }

    // MARK: Views

    public var localHealth: Int { health.score }
    public var pendingBroadcasts: Int { broadcasts.count }

    /// Members not down, self included.
    public var liveMembers: [Member] {
        [me] + live.slots.map { members[slot: $0] }.sorted { $0.id < $1.id }
    }

    // MARK: Probing

    private mutating func startProbe() {
        nextProbe = now.adding(health.scale(settings.probeInterval))
        guard let slot = nextProbeTarget() else { return }
        let member = members[slot: slot], target = member.id
        let seq = nextSequence()
        probe = ProbeRound(sequence: seq, target: target, ackDeadline: now.adding(health.scale(settings.probeTimeout)),
                           periodEnd: now.adding(health.scale(settings.probeInterval)))
        outputs.append(.send(to: member.endpoint, [.ping(sequence: seq, target: target, source: me.id, sourceEndpoint: me.endpoint)] + piggyback(for: target)))
    }

    private mutating func nextProbeTarget() -> MemberTable.Slot? {
        for _ in 0..<2 {
            while probeIndex < probeOrder.count {
                let slot = probeOrder[probeIndex]
                probeIndex += 1
                if live.contains(slot) { return slot }
            }
            // A new round: every member once, in a fresh random order.
            probeOrder = live.slots
            probeOrder.shuffle(using: &random)
            probeIndex = 0
            if probeOrder.isEmpty { return nil }
        }
        return nil
    }

    private mutating func sendIndirectProbes() {
        guard var round = probe, let target = members[round.target] else { return }
        // The direct ping is sent once more alongside the indirect ones: a lost datagram should
        // not be what makes a healthy member suspected.
        outputs.append(.send(to: target.endpoint, [.ping(sequence: round.sequence, target: target.id, source: me.id, sourceEndpoint: me.endpoint)]))
        let helpers = randomMembers(count: settings.indirectProbes) { $0.status == .alive && $0.id != round.target }
        for helper in helpers {
            outputs.append(.send(to: helper.endpoint, [.pingRequest(sequence: round.sequence, target: target.id, targetEndpoint: target.endpoint,
                                                                    source: me.id, sourceEndpoint: me.endpoint)] + piggyback(for: helper.id)))
        }
        round.indirectDone = true
        round.helpers = helpers.count
        probe = round
        outputs.append(.checkReachability(member: target.id, endpoint: target.endpoint, sequence: round.sequence))
    }

    private mutating func finishProbe() {
        guard let round = probe else { return }
        probe = nil
        guard !round.acked else { return }
        // Lifeguard: a failed probe counts against our own health, and so does each helper that
        // did not even send a nack (our network, not the target, may be the problem).
        health.worse()
        if round.nacks < round.helpers { health.worse() }
        guard let target = members[round.target], target.status == .alive else { return }
        if round.reachability == .accepted {
            // Its kernel still accepts connections: the process lives but is paused, overloaded,
            // or only its datagrams are lost. Suspecting it now would kill paused members and
            // lossy links; it is suspected only if it stays silent for a whole suspicion timeout.
            let since = unresponsiveSince[target.id] ?? round.ackDeadline
            unresponsiveSince[target.id] = since
            guard now.since(since) >= settings.suspicionMaxTimeout else { return }
        }
        unresponsiveSince[target.id] = nil
        apply(.suspect(id: target.id, incarnation: target.incarnation, from: me.id))
    }

    /// The members this node keeps a watch connection to: the `count` live members that follow it
    /// in id order, wrapping around. Every member is so watched by the `count` members before it,
    /// and a killed process's connections close at once, so its death is noticed within
    /// milliseconds instead of when the round-robin next reaches it. O(N): read it when
    /// `membershipVersion` changes, not per message.
    public func watchTargets(count: Int) -> [Member] {
        guard count > 0 else { return [] }
        let sorted = live.slots.map { members[slot: $0] }.sorted { $0.id < $1.id }
        let start = sorted.firstIndex { $0.id > me.id } ?? 0
        return (0..<min(count, sorted.count)).map { sorted[(start + $0) % sorted.count] }
    }

    /// The shell's watch connection to `member` closed (or could not be opened): ask for a check
    /// of its gossip port. A paused process keeps its connections, so this is a hint, not a verdict.
    public mutating func receiveConnectionLost(member: String) {
        guard let target = members[member], !target.status.isDown, !leaving else { return }
        outputs.append(.checkGone(member: member, endpoint: target.endpoint))
    }

    /// What the check after a lost watch connection found: refused means the process is gone.
    public mutating func receiveGoneCheck(member: String, _ result: Reachability) {
        guard result == .refused, let target = members[member], !target.status.isDown else { return }
        declareGone(target)
    }

    /// Nothing listens at the member's gossip port any more: suspected and declared dead at once,
    /// since nothing is left to refute (a restarted process comes back with a higher incarnation).
    private mutating func declareGone(_ target: Member) {
        unresponsiveSince[target.id] = nil
        if target.status == .alive { apply(.suspect(id: target.id, incarnation: target.incarnation, from: me.id)) }
        suspicions[target.id]?.shorten(to: Span(nanoseconds: 0))
    }

    /// What a TCP connection to a silent member's gossip port found (`checkReachability`).
    /// A refusal means the process is gone: it is suspected and declared dead at once, since
    /// nothing is left to refute (a restarted process comes back with a higher incarnation).
    public mutating func receiveReachability(member: String, sequence: UInt32, _ result: Reachability) {
        guard var round = probe, round.sequence == sequence, round.target == member, !round.acked else { return }
        round.reachability = result
        probe = round
        guard result == .refused, let target = members[member], !target.status.isDown else { return }
        declareGone(target)
    }

    private mutating func expireRelays() {
        for (seq, relay) in relays where relay.nackDeadline <= now {
            relays[seq] = nil
            outputs.append(.send(to: relay.origin, [.nack(sequence: relay.originSequence, source: me.id)]))
        }
    }

    // MARK: Suspicion, death, removal

    private mutating func expireSuspicions() {
        for (id, suspicion) in suspicions where suspicion.deadline <= now {
            suspicions[id] = nil
            guard let member = members[id], member.status == .suspect, member.incarnation == suspicion.incarnation else { continue }
            apply(.dead(id: id, incarnation: member.incarnation, from: me.id))
        }
    }

    private mutating func reap() {
        guard !down.isEmpty else { return }
        let reaped = down.slots.filter { now.since(members[slot: $0].since) >= settings.reapAfter }
        for slot in reaped {
            let member = members[slot: slot]
            track(slot, from: member.status, to: nil)
            members.remove(slot: slot)
            broadcasts.remove(slot)
            unresponsiveSince[member.id] = nil
            emit(.removed, id: member.id, incarnation: member.incarnation)
        }
    }

    // MARK: Applying updates

    /// `spread: false` applies without gossiping it further (members first heard of through a
    /// push-pull: the member's own join already spreads it, and re-gossiping whole states would
    /// flood a large mesh with what everyone is about to learn anyway).
    private mutating func apply(_ update: MembershipUpdate, spread: Bool = true) {
        switch update {
        case .alive(let id, let incarnation, let endpoint, let metadata):
            if id == me.id {
                // Someone spreads an older or different picture of us: outbid it.
                if incarnation > me.incarnation || (incarnation == me.incarnation && (metadata != me.metadata || endpoint != me.endpoint)) {
                    refute(above: incarnation)
                }
                return
            }
            // A member speaking a protocol we cannot (or that cannot speak ours) is kept out of
            // the view: probing it would only produce false failures.
            guard GossipProtocol.accepts(metadata.protocolVersion) else {
                if refusedVersions.insert(id).inserted { emit(.refused, id: id, incarnation: incarnation) }
                return
            }
            let slot: MemberTable.Slot
            if let known = members.slot(of: id) {
                slot = known
                var member = members[slot: slot]
                // A strictly newer incarnation wins; the same one only revives nothing.
                guard incarnation > member.incarnation else { return }
                let changedMetadata = member.metadata != metadata || member.endpoint != endpoint
                let wasStatus = member.status
                member.incarnation = incarnation
                member.endpoint = endpoint
                member.metadata = metadata
                suspicions[id] = nil
                if wasStatus != .alive {
                    member.status = .alive
                    member.since = now
                    members[slot: slot] = member
                    track(slot, from: wasStatus, to: .alive)
                    emit(.alive, id: id, incarnation: incarnation)
                } else {
                    members[slot: slot] = member
                    if changedMetadata { emit(.updated, id: id, incarnation: incarnation) }
                }
            } else {
                slot = members.insert(Member(id: id, endpoint: endpoint, metadata: metadata, status: .alive, incarnation: incarnation, since: now))
                track(slot, from: nil, to: .alive)
                emit(.alive, id: id, incarnation: incarnation)
                nextJoinAttempt = nil
                guard spread else { return }
            }
            broadcasts.enqueue(slot)

        case .suspect(let id, let incarnation, let from):
            if id == me.id { return accused(at: incarnation) }
            guard let slot = members.slot(of: id) else { return }
            var member = members[slot: slot]
            guard incarnation >= member.incarnation, !member.status.isDown else { return }
            if member.status == .suspect, incarnation == member.incarnation {
                // Lifeguard: an independent confirmation shortens the timeout and is passed on.
                if var s = suspicions[id], s.confirm(from) {
                    suspicions[id] = s
                    broadcasts.enqueue(slot, from: from)
                }
                return
            }
            track(slot, from: member.status, to: .suspect)
            member.status = .suspect
            member.incarnation = incarnation
            member.since = now
            members[slot: slot] = member
            let alive = live.count + 1
            suspicions[id] = Suspicion(started: now, incarnation: incarnation, from: from,
                                       expected: min(settings.suspicionConfirmations, max(0, alive - 2)),
                                       minimum: settings.suspicionMinTimeout, maximum: settings.suspicionMaxTimeout)
            emit(.suspect, id: id, incarnation: incarnation)
            broadcasts.enqueue(slot, from: from)

        case .dead(let id, let incarnation, let from):
            if id == me.id { return accused(at: incarnation) }
            guard let slot = members.slot(of: id) else { return }
            var member = members[slot: slot]
            guard incarnation >= member.incarnation, !member.status.isDown else { return }
            let wasStatus = member.status
            member.status = from == id ? .left : .dead
            track(slot, from: wasStatus, to: member.status)
            member.incarnation = incarnation
            member.since = now
            members[slot: slot] = member
            suspicions[id] = nil
            emit(member.status == .left ? .left : .dead, id: id, incarnation: incarnation)
            broadcasts.enqueue(slot, from: from)
        }
    }

    /// Someone suspects us or declared us dead: refute it, and count it against our own health
    /// (Lifeguard: the accused is often the slow one).
    private mutating func accused(at incarnation: UInt64) {
        guard !leaving, incarnation >= me.incarnation else { return }
        health.worse()
        refute(above: incarnation)
    }

    private mutating func refute(above incarnation: UInt64) {
        me.incarnation = max(me.incarnation, incarnation) + 1
        broadcasts.enqueue(Dissemination.me)
    }

    private mutating func merge(_ state: PushPullState) {
        members.reserve(toHold: state.members.count)
        for remote in state.members {
            switch remote.status {
            case .alive:
                // The sender's own entry is news to spread (a joining member reaches its seed
                // this way); others' entries were spread when they joined.
                apply(.alive(id: remote.id, incarnation: remote.incarnation, endpoint: remote.endpoint, metadata: remote.metadata),
                      spread: remote.id == state.sender)
            case .suspect, .dead:
                // Someone else's conclusion: add the member, then suspect it ourselves rather
                // than declare it dead on hearsay.
                if members[remote.id] == nil, remote.id != me.id {
                    apply(.alive(id: remote.id, incarnation: remote.incarnation, endpoint: remote.endpoint, metadata: remote.metadata),
                          spread: false)
                }
                apply(.suspect(id: remote.id, incarnation: remote.incarnation, from: state.sender))
            case .left:
                if members[remote.id] != nil || remote.id == me.id {
                    apply(.dead(id: remote.id, incarnation: remote.incarnation, from: remote.id))
                }
            }
        }
    }

    // MARK: Anti-entropy

    /// Full-state exchange with one random live member, and reconnection attempts: one member
    /// declared dead (a partition may have healed; it refutes when it hears our view) and one
    /// seed no live member answers for (sides that reaped each other find each other again).
    private mutating func antiEntropy() {
        let state = pushPullState(join: false)
        if let peer = randomMembers(count: 1, where: { !$0.status.isDown }).first {
            outputs.append(.pushPull(to: peer.endpoint, state))
        }
        if let gone = randomMembers(from: down, count: 1, where: { $0.status == .dead }).first {
            outputs.append(.pushPull(to: gone.endpoint, state))
        }
        let reachable = seeds.isEmpty ? [] : Set(live.slots.map { members[slot: $0].endpoint })
        let absent = seeds.filter { !reachable.contains($0) }
        if !absent.isEmpty, !members.isEmpty {
            outputs.append(.pushPull(to: absent[Int(random.next() % UInt64(absent.count))], state))
        }
    }

    // MARK: Gossip

    private mutating func gossip() {
        guard !broadcasts.isEmpty else { return }
        let (time, grace) = (now, settings.gossipToTheDead)
        var targets = randomMembers(count: settings.gossipFanout) { _ in true }
        // Recently declared dead members hear the news too, so a wrongly declared one refutes.
        if let dead = randomMembers(from: down, count: 1, where: { $0.status == .dead && time.since($0.since) < grace }).first {
            if targets.count < settings.gossipFanout { targets.append(dead) } else if random.next() % 4 == 0 { targets[targets.count - 1] = dead }
        }
        for target in targets {
            let updates = piggyback(for: target.id)
            if updates.isEmpty { break }
            outputs.append(.send(to: target.endpoint, updates))
        }
    }

    private mutating func piggyback(for recipient: String) -> [GossipMessage] {
        broadcasts.take(max: settings.maxPiggyback, members: members.count + 1, multiplier: settings.retransmitMultiplier,
                        first: members.slot(of: recipient))
            .map { .update(update(for: $0)) }
    }

    /// The news a queued entry stands for: the member's state now, with who reported it.
    private func update(for pending: Dissemination.Pending) -> MembershipUpdate {
        let member = pending.key == Dissemination.me ? me : members[slot: pending.key]
        switch member.status {
        case .alive: return aliveUpdate(member)
        case .suspect: return .suspect(id: member.id, incarnation: member.incarnation, from: pending.from ?? me.id)
        case .dead: return .dead(id: member.id, incarnation: member.incarnation, from: pending.from ?? me.id)
        case .left: return .dead(id: member.id, incarnation: member.incarnation, from: member.id)
        }
    }

    private mutating func attemptJoin() {
        guard !seeds.isEmpty else {
            nextJoinAttempt = nil
            return
        }
        if !live.isEmpty {
            nextJoinAttempt = nil
            return
        }
        for seed in seeds { outputs.append(.pushPull(to: seed, pushPullState(join: true))) }
        awaitingJoin = true
        nextJoinAttempt = now.adding(joinBackoff)
        joinBackoff = min(settings.joinRetryMax, Span(nanoseconds: joinBackoff.nanoseconds * 2))
    }

    // MARK: Helpers

    private func aliveUpdate(_ member: Member) -> MembershipUpdate {
        .alive(id: member.id, incarnation: member.incarnation, endpoint: member.endpoint, metadata: member.metadata)
    }

    private func pushPullState(join: Bool) -> PushPullState {
        PushPullState(sender: me.id, join: join, members: [me] + (live.slots + down.slots).map { members[slot: $0] })
    }

    /// Up to `count` distinct random members of the live index (or `pool`) that satisfy `include`:
    /// random draws first (cheap in a large table), a scan when draws keep missing.
    private mutating func randomMembers(from pool: MemberIndex? = nil, count: Int, where include: (Member) -> Bool) -> [Member] {
        let index = pool ?? live
        guard count > 0, !index.isEmpty else { return [] }
        var out: [Member] = []
        var chosen: Set<MemberTable.Slot> = []
        var attempts = 0
        while out.count < count && attempts < 4 * count + 8 {
            attempts += 1
            let slot = index[Int(random.next() % UInt64(index.count))]
            guard !chosen.contains(slot) else { continue }
            let m = members[slot: slot]
            guard include(m) else { continue }
            chosen.insert(slot)
            out.append(m)
        }
        if out.count < count && index.count <= 4 * count + 8 {
            // Small tables: take every remaining candidate in random order.
            var rest = index.slots.filter { !chosen.contains($0) }
            rest.shuffle(using: &random)
            for slot in rest where out.count < count {
                let m = members[slot: slot]
                if include(m) { out.append(m) }
            }
        }
        return out
    }

    /// Keeps the live and down indexes and the alive count in step with a status change
    /// (`nil`: not in the table).
    private mutating func track(_ id: MemberTable.Slot, from old: MemberStatus?, to new: MemberStatus?) {
        if old == .alive { aliveCount -= 1 }
        if new == .alive { aliveCount += 1 }
        let wasLive = old.map { !$0.isDown }, isLive = new.map { !$0.isDown }
        if (wasLive == true) != (isLive == true) { membershipVersion &+= 1 }
        if wasLive != isLive {
            if wasLive == true { live.remove(id) } else if wasLive == false { down.remove(id) }
            if isLive == true { live.insert(id) } else if isLive == false { down.insert(id) }
        }
        if isLive == true && wasLive != true {
            // A member that appears mid-round goes to a random place among those not yet probed
            // this round (as memberlist does); otherwise a large mesh would leave it unprobed
            // until the round ends, N periods later.
            probeOrder.append(id)
            let remaining = probeOrder.count - probeIndex
            if remaining > 1 {
                let j = probeIndex + Int(random.next() % UInt64(remaining))
                probeOrder.swapAt(j, probeOrder.count - 1)
            }
        }
    }

    private mutating func gossipTargets(count: Int) -> [Member] {
        randomMembers(count: count) { !$0.status.isDown }
    }

    private mutating func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    private mutating func emit(_ change: MembershipEvent.Change, id: String, incarnation: UInt64) {
        outputs.append(.event(MembershipEvent(at: now, member: id, change: change, incarnation: incarnation)))
    }
}
