/// What a member tells the mesh about itself, carried in its `alive` messages: identity,
/// placement domains, service addresses, versions, and a small versioned key/value state
/// (drain flag, load) that other layers read. A change is published by bumping the member's
/// incarnation, so it spreads like any state change.
public struct MemberMetadata: Hashable, Sendable {
    public var zone: String
    public var rack: String
    public var region: String
    public var attributes: [String: String]
    public var httpAddress: String
    public var rpcAddress: String
    public var protocolVersion: UInt8
    public var buildVersion: String
    /// Small state other layers set (`drain`, `load`...); spread with the metadata.
    public var state: [String: String]

    public init(zone: String = "", rack: String = "", region: String = "", attributes: [String: String] = [:],
                httpAddress: String = "", rpcAddress: String = "", protocolVersion: UInt8 = GossipProtocol.version,
                buildVersion: String = "", state: [String: String] = [:]) {
        self.zone = zone
        self.rack = rack
        self.region = region
        self.attributes = attributes
        self.httpAddress = httpAddress
        self.rpcAddress = rpcAddress
        self.protocolVersion = protocolVersion
        self.buildVersion = buildVersion
        self.state = state
    }
}

/// Versions of the gossip protocol this build speaks.
public enum GossipProtocol {
    /// Written in every datagram and push-pull frame.
    public static let version: UInt8 = 1
    /// The oldest version this build still accepts.
    public static let minimumSupportedVersion: UInt8 = 1

    public static func accepts(_ version: UInt8) -> Bool { version >= minimumSupportedVersion && version <= self.version }
}
