/// Failures of the single-node engine that a client can cause or must know about. The HTTP layer
/// maps each to its status code; messages name the field and value at fault.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    case collectionNotFound(String)
    case collectionExists(String)
    case documentNotFound(collection: String, id: String)
    /// Bad schema or bad request content (400).
    case invalid(String)
    /// Well-formed JSON of the wrong shape (422).
    case wrongShape(String)
    /// The node cannot take writes now (503).
    case unavailable(String)

    public var description: String {
        switch self {
        case .collectionNotFound(let name): return "collection '\(name)' not found"
        case .collectionExists(let name): return "collection '\(name)' already exists"
        case .documentNotFound(let collection, let id): return "document '\(id)' not found in collection '\(collection)'"
        case .invalid(let message), .wrongShape(let message), .unavailable(let message): return message
        }
    }
}
