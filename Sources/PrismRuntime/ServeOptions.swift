import ArgumentParser
import Foundation
import Logging
import PrismConfig

/// Command-line flags of `prism serve`; each sets one configuration key and beats the file and
/// the environment.
public struct ServeOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "TOML configuration file.")
    public var config: String?

    @Option(name: .long, help: "Data directory (storage.data_dir).")
    public var dataDir: String?

    @Option(name: .long, help: "Node id (node.id).")
    public var nodeId: String?

    @Option(name: .long, help: "Availability zone (node.zone).")
    public var zone: String?

    @Option(name: .long, help: "Rack (node.rack).")
    public var rack: String?

    @Option(name: .long, help: "Region (node.region).")
    public var region: String?

    @Option(name: .long, help: "HTTP listen address HOST:PORT (server.http).")
    public var http: String?

    @Option(name: .long, help: "Gossip listen address HOST:PORT (server.gossip_addr).")
    public var gossip: String?

    @Option(name: .long, help: "RPC listen address HOST:PORT (server.rpc_addr).")
    public var rpc: String?

    @Option(name: .long, help: "Gossip seeds HOST:PORT,... (federation.discovery.gossip_seeds; sets backend = \"gossip\").")
    public var seeds: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: String = "info"

    @Flag(name: .long, help: "Print one JSON line per membership change on stdout: {\"t\", \"member\", \"state\", \"incarnation\"}.")
    public var events = false

    public init() {}

    var flagValues: [ConfigLoader.FlagValue] {
        var values: [ConfigLoader.FlagValue] = []
        func add(_ text: String?, _ key: String, _ flag: String) {
            if let text { values.append(.init(key: key, flag: flag, text: text)) }
        }
        add(dataDir, "storage.data_dir", "--data-dir")
        add(nodeId, "node.id", "--node-id")
        add(zone, "node.zone", "--zone")
        add(rack, "node.rack", "--rack")
        add(region, "node.region", "--region")
        add(http, "server.http", "--http")
        add(gossip, "server.gossip_addr", "--gossip")
        add(rpc, "server.rpc_addr", "--rpc")
        if let seeds {
            add(seeds, "federation.discovery.gossip_seeds", "--seeds")
            add("gossip", "federation.discovery.backend", "--seeds")
        }
        return values
    }
}

extension ServeOptions {
    /// Sends logs to stderr at `--log-level`.
    public func bootstrapLogging() throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level: '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// The configuration from file, environment and flags; errors are printed and exit with 2.
    public func loadConfig() throws -> PrismConfig {
        do {
            let loader = ConfigLoader(filePath: config, environment: ProcessInfo.processInfo.environment, flags: flagValues)
            return try loader.load().typed()
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
    }
}
