import Hummingbird
import Logging
import PrismMetrics
import PrismSearch
import PrismStorage

/// Outermost middleware: turns every thrown error into a JSON error answer and records the
/// request in `prism_http_requests_total` / `prism_http_request_duration_seconds`.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: NodeMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = answer(for: error, request: request, context: context)
        }
        let route = context.endpointPath ?? (response.status == .notFound ? "unmatched" : request.uri.path)
        metrics.recordHTTPRequest(method: request.method.rawValue, route: route, status: response.status.code,
                                  duration: ContinuousClock.now - start)
        return response
    }

    private func answer(for error: any Error, request: Request, context: Context) -> Response {
        let apiError: APIError
        switch error {
        case let e as APIError: apiError = e
        case let e as EngineError: apiError = APIError(e)
        case let e as HTTPError where e.status == .notFound:
            apiError = APIError(.notFound, "no route for \(request.method.rawValue) \(request.uri.path)")
        case let e as HTTPError: apiError = APIError(e.status, e.body ?? e.status.reasonPhrase)
        case let e as StorageError where e == .writerStopped || e == .closed:
            apiError = APIError(.serviceUnavailable, "node is shutting down: \(e)")
        case let e as any HTTPResponseError:
            apiError = APIError(e.status, e.status.reasonPhrase)
        default:
            logger.error("request failed", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            apiError = APIError(.internalServerError, "internal error: \(error)")
        }
        if apiError.status.code >= 500 && apiError.status != .internalServerError {
            logger.warning("request refused", metadata: ["path": "\(request.uri.path)", "status": "\(apiError.status.code)", "error": "\(apiError.message)"])
        }
        return (try? apiError.response(from: request, context: context))
            ?? Response(status: .internalServerError)
    }
}
