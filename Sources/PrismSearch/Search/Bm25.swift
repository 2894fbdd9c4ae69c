/// BM25 as Tantivy computes it (in Float): weight = boost·idf·(1 + k1), and per posting
/// weight · tf / (tf + k1·(1 − b + b·len/avgLen)) with len the decoded one-byte field norm.
struct Bm25 {
    let weight: Float
    /// k1·(1 − b + b·len/avg) for each of the 256 norm ids.
    let normCache: [Float]

    init(idf: Float, averageLength: Float, k1: Float, b: Float, boost: Float = 1) {
        weight = boost * idf * (1 + k1)
        normCache = FieldNorm.table.map { k1 * (1 - b + b * $0 / averageLength) }
    }

    @inline(__always)
    func score(frequency: UInt32, normID: UInt8) -> Float {
        let tf = Float(frequency)
        return weight * (tf / (tf + normCache[Int(normID)]))
    }
}
