import Foundation
import Logging
import PrismConfig
import PrismGossip

/// Gossip membership only, with no HTTP API and no storage: what `prism agent` and the
/// `prism-agent` binary run (for benchmarks and as a mesh observer, `--events`).
public enum AgentMain {
    public static func run(_ options: ServeOptions) async throws {
        try options.bootstrapLogging()
        var config = try options.loadConfig()
        // An agent always gossips: that is all it does.
        config.discovery.gossipExplicit = true
        let logger = Logger(label: "prism")
        let runtime = try await GossipRuntime.start(config: config, httpAddress: "", printEvents: options.events,
                                                    metrics: nil, logger: logger)
        let agent = runtime.agent
        let running = Task { await agent.run() }
        // `--events`: SIGUSR1 prints the traffic counters as one more JSON line (benchmarks
        // read idle traffic this way).
        let statsSignal = options.events ? StatisticsSignal.install(agent: agent) : nil
        defer { statsSignal?.cancel() }
        let shutdown = ShutdownSignal.listen()
        FileHandle.standardOutput.write(Data("prism agent ready node=\(config.node.id) gossip=\(agent.endpoint)\n".utf8))
        let signal = await shutdown.wait()
        logger.info("agent stopping; leaving the mesh", metadata: ["signal": "\(signal)"])
        await runtime.stop()
        running.cancel()
        await running.value
    }
}

/// SIGINT and SIGTERM, caught from `listen()` on (for commands that do not run a ServiceGroup).
/// Listening starts before the ready line is printed, so a signal sent as soon as the line appears
/// is caught rather than arriving before the handler exists.
public final class ShutdownSignal: @unchecked Sendable {  // the sources are only cancelled, once, by wait
    private let stream: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    private init(stream: AsyncStream<Int32>, sources: [any DispatchSourceSignal]) {
        self.stream = stream
        self.sources = sources
    }

    public static func listen() -> ShutdownSignal {
        // The default action (exit) is ignored first; libdispatch's handler then observes them.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        let sources = [SIGINT, SIGTERM].map { sig in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { continuation.yield(sig) }
            source.resume()
            return source
        }
        return ShutdownSignal(stream: stream, sources: sources)
    }

    /// The first signal received.
    public func wait() async -> Int32 {
        var iterator = stream.makeAsyncIterator()
        let received = await iterator.next() ?? SIGTERM
        for source in sources { source.cancel() }
        return received
    }
}

/// Prints `{"t", "stats": {...}}` on SIGUSR1.
enum StatisticsSignal {
    static func install(agent: GossipAgent) -> DispatchSourceSignal {
        signal(SIGUSR1, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
        source.setEventHandler {
            let s = agent.statistics
            let line = "{\"t\":\(String(format: "%.6f", Date().timeIntervalSince1970)),\"stats\":{\"datagrams_sent\":\(s.datagramsSent),"
                + "\"bytes_sent\":\(s.bytesSent),\"datagrams_received\":\(s.datagramsReceived),\"bytes_received\":\(s.bytesReceived)}}\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        source.resume()
        return source
    }
}
