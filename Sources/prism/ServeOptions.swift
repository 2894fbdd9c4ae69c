import ArgumentParser
import Foundation
import Logging
import PrismConfig

/// Command-line flags of `prism serve`; each sets one configuration key and beats the file and
/// the environment.
struct ServeOptions: ParsableArguments {
    @Option(name: .long, help: "TOML configuration file.")
    var config: String?

    @Option(name: .long, help: "Data directory (storage.data_dir).")
    var dataDir: String?

    @Option(name: .long, help: "Node id (node.id).")
    var nodeId: String?

    @Option(name: .long, help: "Availability zone (node.zone).")
    var zone: String?

    @Option(name: .long, help: "Rack (node.rack).")
    var rack: String?

    @Option(name: .long, help: "Region (node.region).")
    var region: String?

    @Option(name: .long, help: "HTTP listen address HOST:PORT (server.http).")
    var http: String?

    @Option(name: .long, help: "Gossip listen address HOST:PORT (server.gossip_addr).")
    var gossip: String?

    @Option(name: .long, help: "RPC listen address HOST:PORT (server.rpc_addr).")
    var rpc: String?

    @Option(name: .long, help: "Gossip seeds HOST:PORT,... (federation.discovery.gossip_seeds; sets backend = \"gossip\").")
    var seeds: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Flag(name: .long, help: "Print one JSON line per membership change on stdout: {\"t\", \"member\", \"state\", \"incarnation\"}.")
    var events = false

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
    func bootstrapLogging() throws {
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
    func loadConfig() throws -> PrismConfig {
        do {
            let loader = ConfigLoader(filePath: config, environment: ProcessInfo.processInfo.environment, flags: flagValues)
            return try loader.load().typed()
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
    }
}
