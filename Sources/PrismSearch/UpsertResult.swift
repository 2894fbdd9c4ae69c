/// Outcome of a bulk upsert: valid documents are stored even when others are refused.
public struct UpsertResult: Sendable, Equatable {
    public struct Failure: Sendable, Equatable {
        public var docID: String
        public var error: String
    }

    public var indexed: Int
    public var failures: [Failure]
}
