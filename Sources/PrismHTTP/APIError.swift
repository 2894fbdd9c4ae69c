import Hummingbird
import PrismSearch

/// An error answer: `{"error": "..."}` with a fitting status. Every failure leaving the API
/// becomes one of these (see `ErrorMiddleware`), so no client ever sees a plain-text body.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONBody.response(status: status, ErrorBody(error: message))
    }

    struct ErrorBody: Encodable {
        let error: String
    }

    /// The API answer for an engine failure.
    public init(_ error: EngineError) {
        switch error {
        case .collectionNotFound, .documentNotFound: self.init(.notFound, error.description)
        case .collectionExists: self.init(.conflict, error.description)
        case .invalid: self.init(.badRequest, error.description)
        case .wrongShape: self.init(.unprocessableContent, error.description)
        case .unavailable: self.init(.serviceUnavailable, error.description)
        }
    }
}
