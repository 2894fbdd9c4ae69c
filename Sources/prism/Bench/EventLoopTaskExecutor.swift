import NIOCore

/// Runs a task's jobs on one event loop. A bench client whose task prefers the loop its
/// connection lives on writes a request and resumes on its reply on that loop's thread, instead
/// of hopping to the loop to write and back to the cooperative pool on every answer: on two
/// shared cores those hops and wake-ups were a third of a put's latency as the client saw it.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: EventLoop

    init(loop: EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// One per loop of `group`.
    static func each(of group: EventLoopGroup) -> [EventLoopTaskExecutor] {
        group.makeIterator().map { EventLoopTaskExecutor(loop: $0) }
    }
}
