import PrismGossip
import PrismStorage
import Testing

/// Protocol rules of the SWIM core, one at a time, with messages written by hand.
@Suite("SWIM core")
struct SWIMCoreTests {
    typealias Core = SWIMCore<SplitMix64>
    let a = GossipEndpoint(host: "10.0.0.1", port: 7946)
    let b = GossipEndpoint(host: "10.0.0.2", port: 7946)
    let c = GossipEndpoint(host: "10.0.0.3", port: 7946)

    func core(_ id: String, _ endpoint: GossipEndpoint, settings: SWIMSettings = SWIMSettings()) -> Core {
        Core(id: id, endpoint: endpoint, metadata: MemberMetadata(zone: "z1"), settings: settings, random: SplitMix64(seed: 1), now: .zero)
    }

    func alive(_ id: String, _ endpoint: GossipEndpoint, incarnation: UInt64 = 0) -> GossipMessage {
        .update(.alive(id: id, incarnation: incarnation, endpoint: endpoint, metadata: MemberMetadata()))
    }

    /// Updates the core will send next (what it piggybacks on its next datagrams).
    func gossiped(_ core: inout Core, at seconds: Double) -> [MembershipUpdate] {
        core.advance(to: Moment(nanoseconds: UInt64(seconds * 1e9)))
        return core.takeOutputs().flatMap { output -> [MembershipUpdate] in
            guard case .send(_, let messages) = output else { return [] }
            return messages.compactMap { if case .update(let u) = $0 { u } else { nil } }
        }
    }

    @Test func suspicionOfItselfIsRefutedWithAHigherIncarnation() {
        var x = core("a", a)
        x.receive([alive("b", b), .update(.suspect(id: "a", incarnation: 0, from: "b"))])
        #expect(x.me.incarnation == 1)
        #expect(x.localHealth == 1, "refuting counts against our own health (Lifeguard)")
        let sent = gossiped(&x, at: 0.3)
        #expect(sent.contains(.alive(id: "a", incarnation: 1, endpoint: a, metadata: MemberMetadata(zone: "z1"))))
    }

    @Test func incarnationsDecideBetweenAliveSuspectAndDead() {
        var x = core("a", a)
        x.receive([alive("b", b, incarnation: 2)])
        x.receive([.update(.suspect(id: "b", incarnation: 1, from: "c"))])
        #expect(x.members["b"]?.status == .alive, "an older suspicion is ignored")
        x.receive([.update(.suspect(id: "b", incarnation: 2, from: "c"))])
        #expect(x.members["b"]?.status == .suspect)
        x.receive([alive("b", b, incarnation: 2)])
        #expect(x.members["b"]?.status == .suspect, "the same incarnation does not refute")
        x.receive([alive("b", b, incarnation: 3)])
        #expect(x.members["b"]?.status == .alive)
        x.receive([.update(.dead(id: "b", incarnation: 3, from: "c"))])
        #expect(x.members["b"]?.status == .dead)
        x.receive([.update(.suspect(id: "b", incarnation: 3, from: "c"))])
        #expect(x.members["b"]?.status == .dead, "dead is not undone by a suspicion")
        x.receive([alive("b", b, incarnation: 4)])
        #expect(x.members["b"]?.status == .alive, "a member that comes back with a higher incarnation rejoins")
        x.receive([.update(.dead(id: "b", incarnation: 4, from: "b"))])
        #expect(x.members["b"]?.status == .left, "a member that declares itself dead left")
    }

    @Test func pingsAreAnsweredOnlyForTheirTarget() {
        var x = core("a", a)
        x.receive([.ping(sequence: 7, target: "a", source: "b", sourceEndpoint: b)])
        x.receive([.ping(sequence: 8, target: "someone-else", source: "b", sourceEndpoint: b)])
        let acks = x.takeOutputs().compactMap { output -> UInt32? in
            guard case .send(let to, let messages) = output, to == b, case .ack(let seq, _)? = messages.first else { return nil }
            return seq
        }
        #expect(acks == [7])
    }

