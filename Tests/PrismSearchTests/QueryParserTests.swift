@testable import PrismSearch
import Testing

@Suite("Query parser")
struct QueryParserTests {
    func parse(_ text: String) throws -> QueryNode { try QueryParser.parse(text) }

    @Test func shapes() throws {
        #expect(try parse("") == .all)
        #expect(try parse("fox") == .term(field: nil, text: "fox"))
        #expect(try parse("title:fox") == .term(field: "title", text: "fox"))
        #expect(try parse("\"brown fox\"") == .phrase(field: nil, text: "brown fox"))
        #expect(try parse("a b") == .boolean(must: [], should: [.term(field: nil, text: "a"), .term(field: nil, text: "b")], mustNot: []))
        #expect(try parse("a OR b") == (try parse("a b")))
        #expect(try parse("a AND b") == .boolean(must: [.term(field: nil, text: "a"), .term(field: nil, text: "b")], should: [], mustNot: []))
        #expect(try parse("+a -b c") == .boolean(must: [.term(field: nil, text: "a")], should: [.term(field: nil, text: "c")], mustNot: [.term(field: nil, text: "b")]))
        #expect(try parse("NOT a") == .boolean(must: [.all], should: [], mustNot: [.term(field: nil, text: "a")]))
        #expect(try parse("a AND NOT b") == .boolean(must: [.term(field: nil, text: "a")], should: [], mustNot: [.term(field: nil, text: "b")]))
        #expect(try parse("year:[2000 TO *}") == .range(field: "year", lower: "2000", upper: nil, includeLower: true, includeUpper: false))
        #expect(try parse("tag:*") == .exists(field: "tag"))
        #expect(try parse("fox^2.5") == .boost(.term(field: nil, text: "fox"), 2.5))
        #expect(try parse("title:(a OR b)^3") == .boost(.boolean(must: [], should: [.term(field: "title", text: "a"), .term(field: "title", text: "b")], mustNot: []), 3))
        #expect(try parse("a OR b AND c") == .boolean(must: [], should: [
            .term(field: nil, text: "a"), .boolean(must: [.term(field: nil, text: "b"), .term(field: nil, text: "c")], should: [], mustNot: []),
        ], mustNot: []))
        #expect(try parse(#"path:a\:b"#) == .term(field: "path", text: "a:b"))
        #expect(try parse("café 日本語 e\u{301}") == .boolean(must: [], should: [
            .term(field: nil, text: "café"), .term(field: nil, text: "日本語"), .term(field: nil, text: "e\u{301}"),
        ], mustNot: []))
        #expect(try parse("title:\"déjà vu\"^1.5") == .boost(.phrase(field: "title", text: "déjà vu"), 1.5))
    }

    @Test(arguments: [
        ("(a b", 5, "expected ')' to close the '(' at position 1"),
        ("a)", 2, "unbalanced ')'"),
        ("fox OR", 7, "expected a clause after OR"),
        ("AND fox", 1, "AND needs a clause before it"),
        ("title:", 7, "expected a value after 'title:'"),
        ("\"open phrase", 13, "unterminated phrase starting at position 1"),
        ("year:[1 TO", 11, "expected the upper bound of the range"),
        ("year:[1 2]", 9, "expected 'TO'"),
        ("fox^x", 5, "expected a non-negative number after '^'"),
        ("[1 TO 2]", 1, "a range needs a field"),
        ("()", 2, "empty parentheses"),
        ("title:(body:x)", 8, "field 'body' inside a field group"),
        // Positions count Characters: an accent made of two scalars is one, and so is a CJK one.
        ("e\u{301}e\u{301} (a b", 8, "expected ')' to close the '(' at position 4"),
        ("日本 fox^x", 8, "expected a non-negative number after '^'"),
        ("👩‍👩‍👧 \"open", 8, "unterminated phrase starting at position 3"),
    ])
    func errorsNameThePosition(text: String, position: Int, message: String) {
        do {
            _ = try QueryParser.parse(text)
            Issue.record("parsed \(text)")
        } catch {
            #expect(error.position == position, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func deepNestingIsRefused() {
        let deep = String(repeating: "(", count: 500) + "a" + String(repeating: ")", count: 500)
        #expect(throws: QueryParser.SyntaxError.self) { try QueryParser.parse(deep) }
    }
}
