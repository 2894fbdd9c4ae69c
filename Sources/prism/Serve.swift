import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PrismConfig
import PrismHTTP
import PrismMetrics
import PrismSearch
import PrismStorage
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a Prism node.")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        guard let level = Logger.Level(rawValue: options.logLevel) else {
            throw ValidationError("--log-level: '\(options.logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "prism")

        let config: PrismConfig
        do {
            let loader = ConfigLoader(filePath: options.config, environment: ProcessInfo.processInfo.environment,
                                      flags: options.flagValues)
            config = try loader.load().typed()
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }

        let node = try NodeRuntime(config: config, logger: logger)
        try await node.run()
    }
}
