import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a benchmark and print its figures (see bench/README.md).",
        subcommands: [StorageBench.self, SearchBench.self, VectorBench.self, GossipBench.self, PlacementBench.self, RaftBench.self]
    )
}
