/// The type of a configuration key and the values it allows. Each kind converts both TOML values
/// and the strings that come from the environment and command-line flags.
public enum ConfigKind: Sendable {
    case string(allowEmpty: Bool)
    case integer(ClosedRange<Int64>)
    case number(ClosedRange<Double>)
    case boolean
    case choice([String])
    /// Bytes: an integer, or a string such as "100MB" / "512KiB".
    case size(ClosedRange<Int64>)
    /// Milliseconds: an integer, or a string such as "500ms" / "5s" / "2m".
    case durationMillis(ClosedRange<Int64>)
    /// A 5-field cron expression; empty means "never".
    case cron
    /// `host:port`.
    case address
    case addressList
    case stringList
    /// Free-form table of scalars (node attributes).
    case attributes
    /// An integer or one of the named words (`min_nodes_for_write = "quorum" | 3`).
    case integerOrChoice(ClosedRange<Int64>, [String])

    /// What is allowed, for error messages and the reference.
    public var allowed: String {
        switch self {
        case .string(let allowEmpty): return allowEmpty ? "a string" : "a non-empty string"
        case .integer(let r): return "an integer in \(r.lowerBound)...\(r.upperBound)"
        case .number(let r): return "a number in \(r.lowerBound)...\(r.upperBound)"
        case .boolean: return "true or false"
        case .choice(let options): return "one of " + options.map { "\"\($0)\"" }.joined(separator: ", ")
        case .size(let r):
            return "a size such as \"100MB\", \"512KiB\" or a byte count, from \(ByteSize.format(r.lowerBound)) to \(ByteSize.format(r.upperBound))"
        case .durationMillis(let r):
            return "a duration such as \"500ms\", \"5s\", \"2m\" or milliseconds, from \(r.lowerBound) to \(r.upperBound) ms"
        case .cron: return "a 5-field cron expression (minute hour day-of-month month day-of-week), e.g. \"0 9-17 * * MON-FRI\""
        case .address: return "\"host:port\" with a port in 0...65535"
        case .addressList: return "an array of \"host:port\" strings"
        case .stringList: return "an array of strings"
        case .attributes: return "a table of strings, numbers and booleans"
        case .integerOrChoice(let r, let words):
            return words.map { "\"\($0)\"" }.joined(separator: ", ") + " or an integer in \(r.lowerBound)...\(r.upperBound)"
        }
    }

    /// Converts a value read from TOML. Returns the normalized value or a message.
    func convert(_ raw: ConfigValue) -> Result<ConfigValue, ConfigProblem> {
        switch (self, raw) {
        case (.string(let allowEmpty), .string(let s)):
            return allowEmpty || !s.isEmpty ? .success(raw) : .failure("must not be empty")
        case (.integer(let r), .int(let i)):
            return r.contains(i) ? .success(raw) : .failure("out of range; expected \(allowed)")
        case (.number(let r), .int(let i)):
            return r.contains(Double(i)) ? .success(.double(Double(i))) : .failure("out of range; expected \(allowed)")
        case (.number(let r), .double(let d)):
            return r.contains(d) ? .success(raw) : .failure("out of range; expected \(allowed)")
        case (.boolean, .bool):
            return .success(raw)
        case (.choice(let options), .string(let s)):
            return options.contains(s) ? .success(raw) : .failure("unknown value; expected \(allowed)")
        case (.size(let r), .int(let i)):
            return r.contains(i) ? .success(raw) : .failure("out of range; expected \(allowed)")
        case (.size(let r), .string(let s)):
            guard let bytes = ByteSize.parse(s) else { return .failure("malformed size; expected \(allowed)") }
            return r.contains(bytes) ? .success(.int(bytes)) : .failure("out of range; expected \(allowed)")
        case (.durationMillis(let r), .int(let i)):
            return r.contains(i) ? .success(raw) : .failure("out of range; expected \(allowed)")
        case (.durationMillis(let r), .string(let s)):
            guard let ms = Duration.parseMillis(s) else { return .failure("malformed duration; expected \(allowed)") }
            return r.contains(ms) ? .success(.int(ms)) : .failure("out of range; expected \(allowed)")
        case (.cron, .string(let s)):
            if s.trimmingSpaces.isEmpty { return .success(.string("")) }
            switch CronSchedule.parse(s) {
            case .success: return .success(raw)
            case .failure(let error): return .failure("malformed cron: \(error.message); expected \(allowed)")
            }
        case (.address, .string(let s)):
            switch HostPort.parse(s) {
            case .success: return .success(raw)
            case .failure(let message): return .failure("\(message.description); expected \(allowed)")
            }
        case (.addressList, .list(let items)):
            for item in items {
                if case .failure(let message) = HostPort.parse(item) {
                    return .failure("element \"\(item)\": \(message.description); expected \(allowed)")
                }
            }
            return .success(raw)
        case (.stringList, .list):
            return .success(raw)
        case (.attributes, .table(let entries)):
            for (name, value) in entries {
                switch value {
                case .string, .int, .double, .bool: continue
                default: return .failure("attribute \(name) is \(value.typeName); expected \(allowed)")
                }
            }
            return .success(raw)
        case (.integerOrChoice(let r, _), .int(let i)):
            return r.contains(i) ? .success(raw) : .failure("out of range; expected \(allowed)")
        case (.integerOrChoice(_, let words), .string(let s)):
            return words.contains(s) ? .success(raw) : .failure("unknown value; expected \(allowed)")
        default:
            return .failure("wrong type: got \(raw.typeName), expected \(allowed)")
        }
    }

    /// Converts a string from the environment or a command-line flag.
    func convert(text: String) -> Result<ConfigValue, ConfigProblem> {
        let trimmed = text.trimmingSpaces
        switch self {
        case .string, .choice, .cron, .address:
            return convert(.string(text))
        case .integer, .durationMillis, .size:
            if let i = Int64(trimmed) { return convert(.int(i)) }
            if case .integer = self { return .failure("wrong type: \"\(text)\" is not an integer; expected \(allowed)") }
            return convert(.string(trimmed))
        case .number:
            guard let d = Double(trimmed) else { return .failure("wrong type: \"\(text)\" is not a number; expected \(allowed)") }
            return convert(.double(d))
        case .boolean:
            switch trimmed.lowercased() {
            case "true", "1", "yes", "on": return .success(.bool(true))
            case "false", "0", "no", "off": return .success(.bool(false))
            default: return .failure("wrong type: \"\(text)\" is not a boolean; expected \(allowed)")
            }
        case .addressList, .stringList:
            let items = trimmed.isEmpty ? [] : trimmed.split(separator: ",").map { String($0).trimmingSpaces }
            return convert(.list(items))
        case .attributes:
            // NAME=VALUE pairs separated by commas.
            var entries: [String: ConfigValue] = [:]
            for pair in trimmed.split(separator: ",") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { return .failure("\"\(pair)\" is not NAME=VALUE; expected comma-separated NAME=VALUE pairs") }
                entries[String(parts[0]).trimmingSpaces] = .string(String(parts[1]).trimmingSpaces)
            }
            return .success(.table(entries))
        case .integerOrChoice:
            if let i = Int64(trimmed) { return convert(.int(i)) }
            return convert(.string(trimmed))
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
