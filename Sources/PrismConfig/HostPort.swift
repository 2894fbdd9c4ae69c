/// A `host:port` pair. IPv6 hosts are written in brackets: `[::1]:7000`.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public static func parse(_ text: String) -> Result<HostPort, ConfigProblem> {
        let s = text.trimmingSpaces
        let host: Substring
        let portText: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return .failure("missing ']' after IPv6 host") }
            host = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            guard rest.hasPrefix(":") else { return .failure("missing ':port'") }
            portText = rest.dropFirst()
        } else {
            guard let colon = s.lastIndex(of: ":") else { return .failure("missing ':port'") }
            host = s[..<colon]
            portText = s[s.index(after: colon)...]
        }
        guard !host.isEmpty else { return .failure("missing host") }
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" || $0 == ":" }) else {
            return .failure("host \"\(host)\" has invalid characters")
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            return .failure("port \"\(portText)\" is not a number in 0...65535")
        }
        return .success(HostPort(host: String(host), port: port))
    }
}
