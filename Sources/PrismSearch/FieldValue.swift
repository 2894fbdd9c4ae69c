/// A typed field value of a stored document.
public enum FieldValue: Sendable, Equatable {
    case text(String)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    /// Microseconds since the Unix epoch, UTC.
    case date(Int64)
    case bytes([UInt8])
    case vector([Float])

    /// The JSON form returned by the API (dates as RFC 3339, bytes as base64).
    public var json: JSONValue {
        switch self {
        case .text(let s): return .string(s)
        case .int(let i): return .int(i)
        case .uint(let u): return .uint(u)
        case .double(let d): return .double(d)
        case .bool(let b): return .bool(b)
        case .date(let micros): return .string(RFC3339.format(micros: micros))
        case .bytes(let b): return .string(Base64.encode(b))
        case .vector(let v): return .array(v.map { .float($0) })
        }
    }
}

/// A document: its id and typed fields (sorted by name, so encoding is deterministic).
public struct Document: Sendable, Equatable {
    public var id: String
    public var fields: [(name: String, value: FieldValue)]

    public init(id: String, fields: [(name: String, value: FieldValue)]) {
        self.id = id
        self.fields = fields.sorted { $0.name < $1.name }
    }

    public static func == (a: Document, b: Document) -> Bool {
        a.id == b.id && a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public func value(_ name: String) -> FieldValue? {
        fields.first { $0.name == name }?.value
    }
}
