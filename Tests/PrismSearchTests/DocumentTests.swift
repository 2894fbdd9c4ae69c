@testable import PrismSearch
import Testing

@Suite("Documents")
struct DocumentTests {
    let schema: CollectionSchema

    init() throws {
        schema = try SchemaParser().parse(try json("""
        {"backends":{"text":{"fields":[
            {"name":"title","type":"text"},{"name":"tag","type":"string"},{"name":"n","type":"i64"},
            {"name":"u","type":"u64"},{"name":"f","type":"f64"},{"name":"b","type":"bool"},
            {"name":"d","type":"date"},{"name":"raw","type":"bytes"}]},
          "vector":{"dimension":3}}}
        """), name: "c")
    }

    @Test func validDocumentRoundTripsThroughTheCodec() throws {
        let doc = try DocumentValidator(schema: schema).validate(try json("""
        {"id":"a1","fields":{"title":"Hello","tag":"x","n":-5,"u":18446744073709551615,"f":2.5,"b":true,
         "d":"2024-05-01T12:00:00.25+02:00","raw":"AAEC","embedding":[0.1,-2,3e2]}}
        """))
        #expect(doc.value("d") == .date(RFC3339.parse("2024-05-01T10:00:00.25Z") ?? 0))
        #expect(doc.value("u") == .uint(.max))
        #expect(doc.value("raw") == .bytes([0, 1, 2]))
        #expect(doc.value("embedding") == .vector([0.1, -2, 300]))
        let encoded = DocumentCodec.encode(doc.fields)
        let decoded = try encoded.withUnsafeBytes { try DocumentCodec.decode($0) }
        #expect(Document(id: "a1", fields: decoded) == doc)
    }

    @Test(arguments: [
        (#"{"id":"1","fields":{"title":5}}"#, "fields.title: expected a string"),
        (#"{"id":"1","fields":{"n":1.5}}"#, "fields.n: expected an integer"),
        (#"{"id":"1","fields":{"n":18446744073709551615}}"#, "does not fit in i64"),
        (#"{"id":"1","fields":{"u":-1}}"#, "fields.u: -1 is negative"),
        (#"{"id":"1","fields":{"b":"yes"}}"#, "fields.b: expected true or false"),
        (#"{"id":"1","fields":{"d":"yesterday"}}"#, "fields.d: 'yesterday' is not an RFC 3339"),
        (#"{"id":"1","fields":{"raw":"!!"}}"#, "fields.raw: expected a base64 string"),
        (#"{"id":"1","fields":{"embedding":[1,2]}}"#, "vector has 2 dimensions, the schema requires 3"),
        (#"{"id":"1","fields":{"embedding":[1,2,"x"]}}"#, "fields.embedding[2]: expected a number"),
        (#"{"id":"1","fields":{"embedding":[1,2,1e300]}}"#, "is not a finite 32-bit float"),
        (#"{"id":"1","fields":{"nope":1}}"#, "fields.nope: not in the schema of collection 'c'"),
        (#"{"id":"","fields":{}}"#, "id: must be a non-empty string"),
        (#"{"id":7,"fields":{}}"#, "id: expected a string"),
        (#"{"fields":{}}"#, "id: required"),
        (#"{"id":"1"}"#, "fields: required"),
        (#"{"id":"1","fields":[]}"#, "fields: expected an object"),
        (#"{"id":"1","fields":{},"extra":1}"#, "extra: unknown key in document"),
    ])
    func refusesBadDocuments(body: String, message: String) throws {
        do {
            _ = try DocumentValidator(schema: schema).validate(try json(body))
            Issue.record("accepted \(body)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test func refusesOverlongIDs() {
        #expect(throws: EngineError.self) { try DocumentValidator.validate(id: String(repeating: "x", count: 257)) }
    }

    @Test func codecRejectsTruncatedRecords() throws {
        let encoded = DocumentCodec.encode([("title", .text("hello world")), ("v", .vector([1, 2, 3]))])
        for cut in 0..<encoded.count {
            let prefix = Array(encoded[..<cut])
            #expect(throws: (any Error).self) { try prefix.withUnsafeBytes { try DocumentCodec.decode($0) } }
        }
    }

    @Test func rfc3339() {
        #expect(RFC3339.parse("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.parse("2000-02-29T23:59:59.999999Z") == 951_868_799_999_999)
        #expect(RFC3339.parse("2001-02-29T00:00:00Z") == nil)
        #expect(RFC3339.parse("2024-13-01T00:00:00Z") == nil)
        #expect(RFC3339.parse("2024-01-01T00:00:00") == nil)
        #expect(RFC3339.format(micros: 951_868_799_999_999) == "2000-02-29T23:59:59.999999Z")
        #expect(RFC3339.format(micros: -1_000_000) == "1969-12-31T23:59:59Z")
        #expect(RFC3339.format(micros: 1_500_000) == "1970-01-01T00:00:01.5Z")
    }
}
