/// A token produced by analysis: its text and its position in the field value (positions count
/// every token the tokenizer saw, so phrase queries respect removed tokens as gaps).
public struct Token: Sendable, Equatable {
    public var text: String
    public var position: Int

    public init(_ text: String, position: Int) {
        self.text = text
        self.position = position
    }
}

/// How a field's text becomes index terms. Chosen per field in the schema.
public enum Analyzer: String, Sendable, Codable, CaseIterable {
    /// Tantivy's default: split on every non-alphanumeric Unicode character, drop tokens of 40 or
    /// more UTF-8 bytes, lowercase. No stemming.
    case `default`
    /// `default` plus English stop words removed and Porter stemming.
    case en
    /// The whole value as one token, unchanged (exact keywords; used by `string` fields).
    case raw
    /// `default` that also splits camelCase and snake_case identifiers (`parseHTTPRequest` →
    /// parse, http, request) and keeps the joined identifier as well.
    case code

    /// Tokens longer than this many UTF-8 bytes (before lowercasing) are dropped, as Tantivy does.
    public static let maxTokenBytes = 40

    public func tokens(_ text: String) -> [Token] {
        switch self {
        case .raw:
            return text.isEmpty ? [] : [Token(text, position: 0)]
        case .default:
            var out: [Token] = []
            Analyzer.forEachWord(text) { bytes, position in
                if bytes.count < Analyzer.maxTokenBytes { out.append(Token(Analyzer.lowercase(bytes), position: position)) }
            }
            return out
        case .en:
            var out: [Token] = []
            Analyzer.forEachWord(text) { bytes, position in
                guard bytes.count < Analyzer.maxTokenBytes else { return }
                let lower = Analyzer.lowercase(bytes)
                if !EnglishStopWords.contains(lower) { out.append(Token(PorterStemmer.stem(lower), position: position)) }
            }
            return out
        case .code:
            var out: [Token] = []
            var position = 0
            for raw in Analyzer.codeWords(text) {
                guard raw.count < Analyzer.maxTokenBytes else { continue }
                let parts = Analyzer.splitIdentifier(raw)
                for part in parts {
                    out.append(Token(Analyzer.lowercase(part), position: position))
                    position += 1
                }
                if parts.count > 1 {
                    // The joined identifier too, so `parse_http` and `parseHttp` find each other.
                    out.append(Token(Analyzer.lowercase(raw.filter { $0 != UInt8(ascii: "_") }), position: position - 1))
                }
            }
            return out
        }
    }

