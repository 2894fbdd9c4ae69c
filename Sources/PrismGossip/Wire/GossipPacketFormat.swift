import PrismTransport

/// The envelope of every gossip datagram and push-pull frame: a protocol version byte, a flags
/// byte, then the body, sealed with the keyring's primary key when a keyring is configured.
/// With a keyring, unsealed packets are refused (an attacker could otherwise just not encrypt);
/// without one, sealed packets cannot be read and are refused too.
public struct GossipPacketFormat: Sendable {
    /// Largest UDP datagram sent: fits a 1500-byte Ethernet MTU with IP/UDP headers and slack for tunnels.
    public static let maxDatagramSize = 1400
    static let headerSize = 2
    static let sealedFlag: UInt8 = 0x01

    public let keyring: Keyring?

    public init(keyring: Keyring? = nil) { self.keyring = keyring }

    /// Body bytes that fit in one datagram.
    public var datagramBodyBudget: Int {
        Self.maxDatagramSize - Self.headerSize - (keyring == nil ? 0 : Keyring.overhead)
    }

    public func wrap(_ body: [UInt8]) -> [UInt8] {
        guard let keyring else { return [GossipProtocol.version, 0] + body }
        return keyring.seal(body, header: [GossipProtocol.version, Self.sealedFlag])
    }

    public func unwrap(_ packet: [UInt8]) throws(GossipWireError) -> [UInt8] {
        guard packet.count >= Self.headerSize else { throw .truncated }
        let version = packet[0], flags = packet[1]
        guard GossipProtocol.accepts(version) else { throw .unsupportedVersion(version) }
        guard flags & ~Self.sealedFlag == 0 else { throw .malformed("unknown flags \(flags)") }
        let sealed = flags & Self.sealedFlag != 0
        guard let keyring else {
            if sealed { throw .undecryptable }
            return Array(packet[Self.headerSize...])
        }
        guard sealed else { throw .unencrypted }
        guard let body = keyring.open(packet[Self.headerSize...], header: packet[0..<Self.headerSize]) else { throw .undecryptable }
        return body
    }
}
