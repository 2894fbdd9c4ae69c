import CLMDB

/// A named LMDB database inside the node's environment (documents, catalog, Raft log, ...).
/// Handles are opened once at start-up and stay valid for the environment's life.
public struct Table: Sendable, Hashable {
    public let name: String
    let handle: MDB_dbi
}
