import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `prism` child process for multi-process tests: started with flags, waited on until it
/// prints its ready line, then stopped with a signal.
public final class PrismProcess: @unchecked Sendable {
    public let process = Process()
    private let stdout = Pipe()
    private let stderr = Pipe()
    private let lock = NSLock()
    private var output = ""
    private var errors = ""
    public private(set) var httpPort = 0
    public private(set) var gossipPort = 0

    /// The `prism` executable built next to the test bundle.
    public static var binary: String {
        if let explicit = ProcessInfo.processInfo.environment["PRISM_TEST_BINARY"] { return explicit }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("prism").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return FileManager.default.currentDirectoryPath + "/.build/debug/prism"
    }

    /// `launcher` runs the binary through another command (`["ip", "netns", "exec", NAME]`:
    /// inside a network namespace); it must exec the binary, so signals reach `prism` itself.
    public init(arguments: [String], environment: [String: String] = [:], launcher: [String] = [], binary: String = PrismProcess.binary) {
        if let command = launcher.first {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [command] + launcher.dropFirst() + [binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PRISM_") && $0.key != "NODE_ID" && $0.key != "NODE_ZONE" }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = stdout
        process.standardError = stderr
        stdout.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.output += String(decoding: data, as: UTF8.self) }
        }
        stderr.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.errors += String(decoding: data, as: UTF8.self) }
        }
    }

    public var standardOutput: String { lock.withLock { output } }
    public var standardError: String { lock.withLock { errors } }

    public func start() throws {
        try process.run()
    }

    /// Starts `prism serve` and waits for its ready line; returns the HTTP port it listens on.
    @discardableResult
    public func startServing(timeout: Double = 60) async throws -> Int {
        try await startAndWait(for: "prism ready", timeout: timeout) { line in
            guard let port = Self.port(of: "http=", in: line) else { return false }
            httpPort = port
            gossipPort = Self.port(of: "gossip=", in: line) ?? 0
            return true
        }
        return httpPort
    }

    /// Starts `prism agent` and waits for its ready line; returns the gossip port it listens on.
    @discardableResult
    public func startAgent(timeout: Double = 60) async throws -> Int {
        try await startAndWait(for: "prism agent ready", timeout: timeout) { line in
            guard let port = Self.port(of: "gossip=", in: line) else { return false }
            gossipPort = port
            return true
        }
        return gossipPort
    }

    /// Starts the process and waits until a stdout line with `prefix` satisfies `accept`.
    private func startAndWait(for prefix: String, timeout: Double, _ accept: (Substring) -> Bool) async throws {
        try start()
        let deadline = Date().addingTimeInterval(timeout)
        // Looked at once more after the deadline: a task that was not scheduled for a while (CPU-bound
        // tests sharing the pool) may wake past it with the ready line long printed.
        var lastLook = false
        while !lastLook {
            lastLook = Date() >= deadline
            if let line = standardOutput.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }), accept(line) { return }
            if !process.isRunning {
                throw HTTPClient.Failure(description: "prism exited with \(process.terminationStatus) before it was ready:\n\(standardError)")
            }
            if !lastLook { try await Task.sleep(for: .milliseconds(20)) }
        }
        throw HTTPClient.Failure(description: "prism did not become ready in \(timeout)s:\n\(standardError)")
    }

    static func port(of field: String, in line: Substring) -> Int? {
        line.split(separator: " ").first { $0.hasPrefix(field) }?.split(separator: ":").last.flatMap { Int($0) }
    }

    /// Lines of stdout that are JSON objects (`--events`), parsed.
    public var jsonLines: [[String: Any]] {
        standardOutput.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    public var client: HTTPClient { HTTPClient(port: httpPort) }

    public func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit and returns its status.
    public func waitForExit(timeout: Double = 60) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { return nil }
        return process.terminationStatus
    }

    /// Runs to completion (for short commands like `prism config check`).
    public func runToEnd(timeout: Double = 60) async throws -> Int32 {
        try start()
        guard let status = await waitForExit(timeout: timeout) else {
            signal(SIGKILL)
            throw HTTPClient.Failure(description: "command did not finish in \(timeout)s")
        }
        // Let the readability handlers drain.
        try await Task.sleep(for: .milliseconds(100))
        return status
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        stdout.fileHandleForReading.readabilityHandler = nil
        stderr.fileHandleForReading.readabilityHandler = nil
    }
}
