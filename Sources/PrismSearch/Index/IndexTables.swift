import PrismStorage

/// The LMDB tables of the inverted index, shared by all collections and shards (keys start with
/// `ShardKey.prefix`).
struct IndexTables: Sendable {
    /// id → internal document number.
    let docnums: Table
    /// document number → id.
    let docids: Table
    /// term + last document of the block → `BlockRecord` (a `PostingsBlock` and its positions).
    let postings: Table
    /// term → document frequency (u32, deleted documents included until compaction).
    let terms: Table
    /// field + chunk → one field-norm id per document (4096 per chunk).
    let norms: Table
    /// shard → `ShardMeta`.
    let meta: Table
    /// field + chunk → `DocValues` chunk.
    let values: Table
    /// field + chunk → `StringValues` chunk (string fields).
    let strings: Table
    /// document number → vector bytes (Float32 little-endian; unit length for cosine).
    let vectors: Table
    /// document number → `HNSWNode`.
    let graph: Table
    /// shard → `HNSWMeta`.
    let graphMeta: Table
    /// chunk → deleted-documents bitmap (4096 per chunk).
    let deleted: Table
    /// chunk → xxHash64 of each document's id (4096 per chunk): the tie-break between equal scores,
    /// the same however the collection is sharded, so shard answers merge exactly.
    let tieKeys: Table

    static let docsPerChunk: UInt32 = 4096

    init(environment: LMDBEnvironment) throws {
        docnums = try environment.table("ix_docnums")
        docids = try environment.table("ix_docids")
        postings = try environment.table("ix_postings")
        terms = try environment.table("ix_terms")
        norms = try environment.table("ix_norms")
        meta = try environment.table("ix_meta")
        deleted = try environment.table("ix_deleted")
        values = try environment.table("ix_values")
        strings = try environment.table("ix_strings")
        vectors = try environment.table("ix_vectors")
        graph = try environment.table("ix_graph")
        graphMeta = try environment.table("ix_graph_meta")
        tieKeys = try environment.table("ix_tiekeys")
    }

    var all: [Table] { [docnums, docids, postings, terms, norms, meta, deleted, tieKeys, values, strings, vectors, graph, graphMeta] }
}
