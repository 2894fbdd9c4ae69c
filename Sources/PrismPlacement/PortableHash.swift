/// The 64-bit hash placement is computed with: identical on every build, platform and node, so
/// every member derives the same ring from the same view (Swift's `Hasher` is seeded per process).
///
/// `hash(s) = mix(FNV-1a-64(UTF-8 bytes of s))`, where FNV-1a uses offset basis
/// 0xcbf29ce484222325 and prime 0x100000001b3, and `mix` is the SplitMix64 finalizer
/// (`x ^= x >> 30; x *= 0xbf58476d1ce4e5b9; x ^= x >> 27; x *= 0x94d049bb133111eb; x ^= x >> 31`),
/// which spreads FNV's weak low bits over the whole word (ring positions compare all 64 bits).
public enum PortableHash {
    public static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return mix(h)
    }

    public static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 30
        x = x &* 0xbf58_476d_1ce4_e5b9
        x ^= x >> 27
        x = x &* 0x94d0_49bb_1331_11eb
        x ^= x >> 31
        return x
    }
}