    /// A failed direct ping leads to indirect probes, and a period without any ack to suspicion;
    /// an indirect ack relayed in time prevents it.
    @Test func unansweredProbesLeadToIndirectProbesThenSuspicion() {
        var x = core("a", a)
        x.receive([alive("b", b), alive("c", c)])
        _ = x.takeOutputs()
        x.advance(to: Moment(nanoseconds: 1_000_000_000))
        let pings = x.takeOutputs().compactMap { output -> (GossipEndpoint, UInt32, String)? in
            guard case .send(let to, let messages) = output, case .ping(let seq, let target, _, _)? = messages.first else { return nil }
            return (to, seq, target)
        }
        #expect(pings.count == 1)
        guard let (_, seq, target) = pings.first else { return }
        x.advance(to: Moment(nanoseconds: 1_600_000_000))
        let requests = x.takeOutputs().compactMap { output -> String? in
            guard case .send(_, let messages) = output, case .pingRequest(let s, let t, _, _, _)? = messages.first, s == seq else { return nil }
            return t
        }
        #expect(requests == [target], "the one other member is asked to probe")
        x.advance(to: Moment(nanoseconds: 2_000_000_000))
        #expect(x.members[target]?.status == .suspect)
        #expect(x.localHealth == 2, "a failed probe and a missing nack both count against us")
    }

    @Test func suspicionTimeoutShrinksWithConfirmations() {
        let settings = SWIMSettings(probeInterval: .milliseconds(1000), suspicionMaxTimeout: .milliseconds(8000),
                                    suspicionMinTimeout: .milliseconds(2000), suspicionConfirmations: 3)
        var alone = core("a", a, settings: settings)
        var confirmed = core("a", a, settings: settings)
        for id in 0..<6 {
            let endpoint = GossipEndpoint(host: "10.0.1.\(id)", port: 7946)
            alone.receive([alive("m\(id)", endpoint)])
            confirmed.receive([alive("m\(id)", endpoint)])
        }
        alone.receive([.update(.suspect(id: "m0", incarnation: 0, from: "m1"))])
        confirmed.receive([.update(.suspect(id: "m0", incarnation: 0, from: "m1"))])
        for from in ["m2", "m3", "m4"] { confirmed.receive([.update(.suspect(id: "m0", incarnation: 0, from: from))]) }
        alone.advance(to: Moment(nanoseconds: 2_500_000_000))
        confirmed.advance(to: Moment(nanoseconds: 2_500_000_000))
        #expect(confirmed.members["m0"]?.status == .dead, "three confirmations: the minimum timeout applies")
        #expect(alone.members["m0"]?.status == .suspect)
        alone.advance(to: Moment(nanoseconds: 8_100_000_000))
        #expect(alone.members["m0"]?.status == .dead, "alone, the maximum timeout applies")
    }

    @Test func updatesAreRetransmittedALimitedNumberOfTimes() {
        var x = core("a", a, settings: SWIMSettings(retransmitMultiplier: 2))
        x.receive([alive("b", b), alive("c", c)])
        var transmissions = 0
        for step in 1...40 {
            transmissions += gossiped(&x, at: Double(step) * 0.2).filter { if case .alive(let id, _, _, _) = $0 { id == "b" } else { false } }.count
        }
        // λ·⌈log10(N + 1)⌉ = 2·⌈log10 4⌉ = 2.
        #expect(transmissions == 2)
        #expect(x.pendingBroadcasts == 0)
    }

