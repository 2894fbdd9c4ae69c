import ArgumentParser
import Foundation

/// What the benchmarks share: progress on stderr, durations, and running a peer's Python runner.
enum BenchSupport {
    static func progress(_ text: String) {
        FileHandle.standardError.write(Data("[bench] \(text)\n".utf8))
    }

    /// `<parent>/prism-bench-<kind>-<pid>`, for this run's files, after removing the folders
    /// runs of the same kind left behind when they were killed (`prism-bench-<kind>-<pid>` and
    /// `…-<pid>-<suffix>` whose process is gone): a bench removes its folder when it ends, but a
    /// SIGKILL gives it no chance, and each such run left its nodes' data in /tmp for good.
    static func freshFolder(in parent: String, kind: String) -> String {
        let prefix = "prism-bench-\(kind)-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        for name in names where name.hasPrefix(prefix) {
            let digits = name.dropFirst(prefix.count).prefix { $0.isNumber }
            guard let pid = Int32(digits), pid > 0, pid != getpid() else { continue }
            let rest = name.dropFirst(prefix.count + digits.count)
            guard rest.isEmpty || rest.hasPrefix("-") else { continue }
            // kill(pid, 0) fails with ESRCH only when no such process exists.
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(atPath: parent + "/" + name)
                progress("removed \(parent)/\(name), left by a run that was killed")
            }
        }
        return parent + "/" + prefix + String(getpid())
    }

    static func seconds(_ d: Swift.Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// `bench/<relative>` beside the sources when they are there, else from the working directory.
    static func pythonScript(_ relative: String) -> String {
        let beside = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("bench/" + relative).path
        return FileManager.default.fileExists(atPath: beside) ? beside : "bench/" + relative
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}
