import ArgumentParser
import Foundation

/// A peer's Python runner kept alive between timed passes, so the bench can alternate a Prism
/// pass with a peer pass: this machine drifts between speed modes over tens of seconds, and a
/// ratio of two passes run seconds apart compares the engines in the same mode, where one of
/// two whole runs done one after the other does not.
///
/// The protocol is one JSON object per line on the runner's standard output: the first when it
/// is ready, then one per line the bench writes to its standard input; closing standard input
/// ends it.
final class PeerSession {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffered = Data()
    private let script: String

    /// Starts `bench/<relative>` and waits for its first line.
    init(_ relative: String, _ arguments: [String], install: String) throws {
        script = BenchSupport.pythonScript(relative)
        BenchSupport.progress("running \(script)")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        guard let first = try readLine() else {
            process.waitUntilExit()
            throw ValidationError("\(script) failed (exit \(process.terminationStatus)); install the peer with `\(install)`")
        }
        ready = first
    }

    /// The first line: what the runner said when it became ready.
    private(set) var ready = Data()

    /// Sends one command line and returns the runner's answer line.
    func ask(_ command: String) throws -> Data {
        input.fileHandleForWriting.write(Data((command + "\n").utf8))
        guard let line = try readLine() else { throw ValidationError("\(script) ended before answering `\(command)`") }
        return line
    }

    /// Closes the runner's input and waits for it to exit.
    func finish() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    private func readLine() throws -> Data? {
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffered[buffered.startIndex..<newline]
                buffered = Data(buffered[buffered.index(after: newline)...])
                return Data(line)
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffered.append(chunk)
        }
    }
}
