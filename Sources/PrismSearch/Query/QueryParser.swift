/// Parses the query language of API.md: terms, `field:value`, `"phrases"`, `AND` / `OR` / `NOT`,
/// `+` / `-`, parentheses (also `field:(a b)`), ranges `field:[a TO b]` / `{a TO b}`, `field:*`, and
/// `^boost`. Adjacent clauses are alternatives (OR); AND binds tighter than OR.
public struct QueryParser {
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        /// 1-based character position in the query.
        public let position: Int
        public let message: String
        public var description: String { "query syntax error at position \(position): \(message)" }
    }

    public static let maxDepth = 64

    /// Unicode scalars, not Characters: splitting into grapheme clusters cost a seventh of a
    /// one-word query. Error positions are still counted in Characters (`error`).
    private let chars: [Unicode.Scalar]
    private var index = 0
    private var depth = 0

    private init(_ text: String) { chars = Array(text.unicodeScalars) }

    public static func parse(_ text: String) throws(SyntaxError) -> QueryNode {
        var parser = QueryParser(text)
        parser.skipSpaces()
        if parser.atEnd { return .all }
        let node = try parser.parseOr(field: nil)
        parser.skipSpaces()
        if !parser.atEnd {
            throw parser.error(parser.peek == ")" ? "unbalanced ')'" : "unexpected '\(parser.peek ?? " ")'")
        }
        return node
    }

    private var atEnd: Bool { index >= chars.count }
    private var peek: Unicode.Scalar? { atEnd ? nil : chars[index] }

    private func error(_ message: String, at position: Int? = nil) -> SyntaxError {
        SyntaxError(position: characterPosition(position ?? index) + 1, message: message)
    }

    /// The 0-based Character offset of scalar offset `scalar` (only errors need it).
    private func characterPosition(_ scalar: Int) -> Int {
        var prefix = String.UnicodeScalarView()
        prefix.append(contentsOf: chars[..<min(scalar, chars.count)])
        return String(prefix).count
    }

    private mutating func skipSpaces() {
        while let c = peek, QueryParser.isSpace(c) { index += 1 }
    }

    /// Whitespace, with ASCII answered without a Unicode property lookup (parsing runs per query).
    private static func isSpace(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return c == " " || (c.value >= 0x09 && c.value <= 0x0D) }
        return c.properties.isWhitespace
    }

    private func isSpecial(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "(", ")", "[", "]", "{", "}", "\"", ":", "^": return true
        default: return QueryParser.isSpace(c)
        }
    }

    /// Whether the next bare word is exactly `keyword` (compared in place).
    private func nextWordIs(_ keyword: String) -> Bool {
        var i = index
        for k in keyword.unicodeScalars {
            guard i < chars.count, chars[i] == k else { return false }
            i += 1
        }
        return i == chars.count || isSpecial(chars[i])
    }

    private mutating func consumeKeyword(_ keyword: String) -> Bool {
        guard nextWordIs(keyword) else { return false }
        index += keyword.unicodeScalars.count
        return true
    }

    private mutating func parseOr(field: String?) throws(SyntaxError) -> QueryNode {
        depth += 1
        defer { depth -= 1 }
        guard depth <= QueryParser.maxDepth else { throw error("nesting deeper than \(QueryParser.maxDepth) levels") }
        var must: [QueryNode] = [], should: [QueryNode] = [], mustNot: [QueryNode] = []
        var clauses = 0
        while true {
            skipSpaces()
            guard let c = peek, c != ")" else { break }
            if clauses > 0 && consumeKeyword("OR") {
                skipSpaces()
                guard let next = peek, next != ")" else { throw error("expected a clause after OR") }
            } else if nextWordIs("AND") {
                throw error(clauses == 0 ? "AND needs a clause before it" : "unexpected AND")
            }
            let (occur, node) = try parseAnd(field: field)
            clauses += 1
            switch occur {
            case .must: must.append(node)
            case .should: should.append(node)
            case .mustNot: mustNot.append(node)
            }
        }
        if clauses == 0 { throw error("expected a query") }
        if must.isEmpty && mustNot.isEmpty && should.count == 1 { return should[0] }
        if must.isEmpty && should.isEmpty { must = [.all] }
        return .boolean(must: must, should: should, mustNot: mustNot)
    }

    private enum Occur { case must, should, mustNot }

    /// `a AND b AND -c`: returns one clause, or a boolean of required parts.
    private mutating func parseAnd(field: String?) throws(SyntaxError) -> (Occur, QueryNode) {
        let first = try parseUnary(field: field)
        var parts = [first]
        while true {
            skipSpaces()
            guard consumeKeyword("AND") else { break }
            skipSpaces()
            guard let next = peek, next != ")" else { throw error("expected a clause after AND") }
            parts.append(try parseUnary(field: field))
        }
        if parts.count == 1 { return first }
        var must: [QueryNode] = [], mustNot: [QueryNode] = []
        for (occur, node) in parts {
            if occur == .mustNot { mustNot.append(node) } else { must.append(node) }
        }
        if must.isEmpty { must = [.all] }
        return (.should, .boolean(must: must, should: [], mustNot: mustNot))
    }

    private mutating func parseUnary(field: String?) throws(SyntaxError) -> (Occur, QueryNode) {
        skipSpaces()
        if peek == "+" {
            index += 1
            return (.must, try parsePrimary(field: field))
        }
        if peek == "-" {
            index += 1
            return (.mustNot, try parsePrimary(field: field))
        }
        if consumeKeyword("NOT") {
            skipSpaces()
            guard !atEnd else { throw error("expected a clause after NOT") }
            return (.mustNot, try parsePrimary(field: field))
        }
        return (.should, try parsePrimary(field: field))
    }

    private mutating func parsePrimary(field: String?) throws(SyntaxError) -> QueryNode {
        skipSpaces()
        guard let c = peek else { throw error("expected a term, a phrase or '('") }
        var node: QueryNode
        switch c {
        case "(":
            let open = index
            index += 1
            skipSpaces()
            if peek == ")" { throw error("empty parentheses") }
            node = try parseOr(field: field)
            skipSpaces()
            guard peek == ")" else { throw error("expected ')' to close the '(' at position \(characterPosition(open) + 1)") }
            index += 1
        case "\"":
            node = .phrase(field: field, text: try parseQuoted())
        case ")":
            throw error("unexpected ')'")
        case "[", "{":
            throw error("a range needs a field, as in year:[2000 TO 2010]")
        case ":", "^", "]", "}":
            throw error("unexpected '\(c)'")
        default:
            let start = index
            let word = readWord()
            if peek == ":" {
                guard field == nil else { throw error("field '\(word)' inside a field group", at: start) }
                guard !word.isEmpty else { throw error("missing field name before ':'", at: start) }
                index += 1
                node = try parseFieldValue(field: word)
            } else if word == "*" {
                node = .all
            } else {
                node = .term(field: field, text: word)
            }
        }
        return try parseBoost(node)
    }

    private mutating func parseFieldValue(field: String) throws(SyntaxError) -> QueryNode {
        guard let c = peek, !QueryParser.isSpace(c) else { throw error("expected a value after '\(field):'") }
        switch c {
        case "(":
            return try parsePrimary(field: field)
        case "\"":
            return .phrase(field: field, text: try parseQuoted())
        case "[", "{":
            return try parseRange(field: field)
        default:
            let start = index
            let word = readWord()
            if word.isEmpty { throw error("expected a value after '\(field):'", at: start) }
            return word == "*" ? .exists(field: field) : .term(field: field, text: word)
        }
    }

    private mutating func parseRange(field: String) throws(SyntaxError) -> QueryNode {
        let open = index
        let includeLower = chars[index] == "["
        index += 1
        skipSpaces()
        let lower = readWord()
        guard !lower.isEmpty else { throw error("expected the lower bound of the range") }
        skipSpaces()
        guard consumeKeyword("TO") else { throw error("expected 'TO' in the range starting at position \(characterPosition(open) + 1)") }
        skipSpaces()
        let upper = readWord()
        guard !upper.isEmpty else { throw error("expected the upper bound of the range") }
        skipSpaces()
        guard let close = peek, close == "]" || close == "}" else {
            throw error("expected ']' or '}' to close the range starting at position \(characterPosition(open) + 1)")
        }
        index += 1
        return .range(field: field, lower: lower == "*" ? nil : lower, upper: upper == "*" ? nil : upper,
                      includeLower: includeLower, includeUpper: close == "]")
    }

    private mutating func parseQuoted() throws(SyntaxError) -> String {
        let open = index
        index += 1
        var text = String.UnicodeScalarView()
        while let c = peek, c != "\"" {
            if c == "\\", index + 1 < chars.count {
                index += 1
            }
            text.append(chars[index])
            index += 1
        }
        guard peek == "\"" else { throw error("unterminated phrase starting at position \(characterPosition(open) + 1)") }
        index += 1
        return String(text)
    }

    /// A bare word; `\` escapes a special character.
    private mutating func readWord() -> String {
        var word = String.UnicodeScalarView()
        while let c = peek {
            if c == "\\", index + 1 < chars.count {
                word.append(chars[index + 1])
                index += 2
                continue
            }
            if isSpecial(c) { break }
            word.append(c)
            index += 1
        }
        return String(word)
    }

    private mutating func parseBoost(_ node: QueryNode) throws(SyntaxError) -> QueryNode {
        guard peek == "^" else { return node }
        index += 1
        let start = index
        var text = ""
        while let c = peek, c.properties.numericType != nil || c == "." { text.unicodeScalars.append(c); index += 1 }
        guard let boost = Float(text), boost >= 0, boost.isFinite else {
            throw error("expected a non-negative number after '^'", at: start)
        }
        return .boost(node, boost)
    }
}
