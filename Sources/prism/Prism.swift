import ArgumentParser

@main
struct Prism: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prism",
        abstract: "Prism: hybrid search (BM25 + vectors) on a gossip-native peer mesh.",
        subcommands: [Serve.self, Agent.self, ConfigCommand.self, BenchCommand.self, SimCommand.self, RaftNodeCommand.self, Version.self],
        defaultSubcommand: nil
    )
}
