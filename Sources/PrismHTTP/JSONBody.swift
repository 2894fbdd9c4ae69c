import Foundation
import Hummingbird
import NIOCore
import PrismSearch

/// Reading request bodies (bounded, parsed to `JSONValue` with a precise error) and writing
/// JSON answers.
enum JSONBody {
    static func response<T: Encodable>(status: HTTPResponse.Status = .ok, _ value: T) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"response encoding failed"}"#.utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads the whole body, refusing more than `limit` bytes with 413 before buffering it.
    static func read(_ request: Request, limit: Int) async throws -> ByteBuffer {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError(.contentTooLarge, "request body of \(declared) bytes exceeds the \(limit)-byte limit (server.max_body_size)")
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body exceeds the \(limit)-byte limit (server.max_body_size)")
        }
    }

    /// Parses a body as JSON; malformed JSON is a 400 naming where parsing failed.
    static func parse(_ buffer: ByteBuffer) throws -> JSONValue {
        guard buffer.readableBytes > 0 else { throw APIError(.badRequest, "request body is empty; expected a JSON object") }
        do {
            return try buffer.withUnsafeReadableBytes { raw throws(JSONParser.SyntaxError) in try JSONParser.parse(raw) }
        } catch {
            throw APIError(.badRequest, "invalid JSON: \(error)")
        }
    }

    static func object(_ value: JSONValue, what: String) throws -> [String: JSONValue] {
        guard case .object(let object) = value else {
            throw APIError(.unprocessableContent, "\(what) must be a JSON object, got \(value.typeName)")
        }
        return object
    }
}
