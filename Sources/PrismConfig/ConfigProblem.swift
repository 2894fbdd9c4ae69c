/// Why one value was refused; becomes the message of a `ConfigError`.
public struct ConfigProblem: Error, Sendable, Equatable, CustomStringConvertible, ExpressibleByStringInterpolation {
    public let description: String

    public init(stringLiteral value: String) { description = value }
    public init(_ text: String) { description = text }
}
