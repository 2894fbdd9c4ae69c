/// What a member tells the mesh about itself, carried in its `alive` messages: identity,
/// placement domains, service addresses, versions, and a small versioned key/value state
/// (drain flag, load) that other layers read. A change is published by bumping the member's
/// incarnation, so it spreads like any state change.
///
/// It is stored once and shared by every copy (copy-on-write): a simulated 10,000-node mesh
/// holds 10⁸ member entries, and each would otherwise carry its own strings.
public struct MemberMetadata: Hashable, Sendable {
    private final class Storage: @unchecked Sendable {
        // Mutated only through `unique()`, i.e. when no other copy can see it.
        var zone: String
        var rack: String
        var region: String
        var attributes: [String: String]
        var httpAddress: String
        var rpcAddress: String
        var protocolVersion: UInt8
        var buildVersion: String
        var state: [String: String]

        init(zone: String, rack: String, region: String, attributes: [String: String], httpAddress: String, rpcAddress: String,
             protocolVersion: UInt8, buildVersion: String, state: [String: String]) {
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

        func copy() -> Storage {
            Storage(zone: zone, rack: rack, region: region, attributes: attributes, httpAddress: httpAddress, rpcAddress: rpcAddress,
                    protocolVersion: protocolVersion, buildVersion: buildVersion, state: state)
        }
    }

    private var storage: Storage

    public init(zone: String = "", rack: String = "", region: String = "", attributes: [String: String] = [:],
                httpAddress: String = "", rpcAddress: String = "", protocolVersion: UInt8 = GossipProtocol.version,
                buildVersion: String = "", state: [String: String] = [:]) {
        storage = Storage(zone: zone, rack: rack, region: region, attributes: attributes, httpAddress: httpAddress,
                          rpcAddress: rpcAddress, protocolVersion: protocolVersion, buildVersion: buildVersion, state: state)
    }

    private mutating func unique() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    public var zone: String {
        get { storage.zone }
        set { unique().zone = newValue }
    }
    public var rack: String {
        get { storage.rack }
        set { unique().rack = newValue }
    }
    public var region: String {
        get { storage.region }
        set { unique().region = newValue }
    }
    public var attributes: [String: String] {
        get { storage.attributes }
        set { unique().attributes = newValue }
    }
    public var httpAddress: String {
        get { storage.httpAddress }
        set { unique().httpAddress = newValue }
    }
    public var rpcAddress: String {
        get { storage.rpcAddress }
        set { unique().rpcAddress = newValue }
    }
    public var protocolVersion: UInt8 {
        get { storage.protocolVersion }
        set { unique().protocolVersion = newValue }
    }
    public var buildVersion: String {
        get { storage.buildVersion }
        set { unique().buildVersion = newValue }
    }
    /// Small state other layers set (`drain`, `load`...); spread with the metadata.
    public var state: [String: String] {
        get { storage.state }
        set { unique().state = newValue }
    }

    public static func == (a: MemberMetadata, b: MemberMetadata) -> Bool {
        if a.storage === b.storage { return true }
        return a.zone == b.zone && a.rack == b.rack && a.region == b.region && a.attributes == b.attributes
            && a.httpAddress == b.httpAddress && a.rpcAddress == b.rpcAddress && a.protocolVersion == b.protocolVersion
            && a.buildVersion == b.buildVersion && a.state == b.state
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(zone)
        hasher.combine(rack)
        hasher.combine(region)
        hasher.combine(attributes)
        hasher.combine(httpAddress)
        hasher.combine(rpcAddress)
        hasher.combine(protocolVersion)
        hasher.combine(buildVersion)
        hasher.combine(state)
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
