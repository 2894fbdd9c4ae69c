import CCrypto

/// Shared AES-256-GCM keys for gossip encryption. Packets are sealed with the primary (first)
/// key and opened with any key of the ring, so a key can be rotated without a flag day: add the
/// new key everywhere, make it primary everywhere, then remove the old one.
///
/// Sealed layout: 12-byte random nonce, ciphertext, 16-byte tag; the caller's header bytes are
/// authenticated as additional data.
public struct Keyring: Sendable, Equatable {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16
    /// Bytes sealing adds to a packet.
    public static let overhead = nonceSize + tagSize

    public let keys: [[UInt8]]

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case empty
        case wrongKeySize(index: Int, bytes: Int)

        public var description: String {
            switch self {
            case .empty: "a keyring needs at least one key"
            case .wrongKeySize(let index, let bytes): "key \(index + 1) is \(bytes) bytes; AES-256 keys are \(Keyring.keySize) bytes"
            }
        }
    }

    /// `keys[0]` is the primary key.
    public init(keys: [[UInt8]]) throws(Failure) {
        guard !keys.isEmpty else { throw .empty }
        for (i, key) in keys.enumerated() where key.count != Self.keySize {
            throw .wrongKeySize(index: i, bytes: key.count)
        }
        self.keys = keys
    }

    public var primary: [UInt8] { keys[0] }

    /// Appends `header` followed by the sealed `plaintext` to `output`.
    public func seal(_ plaintext: [UInt8], header: [UInt8]) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: Self.nonceSize)
        if RAND_bytes(&nonce, Int32(Self.nonceSize)) != 1 {
            // Never reuse a nonce: without randomness there is nothing safe to send.
            fatalError("RAND_bytes failed: the system random source is unavailable")
        }
        var out = header
        out.reserveCapacity(header.count + Self.overhead + plaintext.count)
        out.append(contentsOf: nonce)
        guard let sealed = Self.gcm(encrypt: true, key: primary, nonce: nonce, aad: header, input: plaintext[...]) else {
            fatalError("AES-256-GCM encryption failed")
        }
        out.append(contentsOf: sealed)
        return out
    }

    /// Opens `sealed` (nonce, ciphertext, tag) authenticated with `header`; nil if no key opens it.
    public func open(_ sealed: ArraySlice<UInt8>, header: ArraySlice<UInt8>) -> [UInt8]? {
        guard sealed.count >= Self.overhead else { return nil }
        let nonce = Array(sealed.prefix(Self.nonceSize))
        let body = sealed.dropFirst(Self.nonceSize)
        for key in keys {
            if let plain = Self.gcm(encrypt: false, key: key, nonce: nonce, aad: Array(header), input: body) { return plain }
        }
        return nil
    }

    /// Encrypt: returns ciphertext + tag. Decrypt: `input` is ciphertext + tag; nil when the tag fails.
    private static func gcm(encrypt: Bool, key: [UInt8], nonce: [UInt8], aad: [UInt8], input: ArraySlice<UInt8>) -> [UInt8]? {
        guard let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let text = encrypt ? Array(input) : Array(input.dropLast(tagSize))
        var tag = encrypt ? [UInt8](repeating: 0, count: tagSize) : Array(input.suffix(tagSize))
        var out = [UInt8](repeating: 0, count: text.count + tagSize)
        var written: Int32 = 0
        var total = 0
        let ok: Bool = key.withUnsafeBufferPointer { k in
            nonce.withUnsafeBufferPointer { n in
                let initOK = encrypt
                    ? EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, k.baseAddress, n.baseAddress)
                    : EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, k.baseAddress, n.baseAddress)
                guard initOK == 1 else { return false }
                if !aad.isEmpty {
                    let aadOK = aad.withUnsafeBufferPointer { a in
                        encrypt ? EVP_EncryptUpdate(ctx, nil, &written, a.baseAddress, Int32(a.count))
                                : EVP_DecryptUpdate(ctx, nil, &written, a.baseAddress, Int32(a.count))
                    }
                    guard aadOK == 1 else { return false }
                }
                let updateOK = out.withUnsafeMutableBufferPointer { o in
                    text.withUnsafeBufferPointer { t in
                        encrypt ? EVP_EncryptUpdate(ctx, o.baseAddress, &written, t.baseAddress, Int32(t.count))
                                : EVP_DecryptUpdate(ctx, o.baseAddress, &written, t.baseAddress, Int32(t.count))
                    }
                }
                guard updateOK == 1 else { return false }
                total = Int(written)
                if !encrypt {
                    let setOK = tag.withUnsafeMutableBufferPointer { EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagSize), $0.baseAddress) }
                    guard setOK == 1 else { return false }
                }
                let finalOK = out.withUnsafeMutableBufferPointer { o in
                    encrypt ? EVP_EncryptFinal_ex(ctx, o.baseAddress.map { $0 + total }, &written)
                            : EVP_DecryptFinal_ex(ctx, o.baseAddress.map { $0 + total }, &written)
                }
                guard finalOK == 1 else { return false }
                total += Int(written)
                if encrypt {
                    let getOK = tag.withUnsafeMutableBufferPointer { EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagSize), $0.baseAddress) }
                    guard getOK == 1 else { return false }
                }
                return true
            }
        }
        guard ok else { return nil }
        if encrypt {
            out.replaceSubrange(total..<total + tagSize, with: tag)
            return Array(out.prefix(total + tagSize))
        }
        return Array(out.prefix(total))
    }
}
