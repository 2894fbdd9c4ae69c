/// Where a member's gossip socket listens (UDP probes and TCP push-pull on the same port).
public struct GossipEndpoint: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var host: String
    /// Stored in 16 bits: member tables hold one endpoint per entry, 10⁸ entries in a simulated
    /// 10,000-member mesh. Ports are validated where they are read (configuration, the wire);
    /// a value outside 0...65535 given here is clamped.
    private var storedPort: UInt16

    public var port: Int {
        get { Int(storedPort) }
        set { storedPort = UInt16(clamping: newValue) }
    }

    public init(host: String, port: Int) {
        self.host = host
        storedPort = UInt16(clamping: port)
    }

    public static func < (a: GossipEndpoint, b: GossipEndpoint) -> Bool { (a.host, a.port) < (b.host, b.port) }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
