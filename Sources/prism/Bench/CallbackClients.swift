import NIOCore

/// Bench clients that live on an event loop and send each request from the previous one's reply
/// callback: no task, no executor switch and no future per request. On two shared cores the
/// task-per-client load generator took 65% of a core at peak, its profile mostly Swift
/// concurrency's machinery, and that CPU is taken from the nodes whose tail it measures.
///
/// Only the steady state runs here: a request goes straight to the group's known leader on a
/// connection of the client's own loop. Anything else (no leader known yet, no session open, a
/// reply other than `ok`, a timeout or a closed connection) hands that request to
/// `LeaderRouter.call`, whose retries, leader hints and session renewals stay the one
/// implementation, and the client carries on by callback once it is answered.
enum CallbackClients {
    /// One request of a client.
    struct Step: Sendable {
        var operation: KVWire.Operation
        var key: String
        var value: String?
    }

    /// `clients` clients, spread over `executors`' loops, each with one request in flight for
    /// `seconds`; `step(client, n)` is the client's `n`th request, `answered` runs once it is
    /// answered. Returns every request's latency.
    static func phase(clients: Int, seconds: Double, groups: UInt64, router: LeaderRouter, executors: [EventLoopTaskExecutor],
                      step: @escaping @Sendable (Int, Int) -> Step,
                      answered: @escaping @Sendable (Int, UInt64, Step) -> Void) async throws -> [RaftBench.LatencySample] {
        let begin = ContinuousClock.now
        let deadline = begin + .milliseconds(Int(seconds * 1000))
        var results: [EventLoopFuture<[RaftBench.LatencySample]>] = []
        for client in 0..<clients {
            let executor = executors[client % executors.count]
            let done = executor.loop.makePromise(of: [RaftBench.LatencySample].self)
            results.append(done.futureResult)
            executor.loop.execute {
                CallbackClient(client: client, executor: executor, router: router, groups: groups, begin: begin, deadline: deadline,
                               step: step, answered: answered, done: done).issue()
            }
        }
        var all: [RaftBench.LatencySample] = []
        for result in results { all += try await result.get() }
        return all
    }
}

/// One client's state, touched only on its loop.
private final class CallbackClient {
    let client: Int
    let executor: EventLoopTaskExecutor
    let router: LeaderRouter
    let groups: UInt64
    let begin: ContinuousClock.Instant
    let deadline: ContinuousClock.Instant
    let step: @Sendable (Int, Int) -> CallbackClients.Step
    let answered: @Sendable (Int, UInt64, CallbackClients.Step) -> Void
    let done: EventLoopPromise<[RaftBench.LatencySample]>
    private var n = 0
    private var latencies: [RaftBench.LatencySample] = []

    init(client: Int, executor: EventLoopTaskExecutor, router: LeaderRouter, groups: UInt64, begin: ContinuousClock.Instant,
         deadline: ContinuousClock.Instant, step: @escaping @Sendable (Int, Int) -> CallbackClients.Step,
         answered: @escaping @Sendable (Int, UInt64, CallbackClients.Step) -> Void, done: EventLoopPromise<[RaftBench.LatencySample]>) {
        self.client = client
        self.executor = executor
        self.router = router
        self.groups = groups
        self.begin = begin
        self.deadline = deadline
        self.step = step
        self.answered = answered
        self.done = done
    }

    /// Sends the next request, or ends the client at its deadline.
    func issue() {
        let start = ContinuousClock.now
        guard start < deadline else { return done.succeed(latencies) }
        let group = UInt64(client + n) % groups + 1
        let request = step(client, n)
        let id = router.nextRequestID()
        guard let leader = router.knownLeader(of: group), let pool = router.connections[leader], !pool.isEmpty else {
            return slow(start, request, group)
        }
        let connection = LeaderRouter.pick(from: pool, id: id)
        guard connection.channel.eventLoop.inEventLoop else { return slow(start, request, group) }
        var numbered: ClientSessions.Numbered?
        if request.operation == .put {
            guard let next = router.sessions.nextIfOpen(group: group) else { return slow(start, request, group) }
            numbered = next
        }
        let wire = numbered.map { router.putRequest(id: id, group: group, key: request.key, value: request.value, $0) }
            ?? KVWire.Request(id: id, operation: request.operation, group: group, key: request.key, value: request.value)
        let me = NIOLoopBound(self, eventLoop: executor.loop)
        connection.send(wire) { [numbered] result in
            let client = me.value
            if let numbered { client.router.finish(group: group, numbered) }
            if case .success(let reply) = result, reply.status == .ok {
                client.record(start, request, group)
                return client.issue()
            }
            client.note(result, numbered: numbered, group: group)
            client.slow(start, request, group)
        }
    }

    /// What the router's own path would have learned from a failed try.
    private func note(_ result: Result<KVWire.Reply, any Error>, numbered: ClientSessions.Numbered?, group: UInt64) {
        switch result {
        case .success(let reply) where reply.status == .noSession:
            router.sessionsLost.add(1, ordering: .relaxed)
            if let numbered { router.sessions.lost(group: group, session: numbered.session) }
        case .success(let reply) where reply.status == .leadershipLost:
            router.leadershipLost.add(1, ordering: .relaxed)
            router.forgetLeader(of: group)
        case .failure(let error):
            if error is KVConnection.ReplyTimeout { router.timeouts.add(1, ordering: .relaxed) }
            router.forgetLeader(of: group)
        default:
            break
        }
    }

    /// The request through `LeaderRouter.call` (a put is numbered afresh there; one of the same
    /// value acting twice changes nothing), then the next by callback again.
    private func slow(_ start: ContinuousClock.Instant, _ request: CallbackClients.Step, _ group: UInt64) {
        let (router, loop) = (self.router, executor.loop)
        let me = NIOLoopBound(self, eventLoop: loop)
        Task(executorPreference: executor) {
            do {
                _ = try await router.call(request.operation, group: group, key: request.key, value: request.value)
                loop.execute {
                    me.value.record(start, request, group)
                    me.value.issue()
                }
            } catch {
                loop.execute { me.value.done.fail(error) }
            }
        }
    }

    private func record(_ start: ContinuousClock.Instant, _ request: CallbackClients.Step, _ group: UInt64) {
        latencies.append(RaftBench.LatencySample(sentAt: BenchSupport.seconds(start - begin),
                                                 milliseconds: BenchSupport.seconds(ContinuousClock.now - start) * 1000))
        answered(client, group, request)
        n += 1
    }
}
