import Foundation

/// Finds the line on which each key of a TOML document is written. TOMLKit does not report value
/// positions, so errors about a value would otherwise name only the file; this light scan of
/// `[table]` headers and `key =` lines recovers them.
struct TOMLLineIndex {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var section: [String] = []
        var lineNumber = 0
        var inMultiline: String?
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters()
            if let delimiter = inMultiline {
                if line.contains(delimiter) { inMultiline = nil }
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                let isArray = line.hasPrefix("[[")
                let body = line.drop(while: { $0 == "[" }).prefix(while: { $0 != "]" })
                section = TOMLLineIndex.splitKey(String(body))
                let path = section.joined(separator: ".")
                if lines[path] == nil || isArray { lines[path] = lineNumber }
                continue
            }
            guard let equals = TOMLLineIndex.assignmentIndex(line) else { continue }
            let keyParts = TOMLLineIndex.splitKey(String(line[..<equals]))
            let path = (section + keyParts).joined(separator: ".")
            if lines[path] == nil { lines[path] = lineNumber }
            let value = line[line.index(after: equals)...]
            for delimiter in ["\"\"\"", "'''"] where value.contains(delimiter) {
                if value.components(delimiter) == 2 { inMultiline = delimiter }
            }
        }
    }

    /// Line of `path`, or of its closest enclosing table.
    func line(of path: String) -> Int? {
        var parts = path.split(separator: ".").map(String.init)
        while !parts.isEmpty {
            if let line = lines[parts.joined(separator: ".")] { return line }
            parts.removeLast()
        }
        return nil
    }

    /// Index of the `=` that ends the key, skipping quoted key parts.
    private static func assignmentIndex(_ line: Substring) -> Substring.Index? {
        var quote: Character?
        var index = line.startIndex
        while index < line.endIndex {
            let ch = line[index]
            if let q = quote {
                if ch == q { quote = nil }
            } else if ch == "\"" || ch == "'" {
                quote = ch
            } else if ch == "=" {
                return index
            }
            index = line.index(after: index)
        }
        return nil
    }

    /// `a."b.c".d` → ["a", "b.c", "d"].
    static func splitKey(_ key: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        for ch in key {
            if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
            } else if ch == "\"" || ch == "'" {
                quote = ch
            } else if ch == "." {
                parts.append(current.trimmingSpaces)
                current = ""
            } else {
                current.append(ch)
            }
        }
        parts.append(current.trimmingSpaces)
        return parts.filter { !$0.isEmpty }
    }
}

extension Substring {
    func trimmingCharacters() -> Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }

    func components(_ delimiter: String) -> Int {
        var count = 0
        var rest = self
        while let range = rest.range(of: delimiter) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
