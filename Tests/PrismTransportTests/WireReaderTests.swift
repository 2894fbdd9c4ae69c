import PrismTransport
import Testing

/// Strings read off the wire: ASCII takes a path that skips validation, so every other
/// string must still be validated, wherever its first non-ASCII byte falls.
@Suite("Wire reader strings")
struct WireReaderTests {
    enum Failure: WireDecodingFailure, Equatable {
        case truncated
        case malformed(String)
    }

    static func encoded(_ bytes: [UInt8]) -> [UInt8] {
        var w = WireWriter()
        w.varint(UInt64(bytes.count))
        w.raw(bytes)
        return w.bytes
    }

    static func read(_ bytes: [UInt8]) -> Result<String, Failure> {
        var r = WireReader<Failure>(encoded(bytes))
        do throws(Failure) { return .success(try r.string()) } catch { return .failure(error) }
    }

    @Test("ASCII and multi-byte strings of every length around the 8-byte step read back as written")
    func roundTrips() {
        for length in 0...20 {
            let ascii = String((0..<length).map { Character(UnicodeScalar(UInt8(0x21 + $0 % 90))) })
            #expect(Self.read(Array(ascii.utf8)) == .success(ascii))
            // One two-byte character at each position.
            for at in 0...length {
                var text = ascii
                text.insert("é", at: text.index(text.startIndex, offsetBy: at))
                #expect(Self.read(Array(text.utf8)) == .success(text), "é at \(at) of \(length)")
            }
        }
    }

    @Test("a byte that is not UTF-8 is refused wherever it falls, before or after the first 8")
    func refusesInvalid() {
        for length in 1...20 {
            for at in 0..<length {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                bytes[at] = 0xFF
                #expect(Self.read(bytes) == .failure(.malformed("invalid UTF-8")), "0xFF at \(at) of \(length)")
                // A lead byte with no continuation.
                bytes[at] = 0xC3
                #expect(Self.read(bytes) == .failure(.malformed("invalid UTF-8")), "0xC3 at \(at) of \(length)")
            }
        }
    }

    @Test("a string longer than the limit or than the bytes left fails and says which")
    func refusesLength() {
        var r = WireReader<Failure>(Self.encoded(Array(repeating: UInt8(ascii: "a"), count: 10)))
        #expect(throws: Failure.malformed("string of 10 bytes exceeds 9")) { try r.string(maxLength: 9) }
        var short = WireReader<Failure>([5, 0x61, 0x62])
        #expect(throws: Failure.truncated) { try short.string() }
    }
}
