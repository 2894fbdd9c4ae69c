import ArgumentParser
import PrismRuntime

/// `prism-agent`: what `prism agent` runs, as a binary of its own that links only membership
/// (gossip, transport, configuration), not the search engine, storage or HTTP.
@main
struct PrismAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prism-agent",
        abstract: "Gossip membership only (the same as `prism agent`): for benchmarks and observers.")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        try await AgentMain.run(options)
    }
}
