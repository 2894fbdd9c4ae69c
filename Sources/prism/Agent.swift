import ArgumentParser
import Foundation
import Logging
import PrismConfig
import PrismGossip

/// `prism agent`: gossip membership only, with no HTTP API and no storage. Same flags as
/// `serve`; used by `prism bench gossip --mode process` and as a mesh observer (`--events`).
struct Agent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run gossip membership only (no HTTP, no storage): for benchmarks and observers.")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        try options.bootstrapLogging()
        var config = try options.loadConfig()
        // An agent always gossips: that is all it does.
        config.discovery.gossipExplicit = true
        let logger = Logger(label: "prism")
        let runtime = try await GossipRuntime.start(config: config, httpAddress: "", printEvents: options.events,
                                                    metrics: nil, logger: logger)
        let agent = runtime.agent
        let running = Task { await agent.run() }
        FileHandle.standardOutput.write(Data("prism agent ready node=\(config.node.id) gossip=\(agent.endpoint)\n".utf8))
        let signal = await ShutdownSignal.wait()
        logger.info("agent stopping; leaving the mesh", metadata: ["signal": "\(signal)"])
        await runtime.stop()
        running.cancel()
        await running.value
    }
}

/// Waits for SIGINT or SIGTERM (for commands that do not run a ServiceGroup).
enum ShutdownSignal {
    static func wait() async -> Int32 {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        let sources = [SIGINT, SIGTERM].map { sig in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { continuation.yield(sig) }
            source.resume()
            return source
        }
        var iterator = stream.makeAsyncIterator()
        let received = await iterator.next() ?? SIGTERM
        for source in sources { source.cancel() }
        return received
    }
}
