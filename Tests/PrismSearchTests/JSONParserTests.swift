@testable import PrismSearch
import PrismStorage
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    @Test func parsesAllValueKinds() throws {
        let value = try json(#" {"a":[1,-2,3.5,1e2,true,false,null,"x\n\u00e9\ud83d\ude00"],"b":{},"big":18446744073709551615} "#)
        #expect(value == .object([
            "a": .array([.int(1), .int(-2), .double(3.5), .double(100), .bool(true), .bool(false), .null, .string("x\né😀")]),
            "b": .object([:]),
            "big": .uint(UInt64.max),
        ]))
    }

    @Test(arguments: [
        ("{bad", "expected a string key but found 'b' at line 1, column 2"),
        ("{\"a\":1,}", "expected a string key but found '}' at line 1, column 8"),
        ("[1 2]", "expected ',' or ']' in array but found '2' at line 1, column 4"),
        ("{\"a\"\n:\n}", "expected a value but found '}' at line 3, column 1"),
        ("01", "leading zeros are not allowed"),
        ("\"abc", "unterminated string"),
        ("\"\\q\"", "invalid escape '\\q'"),
        ("[1] x", "unexpected data after the JSON value"),
        ("tru", "expected 'true'"),
        ("1e999", "out of range"),
        ("\"\\ud800\"", "unpaired surrogate"),
        ("", "expected a value but found end of input"),
    ])
    func reportsWhereParsingFailed(text: String, message: String) {
        do {
            _ = try json(text)
            Issue.record("parsed \(text)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test func boundsNestingDepth() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParser.SyntaxError.self) { try json(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? json(fine)) != nil)
    }

    @Test func randomBytesNeverCrash() {
        var generator = SplitMix64(seed: 42)
        let alphabet = Array("{}[]\",:0123456789.eE+-tfnrul\\ \n abc".utf8)
        for _ in 0..<5000 {
            let length = Int.random(in: 0..<40, using: &generator)
            let bytes = (0..<length).map { _ in
                Bool.random(using: &generator) ? alphabet.randomElement(using: &generator) ?? 0 : UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? JSONParser.parse(bytes)
        }
    }
}
