/// Where a member's gossip socket listens (UDP probes and TCP push-pull on the same port).
public struct GossipEndpoint: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public static func < (a: GossipEndpoint, b: GossipEndpoint) -> Bool { (a.host, a.port) < (b.host, b.port) }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
