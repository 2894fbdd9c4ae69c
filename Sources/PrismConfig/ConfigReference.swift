import Foundation

/// The configuration reference in Markdown, generated from `ConfigSchema.keys` so it cannot drift
/// from the code (docs/configuration.md is this output plus the hand-written preamble).
public enum ConfigReference {
    public static func markdown() -> String {
        var out = ""
        var section = ""
        for key in ConfigSchema.keys {
            if key.section != section {
                section = key.section
                out += "\n### `[\(section)]`\n\n| key | default | allowed | environment | meaning |\n|---|---|---|---|---|\n"
            }
            var defaultText: String
            switch (key.kind, key.defaultValue) {
            case (.size, .int(let bytes)): defaultText = "`\"\(ByteSize.format(bytes))\"`"
            case (_, .unset): defaultText = "(unset)"
            default: defaultText = "`\(key.defaultValue.description)`"
            }
            if key.path == "node.id" { defaultText = "host name" }
            let env = ([key.environmentName] + key.aliases).map { "`\($0)`" }.joined(separator: ", ")
            let allowed = key.kind.allowed.replacingOccurrences(of: "|", with: "\\|")
            out += "| `\(key.name)` | \(defaultText) | \(allowed) | \(env) | \(key.summary) |\n"
        }
        return out
    }
}

