/// One refused configuration input: where it is, which key, the bad value and what is allowed.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: ConfigSource
    /// Dotted key path (`cluster.health.failure_threshold`), or empty for a syntax error.
    public var key: String
    /// The offending value as written (empty when not applicable).
    public var value: String
    /// What is wrong and what is allowed.
    public var message: String

    public init(source: ConfigSource, key: String, value: String, message: String) {
        self.source = source
        self.key = key
        self.value = value
        self.message = message
    }

    public var description: String {
        var text = "\(source): "
        if !key.isEmpty {
            text += value.isEmpty ? "\(key): " : "\(key) = \(value): "
        }
        return text + message
    }
}

/// Every error found in one load, so a user fixes them all in one pass.
public struct ConfigErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [ConfigError]

    public init(_ errors: [ConfigError]) { self.errors = errors }

    public var description: String {
        let head = errors.count == 1 ? "invalid configuration:" : "invalid configuration (\(errors.count) errors):"
        return ([head] + errors.map { "  " + $0.description }).joined(separator: "\n")
    }
}
