import ArgumentParser
import Dispatch
import PrismRuntime
import Synchronization

/// `prism-agent`: what `prism agent` runs, as a binary of its own that links only membership
/// (gossip, transport, configuration), not the search engine, storage or HTTP.
///
/// A synchronous main that blocks its thread until the agent is done: an async main ends in
/// `dispatch_main`, which exits the main thread with `pthread_exit`, and the forced unwind that
/// follows reads the whole unwind table (3.6 MB of `.eh_frame` resident in every idle agent).
@main
struct PrismAgent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prism-agent",
        abstract: "Gossip membership only (the same as `prism agent`): for benchmarks and observers.")

    @OptionGroup var options: ServeOptions

    func run() throws {
        let outcome = Outcome()
        let options = self.options
        Task {
            do { try await AgentMain.run(options) } catch { outcome.failure.withLock { $0 = error } }
            outcome.done.signal()
        }
        outcome.done.wait()
        if let error = outcome.failure.withLock({ $0 }) { throw error }
    }
}

private final class Outcome: Sendable {
    let failure = Mutex<(any Error)?>(nil)
    let done = DispatchSemaphore(value: 0)
}
