import PrismGossip
import PrismStorage
import PrismTransport
import Testing

/// Gossip encryption: AES-256-GCM with a rotating keyring.
@Suite("Gossip keyring")
struct KeyringTests {
    static func key(_ seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<32).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    let body = GossipCodec.encodeBody([.ping(sequence: 9, target: "b", source: "a", sourceEndpoint: GossipEndpoint(host: "10.0.0.1", port: 7946))])

    @Test func sealedPacketsOpenWithTheKeyAndHideTheBody() throws {
        let format = GossipPacketFormat(keyring: try Keyring(keys: [Self.key(1)]))
        let packet = format.wrap(body)
        #expect(packet.count == body.count + 2 + Keyring.overhead)
        #expect(!packet.indices.dropLast(body.count).contains { Array(packet[$0..<$0 + body.count]) == body },
                "the body must not appear in clear")
        #expect(try format.unwrap(packet) == body)
        #expect(format.wrap(body) != packet, "a fresh nonce per packet")
        #expect(format.datagramBodyBudget == GossipPacketFormat.maxDatagramSize - 2 - Keyring.overhead)
    }

    @Test func wrongKeysTamperingAndMissingEncryptionAreRefused() throws {
        let mine = GossipPacketFormat(keyring: try Keyring(keys: [Self.key(1)]))
        let theirs = GossipPacketFormat(keyring: try Keyring(keys: [Self.key(2)]))
        let plain = GossipPacketFormat()
        #expect(throws: GossipWireError.undecryptable) { try mine.unwrap(theirs.wrap(body)) }
        #expect(throws: GossipWireError.unencrypted) { try mine.unwrap(plain.wrap(body)) }
        #expect(throws: GossipWireError.undecryptable) { try plain.unwrap(mine.wrap(body)) }
        let packet = mine.wrap(body)
        for i in packet.indices {
            var tampered = packet
            tampered[i] ^= 0x01
            #expect(throws: GossipWireError.self, "a flipped bit at \(i) was accepted") { try mine.unwrap(tampered) }
        }
        for cut in 0..<packet.count {
            #expect(throws: GossipWireError.self) { try mine.unwrap(Array(packet.prefix(cut))) }
        }
    }

    @Test func rotationAcceptsEveryKeyAndSendsWithThePrimary() throws {
        let old = GossipPacketFormat(keyring: try Keyring(keys: [Self.key(1)]))
        let rotating = GossipPacketFormat(keyring: try Keyring(keys: [Self.key(2), Self.key(1)]))
        let new = GossipPacketFormat(keyring: try Keyring(keys: [Self.key(2)]))
        #expect(try rotating.unwrap(old.wrap(body)) == body, "old key still accepted during rotation")
        #expect(try rotating.unwrap(new.wrap(body)) == body)
        #expect(try new.unwrap(rotating.wrap(body)) == body, "sends with the new primary")
        #expect(throws: GossipWireError.undecryptable) { try old.unwrap(rotating.wrap(body)) }
    }

    @Test func keysMustBe32Bytes() {
        #expect(throws: Keyring.Failure.empty) { try Keyring(keys: []) }
        #expect(throws: Keyring.Failure.wrongKeySize(index: 1, bytes: 16)) { try Keyring(keys: [Self.key(1), Array(Self.key(2).prefix(16))]) }
    }
}
