import ArgumentParser
import Foundation
import PrismRuntime

#if canImport(Glibc)
import Glibc
#endif

/// `prism agent`: gossip membership only (no HTTP, no storage), same flags as `serve`. It runs
/// as the small `prism-agent` binary installed next to `prism` when there is one, so an agent
/// maps only the gossip code and not the search engine and HTTP server it never uses; otherwise
/// in this process.
struct Agent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run gossip membership only (no HTTP, no storage): for benchmarks and observers.")

    @OptionGroup var options: ServeOptions

    func run() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst(2))
        if let slim = Self.slimBinary() {
            let argv: [UnsafeMutablePointer<CChar>?] = ([slim] + arguments).map { strdup($0) } + [nil]
            execv(slim, argv)
            // Only reached when exec failed: run here instead.
        }
        try await AgentMain.run(options)
    }

    /// `prism-agent` in the directory of the running executable, if it is there.
    static func slimBinary() -> String? {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        let path = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("prism-agent").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }
}
