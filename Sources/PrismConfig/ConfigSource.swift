/// Where a configuration value came from; errors and `config check` name it.
public enum ConfigSource: Sendable, Equatable, CustomStringConvertible {
    case defaultValue
    case file(path: String, line: Int?)
    case environment(variable: String)
    case flag(name: String)

    public var description: String {
        switch self {
        case .defaultValue: return "default"
        case .file(let path, let line): return line.map { "\(path):\($0)" } ?? path
        case .environment(let variable): return "environment \(variable)"
        case .flag(let name): return "flag \(name)"
        }
    }
}
