import PrismStorage

/// Corpus statistics BM25 needs, summed over shards so every shard scores with the same idf and
/// average field length: a sharded collection ranks exactly like one unsharded index, and shard
/// answers merge exactly. (The cluster sums them across nodes the same way.)
public struct CollectionStatistics: Sendable, Equatable {
    /// Documents ever numbered (live and deleted-but-not-compacted), as Lucene's and Tantivy's maxDoc.
    public var documentCount: UInt64 = 0
    /// Per field ordinal: tokens indexed.
    public var totalTokens: [Int: UInt64] = [:]
    /// Per (field ordinal, term): documents containing it.
    public var documentFrequency: [TermID: UInt64] = [:]

    public struct TermID: Sendable, Hashable {
        public let field: Int
        public let term: [UInt8]

        public init(field: Int, term: [UInt8]) {
            self.field = field
            self.term = term
        }

        // One xxHash64 of the bytes instead of feeding the hasher byte by byte.
        public func hash(into hasher: inout Hasher) {
            hasher.combine(field)
            hasher.combine(StableHash.xxHash64(term))
        }
    }

    public mutating func merge(_ other: CollectionStatistics) {
        // The first shard's statistics (the only one in a one-shard collection) need no rehashing.
        if documentCount == 0 && totalTokens.isEmpty && documentFrequency.isEmpty {
            self = other
            return
        }
        documentCount += other.documentCount
        for (k, v) in other.totalTokens { totalTokens[k, default: 0] += v }
        for (k, v) in other.documentFrequency { documentFrequency[k, default: 0] += v }
    }

    /// Tantivy's and Lucene's idf: ln(1 + (N − n + 0.5) / (n + 0.5)).
    func idf(_ term: TermID) -> Float {
        let n = Float(documentFrequency[term] ?? 0)
        let total = Float(documentCount)
        return (1 + (total - n + 0.5) / (n + 0.5)).log()
    }

    func averageFieldLength(_ field: Int) -> Float {
        guard documentCount > 0 else { return 1 }
        let average = Float(totalTokens[field] ?? 0) / Float(documentCount)
        return average > 0 ? average : 1
    }
}

extension Float {
    func log() -> Float {
        #if canImport(Glibc)
        return Glibc.logf(self)
        #else
        return Darwin.logf(self)
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
