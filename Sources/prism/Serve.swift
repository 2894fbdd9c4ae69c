import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PrismConfig
import PrismHTTP
import PrismMetrics
import PrismRuntime
import PrismSearch
import PrismStorage
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a Prism node.")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        try options.bootstrapLogging()
        let config = try options.loadConfig()
        let node = try NodeRuntime(config: config, logger: Logger(label: "prism"), printEvents: options.events)
        try await node.run()
    }
}
