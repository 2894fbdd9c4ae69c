import Foundation
import PrismTestSupport
import Testing

/// Every error answer is `{"error": "..."}` JSON with the status API.md gives, and a refused
/// request changes nothing.
@Suite("HTTP errors")
struct ErrorShapeTests {
    func expectError(_ response: HTTPClient.Response, _ status: Int, _ fragment: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.headers["content-type"] == "application/json", sourceLocation: sourceLocation)
        let message = response.json["error"] as? String
        #expect(message != nil, "body is not {\"error\": ...}: \(response.text)", sourceLocation: sourceLocation)
        #expect(message?.contains(fragment) == true, "\(message ?? "")", sourceLocation: sourceLocation)
    }

    @Test func badRequestsGetJSONErrors() async throws {
        try await withTestServer { client in
            expectError(try await client.get("/nothing/here"), 404, "no route for GET /nothing/here")
            expectError(try await client.get("/collections/nope/schema"), 404, "collection 'nope' not found")
            expectError(try await client.get("/collections/nope/stats"), 404, "collection 'nope' not found")
            expectError(try await client.delete("/collections/nope"), 404, "collection 'nope' not found")
            expectError(try await client.post("/collections/nope/documents", #"{"documents":[]}"#), 404, "collection 'nope' not found")
            expectError(try await client.get("/collections/nope/documents/1"), 404, "collection 'nope' not found")

            expectError(try await client.put("/collections/c", "{bad"), 400, "invalid JSON: expected a string key but found 'b' at line 1, column 2")
            expectError(try await client.put("/collections/c", ""), 400, "request body is empty")
            expectError(try await client.put("/collections/c", #"{"backends":{"text":{"fields":[{"name":"t","type":"txt"}]}}}"#), 400, "backends.text.fields[0].type")
            expectError(try await client.put("/collections/bad.name", articleSchema), 400, "invalid collection name")
            #expect(try await client.get("/admin/collections").json["collections"] as? [String] == [])

            #expect(try await client.put("/collections/c", articleSchema).status == 201)
            expectError(try await client.put("/collections/c", articleSchema), 409, "collection 'c' already exists")

            expectError(try await client.post("/collections/c/documents", "[1,2"), 400, "invalid JSON")
            expectError(try await client.post("/collections/c/documents", "[]"), 422, "request body must be a JSON object")
            expectError(try await client.post("/collections/c/documents", #"{"docs":[]}"#), 422, "docs: unknown key")
            expectError(try await client.post("/collections/c/documents", "{}"), 422, "documents: required")
            expectError(try await client.post("/collections/c/documents", #"{"documents":{}}"#), 422, "documents: expected an array")
            expectError(try await client.post("/collections/c/documents", #"{"documents":[]}"#), 422, "at least one document")
            expectError(try await client.get("/collections/c/documents/missing"), 404, "document 'missing' not found")
            expectError(try await client.delete("/collections/c/documents/missing"), 404, "document 'missing' not found")
            let longID = String(repeating: "x", count: 300)
            expectError(try await client.get("/collections/c/documents/\(longID)"), 400, "byte limit")
            #expect(try await client.get("/collections/c/stats").json["document_count"] as? Int == 0)
        }
    }

    @Test func oversizedBodiesGet413AndStoreNothing() async throws {
        try await withTestServer(environment: ["PRISM_SERVER_MAX_BODY_SIZE": "4KiB"]) { client in
            #expect(try await client.put("/collections/c", articleSchema).status == 201)
            let big = String(repeating: "a", count: 10_000)
            let body = #"{"documents":[{"id":"1","fields":{"title":"\#(big)"}}]}"#
            expectError(try await client.post("/collections/c/documents", body), 413, "exceeds the 4096-byte limit")
            // Without a Content-Length the limit still holds while streaming.
            let payload = Array(body.utf8)
            let chunkedBody = Array((String(payload.count, radix: 16) + "\r\n").utf8) + payload + Array("\r\n0\r\n\r\n".utf8)
            let chunked = try await client.send("POST", "/collections/c/documents", body: chunkedBody,
                                                headers: ["Transfer-Encoding": "chunked"])
            expectError(chunked, 413, "exceeds the 4096-byte limit")
            #expect(try await client.get("/collections/c/stats").json["document_count"] as? Int == 0)
        }
    }
}
