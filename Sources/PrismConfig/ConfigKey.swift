/// One configuration key: its dotted path, type, default, and meaning. `ConfigSchema.keys` is
/// the single list from which parsing, the environment names, `config check` and the reference
/// in docs/configuration.md are all derived.
public struct ConfigKey: Sendable {
    public let path: String
    public let kind: ConfigKind
    public let defaultValue: ConfigValue
    public let summary: String
    /// Extra environment names accepted besides `PRISM_<PATH>` (the seed guide's StatefulSet sets `NODE_ID`).
    public let aliases: [String]

    public init(_ path: String, _ kind: ConfigKind, _ defaultValue: ConfigValue, _ summary: String, aliases: [String] = []) {
        self.path = path
        self.kind = kind
        self.defaultValue = defaultValue
        self.summary = summary
        self.aliases = aliases
    }

    /// `cluster.health.failure_threshold` → `PRISM_CLUSTER_HEALTH_FAILURE_THRESHOLD`.
    public var environmentName: String {
        "PRISM_" + path.uppercased().replacingDots(with: "_")
    }

    public var section: String {
        guard let dot = path.lastIndex(of: ".") else { return "" }
        return String(path[..<dot])
    }

    public var name: String {
        guard let dot = path.lastIndex(of: ".") else { return path }
        return String(path[path.index(after: dot)...])
    }
}

extension String {
    func replacingDots(with replacement: String) -> String {
        split(separator: ".", omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
