import Foundation
import TOMLKit

/// Turns a TOML file, the environment and command-line flags into a validated `PrismConfig`.
/// Precedence: flag > environment > file > default. Every problem is collected and reported at
/// once; nothing starts on an invalid configuration.
public struct ConfigLoader: Sendable {
    /// A value given on the command line: the key it sets, the flag's name, and its text.
    public struct FlagValue: Sendable {
        public var key: String
        public var flag: String
        public var text: String

        public init(key: String, flag: String, text: String) {
            self.key = key
            self.flag = flag
            self.text = text
        }
    }

    public var filePath: String?
    public var environment: [String: String]
    public var flags: [FlagValue]

    public init(filePath: String? = nil, environment: [String: String] = [:], flags: [FlagValue] = []) {
        self.filePath = filePath
        self.environment = environment
        self.flags = flags
    }

    /// Loads the file at `filePath` (if any) and resolves everything.
    public func load() throws(ConfigErrors) -> ResolvedConfig {
        var fileText: String?
        if let filePath {
            guard let data = FileManager.default.contents(atPath: filePath) else {
                throw ConfigErrors([ConfigError(source: .file(path: filePath, line: nil), key: "", value: "",
                                                message: "cannot read the configuration file (missing or unreadable)")])
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw ConfigErrors([ConfigError(source: .file(path: filePath, line: nil), key: "", value: "",
                                                message: "the configuration file is not UTF-8 text")])
            }
            fileText = text
        }
        return try resolve(fileText: fileText)
    }

    /// Resolves with the file's text given directly (`filePath` only names it in errors).
    public func resolve(fileText: String?) throws(ConfigErrors) -> ResolvedConfig {
        var errors: [ConfigError] = []
        var values: [String: (ConfigValue, ConfigSource)] = [:]
        for key in ConfigSchema.keys { values[key.path] = (key.defaultValue, .defaultValue) }

        if let fileText {
            let name = filePath ?? "config"
            do {
                let table = try TOMLTable(string: fileText)
                let lines = TOMLLineIndex(text: fileText)
                readTable(table, prefix: [], file: name, lines: lines, into: &values, errors: &errors)
            } catch let error as TOMLParseError {
                errors.append(ConfigError(source: .file(path: name, line: error.source.begin.line), key: "", value: "",
                                          message: "TOML syntax error at column \(error.source.begin.column): \(error.description)"))
            } catch {
                errors.append(ConfigError(source: .file(path: name, line: nil), key: "", value: "", message: "\(error)"))
            }
        }

        readEnvironment(into: &values, errors: &errors)

        for flag in flags {
            guard let key = ConfigSchema.byPath[flag.key] else {
                errors.append(ConfigError(source: .flag(name: flag.flag), key: flag.key, value: flag.text, message: "unknown key"))
                continue
            }
            switch key.kind.convert(text: flag.text) {
            case .success(let value): values[key.path] = (value, .flag(name: flag.flag))
            case .failure(let message):
                errors.append(ConfigError(source: .flag(name: flag.flag), key: key.path, value: flag.text, message: message.description))
            }
        }

        // Rules across keys are checked too (refused keys keep their defaults), so one run reports
        // everything; a key already refused is not reported twice.
        let resolved = ResolvedConfig(values: values)
        do {
            _ = try resolved.typed()
        } catch let problems {
            let refused = Set(errors.map(\.key))
            errors += problems.errors.filter { !refused.contains($0.key) }
        }
        guard errors.isEmpty else { throw ConfigErrors(errors) }
        return resolved
    }