    @Test func queuedNewsLeavesAsTheLatestStateWithWhoReportedIt() {
        let d = GossipEndpoint(host: "10.0.0.4", port: 7946)
        // Probes far apart, so nobody is suspected by this core itself.
        var x = core("a", a, settings: SWIMSettings(probeInterval: .milliseconds(60_000), gossipInterval: .milliseconds(100)))
        x.receive([alive("b", b), alive("c", c), alive("d", d)])
        for step in 1...40 { _ = gossiped(&x, at: Double(step) * 0.2) }
        #expect(x.pendingBroadcasts == 0)
        // A suspicion, then an independent confirmation: the confirmation is passed on with
        // its own reporter (receivers count reporters to shorten their timeout).
        x.receive([.update(.suspect(id: "b", incarnation: 0, from: "c"))])
        x.receive([.update(.suspect(id: "b", incarnation: 0, from: "d"))])
        let sent = gossiped(&x, at: 8.2)
        #expect(sent.contains(.suspect(id: "b", incarnation: 0, from: "d")))
        #expect(!sent.contains(.suspect(id: "b", incarnation: 0, from: "c")), "one entry per member: the newer news replaced the older")
        // b refutes before the queue drains: what leaves is its alive state, not the suspicion.
        x.receive([.update(.suspect(id: "c", incarnation: 0, from: "d")), alive("b", b, incarnation: 1)])
        let later = gossiped(&x, at: 8.4)
        #expect(later.contains(.alive(id: "b", incarnation: 1, endpoint: b, metadata: MemberMetadata())))
        #expect(!later.contains { if case .suspect(let id, _, _) = $0 { id == "b" } else { false } })
        // Leaving: the news about ourselves is a death declared by ourselves.
        x.leave()
        let leaving = gossiped(&x, at: 8.6) + x.takeOutputs().flatMap { output -> [MembershipUpdate] in
            guard case .send(_, let messages) = output else { return [] }
            return messages.compactMap { if case .update(let u) = $0 { u } else { nil } }
        }
        #expect(leaving.contains(.dead(id: "a", incarnation: 0, from: "a")))
    }

    @Test func metadataChangesBumpTheIncarnationAndSpread() {
        var x = core("a", a)
        x.receive([alive("b", b)])
        var metadata = x.me.metadata
        metadata.state["drain"] = "true"
        x.updateMetadata(metadata)
        #expect(x.me.incarnation == 1)
        var y = core("b", b)
        y.receive([alive("a", a)])
        y.receive(gossiped(&x, at: 0.3).map { .update($0) })
        #expect(y.members["a"]?.metadata.state["drain"] == "true")
        let events = y.takeOutputs().compactMap { if case .event(let e) = $0 { e.change } else { nil } }
        #expect(events.contains(.updated))
    }

    @Test func joinRetriesWithBackoffUntilASeedAnswers() {
        var x = core("a", a)
        x.join(seeds: [b])
        var attempts: [Double] = []
        for step in 0...400 {
            let t = Double(step) * 0.05
            x.advance(to: Moment(nanoseconds: UInt64(t * 1e9)))
            for output in x.takeOutputs() { if case .pushPull(let to, let state) = output, to == b, state.join { attempts.append(t) } }
        }
        #expect(attempts.count >= 4)
        let gaps = zip(attempts.dropFirst(), attempts).map { $0 - $1 }
        #expect(gaps == gaps.sorted(), "gaps between attempts grow: \(gaps)")
        x.receivePushPullReply(PushPullState(sender: "b", join: false, members: [
            Member(id: "b", endpoint: b, metadata: MemberMetadata(), status: .alive, incarnation: 0, since: .zero)]))
        x.advance(to: Moment(nanoseconds: 60_000_000_000))
        #expect(!x.takeOutputs().contains { if case .pushPull(_, let s) = $0 { s.join } else { false } }, "joined: no more join attempts")
    }

    /// The probe round that targets `target`: its sequence, after the ack deadline has passed.
    func failedProbe(_ x: inout Core) -> (sequence: UInt32, target: String)? {
        x.advance(to: Moment(nanoseconds: 1_000_000_000))
        var found: (UInt32, String)?
        for case .send(_, let messages) in x.takeOutputs() {
            if case .ping(let seq, let target, _, _)? = messages.first { found = (seq, target) }
        }
        x.advance(to: Moment(nanoseconds: 1_600_000_000))
        let checks = x.takeOutputs().compactMap { output -> String? in
            if case .checkReachability(let member, _, _) = output { member } else { nil }
        }
        #expect(checks == found.map { [$0.1] }, "an unanswered ping leads to a TCP reachability check")
        return found.map { (sequence: $0.0, target: $0.1) }
    }

    @Test func aRefusedConnectionDeclaresTheMemberDeadAtOnce() throws {
        var x = core("a", a)
        x.receive([alive("b", b), alive("c", c)])
        _ = x.takeOutputs()
        let probe = try #require(failedProbe(&x))
        x.receiveReachability(member: probe.target, sequence: probe.sequence &+ 1, .refused)
        #expect(x.members[probe.target]?.status == .alive, "an answer for another probe round is ignored")
        x.receiveReachability(member: probe.target, sequence: probe.sequence, .refused)
        x.advance(to: Moment(nanoseconds: 1_600_000_001))
        #expect(x.members[probe.target]?.status == .dead, "nothing listens there: no suspicion period")
    }

