import PrismTransport

/// The reader of gossip packets: refusals are `GossipWireError`s (counted by reason).
typealias GossipWireReader = WireReader<GossipWireError>

/// Why bytes from the network were refused. The shell drops the packet and counts it under
/// `reason` (metric `prism_gossip_dropped_packets_total{reason}`).
public enum GossipWireError: WireDecodingFailure, Equatable, Sendable, CustomStringConvertible {
    case truncated
    case malformed(String)
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)
    case undecryptable
    case unencrypted
    case tooLarge(Int)

    public var reason: String {
        switch self {
        case .truncated: "truncated"
        case .malformed: "malformed"
        case .unsupportedVersion: "version"
        case .unknownKind: "malformed"
        case .undecryptable: "key"
        case .unencrypted: "unencrypted"
        case .tooLarge: "too_large"
        }
    }

    public var description: String {
        switch self {
        case .truncated: "truncated packet"
        case .malformed(let why): "malformed packet: \(why)"
        case .unsupportedVersion(let v):
            "protocol version \(v) is outside \(GossipProtocol.minimumSupportedVersion)...\(GossipProtocol.version)"
        case .unknownKind(let k): "unknown message kind \(k)"
        case .undecryptable: "no key in the keyring opens the packet"
        case .unencrypted: "unencrypted packet while a keyring is configured"
        case .tooLarge(let n): "frame of \(n) bytes exceeds the limit"
        }
    }
}