    /// Calls `body` with each token's bytes (valid only during the call) and position, without
    /// making a `String` per token where the analyzer allows (the default analyzer on ASCII).
    public func forEachToken(_ text: String, _ body: (UnsafeRawBufferPointer, Int) -> Void) {
        switch self {
        case .default:
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Analyzer.maxTokenBytes) { scratch in
                Analyzer.forEachWord(text) { bytes, position in
                    guard bytes.count < Analyzer.maxTokenBytes else { return }
                    var ascii = true
                    for (i, b) in bytes.enumerated() {
                        if b >= 0x80 { ascii = false; break }
                        scratch[i] = b &- 0x41 < 26 ? b | 0x20 : b
                    }
                    if ascii {
                        body(UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(scratch)[0..<bytes.count]), position)
                    } else {
                        var lower = Analyzer.lowercase(bytes)
                        lower.withUTF8 { body(UnsafeRawBufferPointer($0), position) }
                    }
                }
            }
        default:
            for token in tokens(text) {
                var word = token.text
                word.withUTF8 { body(UnsafeRawBufferPointer($0), token.position) }
            }
        }
    }

    /// Terms with the UTF-8 byte range of the text they came from (for highlighting).
    public func termSpans(_ text: String) -> [(term: String, start: Int, end: Int)] {
        switch self {
        case .raw:
            return text.isEmpty ? [] : [(text, 0, text.utf8.count)]
        case .default, .en, .code:
            var spans: [(term: String, start: Int, end: Int)] = []
            Analyzer.forEachWord(text) { word, _, offset in
                // Analyze the word alone: its terms all point at the word's range.
                let wordText = String(decoding: word, as: UTF8.self)
                for token in self.tokens(wordText) { spans.append((token.text, offset, offset + word.count)) }
            }
            return spans
        }
    }

    /// Calls `body` with each maximal run of alphanumeric characters (Unicode `Alphabetic` or
    /// `Numeric`) as UTF-8, and its position, without copying the text.
    static func forEachWord(_ text: String, _ body: (UnsafeBufferPointer<UInt8>, Int) -> Void) {
        forEachWord(text) { word, position, _ in body(word, position) }
    }

    /// As above, also passing the word's byte offset in the text.
    static func forEachWord(_ text: String, _ body: (UnsafeBufferPointer<UInt8>, Int, Int) -> Void) {
        var copy = text
        copy.withUTF8 { bytes in
            var start = -1
            var position = 0
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                let width: Int
                let alnum: Bool
                if b < 0x80 {
                    width = 1
                    alnum = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                } else {
                    width = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                    let end = min(i + width, bytes.count)
                    let scalar = String(decoding: UnsafeBufferPointer(rebasing: bytes[i..<end]), as: UTF8.self).unicodeScalars.first
                    alnum = scalar.map { $0.properties.isAlphabetic || $0.properties.numericType != nil } ?? false
                }
                if alnum {
                    if start < 0 { start = i }
                } else if start >= 0 {
                    body(UnsafeBufferPointer(rebasing: bytes[start..<i]), position, start)
                    position += 1
                    start = -1
                }
                i += width
            }
            if start >= 0 { body(UnsafeBufferPointer(rebasing: bytes[start..<min(i, bytes.count)]), position, start) }
        }
    }

    static func lowercase(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        if ascii {
            return String(unsafeUninitializedCapacity: bytes.count) { out in
                for (i, b) in bytes.enumerated() { out[i] = b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
                return bytes.count
            }
        }
        return String(decoding: bytes, as: UTF8.self).lowercased()
    }

    static func lowercase(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.withUnsafeBufferPointer { lowercase($0) }
    }

    /// Words for the code analyzer: runs of alphanumerics and underscores.
    static func codeWords(_ text: String) -> [ArraySlice<UInt8>] {
        let bytes = Array(text.utf8)
        var words: [ArraySlice<UInt8>] = []
        var start = -1
        for (i, b) in bytes.enumerated() {
            let inWord = b >= 0x80 || b == UInt8(ascii: "_") || (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            if inWord {
                if start < 0 { start = i }
            } else if start >= 0 {
                words.append(bytes[start..<i])
                start = -1
            }
        }
        if start >= 0 { words.append(bytes[start...]) }
        return words
    }

    /// `parseHTTPRequest_v2` → parse, HTTP, Request, v2.
    static func splitIdentifier(_ word: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
        func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        var parts: [ArraySlice<UInt8>] = []
        var start = word.startIndex
        var i = word.startIndex
        while i < word.endIndex {
            let b = word[i]
            if b == UInt8(ascii: "_") {
                if start < i { parts.append(word[start..<i]) }
                start = i + 1
            } else if i > start {
                let prev = word[i - 1]
                let next: UInt8? = i + 1 < word.endIndex ? word[i + 1] : nil
                // Digits stay with their word (`utf8`, `v2`); case changes split.
                let boundary = ((isLower(prev) || isDigit(prev)) && isUpper(b))
                    || (isUpper(prev) && isUpper(b) && next.map(isLower) == true)
                if boundary {
                    parts.append(word[start..<i])
                    start = i
                }
            }
            i += 1
        }
        if start < word.endIndex { parts.append(word[start..<word.endIndex]) }
        return parts.filter { !$0.isEmpty }
    }
}