    @Test func anAcceptedConnectionPostponesSuspicionForASuspicionTimeout() throws {
        var x = core("a", a, settings: SWIMSettings(suspicionMaxTimeout: .milliseconds(3000)))
        x.receive([alive("b", b)])
        _ = x.takeOutputs()
        let probe = try #require(failedProbe(&x))
        x.receiveReachability(member: probe.target, sequence: probe.sequence, .accepted)
        x.advance(to: Moment(nanoseconds: 2_000_000_000))
        #expect(x.members["b"]?.status == .alive, "its kernel answers: paused or lossy, not gone")
        // Still silent on every probe (each accepted), until a whole suspicion timeout passed.
        var t: UInt64 = 2_000_000_000
        while x.members["b"]?.status == .alive && t < 10_000_000_000 {
            t += 100_000_000
            x.advance(to: Moment(nanoseconds: t))
            for case .checkReachability(let member, _, let seq) in x.takeOutputs() { x.receiveReachability(member: member, sequence: seq, .accepted) }
        }
        #expect(x.members["b"]?.status == .suspect)
        #expect(t >= 1_500_000_000 + 3_000_000_000, "suspected only after the suspicion timeout of silence (at \(t) ns)")
    }

    @Test func watchTargetsAreTheNextMembersInIdOrderWrappingAround() {
        var x = core("c", c)
        x.receive([alive("a", a), alive("b", b), alive("d", GossipEndpoint(host: "127.0.0.1", port: 4)),
                   alive("e", GossipEndpoint(host: "127.0.0.1", port: 5))])
        #expect(x.watchTargets(count: 2).map(\.id) == ["d", "e"])
        #expect(x.watchTargets(count: 3).map(\.id) == ["d", "e", "a"], "wraps past the largest id")
        #expect(x.watchTargets(count: 9).map(\.id) == ["d", "e", "a", "b"], "never more than the others")
        let version = x.membershipVersion
        x.receive([.update(.dead(id: "d", incarnation: 0, from: "b"))])
        #expect(x.membershipVersion != version, "a member leaving the live set changes the version")
        #expect(x.watchTargets(count: 2).map(\.id) == ["e", "a"], "down members are not watched")
    }

    @Test func aLostWatchConnectionLeadsToACheckAndARefusalToDeath() {
        var x = core("a", a)
        x.receive([alive("b", b), alive("c", c)])
        _ = x.takeOutputs()
        x.receiveConnectionLost(member: "b")
        #expect(x.takeOutputs() == [.checkGone(member: "b", endpoint: b)])
        x.receiveGoneCheck(member: "b", .accepted)
        x.advance(to: Moment(nanoseconds: 1))
        #expect(x.members["b"]?.status == .alive, "its port still accepts: paused, or the connection just broke")
        x.receiveGoneCheck(member: "b", .refused)
        x.advance(to: Moment(nanoseconds: 2))
        #expect(x.members["b"]?.status == .dead, "nothing listens: dead at once")
        x.receiveConnectionLost(member: "b")
        x.receiveConnectionLost(member: "nobody")
        #expect(!x.takeOutputs().contains { if case .checkGone = $0 { true } else { false } }, "no check for down or unknown members")
    }

    @Test func membersOfAnIncompatibleProtocolVersionAreRefused() {
        var x = core("a", a)
        x.receive([.update(.alive(id: "future", incarnation: 0, endpoint: b, metadata: MemberMetadata(protocolVersion: GossipProtocol.version + 1)))])
        x.receive([.update(.alive(id: "future", incarnation: 1, endpoint: b, metadata: MemberMetadata(protocolVersion: GossipProtocol.version + 1)))])
        #expect(x.members["future"] == nil)
        let refused = x.takeOutputs().compactMap { if case .event(let e) = $0, e.change == .refused { e.member } else { nil } }
        #expect(refused == ["future"], "reported once")
        x.receive([alive("c", c)])
        #expect(x.members["c"]?.status == .alive)
    }
}