    private func readTable(
        _ table: TOMLTable, prefix: [String], file: String, lines: TOMLLineIndex,
        into values: inout [String: (ConfigValue, ConfigSource)], errors: inout [ConfigError]
    ) {
        for (name, value) in table {
            let path = (prefix + [name]).joined(separator: ".")
            let source = ConfigSource.file(path: file, line: lines.line(of: path))
            if let key = ConfigSchema.byPath[path] {
                guard let raw = ConfigLoader.configValue(value) else {
                    errors.append(ConfigError(source: source, key: path, value: "\(value)",
                                              message: "wrong type: got a TOML \(value.type), expected \(key.kind.allowed)"))
                    continue
                }
                switch key.kind.convert(raw) {
                case .success(let converted): values[path] = (converted, source)
                case .failure(let message): errors.append(ConfigError(source: source, key: path, value: raw.description, message: message.description))
                }
            } else if ConfigSchema.sections.contains(path), let inner = value.table {
                readTable(inner, prefix: prefix + [name], file: file, lines: lines, into: &values, errors: &errors)
            } else if ConfigSchema.sections.contains(path) {
                errors.append(ConfigError(source: source, key: path, value: ConfigLoader.configValue(value)?.description ?? "",
                                          message: "is a section, not a value"))
            } else {
                // Name the whole unknown table header (`[clustr.health]`), not just its first part.
                var unknown = path
                var inner = value.table
                while let table = inner, table.count == 1, let (name, child) = table.first(where: { _ in true }), child.table != nil {
                    unknown += "." + name
                    inner = child.table
                }
                let isTable = value.table != nil
                var message = isTable ? "unknown section" : "unknown key"
                if let hint = ConfigSchema.suggestion(for: unknown) { message += "; did you mean \(hint)?" }
                let shown = isTable ? "" : ConfigLoader.configValue(value)?.description ?? ""
                errors.append(ConfigError(source: ConfigSource.file(path: file, line: lines.line(of: unknown)), key: unknown,
                                          value: shown, message: message))
            }
        }
    }

    private func readEnvironment(into values: inout [String: (ConfigValue, ConfigSource)], errors: inout [ConfigError]) {
        var byName: [String: ConfigKey] = [:]
        for key in ConfigSchema.keys { byName[key.environmentName] = key }
        // Aliases first so the PRISM_ name wins when both are set.
        for key in ConfigSchema.keys {
            for alias in key.aliases {
                if let text = environment[alias], values[key.path]?.1.isFileOrDefault ?? true {
                    apply(text, to: key, source: .environment(variable: alias), into: &values, errors: &errors)
                }
            }
        }
        for (name, text) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("PRISM_") {
            guard let key = byName[name] else {
                var message = "unknown PRISM_ environment variable"
                let guess = name.dropFirst("PRISM_".count).lowercased()
                if let hint = ConfigSchema.keys.min(by: {
                    EditDistance.between(guess, $0.path.replacingDots(with: "_")) < EditDistance.between(guess, $1.path.replacingDots(with: "_"))
                }), EditDistance.between(guess, hint.path.replacingDots(with: "_")) <= 3 {
                    message += "; did you mean \(hint.environmentName)?"
                }
                errors.append(ConfigError(source: .environment(variable: name), key: "", value: text, message: message))
                continue
            }
            apply(text, to: key, source: .environment(variable: name), into: &values, errors: &errors)
        }
    }

    private func apply(_ text: String, to key: ConfigKey, source: ConfigSource,
                       into values: inout [String: (ConfigValue, ConfigSource)], errors: inout [ConfigError]) {
        switch key.kind.convert(text: text) {
        case .success(let value): values[key.path] = (value, source)
        case .failure(let message): errors.append(ConfigError(source: source, key: key.path, value: text, message: message.description))
        }
    }

    static func configValue(_ value: any TOMLValueConvertible) -> ConfigValue? {
        switch value.type {
        case .string: return value.string.map(ConfigValue.string)
        case .int: return value.int.map { .int(Int64($0)) }
        case .double: return value.double.map(ConfigValue.double)
        case .bool: return value.bool.map(ConfigValue.bool)
        case .array:
            guard let array = value.array else { return nil }
            var items: [String] = []
            for element in array {
                guard let s = element.string else { return nil }
                items.append(s)
            }
            return .list(items)
        case .table:
            guard let table = value.table else { return nil }
            var entries: [String: ConfigValue] = [:]
            for (name, element) in table {
                guard let converted = configValue(element) else { return nil }
                entries[name] = converted
            }
            return .table(entries)
        default:
            return nil
        }
    }
}

extension ConfigSource {
    var isFileOrDefault: Bool {
        switch self {
        case .defaultValue, .file: return true
        default: return false
        }
    }
}
