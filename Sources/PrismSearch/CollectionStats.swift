/// Document count and stored bytes of a collection, kept exactly in the same transaction as the
/// writes that change them.
public struct CollectionStats: Sendable, Equatable {
    public var documentCount: Int64
    public var storageBytes: Int64

    static let zero = CollectionStats(documentCount: 0, storageBytes: 0)

    var encoded: [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: documentCount.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: storageBytes.littleEndian) { out.append(contentsOf: $0) }
        return out
    }

    static func decode(_ bytes: UnsafeRawBufferPointer?) -> CollectionStats {
        guard let bytes, bytes.count == 16 else { return .zero }
        return CollectionStats(documentCount: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: Int64.self)),
                               storageBytes: Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self)))
    }
}
