/// A configuration value after type checking, before it is read into the typed `PrismConfig`.
public enum ConfigValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case list([String])
    /// Free-form table (node attributes): name → scalar.
    case table([String: ConfigValue])
    /// An optional key that is not set.
    case unset

    /// TOML spelling, used by `prism config check` and the configuration reference.
    public var description: String {
        switch self {
        case .string(let s): return TOMLText.quote(s)
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        case .list(let items): return "[" + items.map(TOMLText.quote).joined(separator: ", ") + "]"
        case .table(let entries):
            let body = entries.keys.sorted().map { "\($0) = \(entries[$0]?.description ?? "")" }
            return "{ " + body.joined(separator: ", ") + " }"
        case .unset: return "(unset)"
        }
    }

    var typeName: String {
        switch self {
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a number"
        case .bool: return "a boolean"
        case .list: return "an array"
        case .table: return "a table"
        case .unset: return "nothing"
        }
    }
}

enum TOMLText {
    static func quote(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }
}
