/// Highlight options of a search (`highlight` in API.md).
public struct HighlightOptions: Sendable, Equatable {
    public var fields: [String]?
    public var preTag = "<em>"
    public var postTag = "</em>"
    public var fragmentSize = 150
    public var numberOfFragments = 3

    public init() {}

    static func parse(_ value: JSONValue) throws(EngineError) -> HighlightOptions {
        guard case .object(let o) = value else { throw .invalid("highlight: expected an object, got \(value.typeName)") }
        var options = HighlightOptions()
        for key in o.keys.sorted() where !["fields", "pre_tag", "post_tag", "fragment_size", "number_of_fragments"].contains(key) {
            throw .invalid("highlight.\(key): unknown option; allowed: fields, pre_tag, post_tag, fragment_size, number_of_fragments")
        }
        if let f = o["fields"] {
            guard case .array(let items) = f else { throw .invalid("highlight.fields: expected an array of field names") }
            var names: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw .invalid("highlight.fields: expected field names, got \(item.typeName)") }
                names.append(s)
            }
            options.fields = names
        }
        if let p = o["pre_tag"] {
            guard case .string(let s) = p else { throw .invalid("highlight.pre_tag: expected a string") }
            options.preTag = s
        }
        if let p = o["post_tag"] {
            guard case .string(let s) = p else { throw .invalid("highlight.post_tag: expected a string") }
            options.postTag = s
        }
        if let n = o["fragment_size"] {
            guard let i = n.int64Value, (10...10_000).contains(i) else { throw .invalid("highlight.fragment_size: expected an integer in 10...10000") }
            options.fragmentSize = Int(i)
        }
        if let n = o["number_of_fragments"] {
            guard let i = n.int64Value, (0...100).contains(i) else { throw .invalid("highlight.number_of_fragments: expected an integer in 0...100") }
            options.numberOfFragments = Int(i)
        }
        return options
    }
}

/// Cuts fragments of a field's text around the matched terms and wraps each match in tags. The
/// best fragments (most matches) come first; `number_of_fragments = 0` returns the whole text.
struct Highlighter {
    let options: HighlightOptions

    func fragments(_ text: String, analyzer: Analyzer, terms: Set<String>) -> [String] {
        let matches = analyzer.termSpans(text).filter { terms.contains($0.term) }.map { ($0.start, $0.end) }
        guard !matches.isEmpty else { return [] }
        let bytes = Array(text.utf8)
        // Merge overlapping spans (a code word yields several terms over one range).
        var spans: [(Int, Int)] = []
        for m in matches.sorted(by: { $0.0 < $1.0 }) {
            if let last = spans.last, m.0 < last.1 { spans[spans.count - 1].1 = max(last.1, m.1) } else { spans.append(m) }
        }
        if options.numberOfFragments == 0 { return [render(bytes, 0, bytes.count, spans)] }
        var windows: [(start: Int, end: Int, hits: Int)] = []
        var i = 0
        while i < spans.count {
            let (s, e) = spans[i]
            var start = max(0, s - max(0, (options.fragmentSize - (e - s)) / 3))
            var end = min(bytes.count, start + max(options.fragmentSize, e - s))
            start = wordStart(bytes, start)
            end = wordEnd(bytes, end)
            var hits = 0
            while i < spans.count && spans[i].1 <= end {
                hits += 1
                i += 1
            }
            if hits == 0 { i += 1; continue }
            windows.append((start, end, hits))
        }
        let best = windows.enumerated().sorted { $0.element.hits != $1.element.hits ? $0.element.hits > $1.element.hits : $0.offset < $1.offset }
            .prefix(options.numberOfFragments).map(\.element)
        return best.map { w in
            render(bytes, w.start, w.end, spans.filter { $0.0 >= w.start && $0.1 <= w.end })
        }
    }

    private func render(_ bytes: [UInt8], _ start: Int, _ end: Int, _ spans: [(Int, Int)]) -> String {
        var out: [UInt8] = []
        var cursor = start
        for (s, e) in spans {
            out += bytes[cursor..<s]
            out += Array(options.preTag.utf8) + bytes[s..<e] + Array(options.postTag.utf8)
            cursor = e
        }
        out += bytes[cursor..<end]
        return String(decoding: out, as: UTF8.self)
    }

    /// Moves back to a word boundary (never inside a UTF-8 sequence).
    private func wordStart(_ b: [UInt8], _ i: Int) -> Int {
        var j = i
        var steps = 0
        while j > 0 && (b[j] & 0xC0 == 0x80 || (isWordByte(b[j - 1]) && steps < 20)) {
            j -= 1
            steps += 1
        }
        while j < b.count && b[j] & 0xC0 == 0x80 { j += 1 }
        return j
    }

    private func wordEnd(_ b: [UInt8], _ i: Int) -> Int {
        var j = i
        var steps = 0
        while j < b.count && (b[j] & 0xC0 == 0x80 || (isWordByte(b[j]) && steps < 20)) {
            j += 1
            steps += 1
        }
        while j < b.count && b[j] & 0xC0 == 0x80 { j += 1 }
        return j
    }

    private func isWordByte(_ c: UInt8) -> Bool { c >= 0x80 || (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) }
}
