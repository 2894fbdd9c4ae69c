/// Checks a document from a request against the collection schema and converts it to typed
/// fields. Every refusal names the document, the field and the value's fault.
public struct DocumentValidator: Sendable {
    public static let maxIDBytes = 256
    public let schema: CollectionSchema

    public init(schema: CollectionSchema) { self.schema = schema }

    /// Checks a document id (also used for GET/DELETE by id).
    public static func validate(id: String) throws(EngineError) {
        guard !id.isEmpty else { throw .invalid("id: must be a non-empty string") }
        guard id.utf8.count <= maxIDBytes else { throw .invalid("id: \(id.utf8.count) bytes is longer than the \(maxIDBytes)-byte limit") }
    }

    public func validate(_ json: JSONValue) throws(EngineError) -> Document {
        guard case .object(let object) = json else { throw .invalid("document: expected an object, got \(json.typeName)") }
        for key in object.keys.sorted() where key != "id" && key != "fields" {
            throw .invalid("\(key): unknown key in document; a document is {\"id\": ..., \"fields\": {...}}")
        }
        guard let rawID = object["id"] else { throw .invalid("id: required") }
        guard case .string(let id) = rawID else { throw .invalid("id: expected a string, got \(rawID.typeName)") }
        try DocumentValidator.validate(id: id)
        guard let rawFields = object["fields"] else { throw .invalid("fields: required") }
        guard case .object(let fieldValues) = rawFields else { throw .invalid("fields: expected an object, got \(rawFields.typeName)") }

        var fields: [(name: String, value: FieldValue)] = []
        fields.reserveCapacity(fieldValues.count)
        for (name, value) in fieldValues.sorted(by: { $0.key < $1.key }) {
            if case .null = value { continue }
            if let vector = schema.backends.vector, name == vector.embeddingField {
                fields.append((name, try vectorValue(value, field: name, dimension: vector.dimension)))
                continue
            }
            guard let definition = schema.field(name) else {
                throw .invalid("fields.\(name): not in the schema of collection '\(schema.collection)'")
            }
            fields.append((name, try typed(value, definition)))
        }
        return Document(id: id, fields: fields)
    }

    private func typed(_ value: JSONValue, _ field: FieldDefinition) throws(EngineError) -> FieldValue {
        let path = "fields.\(field.name)"
        switch field.type {
        case .text, .string:
            guard case .string(let s) = value else { throw .invalid("\(path): expected a string for a \(field.type.rawValue) field, got \(value.typeName)") }
            return .text(s)
        case .i64:
            switch value {
            case .int(let i): return .int(i)
            case .double(let d) where d == d.rounded() && abs(d) < 9.2e18: return .int(Int64(d))
            case .uint(let u): throw .invalid("\(path): \(u) does not fit in i64")
            default: throw .invalid("\(path): expected an integer for an i64 field, got \(describe(value))")
            }
        case .u64:
            switch value {
            case .int(let i) where i >= 0: return .uint(UInt64(i))
            case .uint(let u): return .uint(u)
            case .int(let i): throw .invalid("\(path): \(i) is negative; u64 fields take 0...\(UInt64.max)")
            default: throw .invalid("\(path): expected a non-negative integer for a u64 field, got \(describe(value))")
            }
        case .f64:
            guard let d = value.doubleValue else { throw .invalid("\(path): expected a number for an f64 field, got \(value.typeName)") }
            guard d.isFinite else { throw .invalid("\(path): must be finite") }
            return .double(d)
        case .bool:
            guard case .bool(let b) = value else { throw .invalid("\(path): expected true or false, got \(value.typeName)") }
            return .bool(b)
        case .date:
            switch value {
            case .string(let s):
                guard let micros = RFC3339.parse(s) else {
                    throw .invalid("\(path): '\(s)' is not an RFC 3339 date-time (e.g. 2024-05-01T12:00:00Z) or epoch microseconds")
                }
                return .date(micros)
            case .int(let i): return .date(i)
            default: throw .invalid("\(path): expected an RFC 3339 string or epoch microseconds, got \(value.typeName)")
            }
        case .bytes:
            guard case .string(let s) = value, let bytes = Base64.decode(s) else {
                throw .invalid("\(path): expected a base64 string for a bytes field, got \(describe(value))")
            }
            return .bytes(bytes)
        }
    }

    private func vectorValue(_ value: JSONValue, field: String, dimension: Int) throws(EngineError) -> FieldValue {
        let path = "fields.\(field)"
        guard case .array(let items) = value else { throw .invalid("\(path): expected an array of \(dimension) numbers, got \(value.typeName)") }
        guard items.count == dimension else {
            throw .invalid("\(path): vector has \(items.count) dimensions, the schema requires \(dimension)")
        }
        var vector: [Float] = []
        vector.reserveCapacity(dimension)
        for (i, item) in items.enumerated() {
            guard let d = item.doubleValue else { throw .invalid("\(path)[\(i)]: expected a number, got \(item.typeName)") }
            let f = Float(d)
            guard f.isFinite else { throw .invalid("\(path)[\(i)]: \(d) is not a finite 32-bit float") }
            vector.append(f)
        }
        return .vector(vector)
    }

    private func describe(_ value: JSONValue) -> String {
        switch value {
        case .double(let d): return "\(d)"
        case .string(let s): return "the string '\(s.prefix(40))'"
        default: return value.typeName
        }
    }
}
