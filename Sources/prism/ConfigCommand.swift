import ArgumentParser
import Foundation
import PrismConfig

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Inspect configuration.",
        subcommands: [Check.self, Reference.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration file (with the PRISM_* environment) and print the effective configuration.",
            discussion: "Exits 0 and prints every key with its value and source, or prints every error and exits 2."
        )

        @Argument(help: "The TOML file to check.")
        var file: String

        func run() throws {
            let loader = ConfigLoader(filePath: file, environment: ProcessInfo.processInfo.environment)
            do {
                let resolved = try loader.load()
                print(resolved.render(), terminator: "")
            } catch {
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
                throw ExitCode(2)
            }
        }
    }

    struct Reference: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the configuration reference (every key, its default and meaning) as Markdown."
        )

        func run() {
            print(ConfigReference.markdown(), terminator: "")
        }
    }
}
